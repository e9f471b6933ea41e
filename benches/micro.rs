//! Criterion micro-benchmarks of the pieces one SMO or PG iteration is
//! made of, so that a regression in one of them shows up on its own
//! (issue 4): a kernel column, the working-set selection, the gradient
//! update, the sub-problems, and one coordinate-descent pass.
//!
//! Run with `cargo bench --bench micro` (criterion's usual arguments
//! follow `--`, e.g. `cargo bench --bench micro -- kernel_column`). Data:
//! `datasets/a1a` (shipped) and seeded synthetic sets, so every run times
//! the same work. Timings are in the rayon pool of the machine (all
//! cores); set `RAYON_NUM_THREADS=1` for the one-thread figures.
//!
//! - `kernel_column`: one RBF column of `K` over all rows
//!   ([`KernelMatrix::column`]) — a1a (sparse, n = 1605), a synthetic
//!   sparse set shaped like a9a (n = 32 768, 14 of 123 binary features a
//!   row) and a synthetic dense set (n = 20 000, d = 20); and a block of
//!   128 columns ([`KernelMatrix::columns_scaled`], batched SMO's way).
//! - `wss3`: the first index ([`first_index`]) and the partner by the
//!   second-order rule ([`second_index`]) over n = 10⁴ and 10⁵ positions.
//! - `gradient_update`: `G ← G + Δαᵢ Q_{:i} + Δαⱼ Q_{:j}`
//!   ([`update_gradient`]), n = 10⁴ and 10⁵.
//! - `subproblem`: SMO's pair sub-problem has a closed form (a few flops,
//!   not worth timing); timed are PG's sub-problem, the exact projection
//!   onto `{yᵀα = 0, 0 ≤ α ≤ C}` (`projection::project`, n = 10⁴ and 10⁵),
//!   and a whole SMO solve limited to 200 iterations on a1a (columns from
//!   the cache, selection and updates together), once with one pair per
//!   iteration and once in batches of 256 (`solvers::batch`: block of
//!   columns, sub-problem, gradient pass).
//! - `cd_pass`: one pass of dual coordinate descent on a1a (L1 loss, no
//!   bias).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::Path;
use svm_dual::data::{libsvm, Dataset, Features};
use svm_dual::formulation::{DualData, DualHessian, Formulation, Loss};
use svm_dual::kernel::{Kernel, KernelMatrix};
use svm_dual::solvers::rng::SplitMix64;
use svm_dual::solvers::selection::{first_index, second_index, update_gradient};
use svm_dual::solvers::{
    projection, solve_cd, solve_smo, CdBias, CdProblem, CdSettings, CsrRef, SmoSettings, WorkingSet,
};
use svm_dual::train::default_gamma;

fn a1a() -> Dataset {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/a1a");
    libsvm::read_path(&path).expect("datasets/a1a")
}

/// `n` rows of `k` distinct binary features out of `d`, labels ±1, as
/// LIBSVM text parsed by the reader.
fn sparse_binary(n: usize, k: usize, d: usize, seed: u64) -> Dataset {
    let mut rng = SplitMix64::new(seed);
    let mut text = String::new();
    let mut cols = Vec::with_capacity(k);
    for _ in 0..n {
        cols.clear();
        while cols.len() < k {
            let c = 1 + (rng.next_u64() % d as u64) as usize;
            if !cols.contains(&c) {
                cols.push(c);
            }
        }
        cols.sort_unstable();
        text.push_str(if rng.uniform() < 0.5 { "+1" } else { "-1" });
        for c in &cols {
            text.push_str(&format!(" {c}:1"));
        }
        text.push('\n');
    }
    libsvm::parse_bytes(text.as_bytes(), None).expect("generated data parse")
}

fn kernel_column(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel_column");
    let mut rng = SplitMix64::new(3);
    let dense = Features::from_dense(
        (0..20_000 * 20).map(|_| rng.uniform()).collect(),
        20_000,
        20,
    );
    let sets: Vec<(&str, Features)> = vec![
        ("a1a", a1a().features),
        (
            "a9a-like sparse",
            sparse_binary(32_768, 14, 123, 5).features,
        ),
        ("dense 20000x20", dense),
    ];
    for (name, features) in &sets {
        let n = features.n_rows();
        let k = KernelMatrix::new(
            features,
            Kernel::Rbf {
                gamma: default_gamma(features.n_cols()),
            },
        );
        let rows: Vec<usize> = (0..n).collect();
        let mut out = vec![0.0; n];
        let mut j = 0;
        group.bench_function(BenchmarkId::new("rbf", name), |b| {
            b.iter(|| {
                j = (j + 7919) % n;
                k.column(j, &rows, &mut out);
                black_box(out[0])
            })
        });
        // All rows in a scrambled order, as SMO asks for them once
        // shrinking has permuted its positions.
        let mut shuffled = rows.clone();
        for t in (1..n).rev() {
            shuffled.swap(t, (rng.next_u64() % (t as u64 + 1)) as usize);
        }
        group.bench_function(BenchmarkId::new("rbf shuffled rows", name), |b| {
            b.iter(|| {
                j = (j + 7919) % n;
                k.column(j, &shuffled, &mut out);
                black_box(out[0])
            })
        });
        // A block of 128 columns as batched SMO forms them (one sparse ×
        // dense product for sparse rows), in a row-major block of stride
        // 256; compare with 128 times the single column above.
        let cols: Vec<usize> = (0..128).map(|t| (t * 7919) % n).collect();
        let shifts = vec![0.0; cols.len()];
        let mut block = vec![0.0; n * 256];
        group.bench_function(BenchmarkId::new("rbf block of 128", name), |b| {
            b.iter(|| {
                k.columns_scaled(&cols, &rows, &mut block, 256, None, &shifts);
                black_box(block[0])
            })
        });
        // The same block with the linear kernel: the difference is the RBF
        // map's share (the exponential) of forming a block.
        let lin = KernelMatrix::new(features, Kernel::Linear);
        group.bench_function(BenchmarkId::new("linear block of 128", name), |b| {
            b.iter(|| {
                lin.columns_scaled(&cols, &rows, &mut block, 256, None, &shifts);
                black_box(block[0])
            })
        });
    }
    group.finish();
}

/// Random selection state over `n` positions: labels, gradient, the two
/// index sets, diagonal and a column.
struct SelectionState {
    y: Vec<f64>,
    grad: Vec<f64>,
    up: Vec<bool>,
    low: Vec<bool>,
    qd: Vec<f64>,
    qi: Vec<f64>,
}

fn selection_state(n: usize, seed: u64) -> SelectionState {
    let mut rng = SplitMix64::new(seed);
    let y: Vec<f64> = (0..n)
        .map(|_| if rng.uniform() < 0.5 { 1.0 } else { -1.0 })
        .collect();
    SelectionState {
        grad: (0..n).map(|_| rng.uniform() * 2.0 - 1.0).collect(),
        up: (0..n).map(|_| rng.uniform() < 0.7).collect(),
        low: (0..n).map(|_| rng.uniform() < 0.7).collect(),
        qd: vec![1.0; n],
        qi: (0..n).map(|_| rng.uniform()).collect(),
        y,
    }
}

fn wss3(c: &mut Criterion) {
    let mut group = c.benchmark_group("wss3");
    for n in [10_000, 100_000] {
        let s = selection_state(n, 11);
        group.bench_function(BenchmarkId::new("first_and_second_index", n), |b| {
            b.iter(|| {
                let first = first_index(&s.y, &s.grad, &s.up).expect("I_up not empty");
                black_box(second_index(&s.y, &s.grad, &s.low, &s.qd, &s.qi, first))
            })
        });
    }
    group.finish();
}

fn gradient(c: &mut Criterion) {
    let mut group = c.benchmark_group("gradient_update");
    for n in [10_000, 100_000] {
        let s = selection_state(n, 13);
        let qj: Vec<f64> = s.qi.iter().rev().copied().collect();
        let mut g = s.grad.clone();
        group.bench_function(BenchmarkId::new("two_columns", n), |b| {
            b.iter(|| {
                update_gradient(&mut g, &s.qi, 1e-3, &qj, -1e-3);
                black_box(g[0])
            })
        });
    }
    group.finish();
}

fn subproblem(c: &mut Criterion) {
    let mut group = c.benchmark_group("subproblem");
    for n in [10_000, 100_000] {
        let s = selection_state(n, 17);
        let v: Vec<f64> = s.grad.iter().map(|g| g * 3.0).collect();
        let (lower, upper) = (vec![0.0; n], vec![1.0; n]);
        group.bench_function(BenchmarkId::new("projection", n), |b| {
            b.iter(|| {
                black_box(projection::project(&v, &s.y, 0.0, &lower, &upper).expect("feasible"))
            })
        });
    }
    let data = a1a();
    let y = data.binary_labels().expect("two classes").y;
    let formulation = Formulation {
        loss: Loss::L1,
        c: 1.0,
        ..Default::default()
    };
    let kernel = KernelMatrix::new(
        &data.features,
        Kernel::Rbf {
            gamma: default_gamma(data.features.n_cols()),
        },
    );
    let dual = DualData::new(&formulation, &y);
    let q = DualHessian::new(kernel, &y, &formulation);
    let problem = dual.problem(None);
    let settings = SmoSettings {
        max_iter: Some(200),
        working_set: WorkingSet::Pairs,
        ..SmoSettings::default()
    };
    group.bench_function("smo_200_iterations_a1a", |b| {
        b.iter(|| black_box(solve_smo(&q, &problem, &settings, None).expect("valid")))
    });
    // Batches of 256: the block of columns formed once per round, the
    // sub-problem's pair steps and the gradient pass.
    let batched = SmoSettings {
        working_set: WorkingSet::Batched(256),
        ..settings
    };
    group.bench_function("batched_smo_200_steps_a1a", |b| {
        b.iter(|| black_box(solve_smo(&q, &problem, &batched, None).expect("valid")))
    });
    group.finish();
}

fn cd_pass(c: &mut Criterion) {
    let data = a1a();
    let y = data.binary_labels().expect("two classes").y;
    let Features::Sparse(csr) = &data.features else {
        panic!("a1a is read as sparse");
    };
    let x = CsrRef::new(&csr.indptr, &csr.indices, &csr.values, csr.n_cols).expect("CSR");
    let n = y.len();
    let (upper, shift) = (vec![1.0; n], vec![0.0; n]);
    let problem = CdProblem {
        signs: &y,
        upper: &upper,
        shift: &shift,
        bias: CdBias::None,
    };
    let settings = CdSettings {
        max_passes: Some(1),
        shrinking: false,
        ..CdSettings::default()
    };
    c.bench_function("cd_pass/a1a", |b| {
        b.iter(|| black_box(solve_cd(&x, &problem, &settings, None).expect("valid")))
    });
}

// The macro defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, kernel_column, wss3, gradient, subproblem, cd_pass);
}
use group::benches;
criterion_main!(benches);
