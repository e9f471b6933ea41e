//! Block coordinate descent for QPs whose variables come in blocks of `k`
//! that share one `n × n` matrix `K`:
//!
//! ```text
//!     minimise    f(A) = ½ Σᵢ Σⱼ Kᵢⱼ ⟨aᵢ, aⱼ⟩ + Σᵢ ⟨pᵢ, aᵢ⟩
//!     subject to  Σₘ aᵢₘ = 0           for every block i
//!                 lᵢₘ ≤ aᵢₘ ≤ uᵢₘ      (finite, lᵢₘ ≤ 0 ≤ uᵢₘ)
//! ```
//!
//! with `A = (a₁, …, aₙ)`, `aᵢ ∈ ℝᵏ`, `K` symmetric positive semidefinite.
//! In matrix terms the Hessian is `K ⊗ Iₖ`. This is the shape of the joint
//! multiclass SVM duals (Crammer & Singer, JMLR 2, 2001; Weston & Watkins,
//! ESANN 1999), but the module knows only the QP.
//!
//! # Optimality
//! Write `gᵢ = Σⱼ Kᵢⱼ aⱼ + pᵢ` for the gradient of block `i`. The KKT
//! conditions of a block (a multiplier `θᵢ` for its equality) say
//! `gᵢₘ = −θᵢ` on free entries, `gᵢₘ ≤ −θᵢ` at `uᵢₘ` and `gᵢₘ ≥ −θᵢ` at
//! `lᵢₘ`, i.e. the block's maximal violating pair
//! `vᵢ = max { gᵢₘ : aᵢₘ > lᵢₘ } − min { gᵢₘ : aᵢₘ < uᵢₘ }` is `≤ 0`
//! ([`crate::kkt::maximal_violating_pair`] with all signs `+1`). The
//! constraints are separable over blocks, so `A` is optimal iff every
//! `vᵢ ≤ 0`; the solvers stop when `maxᵢ vᵢ ≤ tol`, measured on gradients
//! recomputed from scratch over all blocks (never on a shrunk set or on
//! gradients accumulated step by step).
//!
//! # The block step
//! With all other blocks fixed, `f` restricted to block `i` is
//! `½Kᵢᵢ‖aᵢ‖² + ⟨gᵢ − Kᵢᵢaᵢ, aᵢ⟩ + const`, so the exact minimiser is the
//! Euclidean projection of `aᵢ − gᵢ/Kᵢᵢ` onto `{Σₘ aₘ = 0, lᵢ ≤ a ≤ uᵢ}`
//! ([`crate::projection::project`], exact by breakpoint search). This is
//! Crammer & Singer's fixed-point sub-problem, and, for the box of the
//! Weston–Watkins dual written in these variables, the exact sub-problem
//! solution of Wang & Scott (ICML 2020), both computed in `O(k log k)`.
//! `Kᵢᵢ = 0` is replaced by a tiny curvature, which makes the step the
//! exact minimiser of the then linear block objective.
//!
//! # Kernel solver ([`solve_block`])
//! Crammer & Singer's scheme: the gradient `G` of all blocks is kept, each
//! step picks the block with the largest `vᵢ`, solves its sub-problem and
//! updates `G ← G + K(:, i) Δᵀ` with one column of `K` (an LRU cache of
//! full columns, [`crate::cache::ColumnCache`]). Shrinking (as Joachims
//! 1999, Fan, Chen & Lin 2005): every `min(n, 1000)` steps a block whose
//! entries all sit at a bound and whose `vᵢ ≤ −maxⱼ vⱼ` is set aside;
//! shrunk blocks' gradients are not updated. When the active blocks meet
//! the tolerance (or once the largest violation falls to `10·tol`), `G` is
//! rebuilt from scratch as `p + Σ_{aⱼ ≠ 0} K(:, j) aⱼᵀ`, every block is
//! made active and the true violation decides.
//!
//! # Linear solver ([`solve_block_linear`])
//! For `K = XXᵀ` with sparse rows `X` (Keerthi, Sundararajan, Chang, Hsieh
//! & Lin, KDD 2008): `W = Σᵢ xᵢ aᵢᵀ` (`d × k`) is kept, so `gᵢ = Wᵀxᵢ + pᵢ`
//! and the update `W ← W + xᵢΔᵀ` cost `O(nnz(xᵢ)·k)`. Passes visit the
//! active blocks in a random order (seeded, so runs are reproducible);
//! a block all at bounds with `vᵢ < −(previous pass's largest vⱼ)` is
//! shrunk, and within a block an entry at a bound that no pair can move
//! (LIBLINEAR's `be_shrunk` for Crammer–Singer) is set aside, so that its
//! score is not computed. When a pass's largest violation is at most `tol`
//! and the pass started with some block or entry set aside, everything is
//! made active again; when it started with everything active, `W` is
//! rebuilt from `A` and the violation of every block is recomputed from it.
//!
//! # Determinism
//! Steps are sequential; the only parallel work (rebuilding gradients,
//! the final violations) is computed per block independently with
//! sequential sums, so results are bit-identical for any rayon pool size.

use crate::cache::ColumnCache;
use crate::cd::RowMatrix;
use crate::kkt::maximal_violating_pair;
use crate::projection::project;
use crate::rng::SplitMix64;
use crate::stall::{rounding_floor, StallWatch};
use crate::{Progress, QMatrix, SetupError, SmoSettings, Status};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// The curvature used for a block whose `Kᵢᵢ` is not positive.
const TAU: f64 = 1e-12;

/// Steps between two shrinking rounds of the kernel solver (at most).
const SHRINK_EVERY: usize = 1000;

/// The problem data apart from `K`: `n` blocks of `k` entries, stored
/// block after block (entry `(i, m)` at `i·k + m`).
#[derive(Debug, Clone, Copy)]
pub struct BlockProblem<'a> {
    /// `k ≥ 1`, the entries per block.
    pub block_size: usize,
    /// `p`, length `n·k`, finite.
    pub linear: &'a [f64],
    /// `l`, length `n·k`, finite, `≤ 0`.
    pub lower: &'a [f64],
    /// `u`, length `n·k`, finite, `≥ 0`.
    pub upper: &'a [f64],
}

impl BlockProblem<'_> {
    /// Checks lengths (`n·k` each, `n` given), finiteness and
    /// `l ≤ 0 ≤ u` (so that `A = 0` is feasible: the solvers start there).
    pub fn validate(&self, n: usize) -> Result<(), SetupError> {
        if self.block_size == 0 {
            return Err(SetupError::InvalidSetting {
                name: "block_size",
                reason: "must be at least 1".into(),
            });
        }
        let len = n * self.block_size;
        for (what, v) in [
            ("linear term", self.linear),
            ("lower bounds", self.lower),
            ("upper bounds", self.upper),
        ] {
            if v.len() != len {
                return Err(SetupError::DimensionMismatch {
                    what,
                    expected: len,
                    found: v.len(),
                });
            }
            if let Some(index) = v.iter().position(|x| !x.is_finite()) {
                return Err(SetupError::NonFinite { what, index });
            }
        }
        for index in 0..len {
            let (lower, upper) = (self.lower[index], self.upper[index]);
            if !(lower <= 0.0 && 0.0 <= upper) {
                return Err(SetupError::InvalidBounds {
                    index,
                    lower,
                    upper,
                });
            }
        }
        Ok(())
    }
}

/// The result of a block solve.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSolution {
    /// The final point `A`, block after block, feasible.
    pub alpha: Vec<f64>,
    /// For the linear solver, `W = Σᵢ xᵢaᵢᵀ` rebuilt from `alpha`, feature
    /// after feature (entry `(j, m)` at `j·k + m`); empty for the kernel
    /// solver.
    pub w: Vec<f64>,
    /// The objective `f(A)` from the last exact gradient.
    pub objective: f64,
    /// `maxᵢ vᵢ` (clamped at 0) at the last exact check.
    pub max_violation: f64,
    /// How the solve ended.
    pub status: Status,
    /// Block steps (kernel solver) or passes (linear solver).
    pub iterations: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// `vᵢ` of one block from its entries and gradient (`−∞` when a side is
/// empty), and whether every entry sits at a bound.
fn block_violation(a: &[f64], g: &[f64], l: &[f64], u: &[f64]) -> (f64, bool) {
    let (mut top, mut bottom, mut at_bounds) = (f64::NEG_INFINITY, f64::INFINITY, true);
    for m in 0..a.len() {
        if a[m] > l[m] {
            top = top.max(g[m]);
        }
        if a[m] < u[m] {
            bottom = bottom.min(g[m]);
        }
        if a[m] != l[m] && a[m] != u[m] {
            at_bounds = false;
        }
    }
    if top.is_finite() && bottom.is_finite() {
        (top - bottom, at_bounds)
    } else {
        (f64::NEG_INFINITY, at_bounds)
    }
}

/// The exact block step: the projection of `a − g/κ` onto the block's set.
fn block_step(a: &[f64], g: &[f64], kappa: f64, l: &[f64], u: &[f64], ones: &[f64]) -> Vec<f64> {
    let kappa = if kappa > TAU { kappa } else { TAU };
    let v: Vec<f64> = a.iter().zip(g).map(|(a, g)| a - g / kappa).collect();
    // The set holds 0 (validated), so the projection cannot fail.
    project(&v, ones, 0.0, l, u).unwrap_or_else(|_| a.to_vec())
}

/// `f(A) = ½⟨A, G + p⟩` from an exact gradient `G = (K ⊗ I)A + p`.
pub(crate) fn objective(alpha: &[f64], gradient: &[f64], p: &[f64]) -> f64 {
    0.5 * alpha
        .iter()
        .zip(gradient)
        .zip(p)
        .map(|((a, g), p)| a * (g + p))
        .sum::<f64>()
}

/// The largest `vᵢ` over all blocks, clamped at 0.
pub(crate) fn max_violation_all(
    alpha: &[f64],
    gradient: &[f64],
    problem: &BlockProblem<'_>,
) -> f64 {
    let k = problem.block_size;
    let ones = vec![1.0; k];
    alpha
        .par_chunks(k)
        .zip(gradient.par_chunks(k))
        .enumerate()
        .map(|(i, (a, g))| {
            let r = i * k..(i + 1) * k;
            maximal_violating_pair(a, g, &ones, &problem.lower[r.clone()], &problem.upper[r])
        })
        .collect::<Vec<f64>>()
        .into_iter()
        .fold(0.0, f64::max)
}

/// Limits and progress shared by the block solvers.
pub(crate) struct Clock<'a> {
    start: Instant,
    last_progress: Instant,
    settings: &'a SmoSettings,
    /// The iteration (or pass) limit.
    limit: u64,
    progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

impl<'a> Clock<'a> {
    pub(crate) fn new(
        settings: &'a SmoSettings,
        limit: u64,
        progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    ) -> Self {
        let now = Instant::now();
        Self {
            start: now,
            last_progress: now,
            settings,
            limit,
            progress,
        }
    }

    /// The status a limit imposes after `iterations`, if any; calls the
    /// progress callback when due.
    pub(crate) fn check(
        &mut self,
        iterations: u64,
        violation: f64,
        active: usize,
    ) -> Option<Status> {
        if iterations >= self.limit {
            return Some(Status::MaxIterations);
        }
        let elapsed = self.start.elapsed();
        if self.settings.time_limit.is_some_and(|t| elapsed >= t) {
            return Some(Status::TimeLimit);
        }
        if let Some(f) = self.progress {
            if self.last_progress.elapsed() >= self.settings.progress_interval {
                self.last_progress = Instant::now();
                f(&Progress {
                    iterations,
                    max_violation: violation.max(0.0),
                    active,
                    elapsed,
                });
            }
        }
        None
    }

    /// Wall time since [`Clock::new`].
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Kernel solver state.
struct KernelState<'a, Q: QMatrix + ?Sized> {
    q: &'a Q,
    problem: &'a BlockProblem<'a>,
    k: usize,
    n: usize,
    diag: Vec<f64>,
    alpha: Vec<f64>,
    gradient: Vec<f64>,
    cache: ColumnCache,
    all_rows: Vec<usize>,
    active: Vec<usize>,
    ones: Vec<f64>,
}

impl<Q: QMatrix + ?Sized> KernelState<'_, Q> {
    /// Makes sure the full column `j` of `K` is cached.
    fn load_column(&mut self, j: usize) {
        let start = self.cache.prepare(j, self.n, None);
        if start < self.n {
            let rows = &self.all_rows[start..];
            let col = &mut self.cache.column_mut(j)[start..];
            self.q.column(j, rows, col);
        }
    }

    /// `vᵢ` and whether block `i` is all at bounds.
    fn violation(&self, i: usize) -> (f64, bool) {
        let r = i * self.k..(i + 1) * self.k;
        block_violation(
            &self.alpha[r.clone()],
            &self.gradient[r.clone()],
            &self.problem.lower[r.clone()],
            &self.problem.upper[r],
        )
    }

    /// The active block with the largest `vᵢ`.
    fn select(&self) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for &i in &self.active {
            let (v, _) = self.violation(i);
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
        best
    }

    /// Rebuilds `G = p + Σ_{aⱼ≠0} K(:, j)aⱼᵀ` from scratch and activates
    /// every block.
    fn rebuild(&mut self) {
        let k = self.k;
        let mut g = self.problem.linear.to_vec();
        for j in 0..self.n {
            let aj = &self.alpha[j * k..(j + 1) * k];
            if aj.iter().all(|&x| x == 0.0) {
                continue;
            }
            let aj = aj.to_vec();
            self.load_column(j);
            let col = self.cache.column(j);
            g.par_chunks_mut(k)
                .zip(col.par_iter())
                .for_each(|(gi, &c)| {
                    for m in 0..k {
                        gi[m] += c * aj[m];
                    }
                });
        }
        self.gradient = g;
        self.active = (0..self.n).collect();
    }

    /// Shrinks blocks all at bounds with `vᵢ ≤ −bound`.
    fn shrink(&mut self, bound: f64) {
        let keep: Vec<usize> = self
            .active
            .iter()
            .copied()
            .filter(|&i| {
                let (v, at_bounds) = self.violation(i);
                !(at_bounds && v <= -bound)
            })
            .collect();
        self.active = keep;
    }

    /// One exact step on block `i`.
    fn step(&mut self, i: usize) {
        let k = self.k;
        let r = i * k..(i + 1) * k;
        let new = block_step(
            &self.alpha[r.clone()],
            &self.gradient[r.clone()],
            self.diag[i],
            &self.problem.lower[r.clone()],
            &self.problem.upper[r.clone()],
            &self.ones,
        );
        let delta: Vec<f64> = new
            .iter()
            .zip(&self.alpha[r.clone()])
            .map(|(a, b)| a - b)
            .collect();
        self.alpha[r].copy_from_slice(&new);
        if delta.iter().all(|&d| d == 0.0) {
            return;
        }
        self.load_column(i);
        let col = self.cache.column(i);
        for &j in &self.active {
            let c = col[j];
            if c != 0.0 {
                let gj = &mut self.gradient[j * k..(j + 1) * k];
                for m in 0..k {
                    gj[m] += c * delta[m];
                }
            }
        }
    }
}

/// Checks (every `min(n, 1000)` block steps, or every pass of the linear
/// solver) without a new low of a violation within rounding before the
/// solve ends as stalled ([`crate::stall`]).
const STALL_PERIODS: u32 = 8;
const STALL_PASSES: u32 = 50;

/// The rounding floor of the violation ([`crate::stall`]) for
/// `Q = K ⊗ Iₖ`: every entry of block `i` has `Qᵢᵢ = Kᵢᵢ`.
fn block_floor(diag: &[f64], k: usize, alpha: &[f64], linear: &[f64]) -> f64 {
    let max_linear = linear.iter().fold(0.0f64, |m, p| m.max(p.abs()));
    let pairs = alpha.iter().enumerate().map(|(e, &a)| (diag[e / k], a));
    rounding_floor(pairs, max_linear)
}

/// Solves the block QP (module doc) for the matrix `q` (`K`, `n × n`) by
/// block coordinate descent with maximal-violation selection, shrinking
/// and a column cache, from `A = 0`. `settings.max_iter` counts block
/// steps. Errors only for an invalid problem or settings.
pub fn solve_block<Q: QMatrix + ?Sized>(
    q: &Q,
    problem: &BlockProblem<'_>,
    settings: &SmoSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<BlockSolution, SetupError> {
    settings.validate()?;
    let n = q.dim();
    problem.validate(n)?;
    let k = problem.block_size;
    let mut diag = vec![0.0; n];
    q.diagonal(&mut diag);
    let mut s = KernelState {
        q,
        problem,
        k,
        n,
        diag,
        alpha: vec![0.0; n * k],
        gradient: problem.linear.to_vec(),
        cache: ColumnCache::new(n, settings.cache_bytes),
        all_rows: (0..n).collect(),
        active: (0..n).collect(),
        ones: vec![1.0; k],
    };
    let mut clock = Clock::new(settings, settings.iteration_limit(n), progress);
    let tol = settings.tol;
    let mut iterations = 0u64;
    let mut until_shrink = n.clamp(1, SHRINK_EVERY);
    let mut unshrunk = false;
    let mut last_violation = f64::INFINITY;
    let stall_period = n.clamp(1, SHRINK_EVERY) as u64;
    let mut stall = StallWatch::new(STALL_PERIODS);
    let mut shrinking = settings.shrinking;
    let status = loop {
        if let Some(st) = clock.check(iterations, last_violation, s.active.len()) {
            break st;
        }
        if shrinking {
            until_shrink -= 1;
            if until_shrink == 0 {
                until_shrink = n.clamp(1, SHRINK_EVERY);
                if let Some((_, v)) = s.select() {
                    s.shrink(v.max(0.0));
                }
            }
        }
        let Some((i, v)) = s.select() else {
            // Every block shrunk: check them all.
            s.rebuild();
            continue;
        };
        last_violation = v;
        if v <= tol {
            s.rebuild();
            if max_violation_all(&s.alpha, &s.gradient, problem) <= tol {
                break Status::Converged;
            }
            unshrunk = true;
            continue;
        }
        if shrinking && !unshrunk && v <= 10.0 * tol {
            s.rebuild();
            unshrunk = true;
            continue;
        }
        s.step(i);
        iterations += 1;
        if iterations.is_multiple_of(stall_period) {
            let floor = || block_floor(&s.diag, k, &s.alpha, problem.linear);
            if stall.stalled(v, floor) {
                if s.active.len() == n {
                    break Status::Stalled;
                }
                // Measured on the active blocks only: the verdict is made
                // on all of them, without shrinking from now on.
                s.rebuild();
                shrinking = false;
                stall = StallWatch::new(STALL_PERIODS);
            }
        }
    };
    if status != Status::Converged {
        s.rebuild();
    }
    crate::kkt::finite_gradient(&s.gradient)?;
    let max_violation = max_violation_all(&s.alpha, &s.gradient, problem);
    Ok(BlockSolution {
        objective: objective(&s.alpha, &s.gradient, problem.linear),
        alpha: s.alpha,
        w: Vec::new(),
        max_violation,
        status,
        iterations,
        elapsed: clock.elapsed(),
    })
}

/// `W = Σᵢ xᵢaᵢᵀ` (`d × k`, feature after feature), rows summed in order.
fn rebuild_w<M: RowMatrix + ?Sized>(x: &M, alpha: &[f64], k: usize) -> Vec<f64> {
    let mut w = vec![0.0; x.n_cols() * k];
    for i in 0..x.n_rows() {
        let a = &alpha[i * k..(i + 1) * k];
        if a.iter().all(|&v| v == 0.0) {
            continue;
        }
        let row = x.row(i);
        for (&j, &v) in row.indices.iter().zip(row.values) {
            let wj = &mut w[j as usize * k..(j as usize + 1) * k];
            for m in 0..k {
                wj[m] += v * a[m];
            }
        }
    }
    w
}

/// `gᵢ = Wᵀxᵢ + pᵢ` into `out`.
#[inline]
fn linear_gradient<M: RowMatrix + ?Sized>(
    x: &M,
    w: &[f64],
    p: &[f64],
    i: usize,
    k: usize,
    out: &mut [f64],
) {
    out.copy_from_slice(&p[i * k..(i + 1) * k]);
    let row = x.row(i);
    for (&j, &v) in row.indices.iter().zip(row.values) {
        let wj = &w[j as usize * k..(j as usize + 1) * k];
        for m in 0..k {
            out[m] += v * wj[m];
        }
    }
}

/// One block's active entries as the linear solver sees them: values,
/// gradients and bounds, gathered once per visit.
struct EntryScratch {
    a: Vec<f64>,
    g: Vec<f64>,
    l: Vec<f64>,
    u: Vec<f64>,
    ones: Vec<f64>,
    /// `Σ` of the block's inactive entries (the right-hand side of the
    /// active entries' equality is its negative).
    fixed_sum: f64,
}

impl EntryScratch {
    fn new(k: usize) -> Self {
        Self {
            a: Vec::with_capacity(k),
            g: Vec::with_capacity(k),
            l: Vec::with_capacity(k),
            u: Vec::with_capacity(k),
            ones: vec![1.0; k],
            fixed_sum: 0.0,
        }
    }

    /// Gathers entries `act` of block `i`, gradients `gₘ = ⟨wₘ, xᵢ⟩ + pᵢₘ`
    /// computed for those entries only.
    fn load<M: RowMatrix + ?Sized>(
        &mut self,
        x: &M,
        w: &[f64],
        problem: &BlockProblem<'_>,
        alpha: &[f64],
        i: usize,
        act: &[usize],
    ) {
        let k = problem.block_size;
        let base = i * k;
        self.a.clear();
        self.g.clear();
        self.l.clear();
        self.u.clear();
        for &m in act {
            self.a.push(alpha[base + m]);
            self.g.push(problem.linear[base + m]);
            self.l.push(problem.lower[base + m]);
            self.u.push(problem.upper[base + m]);
        }
        let block_sum: f64 = alpha[base..base + k].iter().sum();
        self.fixed_sum = block_sum - self.a.iter().sum::<f64>();
        let row = x.row(i);
        for (&j, &v) in row.indices.iter().zip(row.values) {
            let wj = &w[j as usize * k..(j as usize + 1) * k];
            for (t, &m) in act.iter().enumerate() {
                self.g[t] += v * wj[m];
            }
        }
    }

    /// `vᵢ` over the first `len` gathered entries and whether they all sit
    /// at a bound.
    fn violation(&self, len: usize) -> (f64, bool) {
        block_violation(
            &self.a[..len],
            &self.g[..len],
            &self.l[..len],
            &self.u[..len],
        )
    }

    /// Moves to the back of `act` (and of the gathered values) the entries
    /// at a bound that no pair can move: at `u` with `g` below every
    /// gradient of an entry that can increase, at `l` with `g` above every
    /// gradient of an entry that can decrease (LIBLINEAR's `be_shrunk`).
    /// Returns how many stay active; the gathered values keep only those.
    fn shrink_entries(&mut self, act: &mut [usize]) -> usize {
        let (mut top, mut bottom) = (f64::NEG_INFINITY, f64::INFINITY);
        for t in 0..act.len() {
            if self.a[t] > self.l[t] {
                top = top.max(self.g[t]);
            }
            if self.a[t] < self.u[t] {
                bottom = bottom.min(self.g[t]);
            }
        }
        let mut len = act.len();
        let mut t = 0;
        while t < len {
            let (a, g) = (self.a[t], self.g[t]);
            let stuck = (a == self.u[t] && g < bottom) || (a == self.l[t] && g > top);
            if stuck {
                len -= 1;
                act.swap(t, len);
                self.a.swap(t, len);
                self.g.swap(t, len);
                self.l.swap(t, len);
                self.u.swap(t, len);
            } else {
                t += 1;
            }
        }
        // The entries set aside join the fixed part of the equality.
        self.fixed_sum += self.a[len..].iter().sum::<f64>();
        self.a.truncate(len);
        self.g.truncate(len);
        self.l.truncate(len);
        self.u.truncate(len);
        len
    }

    /// The exact step on the active entries `act` of block `i` (the
    /// inactive ones stay at their bounds), updating `α` and `W`.
    fn step<M: RowMatrix + ?Sized>(
        &mut self,
        x: &M,
        w: &mut [f64],
        alpha: &mut [f64],
        kappa: f64,
        i: usize,
        act: &[usize],
    ) {
        let len = act.len();
        let kappa = if kappa > TAU { kappa } else { TAU };
        let k = self.ones.len();
        let v: Vec<f64> = (0..len).map(|t| self.a[t] - self.g[t] / kappa).collect();
        let new = match project(
            &v,
            &self.ones[..len],
            -self.fixed_sum,
            &self.l[..len],
            &self.u[..len],
        ) {
            Ok(new) => new,
            // The current point is feasible, so the set is not empty.
            Err(_) => return,
        };
        let row = x.row(i);
        let base = i * k;
        for (t, &m) in act.iter().enumerate() {
            let d = new[t] - self.a[t];
            if d != 0.0 {
                for (&j, &xv) in row.indices.iter().zip(row.values) {
                    w[j as usize * k + m] += xv * d;
                }
                alpha[base + m] = new[t];
            }
        }
    }
}

/// Solves the block QP with `K = XXᵀ` for the rows of `x` by passes of
/// exact block steps keeping `W` (module doc), from `A = 0`.
/// `settings.max_iter` counts passes; the cache size is not used. Errors
/// only for an invalid problem or settings.
pub fn solve_block_linear<M: RowMatrix + ?Sized>(
    x: &M,
    problem: &BlockProblem<'_>,
    settings: &SmoSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<BlockSolution, SetupError> {
    settings.validate()?;
    let n = x.n_rows();
    problem.validate(n)?;
    let k = problem.block_size;
    let sq: Vec<f64> = (0..n).map(|i| x.row(i).squared_norm()).collect();
    let mut alpha = vec![0.0; n * k];
    let mut w = vec![0.0; x.n_cols() * k];
    let mut index: Vec<usize> = (0..n).collect();
    let mut active = n;
    // Entry-level shrinking: block i's active entries are
    // entries[i·k .. i·k + n_entries[i]]; the others sit at a bound.
    let mut entries: Vec<usize> = (0..n).flat_map(|_| 0..k).collect();
    let mut n_entries = vec![k; n];
    let mut entries_shrunk = false;
    let mut rng = SplitMix64::new(0x5eed_c5c5);
    let mut scratch = EntryScratch::new(k);
    let limit = settings.max_iter.unwrap_or(crate::cd::DEFAULT_MAX_PASSES);
    let mut clock = Clock::new(settings, limit, progress);
    let mut passes = 0u64;
    let mut shrink_bound = f64::INFINITY;
    let mut last_violation = f64::INFINITY;
    let mut stall = StallWatch::new(STALL_PASSES);
    let mut shrinking = settings.shrinking;
    let status = loop {
        if let Some(st) = clock.check(passes, last_violation, active) {
            break st;
        }
        rng.shuffle(&mut index[..active]);
        let started_full = active == n && !entries_shrunk;
        let mut pass_max = f64::NEG_INFINITY;
        let mut s = 0;
        while s < active {
            let i = index[s];
            let base = i * k;
            let act = &mut entries[base..base + n_entries[i]];
            scratch.load(x, &w, problem, &alpha, i, act);
            // Measured before any entry is set aside, so that a pass started
            // with everything active measures every entry.
            let (v, at_bounds) = scratch.violation(act.len());
            if shrinking {
                let kept = scratch.shrink_entries(act);
                if kept < act.len() {
                    entries_shrunk = true;
                    n_entries[i] = kept;
                }
            }
            let act = &entries[base..base + n_entries[i]];
            if shrinking && at_bounds && v < -shrink_bound {
                active -= 1;
                index.swap(s, active);
                continue;
            }
            pass_max = pass_max.max(v);
            if v > 0.0 {
                scratch.step(x, &mut w, &mut alpha, sq[i], i, act);
            }
            s += 1;
        }
        passes += 1;
        last_violation = pass_max;
        if pass_max > settings.tol
            && stall.stalled(pass_max, || block_floor(&sq, k, &alpha, problem.linear))
        {
            if started_full {
                break Status::Stalled;
            }
            // Measured on the active entries only: the verdict is made on
            // all of them, without shrinking from now on.
            active = n;
            n_entries.iter_mut().for_each(|c| *c = k);
            entries_shrunk = false;
            shrink_bound = f64::INFINITY;
            shrinking = false;
            stall = StallWatch::new(STALL_PASSES);
            continue;
        }
        shrink_bound = if pass_max > 0.0 {
            pass_max
        } else {
            f64::INFINITY
        };
        if pass_max <= settings.tol {
            if !started_full {
                active = n;
                n_entries.iter_mut().for_each(|c| *c = k);
                entries_shrunk = false;
                shrink_bound = f64::INFINITY;
                continue;
            }
            w = rebuild_w(x, &alpha, k);
            let v = linear_max_violation(x, &w, &alpha, problem);
            last_violation = v;
            if v <= settings.tol {
                break Status::Converged;
            }
        }
    };
    let w = rebuild_w(x, &alpha, k);
    let gradient = linear_all_gradients(x, &w, problem);
    crate::kkt::finite_gradient(&gradient)?;
    let max_violation = max_violation_all(&alpha, &gradient, problem);
    Ok(BlockSolution {
        objective: objective(&alpha, &gradient, problem.linear),
        alpha,
        w,
        max_violation,
        status,
        iterations: passes,
        elapsed: clock.elapsed(),
    })
}

/// `gᵢ` of every block from `W`, in parallel per block.
fn linear_all_gradients<M: RowMatrix + ?Sized>(
    x: &M,
    w: &[f64],
    problem: &BlockProblem<'_>,
) -> Vec<f64> {
    let k = problem.block_size;
    let mut out = vec![0.0; x.n_rows() * k];
    out.par_chunks_mut(k)
        .enumerate()
        .for_each(|(i, g)| linear_gradient(x, w, problem.linear, i, k, g));
    out
}

/// The largest `vᵢ` over all blocks from `W`.
fn linear_max_violation<M: RowMatrix + ?Sized>(
    x: &M,
    w: &[f64],
    alpha: &[f64],
    problem: &BlockProblem<'_>,
) -> f64 {
    let gradient = linear_all_gradients(x, w, problem);
    max_violation_all(alpha, &gradient, problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cd::CsrRef;
    use crate::DenseQ;

    /// A small random problem: `K = XXᵀ`, Crammer–Singer-shaped bounds.
    fn problem(
        n: usize,
        d: usize,
        k: usize,
        seed: u64,
    ) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = SplitMix64::new(seed);
        let mut unif = || rng.uniform() * 2.0 - 1.0;
        let x: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| unif()).collect()).collect();
        let (mut p, mut l, mut u) = (vec![0.0; n * k], vec![0.0; n * k], vec![0.0; n * k]);
        for i in 0..n {
            let y = i % k;
            for m in 0..k {
                p[i * k + m] = if m == y { 0.0 } else { 1.0 };
                l[i * k + m] = if m == y { 0.0 } else { -2.0 };
                u[i * k + m] = if m == y { 2.0 } else { 0.0 };
            }
        }
        (x, p, l, u)
    }

    fn gram(x: &[Vec<f64>]) -> DenseQ {
        let n = x.len();
        let mut v = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                v[i * n + j] = x[i].iter().zip(&x[j]).map(|(a, b)| a * b).sum();
            }
        }
        DenseQ::new(n, v).unwrap()
    }

    /// The CSR arrays (row pointers, indices, values) of dense rows.
    fn dense_csr(x: &[Vec<f64>]) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
        let d = x.first().map_or(0, Vec::len);
        let indptr = (0..=x.len()).map(|i| i * d).collect();
        let indices = x.iter().flat_map(|_| 0..d as u32).collect();
        let values = x.iter().flatten().copied().collect();
        (indptr, indices, values)
    }

    #[test]
    fn kernel_and_linear_solvers_agree_and_are_optimal() {
        let (n, d, k) = (40, 3, 4);
        let (x, p, l, u) = problem(n, d, k, 7);
        let q = gram(&x);
        let bp = BlockProblem {
            block_size: k,
            linear: &p,
            lower: &l,
            upper: &u,
        };
        let settings = SmoSettings {
            tol: 1e-9,
            ..SmoSettings::default()
        };
        let a = solve_block(&q, &bp, &settings, None).unwrap();
        assert_eq!(a.status, Status::Converged);
        assert!(a.max_violation <= 1e-9);
        let (indptr, indices, values) = dense_csr(&x);
        let csr = CsrRef::new(&indptr, &indices, &values, d).unwrap();
        let b = solve_block_linear(&csr, &bp, &settings, None).unwrap();
        assert_eq!(b.status, Status::Converged);
        assert!(
            (a.objective - b.objective).abs() <= 1e-8 * (1.0 + a.objective.abs()),
            "{} vs {} ({} / {})",
            a.objective,
            b.objective,
            a.max_violation,
            b.max_violation
        );
        // Feasibility of every block, for both solvers.
        for sol in [&a, &b] {
            for blk in sol.alpha.chunks(k) {
                assert!(blk.iter().sum::<f64>().abs() < 1e-12);
            }
            for (i, v) in sol.alpha.iter().enumerate() {
                assert!(l[i] <= *v && *v <= u[i]);
            }
        }
        // No single block step improves the objective.
        assert!(a.objective < 0.0);
    }

    #[test]
    fn a_tolerance_below_rounding_ends_as_stalled() {
        let (n, d, k) = (40, 3, 4);
        let (x, p, l, u) = problem(n, d, k, 7);
        let q = gram(&x);
        let bp = BlockProblem {
            block_size: k,
            linear: &p,
            lower: &l,
            upper: &u,
        };
        let tight = SmoSettings {
            tol: 1e-10,
            ..SmoSettings::default()
        };
        let reference = solve_block(&q, &bp, &tight, None).unwrap();
        // The guard turns a loop into a failure instead of a hang.
        let guard = 5_000_000;
        let settings = SmoSettings {
            tol: 1e-300,
            max_iter: Some(guard),
            ..SmoSettings::default()
        };
        let (indptr, indices, values) = dense_csr(&x);
        let csr = CsrRef::new(&indptr, &indices, &values, d).unwrap();
        let kernel = solve_block(&q, &bp, &settings, None).unwrap();
        let linear = solve_block_linear(&csr, &bp, &settings, None).unwrap();
        for (name, sol) in [("kernel", kernel), ("linear", linear)] {
            assert!(
                matches!(sol.status, Status::Stalled | Status::Converged),
                "{name}: {:?} after {}",
                sol.status,
                sol.iterations
            );
            assert!(sol.iterations < guard / 10, "{name}: {}", sol.iterations);
            assert!(
                (sol.objective - reference.objective).abs() <= 1e-9 * reference.objective.abs(),
                "{name}: {} vs {}",
                sol.objective,
                reference.objective
            );
        }
    }

    #[test]
    fn shrinking_does_not_change_the_answer() {
        let (x, p, l, u) = problem(60, 2, 3, 11);
        let q = gram(&x);
        let bp = BlockProblem {
            block_size: 3,
            linear: &p,
            lower: &l,
            upper: &u,
        };
        let on = SmoSettings {
            tol: 1e-10,
            ..SmoSettings::default()
        };
        let off = SmoSettings {
            shrinking: false,
            ..on.clone()
        };
        let a = solve_block(&q, &bp, &on, None).unwrap();
        let b = solve_block(&q, &bp, &off, None).unwrap();
        assert!((a.objective - b.objective).abs() <= 1e-9 * (1.0 + a.objective.abs()));
    }

    #[test]
    fn limits_are_statuses() {
        let (x, p, l, u) = problem(30, 2, 3, 3);
        let q = gram(&x);
        let bp = BlockProblem {
            block_size: 3,
            linear: &p,
            lower: &l,
            upper: &u,
        };
        let s = SmoSettings {
            tol: 1e-12,
            max_iter: Some(2),
            ..SmoSettings::default()
        };
        let a = solve_block(&q, &bp, &s, None).unwrap();
        assert_eq!(a.status, Status::MaxIterations);
        assert_eq!(a.iterations, 2);
    }

    #[test]
    fn infeasible_start_is_refused() {
        let q = DenseQ::new(1, vec![1.0]).unwrap();
        let bp = BlockProblem {
            block_size: 2,
            linear: &[0.0, 0.0],
            lower: &[0.5, -1.0],
            upper: &[1.0, 1.0],
        };
        let e = solve_block(&q, &bp, &SmoSettings::default(), None).unwrap_err();
        assert!(matches!(e, SetupError::InvalidBounds { index: 0, .. }));
    }
}
