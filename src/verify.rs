//! The verifier: an independent certificate of a dual solution.
//!
//! Given training rows `xᵢ`, labels `yᵢ ∈ {+1, −1}`, a [`Formulation`]
//! (costs `Cᵢ`, loss, bias), a kernel `K` and a candidate `(α, b)`, the
//! verifier recomputes everything from the data. It does not use the solver,
//! its gradient, its cache, nor [`crate::kernel::KernelMatrix`]: kernel
//! values are recomputed here, row by row over the support vectors, by one
//! of three ways to form the dot products — sparse storage with at most
//! 2¹⁴ columns: sparse rows times dense panels of 64 support vectors
//! (the rows' decision values are an `n × nSV` kernel block, whose
//! support-vector rows form a symmetric `nSV × nSV` block formed about
//! half, see `panel_values`); wider sparse
//! storage: scatter/merge dot products; dense storage: blocks of
//! [`crate::linalg::gram_block_seq`], one per task, so faer's own
//! parallelism is not nested inside the row chunks — then mapped through
//! [`Kernel::map_dots`] (the only code shared with the solver's kernel: the
//! kernel function itself) a row at a time.
//!
//! # What is computed
//! ```text
//!     gᵢ      = Σⱼ αⱼ yⱼ K(xᵢ, xⱼ)            (over αⱼ ≠ 0)
//!     fᵢ      = gᵢ + b                        (b := 0 without bias)
//!     ‖w‖²    = Σᵢ αᵢ yᵢ gᵢ
//!     D(α)    = Σ αᵢ − ½‖w‖² − ½ Σ αᵢ²/Cᵢ     (last term for L2 only)
//!     P(w, b) = ½‖w‖² + Σ ℓᵢ(yᵢ fᵢ)           (ℓ = Formulation::loss_value)
//! ```
//! **Best bias.** `h(b) = Σ ℓᵢ(yᵢ(gᵢ + b))` is convex in `b`. With
//! `tᵢ = yᵢ − gᵢ` the slack of row `i` is `max(0, yᵢ(tᵢ − b))`: active for
//! `yᵢ = +1, b < tᵢ` and for `yᵢ = −1, b > tᵢ`. For L1, `h` is piecewise
//! linear with slope `−Σ_{yᵢ=+1, tᵢ>b} Cᵢ + Σ_{yᵢ=−1, tᵢ<b} Cᵢ`, which grows
//! by `Cᵢ` at every breakpoint `tᵢ`; for L2, `h′(b) = Σ_active Cᵢ(b − tᵢ)`
//! is continuous, piecewise linear and nondecreasing. A sweep over the
//! sorted breakpoints (prefix/suffix sums, no subtractions) finds the piece
//! where `h′` changes sign and minimises there exactly; when the minimum is
//! attained on an interval the point of it closest to the given `b` is
//! taken. `min_b P(w, b) = ½‖w‖² + min_b h(b)`; the reported value is never
//! above `P(w, b)`.
//!
//! **Gap.** `absolute_gap = min_b P(w, b) − D(α)` and
//! `relative_gap = absolute_gap / max(1, |min_b P|)`. By weak duality
//! (Boyd & Vandenberghe, *Convex Optimization*, 2004, §5.2.2), for any
//! dual-feasible `α` and any `(w, b)`: `P(w, b) ≥ P* = D* ≥ D(α)` (strong
//! duality holds for these convex QPs with linear constraints, §5.2.3), so
//! the gap bounds the suboptimality of both the primal point `w(α)` and
//! the dual point `α`. It is a certificate only when `α` is feasible
//! (see the bound and equality residuals) and `K` is positive semidefinite.
//!
//! **KKT.** With the minimisation-form gradient
//! `Gᵢ = yᵢ gᵢ + [L2] αᵢ/Cᵢ − 1` and bounds `0 ≤ αᵢ ≤ uᵢ` (`uᵢ = Cᵢ` for L1,
//! `+∞` for L2):
//! - `bound_violation = maxᵢ max(0, −αᵢ, αᵢ − uᵢ)`;
//! - `equality_violation = |Σ yᵢ αᵢ|` (0 without bias);
//! - `max_violation`: with bias the maximal violating pair
//!   `m(α) − M(α)`, `m = max_{I_up} −yᵢGᵢ`, `M = min_{I_low} −yᵢGᵢ`,
//!   `I_up = {αᵢ < uᵢ, yᵢ = +1} ∪ {αᵢ > 0, yᵢ = −1}`,
//!   `I_low = {αᵢ < uᵢ, yᵢ = −1} ∪ {αᵢ > 0, yᵢ = +1}` (Chang & Lin,
//!   *LIBSVM: a library for support vector machines*, ACM TIST 2011, §4.1.2;
//!   Keerthi et al. 2001), clamped at 0 and 0 when a set is empty; without
//!   bias the largest projected-gradient entry (`max(0, −Gᵢ)` at `αᵢ = 0`,
//!   `max(0, Gᵢ)` at `αᵢ = uᵢ`, `|Gᵢ|` otherwise);
//! - `complementarity = maxᵢ` of `αᵢ·max(0, yᵢfᵢ − 1)` (multiplier of an
//!   inactive margin constraint) and, for L1,
//!   `(Cᵢ − αᵢ)·max(0, 1 − yᵢfᵢ)` (positive slack while `αᵢ < Cᵢ`), for
//!   L2, `|αᵢ − Cᵢ·max(0, 1 − yᵢfᵢ)|` (stationarity `ξᵢ = αᵢ/Cᵢ`).
//!
//! # Determinism
//! Each `gᵢ` is summed by one thread over the support vectors in increasing
//! index order — except, on the panel path, the support vectors' own `gⱼ`,
//! whose kernel block is symmetric and formed once: row sums plus the
//! column sums of earlier chunks, added in a fixed order (see
//! `panel_values`). Rows are split into chunks of a fixed size, and all
//! scalar reductions run sequentially over per-row values. The certificate
//! is therefore bit-identical for any size of the rayon pool.

use crate::data::{Features, Row};
use crate::formulation::{Formulation, Loss};
use crate::kernel::Kernel;
use crate::linalg::{gram_block_seq, set_panel_column};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// KKT residuals of a dual point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KktResiduals {
    /// Largest violation of `0 ≤ αᵢ ≤ uᵢ`.
    pub bound_violation: f64,
    /// `|yᵀα|` (0 without bias).
    pub equality_violation: f64,
    /// Maximal violating pair `m(α) − M(α)` (with bias) or largest
    /// projected-gradient entry (without), clamped at 0.
    pub max_violation: f64,
    /// Largest complementarity violation.
    pub complementarity: f64,
}

/// What the verifier reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// `D(α)`.
    pub dual_objective: f64,
    /// `P(w(α), b)`.
    pub primal_objective: f64,
    /// `min_b P(w(α), b)` (equal to `primal_objective` without bias).
    pub primal_objective_best_bias: f64,
    /// The minimising `b` (`None` without bias).
    pub best_bias: Option<f64>,
    /// `primal_objective_best_bias − dual_objective`.
    pub absolute_gap: f64,
    /// `absolute_gap / max(1, |primal_objective_best_bias|)`.
    pub relative_gap: f64,
    /// KKT residuals.
    pub kkt: KktResiduals,
    /// Support vectors (`αᵢ > 0`).
    pub n_sv: usize,
    /// Support vectors at the upper bound (L1 only).
    pub n_bounded_sv: usize,
    /// Fraction of training rows with `yᵢ f(xᵢ) > 0` (1 for no rows).
    pub training_accuracy: f64,
}

/// A [`Certificate`] with the rows behind its worst residuals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detailed {
    /// The certificate.
    pub certificate: Certificate,
    /// The rows attaining `max_violation`: `[i, j]` with `i ∈ I_up` giving
    /// `m(α)` and `j ∈ I_low` giving `M(α)` (with bias), or `[i, i]` for the
    /// largest projected-gradient entry (without). `None` when a set is
    /// empty or there are no rows.
    pub max_violating_pair: Option<[usize; 2]>,
    /// The row attaining `complementarity` (`None` when there are no rows).
    pub worst_complementarity: Option<usize>,
    /// The bias used in `f`: the given `b`, or 0 without bias.
    pub bias_used: f64,
}

/// Why [`try_verify`] refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerifyError {
    /// A vector does not have one entry per feature row.
    #[error("{what} has {got} entries but there are {expected} feature rows")]
    Length {
        /// Which input (`"y"` or `"alpha"`).
        what: &'static str,
        /// The number of feature rows.
        expected: usize,
        /// Its length.
        got: usize,
    },
}

/// Certifies `(α, b)` for `formulation` on `features`, labels `y` (±1).
///
/// # Panics
/// When `y` or `alpha` does not have one entry per feature row (a
/// programming error: both come from the training code). Use
/// [`try_verify`] to get an error instead.
pub fn verify(
    features: &Features,
    y: &[f64],
    formulation: &Formulation,
    kernel: Kernel,
    alpha: &[f64],
    b: f64,
) -> Certificate {
    match try_verify(features, y, formulation, kernel, alpha, b) {
        Ok(c) => c,
        Err(e) => panic!("verify: {e}"),
    }
}

/// [`verify`], with mismatched lengths reported as a [`VerifyError`].
pub fn try_verify(
    features: &Features,
    y: &[f64],
    formulation: &Formulation,
    kernel: Kernel,
    alpha: &[f64],
    b: f64,
) -> Result<Certificate, VerifyError> {
    try_verify_detailed(features, y, formulation, kernel, alpha, b).map(|d| d.certificate)
}

/// [`try_verify`], also naming the rows behind the worst residuals.
pub fn try_verify_detailed(
    features: &Features,
    y: &[f64],
    formulation: &Formulation,
    kernel: Kernel,
    alpha: &[f64],
    b: f64,
) -> Result<Detailed, VerifyError> {
    let n = features.n_rows();
    for (what, got) in [("y", y.len()), ("alpha", alpha.len())] {
        if got != n {
            return Err(VerifyError::Length {
                what,
                expected: n,
                got,
            });
        }
    }
    let g = decision_values(features, kernel, y, alpha);
    Ok(detailed_from_values(&g, y, formulation, alpha, b))
}

/// Rows per parallel task; fixed, so the work split never depends on the
/// pool size.
const ROW_CHUNK: usize = 64;

/// Cells (`rows × columns`) of a gathered support-vector block on dense data.
const SV_BLOCK_CELLS: usize = 1 << 18;

/// At most this many columns are scattered into a dense scratch vector per
/// task on sparse data; wider data uses the merge dot product.
const MAX_SCATTER_COLS: usize = 1 << 22;

/// `gᵢ = Σⱼ αⱼ yⱼ K(xᵢ, xⱼ)` over the `j` with `αⱼ ≠ 0`, for every row `i`,
/// recomputed from the features (no kernel matrix, no solver state). Each
/// `gᵢ` is summed by a single thread in a fixed order — the support
/// vectors in blocks of [`PANEL`] consecutive ones, blocks in increasing
/// order, eight interleaved partial sums within a block ([`block_sum`]) —
/// so the result does not depend on the number of threads.
///
/// # Panics
/// When `y` or `alpha` is shorter than the number of rows.
pub fn decision_values(features: &Features, kernel: Kernel, y: &[f64], alpha: &[f64]) -> Vec<f64> {
    let n = features.n_rows();
    let sv: Vec<usize> = (0..n).filter(|&j| alpha[j] != 0.0).collect();
    let coef: Vec<f64> = sv.iter().map(|&j| alpha[j] * y[j]).collect();
    let sq: Vec<f64> = if kernel.needs_norms() {
        (0..n)
            .into_par_iter()
            .map(|i| features.row(i).squared_norm())
            .collect()
    } else {
        vec![0.0; n]
    };
    let mut g = vec![0.0; n];
    if sv.is_empty() {
        return g;
    }
    match features {
        Features::Sparse(_) if features.n_cols() <= PANEL_MAX_COLS => {
            panel_values(features, kernel, &sv, &coef, &sq, &mut g)
        }
        Features::Dense(_) if features.n_cols() <= PANEL_MAX_DENSE_COLS => {
            panel_values(features, kernel, &sv, &coef, &sq, &mut g)
        }
        Features::Sparse(_) => sparse_values(features, kernel, &sv, &coef, &sq, &mut g),
        Features::Dense(d) => dense_values(&d.values, d.n_cols, kernel, &sv, &coef, &sq, &mut g),
    }
    g
}

/// Support vectors per panel in [`panel_values`].
const PANEL: usize = 64;

/// Sparse storage up to this many columns uses [`panel_values`] (its
/// panel takes `8 · PANEL · n_cols` bytes, 8 MiB here, per task).
const PANEL_MAX_COLS: usize = 1 << 14;

/// Dense storage up to this many columns also uses [`panel_values`]
/// (all of a row's entries against the panel): below it the blocked matrix
/// product of [`dense_values`] spends more on packing than on arithmetic.
const PANEL_MAX_DENSE_COLS: usize = 64;

/// Rows per parallel task in [`panel_values`]: enough to amortise filling
/// the panels. A multiple of [`PANEL`], so that a chunk of support vectors
/// is a whole number of panels.
const PANEL_ROW_CHUNK: usize = 256;
const _: () = assert!(PANEL_ROW_CHUNK.is_multiple_of(PANEL));

/// Sparse storage with few columns: the support vectors, [`PANEL`] at a
/// time, are laid out as a dense `n_cols × PANEL` panel, and each row's
/// dot products with all of them are one pass over the row's non-zeros
/// (`acc += xᵢₖ · panel[k, :]`, vectorised) — a sparse-times-dense product
/// instead of a sparse dot product per pair. Each dot product sums the same
/// non-zero products in the same (increasing column) order as
/// [`sparse_values`], plus exact zeros; the kernel map and the block's sum
/// follow in registers.
///
/// Rows that are not support vectors are summed over the panels in
/// increasing order, as [`sparse_values`] does. For the support vectors'
/// own rows the kernel block `K_SV,SV` is symmetric to the bit (the dot
/// product of two rows is the same sum either way, and the kernel map adds
/// the two squared norms, which commutes), so each value is formed once:
/// the support vectors are cut into chunks of [`PANEL_ROW_CHUNK`]; a chunk
/// forms its rows against its own panels and the later ones, adds each
/// row's values to its `gᵢ` (row sums) and, for the later panels, each
/// column's values weighted by the rows' coefficients to a column sum for
/// that later support vector. Then `gⱼ` of a support vector is its row sums
/// plus the column sums of the chunks before its own, in increasing order:
/// a fixed order, so the result is the same for any number of threads, and
/// about half of `K_SV,SV` is formed (a9a, L2 loss: 20 345 support vectors
/// among 32 561 rows, 31 % of the kernel values).
fn panel_values(
    features: &Features,
    kernel: Kernel,
    sv: &[usize],
    coef: &[f64],
    sq: &[f64],
    g: &mut [f64],
) {
    let n_cols = features.n_cols();
    let n_sv = sv.len();
    let mut is_sv = vec![false; g.len()];
    for &j in sv {
        is_sv[j] = true;
    }
    // The support vectors `first..` as panels, each formed against `rows`.
    let sweep = |panel: &mut Vec<f64>,
                 rows: &[usize],
                 out: &mut [f64],
                 first: usize,
                 mut column_sums: Option<(&[f64], usize, &mut [f64])>| {
        out.iter_mut().for_each(|gi| *gi = 0.0);
        for p0 in (first..n_sv).step_by(PANEL) {
            let svb = &sv[p0..(p0 + PANEL).min(n_sv)];
            let cb = &coef[p0..p0 + svb.len()];
            for (b, &j) in svb.iter().enumerate() {
                set_panel_column::<PANEL>(panel, &features.row(j), b, false);
            }
            let mut sq_sv = [0.0; PANEL];
            let mut c_sv = [0.0; PANEL];
            for (b, (&j, &cj)) in svb.iter().zip(cb).enumerate() {
                sq_sv[b] = sq[j];
                c_sv[b] = cj;
            }
            // Column sums for the panels past the rows' own chunk.
            let columns = match &mut column_sums {
                Some((c_rows, own_end, sums)) if p0 >= *own_end => {
                    let at = p0 - *own_end;
                    Some((*c_rows, &mut sums[at..at + svb.len()]))
                }
                _ => None,
            };
            crate::linalg::simd(PanelBlock {
                out,
                features,
                rows,
                panel,
                sq,
                sq_sv: &sq_sv,
                c_sv: &c_sv,
                width: svb.len(),
                kernel,
                columns,
            });
            for (b, &j) in svb.iter().enumerate() {
                set_panel_column::<PANEL>(panel, &features.row(j), b, true);
            }
        }
    };
    // The other rows: every panel.
    let others: Vec<usize> = (0..g.len()).filter(|&i| !is_sv[i]).collect();
    let mut g_others = vec![0.0; others.len()];
    g_others
        .par_chunks_mut(PANEL_ROW_CHUNK)
        .zip(others.par_chunks(PANEL_ROW_CHUNK))
        .for_each_init(
            || vec![0.0; n_cols * PANEL],
            |panel, (out, rows)| sweep(panel, rows, out, 0, None),
        );
    // The support vectors' rows: their own chunk's panels and the later
    // ones, with column sums for the later ones.
    let chunks: Vec<(Vec<f64>, Vec<f64>)> = (0..n_sv.div_ceil(PANEL_ROW_CHUNK))
        .into_par_iter()
        .map_init(
            || vec![0.0; n_cols * PANEL],
            |panel, c| {
                let (a0, a1) = (c * PANEL_ROW_CHUNK, ((c + 1) * PANEL_ROW_CHUNK).min(n_sv));
                let mut out = vec![0.0; a1 - a0];
                let mut sums = vec![0.0; n_sv - a1];
                let columns = Some((&coef[a0..a1], a1, &mut sums[..]));
                sweep(panel, &sv[a0..a1], &mut out, a0, columns);
                (out, sums)
            },
        )
        .collect();
    let mut g_sv: Vec<f64> = chunks
        .iter()
        .flat_map(|(out, _)| out.iter().copied())
        .collect();
    for (c, (_, sums)) in chunks.iter().enumerate() {
        let a1 = ((c + 1) * PANEL_ROW_CHUNK).min(n_sv);
        for (gj, s) in g_sv[a1..].iter_mut().zip(sums) {
            *gj += s;
        }
    }
    for (&i, &v) in others.iter().zip(&g_others) {
        g[i] = v;
    }
    for (&j, &v) in sv.iter().zip(&g_sv) {
        g[j] = v;
    }
}

/// For each row `rows[k]`: the dot products with the panel's support
/// vectors (`Σₗ x_{r,l} · panel[l, b]` over the row's non-zeros in
/// increasing `l`), the kernel map, and `out[k] += block_sum(k(·), c)`,
/// all in registers; with `columns = (c_rows, sums)`, also
/// `sums[b] += c_rows[k] · k(·)_b` for each row in turn. Columns
/// `b ≥ width` of the panel are zero and their coefficients 0. Run through
/// [`crate::linalg::simd`].
struct PanelBlock<'a> {
    out: &'a mut [f64],
    features: &'a Features,
    rows: &'a [usize],
    panel: &'a [f64],
    sq: &'a [f64],
    sq_sv: &'a [f64; PANEL],
    c_sv: &'a [f64; PANEL],
    width: usize,
    kernel: Kernel,
    columns: Option<(&'a [f64], &'a mut [f64])>,
}

impl crate::linalg::SimdLoop for PanelBlock<'_> {
    #[inline(always)]
    fn run(mut self) {
        for (k, (gi, &r)) in self.out.iter_mut().zip(self.rows).enumerate() {
            let mut acc = crate::linalg::panel_dots::<PANEL>(&self.features.row(r), self.panel);
            let line = &mut acc[..self.width];
            self.kernel
                .map_dots_contiguous_inlined(line, &self.sq_sv[..self.width], self.sq[r]);
            *gi += block_sum(line, &self.c_sv[..self.width]);
            if let Some((c_rows, sums)) = &mut self.columns {
                let c = c_rows[k];
                for (s, &v) in sums.iter_mut().zip(line.iter()) {
                    *s += c * v;
                }
            }
        }
    }
}

/// `Σ_b c_b v_b` over one block of at most [`PANEL`] support vectors, in a
/// fixed order that vectorises: eight partial sums (`b mod 8`), added
/// pairwise. Every path of [`decision_values`] sums each block this way
/// and the blocks in increasing order.
#[inline(always)]
fn block_sum(values: &[f64], coef: &[f64]) -> f64 {
    let mut s = [0.0; 8];
    let (cv, cc) = (values.chunks_exact(8), coef.chunks_exact(8));
    let (rv, rc) = (cv.remainder(), cc.remainder());
    for (v, c) in cv.zip(cc) {
        for t in 0..8 {
            s[t] += c[t] * v[t];
        }
    }
    for (t, (&v, &c)) in rv.iter().zip(rc).enumerate() {
        s[t] += c * v;
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// Sparse storage: per row, one dot product with each support vector
/// (row `i` scattered into a dense scratch vector when the width allows,
/// else merged index by index; both sum the same products in the same
/// order).
fn sparse_values(
    features: &Features,
    kernel: Kernel,
    sv: &[usize],
    coef: &[f64],
    sq: &[f64],
    g: &mut [f64],
) {
    let n_cols = features.n_cols();
    let scatter = n_cols <= MAX_SCATTER_COLS;
    g.par_chunks_mut(ROW_CHUNK).enumerate().for_each_init(
        // One zeroed scratch vector per rayon job, not per chunk: every
        // row clears what it scattered, so it is zero between rows.
        || {
            let dense = if scatter {
                vec![0.0; n_cols]
            } else {
                Vec::new()
            };
            (dense, vec![0.0; sv.len()])
        },
        |(dense, values), (c, out)| {
            for (k, gi) in out.iter_mut().enumerate() {
                let i = c * ROW_CHUNK + k;
                let xi = features.row(i);
                if scatter {
                    xi.scatter_into(dense);
                }
                // The dot products with every support vector, then the
                // kernel map over all of them (a loop that vectorises),
                // then the sum by blocks of `PANEL` ([`block_sum`]).
                for (v, &j) in values.iter_mut().zip(sv) {
                    let xj = features.row(j);
                    *v = if scatter {
                        sparse_dot_dense(&xj, dense)
                    } else {
                        xi.dot(&xj)
                    };
                }
                kernel.map_dots(values, sv, sq, sq[i]);
                let mut sum = 0.0;
                for (vb, cb) in values.chunks(PANEL).zip(coef.chunks(PANEL)) {
                    sum += block_sum(vb, cb);
                }
                if scatter {
                    xi.clear_from(dense);
                }
                *gi = sum;
            }
        },
    );
}

/// `⟨row, dense⟩`, skipping indices past the end of `dense`.
fn sparse_dot_dense(row: &Row<'_>, dense: &[f64]) -> f64 {
    match row {
        Row::Sparse { indices, values } => indices
            .iter()
            .zip(values.iter())
            .filter(|(&k, _)| (k as usize) < dense.len())
            .map(|(&k, &v)| v * dense[k as usize])
            .sum(),
        Row::Dense(v) => v.iter().zip(dense).map(|(a, b)| a * b).sum(),
    }
}

/// Dense storage: for each chunk of rows, the support vectors are gathered
/// in blocks (at most [`SV_BLOCK_CELLS`] cells) and the dot products formed
/// by [`gram_block_seq`]; memory per task is `O(block × (d + rows))`.
fn dense_values(
    values: &[f64],
    d: usize,
    kernel: Kernel,
    sv: &[usize],
    coef: &[f64],
    sq: &[f64],
    g: &mut [f64],
) {
    // A multiple of `PANEL`, so that the sums run over the same blocks of
    // support vectors as on sparse data.
    let block = (SV_BLOCK_CELLS / d.max(1)).clamp(1, 1024).div_ceil(PANEL) * PANEL;
    g.par_chunks_mut(ROW_CHUNK)
        .enumerate()
        .for_each(|(c, out)| {
            let r0 = c * ROW_CHUNK;
            let m = out.len();
            let rows = &values[r0 * d..(r0 + m) * d];
            let mut gathered = Vec::with_capacity(block.min(sv.len()) * d);
            let mut dots = Vec::new();
            for (svb, cb) in sv.chunks(block).zip(coef.chunks(block)) {
                gathered.clear();
                for &j in svb {
                    gathered.extend_from_slice(&values[j * d..(j + 1) * d]);
                }
                dots.clear();
                dots.resize(m * svb.len(), 0.0);
                gram_block_seq(rows, m, &gathered, svb.len(), d, &mut dots);
                for (k, gi) in out.iter_mut().enumerate() {
                    let i = r0 + k;
                    let line = &mut dots[k * svb.len()..(k + 1) * svb.len()];
                    kernel.map_dots(line, svb, sq, sq[i]);
                    for (vb, cpb) in line.chunks(PANEL).zip(cb.chunks(PANEL)) {
                        *gi += block_sum(vb, cpb);
                    }
                }
            }
        });
}

/// The certificate from the decision values without bias `gᵢ` (as computed
/// by [`decision_values`]); everything else is `O(n log n)`.
///
/// # Panics
/// When `y` or `alpha` is shorter than `g`.
pub fn certificate_from_values(
    g: &[f64],
    y: &[f64],
    formulation: &Formulation,
    alpha: &[f64],
    b: f64,
) -> Certificate {
    detailed_from_values(g, y, formulation, alpha, b).certificate
}

/// [`certificate_from_values`], also naming the rows behind the worst
/// residuals.
///
/// # Panics
/// When `y` or `alpha` is shorter than `g`.
pub fn detailed_from_values(
    g: &[f64],
    y: &[f64],
    formulation: &Formulation,
    alpha: &[f64],
    b: f64,
) -> Detailed {
    let n = g.len();
    let l2 = formulation.loss == Loss::L2;
    let b = if formulation.bias { b } else { 0.0 };

    let mut sum_alpha = 0.0;
    let mut w_sq = 0.0;
    let mut quad_shift = 0.0;
    let mut y_alpha = 0.0;
    let mut loss = 0.0;
    let mut n_sv = 0;
    let mut n_bounded = 0;
    let mut correct = 0usize;
    let mut bound_violation = 0.0_f64;
    let mut complementarity = 0.0_f64;
    let mut worst_complementarity = None;
    for i in 0..n {
        let (ai, yi, gi) = (alpha[i], y[i], g[i]);
        let ci = formulation.cost(yi);
        let ui = formulation.upper_bound(yi);
        let margin = yi * (gi + b);
        sum_alpha += ai;
        w_sq += ai * yi * gi;
        if l2 {
            // αᵢ·(αᵢ/Cᵢ), not αᵢ²/Cᵢ: at C = 1e-300 the iterate is ~1e-300
            // and αᵢ² underflows to 0 (a dual above the primal, found by a
            // sweep), while αᵢ/Cᵢ stays near 1.
            quad_shift += ai * (ai / ci);
        }
        y_alpha += yi * ai;
        loss += formulation.loss_value(yi, margin);
        if ai > 0.0 {
            n_sv += 1;
            if !l2 && ai >= ci * (1.0 - 1e-12) {
                n_bounded += 1;
            }
        }
        if margin > 0.0 {
            correct += 1;
        }
        bound_violation = nan_max(nan_max(bound_violation, -ai), ai - ui);
        let slack = (1.0 - margin).max(0.0);
        let inactive = ai.max(0.0) * (margin - 1.0).max(0.0);
        let other = if l2 {
            (ai - ci * slack).abs()
        } else {
            (ci - ai).max(0.0) * slack
        };
        let comp = inactive.max(other);
        if worst_complementarity.is_none() || comp > complementarity || comp.is_nan() {
            complementarity = comp;
            worst_complementarity = Some(i);
        }
    }

    let dual_objective = sum_alpha - 0.5 * w_sq - 0.5 * quad_shift;
    let primal_objective = 0.5 * w_sq + loss;
    let (primal_objective_best_bias, best_bias) = if formulation.bias {
        let candidate = best_bias(g, y, formulation, b);
        let h: f64 = (0..n)
            .map(|i| formulation.loss_value(y[i], y[i] * (g[i] + candidate)))
            .sum();
        let p_best = 0.5 * w_sq + h;
        if p_best <= primal_objective {
            (p_best, Some(candidate))
        } else {
            (primal_objective, Some(b))
        }
    } else {
        (primal_objective, None)
    };
    let absolute_gap = primal_objective_best_bias - dual_objective;
    let relative_gap = absolute_gap / primal_objective_best_bias.abs().max(1.0);

    let gradient = |i: usize| {
        let shift = if l2 {
            alpha[i] / formulation.cost(y[i])
        } else {
            0.0
        };
        y[i] * g[i] + shift - 1.0
    };
    let (max_violation, max_violating_pair) = if formulation.bias {
        maximal_violating_pair(n, y, alpha, formulation, gradient)
    } else {
        largest_projected_gradient(n, y, alpha, formulation, gradient)
    };

    let certificate = Certificate {
        dual_objective,
        primal_objective,
        primal_objective_best_bias,
        best_bias,
        absolute_gap,
        relative_gap,
        kkt: KktResiduals {
            bound_violation,
            equality_violation: if formulation.bias { y_alpha.abs() } else { 0.0 },
            max_violation,
            complementarity,
        },
        n_sv,
        n_bounded_sv: n_bounded,
        training_accuracy: if n == 0 {
            1.0
        } else {
            correct as f64 / n as f64
        },
    };
    Detailed {
        certificate,
        max_violating_pair,
        worst_complementarity,
        bias_used: b,
    }
}

/// `max(0, m(α) − M(α))` and the pair attaining it (see the module doc).
fn maximal_violating_pair(
    n: usize,
    y: &[f64],
    alpha: &[f64],
    formulation: &Formulation,
    gradient: impl Fn(usize) -> f64,
) -> (f64, Option<[usize; 2]>) {
    let mut up: Option<(f64, usize)> = None;
    let mut low: Option<(f64, usize)> = None;
    for i in 0..n {
        let (ai, yi) = (alpha[i], y[i]);
        let below_upper = ai < formulation.upper_bound(yi);
        let above_lower = ai > 0.0;
        let positive = yi > 0.0;
        let v = -yi * gradient(i);
        let in_up = (below_upper && positive) || (above_lower && !positive);
        let in_low = (below_upper && !positive) || (above_lower && positive);
        if in_up && replaces(up, v, |m| v > m) {
            up = Some((v, i));
        }
        if in_low && replaces(low, v, |m| v < m) {
            low = Some((v, i));
        }
    }
    match (up, low) {
        (Some((m, i)), Some((big_m, j))) => {
            let gap = m - big_m;
            // NaN stays NaN: a broken α must not look optimal.
            (if gap.is_nan() { gap } else { gap.max(0.0) }, Some([i, j]))
        }
        _ => (0.0, None),
    }
}

/// The largest projected-gradient entry and its row (see the module doc).
fn largest_projected_gradient(
    n: usize,
    y: &[f64],
    alpha: &[f64],
    formulation: &Formulation,
    gradient: impl Fn(usize) -> f64,
) -> (f64, Option<[usize; 2]>) {
    let mut best: Option<(f64, usize)> = None;
    for i in 0..n {
        let gi = gradient(i);
        let v = if alpha[i] <= 0.0 {
            (-gi).max(0.0)
        } else if alpha[i] >= formulation.upper_bound(y[i]) {
            gi.max(0.0)
        } else {
            gi.abs()
        };
        let v = if gi.is_nan() { gi } else { v };
        if replaces(best, v, |m| v > m) {
            best = Some((v, i));
        }
    }
    match best {
        Some((v, i)) => (v, Some([i, i])),
        None => (0.0, None),
    }
}

/// Whether `v` should replace the current extreme `current` (`better`
/// compares against its value): always for the first row, and for NaN so a
/// broken input never looks optimal.
fn replaces(current: Option<(f64, usize)>, v: f64, better: impl Fn(f64) -> bool) -> bool {
    match current {
        None => true,
        Some((m, _)) => !m.is_nan() && (v.is_nan() || better(m)),
    }
}

/// `max(a, b)` that propagates NaN (unlike [`f64::max`]).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// `v` clamped into `[lo, hi]` without panicking on NaN or `lo > hi`.
fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    v.max(lo).min(hi)
}

/// An exact minimiser of `h(b) = Σ ℓᵢ(yᵢ(gᵢ + b))` over `b` (see the
/// module doc): when the minimum is attained on an interval, the point of
/// it closest to `b_hint`. With no rows, `b_hint`.
///
/// # Panics
/// When `y` is shorter than `g`.
pub fn best_bias(g: &[f64], y: &[f64], formulation: &Formulation, b_hint: f64) -> f64 {
    let n = g.len();
    if n == 0 {
        return b_hint;
    }
    // Breakpoints tᵢ = yᵢ − gᵢ, sorted (ties in any order: zero-length
    // pieces are harmless).
    let mut order: Vec<usize> = (0..n).collect();
    let t: Vec<f64> = (0..n).map(|i| y[i] - g[i]).collect();
    order.sort_by(|&a, &b| t[a].total_cmp(&t[b]).then(a.cmp(&b)));
    let ts: Vec<f64> = order.iter().map(|&i| t[i]).collect();
    let cs: Vec<f64> = order.iter().map(|&i| formulation.cost(y[i])).collect();
    let pos: Vec<bool> = order.iter().map(|&i| y[i] > 0.0).collect();

    // Piece k (k = 0..=n) is [ts[k−1], ts[k]] with ts[−1] = −∞, ts[n] = +∞.
    // Active on piece k: positives with index ≥ k, negatives with index < k.
    // suf_*[k] sums positives from k on; pre_*[k] sums negatives before k.
    let mut suf_c = vec![0.0; n + 1];
    let mut suf_ct = vec![0.0; n + 1];
    for k in (0..n).rev() {
        let (c, ct) = if pos[k] {
            (cs[k], cs[k] * ts[k])
        } else {
            (0.0, 0.0)
        };
        suf_c[k] = suf_c[k + 1] + c;
        suf_ct[k] = suf_ct[k + 1] + ct;
    }
    let mut pre_c = 0.0;
    let mut pre_ct = 0.0;
    for k in 0..=n {
        let lo = if k == 0 { f64::NEG_INFINITY } else { ts[k - 1] };
        let hi = if k == n { f64::INFINITY } else { ts[k] };
        match formulation.loss {
            Loss::L1 => {
                let slope = pre_c - suf_c[k];
                if slope > 0.0 {
                    return clamp(b_hint, lo, lo);
                }
                if slope == 0.0 {
                    return clamp(b_hint, lo, hi);
                }
            }
            Loss::L2 => {
                // h′(b) = A b − B on this piece.
                let a = suf_c[k] + pre_c;
                let bb = suf_ct[k] + pre_ct;
                if a == 0.0 {
                    return clamp(b_hint, lo, hi);
                }
                // Strictly positive at `hi`: the root is on this piece. Zero
                // at `hi`: it is `hi` itself, which the next piece finds
                // too, possibly as the end of a flat piece (then the hint
                // is clamped into it).
                if k == n || a * hi - bb > 0.0 {
                    return clamp(bb / a, lo, hi);
                }
            }
        }
        if k < n && !pos[k] {
            pre_c += cs[k];
            pre_ct += cs[k] * ts[k];
        }
    }
    // Unreachable for finite data (the last piece has slope ≥ 0); with NaN
    // in the data every comparison fails and the hint is as good as any.
    b_hint
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` seeded sparse rows over `groups · stride` columns: one entry a
    /// group of `stride` columns, valued `(l − (levels − 1)/2) · scale` for
    /// `l` drawn in `0..levels` (zeros dropped).
    fn random_rows(
        seed: u64,
        n: usize,
        groups: u32,
        stride: u32,
        levels: u64,
        scale: f64,
    ) -> Features {
        let mut next = crate::test_rng::xorshift(seed);
        let centre = ((levels - 1) / 2) as f64;
        let rows: Vec<Vec<(u32, f64)>> = (0..n)
            .map(|_| {
                let mut r: Vec<(u32, f64)> = (0..groups)
                    .map(|g| {
                        let col = g * stride + next(u64::from(stride)) as u32;
                        (col, (next(levels) as f64 - centre) * scale)
                    })
                    .filter(|e| e.1 != 0.0)
                    .collect();
                r.dedup_by_key(|e| e.0);
                r
            })
            .collect();
        Features::from_sparse_rows(&rows, (groups * stride) as usize)
    }

    #[test]
    fn panels_and_pairwise_dot_products_agree_to_the_bit() {
        // 150 support vectors: two full panels and a partial one.
        let n = 300;
        let features = random_rows(0x9e37_79b9_7f4a_7c15, n, 5, 8, 7, 0.3);
        let sv: Vec<usize> = (0..n).filter(|i| i % 2 == 0).collect();
        let coef: Vec<f64> = sv.iter().map(|&j| (j % 7) as f64 - 3.0).collect();
        let sq: Vec<f64> = (0..n).map(|i| features.row(i).squared_norm()).collect();
        for kernel in [Kernel::Rbf { gamma: 0.5 }, Kernel::Linear] {
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            panel_values(&features, kernel, &sv, &coef, &sq, &mut a);
            sparse_values(&features, kernel, &sv, &coef, &sq, &mut b);
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        // Dense storage through the panel (every entry of a row, zeros
        // included, in increasing column order) against the blocked
        // product: the same sums up to rounding.
        let mut values = vec![0.0; n * 40];
        for (i, row) in values.chunks_mut(40).enumerate() {
            features.row(i).scatter_into(row);
        }
        let dense = Features::from_dense(values.clone(), n, 40);
        assert!(matches!(dense, Features::Dense(_)));
        for kernel in [Kernel::Rbf { gamma: 0.5 }, Kernel::Linear] {
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            panel_values(&dense, kernel, &sv, &coef, &sq, &mut a);
            dense_values(&values, 40, kernel, &sv, &coef, &sq, &mut b);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
    }

    /// More support vectors than one chunk: the support vectors' values
    /// come from row sums and other chunks' column sums, so they agree with
    /// the pairwise path up to rounding; the other rows to the bit. The
    /// same for any number of threads.
    #[test]
    fn symmetric_support_vector_block_agrees_with_pairwise_values() {
        let n = 1500;
        let features = random_rows(0x2545_f491_4f6c_dd1d, n, 6, 10, 9, 0.25);
        // 900 support vectors, not a multiple of a panel: three full
        // chunks, a partial one, a partial last panel.
        let sv: Vec<usize> = (0..n)
            .filter(|i| i % 5 != 0 && i % 7 != 3)
            .take(900)
            .collect();
        assert_eq!(sv.len(), 900);
        let coef: Vec<f64> = sv.iter().map(|&j| (j % 11) as f64 * 0.1 - 0.5).collect();
        let sq: Vec<f64> = (0..n).map(|i| features.row(i).squared_norm()).collect();
        let poly = Kernel::Poly {
            gamma: 0.3,
            coef0: 1.0,
            degree: 3,
        };
        for kernel in [Kernel::Rbf { gamma: 0.2 }, Kernel::Linear, poly] {
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            panel_values(&features, kernel, &sv, &coef, &sq, &mut a);
            sparse_values(&features, kernel, &sv, &coef, &sq, &mut b);
            let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for i in 0..n {
                if sv.binary_search(&i).is_ok() {
                    assert!(
                        (a[i] - b[i]).abs() <= 1e-13 * scale,
                        "{i}: {} vs {}",
                        a[i],
                        b[i]
                    );
                } else {
                    assert_eq!(a[i].to_bits(), b[i].to_bits(), "{i}");
                }
            }
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .expect("a pool");
            let mut c = vec![0.0; n];
            one.install(|| panel_values(&features, kernel, &sv, &coef, &sq, &mut c));
            assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }

    fn form(loss: Loss, bias: bool) -> Formulation {
        Formulation {
            loss,
            c: 1.0,
            bias,
            ..Default::default()
        }
    }

    #[test]
    fn best_bias_l1_single_pair() {
        // t = (1 − 0, −1 − 0): positive breakpoint 1, negative −1; h is
        // zero on [−1, 1], so the hint is kept when inside and clamped
        // otherwise.
        let f = form(Loss::L1, true);
        let (g, y) = ([0.0, 0.0], [1.0, -1.0]);
        assert_eq!(best_bias(&g, &y, &f, 0.25), 0.25);
        assert_eq!(best_bias(&g, &y, &f, 5.0), 1.0);
        assert_eq!(best_bias(&g, &y, &f, -5.0), -1.0);
    }

    #[test]
    fn best_bias_l1_weighted_median() {
        // Two positives with t = 0 and 2 (cost 1 each), one negative with
        // t = −1 (cost 3): slope −2 below −1, +1 between −1 and 0 → b = −1.
        let f = Formulation {
            loss: Loss::L1,
            c: 1.0,
            weight_negative: 3.0,
            ..Default::default()
        };
        let g = [1.0, -1.0, 0.0];
        let y = [1.0, 1.0, -1.0];
        assert_eq!(best_bias(&g, &y, &f, 10.0), -1.0);
    }

    #[test]
    fn best_bias_l2_overlapping() {
        // g = 0: positive t = 1 (active for b < 1), negative t = −1
        // (active for b > −1): h = ½(1 − b)² + ½(b + 1)² on [−1, 1],
        // minimum at 0. g = (2, −2): t = (−1, 1), no slack on [−1, 1], so
        // h = 0 there and the hint is kept (or clamped into it).
        let f = form(Loss::L2, true);
        let y = [1.0, -1.0];
        assert_eq!(best_bias(&[0.0, 0.0], &y, &f, 0.7), 0.0);
        assert_eq!(best_bias(&[2.0, -2.0], &y, &f, 0.7), 0.7);
        assert_eq!(best_bias(&[2.0, -2.0], &y, &f, -3.0), -1.0);
        assert_eq!(best_bias(&[2.0, -2.0], &y, &f, 3.0), 1.0);
    }

    #[test]
    fn one_class_is_handled() {
        let f = form(Loss::L1, true);
        // Only negatives: h nondecreasing, zero for b ≤ min t = −1 − 0.
        assert_eq!(best_bias(&[0.0, 1.0], &[-1.0, -1.0], &f, 3.0), -2.0);
        assert_eq!(best_bias(&[0.0, 1.0], &[-1.0, -1.0], &f, -3.0), -3.0);
        let f = form(Loss::L2, true);
        assert_eq!(best_bias(&[0.0, 1.0], &[1.0, 1.0], &f, -3.0), 1.0);
    }

    #[test]
    fn a_tiny_cost_keeps_weak_duality() {
        // C = 1e-300, α = C·ξ with ξ = 1: D = Σα − ½Σα²/C = 1e-300 = P.
        // With α² formed first it underflowed and D came out as 2e-300.
        let f = Formulation {
            loss: Loss::L2,
            c: 1e-300,
            bias: false,
            ..Default::default()
        };
        let d = detailed_from_values(&[0.0, 0.0], &[1.0, -1.0], &f, &[1e-300, 1e-300], 0.0);
        let c = d.certificate;
        assert!(
            (c.dual_objective - 1e-300).abs() <= 1e-310,
            "{}",
            c.dual_objective
        );
        assert!(c.dual_objective <= c.primal_objective, "{c:?}");
    }

    #[test]
    fn empty_problem_gives_zeros() {
        let d = detailed_from_values(&[], &[], &form(Loss::L2, true), &[], 0.5);
        assert_eq!(d.max_violating_pair, None);
        let c = d.certificate;
        assert_eq!(c.absolute_gap, 0.0);
        assert_eq!(c.best_bias, Some(0.5));
        assert_eq!(c.training_accuracy, 1.0);
    }

    #[test]
    fn nan_alpha_is_not_certified() {
        let g = [0.0, 0.0];
        let c = certificate_from_values(
            &g,
            &[1.0, -1.0],
            &form(Loss::L1, true),
            &[f64::NAN, 0.0],
            0.0,
        );
        assert!(c.kkt.max_violation.is_nan() || c.absolute_gap.is_nan());
    }
}
