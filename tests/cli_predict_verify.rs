//! End-to-end tests of `svm-dual predict` and `svm-dual verify`: on
//! `svm-train`'s models (fixtures from `scripts/libsvm_models.sh`; LIBSVM is
//! not run here), on our own models against `solve`'s certificate, and on
//! bad model files (exit 2, a message naming file and problem, no output
//! file left behind).

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures/libsvm_models").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What a run left: exit code, stdout, stderr.
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

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("written")).expect("JSON")
}

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

#[test]
fn predict_reproduces_svm_predict() {
    for name in ["heart_scale", "a1a"] {
        let dir = TempDir::new().expect("tempdir");
        let out = dir.path().join("pred");
        let data = repo(&format!("datasets/{name}"));
        let model = fixture(&format!("{name}.model"));
        let r = run(&[
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--output",
            s(&out),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let expected = fs::read_to_string(fixture(&format!("{name}.predict"))).expect("fixture");
        assert_eq!(
            fs::read_to_string(&out).expect("written"),
            expected,
            "{name}"
        );
        // svm-predict prints "Accuracy = …% (a/b) (classification)".
        let accuracy = fs::read_to_string(fixture(&format!("{name}.accuracy"))).expect("fixture");
        let accuracy = accuracy.trim().trim_end_matches(" (classification)");
        assert_eq!(r.stderr.trim(), accuracy);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn decision_values_go_to_stdout_with_matching_signs() {
    let r = run(&[
        "predict",
        "--model",
        s(&fixture("heart_scale.model")),
        "--data",
        s(&repo("datasets/heart_scale")),
        "--decision-values",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 270);
    for line in lines {
        let (label, value) = line.split_once(' ').expect("two columns");
        let value: f64 = value.parse().expect("a number");
        assert_eq!(label, if value > 0.0 { "1" } else { "-1" }, "{line}");
    }
}

fn verify(model: &Path, data: &Path, extra: &[&str]) -> (Run, Value) {
    let dir = TempDir::new().expect("tempdir");
    let report = dir.path().join("verify.json");
    let mut args = vec![
        "verify",
        "--model",
        s(model),
        "--data",
        s(data),
        "--report",
        s(&report),
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (r, read_json(&report))
}

#[test]
fn verify_certifies_svm_train_heart_scale() {
    let (r, v) = verify(
        &fixture("heart_scale.model"),
        &repo("datasets/heart_scale"),
        &[],
    );
    assert!(r.stderr.starts_with("verified: dual "), "{}", r.stderr);
    // Defaults for a LIBSVM model: LIBSVM's C-SVC, C = 1.
    assert_eq!(v["formulation"]["loss"], "l1");
    assert_eq!(num(&v, "/formulation/c"), 1.0);
    assert_eq!(v["model"]["format"], "libsvm");
    assert_eq!(v["model"]["has_formulation"], false);
    assert_eq!(num(&v, "/matching/support_vectors"), 132.0);
    assert_eq!(num(&v, "/matching/label_mismatches"), 0.0);
    // svm-train -e 0.001 printed obj = -100.877288 (tests/fixtures/libsvm.json).
    let dual = num(&v, "/certificate/dual_objective");
    assert!((dual - 100.877288).abs() < 1e-5, "{dual}");
    let gap = num(&v, "/certificate/relative_gap");
    assert!((0.0..1e-3).contains(&gap), "{gap}");
    assert!(num(&v, "/certificate/kkt/max_violation") <= 1e-3);
    assert_eq!(num(&v, "/certificate/kkt/bound_violation"), 0.0);
    assert!(num(&v, "/certificate/kkt/equality_violation") < 1e-12);
    assert_eq!(num(&v, "/certificate/n_sv"), 132.0);
    // The worst rows are named, with their α and margins.
    let pair = v["worst"]["max_violating_pair"].as_array().expect("a pair");
    assert_eq!(pair.len(), 2);
    assert!(!v["worst"]["rows"].as_array().expect("rows").is_empty());
}

#[test]
fn verify_options_override_the_defaults() {
    // The same α certified as another formulation: C = 0.5 makes the
    // bounded α infeasible, which the certificate shows.
    let (_, v) = verify(
        &fixture("heart_scale.model"),
        &repo("datasets/heart_scale"),
        &["-C", "0.5"],
    );
    assert_eq!(num(&v, "/formulation/c"), 0.5);
    assert!((num(&v, "/certificate/kkt/bound_violation") - 0.5).abs() < 1e-12);
}

#[test]
fn verify_reproduces_solve_on_our_models() {
    for extra in [
        &["--loss", "l2", "--weight", "-1=2"][..],
        &["--loss", "l1", "--kernel", "linear", "--solver", "smo"],
    ] {
        let dir = TempDir::new().expect("tempdir");
        let data = repo("datasets/heart_scale");
        let model = dir.path().join("model.json");
        let report = dir.path().join("report.json");
        let mut args = vec![
            "solve",
            "--data",
            s(&data),
            "--model",
            s(&model),
            "--report",
            s(&report),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let solved = read_json(&report);
        let (_, verified) = verify(&model, &data, &[]);
        assert_eq!(verified["formulation"], solved["formulation"]);
        assert_eq!(verified["model"]["has_formulation"], true);
        assert_eq!(
            num(&verified, "/matching/by_recorded_index"),
            num(&verified, "/matching/support_vectors")
        );
        for field in [
            "dual_objective",
            "primal_objective",
            "primal_objective_best_bias",
            "absolute_gap",
            "relative_gap",
            "kkt/bound_violation",
            "kkt/equality_violation",
            "kkt/max_violation",
            "kkt/complementarity",
            "n_sv",
            "n_bounded_sv",
            "training_accuracy",
        ] {
            let p = format!("/certificate/{field}");
            let (a, b) = (num(&solved, &p), num(&verified, &p));
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "{extra:?} {field}: {a} vs {b}"
            );
        }
    }
}

/// An edit of a model file's lines.
type LineEdit = Box<dyn Fn(Vec<String>) -> Vec<String>>;

/// A copy of heart_scale.model, its lines edited by `edit`.
fn broken_model(dir: &Path, edit: &dyn Fn(Vec<String>) -> Vec<String>) -> PathBuf {
    let text = fs::read_to_string(fixture("heart_scale.model")).expect("fixture");
    let lines = edit(text.lines().map(String::from).collect());
    let path = dir.join("bad.model");
    fs::write(&path, lines.join("\n") + "\n").expect("written");
    path
}

/// Replaces the first line starting with `prefix` by `by`.
fn replace(prefix: &'static str, by: &'static str) -> impl Fn(Vec<String>) -> Vec<String> {
    move |mut lines| {
        let i = lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .expect("line present");
        lines[i] = by.to_string();
        lines
    }
}

#[test]
fn bad_model_files_exit_2_without_output() {
    let truncate = |mut lines: Vec<String>| {
        lines.truncate(100);
        lines
    };
    let bad_coef = |mut lines: Vec<String>| {
        lines[10] = lines[10].replacen("0.", "x.", 1);
        lines
    };
    let cases: Vec<(LineEdit, &str)> = vec![
        (Box::new(truncate), "truncated: total_sv is 132"),
        (
            Box::new(replace("nr_class", "nr_class 3")),
            ":9: nr_class 3 but 2 labels",
        ),
        (
            Box::new(replace("kernel_type", "kernel_type laplace")),
            ":2: unknown kernel_type laplace",
        ),
        (
            Box::new(bad_coef),
            ":11: bad support vector: coefficient \"x.",
        ),
    ];
    let data = repo("datasets/heart_scale");
    for (edit, message) in cases {
        let dir = TempDir::new().expect("tempdir");
        let model = broken_model(dir.path(), &*edit);
        let out = dir.path().join("out.txt");
        for command in ["predict", "verify"] {
            let flag = if command == "predict" {
                "--output"
            } else {
                "--report"
            };
            let r = run(&[
                command,
                "--model",
                s(&model),
                "--data",
                s(&data),
                flag,
                s(&out),
            ]);
            assert_eq!(r.code, 2, "{command}: {}", r.stderr);
            assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
            assert!(r.stderr.contains("bad.model"), "{}", r.stderr);
            assert!(
                r.stderr.contains(message),
                "{command}: {message} not in {}",
                r.stderr
            );
            assert_eq!(entries(dir.path()), ["bad.model"]);
        }
    }
}

#[test]
fn support_vector_missing_from_the_data_is_named() {
    let dir = TempDir::new().expect("tempdir");
    // Line 12 is the third support vector; change one of its values.
    let model = broken_model(dir.path(), &|mut lines: Vec<String>| {
        lines[11] = lines[11].replace("1:0.333333", "1:0.333334");
        lines
    });
    let out = dir.path().join("cert.json");
    let r = run(&[
        "verify",
        "--model",
        s(&model),
        "--data",
        s(&repo("datasets/heart_scale")),
        "--report",
        s(&out),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("support vector 3 (line 12 of the model) not found in"),
        "{}",
        r.stderr
    );
    assert_eq!(entries(dir.path()), ["bad.model"]);

    // Predicting with it is fine: only verify needs the training rows.
    let r = run(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&repo("datasets/heart_scale")),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn data_with_other_labels_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    let data = dir.path().join("three.txt");
    fs::write(&data, "1 1:0.5\n2 1:0.25\n").expect("written");
    let r = run(&[
        "verify",
        "--model",
        s(&fixture("heart_scale.model")),
        "--data",
        s(&data),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("row 2 has label 2"), "{}", r.stderr);
}

#[test]
fn json_model_with_another_schema_version_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    let model = dir.path().join("m.json");
    fs::write(&model, "{\"schema_version\": 7}").expect("written");
    let r = run(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&repo("datasets/heart_scale")),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("schema_version 7 is not supported"),
        "{}",
        r.stderr
    );
    // Forced LIBSVM reading of the same file fails on its first line.
    let r = run(&[
        "predict",
        "--model",
        s(&model),
        "--model-format",
        "libsvm",
        "--data",
        s(&repo("datasets/heart_scale")),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("m.json:1: unknown header line"),
        "{}",
        r.stderr
    );
}

/// `solve --model-format libsvm`: binary and one-vs-one models in LIBSVM's
/// text format predict as the JSON model of the same run; a model the
/// format cannot hold (one-vs-rest, non-integer labels) is refused with
/// exit 2 and nothing written.
#[test]
fn solve_writes_libsvm_models() {
    let dir = TempDir::new().expect("tempdir");
    for (data, extra) in [
        (repo("datasets/heart_scale"), &[][..]),
        (repo("datasets/iris.scale"), &[][..]),
        (
            repo("datasets/svmguide4"),
            &["--kernel", "linear", "--solver", "smo"][..],
        ),
    ] {
        let json = dir.path().join("m.json");
        let text = dir.path().join("m.model");
        for (path, format) in [(&json, "json"), (&text, "libsvm")] {
            let args = [
                &["solve", "--data", s(&data), "--quiet", "--model", s(path)][..],
                &["--model-format", format],
                extra,
            ]
            .concat();
            let r = run(&args);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
        let written = fs::read_to_string(&text).unwrap();
        assert!(written.starts_with("svm_type c_svc\n"), "{written}");
        let mut outputs = Vec::new();
        for model in [&json, &text] {
            let out = dir.path().join("p.txt");
            let r = run(&[
                "predict",
                "--model",
                s(model),
                "--data",
                s(&data),
                "--output",
                s(&out),
            ]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            outputs.push(fs::read_to_string(&out).unwrap());
        }
        assert_eq!(outputs[0], outputs[1], "{}", data.display());
    }

    let empty = TempDir::new().expect("tempdir");
    let model = empty.path().join("m.model");
    let report = empty.path().join("r.json");
    let ovr = run(&[
        "solve",
        "--data",
        s(&repo("datasets/iris.scale")),
        "--multiclass",
        "ovr",
        "--model",
        s(&model),
        "--model-format",
        "libsvm",
        "--report",
        s(&report),
    ]);
    assert_eq!(ovr.code, 2, "{}", ovr.stderr);
    assert!(ovr.stderr.contains("--model-format"), "{}", ovr.stderr);
    let halves = empty.path().join("halves.txt");
    fs::write(&halves, "0.5 1:1\n1.5 1:-1\n0.5 1:0.9\n1.5 1:-0.8\n").unwrap();
    let r = run(&[
        "solve",
        "--data",
        s(&halves),
        "--model",
        s(&model),
        "--model-format",
        "libsvm",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not an integer"), "{}", r.stderr);
    assert_eq!(entries(empty.path()), vec!["halves.txt".to_string()]);
}
