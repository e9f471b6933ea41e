//! `svm-dual cv` and `svm-dual grid` end to end (issue 7, item 3): the
//! cross-validation accuracy against LIBSVM's `svm-train -v 5` (fixture from
//! `scripts/cv_fixtures.sh`), the grid's report and thread-count
//! independence, and bad arguments.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

mod common;

fn dataset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::cargo_bin("svm-dual")
        .expect("the svm-dual binary is built")
        .args(args)
        .output()
        .expect("svm-dual runs");
    Run {
        code: out.status.code().expect("exits with a code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn cv_on_heart_scale_matches_svm_train_within_two_points() {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cv.json"),
        )
        .expect("fixture"),
    )
    .expect("fixture is JSON");
    let libsvm = fixture["heart_scale_rbf_c1_cv5_accuracy_percent"]
        .as_f64()
        .unwrap();
    let data = dataset("heart_scale");
    // LIBSVM's C-SVC: hinge loss, C = 1, RBF with γ = 1/13, tol 1e-3.
    let r = run(&["cv", "--data", s(&data), "--loss", "l1", "--report", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("report on stdout");
    assert_eq!(report["command"], "cv");
    assert_eq!(report["folds"], 5);
    assert_eq!(report["kernel"]["type"], "rbf");
    let sizes: Vec<u64> = report["fold_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![54; 5]);
    let ours = 100.0 * report["best"]["accuracy"].as_f64().unwrap();
    assert!(
        (ours - libsvm).abs() <= 2.0,
        "svm-dual cv {ours:.3}% vs svm-train -v 5 {libsvm}%"
    );
    // The table went to stderr since the report took stdout.
    assert!(
        r.stderr.contains("5-fold cross-validation accuracy"),
        "{}",
        r.stderr
    );
}

/// The points of a grid report without the timings.
fn points_without_time(report: &Value) -> Vec<Value> {
    report["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut p = p.clone();
            for f in p["folds"].as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("seconds");
            }
            p
        })
        .collect()
}

#[test]
fn grid_reports_every_point_the_same_for_any_thread_count() {
    let dir = TempDir::new().unwrap();
    let data = dataset("heart_scale");
    let model = dir.path().join("best.json");
    let mut reports = Vec::new();
    for threads in ["1", "2"] {
        let path = dir.path().join(format!("grid{threads}.json"));
        let r = run(&[
            "grid",
            "--data",
            s(&data),
            "--loss",
            "l1",
            "--log2c",
            "-1,3,2",
            "--gamma-values",
            "0.03,0.3",
            "--threads",
            threads,
            "--report",
            s(&path),
            "--model",
            s(&model),
            "-q",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        // The table: three C rows, two γ columns, one best cell.
        assert_eq!(r.stdout.matches('*').count(), 1, "{}", r.stdout);
        assert!(r.stdout.contains("best: C = "), "{}", r.stdout);
        reports
            .push(serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap()).unwrap());
    }
    let (a, b) = (&reports[0], &reports[1]);
    assert_eq!(points_without_time(a), points_without_time(b));
    assert_eq!(a["best"], b["best"]);
    assert_eq!(a["threads"], 1);
    assert_eq!(b["threads"], 2);
    let points = a["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    let cs: Vec<f64> = points.iter().map(|p| p["c"].as_f64().unwrap()).collect();
    assert_eq!(cs, vec![0.5, 0.5, 2.0, 2.0, 8.0, 8.0]);
    // The best is the most accurate point.
    let best = a["best"]["accuracy"].as_f64().unwrap();
    assert!(points
        .iter()
        .all(|p| p["accuracy"].as_f64().unwrap() <= best));
    // Warm starts along C: the smallest C starts cold, the others warm.
    for p in points {
        let warm = p["c"].as_f64().unwrap() > 0.5;
        assert!(p["folds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["warm_started"].as_bool() == Some(warm)));
    }
    // The best model was trained on all the data with the best C and γ.
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(m["formulation"]["c"], a["best"]["c"]);
    assert_eq!(m["kernel"]["gamma"], a["best"]["gamma"]);
}

#[test]
fn bad_cv_and_grid_arguments_exit_2_naming_the_option() {
    let data = dataset("heart_scale");
    let d = s(&data);
    for (args, needle) in [
        (vec!["cv", "--data", d, "--folds", "1"], "--folds"),
        (vec!["cv", "--data", d, "--folds", "271"], "folds"),
        (vec!["cv", "--data", d, "--init", d], "--init"),
        (vec!["cv", "--data", d, "--model", "m.json"], "--model"),
        (vec!["cv", "--data", d, "--test", d], "--test"),
        (vec!["grid", "--data", d, "--log2c", "1,2"], "--log2c"),
        (vec!["grid", "--data", d, "--log2c", "5,1,1"], "--log2c"),
        (
            vec!["grid", "--data", d, "--c-values", "1,-2"],
            "--c-values",
        ),
        (
            vec![
                "grid", "--data", d, "--kernel", "linear", "--log2g", "1,2,1",
            ],
            "linear",
        ),
        (
            vec!["grid", "--data", d, "--gamma", "0.1", "--log2g", "1,2,1"],
            "--gamma",
        ),
        (
            vec!["grid", "--data", d, "-C", "5", "--c-values", "1,2"],
            "-C fixes C",
        ),
        (
            vec!["grid", "--data", d, "--cost", "5", "--log2c", "1,2,1"],
            "-C fixes C",
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
}

/// Values that overflow, repeat or are negative are refused by the option
/// that gave them (not prefixed with the data file's name), and a leading
/// `-` reaches the option's own check instead of clap's "unexpected
/// argument", as for `-C -1`.
#[test]
fn grid_values_and_negative_integers_are_refused_by_the_option() {
    let data = dataset("heart_scale");
    let d = s(&data);
    for (args, needles) in [
        (
            vec!["grid", "--data", d, "--log2c", "2000,2000,1"],
            &[
                "invalid value for --log2c",
                "2^2000",
                "not a positive finite",
            ][..],
        ),
        (
            vec!["grid", "--data", d, "--log2g", "-1,-1100,-1099"],
            &["invalid value for --log2g", "2^-1100"],
        ),
        (
            vec!["grid", "--data", d, "--c-values", "1,1"],
            &["invalid value for --c-values", "given twice"],
        ),
        (
            vec!["grid", "--data", d, "--c-values", "-1,1"],
            &["invalid value for --c-values", "\"-1\" is not a positive"],
        ),
        (
            vec!["grid", "--data", d, "--gamma-values", "-0.5"],
            &["invalid value for --gamma-values", "\"-0.5\""],
        ),
        (
            vec!["cv", "--data", d, "--seed", "-1"],
            &["--seed", "must be a non-negative integer, got -1"],
        ),
        (
            vec!["cv", "--data", d, "--folds", "-3"],
            &["--folds", "must be a non-negative integer, got -3"],
        ),
        (
            vec!["cv", "--data", d, "--max-iter", "-1"],
            &["--max-iter", "must be a non-negative integer, got -1"],
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        for needle in needles {
            assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        }
        assert!(!r.stderr.contains("heart_scale"), "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("unexpected argument"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
}

/// `--time-limit` bounds the whole cross-validation, not each fold: with
/// 0.05 s for 5 folds of a 45-sub-problem one-vs-one model that take
/// seconds together (on one thread, so that not all start at once), the
/// solves started after the deadline stop before their first iteration
/// (each fold's own 0.05 s would let every fold iterate); status
/// `time_limit`, exit 3, the report still written. For `grid --model`,
/// the best model gets only the time left, none here.
#[test]
fn time_limit_bounds_the_whole_cv_and_grid_run() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("noisy.txt");
    std::fs::write(&data, common::noisy_multiclass_text(10, 300)).unwrap();
    let t = Instant::now();
    let r = run(&[
        "cv",
        "--data",
        s(&data),
        "-C",
        "10",
        "--threads",
        "1",
        "--time-limit",
        "0.05",
        "--report",
        "-",
    ]);
    let elapsed = t.elapsed();
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("report on stdout");
    let folds = report["points"][0]["folds"].as_array().unwrap().clone();
    assert!(
        folds
            .iter()
            .any(|f| f["status"] == "time_limit" && f["iterations"] == 0),
        "{folds:?}"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");

    let model = dir.path().join("best.json");
    let r = run(&[
        "grid",
        "--data",
        s(&data),
        "--c-values",
        "1,10",
        "--gamma-values",
        "0.5",
        "--threads",
        "1",
        "--time-limit",
        "0.05",
        "--model",
        s(&model),
        "-q",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.contains('!'), "{}", r.stdout);
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(m["submodels"].as_array().unwrap().len(), 45);
}

/// A training fold with one class (LIBSVM `svm-train -v 5` gives 96.77%
/// here): 30 rows of +1 and one of -1 from heart_scale. The fold holding
/// the -1 row trains on +1 only and predicts +1 for its rows, as LIBSVM's
/// one-class model does; the others train as usual. Errors name no
/// `<data>` placeholder.
#[test]
fn a_training_fold_with_one_class_predicts_that_class() {
    let dir = TempDir::new().unwrap();
    let text = std::fs::read_to_string(dataset("heart_scale")).unwrap();
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("+1"))
        .take(30)
        .collect();
    lines.extend(text.lines().filter(|l| l.starts_with("-1")).take(1));
    let one = dir.path().join("one.txt");
    std::fs::write(&one, lines.join("\n") + "\n").unwrap();
    let r = run(&[
        "cv",
        "--data",
        s(&one),
        "--loss",
        "l1",
        "--gamma",
        "0.125",
        "--report",
        "-",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let point = &report["points"][0];
    assert_eq!(point["n"], 31);
    assert_eq!(point["correct"], 30, "{point}");
    let folds = point["folds"].as_array().unwrap();
    let lonely: Vec<&Value> = folds.iter().filter(|f| f["iterations"] == 0).collect();
    assert_eq!(lonely.len(), 1, "{folds:?}");
    assert_eq!(lonely[0]["status"], "converged");
    assert_eq!(
        lonely[0]["correct"].as_u64().unwrap() + 1,
        lonely[0]["n_test"].as_u64().unwrap()
    );

    let r = run(&[
        "grid",
        "--data",
        s(&one),
        "--loss",
        "l1",
        "--log2c",
        "0,2,1",
        "--log2g",
        "-3,-1,1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("best:"), "{}", r.stdout);

    // Data of one class stays an error, for cv and for solve.
    let single = dir.path().join("single.txt");
    std::fs::write(&single, lines[..30].join("\n") + "\n").unwrap();
    for command in ["cv", "solve"] {
        let r = run(&[command, "--data", s(&single)]);
        assert_eq!(r.code, 2, "{command}: {}", r.stderr);
        assert!(
            r.stderr.contains("only one class"),
            "{command}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("<data>"), "{command}: {}", r.stderr);
    }
}

/// `grid --test` is read before the grid (a bad file stops the run before
/// any point is solved: no table, no model) and scores the best model;
/// `--model-format libsvm` with non-integer labels is refused before the
/// grid as well.
#[test]
fn grid_checks_test_data_and_model_format_before_the_grid() {
    let dir = TempDir::new().unwrap();
    let data = dataset("heart_scale");
    let model = dir.path().join("best.model");
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "+1 1:0.5\n-1 1:x\n").unwrap();
    let grid = ["--c-values", "1,4", "--gamma-values", "0.1"];

    let mut args = vec![
        "grid",
        "--data",
        s(&data),
        "--model",
        s(&model),
        "--test",
        s(&bad),
    ];
    args.extend(grid);
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bad.txt:2"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "the grid ran: {}", r.stdout);
    assert!(!model.exists());

    let text = std::fs::read_to_string(&data).unwrap();
    let halves = dir.path().join("halves.txt");
    std::fs::write(&halves, text.replace("+1 ", "1.5 ").replace("-1 ", "0.5 ")).unwrap();
    let mut args = vec![
        "grid",
        "--data",
        s(&halves),
        "--model",
        s(&model),
        "--model-format",
        "libsvm",
    ];
    args.extend(grid);
    let r = run(&args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--model-format"), "{}", r.stderr);
    assert!(r.stderr.contains("integer"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "the grid ran: {}", r.stdout);
    assert!(!model.exists());

    // A good test file: the best model is written and scored.
    let mut args = vec![
        "grid",
        "--data",
        s(&data),
        "--model",
        s(&model),
        "--test",
        s(&data),
    ];
    args.extend(grid);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(model.is_file());
    assert!(r.stderr.contains("test: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("Accuracy") || r.stderr.contains("accuracy"),
        "{}",
        r.stderr
    );
    // Without --model the best model is still trained to be scored.
    let mut args = vec!["grid", "--data", s(&data), "--test", s(&data)];
    args.extend(grid);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("test: "), "{}", r.stderr);
}

/// `grid -C` fixes C as `--gamma` fixes γ: the grid runs over γ only.
#[test]
fn grid_with_c_fixed_searches_gamma_only() {
    let data = dataset("heart_scale");
    let r = run(&[
        "grid",
        "--data",
        s(&data),
        "-C",
        "4",
        "--log2g",
        "-3,-1,1",
        "--report",
        "-",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    assert!(points.iter().all(|p| p["c"] == 4.0), "{points:?}");
    assert_eq!(report["best"]["c"], 4.0);
}
