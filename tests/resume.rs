//! Warm start and resume (issue 7, item 4): a solve stopped by a limit (or
//! by the cancellation flag behind Ctrl-C) writes a certified model of the
//! iterate reached, and `solve --init` on that model finishes the job: the
//! same objective as an uninterrupted run, in fewer iterations than it.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use svm_dual::data::{read_path, Format};
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::solvers::{Progress, SmoSettings, Status};
use svm_dual::train::{train_controlled, SolveControl, SolverKind, TrainOptions};
use tempfile::TempDir;

fn dataset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name)
}

struct Run {
    code: i32,
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
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn a_run_stopped_by_the_iteration_limit_resumes_to_the_same_objective() {
    let dir = TempDir::new().unwrap();
    let data = dataset("a1a");
    let common = [
        "solve",
        "--data",
        s(&data),
        "--loss",
        "l1",
        "--tol",
        "1e-6",
        "-q",
    ];
    let (m1, r1, r2, r3) = (
        dir.path().join("stopped.json"),
        dir.path().join("r1.json"),
        dir.path().join("r2.json"),
        dir.path().join("r3.json"),
    );

    let mut a = common.to_vec();
    a.extend(["--max-iter", "300", "--model", s(&m1), "--report", s(&r1)]);
    let stopped = run(&a);
    assert_eq!(stopped.code, 3, "{}", stopped.stderr);
    let r1 = report(&r1);
    assert_eq!(r1["status"], "max_iterations");
    assert_eq!(r1["iterations"], 300);
    // The stopped iterate is certified: a finite, positive gap.
    let gap = r1["certificate"]["relative_gap"].as_f64().unwrap();
    assert!(gap.is_finite() && gap > 1e-3, "gap {gap}");

    let mut a = common.to_vec();
    a.extend(["--init", s(&m1), "--report", s(&r2)]);
    let resumed = run(&a);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let r2 = report(&r2);
    assert_eq!(r2["status"], "converged");
    assert_eq!(r2["warm_start"]["path"], s(&m1));

    let mut a = common.to_vec();
    a.extend(["--report", s(&r3)]);
    let cold = run(&a);
    assert_eq!(cold.code, 0, "{}", cold.stderr);
    let r3 = report(&r3);
    assert!(r3["warm_start"].is_null());

    let (d2, d3) = (
        r2["certificate"]["dual_objective"].as_f64().unwrap(),
        r3["certificate"]["dual_objective"].as_f64().unwrap(),
    );
    assert!(
        (d2 - d3).abs() <= 1e-9 * d3.abs(),
        "resumed {d2} vs uninterrupted {d3}"
    );
    let (i2, i3) = (
        r2["iterations"].as_u64().unwrap(),
        r3["iterations"].as_u64().unwrap(),
    );
    assert!(i2 < i3, "resumed {i2} iterations, uninterrupted {i3}");
}

#[test]
fn a_model_of_other_data_is_refused_with_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("heart.json");
    let heart = dataset("heart_scale");
    let trained = run(&["solve", "--data", s(&heart), "--model", s(&model), "-q"]);
    assert_eq!(trained.code, 0, "{}", trained.stderr);

    let out = dir.path().join("r.json");
    let a1a = dataset("a1a");
    let bad = run(&[
        "solve",
        "--data",
        s(&a1a),
        "--init",
        s(&model),
        "--report",
        s(&out),
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--init"), "{}", bad.stderr);
    assert!(bad.stderr.contains("heart.json"), "{}", bad.stderr);
    assert!(!out.exists(), "nothing is written on bad input");

    let missing = run(&[
        "solve",
        "--data",
        s(&a1a),
        "--init",
        s(&dir.path().join("nope.json")),
    ]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("--init"), "{}", missing.stderr);
}

/// The Ctrl-C path without a signal: the flag the handler sets is raised
/// from the progress callback mid-solve; the solver stops with
/// `Interrupted`, the iterate is feasible and certifiable, and a warm start
/// from it reaches the uninterrupted objective in fewer iterations.
#[test]
fn the_cancellation_flag_stops_the_solver_and_the_iterate_resumes() {
    let data = read_path(&dataset("heart_scale"), &Format::Libsvm).unwrap();
    let options = TrainOptions {
        formulation: Formulation {
            loss: Loss::L1,
            ..Formulation::default()
        },
        kernel: Kernel::Rbf { gamma: 1.0 / 13.0 },
        smo: SmoSettings {
            tol: 1e-8,
            progress_interval: std::time::Duration::ZERO,
            ..SmoSettings::default()
        },
    };
    let flag = AtomicBool::new(false);
    let raise = |p: &Progress| {
        if p.iterations >= 64 {
            flag.store(true, Ordering::Relaxed);
        }
    };
    for solver in [SolverKind::Smo, SolverKind::Pg] {
        flag.store(false, Ordering::Relaxed);
        let stopped = train_controlled(
            &data,
            &options,
            solver,
            SolveControl {
                progress: Some(&raise),
                cancel: Some(&flag),
                ..SolveControl::default()
            },
        )
        .unwrap();
        assert_eq!(stopped.summary.status, Status::Interrupted, "{solver:?}");
        assert!(
            stopped.summary.iterations >= 64 && stopped.summary.iterations < 1000,
            "{solver:?}: {}",
            stopped.summary.iterations
        );
        let cert = svm_dual::certify(&data.features, &stopped);
        assert!(cert.kkt.bound_violation <= 1e-12, "{solver:?}");
        assert!(cert.kkt.equality_violation <= 1e-9, "{solver:?}");
        assert!(cert.relative_gap.is_finite() && cert.relative_gap > 0.0);

        let cold = train_controlled(&data, &options, solver, SolveControl::default()).unwrap();
        let resumed = train_controlled(
            &data,
            &options,
            solver,
            SolveControl {
                initial: Some(&stopped.alpha),
                ..SolveControl::default()
            },
        )
        .unwrap();
        assert_eq!(cold.summary.status, Status::Converged);
        assert_eq!(resumed.summary.status, Status::Converged);
        let (a, b) = (
            svm_dual::certify(&data.features, &resumed).dual_objective,
            svm_dual::certify(&data.features, &cold).dual_objective,
        );
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{solver:?}: {a} vs {b}");
        assert!(
            resumed.summary.iterations < cold.summary.iterations,
            "{solver:?}: {} vs {}",
            resumed.summary.iterations,
            cold.summary.iterations
        );
    }
}

#[test]
fn a_multiclass_run_resumes_every_sub_problem() {
    let dir = TempDir::new().unwrap();
    let data = dataset("iris.scale");
    let common = [
        "solve",
        "--data",
        s(&data),
        "--loss",
        "l1",
        "--tol",
        "1e-8",
        "-q",
    ];
    let (m1, r2, r3) = (
        dir.path().join("stopped.json"),
        dir.path().join("r2.json"),
        dir.path().join("r3.json"),
    );
    let mut a = common.to_vec();
    a.extend(["--max-iter", "15", "--model", s(&m1)]);
    assert_eq!(run(&a).code, 3);
    let mut a = common.to_vec();
    a.extend(["--init", s(&m1), "--report", s(&r2)]);
    let resumed = run(&a);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let mut a = common.to_vec();
    a.extend(["--report", s(&r3)]);
    assert_eq!(run(&a).code, 0);
    let (r2, r3) = (report(&r2), report(&r3));
    let subs = |r: &Value| -> Vec<(f64, u64)> {
        r["subproblems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["certificate"]["dual_objective"].as_f64().unwrap(),
                    p["iterations"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (warm, cold) = (subs(&r2), subs(&r3));
    assert_eq!(warm.len(), 3);
    for ((dw, _), (dc, _)) in warm.iter().zip(&cold) {
        assert!((dw - dc).abs() <= 1e-9 * dc.abs(), "{dw} vs {dc}");
    }
    let total = |v: &[(f64, u64)]| v.iter().map(|p| p.1).sum::<u64>();
    assert!(total(&warm) < total(&cold), "{warm:?} vs {cold:?}");

    // A binary model for multiclass data, or another strategy, is refused.
    let mut a = common.to_vec();
    a.extend(["--init", s(&m1), "--multiclass", "ovr"]);
    let bad = run(&a);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("ovr"), "{}", bad.stderr);
}
