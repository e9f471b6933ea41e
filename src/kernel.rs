//! Kernel functions and the kernel matrix `Kᵢⱼ = k(xᵢ, xⱼ)`.
//!
//! | kernel     | `k(a, b)`                          |
//! |------------|------------------------------------|
//! | linear     | `⟨a, b⟩`                           |
//! | rbf        | `exp(−γ‖a − b‖²)`                  |
//! | polynomial | `(γ⟨a, b⟩ + coef0)^degree`         |
//! | sigmoid    | `tanh(γ⟨a, b⟩ + coef0)`            |
//!
//! as in LIBSVM (Chang & Lin, ACM TIST 2011, §2); `γ` defaults to
//! `1 / number of features`. For the RBF kernel the squared norms are
//! precomputed, so `‖a − b‖² = ‖a‖² + ‖b‖² − 2⟨a, b⟩` costs one dot product.
//! The sigmoid kernel is not positive semidefinite for every `γ, coef0`; the
//! solvers still run, but the certificate then carries no guarantee.

use crate::data::{Features, Row};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A kernel function with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Kernel {
    /// `⟨a, b⟩`.
    Linear,
    /// `exp(−γ‖a − b‖²)`.
    Rbf {
        /// `γ > 0`.
        gamma: f64,
    },
    /// `(γ⟨a, b⟩ + coef0)^degree`.
    Poly {
        /// `γ > 0`.
        gamma: f64,
        /// The constant term.
        coef0: f64,
        /// The degree, at least 1.
        degree: u32,
    },
    /// `tanh(γ⟨a, b⟩ + coef0)`.
    Sigmoid {
        /// `γ > 0`.
        gamma: f64,
        /// The constant term.
        coef0: f64,
    },
}

impl Kernel {
    /// A stable lower-case name, as written in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Linear => "linear",
            Kernel::Rbf { .. } => "rbf",
            Kernel::Poly { .. } => "poly",
            Kernel::Sigmoid { .. } => "sigmoid",
        }
    }

    /// Checks the parameters: `γ` positive and finite, `coef0` finite,
    /// degree at least 1.
    pub fn validate(&self) -> Result<(), String> {
        let gamma_ok = |g: f64| {
            if g.is_finite() && g > 0.0 {
                Ok(())
            } else {
                Err(format!("gamma must be a positive finite number, got {g}"))
            }
        };
        match *self {
            Kernel::Linear => Ok(()),
            Kernel::Rbf { gamma } => gamma_ok(gamma),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => {
                gamma_ok(gamma)?;
                if !coef0.is_finite() {
                    return Err(format!("coef0 must be finite, got {coef0}"));
                }
                if degree == 0 {
                    return Err("degree must be at least 1".into());
                }
                Ok(())
            }
            Kernel::Sigmoid { gamma, coef0 } => {
                gamma_ok(gamma)?;
                if coef0.is_finite() {
                    Ok(())
                } else {
                    Err(format!("coef0 must be finite, got {coef0}"))
                }
            }
        }
    }

    /// Whether [`Kernel::from_dot`] uses the squared norms.
    pub fn needs_norms(&self) -> bool {
        matches!(self, Kernel::Rbf { .. })
    }

    /// `k(a, b)` from `⟨a, b⟩`, `‖a‖²` and `‖b‖²`.
    #[inline]
    pub fn from_dot(&self, dot: f64, sq_a: f64, sq_b: f64) -> f64 {
        match *self {
            Kernel::Linear => dot,
            Kernel::Rbf { gamma } => (-gamma * (sq_a + sq_b - 2.0 * dot).max(0.0)).exp(),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => powi(gamma * dot + coef0, degree),
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot + coef0).tanh(),
        }
    }

    /// `k(a, b)` directly from two rows.
    pub fn eval(&self, a: &Row<'_>, b: &Row<'_>) -> f64 {
        let dot = a.dot(b);
        if self.needs_norms() {
            self.from_dot(dot, a.squared_norm(), b.squared_norm())
        } else {
            self.from_dot(dot, 0.0, 0.0)
        }
    }
}

/// `x^n` by repeated squaring (exact for small integer powers, as LIBSVM).
fn powi(x: f64, n: u32) -> f64 {
    let (mut base, mut n, mut acc) = (x, n, 1.0);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

/// Work (rows × average non-zeros) below which a column is computed on the
/// calling thread: rayon's fork–join costs a few microseconds.
const PARALLEL_WORK: usize = 1 << 15;

/// The kernel matrix of a feature set, computed on demand.
#[derive(Debug, Clone)]
pub struct KernelMatrix<'a> {
    features: &'a Features,
    kernel: Kernel,
    sq_norms: Vec<f64>,
}

impl<'a> KernelMatrix<'a> {
    /// Prepares `K` for `features` (squared norms computed in parallel).
    pub fn new(features: &'a Features, kernel: Kernel) -> Self {
        let n = features.n_rows();
        let sq_norms = if kernel.needs_norms() {
            (0..n)
                .into_par_iter()
                .map(|i| features.row(i).squared_norm())
                .collect()
        } else {
            vec![0.0; n]
        };
        Self {
            features,
            kernel,
            sq_norms,
        }
    }

    /// The number of rows.
    pub fn dim(&self) -> usize {
        self.features.n_rows()
    }

    /// The kernel.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// `K[i, j]`.
    pub fn value(&self, i: usize, j: usize) -> f64 {
        let dot = self.features.row(i).dot(&self.features.row(j));
        self.kernel
            .from_dot(dot, self.sq_norms[i], self.sq_norms[j])
    }

    /// `K[i, i]` for every `i`.
    pub fn diagonal(&self, out: &mut [f64]) {
        out.par_iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = self.value(i, i));
    }

    /// `out[k] = K[rows[k], j]`, in parallel for long columns. Row `j` is
    /// scattered into a dense vector once, so each entry costs one pass over
    /// the non-zeros of `x_rows[k]`.
    pub fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        let xj = self.features.row(j);
        let sq_j = self.sq_norms[j];
        let kernel = self.kernel;
        let fill = |dense: &[f64], rows: &[usize], out: &mut [f64]| {
            for (o, &i) in out.iter_mut().zip(rows) {
                let dot = self.features.row(i).dot_dense(dense);
                *o = kernel.from_dot(dot, self.sq_norms[i], sq_j);
            }
        };
        let n_cols = self.features.n_cols();
        let avg_nnz = (self.features.nnz_hint() / self.dim().max(1)).max(1);
        let scattered;
        let dense: &[f64] = match xj {
            Row::Dense(v) => v,
            Row::Sparse { .. } => {
                let mut d = vec![0.0; n_cols];
                xj.scatter_into(&mut d);
                scattered = d;
                &scattered
            }
        };
        if rows.len() * avg_nnz < PARALLEL_WORK {
            fill(dense, rows, out);
        } else {
            let chunk = (PARALLEL_WORK / avg_nnz).max(64);
            out.par_chunks_mut(chunk)
                .zip(rows.par_chunks(chunk))
                .for_each(|(o, r)| fill(dense, r, o));
        }
    }
}

/// Rows (or columns) handled by one rayon task in the products below. A
/// constant, so the split — and every sum — is the same for any pool size.
const PRODUCT_CHUNK: usize = 64;

impl<'a> KernelMatrix<'a> {
    /// The feature rows.
    pub fn features(&self) -> &'a Features {
        self.features
    }

    /// `out = K v` by recomputing the rows of `K` blockwise: row `i` is
    /// `Σⱼ K(i, j)vⱼ` over the non-zeros of `v` in increasing `j`, summed
    /// sequentially; rows are split into fixed chunks of [`PRODUCT_CHUNK`]
    /// run in parallel, so the result is bit-identical for any number of
    /// threads. Cost `O(n · Σ_{vⱼ ≠ 0} nnz(xⱼ))` and no storage of `K`.
    pub fn matvec(&self, v: &[f64], out: &mut [f64]) {
        assert_eq!(v.len(), self.dim(), "v must have length n");
        assert_eq!(out.len(), self.dim(), "out must have length n");
        let nonzero: Vec<usize> = (0..v.len()).filter(|&j| v[j] != 0.0).collect();
        let n_cols = self.features.n_cols();
        out.par_chunks_mut(PRODUCT_CHUNK).enumerate().for_each_init(
            || vec![0.0; n_cols],
            |dense, (c, block)| {
                for (k, o) in block.iter_mut().enumerate() {
                    let i = c * PRODUCT_CHUNK + k;
                    let xi = self.features.row(i);
                    xi.scatter_into(dense);
                    let mut acc = 0.0;
                    for &j in &nonzero {
                        let dot = self.features.row(j).dot_dense(dense);
                        acc += self
                            .kernel
                            .from_dot(dot, self.sq_norms[i], self.sq_norms[j])
                            * v[j];
                    }
                    xi.clear_from(dense);
                    *o = acc;
                }
            },
        );
    }

    /// The whole matrix `K`, row-major `n × n`, exactly symmetric.
    ///
    /// When the features fit densely in no more room than `K` itself
    /// (`n_cols ≤ n`), the dot products `XXᵀ` come from faer's matrix
    /// multiply ([`crate::linalg::gram_block_seq`]) on fixed blocks of
    /// [`PRODUCT_CHUNK`] rows run in parallel; otherwise each row is a
    /// [`KernelMatrix::column`]. The kernel is then applied entrywise and
    /// the upper triangle copied from the lower one. Every entry is
    /// computed by the same sequential code for any pool size.
    pub fn dense(&self) -> Vec<f64> {
        let n = self.dim();
        let d = self.features.n_cols();
        let mut k = vec![0.0; n * n];
        if n == 0 {
            return k;
        }
        if d <= n {
            let owned;
            let x: &[f64] = match self.features {
                Features::Dense(rows) => &rows.values,
                Features::Sparse(_) => {
                    let mut values = vec![0.0; n * d];
                    values
                        .par_chunks_mut(d.max(1))
                        .enumerate()
                        .for_each(|(i, row)| self.features.row(i).scatter_into(row));
                    owned = values;
                    &owned
                }
            };
            k.par_chunks_mut(PRODUCT_CHUNK * n)
                .enumerate()
                .for_each(|(c, block)| {
                    let r0 = c * PRODUCT_CHUNK;
                    let m = block.len() / n;
                    crate::linalg::gram_block_seq(&x[r0 * d..(r0 + m) * d], m, x, n, d, block);
                    for (r, row) in block.chunks_mut(n).enumerate() {
                        let sq_i = self.sq_norms[r0 + r];
                        for (j, e) in row.iter_mut().enumerate() {
                            *e = self.kernel.from_dot(*e, sq_i, self.sq_norms[j]);
                        }
                    }
                });
        } else {
            let all: Vec<usize> = (0..n).collect();
            k.par_chunks_mut(n)
                .enumerate()
                .for_each(|(i, row)| self.column(i, &all, row));
        }
        // Exact symmetry: the upper triangle from the lower, in tiles.
        const TILE: usize = 64;
        for bi in (0..n).step_by(TILE) {
            for bj in (bi..n).step_by(TILE) {
                for i in bi..(bi + TILE).min(n) {
                    for j in bj.max(i + 1)..(bj + TILE).min(n) {
                        k[i * n + j] = k[j * n + i];
                    }
                }
            }
        }
        k
    }
}

/// The linear kernel's product `K v = X(Xᵀv)` in `O(nnz(X))`, without
/// forming `K`: `Xᵀ` is stored once by columns (compressed sparse columns
/// of `X`, row indices increasing). Both halves run in parallel over fixed
/// chunks with sequential sums inside — `wₖ = Σᵢ xᵢₖvᵢ` per column, then
/// `⟨xᵢ, w⟩` per row — so the result is bit-identical for any number of
/// threads.
#[derive(Debug, Clone)]
pub struct LinearGram<'a> {
    features: &'a Features,
    indptr: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<f64>,
}

impl<'a> LinearGram<'a> {
    /// Stores `Xᵀ` for `features` (one pass over the non-zeros).
    pub fn new(features: &'a Features) -> Self {
        let (n, d) = (features.n_rows(), features.n_cols());
        let mut count = vec![0usize; d + 1];
        let visit = |f: &mut dyn FnMut(usize, usize, f64)| {
            for i in 0..n {
                match features.row(i) {
                    Row::Sparse { indices, values } => {
                        for (&k, &v) in indices.iter().zip(values) {
                            f(i, k as usize, v);
                        }
                    }
                    Row::Dense(values) => {
                        for (k, &v) in values.iter().enumerate() {
                            if v != 0.0 {
                                f(i, k, v);
                            }
                        }
                    }
                }
            }
        };
        visit(&mut |_, k, _| count[k + 1] += 1);
        for k in 0..d {
            count[k + 1] += count[k];
        }
        let nnz = count[d];
        let (mut rows, mut values) = (vec![0u32; nnz], vec![0.0; nnz]);
        let mut next = count.clone();
        visit(&mut |i, k, v| {
            rows[next[k]] = i as u32;
            values[next[k]] = v;
            next[k] += 1;
        });
        Self {
            features,
            indptr: count,
            rows,
            values,
        }
    }

    /// `out = X(Xᵀv)`.
    pub fn matvec(&self, v: &[f64], out: &mut [f64]) {
        let n = self.features.n_rows();
        assert_eq!(v.len(), n, "v must have length n");
        assert_eq!(out.len(), n, "out must have length n");
        let d = self.indptr.len() - 1;
        let mut w = vec![0.0; d];
        w.par_chunks_mut(PRODUCT_CHUNK)
            .enumerate()
            .for_each(|(c, block)| {
                for (t, wk) in block.iter_mut().enumerate() {
                    let k = c * PRODUCT_CHUNK + t;
                    let range = self.indptr[k]..self.indptr[k + 1];
                    *wk = self.rows[range.clone()]
                        .iter()
                        .zip(&self.values[range])
                        .map(|(&i, &x)| x * v[i as usize])
                        .sum();
                }
            });
        out.par_chunks_mut(PRODUCT_CHUNK)
            .enumerate()
            .for_each(|(c, block)| {
                for (t, o) in block.iter_mut().enumerate() {
                    *o = self.features.row(c * PRODUCT_CHUNK + t).dot_dense(&w);
                }
            });
    }
}
