//! Linear SVMs by dual coordinate descent ([`svm_dual::linear`]):
//! objectives against the core's SMO with the linear kernel (all losses and
//! bias modes), against LIBLINEAR's printed objectives
//! (`tests/fixtures/liblinear.json`, written by
//! `scripts/liblinear_fixtures.py`), the `O(nnz)` certificate against the
//! kernel verifier, prediction against the support-vector model, storage
//! independence and thread-count independence of one-vs-rest.

mod common;

use serde::Deserialize;
use solvers::{CdSettings, SmoSettings, Status};
use svm_dual::data::{Dataset, Features};
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::linear::{self, LinearBias, LinearOptions};
use svm_dual::train::{train, TrainOptions};

const DATASETS: [&str; 2] = ["heart_scale", "a1a"];

fn load(name: &str) -> Dataset {
    svm_dual::data::libsvm::read_path(&common::dataset_path(name)).unwrap()
}

fn formulation(loss: Loss, c: f64, bias: bool) -> Formulation {
    Formulation {
        loss,
        c,
        bias,
        ..Default::default()
    }
}

/// Tight settings: stop on a relative duality gap of 1e-10.
fn tight() -> CdSettings {
    CdSettings {
        tol: 1e-6,
        gap_tol: Some(1e-10),
        max_passes: Some(200_000),
        ..Default::default()
    }
}

/// `features` with a constant column `value` appended (for the SMO
/// reference of LIBLINEAR's regularised bias).
fn augment(features: &Features, value: f64) -> Features {
    let n = features.n_rows();
    let d = features.n_cols();
    let rows: Vec<Vec<(u32, f64)>> = (0..n)
        .map(|i| {
            let mut dense = vec![0.0; d];
            features.row(i).scatter_into(&mut dense);
            let mut r: Vec<(u32, f64)> = dense
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(k, v)| (k as u32, *v))
                .collect();
            r.push((d as u32, value));
            r
        })
        .collect();
    Features::from_sparse_rows(&rows, d + 1)
}

/// SMO's dual objective (linear kernel, tol 1e-9) for a bias mode.
fn smo_objective(data: &Dataset, loss: Loss, c: f64, bias: LinearBias) -> f64 {
    let (data, with_bias) = match bias {
        LinearBias::None => (data.clone(), false),
        LinearBias::Unregularized => (data.clone(), true),
        LinearBias::RegularizedFeature { value } => (
            Dataset::new(augment(&data.features, value), data.labels.clone()).unwrap(),
            false,
        ),
    };
    let options = TrainOptions {
        formulation: formulation(loss, c, with_bias),
        kernel: Kernel::Linear,
        smo: SmoSettings {
            tol: 1e-9,
            ..Default::default()
        },
    };
    let t = train(&data, &options, None).unwrap();
    assert_eq!(t.summary.status, Status::Converged);
    t.summary.dual_objective
}

fn options(loss: Loss, c: f64, bias: LinearBias, cd: CdSettings) -> LinearOptions {
    LinearOptions {
        formulation: formulation(loss, c, bias == LinearBias::Unregularized),
        bias,
        cd,
    }
}

const MODES: [LinearBias; 3] = [
    LinearBias::None,
    LinearBias::RegularizedFeature { value: 1.0 },
    LinearBias::Unregularized,
];

#[test]
fn objectives_match_smo_for_all_losses_and_bias_modes() {
    for name in DATASETS {
        let data = load(name);
        for loss in [Loss::L1, Loss::L2] {
            for bias in MODES {
                let t =
                    linear::train_linear(&data, &options(loss, 1.0, bias, tight()), None).unwrap();
                let reference = smo_objective(&data, loss, 1.0, bias);
                let ours = t.summary.dual_objective;
                let cert = linear::certify(&data.features, &t);
                println!(
                    "{name} {loss:?} {}: cd {ours:.12} smo {reference:.12} passes {} gap {:.2e} status {:?}",
                    bias.as_str(),
                    t.summary.iterations,
                    cert.relative_gap,
                    t.summary.status
                );
                assert_eq!(
                    t.summary.status,
                    Status::Converged,
                    "{name} {loss:?} {bias:?}"
                );
                assert!(
                    common::rel_close(ours, reference, 1e-6),
                    "{name} {loss:?} {bias:?}: cd {ours} vs smo {reference}"
                );
                // The certificate agrees with the solver's objective and
                // certifies near-optimality.
                assert!(common::rel_close(cert.dual_objective, ours, 1e-9));
                assert!(cert.relative_gap <= 1e-8, "gap {}", cert.relative_gap);
                assert!(cert.kkt.bound_violation == 0.0);
                assert!(cert.kkt.equality_violation <= 1e-9 * data.len() as f64);
            }
        }
    }
}

#[test]
fn linear_certificate_matches_kernel_verifier() {
    // The O(nnz) certificate and the kernel verifier are independent code
    // paths for the same quantities; at a loose tolerance α is far from
    // optimal, so the comparison is not trivially at the optimum.
    let data = load("a1a");
    for loss in [Loss::L1, Loss::L2] {
        for bias in MODES {
            let opts = options(
                loss,
                1.0,
                bias,
                CdSettings {
                    max_passes: Some(3),
                    ..Default::default()
                },
            );
            let t = linear::train_linear(&data, &opts, None).unwrap();
            let ours = linear::certify(&data.features, &t);
            let (features, form) = match bias {
                LinearBias::RegularizedFeature { value } => {
                    (augment(&data.features, value), opts.formulation)
                }
                _ => (data.features.clone(), opts.formulation),
            };
            let bias_for_kernel = match bias {
                LinearBias::Unregularized => t.model.bias,
                _ => 0.0,
            };
            let kernel = svm_dual::verify::verify(
                &features,
                &t.labels.y,
                &form,
                Kernel::Linear,
                &t.alpha,
                bias_for_kernel,
            );
            for (a, b, what) in [
                (ours.dual_objective, kernel.dual_objective, "dual"),
                (ours.primal_objective, kernel.primal_objective, "primal"),
                (
                    ours.primal_objective_best_bias,
                    kernel.primal_objective_best_bias,
                    "primal best bias",
                ),
                (
                    ours.kkt.max_violation,
                    kernel.kkt.max_violation,
                    "violation",
                ),
            ] {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{loss:?} {bias:?} {what}: {a} vs {b}"
                );
            }
            assert_eq!(ours.n_sv, kernel.n_sv);
            assert_eq!(ours.training_accuracy, kernel.training_accuracy);
        }
    }
}

#[derive(Deserialize)]
struct LiblinearEntry {
    dataset: String,
    sha256: String,
    loss: String,
    c_ours: f64,
    bias_b: f64,
    eps: f64,
    dual_objective: f64,
    reached_max_iterations: bool,
}

#[derive(Deserialize)]
struct LiblinearFixture {
    entries: Vec<LiblinearEntry>,
}

#[test]
fn objectives_match_liblinear() {
    let path = common::repo_path("tests/fixtures/liblinear.json");
    let fixture: LiblinearFixture =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(fixture.entries.len(), 16);
    for e in &fixture.entries {
        let data = common::load_dataset(&e.dataset, &e.sha256);
        let loss = if e.loss == "l1" { Loss::L1 } else { Loss::L2 };
        let bias = if e.bias_b >= 0.0 {
            LinearBias::RegularizedFeature { value: e.bias_b }
        } else {
            LinearBias::None
        };
        let optimum = linear::train_linear(&data, &options(loss, e.c_ours, bias, tight()), None)
            .unwrap()
            .summary
            .dual_objective;
        // Same tolerance as LIBLINEAR's run, LIBLINEAR's stopping rule.
        let same_tol = linear::train_linear(
            &data,
            &options(
                loss,
                e.c_ours,
                bias,
                CdSettings {
                    tol: e.eps,
                    max_passes: Some(1000),
                    ..Default::default()
                },
            ),
            None,
        )
        .unwrap()
        .summary
        .dual_objective;
        let printed = 5e-7; // LIBLINEAR prints 6 decimals.
        let reference = e.dual_objective;
        println!(
            "{} {} B={} e={}: liblinear {reference:.6} ours(same e) {same_tol:.6} optimum {optimum:.9}",
            e.dataset, e.loss, e.bias_b, e.eps
        );
        // Nobody beats the optimum (dual values are lower bounds of it; ours
        // is certified to a relative gap of 1e-10).
        assert!(reference <= optimum + printed + 1e-9 * optimum.abs());
        assert!(same_tol <= optimum + 1e-9 * optimum.abs());
        if e.eps < 1e-3 && !e.reached_max_iterations {
            // A converged tight LIBLINEAR run: the same optimum.
            assert!((reference - optimum).abs() <= 1e-6 * optimum.abs() + printed);
            assert!((same_tol - optimum).abs() <= 1e-6 * optimum.abs());
        } else if e.eps < 1e-3 {
            // LIBLINEAR stopped at its 1000-pass limit, short of the
            // tolerance: close to the optimum, not exact. (Our run under the
            // same cap is not compared: where 1000 passes end depends on
            // the random order, and shrinking may not have undone itself.)
            assert!((reference - optimum).abs() <= 1e-4 * optimum.abs());
        } else {
            // LIBLINEAR's default tolerance: both runs stop at the same
            // measure, so both are equally far from the optimum (within a
            // factor), which is small relative to the objective.
            let (gap_ll, gap_ours) = (optimum - reference, optimum - same_tol);
            assert!(gap_ll <= 2e-3 * optimum.abs() && gap_ours <= 2e-3 * optimum.abs());
            assert!((same_tol - reference).abs() <= 2e-3 * optimum.abs());
        }
    }
}

#[test]
fn dense_and_sparse_storage_give_identical_results() {
    let data = load("heart_scale");
    let Features::Dense(_) = &data.features else {
        panic!("heart_scale is expected to be stored densely");
    };
    let sparse_rows: Vec<Vec<(u32, f64)>> = (0..data.len())
        .map(|i| {
            let mut dense = vec![0.0; data.features.n_cols()];
            data.features.row(i).scatter_into(&mut dense);
            dense
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(k, v)| (k as u32, *v))
                .collect()
        })
        .collect();
    let sparse = Dataset::new(
        Features::from_sparse_rows(&sparse_rows, data.features.n_cols()),
        data.labels.clone(),
    )
    .unwrap();
    for bias in MODES {
        let opts = options(Loss::L2, 1.0, bias, CdSettings::default());
        let a = linear::train_linear(&data, &opts, None).unwrap();
        let b = linear::train_linear(&sparse, &opts, None).unwrap();
        assert_eq!(a.alpha, b.alpha);
        assert_eq!(a.model, b.model);
    }
}

#[test]
fn linear_prediction_matches_support_vector_model() {
    let data = load("a1a");
    for bias in MODES {
        let t = linear::train_linear(
            &data,
            &options(Loss::L1, 1.0, bias, CdSettings::default()),
            None,
        )
        .unwrap();
        let fast = t.model.decision_function(&data.features);
        let sv = t.to_trained(&data.features);
        let slow = sv.model.decision_function(&data.features);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        assert_eq!(t.predict(&data.features), sv.model.predict(&data.features));
        let accuracy = linear::certify(&data.features, &t).training_accuracy;
        assert!(accuracy > 0.8, "training accuracy {accuracy}");
    }
}

#[test]
fn one_vs_rest_is_thread_count_independent_and_optimal() {
    let data = load("iris.scale");
    let opts = options(
        Loss::L2,
        1.0,
        LinearBias::Unregularized,
        CdSettings {
            tol: 1e-8,
            gap_tol: Some(1e-10),
            ..Default::default()
        },
    );
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| linear::train_one_vs_rest(&data, &opts).unwrap())
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.classes.len(), 3);
    for (a, b) in one.classes.iter().zip(&two.classes) {
        assert_eq!(a.class, b.class);
        assert_eq!(a.alpha, b.alpha);
        assert_eq!(a.model, b.model);
    }
    assert_eq!(one.predict(&data.features), two.predict(&data.features));
    for class in &one.classes {
        let y = class.signs(&data.labels);
        let cert = linear::certify_class(&data.features, &data.labels, &opts.formulation, class);
        assert!(
            cert.relative_gap <= 1e-8,
            "class {}: gap {}",
            class.class,
            cert.relative_gap
        );
        // The same binary problem by SMO.
        let raw: Vec<f64> = y.iter().map(|&v| if v > 0.0 { 1.0 } else { 2.0 }).collect();
        // SMO maps the first label seen to +1; the objective does not
        // depend on which class that is.
        let binary = Dataset::new(data.features.clone(), raw).unwrap();
        let reference = smo_objective(&binary, Loss::L2, 1.0, LinearBias::Unregularized);
        assert!(common::rel_close(
            class.summary.dual_objective,
            reference,
            1e-6
        ));
    }
    let accuracy = one
        .predict(&data.features)
        .iter()
        .zip(&data.labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / data.len() as f64;
    assert!(accuracy > 0.8, "accuracy {accuracy}");
}

#[test]
fn bias_mode_must_agree_with_formulation() {
    let data = load("heart_scale");
    let mut opts = options(Loss::L1, 1.0, LinearBias::None, CdSettings::default());
    opts.formulation.bias = true;
    assert!(linear::train_linear(&data, &opts, None).is_err());
    assert!(LinearBias::for_formulation(&opts.formulation, Some(1.0)).is_err());
    assert_eq!(
        LinearBias::for_formulation(&opts.formulation, None).unwrap(),
        LinearBias::Unregularized
    );
}

/// One entry of `tests/fixtures/a9a_smo.json`.
#[derive(Deserialize)]
struct A9aEntry {
    loss: String,
    bias: String,
    c: f64,
    status: String,
    dual_objective: f64,
    relative_gap: f64,
}

#[derive(Deserialize)]
struct A9aFixture {
    dataset_sha256: String,
    entries: Vec<A9aEntry>,
}

/// Coordinate descent at a tight gap on a9a (32 561 rows) against our SMO
/// with the linear kernel, recorded by `scripts/a9a_smo_fixture.sh` (SMO
/// takes minutes there): both losses, the appended constant feature and
/// the true bias. Skipped with a note when `../shared/datasets/a9a` is
/// absent.
#[test]
fn a9a_objectives_match_recorded_smo() {
    let path = common::repo_path("../shared/datasets/a9a");
    if !path.is_file() {
        eprintln!("note: {} is absent; a9a test skipped", path.display());
        return;
    }
    let fixture: A9aFixture = serde_json::from_str(
        &std::fs::read_to_string(common::repo_path("tests/fixtures/a9a_smo.json")).unwrap(),
    )
    .unwrap();
    let data = common::load_dataset("../shared/datasets/a9a", &fixture.dataset_sha256);
    assert_eq!(fixture.entries.len(), 4);
    for e in &fixture.entries {
        assert_eq!(e.status, "converged");
        assert!(
            e.relative_gap <= 1e-8,
            "SMO reference gap {}",
            e.relative_gap
        );
        let loss = if e.loss == "l1" { Loss::L1 } else { Loss::L2 };
        let bias = match e.bias.as_str() {
            "true" => LinearBias::Unregularized,
            "feature" => LinearBias::RegularizedFeature { value: 1.0 },
            other => panic!("unknown bias mode {other}"),
        };
        let t = linear::train_linear(&data, &options(loss, e.c, bias, tight()), None).unwrap();
        let ours = t.summary.dual_objective;
        println!(
            "a9a {} {}: cd {ours:.10} smo {:.10} passes {}",
            e.loss, e.bias, e.dual_objective, t.summary.iterations
        );
        assert_eq!(t.summary.status, Status::Converged, "{} {}", e.loss, e.bias);
        assert!(
            common::rel_close(ours, e.dual_objective, 1e-6),
            "a9a {} {}: cd {ours} vs smo {}",
            e.loss,
            e.bias,
            e.dual_objective
        );
    }
}

/// One-vs-rest with the linear kernel, as the CLI runs it: dual CD per
/// class, converted to a support-vector multiclass model. The conversion
/// keeps the decision values (to rounding) and every sub-problem's
/// certificate; `solve --kernel linear --multiclass ovr` reports solver
/// `cd` and predicts as the library model.
#[test]
fn one_vs_rest_converts_to_a_multiclass_model_and_the_cli_uses_it() {
    for name in ["iris.scale", "glass.scale"] {
        let data = load(name);
        for bias in MODES {
            let opts = options(
                Loss::L1,
                1.0,
                bias,
                CdSettings {
                    tol: 1e-8,
                    ..Default::default()
                },
            );
            let ovr = linear::train_one_vs_rest(&data, &opts).unwrap();
            let m = ovr.to_multiclass(&data);
            assert_eq!(m.subproblems.len(), ovr.classes.len());
            let values = m.model.decision_values(&data.features);
            for (k, class) in ovr.classes.iter().enumerate() {
                let direct = class.model.decision_function(&data.features);
                for (i, f) in direct.iter().enumerate() {
                    assert!(
                        (values[i][k] - f).abs() <= 1e-9 * (1.0 + f.abs()),
                        "{name} {bias:?} class {k} row {i}: {} vs {f}",
                        values[i][k]
                    );
                }
                let cert = &m.subproblems[k].certificate;
                let direct_cert =
                    linear::certify_class(&data.features, &data.labels, &opts.formulation, class);
                assert_eq!(cert, &direct_cert);
            }
            // Predictions agree except where two classes' values tie to
            // rounding.
            let (a, b) = (ovr.predict(&data.features), m.model.predict(&data.features));
            for i in 0..data.len() {
                if a[i] != b[i] {
                    let mut v = values[i].clone();
                    v.sort_by(|x, y| y.total_cmp(x));
                    assert!(v[0] - v[1] <= 1e-9, "{name} row {i}");
                }
            }
        }
    }

    let bin = env!("CARGO_BIN_EXE_svm-dual");
    let dir = tempfile::tempdir().unwrap();
    let (report, model, predictions) = (
        dir.path().join("r.json"),
        dir.path().join("m.json"),
        dir.path().join("p.txt"),
    );
    let data_path = common::dataset_path("glass.scale");
    let status = std::process::Command::new(bin)
        .args([
            "solve",
            "-q",
            "--kernel",
            "linear",
            "--multiclass",
            "ovr",
            "--loss",
            "l1",
            "--no-bias",
            "--tol",
            "1e-6",
            "--data",
        ])
        .arg(&data_path)
        .arg("--report")
        .arg(&report)
        .arg("--model")
        .arg(&model)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["solver"]["name"], "cd");
    assert_eq!(r["multiclass"], "ovr");
    assert_eq!(r["subproblems"].as_array().unwrap().len(), 6);
    assert!(r["worst_relative_gap"].as_f64().unwrap() < 1e-3);
    let status = std::process::Command::new(bin)
        .args(["predict", "-q", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data_path)
        .arg("--output")
        .arg(&predictions)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let data = load("glass.scale");
    let opts = options(
        Loss::L1,
        1.0,
        LinearBias::None,
        CdSettings {
            tol: 1e-6,
            ..Default::default()
        },
    );
    let library = linear::train_one_vs_rest(&data, &opts)
        .unwrap()
        .to_multiclass(&data)
        .model
        .predict(&data.features);
    let ours: Vec<f64> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(ours, library);
}
