//! Wall time of the projected-gradient solver against SMO, and the
//! thread scaling of the products with `Q` (issue 3).
//!
//! Run with `cargo bench --bench pg_vs_smo` (add `-- quick` to skip a9a,
//! `-- products` for the product timings alone). Timings need an otherwise
//! idle machine: the 2-thread figures mean nothing under contention.
//! Datasets: heart_scale, a1a, svmguide1 (RBF kernel, default gamma) from
//! `datasets/`, a9a (linear kernel) from `../shared/datasets/a9a`; L1 loss,
//! `C = 1`, with bias. PG uses a dense `Q` when `8n²` bytes fit in 1 GiB,
//! otherwise the implicit products of `DualHessian` (a9a: `O(nnz)`).
//! Every solve runs inside a rayon pool of 1 or 2 threads, with a time
//! limit of 300 s (a solve stopped by it is marked `time_limit`).
//!
//! Printed tables:
//! 1. PG vs SMO: wall time (s), iterations and dual objective per dataset,
//!    tolerance and thread count (dense-Q build time listed separately);
//! 2. PG methods (GVPM, Dai–Fletcher, FISTA): products with `Q` to
//!    `tol = 1e-3` and `1e-6` on the RBF sets (not a9a, where FISTA alone
//!    would take many minutes) — the measurement behind the default;
//! 3. the 2-thread speed-up of one product `Qv`: dense `Q` with
//!    `n ≥ 5000` (the first 6000 rows of a9a, RBF), the linear kernel's
//!    `O(nnz)` product on all of a9a, and blockwise RBF rows on a1a.

use std::path::Path;
use std::time::{Duration, Instant};
use svm_dual::data::{libsvm, Dataset, Features};
use svm_dual::formulation::{DenseDualHessian, DualData, DualHessian, Formulation, Loss};
use svm_dual::kernel::{Kernel, KernelMatrix};
use svm_dual::solvers::{
    solve_pg, solve_smo, PgMethod, PgSettings, QMatrix, SmoSettings, Solution,
};
use svm_dual::train::default_gamma;

const BUDGET: usize = 1 << 30;
const TIME_LIMIT: Duration = Duration::from_secs(300);

fn load(path: &Path) -> Option<(Dataset, Vec<f64>)> {
    let data = libsvm::read_path(path).ok()?;
    let y = data.binary_labels().ok()?.y;
    Some((data, y))
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
}

fn line(s: &Solution) -> String {
    format!(
        "{:>9.3} {:>9} {:>16.10} {:>12}",
        s.elapsed.as_secs_f64(),
        s.iterations,
        -s.objective,
        s.status.as_str()
    )
}

/// Median of `reps` timings of `f`.
fn median_time(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::args().any(|a| a == "products") {
        println!("## One product Qv: median time (ms) with 1 and 2 threads");
        product_scaling(root, quick);
        return;
    }
    let mut sets: Vec<(&str, std::path::PathBuf, bool)> = vec![
        ("heart_scale", root.join("datasets/heart_scale"), false),
        ("a1a", root.join("datasets/a1a"), false),
        ("svmguide1", root.join("datasets/svmguide1"), false),
    ];
    if !quick {
        sets.push(("a9a", root.join("../shared/datasets/a9a"), true));
    }
    let f = Formulation {
        loss: Loss::L1,
        c: 1.0,
        ..Default::default()
    };

    println!("## PG vs SMO (L1 loss, C = 1; time in s, objective = dual Σα − ½αᵀQα)");
    println!(
        "{:<12} {:>6} {:>5} {:>4} | {:>9} {:>9} {:>16} {:>12}",
        "dataset", "kernel", "tol", "thr", "time", "iter", "dual obj", "status"
    );
    let mut method_rows = Vec::new();
    for (name, path, linear) in &sets {
        let Some((data, y)) = load(path) else {
            println!("{name}: not found at {}", path.display());
            continue;
        };
        let kernel = if *linear {
            Kernel::Linear
        } else {
            Kernel::Rbf {
                gamma: default_gamma(data.features.n_cols()),
            }
        };
        let dual = DualData::new(&f, &y);
        let km = KernelMatrix::new(&data.features, kernel);
        for threads in [1, 2] {
            pool(threads).install(|| {
                let q = DualHessian::new(km.clone(), &y, &f);
                let start = Instant::now();
                let dense = DenseDualHessian::new(&km, &y, &f, BUDGET).ok();
                let build = start.elapsed().as_secs_f64();
                let q_pg: &dyn QMatrix = match &dense {
                    Some(d) => d,
                    None => &q,
                };
                for tol in [1e-3, 1e-6] {
                    let smo = solve_smo(
                        &q,
                        &dual.problem(None),
                        &SmoSettings {
                            tol,
                            time_limit: Some(TIME_LIMIT),
                            ..Default::default()
                        },
                        None,
                    )
                    .unwrap();
                    let pg = solve_pg(
                        q_pg,
                        &dual.problem(None),
                        &PgSettings {
                            tol,
                            time_limit: Some(TIME_LIMIT),
                            ..Default::default()
                        },
                        None,
                    )
                    .unwrap();
                    let tag = format!("{name:<12} {:>6} {tol:>5.0e} {threads:>4}", kernel.name());
                    println!("{tag} | SMO {}", line(&smo));
                    let q_kind = if dense.is_some() {
                        format!("dense Q built in {build:.3} s")
                    } else {
                        "implicit Q".to_string()
                    };
                    println!("{tag} | PG  {}  ({q_kind})", line(&pg));
                    if threads == 1 && !*linear {
                        let mut counts = Vec::new();
                        for method in [PgMethod::Gvpm, PgMethod::DaiFletcher, PgMethod::Fista] {
                            let s = solve_pg(
                                q_pg,
                                &dual.problem(None),
                                &PgSettings {
                                    tol,
                                    method,
                                    time_limit: Some(Duration::from_secs(60)),
                                    ..Default::default()
                                },
                                None,
                            )
                            .unwrap();
                            counts.push(format!(
                                "{:>8} {:>8.3}s {:<10}",
                                s.iterations,
                                s.elapsed.as_secs_f64(),
                                s.status.as_str()
                            ));
                        }
                        method_rows
                            .push(format!("{name:<12} {tol:>5.0e} | {}", counts.join(" | ")));
                    }
                }
            });
        }
    }

    println!();
    println!("## PG methods, 1 thread: iterations (one product each), time, status");
    println!(
        "{:<12} {:>5} | {:^30} | {:^30} | {:^30}",
        "dataset", "tol", "GVPM", "Dai-Fletcher", "FISTA"
    );
    for r in method_rows {
        println!("{r}");
    }

    println!();
    println!("## One product Qv: median time (ms) with 1 and 2 threads");
    product_scaling(root, quick);
}

fn product_scaling(root: &Path, quick: bool) {
    let a9a = if quick {
        None
    } else {
        load(&root.join("../shared/datasets/a9a"))
    };
    let f = Formulation::default();
    let report = |what: &str, q: &dyn QMatrix, reps: usize| {
        let n = q.dim();
        let v: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let mut out = vec![0.0; n];
        let t1 = pool(1).install(|| median_time(reps, || q.matvec(&v, &mut out)));
        let t2 = pool(2).install(|| median_time(reps, || q.matvec(&v, &mut out)));
        println!(
            "{what:<44} n = {n:>6}: {:>9.3} ms  {:>9.3} ms  speed-up {:.2}x",
            1e3 * t1,
            1e3 * t2,
            t1 / t2
        );
    };
    if let Some((data, y)) = &a9a {
        // Dense Q with n = 6000 from the first rows of a9a.
        let m = 6000;
        let rows: Vec<Vec<(u32, f64)>> = (0..m)
            .map(|i| match data.features.row(i) {
                svm_dual::data::Row::Sparse { indices, values } => indices
                    .iter()
                    .copied()
                    .zip(values.iter().copied())
                    .collect(),
                svm_dual::data::Row::Dense(v) => {
                    v.iter().enumerate().map(|(k, &x)| (k as u32, x)).collect()
                }
            })
            .collect();
        let sub = Features::from_sparse_rows(&rows, data.features.n_cols());
        let ys = &y[..m];
        let km = KernelMatrix::new(
            &sub,
            Kernel::Rbf {
                gamma: default_gamma(sub.n_cols()),
            },
        );
        let build = |threads: usize| {
            pool(threads).install(|| {
                let s = Instant::now();
                let d = DenseDualHessian::new(&km, ys, &f, BUDGET).unwrap();
                (d, s.elapsed().as_secs_f64())
            })
        };
        let (_, b1) = build(1);
        let (dense, b2) = build(2);
        println!(
            "{:<44} n = {m:>6}: {:>9.3} ms  {:>9.3} ms  speed-up {:.2}x",
            "dense Q build (faer, RBF, a9a[..6000])",
            1e3 * b1,
            1e3 * b2,
            b1 / b2
        );
        report("dense Q, RBF, a9a[..6000]", &dense, 21);
        drop(dense);
        let km = KernelMatrix::new(&data.features, Kernel::Linear);
        report(
            "linear kernel O(nnz), a9a",
            &DualHessian::new(km, y, &f),
            51,
        );
    }
    if let Some((data, y)) = load(&root.join("datasets/a1a")) {
        let km = KernelMatrix::new(
            &data.features,
            Kernel::Rbf {
                gamma: default_gamma(data.features.n_cols()),
            },
        );
        report("blockwise RBF rows, a1a", &DualHessian::new(km, &y, &f), 5);
    }
}
