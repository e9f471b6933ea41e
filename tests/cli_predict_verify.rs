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

/// The rows of a LIBSVM file with `n` features, dense: the label as
/// written and the values (missing indices are 0).
fn dense_rows(relative: &str, n: usize) -> Vec<(String, Vec<f64>)> {
    fs::read_to_string(repo(relative))
        .expect("dataset")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace();
            let label = fields.next().expect("a label").to_string();
            let mut x = vec![0.0; n];
            for f in fields {
                let (i, v) = f.split_once(':').expect("index:value");
                x[i.parse::<usize>().expect("index") - 1] = v.parse().expect("value");
            }
            (label, x)
        })
        .collect()
}

/// Writes `rows` as CSV with the label in the last column, the first
/// `columns` features per row (zeros beyond the row's own), `delimiter`
/// between fields and, if given, a header row.
fn write_csv(
    path: &Path,
    rows: &[(String, Vec<f64>)],
    columns: usize,
    delimiter: &str,
    header: Option<&str>,
) {
    let mut text = String::new();
    if let Some(h) = header {
        text.push_str(h);
        text.push('\n');
    }
    for (label, x) in rows {
        let mut fields: Vec<String> = (0..columns)
            .map(|k| x.get(k).copied().unwrap_or(0.0).to_string())
            .collect();
        fields.push(label.clone());
        text.push_str(&fields.join(delimiter));
        text.push('\n');
    }
    fs::write(path, text).expect("CSV written");
}

/// iris.scale as CSV, header `a,b,c,d,label` (labels in column 4).
fn iris_csv(dir: &Path) -> PathBuf {
    let path = dir.join("it.csv");
    let rows = dense_rows("datasets/iris.scale", 4);
    write_csv(&path, &rows, 4, ",", Some("a,b,c,d,label"));
    path
}

/// `solve --loss l1 --gamma 0.5` on `data` with `extra` options; returns
/// the model path and the report.
fn solve_model(dir: &Path, data: &Path, extra: &[&str]) -> (PathBuf, Value) {
    let model = dir.join("m.json");
    let report = dir.join("r.json");
    let mut args = vec![
        "solve",
        "--data",
        s(data),
        "--loss",
        "l1",
        "--gamma",
        "0.5",
        "--model",
        s(&model),
        "--report",
        s(&report),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (model, read_json(&report))
}

/// `Accuracy = …% (k/n)` → `(k, n)`.
fn accuracy_counts(stderr: &str) -> (usize, usize) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Accuracy = "))
        .unwrap_or_else(|| panic!("no accuracy line in {stderr:?}"));
    let inner = line
        .rsplit_once('(')
        .expect("(k/n)")
        .1
        .trim_end_matches(')');
    let (k, n) = inner.split_once('/').expect("k/n");
    (k.parse().expect("k"), n.parse().expect("n"))
}

#[test]
fn predict_reads_csv_with_the_options_of_solve() {
    let dir = TempDir::new().expect("tempdir");
    let data = iris_csv(dir.path());
    let (model, report) = solve_model(dir.path(), &data, &["--label-column", "4"]);
    let train_accuracy = num(&report, "/training_accuracy");
    assert!(train_accuracy > 0.9, "{train_accuracy}");

    let out = dir.path().join("p.txt");
    let r = run(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--label-column",
        "4",
        "--output",
        s(&out),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (correct, total) = accuracy_counts(&r.stderr);
    assert_eq!(total, 150);
    assert!(
        (correct as f64 / 150.0 - train_accuracy).abs() < 1e-12,
        "{train_accuracy}: {}",
        r.stderr
    );
    let predicted = fs::read_to_string(&out).expect("written");

    // The same rows, `;`-delimited and without a header: the same
    // predictions with --delimiter and --csv-header.
    let semi = dir.path().join("it-semi.csv");
    write_csv(&semi, &dense_rows("datasets/iris.scale", 4), 4, ";", None);
    let r = run(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&semi),
        "--label-column",
        "4",
        "--delimiter",
        ";",
        "--csv-header",
        "no",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, predicted);
    assert_eq!(accuracy_counts(&r.stderr), (correct, total));
}

#[test]
fn verify_reads_csv_with_the_options_of_solve() {
    // heart_scale, `;`-delimited, no header, labels in the last column.
    let dir = TempDir::new().expect("tempdir");
    let data = dir.path().join("heart.csv");
    write_csv(
        &data,
        &dense_rows("datasets/heart_scale", 13),
        13,
        ";",
        None,
    );
    let csv = [
        "--label-column",
        "13",
        "--delimiter",
        ";",
        "--csv-header",
        "no",
    ];
    let (model, solved) = solve_model(dir.path(), &data, &csv);
    let (r, verified) = verify(&model, &data, &csv);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(verified["input"]["format"], "csv");
    assert_eq!(verified["input"]["n_features"], 13);
    assert_eq!(
        num(&verified, "/matching/by_recorded_index"),
        num(&verified, "/matching/support_vectors")
    );
    let p = "/certificate/dual_objective";
    let (a, b) = (num(&solved, p), num(&verified, p));
    assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} vs {b}");
}

#[test]
fn predict_and_verify_check_the_csv_options_as_solve_does() {
    let heart = repo("datasets/heart_scale");
    let model = fixture("heart_scale.model");
    for command in ["predict", "verify"] {
        for (extra, needle) in [
            (&["--label-column", "3"][..], "apply only to CSV input"),
            (&["--csv-header", "yes"], "apply only to CSV input"),
            (
                &["--format", "csv", "--delimiter", "ab"],
                "invalid value for --delimiter",
            ),
        ] {
            let mut args = vec![command, "--model", s(&model), "--data", s(&heart)];
            args.extend_from_slice(extra);
            let r = run(&args);
            assert_eq!(r.code, 2, "{command} {extra:?}: {}", r.stderr);
            assert!(
                r.stderr.contains(needle),
                "{command} {extra:?}: {}",
                r.stderr
            );
            assert!(r.stdout.is_empty(), "{command} {extra:?}");
        }
    }
}

#[test]
fn csv_with_another_number_of_features_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    let data = iris_csv(dir.path());
    let (model, _) = solve_model(dir.path(), &data, &["--label-column", "4"]);
    // Three feature columns, the label in column 3.
    let narrow = dir.path().join("narrow.csv");
    write_csv(
        &narrow,
        &dense_rows("datasets/iris.scale", 4),
        3,
        ",",
        Some("a,b,c,label"),
    );
    let out = dir.path().join("p.txt");
    let r = run(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&narrow),
        "--label-column",
        "3",
        "--output",
        s(&out),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for needle in [
        "narrow.csv",
        "has 3 feature columns",
        "m.json",
        "4 features",
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    assert!(!out.exists());

    // solve --test (the same --label-column): a file with an extra column
    // after the labels is refused before training, nothing written.
    let extra = dir.path().join("extra.csv");
    let text: String = fs::read_to_string(&data)
        .unwrap()
        .lines()
        .map(|l| format!("{l},0\n"))
        .collect();
    fs::write(&extra, text.replacen(",0\n", ",e\n", 1)).unwrap();
    let sub = dir.path().join("solve");
    fs::create_dir(&sub).unwrap();
    let model2 = sub.join("m2.json");
    let r = run(&[
        "solve",
        "--data",
        s(&data),
        "--label-column",
        "4",
        "--test",
        s(&extra),
        "--model",
        s(&model2),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for needle in [
        "--test",
        "extra.csv",
        "has 5 feature columns",
        "it.csv has 4",
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    assert!(entries(&sub).is_empty(), "{:?}", entries(&sub));

    // verify: a binary model on heart_scale as CSV, checked on 14 columns.
    let heart = dense_rows("datasets/heart_scale", 13);
    let heart13 = dir.path().join("heart13.csv");
    let heart14 = dir.path().join("heart14.csv");
    write_csv(&heart13, &heart, 13, ",", None);
    write_csv(&heart14, &heart, 14, ",", None);
    let (binary, _) = solve_model(&sub, &heart13, &["--label-column", "13"]);
    let r = run(&[
        "verify",
        "--model",
        s(&binary),
        "--data",
        s(&heart14),
        "--label-column",
        "14",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for needle in ["heart14.csv", "has 14 feature columns", "13 features"] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
}

#[test]
fn libsvm_models_and_sparse_data_keep_svm_predict_behaviour() {
    let dir = TempDir::new().expect("tempdir");
    let heart = dense_rows("datasets/heart_scale", 13);
    let sparse = run(&[
        "predict",
        "--model",
        s(&fixture("heart_scale.model")),
        "--data",
        s(&repo("datasets/heart_scale")),
    ]);
    assert_eq!(sparse.code, 0, "{}", sparse.stderr);
    // A LIBSVM model does not record its number of features: a CSV with an
    // extra zero column predicts as the sparse file.
    let heart14 = dir.path().join("heart14.csv");
    write_csv(&heart14, &heart, 14, ",", None);
    let r = run(&[
        "predict",
        "--model",
        s(&fixture("heart_scale.model")),
        "--data",
        s(&heart14),
        "--label-column",
        "14",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, sparse.stdout);
    // Sparse data with an index beyond our JSON model's features: accepted
    // (the feature meets only zeros), as svm-predict does.
    let (model, _) = solve_model(dir.path(), &repo("datasets/heart_scale"), &[]);
    let wide = dir.path().join("wide.txt");
    let text: String = fs::read_to_string(repo("datasets/heart_scale"))
        .unwrap()
        .lines()
        .map(|l| format!("{} 20:1\n", l.trim_end()))
        .collect();
    fs::write(&wide, text).unwrap();
    let r = run(&["predict", "--model", s(&model), "--data", s(&wide)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_missing_output_directory_is_refused_up_front() {
    let dir = TempDir::new().expect("tempdir");
    let out = dir.path().join("missing").join("p.txt");
    let r = run(&[
        "predict",
        "--model",
        s(&fixture("heart_scale.model")),
        "--data",
        s(&repo("datasets/heart_scale")),
        "--output",
        s(&out),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--output"), "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    // Refused before predicting: no accuracy line, nothing written.
    assert!(!r.stderr.contains("Accuracy"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(entries(dir.path()).is_empty());

    let report = dir.path().join("missing").join("v.json");
    let r = run(&[
        "verify",
        "--model",
        s(&fixture("heart_scale.model")),
        "--data",
        s(&repo("datasets/heart_scale")),
        "--report",
        s(&report),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--report"), "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert!(entries(dir.path()).is_empty());
}
