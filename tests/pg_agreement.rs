//! The projected-gradient solver on the shipped datasets, against SMO: the
//! dual objectives agree within 1e-6 relative at `tol = 1e-6` (L1 and L2
//! loss, RBF and linear kernels), PG's own measure is recomputed from
//! `Qα + p`, and the products behind it — [`DualHessian::matvec`] (linear:
//! `O(nnz)`, otherwise blockwise kernel rows) and [`DenseDualHessian`] —
//! agree with `Q` assembled column by column and are bit-identical in rayon
//! pools of 1 and 2 threads.

use std::path::Path;
use svm_dual::data::{libsvm, Dataset};
use svm_dual::formulation::{DenseDualHessian, DualData, DualHessian, Formulation, Loss};
use svm_dual::kernel::{Kernel, KernelMatrix};
use svm_dual::solvers::{
    kkt, solve_pg, solve_smo, PgSettings, QMatrix, SmoSettings, Solution, Status,
};
use svm_dual::train::{
    default_gamma, train_to_gap, train_with, SolveControl, SolverKind, TrainOptions,
};

fn load(name: &str) -> (Dataset, Vec<f64>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name);
    let data = libsvm::read_path(&path).expect("dataset");
    let y = data.binary_labels().expect("two classes").y;
    (data, y)
}

fn formulation(loss: Loss) -> Formulation {
    Formulation {
        loss,
        c: 1.0,
        ..Default::default()
    }
}

/// `Qv` assembled from columns (the trait's default path).
fn matvec_by_columns(q: &dyn QMatrix, v: &[f64]) -> Vec<f64> {
    let n = q.dim();
    let rows: Vec<usize> = (0..n).collect();
    let mut col = vec![0.0; n];
    let mut out = vec![0.0; n];
    for j in 0..n {
        q.column(j, &rows, &mut col);
        for i in 0..n {
            out[i] += col[i] * v[j];
        }
    }
    out
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
        .install(f)
}

fn solve_both(
    q_pg: &dyn QMatrix,
    q_smo: &dyn QMatrix,
    dual: &DualData,
    tol: f64,
) -> (Solution, Solution) {
    let problem = dual.problem(None);
    let pg = solve_pg(
        q_pg,
        &problem,
        &PgSettings {
            tol,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let smo = solve_smo(
        q_smo,
        &problem,
        &SmoSettings {
            tol,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    (pg, smo)
}

fn check_agreement(
    name: &str,
    what: &str,
    q: &dyn QMatrix,
    dual: &DualData,
    pg: &Solution,
    smo: &Solution,
    tol: f64,
) {
    assert_eq!(pg.status, Status::Converged, "{name} {what}: PG status");
    assert_eq!(smo.status, Status::Converged, "{name} {what}: SMO status");
    let rel = (pg.objective - smo.objective).abs() / smo.objective.abs();
    assert!(
        rel <= 1e-6,
        "{name} {what}: PG {} vs SMO {} (rel {rel:.2e})",
        pg.objective,
        smo.objective
    );
    // PG's measure, recomputed from α through the column path.
    let mut g = matvec_by_columns(q, &pg.alpha);
    g.iter_mut().zip(&dual.linear).for_each(|(g, p)| *g += p);
    let viol = kkt::max_violation(&dual.problem(None), &pg.alpha, &g);
    assert!(
        viol <= tol * (1.0 + 1e-6),
        "{name} {what}: violation {viol}"
    );
    let r: f64 = pg.alpha.iter().zip(&dual.signs).map(|(a, y)| a * y).sum();
    assert!(
        r.abs() <= 1e-12 * pg.alpha.iter().sum::<f64>().max(1.0),
        "{name} {what}: yᵀα = {r}"
    );
}

#[test]
fn pg_matches_smo_on_the_shipped_datasets() {
    let tol = 1e-6;
    for name in [
        "heart_scale",
        "australian_scale",
        "breast-cancer_scale",
        "a1a",
    ] {
        let (data, y) = load(name);
        let gamma = default_gamma(data.features.n_cols());
        let cases = [
            ("L1 rbf", Loss::L1, Kernel::Rbf { gamma }),
            ("L2 rbf", Loss::L2, Kernel::Rbf { gamma }),
            ("L1 linear", Loss::L1, Kernel::Linear),
        ];
        for (what, loss, kernel) in cases {
            // a1a's linear L1 problem is the slow one for both solvers.
            if name == "a1a" && what == "L1 linear" {
                continue;
            }
            let f = formulation(loss);
            let dual = DualData::new(&f, &y);
            let km = KernelMatrix::new(&data.features, kernel);
            let q = DualHessian::new(km.clone(), &y, &f);
            let dense = DenseDualHessian::new(&km, &y, &f, 1 << 30).unwrap();
            let (pg, smo) = solve_both(&dense, &q, &dual, tol);
            check_agreement(name, what, &q, &dual, &pg, &smo, tol);
        }
    }
}

#[test]
fn pg_through_the_implicit_products_matches_smo() {
    // No dense Q: the linear kernel's O(nnz) product and the blockwise RBF
    // rows, on heart_scale.
    let tol = 1e-6;
    let (data, y) = load("heart_scale");
    let gamma = default_gamma(data.features.n_cols());
    for (what, loss, kernel) in [
        ("L2 linear", Loss::L2, Kernel::Linear),
        ("L1 rbf", Loss::L1, Kernel::Rbf { gamma }),
    ] {
        let f = formulation(loss);
        let dual = DualData::new(&f, &y);
        let q = DualHessian::new(KernelMatrix::new(&data.features, kernel), &y, &f);
        let (pg, smo) = solve_both(&q, &q, &dual, tol);
        check_agreement("heart_scale", what, &q, &dual, &pg, &smo, tol);
    }
}

#[test]
fn products_agree_with_columns_and_do_not_depend_on_threads() {
    let (data, y) = load("a1a");
    let n = y.len();
    let v: Vec<f64> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                0.0
            } else {
                ((i * 7919) % 1000) as f64 / 1000.0 - 0.3
            }
        })
        .collect();
    let gamma = default_gamma(data.features.n_cols());
    for (loss, kernel) in [
        (Loss::L2, Kernel::Linear),
        (Loss::L1, Kernel::Rbf { gamma }),
        (
            Loss::L2,
            Kernel::Poly {
                gamma,
                coef0: 1.0,
                degree: 2,
            },
        ),
    ] {
        let f = formulation(loss);
        let km = KernelMatrix::new(&data.features, kernel);
        let q = DualHessian::new(km.clone(), &y, &f);
        let reference = matvec_by_columns(&q, &v);
        let scale = reference.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let run = |threads: usize| {
            in_pool(threads, || {
                let mut implicit = vec![0.0; n];
                q.matvec(&v, &mut implicit);
                let dense = DenseDualHessian::new(&km, &y, &f, 1 << 30).unwrap();
                let mut stored = vec![0.0; n];
                dense.matvec(&v, &mut stored);
                (implicit, stored, dense)
            })
        };
        let (implicit1, stored1, dense1) = run(1);
        let (implicit2, stored2, dense2) = run(2);
        for (name, out) in [("implicit", &implicit1), ("dense", &stored1)] {
            let err = out
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                err <= 1e-12 * scale.max(1.0),
                "{} {name}: error {err}",
                kernel.name()
            );
        }
        assert_eq!(
            implicit1,
            implicit2,
            "{}: implicit product depends on threads",
            kernel.name()
        );
        assert_eq!(
            stored1,
            stored2,
            "{}: dense product depends on threads",
            kernel.name()
        );
        for i in (0..n).step_by(97) {
            for j in (0..n).step_by(89) {
                assert_eq!(dense1.get(i, j), dense2.get(i, j));
                assert_eq!(dense1.get(i, j), dense1.get(j, i));
            }
        }
    }
    // The budget is honoured.
    let f = formulation(Loss::L1);
    let km = KernelMatrix::new(&data.features, Kernel::Linear);
    let err = DenseDualHessian::new(&km, &y, &f, 1000).unwrap_err();
    assert_eq!(err.needed, 8 * n * n);
}

#[test]
fn pg_solution_does_not_depend_on_threads() {
    let (data, y) = load("heart_scale");
    let f = formulation(Loss::L1);
    let dual = DualData::new(&f, &y);
    let gamma = default_gamma(data.features.n_cols());
    let run = |threads| {
        in_pool(threads, || {
            let q = DualHessian::new(
                KernelMatrix::new(&data.features, Kernel::Rbf { gamma }),
                &y,
                &f,
            );
            let settings = PgSettings {
                tol: 1e-6,
                ..Default::default()
            };
            solve_pg(&q, &dual.problem(None), &settings, None).unwrap()
        })
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.alpha, b.alpha);
    assert_eq!(a.iterations, b.iterations);
}

#[test]
fn warm_start_from_smo_finishes_quickly() {
    let (data, y) = load("breast-cancer_scale");
    let f = formulation(Loss::L1);
    let dual = DualData::new(&f, &y);
    let gamma = default_gamma(data.features.n_cols());
    let km = KernelMatrix::new(&data.features, Kernel::Rbf { gamma });
    let q = DenseDualHessian::new(&km, &y, &f, 1 << 30).unwrap();
    let smo = solve_smo(
        &q,
        &dual.problem(None),
        &SmoSettings {
            tol: 1e-3,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let settings = PgSettings {
        tol: 1e-6,
        ..Default::default()
    };
    let cold = solve_pg(&q, &dual.problem(None), &settings, None).unwrap();
    let warm = solve_pg(&q, &dual.problem(Some(&smo.alpha)), &settings, None).unwrap();
    assert_eq!(warm.status, Status::Converged);
    assert!(
        warm.iterations < cold.iterations,
        "warm {} vs cold {}",
        warm.iterations,
        cold.iterations
    );
    assert!((warm.objective - cold.objective).abs() <= 1e-6 * cold.objective.abs());
}

/// `train_to_gap`: from a loose tolerance, SMO and PG tighten it until the
/// verifier's gap is at most the target, in more than one round, and the
/// certificate returned is the verifier's on the returned model.
#[test]
fn target_gap_is_reached_by_tightening_the_tolerance() {
    let (data, _) = load("australian_scale");
    let gamma = default_gamma(data.features.n_cols());
    for solver in [SolverKind::Smo, SolverKind::Pg] {
        let options = TrainOptions {
            formulation: formulation(Loss::L1),
            kernel: Kernel::Rbf { gamma },
            smo: SmoSettings {
                tol: 0.5,
                ..Default::default()
            },
        };
        let loose = train_with(&data, &options, solver, None).unwrap();
        let loose_gap = svm_dual::certify(&data.features, &loose).relative_gap;
        let target = 1e-7;
        assert!(
            loose_gap > target,
            "{solver:?}: tol 0.5 already gives {loose_gap:e}"
        );
        let c = train_to_gap(&data, &options, solver, target, SolveControl::default()).unwrap();
        assert_eq!(c.trained.summary.status, Status::Converged);
        assert!(c.rounds > 1, "{solver:?}: {} round(s)", c.rounds);
        assert!(c.final_tol < options.smo.tol);
        assert!(
            c.certificate.relative_gap <= target,
            "{solver:?}: {:e}",
            c.certificate.relative_gap
        );
        assert_eq!(c.certificate, svm_dual::certify(&data.features, &c.trained));
        println!(
            "{solver:?}: gap {loose_gap:.1e} at tol 0.5 → {:.1e} in {} rounds (final tol {:e})",
            c.certificate.relative_gap, c.rounds, c.final_tol
        );
    }
    let options = TrainOptions {
        formulation: formulation(Loss::L1),
        kernel: Kernel::Linear,
        smo: SmoSettings::default(),
    };
    assert!(train_to_gap(
        &data,
        &options,
        SolverKind::Smo,
        0.0,
        SolveControl::default()
    )
    .is_err());
}
