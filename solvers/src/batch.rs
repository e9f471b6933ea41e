//! SMO with batched working sets for
//! `min ½αᵀQα + pᵀα  s.t. yᵀα = Δ, l ≤ α ≤ u` (`uᵢ` may be `+∞`).
//!
//! # Algorithm
//! The decomposition scheme of ThunderSVM (Wen, Shi, Li, He & Chen,
//! "ThunderSVM: a fast SVM library on GPUs and CPUs", JMLR 19(21), 2018,
//! §3), whose inner solver is [`crate::smo`]'s pair step. Each outer
//! iteration:
//! 1. **Stops** when the maximal violation `m(α) − M(α)` of the full
//!    gradient `G = Qα + p` (kept exact on all variables, or on the active
//!    ones and rebuilt on the others first, see Shrinking) is at most
//!    `tol` — the test SMO ends with, on every variable; there is no other
//!    exit but the limits.
//! 2. **Selects** a working set `B` of `q` variables: sorted by
//!    `vₜ = −yₜGₜ`, alternately the largest `vₜ` in `I_up` and the smallest
//!    in `I_low`. The first outer iteration fills all `q` places; later
//!    ones fill the older half and keep the half chosen the time before
//!    (first in, first out), so that a variable still moving stays one more
//!    round without its column being formed again.
//! 3. **Forms** the new members' columns of `Q` over the active rows (all
//!    of them unless shrinking, below) as one block
//!    ([`QMatrix::columns`]) in their half of an `n × q` row-major block.
//! 4. **Solves** the sub-problem in `α_B` (the others fixed), whose
//!    Hessian `Q_BB` and gradient `G_B` are read off the block, by pair
//!    steps with WSS3 until its own violation is at most
//!    `max(tol, violation₀ / 10)` (`violation₀` its violation at the
//!    start) or after `100·|B|` steps.
//! 5. **Updates** `G ← G + Q_{:B} Δα_B`, one pass over the block's rows.
//!
//! A step too small to change the iterate in floating point ends the
//! sub-problem (the same pair would be chosen again); two rounds in a row
//! in which nothing moved end the solve with [`Status::Stalled`], the
//! point reached feasible and its gradient exact. So do 16 rounds without
//! a new low of a violation within rounding ([`crate::stall`]); an iterate
//! running along a ray of negative curvature ends it with
//! [`Status::Unbounded`] ([`crate::ray`]). Both are checked every round.
//!
//! `B` always contains a maximal violating pair (the largest `vₜ` in
//! `I_up` and the smallest in `I_low`, or they were kept from the round
//! before), so while the violation exceeds `tol` the sub-problem's first
//! step decreases the objective, and the method converges like any
//! decomposition method whose working set contains a maximal violating
//! pair (Lin, IEEE TNN 12(6), 2001; Keerthi & Gilbert, Machine Learning
//! 46, 2002).
//!
//! What it buys over one pair per iteration: the columns come as one block
//! product (for sparse kernel data a sparse × dense product, see
//! `svm_dual::kernel`), and the gradient is updated once per block instead
//! of once per pair.
//!
//! The update (step 5) is a pass of its own over the block. Forming the new
//! columns and updating the gradient in one pass — `Q_BB` formed first on
//! the members' rows only, each block row then visited as it is formed —
//! gave the same iterates to the bit but was slower: a9a, L2, RBF, 2
//! threads, solve 7.1–7.9 s against 5.5–5.9 s (8.2–8.6 s with the new half
//! written by non-temporal stores). The fused pass interleaves the kernel
//! arithmetic with reads of the kept half from memory; the separate update
//! reads the block as one sequential stream.
//!
//! # No column cache across rounds
//! A variable's column is formed again each time it re-enters the working
//! set: a9a, L2, RBF, 83 968 columns formed for 20 542 distinct variables
//! (at ≈24 000 active rows on average). That run's requests replayed
//! through a cache of whole columns: with least-recently-used eviction,
//! 1 024 columns (≈190 MiB) would have saved 0.6 % of the formations,
//! 8 192 (≈1.5 GiB) 3.6 %, 16 384 (≈3 GiB) 50 % — the working sets sweep
//! all the support vectors before a variable comes back, so such a cache
//! pays only once it holds nearly all of them. Keeping the first columns
//! and evicting none does better (8 192: 35 %; all 20 542: 75 %) but needs
//! gigabytes for a9a, and a column read back from memory costs about as
//! much as one formed by the block product (see `svm_dual::cache_budget`).
//!
//! # Shrinking
//! When no variable has a finite upper bound (see `shrinks` for why only
//! then), every few rounds the variables at a bound that cannot be part of
//! a violating pair at the current `m(α)` and `M(α)` (LIBSVM's rule, Chang
//! & Lin 2011, §5.1) are set aside: their rows leave the block, the
//! selection and the gradient update, so each column is formed on the
//! active rows only. When the violation on the active variables is at most
//! `tol`, the set-aside gradients are rebuilt (`Gᵢ = pᵢ + Σ_{αⱼ ≠ 0} αⱼQᵢⱼ`, in
//! blocks) and the stop is tested on all variables; the solve goes on with
//! all of them if it fails. A limit reached while shrunk rebuilds them too:
//! the gradient returned is always exact on every variable.
//!
//! # Memory
//! The block takes `8·n·q` bytes, within `SmoSettings::cache_bytes`: `q`
//! is the requested size lowered to the largest even number whose block
//! fits (at least 4), see [`block_size`]. Whether it runs at all:
//! [`WorkingSet`] and [`batch_size`].
//!
//! # Determinism
//! The selection sorts with ties broken by index; the sub-problem is
//! solved sequentially; the block and the gradient update run in parallel
//! over rows, each entry by its own sequential code. The result is
//! bit-identical for any number of threads.

use crate::error::SetupError;
use crate::kkt;
use crate::problem::{Equality, QpProblem};
use crate::qmatrix::QMatrix;
use crate::ray::{doubled_scale, RayCheck};
use crate::selection::{first_index, second_index, update_gradient_first_index, FirstIndex};
use crate::settings::{SmoSettings, WorkingSet};
use crate::smo::{initial_point, pair_step, PairVariable, Watch};
use crate::solution::{Progress, Solution, Status};
use crate::stall::{rounding_floor_of, StallWatch};
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Rows of the block per parallel task (a constant: the split does not
/// depend on the number of threads).
const ROWS_PER_TASK: usize = 256;

/// The batch [`WorkingSet::Auto`] picks. Measured (a9a and a1a.t, RBF,
/// L1 and L2 losses, 2 threads, two alternating runs each): 256 solved
/// 13–24 % faster than one pair per iteration, 512 4–14 % (fewer places
/// mean cheaper sub-problems and gradient passes for about the same number
/// of columns formed: a9a L2 84 000 at 256, 88 000 at 512, 92 000 at 1024).
pub const AUTO_BATCH: usize = 256;

/// The batch size a solve uses, or `None` for one pair per iteration
/// (see [`WorkingSet`]): the requested size lowered to fit the memory
/// budget (`8·n·size ≤ cache_bytes`, at least 4, even), used when the
/// problem has the equality and at least two halves' worth of variables.
pub fn batch_size(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
) -> Option<usize> {
    let n = problem.dim();
    let requested = match settings.working_set {
        WorkingSet::Pairs => return None,
        WorkingSet::Batched(size) => size,
        WorkingSet::Auto if q.blocks_preferred(AUTO_BATCH) && n >= 4 * AUTO_BATCH => AUTO_BATCH,
        WorkingSet::Auto => return None,
    };
    let size = block_size(n, requested, settings.cache_bytes);
    (problem.equality.is_some() && n >= 2 * size).then_some(size)
}

/// `requested` capped by `n` and by the block's memory
/// (`8·n·size ≤ cache_bytes`), made even, at least 4.
pub fn block_size(n: usize, requested: usize, cache_bytes: usize) -> usize {
    let by_memory = cache_bytes / (8 * n.max(1));
    (requested.min(n).min(by_memory) & !1).max(4)
}

/// Solves the problem by SMO with batched working sets of `size`
/// variables (see the module documentation; [`crate::solve_smo`] calls it
/// with [`batch_size`]). Problems without the equality constraint, and
/// those too small for two halves of the block, go to pair SMO.
pub fn solve_batched(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
    size: usize,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<Solution, SetupError> {
    let start = Instant::now();
    settings.validate()?;
    problem.validate(q.dim())?;
    let n = problem.dim();
    let Some(eq) = problem.equality.filter(|_| size >= 4 && n >= 2 * size) else {
        return crate::smo::solve_pairs(q, problem, settings, progress, cancel);
    };
    let qd = crate::qmatrix::checked_diagonal(q)?;
    let alpha = initial_point(problem)?;
    let mut batched = Batched {
        q,
        problem,
        eq,
        qd,
        grad: problem.linear.to_vec(),
        alpha,
        size,
        block: vec![0.0; n * size],
        members: vec![None; size],
        in_set: vec![false; n],
        active: (0..n).collect(),
        row: (0..n).map(Some).collect(),
        shrinking: shrinks(problem, settings),
        ray: RayCheck::new(&[], &[], &[], &[]),
    };
    batched.warm_start();
    batched.ray = RayCheck::new(&batched.alpha, &batched.grad, &batched.qd, problem.upper);
    let (status, iterations) = batched.run(settings, progress, cancel, start);
    batched.unshrink();
    crate::kkt::finite_gradient(&batched.grad)?;
    Ok(batched.finish(status, iterations, start))
}

/// The state of a batched solve.
struct Batched<'a> {
    q: &'a dyn QMatrix,
    problem: &'a QpProblem<'a>,
    eq: Equality<'a>,
    qd: Vec<f64>,
    alpha: Vec<f64>,
    /// `G = Qα + p`, exact on the active variables (on all of them after
    /// [`Batched::unshrink`]).
    grad: Vec<f64>,
    /// `q`, the places in the working set.
    size: usize,
    /// `Q[active[r], members[k]]` at `block[r·size + k]`.
    block: Vec<f64>,
    /// The variable in each place of the working set.
    members: Vec<Option<usize>>,
    /// Whether a variable is in `members`.
    in_set: Vec<bool>,
    /// The variables not shrunk, increasing: the block's rows.
    active: Vec<usize>,
    /// Each variable's row in the block, `None` when shrunk.
    row: Vec<Option<usize>>,
    /// Whether the solve shrinks (see [`shrinks`]).
    shrinking: bool,
    /// The test for a diverging iterate ([`crate::ray`]).
    ray: RayCheck,
}

/// Rounds without a new low of the violation, within rounding, before the
/// solve ends as stalled ([`crate::stall`]).
const STALL_ROUNDS: u32 = 16;

/// Rounds between two shrinking checks. A check that sets variables aside
/// moves the kept half of the block's rows up (one sequential pass), so
/// checks are not made every round: measured (a9a, L2, 2 threads, solve
/// seconds, two runs each) every 4 rounds 6.18, 6.06; every 8 5.66, 5.58;
/// every 16 5.82, 5.62; every 32 5.55, 5.81 (a1a.t and pendigits alike
/// within the noise).
const SHRINK_EVERY: usize = 16;

/// Whether a batched solve shrinks: when the settings allow it and no
/// variable has a finite upper bound (as in the L2-loss SVM duals). The
/// gradients of the shrunk variables are then rebuilt once, at the end, at
/// one entry of `Q` per shrunk row and non-zero `αⱼ`. With finite upper
/// bounds that rebuild is kept cheap by LIBSVM's `Ḡ`, which a batched solve
/// would have to update on the shrunk rows each round a member reaches or
/// leaves its bound; measured (a9a, L1, RBF, 2 threads, this rule's commit):
/// those updates alone took 0.33 s (7.2·10⁷ entries) for a solve of 1.4 s,
/// and shrinking made it 1.72–1.85 s against 1.39–1.42 s without.
fn shrinks(problem: &QpProblem<'_>, settings: &SmoSettings) -> bool {
    settings.shrinking && problem.upper.iter().all(|u| u.is_infinite())
}

impl Batched<'_> {
    /// Whether `t` is in `I_up` and in `I_low`.
    fn sides(&self, t: usize) -> (bool, bool) {
        let p = self.problem;
        kkt::sides(self.alpha[t], self.eq.signs[t], p.lower[t], p.upper[t])
    }

    /// `(m, M)` over the active variables ([`kkt::extremes`]).
    fn extremes(&self) -> (f64, f64) {
        let p = self.problem;
        let (alpha, grad, signs) = (&self.alpha, &self.grad, self.eq.signs);
        kkt::extremes(
            self.active.iter().copied(),
            alpha,
            grad,
            signs,
            p.lower,
            p.upper,
        )
    }

    /// `Σ αⱼQ_{rows, j}` over the non-zero `αⱼ`, their columns formed in
    /// blocks of the working set's size in the block (whose contents are
    /// lost).
    fn alpha_sums(&mut self, rows: &[usize]) -> Vec<f64> {
        let cols: Vec<usize> = (0..self.alpha.len())
            .filter(|&j| self.alpha[j] != 0.0)
            .collect();
        let mut sums = vec![0.0; rows.len()];
        if rows.is_empty() {
            return sums;
        }
        for cs in cols.chunks(self.size) {
            let weights: Vec<f64> = cs.iter().map(|&j| self.alpha[j]).collect();
            self.q.columns(cs, rows, &mut self.block, cs.len());
            add_block_product(&mut sums, &self.block, cs.len(), &weights);
        }
        sums
    }

    /// A warm start: `G = p + Σ αⱼQ_{:j}` over the non-zero `αⱼ`.
    fn warm_start(&mut self) {
        let all: Vec<usize> = (0..self.alpha.len()).collect();
        let sums = self.alpha_sums(&all);
        for (g, s) in self.grad.iter_mut().zip(&sums) {
            *g += s;
        }
    }

    /// Whether the iterate runs along a certified ray of negative curvature
    /// ([`crate::ray`]): the objective is unbounded below.
    fn diverging(&mut self) -> bool {
        if !self.ray.possible() {
            return false;
        }
        if self.active.len() == self.alpha.len() {
            return self.ray.unbounded(self.q, &self.alpha, &self.grad);
        }
        let grad: Vec<f64> = (self.grad.iter().zip(&self.row))
            .map(|(&g, r)| if r.is_some() { g } else { f64::NAN })
            .collect();
        self.ray.unbounded(self.q, &self.alpha, &grad)
    }

    /// Rebuilds the gradient of the shrunk variables,
    /// `Gᵢ = pᵢ + Σ_{αⱼ ≠ 0} αⱼQᵢⱼ`, and makes every variable active again.
    /// The working set is emptied (its columns lack the new rows).
    fn unshrink(&mut self) {
        let n = self.alpha.len();
        if self.active.len() == n {
            return;
        }
        let shrunk: Vec<usize> = (0..n).filter(|&i| self.row[i].is_none()).collect();
        let sums = self.alpha_sums(&shrunk);
        for (&i, s) in shrunk.iter().zip(&sums) {
            self.grad[i] = self.problem.linear[i] + s;
        }
        self.active = (0..n).collect();
        self.row = (0..n).map(Some).collect();
        for member in &mut self.members {
            if let Some(t) = member.take() {
                self.in_set[t] = false;
            }
        }
    }

    /// Sets aside the bounded variables that cannot be part of a violating
    /// pair at the current `(m, M)` = `extremes` (LIBSVM's `be_shrunk`:
    /// `vₜ < M` for a variable only in `I_up`, `vₜ > m` for one only in
    /// `I_low`, any variable in neither), except the working set's members,
    /// and moves the kept half of the block's rows up (`kept` places).
    fn shrink(&mut self, (m, big_m): (f64, f64), kept: std::ops::Range<usize>) {
        let keep = |s: &Self, t: usize| {
            if s.in_set[t] {
                return true;
            }
            let v = -s.eq.signs[t] * s.grad[t];
            match s.sides(t) {
                (true, true) => true,
                (true, false) => v >= big_m,
                (false, true) => v <= m,
                (false, false) => false,
            }
        };
        let kept_active: Vec<usize> = self
            .active
            .iter()
            .copied()
            .filter(|&t| keep(self, t))
            .collect();
        if kept_active.len() == self.active.len() {
            return;
        }
        // Rows only move up: in increasing order, each read before written.
        for (new, &t) in kept_active.iter().enumerate() {
            let old = self.row[t].expect("an active variable has a row");
            if old != new && !kept.is_empty() {
                let (from, to) = (old * self.size, new * self.size);
                self.block
                    .copy_within(from + kept.start..from + kept.end, to + kept.start);
            }
        }
        for &t in &self.active {
            self.row[t] = None;
        }
        for (r, &t) in kept_active.iter().enumerate() {
            self.row[t] = Some(r);
        }
        self.active = kept_active;
    }

    fn run(
        &mut self,
        settings: &SmoSettings,
        progress: Option<&(dyn Fn(&Progress) + Sync)>,
        cancel: Option<&AtomicBool>,
        start: Instant,
    ) -> (Status, u64) {
        let mut iterations: u64 = 0;
        let n = self.alpha.len();
        let mut watch = Watch::new(settings, n, progress, cancel, start);
        let mut round: usize = 0;
        let mut idle = 0;
        let mut stall = StallWatch::new(STALL_ROUNDS);
        // Whether the next round fills every place (the first, and the one
        // after the gradient was rebuilt).
        let mut fill_all = true;
        loop {
            // `m − M` over the active variables, as
            // `kkt::maximal_violating_pair`.
            let mut extremes = self.extremes();
            let mut violation = kkt::pair_violation(extremes.0, extremes.1);
            if violation <= settings.tol && self.active.len() < self.alpha.len() {
                // Optimal on the active variables: the final check is made
                // on all of them.
                self.unshrink();
                fill_all = true;
                extremes = self.extremes();
                violation = kkt::pair_violation(extremes.0, extremes.1);
            }
            if violation <= settings.tol {
                return (Status::Converged, iterations);
            }
            let active = self.active.len();
            if let Some(limit) = watch.check(iterations, true, || (violation, active)) {
                return (limit, iterations);
            }
            if self.diverging() {
                return (Status::Unbounded, iterations);
            }
            let floor = || rounding_floor_of(&self.qd, &self.alpha, self.problem.linear);
            if stall.stalled(violation, floor) {
                if self.active.len() == self.alpha.len() {
                    return (Status::Stalled, iterations);
                }
                // Measured on the active variables only: the verdict is made
                // on all of them, without shrinking from now on.
                self.unshrink();
                self.shrinking = false;
                fill_all = true;
                stall = StallWatch::new(STALL_ROUNDS);
                continue;
            }
            // The places refilled: all in the first round, then the older
            // half (the halves alternate).
            let half = self.size / 2;
            let (places, kept) = if fill_all {
                round = 0;
                (0..self.size, 0..0)
            } else if round % 2 == 1 {
                (half..self.size, 0..half)
            } else {
                (0..half, half..self.size)
            };
            fill_all = false;
            round += 1;
            if self.shrinking && round.is_multiple_of(SHRINK_EVERY) {
                self.shrink(extremes, kept);
            }
            self.select(places.clone());
            let cols: Vec<usize> = self.members[places.clone()]
                .iter()
                .map_while(|&t| t)
                .collect();
            let ld = self.size;
            self.q
                .columns(&cols, &self.active, &mut self.block[places.start..], ld);
            let budget = Some(settings.iteration_limit(n) - iterations);
            let round_end = self.solve_subproblem(settings.tol, budget);
            iterations += round_end.steps;
            match round_end.outcome {
                Outcome::Unbounded => return (Status::Unbounded, iterations),
                Outcome::Moved => idle = 0,
                Outcome::Idle => {
                    // Nothing moved in floating point; with both halves
                    // refreshed and still nothing, the next rounds would
                    // repeat this one.
                    idle += 1;
                    if idle == 2 {
                        return (Status::Stalled, iterations);
                    }
                }
            }
        }
    }

    /// Refills `places` with the most violating variables not in the kept
    /// places, alternately from the top of `I_up` and the bottom of
    /// `I_low` by `vₜ = −yₜGₜ`. Places left over (too few candidates) stay
    /// empty; the filled ones come first.
    fn select(&mut self, places: std::ops::Range<usize>) {
        for p in places.clone() {
            if let Some(t) = self.members[p].take() {
                self.in_set[t] = false;
            }
        }
        let y = self.eq.signs;
        // vₜ on the active variables (the others are never read).
        let mut v = vec![0.0; self.alpha.len()];
        for &t in &self.active {
            v[t] = -y[t] * self.grad[t];
        }
        // `a` before `b` in descending v, ties by index: a total order.
        let before = |a: &usize, b: &usize| v[*b].total_cmp(&v[*a]).then(a.cmp(b));
        // The first `need` picks come from the first 2·need candidates of
        // each side at most (each side loses at most `need` to the other).
        let need = places.len();
        let candidates = |side: &dyn Fn(usize) -> bool, reverse: bool| {
            let order = |a: &usize, b: &usize| {
                let o = before(a, b);
                if reverse {
                    o.reverse()
                } else {
                    o
                }
            };
            let mut c: Vec<usize> = self
                .active
                .iter()
                .copied()
                .filter(|&t| !self.in_set[t] && side(t))
                .collect();
            if c.len() > 2 * need {
                c.select_nth_unstable_by(2 * need - 1, order);
                c.truncate(2 * need);
            }
            c.sort_unstable_by(order);
            c
        };
        let ups = candidates(&|t| self.sides(t).0, false);
        let lows = candidates(&|t| self.sides(t).1, true);
        // Alternately the next of each side not taken yet, as long as the
        // up pick comes before the last low pick in the order and the low
        // pick after the last up pick (the two ends of one sorted list
        // walked towards each other).
        let (mut up_at, mut low_at) = (ups.iter(), lows.iter());
        let mut last_low: Option<usize> = None;
        let mut chosen = Vec::with_capacity(need);
        while chosen.len() < need {
            let Some(&u) = up_at.by_ref().find(|&&t| !self.in_set[t]) else {
                break;
            };
            if last_low.is_some_and(|l| before(&u, &l).is_ge()) {
                break;
            }
            self.in_set[u] = true;
            chosen.push(u);
            if chosen.len() == need {
                break;
            }
            let Some(&t) = low_at.by_ref().find(|&&t| !self.in_set[t]) else {
                break;
            };
            if before(&u, &t).is_ge() {
                break;
            }
            self.in_set[t] = true;
            chosen.push(t);
            last_low = Some(t);
        }
        for (p, t) in places.zip(chosen) {
            self.members[p] = Some(t);
        }
    }

    /// Pair steps with WSS3 on the working set, then the gradient update of
    /// all variables.
    fn solve_subproblem(&mut self, tol: f64, budget: Option<u64>) -> RoundEnd {
        let (places, vars): (Vec<usize>, Vec<usize>) = self
            .members
            .iter()
            .enumerate()
            .filter_map(|(p, &t)| Some((p, t?)))
            .unzip();
        let m = vars.len();
        // Column k of Q_BB at qbb[k·m ..]: Q[vars[r], vars[k]] for r < m,
        // transposed from the block's rows in strips of 16 rows (contiguous
        // writes, 16 sequential read streams).
        let mut qbb = vec![0.0; m * m];
        for (strip, ts) in vars.chunks(16).enumerate() {
            let r0 = strip * 16;
            for (k, &p) in places.iter().enumerate() {
                let out = &mut qbb[k * m + r0..k * m + r0 + ts.len()];
                for (o, &t) in out.iter_mut().zip(ts) {
                    let r = self.row[t].expect("a member is active");
                    *o = self.block[r * self.size + p];
                }
            }
        }
        let p = self.problem;
        let y: Vec<f64> = vars.iter().map(|&t| self.eq.signs[t]).collect();
        let lower: Vec<f64> = vars.iter().map(|&t| p.lower[t]).collect();
        let upper: Vec<f64> = vars.iter().map(|&t| p.upper[t]).collect();
        let qd: Vec<f64> = vars.iter().map(|&t| self.qd[t]).collect();
        let start: Vec<f64> = vars.iter().map(|&t| self.alpha[t]).collect();
        let mut alpha = start.clone();
        let mut grad: Vec<f64> = vars.iter().map(|&t| self.grad[t]).collect();
        let side = |k: usize, a: f64| kkt::sides(a, y[k], lower[k], upper[k]);
        let (mut up, mut low): (Vec<bool>, Vec<bool>) = (0..m).map(|k| side(k, alpha[k])).unzip();
        let limit = budget.map_or(100 * m as u64, |b| b.min(100 * m as u64));
        // A round ends early once some |α| doubles from the round's start,
        // so that the ray test between rounds ([`crate::ray`]) sees an
        // iterate running off before it overflows; only where a ray can
        // exist.
        let growth_cap = if self.ray.possible() {
            doubled_scale(&start)
        } else {
            f64::INFINITY
        };

        let mut local_tol = f64::INFINITY;
        let mut steps = 0;
        let mut bounded = true;
        let mut next: Option<Option<FirstIndex>> = None;
        while steps < limit {
            let first = match next.take() {
                Some(first) => first,
                None => first_index(&y, &grad, &up),
            };
            let Some(first) = first else { break };
            let i = first.i;
            let second = second_index(&y, &grad, &low, &qd, &qbb[i * m..(i + 1) * m], first);
            let gap = first.m - second.big_m;
            if local_tol.is_infinite() {
                local_tol = tol.max(0.1 * gap);
            }
            let Some(j) = second.j.filter(|_| gap > local_tol) else {
                break;
            };
            let var = |k: usize| PairVariable {
                alpha: alpha[k],
                sign: y[k],
                grad: grad[k],
                diag: qd[k],
                lower: lower[k],
                upper: upper[k],
            };
            let Some((new_i, new_j)) = pair_step(&var(i), &var(j), qbb[i * m + j]) else {
                bounded = false;
                break;
            };
            let (di, dj) = (new_i - alpha[i], new_j - alpha[j]);
            if di == 0.0 && dj == 0.0 {
                // The step is below the iterate's rounding: the state, and
                // so the next selection, would not change.
                break;
            }
            alpha[i] = new_i;
            alpha[j] = new_j;
            for k in [i, j] {
                (up[k], low[k]) = side(k, alpha[k]);
            }
            let (qi, qj) = (&qbb[i * m..(i + 1) * m], &qbb[j * m..(j + 1) * m]);
            next = Some(update_gradient_first_index(
                &mut grad, qi, di, qj, dj, &y, &up,
            ));
            steps += 1;
            if alpha[i].abs().max(alpha[j].abs()) > growth_cap {
                break;
            }
        }
        // Δα_B into the block's places, then G += Q_{:B} Δα_B on the
        // active rows.
        let mut delta = vec![0.0; self.size];
        for (k, (&t, &place)) in vars.iter().zip(&places).enumerate() {
            delta[place] = alpha[k] - start[k];
            self.alpha[t] = alpha[k];
        }
        if delta.iter().any(|&d| d != 0.0) {
            let mut change = vec![0.0; self.active.len()];
            add_block_product(&mut change, &self.block, self.size, &delta);
            for (&t, c) in self.active.iter().zip(&change) {
                self.grad[t] += c;
            }
        }
        let outcome = if !bounded {
            Outcome::Unbounded
        } else if delta.iter().all(|&d| d == 0.0) {
            Outcome::Idle
        } else {
            Outcome::Moved
        };
        RoundEnd { steps, outcome }
    }

    /// The solution, its gradient made exact on every variable.
    fn finish(mut self, status: Status, iterations: u64, start: Instant) -> Solution {
        self.unshrink();
        Solution::at(
            self.problem,
            self.alpha,
            self.grad,
            status,
            iterations,
            start,
        )
    }
}

/// How a round's sub-problem ended.
struct RoundEnd {
    /// Pair steps taken.
    steps: u64,
    outcome: Outcome,
}

enum Outcome {
    /// Some variable moved.
    Moved,
    /// No variable moved: every step was below the iterate's rounding.
    Idle,
    /// The objective is unbounded along a step's direction.
    Unbounded,
}

/// `G ← G + B w` for the row-major `G.len() × size` block `B`, in
/// parallel over fixed chunks of rows, each entry by one [`dot`].
fn add_block_product(grad: &mut [f64], block: &[f64], size: usize, w: &[f64]) {
    grad.par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(c, g)| {
            let rows = &block[c * ROWS_PER_TASK * size..];
            for (r, g) in g.iter_mut().enumerate() {
                *g += dot(&rows[r * size..(r + 1) * size], w);
            }
        });
}

/// `Σ aₖbₖ` with eight partial sums (`k mod 8`) added pairwise at the end,
/// then the tail: a fixed order that vectorises.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    ra.iter().zip(rb).fold(s, |s, (x, y)| s + x * y)
}
