//! End-to-end tests of the `svm-dual` binary: the happy path on
//! `heart_scale`, limits (exit 3), thread-count independence, and one test
//! per kind of bad input (exit 2, a message naming file, line and problem,
//! and no output file left behind).

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// `datasets/heart_scale`, or the shared copy beside the checkout.
fn heart_scale() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let local = root.join("datasets/heart_scale");
    if local.is_file() {
        local
    } else {
        root.join("../shared/datasets/heart_scale")
    }
}

fn svm_dual() -> Command {
    Command::cargo_bin("svm-dual").expect("the svm-dual binary is built")
}

/// What a run left: exit code, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = svm_dual().args(args).output().expect("svm-dual runs");
    Run {
        code: out
            .status
            .code()
            .expect("svm-dual exits with a code, not a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Sorted names of the entries of `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `solve` on `heart_scale` with `extra` arguments, report and model
/// into a fresh tempdir.
fn solve_heart(extra: &[&str]) -> (Run, TempDir) {
    let dir = TempDir::new().expect("tempdir");
    let data = heart_scale();
    let report = dir.path().join("report.json");
    let model = dir.path().join("model.json");
    let mut args = vec![
        "solve",
        "--data",
        data.to_str().expect("utf-8 path"),
        "--report",
        report.to_str().expect("utf-8 path"),
        "--model",
        model.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    (run(&args), dir)
}

#[test]
fn happy_path_writes_a_converged_report_and_a_model() {
    let (r, dir) = solve_heart(&[]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(
        r.stdout.is_empty(),
        "nothing on stdout without --report -: {}",
        r.stdout
    );
    assert_eq!(
        entries(dir.path()),
        ["model.json", "report.json"],
        "no temporary files left"
    );

    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["status"], "converged");
    assert_eq!(report["input"]["n_samples"], 270);
    assert_eq!(report["input"]["n_features"], 13);
    assert_eq!(report["input"]["format"], "libsvm");
    assert_eq!(
        report["input"]["sha256"],
        "5defa0a4c4c5bdaf3f55ae3828310252e8565c13ee37ce279e0b86d82e7f4ce9"
    );
    assert_eq!(report["input"]["labels"]["positive"], 1.0);
    assert_eq!(report["input"]["labels"]["negative"], -1.0);
    assert_eq!(report["kernel"]["type"], "rbf");
    assert_eq!(report["kernel"]["gamma"], 1.0 / 13.0);
    assert_eq!(report["formulation"]["loss"], "l2");
    assert_eq!(report["solver"]["name"], "smo");
    let gap = report["certificate"]["relative_gap"]
        .as_f64()
        .expect("relative_gap is a number");
    assert!((0.0..1e-3).contains(&gap.abs()), "relative gap {gap}");
    for phase in ["load", "solve", "verify", "total"] {
        let t = report["timings_seconds"][phase]
            .as_f64()
            .expect("timing is a number");
        assert!(t >= 0.0, "{phase}: {t}");
    }
    let sv = report["n_sv"].as_u64().expect("n_sv");
    assert!(sv > 0 && sv <= 270);

    let model = read_json(&dir.path().join("model.json"));
    assert_eq!(model["schema_version"], 1);
    assert_eq!(
        model["support_vectors"].as_array().map(Vec::len),
        Some(sv as usize)
    );
    assert_eq!(model["bias"], report["bias"]);

    let summary = r.stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("converged: dual "),
        "summary: {summary}"
    );
    assert!(summary.contains("relative gap"), "summary: {summary}");
}

#[test]
fn report_dash_goes_to_stdout_and_quiet_silences_stderr() {
    let data = heart_scale();
    let r = run(&[
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--report",
        "-",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(r.stderr.is_empty(), "--quiet: {}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("stdout is the JSON report");
    assert_eq!(report["status"], "converged");
    // Without --cache-mb the budget is the one derived from this machine's
    // memory, and the report says which.
    let default = svm_dual::cache_budget::default_cache_bytes() as f64 / (1u64 << 20) as f64;
    assert_eq!(report["solver"]["cache_mb"].as_f64(), Some(default));
    let r = run(&[
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--cache-mb",
        "7.5",
        "--report",
        "-",
        "--quiet",
    ]);
    let report: Value = serde_json::from_str(&r.stdout).expect("stdout is the JSON report");
    assert_eq!(report["solver"]["cache_mb"].as_f64(), Some(7.5));
}

/// `--report` naming a device (here through a link to `/dev/null`, so that
/// a regression replaces the link, not the device) or a named pipe: written
/// in place, neither replaced by a file; the model file beside it as usual.
#[cfg(unix)]
#[test]
fn reports_to_devices_and_pipes_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let (dir, data) = (TempDir::new().expect("tempdir"), heart_scale());
    // `solve --report REPORT --quiet` on heart_scale, with `extra`.
    let solve = |report: &Path, extra: &[&str]| {
        let (data, report) = (data.to_str().unwrap(), report.to_str().unwrap());
        let mut args = vec!["solve", "--data", data, "--report", report, "--quiet"];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    };
    let link = dir.path().join("null.json");
    std::os::unix::fs::symlink("/dev/null", &link).expect("symlink");
    let model = dir.path().join("model.json");
    solve(&link, &["--model", model.to_str().unwrap()]);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::metadata(&link).unwrap().file_type().is_char_device());
    assert_eq!(read_json(&model)["kernel"]["type"], "rbf");
    assert_eq!(entries(dir.path()), ["model.json", "null.json"]);

    let fifo = dir.path().join("report.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).expect("the pipe reads"))
    };
    solve(&fifo, &[]);
    // Before joining: a pipe replaced by a file would leave the reader
    // waiting for a writer forever.
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    let report: Value =
        serde_json::from_str(&reader.join().unwrap()).expect("JSON through the pipe");
    assert_eq!(report["status"], "converged");
}

#[test]
fn no_report_by_default_only_the_summary() {
    let data = heart_scale();
    let r = run(&[
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--kernel",
        "linear",
        "--loss",
        "l1",
    ]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one summary line: {}",
        r.stderr
    );
}

#[test]
fn iteration_limit_exits_3_and_still_writes_both_files() {
    let (r, dir) = solve_heart(&["--max-iter", "5"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["status"], "max_iterations");
    assert_eq!(report["iterations"], 5);
    assert_eq!(report["solver"]["max_iter"], 5);
    assert!(r.stderr.contains("max_iterations: dual"), "{}", r.stderr);
    assert_eq!(
        read_json(&dir.path().join("model.json"))["schema_version"],
        1
    );
}

#[test]
fn dual_objective_does_not_depend_on_the_thread_count() {
    let (one, d1) = solve_heart(&["--threads", "1", "--tol", "1e-6"]);
    let (two, d2) = solve_heart(&["--threads", "2", "--tol", "1e-6"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(two.code, 0, "{}", two.stderr);
    let r1 = read_json(&d1.path().join("report.json"));
    let r2 = read_json(&d2.path().join("report.json"));
    assert_eq!(r1["threads"], 1);
    assert_eq!(r2["threads"], 2);
    for (what, a, b) in [
        (
            "certificate",
            &r1["certificate"]["dual_objective"],
            &r2["certificate"]["dual_objective"],
        ),
        (
            "solver",
            &r1["solver_dual_objective"],
            &r2["solver_dual_objective"],
        ),
    ] {
        let (a, b) = (a.as_f64().expect("number"), b.as_f64().expect("number"));
        assert!(
            (a - b).abs() <= 1e-12 * a.abs().max(1.0),
            "{what}: {a} vs {b}"
        );
    }
    assert_eq!(r1["iterations"], r2["iterations"]);
}

/// Writes `contents` to `name` in a fresh tempdir, runs `solve` on it with
/// `extra` arguments and a report and a model in the same dir, and checks
/// the common contract of bad input: exit 2, `error: ` on stderr naming the
/// file, every piece of `needles`, and nothing but the data file left in the
/// directory.
fn assert_bad_input(name: &str, contents: &str, extra: &[&str], needles: &[&str]) {
    let dir = TempDir::new().expect("tempdir");
    let data = dir.path().join(name);
    fs::write(&data, contents).expect("write data");
    let report = dir.path().join("report.json");
    let model = dir.path().join("model.json");
    let mut args = vec![
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, 2, "{name}: stderr: {}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{name}: {}", r.stderr);
    for needle in needles {
        assert!(
            r.stderr.contains(needle),
            "{name}: {needle:?} not in {}",
            r.stderr
        );
    }
    assert!(r.stdout.is_empty(), "{name}: {}", r.stdout);
    assert!(
        !report.exists() && !model.exists(),
        "{name}: an output file was created"
    );
    assert_eq!(entries(dir.path()), [name], "{name}: files left behind");
}

const GOOD_LINE: &str = "+1 1:0.5 2:-1\n";

#[test]
fn non_numeric_value() {
    let text = format!("{GOOD_LINE}-1 1:abc\n");
    assert_bad_input(
        "nonnum.txt",
        &text,
        &[],
        &["nonnum.txt:2:", "not a number", "abc"],
    );
}

#[test]
fn index_zero() {
    let text = format!("{GOOD_LINE}-1 0:1\n");
    assert_bad_input("idx0.txt", &text, &[], &["idx0.txt:2:", "feature index 0"]);
}

#[test]
fn non_increasing_index() {
    let text = format!("{GOOD_LINE}-1 2:1 1:1\n");
    assert_bad_input(
        "order.txt",
        &text,
        &[],
        &["order.txt:2:", "strictly increasing"],
    );
}

#[test]
fn nan_value() {
    let text = format!("{GOOD_LINE}{GOOD_LINE}-1 1:nan\n");
    assert_bad_input("nan.txt", &text, &[], &["nan.txt:3:", "not finite", "nan"]);
}

#[test]
fn infinite_value() {
    let text = format!("{GOOD_LINE}-1 1:-inf\n");
    assert_bad_input("inf.txt", &text, &[], &["inf.txt:2:", "not finite", "-inf"]);
}

#[test]
fn missing_label() {
    let text = format!("{GOOD_LINE}1:0.5 2:0.25\n");
    assert_bad_input(
        "nolabel.txt",
        &text,
        &[],
        &["nolabel.txt:2:", "missing label"],
    );
}

#[test]
fn single_class() {
    let text = format!("{GOOD_LINE}{GOOD_LINE}");
    assert_bad_input("single.txt", &text, &[], &["single.txt", "only one class"]);
}

#[test]
fn empty_file() {
    assert_bad_input("empty.txt", "", &[], &["empty.txt", "empty"]);
}

#[test]
fn feature_index_above_the_limit() {
    let index = svm_dual::data::MAX_FEATURE_INDEX + 1;
    let text = format!("{GOOD_LINE}-1 {index}:1\n");
    assert_bad_input(
        "big.txt",
        &text,
        &[],
        &["big.txt:2:", &index.to_string(), "above the limit"],
    );
}

#[test]
fn csv_with_a_bad_field() {
    let text = "label,x1,x2\n1,0.5,1\n-1,oops,2\n";
    assert_bad_input(
        "bad.csv",
        text,
        &[],
        &["bad.csv:3:", "not a number", "oops"],
    );
}

#[test]
fn csv_first_row_mixing_numbers_and_text_is_not_a_header() {
    // A typo in the first sample is an error, not a dropped header.
    assert_bad_input(
        "typo.csv",
        "1,0.5,abc\n-1,2,3\n1,1,1\n",
        &[],
        &["typo.csv:1:7:", "\"abc\"", "--csv-header yes"],
    );
    // A comment line is taken as a header; the width of line 2 then fails.
    assert_bad_input(
        "comment.csv",
        "# comment\n1,0.5,0\n-1,2,3\n",
        &[],
        &[
            "comment.csv:2:",
            "header",
            "comment lines are not supported",
        ],
    );
    // --csv-header yes takes such a row as a header, as before.
    let dir = TempDir::new().expect("tempdir");
    let data = dir.path().join("h.csv");
    fs::write(&data, "1,0.5,abc\n-1,2,3\n1,1,1\n").unwrap();
    let r = run(&[
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--csv-header",
        "yes",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn delimiter_that_can_be_part_of_a_number() {
    for d in [".", "-", "e", "5"] {
        assert_bad_input(
            "d.csv",
            "1,2\n-1,3\n",
            &["--delimiter", d],
            &["--delimiter", "part of a number"],
        );
    }
}

#[test]
fn output_paths_and_limits_name_the_problem() {
    let dir = TempDir::new().expect("tempdir");
    let afile = dir.path().join("afile");
    fs::write(&afile, "x").unwrap();
    let data = dir.path().join("d.txt");
    fs::write(&data, TWO_CLASSES).unwrap();
    let under = afile.join("r.json");
    let r = run(&[
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--report",
        under.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--report") && r.stderr.contains("afile is not a directory"),
        "{}",
        r.stderr
    );
    assert_eq!(entries(dir.path()), vec!["afile", "d.txt"]);
    assert_bad_input(
        "d.txt",
        TWO_CLASSES,
        &["--time-limit", "1e300"],
        &["--time-limit", "largest accepted value"],
    );
    assert_bad_input(
        "big.txt",
        "3000000000 1:1\n-3000000000 1:-1\n",
        &["--model-format", "libsvm"],
        &["label", "is an integer but outside LIBSVM's int range"],
    );
}

#[test]
fn csv_options_are_passed_to_the_reader() {
    // The label is the last column; with --label-column 2 the file is valid
    // and solves; as the default (column 0) it has four classes (a
    // multiclass run).
    let dir = TempDir::new().expect("tempdir");
    let data = dir.path().join("last.csv");
    fs::write(&data, "0.1;0.2;1\n0.9;0.8;-1\n0.2;0.1;1\n0.8;0.9;-1\n").unwrap();
    let path = data.to_str().unwrap();
    let base = [
        "solve",
        "--data",
        path,
        "--delimiter",
        ";",
        "--csv-header",
        "no",
        "--report",
        "-",
    ];
    let ok = run(&[&base[..], &["--label-column", "2"]].concat());
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let report: Value = serde_json::from_str(&ok.stdout).expect("JSON report");
    assert_eq!(report["input"]["format"], "csv");
    assert_eq!(report["input"]["n_features"], 2);
    // Column 0 as labels: four classes, trained one-vs-one.
    let multi = run(&base);
    assert_eq!(multi.code, 0, "{}", multi.stderr);
    let report: Value = serde_json::from_str(&multi.stdout).expect("JSON report");
    assert_eq!(report["multiclass"], "ovo");
    assert_eq!(report["input"]["classes"].as_array().unwrap().len(), 4);
    assert_eq!(report["input"]["n_features"], 2);
}

#[test]
fn nonexistent_file() {
    let dir = TempDir::new().expect("tempdir");
    let data = dir.path().join("missing.txt");
    let report = dir.path().join("report.json");
    let model = dir.path().join("model.json");
    let r = run(&[
        "solve",
        "--data",
        data.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("missing.txt") && r.stderr.contains("cannot read"),
        "{}",
        r.stderr
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

const TWO_CLASSES: &str = "+1 1:0.5\n-1 1:-0.5\n+1 1:1\n-1 1:-1\n";

#[test]
fn negative_cost() {
    assert_bad_input(
        "d.txt",
        TWO_CLASSES,
        &["-C", "-1"],
        &["-C/--cost", "positive", "-1"],
    );
}

#[test]
fn zero_gamma() {
    assert_bad_input(
        "d.txt",
        TWO_CLASSES,
        &["--gamma", "0"],
        &["--gamma", "positive"],
    );
}

#[test]
fn weight_for_an_unknown_label() {
    assert_bad_input(
        "d.txt",
        TWO_CLASSES,
        &["--weight", "1=2", "--weight", "3=0.5"],
        &["--weight", "label 3 does not occur in", "d.txt"],
    );
}

#[test]
fn malformed_weight() {
    assert_bad_input(
        "d.txt",
        TWO_CLASSES,
        &["--weight", "1:2"],
        &["--weight", "LABEL=W"],
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_bad_input("d.txt", TWO_CLASSES, &["--kernel", "cubic"], &["cubic"]);
    assert_bad_input(
        "d.txt",
        TWO_CLASSES,
        &["--no-such-flag"],
        &["--no-such-flag"],
    );
    let r = run(&["solve"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--data"), "{}", r.stderr);
}

#[test]
fn weights_change_the_solution_and_are_reported() {
    let (plain, d1) = solve_heart(&["--loss", "l1"]);
    let (weighted, d2) = solve_heart(&["--loss", "l1", "--weight", "-1=3"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert_eq!(weighted.code, 0, "{}", weighted.stderr);
    let r1 = read_json(&d1.path().join("report.json"));
    let r2 = read_json(&d2.path().join("report.json"));
    let weights = &r2["formulation"]["weights"];
    assert_eq!(weights[0]["label"], 1.0);
    assert_eq!(weights[0]["weight"], 1.0);
    assert_eq!(weights[1]["label"], -1.0);
    assert_eq!(weights[1]["weight"], 3.0);
    assert_ne!(
        r1["certificate"]["dual_objective"],
        r2["certificate"]["dual_objective"]
    );
}

#[test]
fn target_gap_applies_to_the_kernel_solvers() {
    let data = heart_scale();
    let data = data.to_str().unwrap();
    for solver in ["smo", "pg"] {
        let base = [
            "solve", "--data", data, "--solver", solver, "--tol", "0.5", "--quiet", "--report", "-",
        ];
        let loose = run(&base);
        assert_eq!(loose.code, 0, "{}", loose.stderr);
        let loose: Value = serde_json::from_str(&loose.stdout).expect("JSON report");
        let loose_gap = loose["certificate"]["relative_gap"].as_f64().unwrap();
        assert!(loose_gap > 1e-7, "{solver}: tol 0.5 gives gap {loose_gap}");
        let tight = run(&[&base[..], &["--target-gap", "1e-7"]].concat());
        assert_eq!(tight.code, 0, "{}", tight.stderr);
        let tight: Value = serde_json::from_str(&tight.stdout).expect("JSON report");
        let gap = tight["certificate"]["relative_gap"].as_f64().unwrap();
        assert!(gap <= 1e-7, "{solver}: gap {gap}");
        assert_eq!(tight["status"], "converged");
    }
    // Multiclass data: refused, naming the option.
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/iris.scale");
    let r = run(&[
        "solve",
        "--data",
        iris.to_str().unwrap(),
        "--target-gap",
        "1e-6",
        "--quiet",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--target-gap"), "{}", r.stderr);
    // Not a positive number: refused before reading the data.
    let r = run(&["solve", "--data", data, "--target-gap", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--target-gap"), "{}", r.stderr);
}

/// A sparse file (no disk blocks) twice the size of the available memory,
/// or `None` (with a note) where there is no memory figure or sparse files
/// are not supported.
fn file_larger_than_memory(dir: &Path, name: &str) -> Option<PathBuf> {
    let Some(available) = svm_dual::data::memory::system_available_bytes() else {
        eprintln!("note: no available-memory figure on this system; test skipped");
        return None;
    };
    let path = dir.join(name);
    let file = fs::File::create(&path).expect("a temp file");
    if let Err(e) = file.set_len(available.saturating_mul(2).saturating_add(1 << 30)) {
        eprintln!("note: cannot make a sparse file ({e}); test skipped");
        return None;
    }
    Some(path)
}

#[test]
fn files_larger_than_memory_exit_2_before_being_read() {
    let dir = TempDir::new().expect("a temp dir");
    let Some(big) = file_larger_than_memory(dir.path(), "big.svm") else {
        return;
    };
    let report = dir.path().join("report.json");
    let r = run(&[
        "solve",
        "--data",
        big.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("big.svm") && r.stderr.contains("too large for the available memory"),
        "{}",
        r.stderr
    );
    assert!(!report.exists());
    let model = big.with_file_name("big.model");
    fs::rename(&big, &model).expect("rename");
    let r = run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        heart_scale().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("big.model") && r.stderr.contains("too large"),
        "{}",
        r.stderr
    );
}

#[test]
fn batched_working_sets_reach_the_same_optimum_and_are_reported() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("datasets/a1a");
    let data = data.to_str().unwrap();
    // 15 MiB: too little for a1a's dense Q (8n² = 20.6 MB), so kernel
    // columns are formed on demand, whole, and auto takes batches.
    let solve = |working_set: &str| {
        let r = run(&[
            "solve",
            "--data",
            data,
            "--loss",
            "l1",
            "--tol",
            "1e-6",
            "--cache-mb",
            "15",
            "--working-set",
            working_set,
            "--quiet",
            "--report",
            "-",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let report: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(report["solver"]["working_set"], working_set);
        report["certificate"]["dual_objective"].as_f64().unwrap()
    };
    let pairs = solve("2");
    for working_set in ["auto", "128"] {
        let d = solve(working_set);
        assert!(
            (d - pairs).abs() <= 1e-6 * pairs.abs(),
            "{working_set}: {d} vs {pairs}"
        );
    }
    for bad in ["3", "0", "many"] {
        let r = run(&["solve", "--data", data, "--working-set", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("--working-set"), "{}", r.stderr);
    }
}

#[test]
fn a_kernel_with_a_negative_diagonal_is_refused_by_name() {
    // tanh(γ‖x‖² + coef0) < 0 for heart_scale's first row: not positive
    // semidefinite, and the error says so instead of "not finite".
    let (r, dir) = solve_heart(&[
        "--kernel", "sigmoid", "--gamma", "0.0625", "--coef0", "-1", "--loss", "l1",
    ]);
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("diagonal of Q is negative") && r.stderr.contains("not convex"),
        "stderr: {}",
        r.stderr
    );
    assert!(entries(dir.path()).is_empty(), "nothing written");
}

#[test]
fn predict_output_dash_is_standard_output() {
    let (r, dir) = solve_heart(&["--quiet"]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let model = dir.path().join("model.json");
    let data = heart_scale();
    let out = svm_dual()
        .current_dir(dir.path())
        .args([
            "predict",
            "--model",
            model.to_str().expect("utf-8 path"),
            "--data",
            data.to_str().expect("utf-8 path"),
            "--output",
            "-",
        ])
        .output()
        .expect("svm-dual runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        270,
        "one prediction a row of heart_scale"
    );
    assert!(stdout.lines().all(|l| l == "1" || l == "-1"), "{stdout}");
    assert!(!dir.path().join("-").exists(), "no file named -");
}

#[test]
fn solves_that_cannot_converge_end_with_a_status_not_a_limit() {
    // Each ran until a limit before: --time-limit only turns a regression
    // into a failure instead of a hang.
    let cases: [(&[&str], &str); 4] = [
        // A sigmoid kernel is not positive semidefinite; with the squared
        // slack nothing bounds α and the dual objective grows without end.
        (
            &["--kernel", "sigmoid", "--gamma", "1", "--coef0", "-1"],
            "unbounded",
        ),
        (
            &[
                "--kernel", "sigmoid", "--gamma", "1", "--coef0", "-1", "--solver", "pg",
            ],
            "unbounded",
        ),
        // Tolerances below what rounding allows.
        (&["--solver", "pg", "--tol", "1e-16"], "stalled"),
        (&["--kernel", "linear", "--tol", "1e-16"], "stalled"),
    ];
    for (extra, status) in cases {
        let mut args = extra.to_vec();
        args.extend_from_slice(&["--time-limit", "60"]);
        let (r, dir) = solve_heart(&args);
        assert_eq!(r.code, 3, "{extra:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!("{status}:")),
            "{extra:?}: {}",
            r.stderr
        );
        let report = read_json(&dir.path().join("report.json"));
        assert_eq!(report["status"], status, "{extra:?}");
    }
}

#[test]
fn a_kernel_that_overflows_is_an_error_not_a_converged_nan() {
    // (γ‖x‖² + 1)¹⁰⁰⁰ is finite on the diagonal but the gradient overflows:
    // projected gradient said "converged" with NaN objectives before. A
    // sigmoid kernel (not PSD) with C = 1e308 drives SMO's iterate to the
    // box's far corner, where Qα overflows: "converged", exit 0, before.
    let cases: [&[&str]; 2] = [
        &[
            "--kernel", "poly", "--degree", "1000", "--coef0", "1", "--solver", "pg",
        ],
        &[
            "--kernel", "sigmoid", "--gamma", "1", "--loss", "l1", "-C", "1e308",
        ],
    ];
    for extra in cases {
        let (r, dir) = solve_heart(extra);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains("not finite"), "{extra:?}: {}", r.stderr);
        assert!(entries(dir.path()).is_empty(), "{extra:?}: nothing written");
    }
}
