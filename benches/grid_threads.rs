//! Thread scaling of `svm-dual grid` (issue 7, item 3): a 5×5 grid on
//! `datasets/a1a` (L1 loss, RBF, log₂C = −5, −3, …, 3, log₂γ = −9, −7, …,
//! −1, 5 folds) run as the command line runs it, with `--threads 1` and
//! `--threads 2`, alternating, `REPS` times each (default 3; `-- reps N`).
//! Prints every wall time with the CPU time of the run (Linux) and the
//! cores it kept busy on average, the medians, the speed-up (target ≥ 1.7×
//! on 2 cores) and the load average. The wall-time figure means nothing on
//! a busy machine: with the kernel's autogroup scheduling a process gets
//! its session's share of the CPUs however many threads it runs, so under
//! contention 2 threads are not faster than 1 (the cores column shows it).
//! It also checks that both thread counts report the same
//! points. `-- cold` adds the same grid with `--no-warm-start`, to show what
//! the warm starts along C save (solver iterations and time).
//!
//! Run with `cargo bench --bench grid_threads`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// CPU seconds (user + system) of this process's waited-for children, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s); `None` elsewhere.
fn children_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; cutime and cstime are
    // fields 16 and 17 of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(13)?.parse::<f64>().ok()? + f.get(14)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs the grid once; returns the wall time, the child's CPU time and the
/// report.
fn grid(threads: usize, warm: bool, report: &Path) -> (f64, Option<f64>, serde_json::Value) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("datasets/a1a");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svm-dual"));
    cmd.args(["grid", "--data"])
        .arg(&data)
        .args([
            "--loss",
            "l1",
            "--log2c",
            "-5,3,2",
            "--log2g",
            "-9,-1,2",
            "--threads",
            &threads.to_string(),
            "-q",
            "--report",
        ])
        .arg(report);
    if !warm {
        cmd.arg("--no-warm-start");
    }
    let cpu_before = children_cpu();
    let start = Instant::now();
    let out = cmd.output().expect("svm-dual runs");
    let seconds = start.elapsed().as_secs_f64();
    let cpu = children_cpu().zip(cpu_before).map(|(a, b)| a - b);
    assert!(
        out.status.success(),
        "svm-dual grid failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(report).expect("report written");
    (
        seconds,
        cpu,
        serde_json::from_str(&text).expect("report is JSON"),
    )
}

/// `(accuracy, iterations)` of every point: what must not depend on the
/// thread count.
fn fingerprint(report: &serde_json::Value) -> Vec<(f64, u64)> {
    report["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            (
                p["accuracy"].as_f64().expect("accuracy"),
                p["iterations"].as_u64().expect("iterations"),
            )
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps = args
        .iter()
        .position(|a| a == "reps")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(3usize);
    let cold = args.iter().any(|a| a == "cold");
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("grid.json");

    println!("## svm-dual grid, a1a, 5x5 (log2c -5,3,2; log2g -9,-1,2), 5 folds");
    println!("load average before: {}", load_average());
    let (mut t1, mut t2) = (Vec::new(), Vec::new());
    let mut reference = None;
    for rep in 0..reps {
        for threads in [1, 2] {
            let (s, cpu, r) = grid(threads, true, &report);
            let f = fingerprint(&r);
            match &reference {
                None => reference = Some(f),
                Some(g) => assert_eq!(g, &f, "the grid depends on the thread count"),
            }
            let cpu = cpu.map_or_else(
                || "cpu ?".into(),
                |c| format!("cpu {c:7.2} s, {:.2} cores", c / s),
            );
            println!(
                "rep {rep}: --threads {threads}: {s:8.3} s wall, {cpu}   (load {})",
                load_average()
            );
            if threads == 1 { &mut t1 } else { &mut t2 }.push(s);
        }
    }
    let (m1, m2) = (median(t1), median(t2));
    println!(
        "median --threads 1: {m1:.3} s, --threads 2: {m2:.3} s, speed-up {:.2}x (target >= 1.7x)",
        m1 / m2
    );
    println!("load average after: {}", load_average());

    if cold {
        let (sw, cw, rw) = grid(2, true, &report);
        let (sc, cc, rc) = grid(2, false, &report);
        let iters = |r: &serde_json::Value| -> u64 { fingerprint(r).iter().map(|p| p.1).sum() };
        let cpu = |c: Option<f64>| c.map_or_else(|| "?".into(), |c| format!("{c:.2}"));
        println!(
            "warm starts along C (--threads 2): {sw:.3} s wall, {} s cpu, {} iterations; \
             cold: {sc:.3} s wall, {} s cpu, {} iterations",
            cpu(cw),
            iters(&rw),
            cpu(cc),
            iters(&rc)
        );
    }
}
