//! Linear SVMs: our dual coordinate descent ([`svm_dual::linear`]) against
//! LIBLINEAR's `liblinear-train` (`-s 1`: L2 loss, `-s 3`: L1 loss), side
//! by side, and time per pass against the number of nonzeros.
//!
//! Run with `cargo bench --bench linear_vs_liblinear` (`SVM_BENCH_ONLY=
//! a9a,news20,scaling` picks parts; the load average is printed around
//! each). Needs
//! `../shared/datasets/a9a` and `../shared/datasets/news20` (skipped with a
//! message when missing) and `liblinear-train` on PATH (Debian:
//! `liblinear-tools`; without it only our times are printed).
//!
//! What is timed (the fastest of 3 alternating runs each, as the machine
//! may be shared): LIBLINEAR's whole process (reading the file, training,
//! writing the model) against our reading of the same file plus training
//! (model building included, certificate excluded and shown separately).
//! The matching: `C_ours = 2·C_liblinear` for the L2 loss, `C_ours =
//! C_liblinear` for the L1 loss; `-B -1` is our `LinearBias::None`, `-B 1`
//! `LinearBias::RegularizedFeature { value: 1 }`; the same `-e` (LIBLINEAR's
//! stopping rule). Objectives: LIBLINEAR prints the minimisation form, ours
//! is its negative (see `scripts/liblinear_fixtures.py`); for news20 (20
//! classes, one-vs-rest) the sum over the classes is compared.
//!
//! LIBLINEAR stops every problem after 1000 passes whether or not its
//! tolerance is met (it prints "reaching max number of iterations"; on
//! news20 some classes do so even at the default `-e 0.1`). Each
//! configuration is therefore run twice on our side: `≤1000` with the same
//! pass limit (the like-for-like time), and `∞` without a limit (what the
//! tolerance gives when it is actually met; when no problem reached the
//! limit the capped run is reported for both). The `capped` column counts the
//! problems stopped by the limit, LIBLINEAR's / ours.
//!
//! The synthetic part generates seeded sparse data (uniform columns,
//! uniform values, labels from a random hyperplane with 10 % flipped;
//! 50 nonzeros a row over 100 000 columns, so only the row count grows) with
//! 1e5 … `SVM_BENCH_MAX_NNZ` (default 1e8) nonzeros and prints the time of
//! a pass over all variables (shrinking off) per nonzero: the difference
//! between 6 passes and 1 pass, over 5, the fastest of 3 runs each.

use solvers::memory::with_capacity_huge;
use solvers::rng::SplitMix64;
use solvers::{solve_cd, CdBias, CdProblem, CdSettings, CsrRef};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use svm_dual::data::libsvm;
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::linear::{self, LinearBias, LinearOptions};

/// One LIBLINEAR run: wall time, CPU time (user + system, from
/// `/usr/bin/time` when present), the printed objectives (one per class)
/// and how many problems stopped at LIBLINEAR's fixed limit of 1000 passes.
struct LiblinearRun {
    wall: Duration,
    cpu: Option<f64>,
    objectives: Vec<f64>,
    capped: usize,
}

/// Runs of each program per configuration; the fastest is reported.
const REPEATS: usize = 3;

fn liblinear_available() -> bool {
    Command::new("liblinear-train").output().is_ok()
}

const TIME: &str = "/usr/bin/time";

fn run_liblinear(solver: u32, c: f64, eps: f64, bias: f64, data: &Path) -> Option<LiblinearRun> {
    let model = std::env::temp_dir().join(format!("svm_dual_bench_{}.model", std::process::id()));
    let timed = Path::new(TIME).exists();
    let mut command = if timed {
        let mut c = Command::new(TIME);
        c.args(["-f", "cpu %U %S", "liblinear-train"]);
        c
    } else {
        Command::new("liblinear-train")
    };
    let start = Instant::now();
    let out = command
        .args(["-s", &solver.to_string(), "-c", &c.to_string()])
        .args(["-e", &eps.to_string(), "-B", &bias.to_string()])
        .arg(data)
        .arg(&model)
        .output()
        .ok()?;
    let wall = start.elapsed();
    let _ = std::fs::remove_file(&model);
    let text = String::from_utf8_lossy(&out.stdout);
    let objectives = text
        .lines()
        .filter_map(|l| l.strip_prefix("Objective value = "))
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .collect();
    let capped = text
        .lines()
        .filter(|l| l.contains("reaching max number of iterations"))
        .count();
    let cpu = String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("cpu "))
        .map(|t| {
            t.split_whitespace()
                .filter_map(|v| v.parse::<f64>().ok())
                .sum()
        })
        .next();
    Some(LiblinearRun {
        wall,
        cpu,
        objectives,
        capped,
    })
}

/// User + system CPU time of this process so far (all threads), from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 1/100 s, the
/// value on Linux x86-64); `None` elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): utime is field 14, stime 15.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Time this thread has spent running on a CPU, in seconds, from
/// `/proc/thread-self/schedstat` (nanoseconds); `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
}

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/datasets")
        .join(name)
}

/// Our run: wall time and CPU time (read + train), dual objectives per
/// class, the largest certified relative gap, and how many problems
/// stopped at the pass limit.
#[derive(Clone)]
struct OursRun {
    wall: Duration,
    cpu: Option<f64>,
    objectives: Vec<f64>,
    gap: f64,
    capped: usize,
}

fn is_capped(status: solvers::Status) -> bool {
    status == solvers::Status::MaxIterations
}

fn run_ours(path: &Path, options: &LinearOptions, multiclass: bool) -> OursRun {
    let cpu0 = process_cpu_seconds();
    let start = Instant::now();
    let data = libsvm::read_path(path).expect("reading the data");
    let cpu_since = |c0: Option<f64>| Some(process_cpu_seconds()? - c0?);
    if multiclass {
        let ovr = linear::train_one_vs_rest(&data, options).expect("training");
        let wall = start.elapsed();
        let cpu = cpu_since(cpu0);
        let gap = ovr
            .classes
            .iter()
            .map(|c| {
                linear::certify_class(&data.features, &data.labels, &options.formulation, c)
                    .relative_gap
            })
            .fold(0.0, f64::max);
        let objectives = ovr
            .classes
            .iter()
            .map(|c| c.summary.dual_objective)
            .collect();
        let capped = ovr
            .classes
            .iter()
            .filter(|c| is_capped(c.summary.status))
            .count();
        OursRun {
            wall,
            cpu,
            objectives,
            gap,
            capped,
        }
    } else {
        let t = linear::train_linear(&data, options, None).expect("training");
        let wall = start.elapsed();
        let cpu = cpu_since(cpu0);
        let gap = linear::certify(&data.features, &t).relative_gap;
        OursRun {
            wall,
            cpu,
            objectives: vec![t.summary.dual_objective],
            gap,
            capped: usize::from(is_capped(t.summary.status)),
        }
    }
}

fn compare(name: &str, multiclass: bool, have_liblinear: bool) {
    let path = shared(name);
    if !path.exists() {
        println!("{name}: {} not found, skipped", path.display());
        return;
    }
    println!("\n{name}{}", if multiclass { " (one-vs-rest)" } else { "" });
    println!(
        "(ours ≤1000: our passes limited to 1000 as LIBLINEAR's are; ours ∞: no limit. \
         capped: problems stopped by the pass limit, liblinear/ours)"
    );
    println!(
        "{:<4} {:>3} {:>7} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} {:>6} {:>16} {:>16} {:>9} {:>9} {:>7}",
        "loss",
        "B",
        "eps",
        "ours",
        "ll wall",
        "our wall",
        "ratio",
        "ll cpu",
        "our cpu",
        "ratio",
        "liblinear obj",
        "ours obj",
        "rel diff",
        "our gap",
        "capped"
    );
    let biases: &[f64] = if multiclass { &[-1.0] } else { &[-1.0, 1.0] };
    for (loss, solver) in [(Loss::L2, 1), (Loss::L1, 3)] {
        for &b in biases {
            for eps in [0.1, 1e-3] {
                let c_liblinear = 1.0;
                let formulation = Formulation {
                    loss,
                    c: if loss == Loss::L2 { 2.0 } else { 1.0 },
                    bias: false,
                    ..Default::default()
                };
                debug_assert_eq!(linear::liblinear_cost(&formulation), c_liblinear);
                let options = |max_passes| LinearOptions {
                    formulation,
                    bias: if b >= 0.0 {
                        LinearBias::RegularizedFeature { value: b }
                    } else {
                        LinearBias::None
                    },
                    cd: CdSettings {
                        tol: eps,
                        max_passes,
                        ..Default::default()
                    },
                };
                // `None` would be the solver's default limit (100 000
                // passes), which news20 at eps 0.001 reaches; ∞ is none.
                let variants = [
                    ("≤1000", options(Some(1000))),
                    ("∞", options(Some(u64::MAX))),
                ];
                // Alternate the programs, REPEATS times each, keep the
                // fastest run of each (the least disturbed by other load on
                // the machine); the CPU time is that of the fastest run.
                let mut ll: Option<LiblinearRun> = None;
                let mut ours: [Option<OursRun>; 2] = [None, None];
                for _ in 0..REPEATS {
                    if have_liblinear {
                        if let Some(run) = run_liblinear(solver, c_liblinear, eps, b, &path) {
                            if ll.as_ref().is_none_or(|best| run.wall < best.wall) {
                                ll = Some(run);
                            }
                        }
                    }
                    // A capped run that no problem ran into is the
                    // uncapped run too (same passes, same answer).
                    let capped = run_ours(&path, &variants[0].1, multiclass);
                    let uncapped = if capped.capped == 0 {
                        capped.clone()
                    } else {
                        run_ours(&path, &variants[1].1, multiclass)
                    };
                    for (best, run) in ours.iter_mut().zip([capped, uncapped]) {
                        if best.as_ref().is_none_or(|b| run.wall < b.wall) {
                            *best = Some(run);
                        }
                    }
                }
                let secs = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
                for (ours, (tag, _)) in ours.iter().zip(&variants) {
                    let ours = ours.as_ref().expect("REPEATS ≥ 1");
                    let ours_sum: f64 = ours.objectives.iter().sum();
                    let ll_wall = ll.as_ref().map(|l| l.wall.as_secs_f64());
                    let ll_sum = ll.as_ref().map(|l| -l.objectives.iter().sum::<f64>());
                    let cpu_ratio = match (ours.cpu, ll.as_ref().and_then(|l| l.cpu)) {
                        (Some(o), Some(l)) if l > 0.0 => format!("{:.2}", o / l),
                        _ => "-".into(),
                    };
                    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                    println!(
                        "{:<4} {:>3} {:>7} {:>8} {:>8} {:>8.3} {:>6} {:>8} {:>8} {:>6} {:>16} {:>16.6} {:>9} {:>9.1e} {:>7}",
                        loss.name(),
                        b,
                        eps,
                        tag,
                        or_dash(ll_wall.map(|w| format!("{w:.3}"))),
                        ours.wall.as_secs_f64(),
                        or_dash(ll_wall.map(|w| format!("{:.2}", ours.wall.as_secs_f64() / w))),
                        secs(ll.as_ref().and_then(|l| l.cpu)),
                        secs(ours.cpu),
                        cpu_ratio,
                        or_dash(ll_sum.map(|v| format!("{v:.6}"))),
                        ours_sum,
                        or_dash(ll_sum.map(|l| format!("{:.1e}", (ours_sum - l) / l.abs()))),
                        ours.gap,
                        format!(
                            "{}/{}",
                            or_dash(ll.as_ref().map(|l| l.capped.to_string())),
                            ours.capped
                        )
                    );
                }
            }
        }
    }
}

/// Seeded sparse data: `n` rows of `k` distinct columns out of `d`.
fn synthetic(
    n: usize,
    k: usize,
    d: usize,
    seed: u64,
) -> (Vec<usize>, Vec<u32>, Vec<f64>, Vec<f64>) {
    let mut rng = SplitMix64::new(seed);
    let truth: Vec<f64> = (0..d).map(|_| rng.uniform() * 2.0 - 1.0).collect();
    // As the LIBSVM reader allocates them (huge pages for large arrays).
    let mut indptr = with_capacity_huge(n + 1);
    let mut indices = with_capacity_huge(n * k);
    let mut values = with_capacity_huge(n * k);
    let mut y = Vec::with_capacity(n);
    indptr.push(0);
    let mut cols = Vec::with_capacity(k);
    for _ in 0..n {
        cols.clear();
        while cols.len() < k {
            let c = (rng.next_u64() % d as u64) as u32;
            if !cols.contains(&c) {
                cols.push(c);
            }
        }
        cols.sort_unstable();
        let mut margin = 0.0;
        for &c in &cols {
            let v = rng.uniform();
            margin += v * truth[c as usize];
            indices.push(c);
            values.push(v);
        }
        indptr.push(indices.len());
        let flip = rng.uniform() < 0.1;
        y.push(if (margin > 0.0) != flip { 1.0 } else { -1.0 });
    }
    (indptr, indices, values, y)
}

fn scaling() {
    let max_nnz: f64 = std::env::var("SVM_BENCH_MAX_NNZ")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1e8);
    println!(
        "\nsynthetic (seeded), L1 loss, C = 1, no bias, shrinking off; a pass = (time of 6 \
         passes − time of 1 pass) / 5, so the O(nnz) setup (validation, norms) is left out"
    );
    println!(
        "{:>12} {:>10} {:>10} {:>12} {:>16} {:>12} {:>16} {:>10}",
        "nnz", "rows", "cols", "wall s/pass", "wall ns/nnz", "cpu s/pass", "cpu ns/nnz", "setup s"
    );
    let k = 50;
    let mut nnz = 1e5;
    while nnz <= max_nnz * 1.0001 {
        let n = (nnz / k as f64) as usize;
        // A fixed width, so that only the number of rows grows.
        let d = 100_000;
        let (indptr, indices, values, y) = synthetic(n, k, d, 42);
        let x = CsrRef::new(&indptr, &indices, &values, d).expect("valid CSR");
        let upper = vec![1.0; n];
        let shift = vec![0.0; n];
        let problem = CdProblem {
            signs: &y,
            upper: &upper,
            shift: &shift,
            bias: CdBias::None,
        };
        // (wall, on-CPU time of this thread) of a run of `passes` passes.
        let timed = |passes: u64| {
            let settings = CdSettings {
                tol: 1e-12,
                max_passes: Some(passes),
                shrinking: false,
                ..Default::default()
            };
            let cpu0 = thread_cpu_seconds();
            let s = solve_cd(&x, &problem, &settings, None).expect("valid problem");
            let cpu = thread_cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
            assert_eq!(s.passes, passes);
            (s.elapsed.as_secs_f64(), cpu.unwrap_or(f64::NAN))
        };
        // The fastest of 3 (a shared machine), wall and CPU separately.
        let best = |passes: u64| {
            (0..3)
                .map(|_| timed(passes))
                .fold((f64::INFINITY, f64::INFINITY), |(w, c), (a, b)| {
                    (w.min(a), c.min(b))
                })
        };
        let (one, six) = (best(1), best(6));
        let per_pass = (six.0 - one.0) / 5.0;
        let cpu_per_pass = (six.1 - one.1) / 5.0;
        println!(
            "{:>12} {:>10} {:>10} {:>12.5} {:>16.2} {:>12.5} {:>16.2} {:>10.4}",
            values.len(),
            n,
            d,
            per_pass,
            per_pass * 1e9 / values.len() as f64,
            cpu_per_pass,
            cpu_per_pass * 1e9 / values.len() as f64,
            one.0 - per_pass
        );
        nnz *= 10.0;
    }
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), printed next to
/// the timings: the machine may be shared.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    // SVM_BENCH_ONLY=a9a,news20,scaling (any subset; default all).
    let only = std::env::var("SVM_BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    let have = liblinear_available();
    if !have {
        println!("liblinear-train not found on PATH: printing our times only");
    }
    println!(
        "rayon threads: {} (one-vs-rest trains classes in parallel)",
        rayon::current_num_threads()
    );
    for (name, multiclass) in [("a9a", false), ("news20", true)] {
        if wanted(name) {
            println!("\nload average before {name}: {}", load());
            compare(name, multiclass, have);
            println!("load average after {name}: {}", load());
        }
    }
    if wanted("scaling") {
        println!("\nload average before scaling: {}", load());
        scaling();
        println!("load average after scaling: {}", load());
    }
}
