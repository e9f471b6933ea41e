//! Dual coordinate descent for linear SVMs: the dual is solved while
//! `w = Σᵢ αᵢyᵢx̃ᵢ` is kept explicitly, so one coordinate step costs
//! `O(nnz(xᵢ))` instead of a kernel column.
//!
//! # The problem
//! Rows `xᵢ ∈ ℝᵈ` (seen through [`RowMatrix`], sparse rows), signs
//! `yᵢ ∈ {+1, −1}`, upper bounds `Uᵢ ∈ [0, +∞]` and diagonal shifts
//! `dᵢ ≥ 0`:
//! ```text
//!     minimise    f(α) = ½‖w(α)‖² + ½ Σ dᵢαᵢ² − Σ αᵢ,   w(α) = Σ αᵢyᵢx̃ᵢ
//!     subject to  0 ≤ αᵢ ≤ Uᵢ       and, with CdBias::Unregularized, yᵀα = 0
//! ```
//! i.e. `min ½αᵀQ̄α − eᵀα` with `Q̄ = YXXᵀY + diag(d)`. The hinge-loss SVM
//! dual is `Uᵢ = Cᵢ, dᵢ = 0`; the squared-slack dual (`(Cᵢ/2)ξᵢ²`) is
//! `Uᵢ = +∞, dᵢ = 1/Cᵢ`, so `Q̄ᵢᵢ = ‖xᵢ‖² + 1/Cᵢ` exactly.
//! `x̃ᵢ` is `xᵢ`, or `[xᵢ; B]` with [`CdBias::Regularized`] (LIBLINEAR's
//! `-B`: a constant feature whose weight is regularised like the others).
//!
//! The Fenchel dual of this QP, used for the duality gap, is
//! ```text
//!     P(w, b) = ½‖w‖² + Σ ℓᵢ(yᵢ(⟨w, x̃ᵢ⟩ + b)),
//!     ℓᵢ(m) = sup_{0 ≤ a ≤ Uᵢ} a(1 − m) − ½dᵢa²
//! ```
//! (`b = 0` unless the bias is unregularised): `ℓᵢ(m) = Cᵢ max(0, 1 − m)`
//! for the hinge dual, `(Cᵢ/2) max(0, 1 − m)²` for the squared-slack dual.
//! Weak duality gives `P(w, b) ≥ −f(α*) ≥ −f(α)` for every feasible `α`.
//!
//! # Algorithm without the equality
//! Hsieh, Chang, Lin, Keerthi & Sundararajan, *A dual coordinate descent
//! method for large-scale linear SVM*, ICML 2008, Algorithm 1 with the
//! random permutation and shrinking of its §3 (LIBLINEAR's
//! `solve_l2r_l1l2_svc`): every pass visits the active variables in a fresh
//! random order (a seeded SplitMix64 generator, Fisher–Yates shuffle, so
//! runs are reproducible); for variable `i`,
//! `Gᵢ = yᵢ⟨w, x̃ᵢ⟩ − 1 + dᵢαᵢ`, the projected gradient `PGᵢ` (`min(Gᵢ, 0)`
//! at `αᵢ = 0`, `max(Gᵢ, 0)` at `αᵢ = Uᵢ`, `Gᵢ` otherwise), and if
//! `PGᵢ ≠ 0` the exact one-variable minimiser
//! `αᵢ ← clip(αᵢ − Gᵢ/Q̄ᵢᵢ, 0, Uᵢ)`, `w ← w + Δαᵢ yᵢ x̃ᵢ`.
//! **Shrinking** (§3.2): `i` at `0` with `Gᵢ > M̄` or at `Uᵢ` with
//! `Gᵢ < m̄` (`M̄`, `m̄`: the largest and smallest `PG` of the previous pass)
//! leaves the active set. **Stopping**: the spread `max PG − min PG` over
//! one pass at most `tol` (LIBLINEAR's `-e`, default 0.1); on a shrunk set
//! the pass is repeated on all variables before stopping. The convergence
//! is linear (Hsieh et al., Theorem 1, after Luo & Tseng 1992).
//!
//! The order is uniformly random although that costs memory time: once the
//! rows outgrow the last-level cache, each row is a fresh trip to memory
//! (the synthetic benchmark's pass: 1.9 ns per non-zero at 10⁵ non-zeros,
//! 4.9 ns at 10⁸). Tried and not kept: a pass visiting random blocks of
//! about 32 KiB of consecutive rows, each block in random order — still a
//! random permutation, and within Theorem 1 — made the pass 2.2 ns per
//! non-zero at 10⁸, but multiplied the passes to converge on a9a (no bias,
//! C = 1, 186 rows a block): L1 at tol 0.1 347 → 545 and at 0.001
//! 2 696 → 6 519; L2 66 → 396 and 136 → 6 090 (0.26 s → 7.5 s); on a9a
//! sorted by label 135 → 14 215. Fixed groups of rows visited together
//! behave like the cyclic order, which can be far slower than a random one
//! on such Gram matrices (Sun & Ye, *Worst-case complexity of cyclic
//! coordinate descent*, Math. Programming 185, 2021).
//!
//! # Algorithm with the equality (`yᵀα = 0`)
//! Two-variable SMO steps that maintain `w`, each costing
//! `O(nnz(xᵢ) + nnz(xⱼ))`: every pass visits the active variables in random
//! order; for `i` the exact score `vᵢ = −yᵢGᵢ` is computed and `i` is
//! paired with the best partner recorded so far (the largest `v` over
//! `I_up` or the smallest over `I_low`, see [`crate::kkt`]); the partner's
//! score is recomputed exactly, and if the pair violates the optimality
//! condition by more than `tol` the two-variable subproblem along
//! `Δαᵤ = yᵤt, Δαₗ = −yₗt` is minimised exactly (curvature
//! `‖x̃ᵤ − x̃ₗ‖² + dᵤ + dₗ`, step clipped to the box), `w ← w + t(x̃ᵤ − x̃ₗ)`.
//! Only pairs violating by more than `tol` are moved, which is the
//! generalised SMO of Keerthi & Gilbert (*Convergence of a generalized SMO
//! algorithm for SVM classifier design*, Machine Learning 46, 2002): it
//! reaches `m(α) − M(α) ≤ tol` in finitely many steps. Shrinking removes
//! bounded variables whose score cannot join a violating pair against the
//! previous pass's extremes. When the pass's spread falls to `tol`, all
//! variables are unshrunk, every gradient is recomputed exactly and the
//! true `m(α) − M(α)` decides; if it is above `tol` the maximal violating
//! pair is stepped on and the passes continue. The bias is the equality's
//! multiplier, [`crate::kkt::equality_multiplier`].
//!
//! # Stopping on the duality gap
//! With [`CdSettings::gap_tol`], the run stops only when the relative gap
//! `(P(w, b) − D(α)) / max(1, |P(w, b)|)`, `D = −f`, is at most `gap_tol`
//! (beyond LIBLINEAR, which has no such test). The gap is evaluated every
//! [`GAP_EVERY`] passes and whenever the projected-gradient test passes on
//! all variables; each time the latter happens with the gap still too
//! large, the internal `tol` is divided by 10. With the unregularised bias,
//! `b` is the current multiplier estimate, so the gap is an upper bound of
//! the one at the best `b`.
//!
//! # Stalls
//! A pass measure that stays within rounding without a new low for 50
//! passes, or a gap within rounding (`2¹⁰ε`) without a new low for 8
//! evaluations, ends the run with [`Status::Stalled`]: the tolerance or
//! the target gap asks for more than rounding allows ([`crate::stall`]).
//!
//! # Parallelism and determinism
//! Coordinate steps are sequential: a parallel pass (Hogwild-style) would
//! lose the descent property each step has and so the convergence proof.
//! Only work that does not change `α` runs in parallel: the margins of the
//! gap evaluation and the exact gradients of the final check. Each is
//! computed independently per row and all sums run sequentially over rows
//! in index order, so the result is bit-identical for any rayon pool size.

use crate::kkt;
use crate::memory::prefetch;
use crate::rng::SplitMix64;
use crate::solution::cancelled;
use crate::stall::{rounding_floor, StallWatch};
use crate::{Progress, SetupError, Status};
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The gap is evaluated every this many passes when [`CdSettings::gap_tol`]
/// is set.
pub const GAP_EVERY: u64 = 10;

/// The pass limit when [`CdSettings::max_passes`] is not set, so that every
/// solve ends: a hundred times LIBLINEAR's 1000, since this solver is also
/// asked for tolerances LIBLINEAR is not (a9a needs 2 696 passes at tol
/// 10⁻³ with the hinge loss).
pub const DEFAULT_MAX_PASSES: u64 = 100_000;

/// Passes without a new low of the pass measure within rounding, and gap
/// evaluations without a new low of a gap within rounding, before the solve
/// ends as stalled ([`crate::stall`]).
const STALL_PASSES: u32 = 50;
const STALL_GAPS: u32 = 8;

/// The rounding floor of a relative duality gap: objectives summed over the
/// rows carry relative errors of a few `ε` each.
const GAP_FLOOR: f64 = 1024.0 * f64::EPSILON;

/// The box-constrained loop steps only on a projected gradient above this
/// (LIBLINEAR's rule), so its pass spread can rest anywhere up to twice it
/// with nothing moving: that is part of its stall floor.
const STEP_THRESHOLD: f64 = 1e-12;

/// The stall tests of the pass measure and of the gap.
fn stall_watches() -> (StallWatch, StallWatch) {
    (StallWatch::new(STALL_PASSES), StallWatch::new(STALL_GAPS))
}

/// The curvature used when a pair's curvature is not positive (LIBSVM's
/// `TAU`).
const TAU: f64 = 1e-12;

/// Rows per parallel task in the gap and gradient evaluations.
const ROW_CHUNK: usize = 1024;

/// How many rows ahead of the current one the passes prefetch a row's
/// entries and scalars (its extent twice as far ahead). Measured (10⁸
/// nonzeros, synthetic, ns per nonzero a pass, two alternating runs):
/// 8 rows 6.11, 7.10; 16 rows 6.62, 6.52; 24 rows 7.33, 7.21; 32 rows 6.92,
/// 6.77.
const AHEAD: usize = 16;

/// One sparse row: 0-based column indices (strictly increasing) and values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseRow<'a> {
    /// Column indices.
    pub indices: &'a [u32],
    /// Values, one per index.
    pub values: &'a [f64],
}

impl SparseRow<'_> {
    /// `⟨row, w⟩`. `w` must cover every index.
    ///
    /// Four partial sums, entry `p` going to sum `p mod 4` and the sums
    /// added as `(s₀ + s₁) + (s₂ + s₃)` plus the last `len mod 4` entries
    /// in order: a fixed order (so the result is reproducible), and four
    /// independent addition chains instead of one, which the processor
    /// overlaps (a single chain waits for each addition's latency).
    #[inline]
    pub fn dot(&self, w: &[f64]) -> f64 {
        let n = self.indices.len().min(self.values.len());
        let (indices, values) = (&self.indices[..n], &self.values[..n]);
        let (ci, cv) = (indices.chunks_exact(4), values.chunks_exact(4));
        let (ri, rv) = (ci.remainder(), cv.remainder());
        let mut s = [0.0f64; 4];
        for (k, v) in ci.zip(cv) {
            s[0] += v[0] * w[k[0] as usize];
            s[1] += v[1] * w[k[1] as usize];
            s[2] += v[2] * w[k[2] as usize];
            s[3] += v[3] * w[k[3] as usize];
        }
        let mut tail = 0.0;
        for (&k, &v) in ri.iter().zip(rv) {
            tail += v * w[k as usize];
        }
        (s[0] + s[1]) + (s[2] + s[3]) + tail
    }

    /// `w ← w + a·row`. `w` must cover every index. (Unrolled by four;
    /// each entry of `w` changes once, so the result does not depend on
    /// the unrolling.)
    #[inline]
    pub fn add_to(&self, a: f64, w: &mut [f64]) {
        let n = self.indices.len().min(self.values.len());
        let (indices, values) = (&self.indices[..n], &self.values[..n]);
        let (ci, cv) = (indices.chunks_exact(4), values.chunks_exact(4));
        let (ri, rv) = (ci.remainder(), cv.remainder());
        for (k, v) in ci.zip(cv) {
            w[k[0] as usize] += a * v[0];
            w[k[1] as usize] += a * v[1];
            w[k[2] as usize] += a * v[2];
            w[k[3] as usize] += a * v[3];
        }
        for (&k, &v) in ri.iter().zip(rv) {
            w[k as usize] += a * v;
        }
    }

    /// `Σ vₖ²`.
    pub fn squared_norm(&self) -> f64 {
        self.values.iter().map(|v| v * v).sum()
    }

    /// `⟨self, other⟩` by merging the sorted indices.
    pub fn dot_row(&self, other: &SparseRow<'_>) -> f64 {
        let (ia, ib) = (self.indices, other.indices);
        let (mut p, mut q, mut s) = (0, 0, 0.0);
        while p < ia.len() && q < ib.len() {
            match ia[p].cmp(&ib[q]) {
                std::cmp::Ordering::Less => p += 1,
                std::cmp::Ordering::Greater => q += 1,
                std::cmp::Ordering::Equal => {
                    s += self.values[p] * other.values[q];
                    p += 1;
                    q += 1;
                }
            }
        }
        s
    }
}

/// The data matrix as the solver sees it: sparse rows. Implementations
/// must return the same row for the same `i` every time.
pub trait RowMatrix: Sync {
    /// Number of rows (samples).
    fn n_rows(&self) -> usize;
    /// Number of columns (features); every index is below it.
    fn n_cols(&self) -> usize;
    /// Row `i`.
    fn row(&self, i: usize) -> SparseRow<'_>;
    /// A hint that row `i`'s extent (where it starts and ends) will be
    /// looked up soon: a cache prefetch, no effect on any result. The
    /// default does nothing.
    #[inline]
    fn prefetch_extent(&self, _i: usize) {}
    /// A hint that row `i`'s entries will be read soon (see
    /// [`prefetch_extent`](Self::prefetch_extent)). The default does
    /// nothing.
    #[inline]
    fn prefetch_row(&self, _i: usize) {}
}

/// Borrowed compressed-sparse-row storage.
#[derive(Debug, Clone, Copy)]
pub struct CsrRef<'a> {
    indptr: &'a [usize],
    indices: &'a [u32],
    values: &'a [f64],
    n_cols: usize,
}

impl<'a> CsrRef<'a> {
    /// Wraps CSR arrays: row `i` occupies `indptr[i]..indptr[i + 1]`.
    /// Checks that `indptr` starts at 0, is nondecreasing and ends at
    /// `indices.len() == values.len()`, and that every index is below
    /// `n_cols` (`O(nnz)`).
    pub fn new(
        indptr: &'a [usize],
        indices: &'a [u32],
        values: &'a [f64],
        n_cols: usize,
    ) -> Result<Self, SetupError> {
        if values.len() != indices.len() {
            return Err(SetupError::DimensionMismatch {
                what: "CSR values",
                expected: indices.len(),
                found: values.len(),
            });
        }
        let bad_ptr = indptr.first().is_some_and(|&p| p != 0)
            || indptr.windows(2).any(|w| w[1] < w[0])
            || indptr.last().copied().unwrap_or(0) != indices.len();
        if indptr.is_empty() || bad_ptr {
            return Err(SetupError::InvalidSetting {
                name: "indptr",
                reason: "must start at 0, be nondecreasing and end at the number of entries".into(),
            });
        }
        if let Some(p) = indices.iter().position(|&k| k as usize >= n_cols) {
            return Err(SetupError::InvalidSetting {
                name: "indices",
                reason: format!("entry {p} has column {} ≥ n_cols = {n_cols}", indices[p]),
            });
        }
        Ok(Self {
            indptr,
            indices,
            values,
            n_cols,
        })
    }
}

impl RowMatrix for CsrRef<'_> {
    fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    fn n_cols(&self) -> usize {
        self.n_cols
    }

    #[inline]
    fn row(&self, i: usize) -> SparseRow<'_> {
        let r = self.indptr[i]..self.indptr[i + 1];
        SparseRow {
            indices: &self.indices[r.clone()],
            values: &self.values[r],
        }
    }

    #[inline]
    fn prefetch_extent(&self, i: usize) {
        if let Some(p) = self.indptr.get(i..i + 2) {
            prefetch(&p[0]);
            prefetch(&p[1]);
        }
    }

    #[inline]
    fn prefetch_row(&self, i: usize) {
        let Some(&[start, end]) = self.indptr.get(i..i + 2) else {
            return;
        };
        // Every cache line of the row, up to 1 KiB of values.
        let end = end.min(start + 128);
        for p in (start..end).step_by(16) {
            prefetch(&self.indices[p]);
        }
        for p in (start..end).step_by(8) {
            prefetch(&self.values[p]);
        }
    }
}

/// How the bias enters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CdBias {
    /// No bias: `f(x) = ⟨w, x⟩`.
    None,
    /// LIBLINEAR's `-B value`: every row gets a constant feature `value`
    /// whose weight `w_B` is regularised like the others; the bias is
    /// `value·w_B`. This is a different problem from the SVM with bias.
    Regularized {
        /// The constant feature `B ≥ 0`.
        value: f64,
    },
    /// The true, unregularised bias: the dual gets `yᵀα = 0`, solved by
    /// two-variable steps; the bias is the equality's multiplier.
    Unregularized,
}

/// The dual problem apart from the rows.
#[derive(Debug, Clone, Copy)]
pub struct CdProblem<'a> {
    /// `yᵢ`, each `+1.0` or `−1.0`.
    pub signs: &'a [f64],
    /// `Uᵢ ≥ 0`, `f64::INFINITY` allowed.
    pub upper: &'a [f64],
    /// `dᵢ ≥ 0`, finite.
    pub shift: &'a [f64],
    /// How the bias enters.
    pub bias: CdBias,
}

/// Settings of [`solve_cd`].
#[derive(Debug, Clone, PartialEq)]
pub struct CdSettings {
    /// The projected-gradient tolerance: without the equality, stop when
    /// `max PG − min PG` over a pass on all variables is at most `tol`
    /// (LIBLINEAR's `-e`); with it, when `m(α) − M(α) ≤ tol`. Default 0.1,
    /// LIBLINEAR's default for its dual solvers.
    pub tol: f64,
    /// If set, stop on the relative duality gap instead (see the module
    /// doc). Default `None`.
    pub gap_tol: Option<f64>,
    /// Stop with [`Status::MaxIterations`] after this many passes. `None`:
    /// [`DEFAULT_MAX_PASSES`]; `Some(u64::MAX)` for no limit.
    pub max_passes: Option<u64>,
    /// Stop with [`Status::TimeLimit`] after this wall time. `None`: no
    /// limit.
    pub time_limit: Option<Duration>,
    /// Shrinking (Hsieh et al. 2008, §3.2). Default on.
    pub shrinking: bool,
    /// Seed of the permutation generator. Default 1.
    pub seed: u64,
    /// Call the progress callback at most this often. Default one second.
    pub progress_interval: Duration,
}

impl Default for CdSettings {
    fn default() -> Self {
        Self {
            tol: 0.1,
            gap_tol: None,
            max_passes: None,
            time_limit: None,
            shrinking: true,
            seed: 1,
            progress_interval: Duration::from_secs(1),
        }
    }
}

impl CdSettings {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), SetupError> {
        let positive = |name: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(SetupError::InvalidSetting {
                    name,
                    reason: format!("must be a positive finite number, got {v}"),
                })
            }
        };
        positive("tol", self.tol)?;
        if let Some(g) = self.gap_tol {
            positive("gap_tol", g)?;
        }
        if self.max_passes == Some(0) {
            return Err(SetupError::InvalidSetting {
                name: "max_passes",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Which optimality measure [`CdSolution::max_violation`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMeasure {
    /// `max PG − min PG` over the last pass (LIBLINEAR's measure; the
    /// gradients are taken as the pass visits them, not at one point).
    ProjectedGradientSpread,
    /// `m(α) − M(α)` at the final point, from exact gradients.
    MaximalViolatingPair,
}

impl StopMeasure {
    /// A stable lower-case name, as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            StopMeasure::ProjectedGradientSpread => "projected_gradient_spread",
            StopMeasure::MaximalViolatingPair => "maximal_violating_pair",
        }
    }
}

/// The result of [`solve_cd`].
#[derive(Debug, Clone, PartialEq)]
pub struct CdSolution {
    /// The final point, feasible.
    pub alpha: Vec<f64>,
    /// `w = Σ αᵢyᵢxᵢ` as maintained by the solver (length `n_cols`, the
    /// constant feature's weight excluded).
    pub w: Vec<f64>,
    /// The weight `w_B` of the constant feature ([`CdBias::Regularized`]
    /// only).
    pub bias_weight: Option<f64>,
    /// The constant of the decision function `f(x) = ⟨w, x⟩ + bias`:
    /// `B·w_B`, the equality's multiplier, or 0.
    pub bias: f64,
    /// `f(α) = ½‖w̃‖² + ½Σdᵢαᵢ² − Σαᵢ` (minimisation form) from the
    /// solver's `w`.
    pub objective: f64,
    /// The solver's own optimality measure at the end (see `measure`).
    pub max_violation: f64,
    /// What `max_violation` measures.
    pub measure: StopMeasure,
    /// The last relative duality gap evaluated (only with
    /// [`CdSettings::gap_tol`]).
    pub relative_gap: Option<f64>,
    /// How the solve ended.
    pub status: Status,
    /// Passes over the (active) variables.
    pub passes: u64,
    /// Coordinate (or pair) updates that changed `α`.
    pub updates: u64,
    /// Wall time of the solve.
    pub elapsed: Duration,
}

/// A recorded extreme score `(value, index)`.
type Extreme = Option<(f64, usize)>;

/// A row's `αᵢ` beside the scalars a step on it reads, in one cache line:
/// the passes visit rows in random order, so each array of per-row
/// scalars read costs a cache miss a row on data larger than the cache.
/// Measured (synthetic, 10⁸ nonzeros, 2·10⁶ rows, ns per nonzero a pass,
/// two alternating runs): five arrays 7.67, 7.31; this 6.83, 5.73.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Var {
    alpha: f64,
    /// `yᵢ`.
    y: f64,
    /// `Uᵢ`.
    upper: f64,
    /// `dᵢ`.
    shift: f64,
    /// `‖x̃ᵢ‖²`.
    sq: f64,
}

/// Solver state.
struct Cd<'a, M: RowMatrix + ?Sized> {
    x: &'a M,
    y: &'a [f64],
    upper: &'a [f64],
    /// The constant feature `B` (0 when there is none).
    b_value: f64,
    /// Each row's `αᵢ` and scalars.
    v: Vec<Var>,
    w: Vec<f64>,
    w_b: f64,
    index: Vec<usize>,
    active: usize,
    rng: SplitMix64,
    updates: u64,
    cancel: Option<&'a AtomicBool>,
}

/// Solves the linear dual by coordinate descent (see the module doc).
/// Errors only for an invalid problem or settings; limits end with a
/// [`Status`].
///
/// `progress` is called at most once per `settings.progress_interval`, with
/// `iterations` counting passes.
pub fn solve_cd<M: RowMatrix + ?Sized>(
    x: &M,
    problem: &CdProblem<'_>,
    settings: &CdSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<CdSolution, SetupError> {
    solve_cd_cancellable(x, problem, settings, progress, None)
}

/// [`solve_cd`] with cooperative cancellation: when `cancel` is set the
/// solve stops at the start of its next pass with [`Status::Interrupted`]
/// and returns the current iterate (feasible).
pub fn solve_cd_cancellable<M: RowMatrix + ?Sized>(
    x: &M,
    problem: &CdProblem<'_>,
    settings: &CdSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<CdSolution, SetupError> {
    let start = Instant::now();
    settings.validate()?;
    let n = x.n_rows();
    validate(x, problem)?;
    let b_value = match problem.bias {
        CdBias::Regularized { value } => value,
        _ => 0.0,
    };
    let mut v: Vec<Var> = crate::memory::with_capacity_huge(n);
    v.extend((0..n).map(|i| Var {
        alpha: 0.0,
        y: problem.signs[i],
        upper: problem.upper[i],
        shift: problem.shift[i],
        sq: x.row(i).squared_norm() + b_value * b_value,
    }));
    let mut cd = Cd {
        x,
        y: problem.signs,
        upper: problem.upper,
        b_value,
        v,
        w: vec![0.0; x.n_cols()],
        w_b: 0.0,
        index: (0..n).collect(),
        active: n,
        rng: SplitMix64::new(settings.seed),
        updates: 0,
        cancel,
    };
    let equality = problem.bias == CdBias::Unregularized;
    let mut out = if equality {
        cd.run_pairs(settings, progress, start)
    } else {
        cd.run_single(settings, progress, start)
    };
    let objective = cd.objective();
    let (w, w_b) = (std::mem::take(&mut cd.w), cd.w_b);
    let bias = match problem.bias {
        CdBias::None => 0.0,
        CdBias::Regularized { value } => value * w_b,
        CdBias::Unregularized => out.multiplier,
    };
    if out.status == Status::Unbounded {
        out.measure_value = f64::INFINITY;
    }
    Ok(CdSolution {
        alpha: cd.alphas(),
        w,
        bias_weight: matches!(problem.bias, CdBias::Regularized { .. }).then_some(w_b),
        bias,
        objective,
        max_violation: out.measure_value,
        measure: if equality {
            StopMeasure::MaximalViolatingPair
        } else {
            StopMeasure::ProjectedGradientSpread
        },
        relative_gap: out.gap,
        status: out.status,
        passes: out.passes,
        updates: cd.updates,
        elapsed: start.elapsed(),
    })
}

/// Checks lengths, signs, bounds, shifts, the constant feature, and the
/// rows (indices below `n_cols`, finite values).
fn validate<M: RowMatrix + ?Sized>(x: &M, problem: &CdProblem<'_>) -> Result<(), SetupError> {
    let n = x.n_rows();
    for (what, len) in [
        ("signs", problem.signs.len()),
        ("upper bounds", problem.upper.len()),
        ("diagonal shifts", problem.shift.len()),
    ] {
        if len != n {
            return Err(SetupError::DimensionMismatch {
                what,
                expected: n,
                found: len,
            });
        }
    }
    if let Some(i) = problem.signs.iter().position(|&s| s != 1.0 && s != -1.0) {
        return Err(SetupError::InvalidSign {
            index: i,
            value: problem.signs[i],
        });
    }
    if let Some(i) = problem.upper.iter().position(|&u| u.is_nan() || u < 0.0) {
        return Err(SetupError::InvalidBounds {
            index: i,
            lower: 0.0,
            upper: problem.upper[i],
        });
    }
    crate::qmatrix::diagonal_nonnegative("diagonal shift", problem.shift)?;
    if let CdBias::Regularized { value } = problem.bias {
        if !(value.is_finite() && value >= 0.0) {
            return Err(SetupError::InvalidSetting {
                name: "bias value",
                reason: format!("must be a nonnegative finite number, got {value}"),
            });
        }
    }
    let d = x.n_cols();
    for i in 0..n {
        let r = x.row(i);
        if r.indices.len() != r.values.len() || r.indices.iter().any(|&k| k as usize >= d) {
            return Err(SetupError::DimensionMismatch {
                what: "row indices",
                expected: d,
                found: r.indices.iter().map(|&k| k as usize + 1).max().unwrap_or(0),
            });
        }
        if r.values.iter().any(|v| !v.is_finite()) {
            return Err(SetupError::NonFinite {
                what: "row values",
                index: i,
            });
        }
    }
    Ok(())
}

/// How a run ended.
struct RunEnd {
    status: Status,
    passes: u64,
    measure_value: f64,
    multiplier: f64,
    gap: Option<f64>,
}

impl<M: RowMatrix + ?Sized> Cd<'_, M> {
    /// Prefetches what the pass will need [`AHEAD`] positions after `s`
    /// in the visiting order (a row's extent `2·AHEAD` after): the rows
    /// are visited in random order, so without the hint each row and each
    /// per-row scalar is a cache miss waited for in turn. (Measured by
    /// `benches/linear_vs_liblinear.rs`, synthetic part: at 10⁸ nonzeros a
    /// pass took 19 ns per nonzero without it, 8.5 ns with it; in
    /// sequential order 1.7 ns. With the hint into L2 and the per-row
    /// scalars in one line, [`Var`], 5.7–6.8 ns.)
    #[inline]
    fn prefetch_ahead(&self, s: usize) {
        let visiting = &self.index[..self.active];
        if let Some(&j) = visiting.get(s + 2 * AHEAD) {
            self.x.prefetch_extent(j);
        }
        if let Some(&j) = visiting.get(s + AHEAD) {
            self.x.prefetch_row(j);
            prefetch(&self.v[j]);
        }
    }

    /// `⟨w̃, x̃ᵢ⟩`.
    #[inline]
    fn wx(&self, i: usize) -> f64 {
        self.x.row(i).dot(&self.w) + self.b_value * self.w_b
    }

    /// `w̃ ← w̃ + a·x̃ᵢ`.
    #[inline]
    fn add_row(&mut self, i: usize, a: f64) {
        self.x.row(i).add_to(a, &mut self.w);
        self.w_b += a * self.b_value;
    }

    /// `Gᵢ = yᵢ⟨w̃, x̃ᵢ⟩ − 1 + dᵢαᵢ`.
    #[inline]
    fn gradient(&self, i: usize) -> f64 {
        self.v[i].y * self.wx(i) - 1.0 + self.v[i].shift * self.v[i].alpha
    }

    /// `⟨x̃ᵢ, x̃ⱼ⟩`.
    fn row_dot(&self, i: usize, j: usize) -> f64 {
        self.x.row(i).dot_row(&self.x.row(j)) + self.b_value * self.b_value
    }

    /// `f(α)` from the maintained `w`.
    fn objective(&self) -> f64 {
        let w_sq: f64 = self.w.iter().map(|v| v * v).sum::<f64>() + self.w_b * self.w_b;
        let rest: f64 = (0..self.v.len())
            .map(|i| 0.5 * self.v[i].shift * self.v[i].alpha * self.v[i].alpha - self.v[i].alpha)
            .sum();
        0.5 * w_sq + rest
    }

    /// Every `Gᵢ` exactly, in parallel (independent per row).
    fn all_gradients(&self) -> Vec<f64> {
        let mut g = vec![0.0; self.v.len()];
        g.par_chunks_mut(ROW_CHUNK)
            .enumerate()
            .for_each(|(c, out)| {
                for (k, gi) in out.iter_mut().enumerate() {
                    *gi = self.gradient(c * ROW_CHUNK + k);
                }
            });
        g
    }

    /// The relative duality gap at `(w̃, b)` (see the module doc), from
    /// exact gradients `G` (so `yᵢ⟨w̃, x̃ᵢ⟩ = Gᵢ + 1 − dᵢαᵢ`).
    fn relative_gap(&self, g: &[f64], b: f64) -> f64 {
        let w_sq: f64 = self.w.iter().map(|v| v * v).sum::<f64>() + self.w_b * self.w_b;
        let mut loss = 0.0;
        let mut dual_rest = 0.0;
        for i in 0..g.len() {
            let (a, d, u) = (self.v[i].alpha, self.v[i].shift, self.v[i].upper);
            let margin = g[i] + 1.0 - d * a + self.v[i].y * b;
            let s = 1.0 - margin;
            if s > 0.0 {
                let best = if d > 0.0 { (s / d).min(u) } else { u };
                loss += if best.is_finite() {
                    best * s - 0.5 * d * best * best
                } else {
                    f64::INFINITY
                };
            }
            dual_rest += a - 0.5 * d * a * a;
        }
        let primal = 0.5 * w_sq + loss;
        let dual = dual_rest - 0.5 * w_sq;
        (primal - dual) / primal.abs().max(1.0)
    }

    /// Time and progress checks shared by both loops; `Some` to stop.
    fn limits(
        &self,
        settings: &CdSettings,
        progress: Option<&(dyn Fn(&Progress) + Sync)>,
        start: Instant,
        last_report: &mut Instant,
        passes: u64,
        measure: f64,
    ) -> Option<Status> {
        if passes >= settings.max_passes.unwrap_or(DEFAULT_MAX_PASSES) {
            return Some(Status::MaxIterations);
        }
        if cancelled(self.cancel) {
            return Some(Status::Interrupted);
        }
        let now = Instant::now();
        if settings
            .time_limit
            .is_some_and(|t| now.duration_since(start) >= t)
        {
            return Some(Status::TimeLimit);
        }
        if let Some(report) = progress {
            if now.duration_since(*last_report) >= settings.progress_interval {
                *last_report = now;
                report(&Progress {
                    iterations: passes,
                    max_violation: measure,
                    active: self.active,
                    elapsed: now.duration_since(start),
                });
            }
        }
        None
    }

    /// The box-constrained loop (Hsieh et al. 2008 with shrinking).
    fn run_single(
        &mut self,
        settings: &CdSettings,
        progress: Option<&(dyn Fn(&Progress) + Sync)>,
        start: Instant,
    ) -> RunEnd {
        let n = self.v.len();
        let mut tol = settings.tol;
        let (mut pg_max_old, mut pg_min_old) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut passes = 0u64;
        let mut spread = f64::INFINITY;
        let mut gap = None;
        let mut last_report = start;
        let (mut stall, mut gap_stall) = stall_watches();
        let mut shrinking = settings.shrinking;
        let status = loop {
            if let Some(s) =
                self.limits(settings, progress, start, &mut last_report, passes, spread)
            {
                break s;
            }
            // From 0, not ±∞ as LIBLINEAR: a pass whose projected gradients
            // are all equal and nonzero (α growing along a ray, each step
            // repeating the last) has spread 0 there and would pass as
            // converged. Only such passes differ: any variable with PG 0
            // puts 0 in the range anyway.
            let (mut pg_max, mut pg_min) = (0.0f64, 0.0f64);
            // In place (the same permutation as shuffling a copy).
            self.rng.shuffle(&mut self.index[..self.active]);
            let mut s = 0;
            let mut unbounded = false;
            let x = self.x;
            while s < self.active {
                let i = self.index[s];
                self.prefetch_ahead(s);
                // The row is looked up once for the gradient and the update.
                let row = x.row(i);
                let Var {
                    alpha: a,
                    y,
                    upper: u,
                    shift,
                    sq,
                } = self.v[i];
                let g = y * (row.dot(&self.w) + self.b_value * self.w_b) - 1.0 + shift * a;
                let mut pg = 0.0;
                if a == 0.0 {
                    if shrinking && g > pg_max_old {
                        self.active -= 1;
                        self.index.swap(s, self.active);
                        continue;
                    } else if g < 0.0 {
                        pg = g;
                    }
                } else if a == u {
                    if shrinking && g < pg_min_old {
                        self.active -= 1;
                        self.index.swap(s, self.active);
                        continue;
                    } else if g > 0.0 {
                        pg = g;
                    }
                } else {
                    pg = g;
                }
                pg_max = pg_max.max(pg);
                pg_min = pg_min.min(pg);
                if pg.abs() > STEP_THRESHOLD {
                    let q = sq + shift;
                    let new = if q > 0.0 {
                        (a - g / q).max(0.0).min(u)
                    } else if g < 0.0 {
                        u
                    } else {
                        0.0
                    };
                    if !new.is_finite() {
                        unbounded = true;
                        break;
                    }
                    if new != a {
                        self.v[i].alpha = new;
                        let step = (new - a) * y;
                        row.add_to(step, &mut self.w);
                        self.w_b += step * self.b_value;
                        self.updates += 1;
                    }
                }
                s += 1;
            }
            passes += 1;
            if unbounded {
                break Status::Unbounded;
            }
            if self.active == 0 {
                // Everything shrunk: nothing was measured this pass.
                pg_max = 0.0;
                pg_min = 0.0;
            }
            spread = pg_max - pg_min;
            let full = self.active == n;
            let pg_ok = spread <= tol;
            let mut check_gap = settings.gap_tol.is_some() && passes.is_multiple_of(GAP_EVERY);
            if pg_ok {
                if !full {
                    self.active = n;
                    pg_max_old = f64::INFINITY;
                    pg_min_old = f64::NEG_INFINITY;
                    if !check_gap {
                        continue;
                    }
                } else if settings.gap_tol.is_none() {
                    break Status::Converged;
                } else {
                    check_gap = true;
                }
            }
            if let (true, Some(gap_tol)) = (check_gap, settings.gap_tol) {
                let g = self.all_gradients();
                let r = self.relative_gap(&g, 0.0);
                gap = Some(r);
                if r <= gap_tol {
                    break Status::Converged;
                }
                if gap_stall.stalled(r, || GAP_FLOOR) {
                    break Status::Stalled;
                }
                if pg_ok && full {
                    tol /= 10.0;
                }
            }
            if pg_ok {
                pg_max_old = f64::INFINITY;
                pg_min_old = f64::NEG_INFINITY;
                continue;
            }
            let floor = || self.rounding_floor().max(2.0 * STEP_THRESHOLD);
            if stall.stalled(spread, floor) {
                if full {
                    break Status::Stalled;
                }
                // Measured on the active variables only: the verdict is made
                // on all of them, without shrinking from now on.
                self.active = n;
                shrinking = false;
                pg_max_old = f64::INFINITY;
                pg_min_old = f64::NEG_INFINITY;
                stall = StallWatch::new(STALL_PASSES);
                continue;
            }
            pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
            pg_min_old = if pg_min >= 0.0 {
                f64::NEG_INFINITY
            } else {
                pg_min
            };
        };
        RunEnd {
            status,
            passes,
            measure_value: spread,
            multiplier: 0.0,
            gap,
        }
    }

    /// Membership of `i` in `I_up` and `I_low`.
    fn sets(&self, i: usize) -> (bool, bool) {
        let below = self.v[i].alpha < self.v[i].upper;
        let above = self.v[i].alpha > 0.0;
        if self.v[i].y > 0.0 {
            (below, above)
        } else {
            (above, below)
        }
    }

    /// Records score `v` of `i` in the extremes (replacing a stale record
    /// of `i` itself).
    fn record(&self, i: usize, v: f64, up: &mut Extreme, low: &mut Extreme) {
        let (in_up, in_low) = self.sets(i);
        let better_up = v > up.map_or(f64::NEG_INFINITY, |e| e.0);
        let better_low = v < low.map_or(f64::INFINITY, |e| e.0);
        for (ext, member, better) in [(up, in_up, better_up), (low, in_low, better_low)] {
            let own = ext.is_some_and(|e| e.1 == i);
            if member && (better || own) {
                *ext = Some((v, i));
            } else if own {
                *ext = None;
            }
        }
    }

    /// The exact step on the pair `u ∈ I_up`, `l ∈ I_low` with scores
    /// `vᵤ > vₗ`; returns the new scores, or `None` when unbounded.
    fn step_pair(&mut self, u: usize, l: usize, vu: f64, vl: f64) -> Option<(f64, f64)> {
        let k = self.row_dot(u, l);
        let a_raw = self.v[u].sq + self.v[l].sq - 2.0 * k + self.v[u].shift + self.v[l].shift;
        let a = if a_raw > 0.0 { a_raw } else { TAU };
        let mut t = (vu - vl) / a;
        let (yu, yl) = (self.v[u].y, self.v[l].y);
        let room_u = if yu > 0.0 {
            self.v[u].upper - self.v[u].alpha
        } else {
            self.v[u].alpha
        };
        let room_l = if yl > 0.0 {
            self.v[l].alpha
        } else {
            self.v[l].upper - self.v[l].alpha
        };
        t = t.min(room_u).min(room_l);
        if !t.is_finite() {
            return None;
        }
        // Exact at the bound that was hit, so the variable sits on it.
        self.v[u].alpha = if t == room_u {
            if yu > 0.0 {
                self.v[u].upper
            } else {
                0.0
            }
        } else {
            (self.v[u].alpha + yu * t).max(0.0).min(self.v[u].upper)
        };
        self.v[l].alpha = if t == room_l {
            if yl > 0.0 {
                0.0
            } else {
                self.v[l].upper
            }
        } else {
            (self.v[l].alpha - yl * t).max(0.0).min(self.v[l].upper)
        };
        self.add_row(u, t);
        self.add_row(l, -t);
        self.updates += 1;
        let vu_new = vu - t * (self.v[u].sq - k + self.v[u].shift);
        let vl_new = vl + t * (self.v[l].sq - k + self.v[l].shift);
        Some((vu_new, vl_new))
    }

    /// The loop with `yᵀα = 0` (pair steps, see the module doc).
    fn run_pairs(
        &mut self,
        settings: &CdSettings,
        progress: Option<&(dyn Fn(&Progress) + Sync)>,
        start: Instant,
    ) -> RunEnd {
        let n = self.v.len();
        let mut tol = settings.tol;
        let (mut m_old, mut big_m_old) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut up, mut low): (Extreme, Extreme) = (None, None);
        let mut passes = 0u64;
        let mut measure = f64::INFINITY;
        let mut gap = None;
        let mut last_report = start;
        let (mut stall, mut gap_stall) = stall_watches();
        let mut shrinking = settings.shrinking;
        let status = loop {
            if let Some(s) =
                self.limits(settings, progress, start, &mut last_report, passes, measure)
            {
                break s;
            }
            let (mut m, mut big_m) = (f64::NEG_INFINITY, f64::INFINITY);
            // In place (the same permutation as shuffling a copy).
            self.rng.shuffle(&mut self.index[..self.active]);
            let mut s = 0;
            let mut unbounded = false;
            while s < self.active {
                let i = self.index[s];
                self.prefetch_ahead(s);
                let vi = -self.v[i].y * self.gradient(i);
                let (in_up, in_low) = self.sets(i);
                let shrink = shrinking
                    && ((in_up && !in_low && vi < big_m_old) || (in_low && !in_up && vi > m_old));
                if shrink {
                    for ext in [&mut up, &mut low] {
                        if ext.is_some_and(|e| e.1 == i) {
                            *ext = None;
                        }
                    }
                    self.active -= 1;
                    self.index.swap(s, self.active);
                    continue;
                }
                if in_up {
                    m = m.max(vi);
                }
                if in_low {
                    big_m = big_m.min(vi);
                }
                // The partner with the largest recorded violation.
                let as_up = low
                    .filter(|e| in_up && e.1 != i)
                    .map(|e| (vi - e.0, e.1, true));
                let as_low = up
                    .filter(|e| in_low && e.1 != i)
                    .map(|e| (e.0 - vi, e.1, false));
                let pick = match (as_up, as_low) {
                    (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
                    (a, b) => a.or(b),
                };
                self.record(i, vi, &mut up, &mut low);
                if let Some((viol, j, i_is_up)) = pick {
                    if viol > tol {
                        let vj = -self.v[j].y * self.gradient(j);
                        self.record(j, vj, &mut up, &mut low);
                        let (u, l, vu, vl) = if i_is_up {
                            (i, j, vi, vj)
                        } else {
                            (j, i, vj, vi)
                        };
                        let valid = self.sets(u).0 && self.sets(l).1;
                        if valid && vu - vl > tol {
                            match self.step_pair(u, l, vu, vl) {
                                Some((vu_new, vl_new)) => {
                                    self.record(u, vu_new, &mut up, &mut low);
                                    self.record(l, vl_new, &mut up, &mut low);
                                }
                                None => {
                                    unbounded = true;
                                    break;
                                }
                            }
                        }
                    }
                }
                s += 1;
            }
            passes += 1;
            if unbounded {
                break Status::Unbounded;
            }
            let spread = if m.is_finite() && big_m.is_finite() {
                (m - big_m).max(0.0)
            } else {
                0.0
            };
            let check_gap = settings.gap_tol.is_some() && passes.is_multiple_of(GAP_EVERY);
            if spread > tol && !check_gap {
                measure = spread;
                m_old = m;
                big_m_old = big_m;
                if stall.stalled(spread, || self.rounding_floor()) {
                    if !shrinking && self.active == n {
                        break Status::Stalled;
                    }
                    // Measured on the active variables only: the exact
                    // check below decides, without shrinking from now on.
                    shrinking = false;
                    stall = StallWatch::new(STALL_PASSES);
                } else {
                    continue;
                }
            }
            // Exact check on all variables.
            self.active = n;
            let g = self.all_gradients();
            let (exact, pair) = self.exact_pair(&g);
            measure = exact;
            let pg_ok = exact <= tol;
            if let Some(gap_tol) = settings.gap_tol {
                let b =
                    kkt::equality_multiplier(&self.alphas(), &g, self.y, &self.zeros(), self.upper);
                let r = self.relative_gap(&g, b);
                gap = Some(r);
                if r <= gap_tol {
                    break Status::Converged;
                }
                if gap_stall.stalled(r, || GAP_FLOOR) {
                    break Status::Stalled;
                }
                if pg_ok {
                    tol /= 10.0;
                }
            } else if pg_ok {
                break Status::Converged;
            }
            if !pg_ok && stall.stalled(exact, || self.rounding_floor()) {
                break Status::Stalled;
            }
            // Restart the pass bookkeeping from the exact extremes and move
            // the maximal violating pair, which guarantees progress.
            m_old = f64::INFINITY;
            big_m_old = f64::NEG_INFINITY;
            up = None;
            low = None;
            for i in 0..n {
                self.record(i, -self.v[i].y * g[i], &mut up, &mut low);
            }
            if let Some((u, l)) = pair {
                let (vu, vl) = (-self.v[u].y * g[u], -self.v[l].y * g[l]);
                if vu - vl > tol {
                    match self.step_pair(u, l, vu, vl) {
                        Some((a, b)) => {
                            self.record(u, a, &mut up, &mut low);
                            self.record(l, b, &mut up, &mut low);
                        }
                        None => break Status::Unbounded,
                    }
                }
            }
        };
        // Final exact measure and multiplier.
        let g = self.all_gradients();
        let (exact, _) = self.exact_pair(&g);
        let multiplier =
            kkt::equality_multiplier(&self.alphas(), &g, self.y, &self.zeros(), self.upper);
        RunEnd {
            status,
            passes,
            measure_value: exact,
            multiplier,
            gap,
        }
    }

    /// The rounding floor of the passes' measures ([`crate::stall`]), with
    /// `Q̄ᵢᵢ = ‖x̃ᵢ‖² + dᵢ` and `p = −1`.
    fn rounding_floor(&self) -> f64 {
        rounding_floor(self.v.iter().map(|v| (v.sq + v.shift, v.alpha)), 1.0)
    }

    /// `α`.
    fn alphas(&self) -> Vec<f64> {
        self.v.iter().map(|v| v.alpha).collect()
    }

    /// Zero lower bounds for [`kkt`].
    fn zeros(&self) -> Vec<f64> {
        vec![0.0; self.v.len()]
    }

    /// `m(α) − M(α)` (clamped at 0) from exact gradients, and the pair
    /// attaining it.
    fn exact_pair(&self, g: &[f64]) -> (f64, Option<(usize, usize)>) {
        let (mut up, mut low): (Extreme, Extreme) = (None, None);
        for i in 0..g.len() {
            let v = -self.v[i].y * g[i];
            let (in_up, in_low) = self.sets(i);
            if in_up && up.is_none_or(|e| v > e.0) {
                up = Some((v, i));
            }
            if in_low && low.is_none_or(|e| v < e.0) {
                low = Some((v, i));
            }
        }
        match (up, low) {
            (Some((m, u)), Some((big_m, l))) => ((m - big_m).max(0.0), Some((u, l))),
            _ => (0.0, None),
        }
    }
}
