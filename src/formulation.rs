//! Binary SVM formulations and the dual quadratic programs they lead to.
//!
//! Data `(xᵢ, yᵢ)`, `yᵢ ∈ {+1, −1}`, feature map `φ` with kernel
//! `K(a, b) = ⟨φ(a), φ(b)⟩`, decision function `f(x) = ⟨w, φ(x)⟩ + b`.
//! Per-sample costs `Cᵢ = C·w₊` for `yᵢ = +1` and `Cᵢ = C·w₋` for `yᵢ = −1`
//! (LIBSVM's `-wi` weights; both 1 by default).
//!
//! # L2 loss (squared slack) — the default
//! Primal:
//! ```text
//!     min  ½‖w‖² + Σ (Cᵢ/2) ξᵢ²   s.t.  yᵢ(⟨w, φ(xᵢ)⟩ + b) ≥ 1 − ξᵢ
//! ```
//! Lagrangian with `αᵢ ≥ 0` for the margin constraints and `βᵢ ≥ 0` for
//! `ξᵢ ≥ 0` (the latter redundant, shown to see that it drops out):
//! ```text
//!     L = ½‖w‖² + Σ (Cᵢ/2)ξᵢ² + Σ αᵢ(1 − ξᵢ − yᵢ(⟨w, φ(xᵢ)⟩ + b)) − Σ βᵢξᵢ
//! ```
//! Stationarity: `∂L/∂w = 0 ⇒ w = Σ αᵢyᵢφ(xᵢ)`; `∂L/∂b = 0 ⇒ Σ αᵢyᵢ = 0`;
//! `∂L/∂ξᵢ = 0 ⇒ Cᵢξᵢ = αᵢ + βᵢ`. A negative `ξᵢ` can always be raised to 0
//! without breaking a constraint and lowers the objective, so `ξ ≥ 0` is
//! inactive at the optimum and `β = 0`, `ξᵢ = αᵢ/Cᵢ`. Substituting,
//! ```text
//!     max  Σ αᵢ − ½ αᵀ(YKY + D)α   s.t.  yᵀα = 0,  α ≥ 0,   D = diag(1/Cᵢ)
//! ```
//! with no upper bound on `α`. For `αᵢ > 0` complementary slackness gives
//! `yᵢ f(xᵢ) = 1 − αᵢ/Cᵢ`, which determines `b`.
//!
//! # L1 loss (hinge)
//! ```text
//!     min  ½‖w‖² + Σ Cᵢ ξᵢ   s.t.  yᵢ(⟨w, φ(xᵢ)⟩ + b) ≥ 1 − ξᵢ,  ξᵢ ≥ 0
//! ```
//! Here `Cᵢ = αᵢ + βᵢ` with `βᵢ ≥ 0`, so the dual is
//! ```text
//!     max  Σ αᵢ − ½ αᵀYKYα   s.t.  yᵀα = 0,  0 ≤ αᵢ ≤ Cᵢ
//! ```
//! (Cortes & Vapnik 1995; LIBSVM's C-SVC).
//!
//! # No bias
//! With `f(x) = ⟨w, φ(x)⟩` there is no `b`, no `∂L/∂b`, and so no equality
//! constraint `yᵀα = 0`.
//!
//! # As a QP for [`solvers`]
//! Both duals are `min ½αᵀQα + pᵀα` with `Q = YKY + D` (`D = 0` for L1),
//! `p = −1`, `l = 0`, `u = Cᵢ` (L1) or `+∞` (L2), and `yᵀα = 0` unless the
//! bias is off. The solver's equality multiplier `ν` is `b`.
//!
//! # Conventions of other tools
//! - LIBSVM prints `obj`, the minimisation form: `obj = −(our dual
//!   objective)`. Its `rho` is `−b`.
//! - LIBLINEAR's L2 loss is `C·Σξᵢ²` (no ½), so `C_ours = 2·C_liblinear`.
//!   LIBLINEAR has no unregularised bias: its `-B` appends a constant
//!   feature, which our no-bias formulation reproduces with that feature.

use crate::kernel::{Kernel, KernelMatrix, LinearGram, Scale};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use solvers::QMatrix;
use std::sync::OnceLock;

/// The loss on the slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Squared slack `(Cᵢ/2)ξᵢ²` (the default).
    L2,
    /// Hinge `Cᵢξᵢ`.
    L1,
}

impl Loss {
    /// A stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::L2 => "l2",
            Loss::L1 => "l1",
        }
    }
}

/// A binary SVM formulation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Formulation {
    /// The loss.
    pub loss: Loss,
    /// The cost `C > 0`.
    pub c: f64,
    /// The weight multiplying `C` for the class mapped to `+1`.
    pub weight_positive: f64,
    /// The weight multiplying `C` for the class mapped to `−1`.
    pub weight_negative: f64,
    /// Whether `f` has the unregularised bias `b` (and the dual the equality).
    pub bias: bool,
}

impl Default for Formulation {
    fn default() -> Self {
        Self {
            loss: Loss::L2,
            c: 1.0,
            weight_positive: 1.0,
            weight_negative: 1.0,
            bias: true,
        }
    }
}

impl Formulation {
    /// Checks `C` and the weights are positive and finite.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("C", self.c),
            ("weight of the positive class", self.weight_positive),
            ("weight of the negative class", self.weight_negative),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be a positive finite number, got {v}"));
            }
        }
        if !(self.c * self.weight_positive).is_normal()
            || !(self.c * self.weight_negative).is_normal()
        {
            return Err("C times a class weight must be a positive normal number".into());
        }
        Ok(())
    }

    /// `Cᵢ` for a sample with label `y` (±1).
    pub fn cost(&self, y: f64) -> f64 {
        if y > 0.0 {
            self.c * self.weight_positive
        } else {
            self.c * self.weight_negative
        }
    }

    /// The dual upper bound `uᵢ`: `Cᵢ` for L1, `+∞` for L2.
    pub fn upper_bound(&self, y: f64) -> f64 {
        match self.loss {
            Loss::L1 => self.cost(y),
            Loss::L2 => f64::INFINITY,
        }
    }

    /// The diagonal added to `YKY`: `1/Cᵢ` for L2, 0 for L1.
    pub fn diagonal_shift(&self, y: f64) -> f64 {
        match self.loss {
            Loss::L1 => 0.0,
            Loss::L2 => 1.0 / self.cost(y),
        }
    }

    /// The per-sample loss of the primal at margin `m = yᵢ f(xᵢ)`, cost
    /// included: `Cᵢ·max(0, 1 − m)` or `(Cᵢ/2)·max(0, 1 − m)²`.
    pub fn loss_value(&self, y: f64, margin: f64) -> f64 {
        let xi = (1.0 - margin).max(0.0);
        match self.loss {
            Loss::L1 => self.cost(y) * xi,
            Loss::L2 => 0.5 * self.cost(y) * xi * xi,
        }
    }
}

/// The dual QP's data apart from `Q`: `p = −1`, bounds and signs.
#[derive(Debug, Clone, PartialEq)]
pub struct DualData {
    /// `p = −1`.
    pub linear: Vec<f64>,
    /// `l = 0`.
    pub lower: Vec<f64>,
    /// `uᵢ`.
    pub upper: Vec<f64>,
    /// `yᵢ`.
    pub signs: Vec<f64>,
    /// Whether `yᵀα = 0` applies.
    pub equality: bool,
}

impl DualData {
    /// The dual of `formulation` for labels `y`.
    pub fn new(formulation: &Formulation, y: &[f64]) -> Self {
        Self {
            linear: vec![-1.0; y.len()],
            lower: vec![0.0; y.len()],
            upper: y.iter().map(|&yi| formulation.upper_bound(yi)).collect(),
            signs: y.to_vec(),
            equality: formulation.bias,
        }
    }

    /// The solver's view.
    pub fn problem<'a>(&'a self, initial: Option<&'a [f64]>) -> solvers::QpProblem<'a> {
        solvers::QpProblem {
            linear: &self.linear,
            equality: self.equality.then_some(solvers::Equality {
                signs: &self.signs,
                rhs: 0.0,
            }),
            lower: &self.lower,
            upper: &self.upper,
            initial,
        }
    }
}

/// `Q = YKY + D` over a kernel matrix, never stored: columns are computed
/// on demand (the solver caches them).
#[derive(Debug, Clone)]
pub struct DualHessian<'a> {
    kernel: KernelMatrix<'a>,
    y: &'a [f64],
    shift: Vec<f64>,
    /// `Xᵀ` by columns for the linear kernel's products, built on the
    /// first [`QMatrix::matvec`].
    linear: OnceLock<LinearGram<'a>>,
}

impl<'a> DualHessian<'a> {
    /// `Q` for `formulation` on `kernel` with labels `y`.
    pub fn new(kernel: KernelMatrix<'a>, y: &'a [f64], formulation: &Formulation) -> Self {
        let shift = y.iter().map(|&yi| formulation.diagonal_shift(yi)).collect();
        Self {
            kernel,
            y,
            shift,
            linear: OnceLock::new(),
        }
    }
}

impl<'a> DualHessian<'a> {
    /// The kernel matrix `K`.
    pub fn kernel(&self) -> &KernelMatrix<'a> {
        &self.kernel
    }
}

impl QMatrix for DualHessian<'_> {
    fn dim(&self) -> usize {
        self.y.len()
    }

    fn diagonal(&self, out: &mut [f64]) {
        self.kernel.diagonal(out);
        out.iter_mut().zip(&self.shift).for_each(|(o, s)| *o += s);
    }

    fn whole_columns_preferred(&self) -> bool {
        self.kernel.whole_columns_preferred()
    }

    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        let scale = Scale {
            signs: self.y,
            shift: self.shift[j],
        };
        self.kernel.column_scaled(j, rows, out, Some(scale));
    }

    fn blocks_preferred(&self, size: usize) -> bool {
        self.kernel.block_product(size)
    }

    /// The block through [`KernelMatrix::columns_scaled`] (one matrix
    /// product, the same values as [`QMatrix::column`] to the bit) when it
    /// applies, else column by column.
    fn columns(&self, cols: &[usize], rows: &[usize], out: &mut [f64], ld: usize) {
        if !self.kernel.block_product(cols.len()) {
            return solvers::qmatrix::columns_one_by_one(self, cols, rows, out, ld);
        }
        let shifts: Vec<f64> = cols.iter().map(|&j| self.shift[j]).collect();
        self.kernel
            .columns_scaled(cols, rows, out, ld, Some(self.y), &shifts);
    }

    /// `Qv = Y·K·(Y·v) + D·v`. For the linear kernel `K(Yv) = X(Xᵀ(Yv))`
    /// in `O(nnz)` through [`LinearGram`] (built on the first call);
    /// otherwise the rows of `K` are recomputed blockwise in parallel
    /// ([`KernelMatrix::matvec`]). The diagonal `D` (`1/Cᵢ` for the L2
    /// loss) is added on the fly. Bit-identical for any number of threads.
    fn matvec(&self, v: &[f64], out: &mut [f64]) {
        let yv: Vec<f64> = v.iter().zip(self.y).map(|(v, y)| v * y).collect();
        match self.kernel.kernel() {
            Kernel::Linear => self
                .linear
                .get_or_init(|| LinearGram::new(self.kernel.features()))
                .matvec(&yv, out),
            _ => self.kernel.matvec(&yv, out),
        }
        for i in 0..out.len() {
            out[i] = self.y[i] * out[i] + self.shift[i] * v[i];
        }
    }
}

/// Rows of `Q` handled by one rayon task in [`DenseDualHessian::matvec`]: a
/// constant, so the split does not depend on the pool size.
const DENSE_ROWS_PER_TASK: usize = 16;

/// Why a dense `Q` was not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a dense Q needs {needed} bytes, more than the budget of {budget}")]
pub struct DenseTooLarge {
    /// `8n²`.
    pub needed: usize,
    /// The budget given.
    pub budget: usize,
}

/// `Q = YKY + D` stored densely (row-major), for problems whose `8n²`
/// bytes fit the memory budget (`--cache-mb`): every product is then one
/// pass over memory, the access pattern that suits projected-gradient
/// methods. `K` is built with faer's matrix multiply in parallel
/// ([`KernelMatrix::dense`]).
#[derive(Debug, Clone)]
pub struct DenseDualHessian {
    n: usize,
    values: Vec<f64>,
}

impl DenseDualHessian {
    /// The bytes a dense `Q` of dimension `n` takes.
    pub fn bytes(n: usize) -> usize {
        n.saturating_mul(n)
            .saturating_mul(std::mem::size_of::<f64>())
    }

    /// Builds `Q` for `formulation` on `kernel` with labels `y` if it fits
    /// in `budget_bytes`.
    pub fn new(
        kernel: &KernelMatrix<'_>,
        y: &[f64],
        formulation: &Formulation,
        budget_bytes: usize,
    ) -> Result<Self, DenseTooLarge> {
        let n = kernel.dim();
        assert_eq!(y.len(), n, "one label per row");
        let needed = Self::bytes(n);
        if needed > budget_bytes {
            return Err(DenseTooLarge {
                needed,
                budget: budget_bytes,
            });
        }
        let mut values = kernel.dense();
        values
            .par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(i, row)| {
                for (j, e) in row.iter_mut().enumerate() {
                    *e *= y[i] * y[j];
                }
                row[i] += formulation.diagonal_shift(y[i]);
            });
        Ok(Self { n, values })
    }

    /// The entry `Q[i, j]`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.n + j]
    }
}

impl QMatrix for DenseDualHessian {
    fn dim(&self) -> usize {
        self.n
    }

    fn diagonal(&self, out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(i, i);
        }
    }

    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        let row = &self.values[j * self.n..(j + 1) * self.n];
        for (o, &i) in out.iter_mut().zip(rows) {
            *o = row[i];
        }
    }

    /// Rows in parallel over fixed chunks, each a sequential sum in
    /// increasing column order — over all columns with four interleaved
    /// partial sums, or only over the non-zeros of `v` when they are at
    /// most an eighth of it. The choice depends on `v` alone, so the
    /// result is bit-identical for any number of threads.
    fn matvec(&self, v: &[f64], out: &mut [f64]) {
        let n = self.n;
        let nonzero: Vec<usize> = (0..n).filter(|&j| v[j] != 0.0).collect();
        let sparse = nonzero.len() * 8 <= n;
        out.par_chunks_mut(DENSE_ROWS_PER_TASK)
            .enumerate()
            .for_each(|(c, block)| {
                for (t, o) in block.iter_mut().enumerate() {
                    let i = c * DENSE_ROWS_PER_TASK + t;
                    let row = &self.values[i * n..(i + 1) * n];
                    *o = if sparse {
                        nonzero.iter().map(|&j| row[j] * v[j]).sum()
                    } else {
                        dot4(row, v)
                    };
                }
            });
    }
}

/// `Σ aᵢbᵢ` with four partial sums (`i mod 4`) added at the end, then
/// the tail: a fixed order that vectorises.
fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}
