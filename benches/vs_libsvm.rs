//! Kernel SVMs: the `svm-dual` binary against LIBSVM's `svm-train`, side by
//! side on the same data and parameters (issue 4).
//!
//! Run with `cargo bench --bench vs_libsvm` (arguments after `--`:
//! `quick` skips a9a and the synthetic sparse set, `reps=N` sets the
//! repetitions, default 3 — a9a runs `min(N, 2)` times —, `only=NAME` runs
//! one dataset (e.g. `only=a9a`), `dense_n=N` and `sparse_n=N` the rows of
//! the synthetic sets (default 4000 and 20 000),
//! `json=PATH` where the JSON goes, default
//! `$TMPDIR/svm_dual_vs_libsvm.json`). `svm-train` (Debian:
//! `libsvm-tools`) and `/usr/bin/time` are optional: without them the peer
//! columns (or peak RSS) are empty and a line says why.
//!
//! Both programs run as processes, alternately, `reps` times: RBF kernel
//! at the default `γ = 1/d` (Debian's `svm-train` parses `-g` as a 32-bit
//! float, so an explicit γ would not be the same γ), `C = 1`, tolerance
//! `1e-3` (`-e 0.001`), shrinking on, LIBSVM's default 100 MB cache and our
//! default `--cache-mb`. Our wall time includes reading the file, solving,
//! the verifier's certificate and writing the report; LIBSVM's includes
//! reading, solving and writing its model. Reported per row: minimum and
//! median wall time, median CPU time (user + system, `/usr/bin/time -f
//! "%U %S"`: on a shared machine the steadier measure of work, though it
//! does not show parallel speed-up), peak RSS (`%M`), the dual objective
//! (LIBSVM prints `obj`, the minimisation form: ours is `−obj`), the
//! relative difference of the objectives, nSV, the ratios of our median
//! wall and CPU times to LIBSVM's, and the verifier's relative duality gap. Our L1 runs use 2
//! threads and 1 thread (their objectives must agree to the bit: the
//! solver is deterministic for any pool size), with the default working
//! sets (`--working-set auto`: batches where the block product applies),
//! and once more with 2 threads and one pair per iteration
//! (`--working-set 2`, row `l1 pairs`), so the two SMO variants are
//! compared side by side too. The L2 loss has no LIBSVM
//! counterpart but a precomputed kernel: for sets of at most 2000 rows its
//! objective is compared with `svm-train -t 4 -c 1e9` on `K + I` (the L2
//! dual's Hessian for `C = 1`; the huge bound stands in for `+∞`); its time
//! ratio is not shown (the peer then reads an `n²` file).
//!
//! Datasets: heart_scale, svmguide1, a1a (`datasets/`), a9a
//! (`../shared/datasets/`, skipped when missing), a seeded synthetic
//! dense set (two Gaussian classes in 10 dimensions, 4000 rows, 5 % of the
//! labels flipped) and a seeded synthetic sparse set (20 000 rows of 15
//! binary features out of 200 with skewed popularity, labels from a hidden
//! linear rule with noise, 5 % flipped). The machine's load average is printed with each
//! dataset: timings on a shared machine are only comparable side by side.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One process run.
#[derive(Debug, Clone)]
struct Run {
    wall: f64,
    /// User + system CPU time of the process (`/usr/bin/time -f %U %S`).
    cpu: Option<f64>,
    rss_kb: Option<u64>,
    objective: Option<f64>,
    n_sv: Option<u64>,
    relative_gap: Option<f64>,
}

/// What [`timed`] measured: wall time, CPU time, peak RSS (KB), stdout.
type Timed = (f64, Option<f64>, Option<u64>, String);

/// Runs `program args`, timed by `/usr/bin/time` when present.
fn timed(program: &str, args: &[String], have_time: bool) -> Option<Timed> {
    let rss_file = std::env::temp_dir().join(format!("svm_dual_bench_rss_{}", std::process::id()));
    let start = Instant::now();
    let out = if have_time {
        Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M %U %S")
            .arg("-o")
            .arg(&rss_file)
            .arg(program)
            .args(args)
            .output()
            .ok()?
    } else {
        Command::new(program).args(args).output().ok()?
    };
    let wall = start.elapsed().as_secs_f64();
    if !out.status.success() {
        eprintln!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    let line = have_time
        .then(|| std::fs::read_to_string(&rss_file).ok())
        .flatten()
        .and_then(|s| s.lines().last().map(str::to_owned))
        .unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let rss = fields.first().and_then(|v| v.parse().ok());
    let cpu = match (fields.get(1), fields.get(2)) {
        (Some(u), Some(s)) => u
            .parse::<f64>()
            .ok()
            .zip(s.parse::<f64>().ok())
            .map(|(u, s)| u + s),
        _ => None,
    };
    let _ = std::fs::remove_file(&rss_file);
    Some((
        wall,
        cpu,
        rss,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// One `svm-dual solve` run; `working_set` as `--working-set` (`auto`,
/// or `2` for one pair per iteration).
fn ours(
    data: &Path,
    loss: &str,
    threads: usize,
    working_set: &str,
    have_time: bool,
) -> Option<Run> {
    let report = std::env::temp_dir().join(format!("svm_dual_bench_{}.json", std::process::id()));
    let args: Vec<String> = vec![
        "solve".into(),
        "--working-set".into(),
        working_set.into(),
        "--data".into(),
        data.display().to_string(),
        "--loss".into(),
        loss.into(),
        "-C".into(),
        "1".into(),
        "--threads".into(),
        threads.to_string(),
        "--quiet".into(),
        "--report".into(),
        report.display().to_string(),
    ];
    let (wall, cpu, rss_kb, _) = timed(env!("CARGO_BIN_EXE_svm-dual"), &args, have_time)?;
    let text = std::fs::read_to_string(&report).ok()?;
    let _ = std::fs::remove_file(&report);
    let r: Value = serde_json::from_str(&text).ok()?;
    Some(Run {
        wall,
        cpu,
        rss_kb,
        objective: r["certificate"]["dual_objective"].as_f64(),
        n_sv: r["n_sv"].as_u64(),
        relative_gap: r["certificate"]["relative_gap"].as_f64(),
    })
}

fn libsvm(data: &Path, have_time: bool) -> Option<Run> {
    let model = std::env::temp_dir().join(format!("svm_dual_bench_{}.model", std::process::id()));
    let args: Vec<String> = ["-c", "1", "-e", "0.001"]
        .iter()
        .map(|s| s.to_string())
        .chain([data.display().to_string(), model.display().to_string()])
        .collect();
    let (wall, cpu, rss_kb, stdout) = timed("svm-train", &args, have_time)?;
    let _ = std::fs::remove_file(&model);
    let field = |key: &str| {
        stdout.lines().rev().find_map(|l| {
            let at = l.find(key)?;
            let rest = &l[at + key.len()..];
            let end = rest.find([',', ' ']).unwrap_or(rest.len());
            rest[..end].trim().parse::<f64>().ok()
        })
    };
    Some(Run {
        wall,
        cpu,
        rss_kb,
        objective: field("obj = ").map(|o| -o),
        n_sv: field("nSV = ").map(|v| v as u64),
        relative_gap: None,
    })
}

/// Largest training set for which the L2 loss is checked against LIBSVM
/// through a precomputed kernel (the file has `n²` entries).
const L2_PEER_MAX_ROWS: usize = 2000;

/// LIBSVM's objective for our L2-loss dual (`C = 1`): `svm-train -t 4` on
/// the precomputed kernel `K + I` (LIBSVM's `Q = Y(K + I)Y = YKY + I`, the
/// L2 dual's Hessian), with an upper bound of `10⁹` standing in for `+∞`.
/// Returns our-form objective (`−obj`), or `None` for larger sets.
fn libsvm_l2(data: &Path) -> Option<f64> {
    use svm_dual::kernel::{Kernel, KernelMatrix};
    let set = svm_dual::data::libsvm::read_path(data).ok()?;
    let n = set.features.n_rows();
    if n > L2_PEER_MAX_ROWS {
        return None;
    }
    let y = set.binary_labels().ok()?.y;
    let gamma = svm_dual::train::default_gamma(set.features.n_cols());
    let k = KernelMatrix::new(&set.features, Kernel::Rbf { gamma }).dense();
    let file = std::env::temp_dir().join(format!("svm_dual_bench_pre_{}", std::process::id()));
    let mut text = String::new();
    for i in 0..n {
        text.push_str(if y[i] > 0.0 { "+1" } else { "-1" });
        text.push_str(&format!(" 0:{}", i + 1));
        for j in 0..n {
            let v = k[i * n + j] + if i == j { 1.0 } else { 0.0 };
            text.push_str(&format!(" {}:{v:e}", j + 1));
        }
        text.push('\n');
    }
    std::fs::write(&file, text).ok()?;
    let model = file.with_extension("model");
    let out = Command::new("svm-train")
        .args(["-t", "4", "-c", "1e9", "-e", "0.001"])
        .arg(&file)
        .arg(&model)
        .output()
        .ok();
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&model);
    let stdout = String::from_utf8_lossy(&out?.stdout).into_owned();
    stdout.lines().rev().find_map(|l| {
        let rest = &l[l.find("obj = ")? + 6..];
        let end = rest.find(',').unwrap_or(rest.len());
        rest[..end].trim().parse::<f64>().ok().map(|o| -o)
    })
}

/// Minimum and median of some values (the mean of the middle two for an
/// even count).
fn min_median_of(mut w: Vec<f64>) -> (f64, f64) {
    w.sort_by(f64::total_cmp);
    let m = w.len() / 2;
    let median = if w.len().is_multiple_of(2) {
        0.5 * (w[m - 1] + w[m])
    } else {
        w[m]
    };
    (w[0], median)
}

/// Minimum and median wall time of some runs.
fn min_median(runs: &[Run]) -> (f64, f64) {
    min_median_of(runs.iter().map(|r| r.wall).collect())
}

/// Median CPU time of some runs (`None` without `/usr/bin/time`).
fn cpu_median(runs: &[Run]) -> Option<f64> {
    let c: Vec<f64> = runs.iter().filter_map(|r| r.cpu).collect();
    (!c.is_empty()).then(|| min_median_of(c).1)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A seeded xorshift generator (the data must not depend on a crate's
/// version).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Writes the synthetic dense set (LIBSVM format) and returns its path.
fn synthetic(n: usize, d: usize, seed: u64) -> PathBuf {
    let path = std::env::temp_dir().join(format!("svm_dual_bench_dense_{n}x{d}_{seed}"));
    let mut rng = Rng(seed);
    let mut text = String::new();
    for _ in 0..n {
        let positive = rng.uniform() < 0.5;
        let shift = if positive { 0.6 } else { -0.6 };
        let flipped = rng.uniform() < 0.05;
        let label = if positive != flipped { "+1" } else { "-1" };
        text.push_str(label);
        for k in 0..d {
            let x = rng.normal() + if k < 3 { shift } else { 0.0 };
            text.push_str(&format!(" {}:{x:.6}", k + 1));
        }
        text.push('\n');
    }
    std::fs::write(&path, text).expect("writing the synthetic set");
    path
}

/// Writes the synthetic sparse set (LIBSVM format) and returns its path:
/// `n` rows of `k` binary features out of `d`, drawn with a skewed
/// popularity (index `⌊d·u²⌋`, so low indices are common and high ones
/// rare, as in one-hot data like a9a); labels from a hidden linear rule
/// with Gaussian weights plus noise, 5 % flipped.
fn synthetic_sparse(n: usize, d: usize, k: usize, seed: u64) -> PathBuf {
    let path = std::env::temp_dir().join(format!("svm_dual_bench_sparse_{n}x{d}x{k}_{seed}"));
    let mut rng = Rng(seed);
    let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
    let mut text = String::new();
    for _ in 0..n {
        let mut idx: Vec<usize> = (0..k)
            .map(|_| ((d as f64) * rng.uniform().powi(2)) as usize % d)
            .collect();
        idx.sort_unstable();
        idx.dedup();
        let score: f64 = idx.iter().map(|&l| w[l]).sum::<f64>() + 0.5 * rng.normal();
        let flipped = rng.uniform() < 0.05;
        let label = if (score > 0.0) != flipped { "+1" } else { "-1" };
        text.push_str(label);
        for l in idx {
            text.push_str(&format!(" {}:1", l + 1));
        }
        text.push('\n');
    }
    std::fs::write(&path, text).expect("writing the synthetic set");
    path
}

fn fmt_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn run_json(runs: &[Run]) -> Value {
    if runs.is_empty() {
        return Value::Null;
    }
    let (min, median) = min_median(runs);
    let last = &runs[runs.len() - 1];
    json!({
        "wall_min_s": min,
        "wall_median_s": median,
        "cpu_median_s": cpu_median(runs),
        "peak_rss_kb": runs.iter().filter_map(|r| r.rss_kb).max(),
        "objective": last.objective,
        "n_sv": last.n_sv,
        "relative_gap": last.relative_gap,
        "runs": runs.len(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "quick");
    let reps: usize = args
        .iter()
        .find_map(|a| a.strip_prefix("reps=")?.parse().ok())
        .unwrap_or(3)
        .max(1);
    let json_path = args
        .iter()
        .find_map(|a| a.strip_prefix("json=").map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("svm_dual_vs_libsvm.json"));
    let only: Option<String> = args
        .iter()
        .find_map(|a| a.strip_prefix("only=").map(str::to_owned));
    let have_libsvm = Command::new("svm-train").output().is_ok();
    let have_time = Path::new("/usr/bin/time").exists();
    if !have_libsvm {
        println!("svm-train not found on PATH: LIBSVM columns are empty");
    }
    if !have_time {
        println!("/usr/bin/time not found: peak RSS is not measured");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut sets: Vec<(String, PathBuf)> = ["heart_scale", "svmguide1", "a1a"]
        .iter()
        .map(|s| (s.to_string(), root.join("datasets").join(s)))
        .collect();
    let size = |name: &str, default: usize| {
        args.iter()
            .find_map(|a| a.strip_prefix(name)?.parse().ok())
            .unwrap_or(default)
    };
    let dense_n = size("dense_n=", 4000);
    sets.push(("synthetic-dense".into(), synthetic(dense_n, 10, 20_241_126)));
    if !quick {
        let sparse_n = size("sparse_n=", 20_000);
        sets.push((
            "synthetic-sparse".into(),
            synthetic_sparse(sparse_n, 200, 15, 20_261_127),
        ));
        sets.push(("a9a".into(), root.join("../shared/datasets/a9a")));
    }
    println!(
        "{:<16} {:<17} {:>8} {:>8} {:>8} {:>9} {:>17} {:>9} {:>6} {:>7} {:>7} {:>9}",
        "dataset",
        "program",
        "min s",
        "med s",
        "cpu s",
        "RSS MB",
        "dual objective",
        "rel diff",
        "nSV",
        "ratio",
        "cpu rat",
        "rel gap"
    );
    let mut records = Vec::new();
    for (name, path) in &sets {
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        if !path.exists() {
            println!("{name}: {} not found, skipped", path.display());
            continue;
        }
        let load_before = load_average();
        let reps = if name == "a9a" { reps.min(2) } else { reps };
        let (mut two, mut one, mut pairs, mut l2, mut peer) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            two.extend(ours(path, "l1", 2, "auto", have_time));
            if have_libsvm {
                peer.extend(libsvm(path, have_time));
            }
            one.extend(ours(path, "l1", 1, "auto", have_time));
            pairs.extend(ours(path, "l1", 2, "2", have_time));
            l2.extend(ours(path, "l2", 2, "auto", have_time));
        }
        let peer_obj = peer.last().and_then(|r| r.objective);
        let peer_l2 = if have_libsvm { libsvm_l2(path) } else { None };
        let peer_median = (!peer.is_empty()).then(|| min_median(&peer).1);
        let peer_cpu = cpu_median(&peer);
        let mut rows = Vec::new();
        for (label, runs, reference) in [
            ("svm-dual l1 2t", &two, peer_obj),
            ("svm-dual l1 1t", &one, peer_obj),
            ("svm-dual l1 pairs", &pairs, peer_obj),
            ("svm-dual l2 2t", &l2, peer_l2),
            ("svm-train l1", &peer, None),
        ] {
            if runs.is_empty() {
                continue;
            }
            let (min, median) = min_median(runs);
            let last = &runs[runs.len() - 1];
            let rel_diff = match (last.objective, reference) {
                (Some(a), Some(b)) => Some((a - b).abs() / b.abs()),
                _ => None,
            };
            let ratio = peer_median.filter(|_| label.starts_with("svm-dual l1"));
            let cpu = cpu_median(runs);
            let cpu_ratio = match (cpu, peer_cpu) {
                (Some(a), Some(b)) if b > 0.0 && label.starts_with("svm-dual l1") => Some(a / b),
                _ => None,
            };
            println!(
                "{:<16} {:<17} {:>8.3} {:>8.3} {:>8} {:>9} {:>17} {:>9} {:>6} {:>7} {:>7} {:>9}",
                name,
                label,
                min,
                median,
                fmt_opt(cpu.map(|c| format!("{c:.2}"))),
                fmt_opt(runs.iter().filter_map(|r| r.rss_kb).max().map(|k| k / 1024)),
                fmt_opt(last.objective.map(|o| format!("{o:.6}"))),
                fmt_opt(rel_diff.map(|d| format!("{d:.2e}"))),
                fmt_opt(last.n_sv),
                fmt_opt(ratio.map(|p| format!("{:.3}", median / p))),
                fmt_opt(cpu_ratio.map(|r| format!("{r:.3}"))),
                fmt_opt(last.relative_gap.map(|g| format!("{g:.2e}"))),
            );
            rows.push(json!({
                "program": label,
                "result": run_json(runs),
                "relative_objective_difference": rel_diff,
                "median_ratio_to_svm_train": ratio.map(|p| median / p),
                "cpu_ratio_to_svm_train": cpu_ratio,
            }));
        }
        let same_objective = match (one.last(), two.last()) {
            (Some(a), Some(b)) => Some(a.objective == b.objective),
            _ => None,
        };
        let speedup =
            (!one.is_empty() && !two.is_empty()).then(|| min_median(&one).1 / min_median(&two).1);
        let load_after = load_average();
        println!(
            "{:<16} 1→2 threads: speed-up {} (medians), objectives identical: {}; load {} → {}",
            "",
            fmt_opt(speedup.map(|s| format!("{s:.2}"))),
            fmt_opt(same_objective),
            load_before,
            load_after
        );
        records.push(json!({
            "dataset": name,
            "rows": rows,
            "thread_speedup": speedup,
            "objectives_identical_across_threads": same_objective,
            "load_average_before": load_before,
            "load_average_after": load_after,
        }));
    }
    let out = json!({ "reps": reps, "datasets": records });
    match std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    ) {
        Ok(()) => println!("JSON: {}", json_path.display()),
        Err(e) => eprintln!("could not write {}: {e}", json_path.display()),
    }
}
