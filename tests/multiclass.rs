//! One-vs-one and one-vs-rest with kernels against LIBSVM's `svm-train` /
//! `svm-predict` (fixtures from `scripts/multiclass_fixtures.sh`, read
//! only: the tests never run LIBSVM), and one-vs-one models in LIBSVM's
//! text format both ways.

use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;

use svm_dual::data::{read_path, Dataset, Format};
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::multiclass::{
    parse_any_bytes, read_any_json, train_multiclass, write_any_json, write_libsvm_ovo, AnyModel,
    MulticlassStrategy, MulticlassTrained,
};
use svm_dual::solvers::Status;
use svm_dual::train::{default_gamma, SolverKind, TrainOptions};

fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn load(name: &str) -> Dataset {
    read_path(&repo(&format!("datasets/{name}")), &Format::Libsvm).unwrap()
}

/// `svm-train -c 1 -e 0.001` with the RBF kernel and LIBSVM's default γ
/// (1 / number of features of the whole training file).
fn libsvm_options(data: &Dataset) -> TrainOptions {
    TrainOptions {
        formulation: Formulation {
            loss: Loss::L1,
            c: 1.0,
            ..Default::default()
        },
        kernel: Kernel::Rbf {
            gamma: default_gamma(data.features.n_cols()),
        },
        smo: Default::default(),
    }
}

/// svm-train's `(obj, rho)` of each pair, in pair order.
fn reference_obj(name: &str) -> Vec<(f64, f64)> {
    let text =
        std::fs::read_to_string(repo(&format!("tests/fixtures/multiclass/{name}.obj"))).unwrap();
    text.lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|x| x.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect()
}

fn train(data: &Dataset, strategy: MulticlassStrategy, threads: usize) -> MulticlassTrained {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| train_multiclass(data, &libsvm_options(data), strategy, SolverKind::Smo))
        .unwrap()
}

fn accuracy(predicted: &[f64], labels: &[f64]) -> f64 {
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len() as f64
}

#[test]
fn ovo_objectives_match_svm_train() {
    for name in ["iris.scale", "svmguide4", "glass.scale", "svmguide2"] {
        let data = load(name);
        let t = train(&data, MulticlassStrategy::Ovo, 2);
        let reference = reference_obj(name);
        assert_eq!(t.subproblems.len(), reference.len(), "{name}");
        for ((s, &(obj, rho)), m) in t.subproblems.iter().zip(&reference).zip(&t.model.submodels) {
            // svm-train minimises ½αᵀQα − eᵀα: our dual objective is −obj.
            let ours = s.certificate.dual_objective;
            let rel = (ours + obj).abs() / obj.abs().max(1.0);
            eprintln!(
                "{name} pair ({}, {:?}): ours {ours:.6}, svm-train {:.6}, rel {rel:.2e}, gap {:.2e}, {} iterations, {:.3} s",
                s.positive, s.negative, -obj, s.certificate.relative_gap,
                s.summary.iterations, s.summary.elapsed.as_secs_f64()
            );
            assert!(rel <= 1e-3, "{name}: {ours} vs {}", -obj);
            // rho = −b; both solvers stop at a violation of 1e-3.
            eprintln!("  bias {:.6}, svm-train −rho {:.6}", m.bias, -rho);
            assert!(
                (m.bias + rho).abs() <= 1e-2,
                "{name}: b {} vs rho {rho}",
                m.bias
            );
            assert!(s.certificate.relative_gap < 1e-2, "{name}");
        }
    }
}

#[test]
fn ovo_predictions_match_svm_predict() {
    let data = load("svmguide4");
    let test = load("svmguide4.t");
    let t = train(&data, MulticlassStrategy::Ovo, 2);
    let text =
        std::fs::read_to_string(repo("tests/fixtures/multiclass/svmguide4.t.predict")).unwrap();
    let reference: Vec<f64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(reference.len(), test.len());
    let values = t.model.decision_values(&test.features);
    let ours = t.model.predict(&test.features);
    let mut excused = 0;
    for (r, ((&p, &q), v)) in ours.iter().zip(&reference).zip(&values).enumerate() {
        if p != q {
            let near_zero = v.iter().any(|f| f.abs() <= 1e-6);
            assert!(near_zero, "row {}: ours {p}, svm-predict {q}, {v:?}", r + 1);
            excused += 1;
        }
    }
    eprintln!(
        "svmguide4.t OvO: accuracy {:.4} (svm-predict {:.4}), {excused} rows excused",
        accuracy(&ours, &test.labels),
        accuracy(&reference, &test.labels)
    );
    assert!(excused <= 1, "{excused}");
}

#[test]
fn one_and_two_threads_are_bit_identical() {
    let data = load("svmguide4");
    for strategy in [MulticlassStrategy::Ovo, MulticlassStrategy::Ovr] {
        let a = train(&data, strategy, 1);
        let b = train(&data, strategy, 2);
        assert_eq!(a.model, b.model, "{strategy:?}");
        for (x, y) in a.subproblems.iter().zip(&b.subproblems) {
            assert_eq!(x.alpha, y.alpha);
            assert_eq!(x.certificate, y.certificate);
            assert_eq!(x.summary.iterations, y.summary.iterations);
        }
    }
}

#[test]
fn ovr_predicts_better_than_chance() {
    for (name, test_name) in [("iris.scale", "iris.scale"), ("svmguide4", "svmguide4.t")] {
        let data = load(name);
        let test = load(test_name);
        let t = train(&data, MulticlassStrategy::Ovr, 2);
        assert_eq!(t.model.classes, data.classes());
        let k = t.model.classes.len() as f64;
        let train_acc = accuracy(&t.model.predict(&data.features), &data.labels);
        let test_acc = accuracy(&t.model.predict(&test.features), &test.labels);
        let seconds: f64 = t
            .subproblems
            .iter()
            .map(|s| s.summary.elapsed.as_secs_f64())
            .sum();
        eprintln!(
            "{name} OvR: training accuracy {train_acc:.4}, {test_name} accuracy {test_acc:.4}, \
             worst gap {:.2e}, solver time {seconds:.3} s",
            t.worst_relative_gap()
        );
        assert!(train_acc > 1.0 / k, "{name}: {train_acc}");
    }
}

#[test]
fn multiclass_json_round_trips_and_binary_json_still_reads() {
    let data = load("iris.scale");
    let t = train(&data, MulticlassStrategy::Ovo, 2);
    let any = AnyModel::Multiclass(t.model);
    let json = write_any_json(&any).unwrap();
    let back = read_any_json(&json, None).unwrap();
    assert_eq!(back, any);
    assert_eq!(back.predict(&data.features), any.predict(&data.features));

    let binary = load("heart_scale");
    let trained = svm_dual::train::train(&binary, &libsvm_options(&binary), None).unwrap();
    let json = svm_dual::model_io::write_json(&trained.model).unwrap();
    assert_eq!(
        read_any_json(&json, None).unwrap(),
        AnyModel::Binary(trained.model)
    );
}

/// `svm-dual solve` on 6-class data writes a multiclass model and report;
/// `svm-dual predict` reads the model and reproduces `svm-predict`.
#[test]
fn cli_solves_and_predicts_multiclass() {
    let bin = env!("CARGO_BIN_EXE_svm-dual");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let report = dir.path().join("r.json");
    let predictions = dir.path().join("p.txt");
    let data = repo("datasets/svmguide4");
    let status = std::process::Command::new(bin)
        .args(["solve", "-q", "--loss", "l1", "--data"])
        .arg(&data)
        .arg("--model")
        .arg(&model)
        .arg("--report")
        .arg(&report)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["multiclass"], "ovo");
    assert_eq!(r["subproblems"].as_array().unwrap().len(), 15);
    assert_eq!(r["status"], "converged");
    assert!(r["worst_relative_gap"].as_f64().unwrap() < 1e-2);

    let status = std::process::Command::new(bin)
        .args(["predict", "-q", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(repo("datasets/svmguide4.t"))
        .arg("--output")
        .arg(&predictions)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let ours = std::fs::read_to_string(&predictions).unwrap();
    let reference =
        std::fs::read_to_string(repo("tests/fixtures/multiclass/svmguide4.t.predict")).unwrap();
    let parse = |t: &str| -> Vec<f64> { t.lines().map(|l| l.trim().parse().unwrap()).collect() };
    assert_eq!(parse(&ours), parse(&reference));

    // A sub-problem stopped by the iteration limit: exit 3.
    let status = std::process::Command::new(bin)
        .args([
            "solve",
            "-q",
            "--multiclass",
            "ovr",
            "--max-iter",
            "2",
            "--data",
        ])
        .arg(&data)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));

    // `verify` certifies binary models only, and says so.
    let out = std::process::Command::new(bin)
        .args(["verify", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a multiclass model"), "{stderr}");
}

/// svm-train's one-vs-one model of svmguide4 read from its text file: the
/// pairs' biases are svm-train's `−rho`, and the predictions on svmguide4.t
/// are svm-predict's (up to rows with a decision value within 1e-6 of 0).
#[test]
fn svm_train_ovo_model_predicts_as_svm_predict() {
    let bytes = std::fs::read(repo("tests/fixtures/multiclass/svmguide4.model")).unwrap();
    let AnyModel::Multiclass(model) = parse_any_bytes(&bytes, None, None).unwrap() else {
        panic!("a multiclass model");
    };
    assert_eq!(model.strategy, MulticlassStrategy::Ovo);
    assert_eq!(model.classes.len(), 6);
    model.check().unwrap();
    let reference = reference_obj("svmguide4");
    assert_eq!(reference.len(), model.submodels.len());
    for (m, (_, rho)) in model.submodels.iter().zip(&reference) {
        // The .obj file has svm-train's printed rho (6 significant digits).
        assert!(
            (m.bias + rho).abs() <= 1e-5 * rho.abs().max(1.0),
            "{} vs {rho}",
            m.bias
        );
    }
    let test = load("svmguide4.t");
    let text =
        std::fs::read_to_string(repo("tests/fixtures/multiclass/svmguide4.t.predict")).unwrap();
    let expected: Vec<f64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    let values = model.decision_values(&test.features);
    let ours = model.predict(&test.features);
    for (r, ((p, q), v)) in ours.iter().zip(&expected).zip(&values).enumerate() {
        assert!(
            p == q || v.iter().any(|f| f.abs() <= 1e-6),
            "row {}: ours {p}, svm-predict {q}",
            r + 1
        );
    }
}

/// Our one-vs-one model written in LIBSVM's text format and read back:
/// each distinct support vector once, in its class's group, and the same
/// decision values and predictions; one-vs-rest is refused.
#[test]
fn ovo_models_round_trip_through_libsvm_text() {
    let data = load("svmguide4");
    let test = load("svmguide4.t");
    let t = train(&data, MulticlassStrategy::Ovo, 2);
    let text = write_libsvm_ovo(&t.model).unwrap();
    let AnyModel::Multiclass(back) = parse_any_bytes(text.as_bytes(), None, None).unwrap() else {
        panic!("a multiclass model");
    };
    assert_eq!(back.classes, t.model.classes);
    // Distinct support vectors: every training row that is one in any pair.
    let mut rows: Vec<usize> = t
        .model
        .submodels
        .iter()
        .flat_map(|m| m.support_vectors.iter().map(|sv| sv.index.unwrap()))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    let total: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("total_sv "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(total, rows.len());
    for (a, b) in t.model.submodels.iter().zip(&back.submodels) {
        assert_eq!(a.bias, b.bias);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.support_vectors.len(), b.support_vectors.len());
    }
    let (before, after) = (
        t.model.decision_values(&test.features),
        back.decision_values(&test.features),
    );
    for (x, y) in before.iter().flatten().zip(after.iter().flatten()) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
    }
    assert_eq!(
        t.model.predict(&test.features),
        back.predict(&test.features)
    );
    // Written again from what was read: the same lines (the order within a
    // class may differ, as the training rows are no longer known).
    let sorted = |t: &str| {
        let mut l: Vec<String> = t.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&write_libsvm_ovo(&back).unwrap()), sorted(&text));

    let ovr = train(&data, MulticlassStrategy::Ovr, 2);
    assert!(write_libsvm_ovo(&ovr.model).is_err());
}

#[test]
fn solve_test_option_scores_the_model_on_held_out_data() {
    let bin = env!("CARGO_BIN_EXE_svm-dual");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    // One-vs-one on svmguide4: the same score as svm-predict's recorded
    // predictions of svmguide4.t.
    let out = std::process::Command::new(bin)
        .args(["solve", "--loss", "l1", "--data"])
        .arg(repo("datasets/svmguide4"))
        .arg("--test")
        .arg(repo("datasets/svmguide4.t"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let test = load("svmguide4.t");
    let text =
        std::fs::read_to_string(repo("tests/fixtures/multiclass/svmguide4.t.predict")).unwrap();
    let reference: Vec<f64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    let correct = reference
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| p == l)
        .count();
    let r = read(&report);
    assert_eq!(r["test"]["input"]["n_samples"], 312);
    assert_eq!(r["test"]["correct"].as_u64().unwrap() as usize, correct);
    assert_eq!(
        r["test"]["accuracy"].as_f64().unwrap(),
        correct as f64 / 312.0
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("test: Accuracy = ") && stderr.contains(&format!("({correct}/312)")),
        "{stderr}"
    );

    // Binary and joint models, tested on their training data: the test
    // accuracy is the training accuracy.
    for extra in [&[][..], &["--multiclass", "crammer-singer"][..]] {
        let status = std::process::Command::new(bin)
            .args(["solve", "-q", "--data"])
            .arg(repo("datasets/heart_scale"))
            .arg("--test")
            .arg(repo("datasets/heart_scale"))
            .args(extra)
            .arg("--report")
            .arg(&report)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        let r = read(&report);
        let training = r["training_accuracy"]
            .as_f64()
            .or_else(|| r["certificate"]["training_accuracy"].as_f64())
            .unwrap();
        assert_eq!(
            r["test"]["accuracy"].as_f64().unwrap(),
            training,
            "{extra:?}"
        );
    }

    // Without --test there is no `test` section.
    let status = std::process::Command::new(bin)
        .args(["solve", "-q", "--data"])
        .arg(repo("datasets/heart_scale"))
        .arg("--report")
        .arg(&report)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(read(&report).get("test").is_none());

    // A bad test file stops the run before training: exit 2, the file and
    // line named, nothing written.
    let bad = dir.path().join("bad.t");
    std::fs::write(&bad, "1 1:0.5\n2 3:x\n").unwrap();
    let fresh = dir.path().join("fresh.json");
    // `solve` on heart_scale with `--test bad.t --report <report>`:
    // (exit code, stderr).
    let refused = |report: &std::path::Path| {
        let out = std::process::Command::new(bin)
            .args(["solve", "--data"])
            .arg(repo("datasets/heart_scale"))
            .arg("--test")
            .arg(&bad)
            .arg("--report")
            .arg(report)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, stderr) = refused(&fresh);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("bad.t:2"), "{stderr}");
    assert!(!fresh.exists());
    // --report may not overwrite the test file.
    let (code, stderr) = refused(&bad);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("test data"), "{stderr}");
}

/// One-vs-one decision values through the support vectors shared by the
/// pairs (their kernel values formed by panels) equal each sub-model's own
/// per-row sum to the bit.
#[test]
fn shared_support_vector_values_equal_each_submodel_to_the_bit() {
    let data = load("svmguide4");
    let test = load("svmguide4.t");
    let t = train(&data, MulticlassStrategy::Ovo, 2);
    let values = t.model.decision_values(&test.features);
    assert_eq!(values.len(), test.features.n_rows());
    for (r, row_values) in values.iter().enumerate() {
        for (m, v) in t.model.submodels.iter().zip(row_values) {
            let own = m.decision_value(&test.features.row(r));
            assert_eq!(v.to_bits(), own.to_bits(), "row {r}: {v} vs {own}");
        }
    }
}

/// The noisy 10-class data of [`common::noisy_multiclass_text`] (45
/// one-vs-one sub-problems of 600 rows), written to `dir`.
fn noisy_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("noisy.txt");
    std::fs::write(&path, common::noisy_multiclass_text(10, 300)).unwrap();
    path
}

/// The time limit bounds the whole model, not each sub-problem: with
/// 0.01 s for 45 sub-problems trained one after the other (one thread, so
/// that they do not all start at once on a machine with many cores), the
/// sub-problems started after the deadline stop before their first
/// iteration (a per-sub-problem limit gives every one of them 0.01 s, so
/// none ends with 0 iterations).
#[test]
fn time_limit_bounds_all_the_sub_problems_together() {
    let dir = tempfile::tempdir().unwrap();
    let data = read_path(&noisy_file(dir.path()), &Format::Libsvm).unwrap();
    let mut options = libsvm_options(&data);
    options.formulation.c = 10.0;
    for strategy in [MulticlassStrategy::Ovo, MulticlassStrategy::Ovr] {
        options.smo.time_limit = Some(Duration::from_millis(10));
        let t = Instant::now();
        let limited = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| train_multiclass(&data, &options, strategy, SolverKind::Smo))
            .unwrap();
        let elapsed = t.elapsed();
        let statuses: Vec<(Status, u64)> = limited
            .subproblems
            .iter()
            .map(|s| (s.summary.status, s.summary.iterations))
            .collect();
        assert!(
            statuses
                .iter()
                .all(|(s, _)| matches!(s, Status::Converged | Status::TimeLimit)),
            "{strategy:?}: {statuses:?}"
        );
        if strategy == MulticlassStrategy::Ovo {
            assert!(
                statuses
                    .iter()
                    .any(|&(s, i)| s == Status::TimeLimit && i == 0),
                "{strategy:?}: {statuses:?}"
            );
            // Loosely: the solves stopped near the deadline.
            assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
        }
        // A limit not reached changes nothing, for any thread count.
        let svmguide4 = load("svmguide4");
        let mut generous = libsvm_options(&svmguide4);
        generous.smo.time_limit = Some(Duration::from_secs(100_000));
        let unlimited = train(&svmguide4, strategy, 2);
        for threads in [1, 2] {
            let with_limit = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| train_multiclass(&svmguide4, &generous, strategy, SolverKind::Smo))
                .unwrap();
            assert_eq!(unlimited.model, with_limit.model, "{strategy:?} {threads}");
        }
    }
}

/// `solve --time-limit` on multiclass data: one limit for the whole run,
/// status `time_limit`, exit 3, and the report and model still written.
#[test]
fn cli_time_limit_bounds_the_whole_multiclass_run() {
    let bin = env!("CARGO_BIN_EXE_svm-dual");
    let dir = tempfile::tempdir().unwrap();
    let data = noisy_file(dir.path());
    let report = dir.path().join("r.json");
    let model = dir.path().join("m.json");
    let t = Instant::now();
    let status = std::process::Command::new(bin)
        .args([
            "solve",
            "-q",
            "-C",
            "10",
            "--threads",
            "1",
            "--time-limit",
            "0.05",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--report")
        .arg(&report)
        .arg("--model")
        .arg(&model)
        .status()
        .unwrap();
    let elapsed = t.elapsed();
    assert_eq!(status.code(), Some(3));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["status"], "time_limit");
    let subs = r["subproblems"].as_array().unwrap();
    assert_eq!(subs.len(), 45);
    assert!(
        subs.iter()
            .any(|s| s["status"] == "time_limit" && s["iterations"] == 0),
        "{subs:?}"
    );
    assert!(model.is_file());
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

/// `-B` (CD's constant feature) on multiclass data: one-vs-one trains with
/// SMO, where it had no effect (byte-identical models for -B 1 and -B 10),
/// so it is refused as for a binary smo solve; multiclass cv/grid (smo)
/// refuse it too; one-vs-rest with the linear kernel runs CD and applies it.
#[test]
fn bias_feature_is_refused_where_it_would_be_ignored() {
    let bin = env!("CARGO_BIN_EXE_svm-dual");
    let dir = tempfile::tempdir().unwrap();
    let iris = repo("datasets/iris.scale");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .arg("--data")
            .arg(&iris)
            .output()
            .unwrap()
    };
    let linear = ["--kernel", "linear", "--no-bias", "-B", "1"];
    for prefix in [
        &["solve"][..],
        &["solve", "--multiclass", "ovo"],
        &["cv"],
        &["cv", "--multiclass", "ovr"],
        &["grid", "--c-values", "1,2"],
    ] {
        let model = dir.path().join("m.json");
        let mut args = prefix.to_vec();
        args.extend(linear);
        if prefix[0] == "solve" {
            args.extend(["--model", model.to_str().unwrap()]);
        }
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("-B/--bias-feature"), "{args:?}: {stderr}");
        assert!(stderr.contains("cd solver only"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!model.exists(), "{args:?}");
    }
    // One-vs-rest with the linear kernel (CD): -B takes effect.
    let models: Vec<String> = ["1", "10"]
        .iter()
        .map(|b| {
            let model = dir.path().join(format!("ovr{b}.json"));
            let out = run(&[
                "solve",
                "-q",
                "--multiclass",
                "ovr",
                "--kernel",
                "linear",
                "--no-bias",
                "-B",
                b,
                "--model",
                model.to_str().unwrap(),
            ]);
            assert!(
                matches!(out.status.code(), Some(0 | 3)),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::read_to_string(&model).unwrap()
        })
        .collect();
    assert_ne!(models[0], models[1]);
}
