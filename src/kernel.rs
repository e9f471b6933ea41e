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
