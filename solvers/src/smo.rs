//! Sequential minimal optimisation for
//! `min ½αᵀQα + pᵀα  s.t. yᵀα = Δ (optional), l ≤ α ≤ u` (`uᵢ` may be `+∞`).
//!
//! # Algorithm
//! Decomposition with the smallest working sets (Platt 1998; Chang & Lin,
//! LIBSVM, ACM TIST 2011):
//! - **With the equality**, each iteration picks a pair `(i, j)` by the
//!   second-order rule WSS3 of Fan, Chen & Lin (JMLR 6, 2005, §2):
//!   `i = argmax { −yₜGₜ : t ∈ I_up }`, then among `t ∈ I_low` with
//!   `bₜ = −yᵢGᵢ + yₜGₜ > 0` the `j` minimising `−bₜ² / aₜ`, where
//!   `aₜ = Qᵢᵢ + Qₜₜ − 2yᵢyₜQᵢₜ` (replaced by `τ = 10⁻¹²` when not
//!   positive). It then moves along `Δαᵢ = yᵢt`, `Δαⱼ = −yⱼt`, which keeps
//!   `yᵀα` fixed, with the exact minimiser `t = bⱼ / aⱼ` clipped to the box.
//!   An infinite upper bound only removes a clip.
//! - **Without it**, each iteration changes one variable: the one whose
//!   clipped Newton step `t = clip(αᵢ − Gᵢ/Qᵢᵢ, lᵢ, uᵢ) − αᵢ` decreases the
//!   objective most (`−Gᵢt − ½Qᵢᵢt²`), the one-variable analogue of WSS3.
//!
//! [`solve_smo`] runs this with [`crate::WorkingSet::Pairs`], and SMO with
//! batched working sets ([`crate::batch`]) when the settings ask for
//! batches or [`crate::WorkingSet::Auto`] picks them.
//!
//! Steps too small to change the iterate in floating point leave the
//! selection as it was; after two shrinking periods of them the solve ends
//! with [`Status::Stalled`]. So does a violation that stays within
//! rounding without a new low for eight periods (a `tol` below what
//! rounding allows, [`crate::stall`]), and an iterate running along a ray
//! of negative curvature (a `Q` that is not positive semidefinite) ends
//! with [`Status::Unbounded`] ([`crate::ray`]), both checked once a
//! shrinking period.
//!
//! Stopping: the maximal violation `m(α) − M(α)` (or the projected-gradient
//! norm) at most `tol`, see [`crate::kkt`]. A limit reached first is a
//! [`Status`], and the point returned is feasible.
//!
//! # Shrinking and the cache
//! Every `min(n, 1000)` iterations, variables at a bound whose gradient says
//! they would leave the working-set candidates anyway are moved behind the
//! active prefix (Joachims 1999; Chang & Lin 2011, §5.1). Their gradients
//! are rebuilt from `Ḡ = Σ_{j at a bound, αⱼ ≠ 0} αⱼQ_{:j}` (kept for all
//! rows) and the free variables before the final optimality check, which is
//! therefore made on all variables. Columns of `Q` restricted to the active
//! rows live in an LRU [`ColumnCache`] with a byte budget; a shrinking
//! step applies all its position swaps to each cached column in one pass.
//!
//! When a whole column costs no more than part of it
//! ([`QMatrix::whole_columns_preferred`], as for kernel columns formed
//! through the transposed features), columns are always computed and
//! cached over all rows, and SMO does not shrink even when the settings
//! allow it: what shrinking saves is then only the selection and update
//! passes over the shrunk positions, while its permutation makes every
//! column's entries arrive in scattered order. Measured (2 threads, one run
//! each, before this rule): a9a L1 solve 1.98 s shrinking against 1.86 s
//! not, a9a L2 9.82 against 8.43 s, a1a.t L1 1.77 against 1.61 s, a1a.t L2
//! 9.65 against 7.15 s; a whole a9a-like column in scrambled row order
//! took 193 µs against 90 µs in row order (`benches/micro.rs`).
//! Without shrinking `Ḡ` is not kept.
//!
//! # Determinism
//! The iteration is sequential. Parallel work: [`QMatrix::column`], whose
//! entries are independent; the gradient updates, elementwise; and the
//! working-set selection, over fixed chunks of positions whose partial
//! results (the last maximiser / minimiser of each chunk, with the same
//! comparisons as one pass) are combined in chunk order. So the result is
//! bit-identical for any number of threads.

use crate::cache::ColumnCache;
use crate::problem::QpProblem;
use crate::projection;
use crate::ray::RayCheck;
use crate::selection::{
    first_index, for_chunks, second_index, update_gradient_first_index, FirstIndex,
};
use crate::solution::cancelled;
use crate::stall::{rounding_floor_of, StallWatch};
use crate::{Progress, QMatrix, SetupError, SmoSettings, Solution, Status};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Shrinking periods without a new low of the violation, within rounding,
/// before the solve ends as stalled ([`crate::stall`]).
const STALL_PERIODS: u32 = 8;

/// Where a variable sits relative to its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Lower,
    Upper,
    Free,
}

/// The chosen working set, or the verdict that none is needed.
enum Selection {
    Pair(usize, usize),
    Single(usize),
    Optimal,
}

/// Solver state, all arrays in working order (`perm[pos]` is the original
/// index of the variable at position `pos`; the active set is `0..active`).
struct Smo<'a> {
    q: &'a dyn QMatrix,
    n: usize,
    equality: bool,
    active: usize,
    perm: Vec<usize>,
    y: Vec<f64>,
    p: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    qd: Vec<f64>,
    alpha: Vec<f64>,
    grad: Vec<f64>,
    grad_bar: Vec<f64>,
    place: Vec<Place>,
    /// `t ∈ I_up` / `t ∈ I_low` (from `y` and `place`, kept in step).
    up: Vec<bool>,
    low: Vec<bool>,
    cache: ColumnCache,
    tol: f64,
    unshrunk: bool,
    /// [`QMatrix::whole_columns_preferred`], asked once.
    whole_columns: bool,
    /// Whether this solve shrinks: when allowed by the settings and `Q`'s
    /// columns are not whole anyway (see the module documentation).
    /// Without shrinking `Ḡ` is not needed and not kept.
    shrinking: bool,
    /// The first index of WSS3 for the current gradient, when the last
    /// pair step computed it with the gradient update; `None` when it must
    /// be computed afresh (after shrinking or a gradient rebuild).
    next_first: Option<Option<FirstIndex>>,
    /// The test for a diverging iterate ([`crate::ray`]).
    ray: RayCheck,
}

/// Solves the problem with SMO. Errors only for an invalid problem or
/// settings; limits end with a [`Status`].
///
/// `progress` is called at most once per `settings.progress_interval`.
pub fn solve_smo(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<Solution, SetupError> {
    solve_smo_cancellable(q, problem, settings, progress, None)
}

/// [`solve_smo`] with cooperative cancellation: when `cancel` is set (by
/// another thread or a signal handler) the solve stops before its next
/// iteration with [`Status::Interrupted`] and returns the current iterate,
/// feasible, with its gradient made exact on all variables — the best point
/// so far, since every SMO step decreases the objective.
pub fn solve_smo_cancellable(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<Solution, SetupError> {
    match crate::batch::batch_size(q, problem, settings) {
        Some(size) => crate::batch::solve_batched(q, problem, settings, size, progress, cancel),
        None => solve_pairs(q, problem, settings, progress, cancel),
    }
}

/// SMO with one pair (or one variable) per iteration.
pub(crate) fn solve_pairs(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &SmoSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<Solution, SetupError> {
    let start = Instant::now();
    settings.validate()?;
    problem.validate(q.dim())?;
    let qd = crate::qmatrix::checked_diagonal(q)?;
    let alpha0 = initial_point(problem)?;
    let mut smo = Smo::new(q, problem, qd, alpha0, settings);
    let (status, iterations) = smo.run(settings, progress, cancel, start);
    crate::kkt::finite_gradient(&smo.grad)?;
    Ok(smo.finish(problem, status, iterations, start))
}

/// The starting point: `problem.initial` (or 0) projected onto the feasible
/// set. A point that is already feasible up to rounding in `yᵀα` is kept
/// as it is (see [`crate::pg`]'s `initial_point`), so that resuming from a
/// previous iterate resumes from exactly that iterate.
pub(crate) fn initial_point(problem: &QpProblem<'_>) -> Result<Vec<f64>, SetupError> {
    match problem.initial {
        Some(v) => crate::pg::warm_start_point(problem, v),
        None => {
            let zeros = vec![0.0; problem.dim()];
            match problem.equality {
                Some(eq) => {
                    projection::project(&zeros, eq.signs, eq.rhs, problem.lower, problem.upper)
                }
                None => Ok(projection::project_box(
                    &zeros,
                    problem.lower,
                    problem.upper,
                )),
            }
        }
    }
}

/// The limits and the progress callback, checked between iterations by
/// both SMO loops (pairs and batches).
pub(crate) struct Watch<'a> {
    settings: &'a SmoSettings,
    /// [`SmoSettings::iteration_limit`].
    limit: u64,
    progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    cancel: Option<&'a AtomicBool>,
    start: Instant,
    last_report: Instant,
}

impl<'a> Watch<'a> {
    pub(crate) fn new(
        settings: &'a SmoSettings,
        n: usize,
        progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
        cancel: Option<&'a AtomicBool>,
        start: Instant,
    ) -> Self {
        Self {
            settings,
            limit: settings.iteration_limit(n),
            progress,
            cancel,
            start,
            last_report: start,
        }
    }

    /// The limit reached before the next iteration, if any: the iteration
    /// limit and a cancellation always; when `timed` (reading the clock
    /// costs, so a caller with cheap iterations asks now and then) also the
    /// time limit, and a progress report is made when one is due, with the
    /// violation and the active count from `state`.
    pub(crate) fn check(
        &mut self,
        iterations: u64,
        timed: bool,
        state: impl FnOnce() -> (f64, usize),
    ) -> Option<Status> {
        if iterations >= self.limit {
            return Some(Status::MaxIterations);
        }
        if cancelled(self.cancel) {
            return Some(Status::Interrupted);
        }
        if !timed {
            return None;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.start);
        if self.settings.time_limit.is_some_and(|t| elapsed >= t) {
            return Some(Status::TimeLimit);
        }
        if let Some(report) = self.progress {
            if now.duration_since(self.last_report) >= self.settings.progress_interval {
                self.last_report = now;
                let (max_violation, active) = state();
                report(&Progress {
                    iterations,
                    max_violation,
                    active,
                    elapsed,
                });
            }
        }
        None
    }
}

/// One variable of an SMO pair step, as [`pair_step`] needs it.
pub(crate) struct PairVariable {
    pub alpha: f64,
    pub sign: f64,
    pub grad: f64,
    /// `Qₜₜ`.
    pub diag: f64,
    pub lower: f64,
    pub upper: f64,
}

/// The step `αᵢ += yᵢt`, `αⱼ −= yⱼt` with the exact minimiser
/// `t = bⱼ / aⱼ` clipped to both boxes (landing exactly on a bound that
/// limited it): the new `(αᵢ, αⱼ)`, or `None` when the objective is
/// unbounded along the direction.
pub(crate) fn pair_step(i: &PairVariable, j: &PairVariable, qij: f64) -> Option<(f64, f64)> {
    let (yi, yj) = (i.sign, j.sign);
    let a = i.diag + j.diag - 2.0 * yi * yj * qij;
    let b = -yi * i.grad + yj * j.grad;
    // Room along the direction for each variable.
    let room_i = if yi > 0.0 {
        i.upper - i.alpha
    } else {
        i.alpha - i.lower
    };
    let room_j = if yj > 0.0 {
        j.alpha - j.lower
    } else {
        j.upper - j.alpha
    };
    let t_star = if a > 0.0 { b / a } else { f64::INFINITY };
    let t = t_star.min(room_i).min(room_j);
    if !t.is_finite() {
        return None;
    }
    let mut new_i = i.alpha + yi * t;
    let mut new_j = j.alpha - yj * t;
    if t == room_i {
        new_i = if yi > 0.0 { i.upper } else { i.lower };
    }
    if t == room_j {
        new_j = if yj > 0.0 { j.lower } else { j.upper };
    }
    Some((
        new_i.max(i.lower).min(i.upper),
        new_j.max(j.lower).min(j.upper),
    ))
}

impl<'a> Smo<'a> {
    fn new(
        q: &'a dyn QMatrix,
        problem: &QpProblem<'_>,
        qd: Vec<f64>,
        alpha: Vec<f64>,
        settings: &SmoSettings,
    ) -> Self {
        let n = problem.dim();
        let whole_columns = q.whole_columns_preferred();
        let y = match problem.equality {
            Some(eq) => eq.signs.to_vec(),
            None => vec![1.0; n],
        };
        let mut smo = Smo {
            q,
            n,
            equality: problem.equality.is_some(),
            active: n,
            perm: (0..n).collect(),
            y,
            p: problem.linear.to_vec(),
            lower: problem.lower.to_vec(),
            upper: problem.upper.to_vec(),
            qd,
            alpha,
            grad: problem.linear.to_vec(),
            grad_bar: vec![0.0; n],
            place: vec![Place::Free; n],
            up: vec![true; n],
            low: vec![true; n],
            cache: ColumnCache::new(
                n,
                if settings.cache_warmup > 0 {
                    0
                } else {
                    settings.cache_bytes
                },
            ),
            tol: settings.tol,
            unshrunk: false,
            whole_columns,
            shrinking: settings.shrinking && !whole_columns,
            next_first: None,
            ray: RayCheck::new(&[], &[], &[], &[]),
        };
        for i in 0..n {
            smo.place[i] = smo.place_of(i);
            smo.refresh_sets(i);
        }
        // G = p + Σⱼ αⱼ Q_{:j};  Ḡ = Σ over bounded j with αⱼ ≠ 0. The
        // columns go through the cache: a warm start needs one per nonzero
        // αⱼ, and the iterations that follow ask for the same columns.
        for j in 0..n {
            let a = smo.alpha[j];
            if a != 0.0 {
                smo.column(j, n, None);
                let col = smo.cache.column(j);
                for (g, c) in smo.grad.iter_mut().zip(col) {
                    *g += a * c;
                }
                if smo.place[j] != Place::Free {
                    for (g, c) in smo.grad_bar.iter_mut().zip(col) {
                        *g += a * c;
                    }
                }
            }
        }
        // `perm` is still the identity here.
        smo.ray = RayCheck::new(&smo.alpha, &smo.grad, &smo.qd, &smo.upper);
        smo
    }

    fn place_of(&self, i: usize) -> Place {
        if self.alpha[i] >= self.upper[i] {
            Place::Upper
        } else if self.alpha[i] <= self.lower[i] {
            Place::Lower
        } else {
            Place::Free
        }
    }

    /// `Ḡ` counts `αⱼQ_{:j}` for bounded variables with `αⱼ ≠ 0`.
    fn bar_weight(&self, i: usize) -> f64 {
        if self.place[i] == Place::Free {
            0.0
        } else {
            self.alpha[i]
        }
    }

    /// The column at position `pos` over rows `0..len` (or over all rows,
    /// when `Q` prefers whole columns), through the cache.
    fn column(&mut self, pos: usize, len: usize, protect: Option<usize>) {
        let len = if self.whole_columns { self.n } else { len };
        let start = self.cache.prepare(pos, len, protect);
        if start < len {
            let out = &mut self.cache.column_mut(pos)[start..len];
            self.q.column(self.perm[pos], &self.perm[start..len], out);
        }
    }

    fn run(
        &mut self,
        settings: &SmoSettings,
        progress: Option<&(dyn Fn(&Progress) + Sync)>,
        cancel: Option<&AtomicBool>,
        start: Instant,
    ) -> (Status, u64) {
        let shrink_every = self.n.clamp(1, 1000) as u64;
        let mut counter = shrink_every;
        let mut idle: u64 = 0;
        let mut stall = StallWatch::new(STALL_PERIODS);
        let mut iterations: u64 = 0;
        let mut watch = Watch::new(settings, self.n, progress, cancel, start);
        let status = loop {
            let timed = iterations.is_multiple_of(16);
            if let Some(limit) = watch.check(iterations, timed, || (self.violation(), self.active))
            {
                break limit;
            }
            counter -= 1;
            if counter == 0 {
                counter = shrink_every;
                if self.diverging() {
                    break Status::Unbounded;
                }
                let floor = || rounding_floor_of(&self.qd, &self.alpha, &self.p);
                if stall.stalled(self.violation(), floor) {
                    if self.active == self.n {
                        break Status::Stalled;
                    }
                    // Measured on the active variables only: the verdict is
                    // made on all of them, without shrinking from now on.
                    self.reconstruct_gradient();
                    self.active = self.n;
                    self.shrinking = false;
                    self.next_first = None;
                    stall = StallWatch::new(STALL_PERIODS);
                }
                if self.shrinking {
                    self.shrink();
                }
            }
            let mut selection = self.select();
            if matches!(selection, Selection::Optimal) {
                // Optimal on the active set: check all variables.
                self.reconstruct_gradient();
                self.active = self.n;
                selection = self.select();
                if matches!(selection, Selection::Optimal) {
                    break Status::Converged;
                }
                counter = 1;
            }
            iterations += 1;
            if iterations == settings.cache_warmup {
                self.cache.raise_budget(settings.cache_bytes);
            }
            let (bounded, moved) = match selection {
                Selection::Pair(i, j) => {
                    let before = (self.alpha[i], self.alpha[j]);
                    let bounded = self.step_pair(i, j);
                    (bounded, before != (self.alpha[i], self.alpha[j]))
                }
                Selection::Single(i) => {
                    let before = self.alpha[i];
                    let bounded = self.step_single(i);
                    (bounded, before != self.alpha[i])
                }
                Selection::Optimal => unreachable!("handled above"),
            };
            if !bounded {
                break Status::Unbounded;
            }
            // Each doubling of the largest |α| seen triggers the ray test
            // too, not only the next shrinking period ([`RayCheck::crossed`]).
            let grown = match selection {
                Selection::Pair(i, j) => self.alpha[i].abs().max(self.alpha[j].abs()),
                Selection::Single(i) => self.alpha[i].abs(),
                Selection::Optimal => 0.0,
            };
            if self.ray.crossed(grown) && self.diverging() {
                break Status::Unbounded;
            }
            // Steps below the iterate's rounding leave the state, and so the
            // selection, as they were; through two shrinking periods of
            // them nothing else will happen either.
            idle = if moved { 0 } else { idle + 1 };
            if idle > 2 * shrink_every {
                break Status::Stalled;
            }
        };
        if self.active < self.n {
            self.reconstruct_gradient();
            self.active = self.n;
        }
        (status, iterations)
    }

    /// Whether the iterate runs along a certified ray of negative curvature
    /// ([`crate::ray`]): the objective is unbounded below.
    fn diverging(&mut self) -> bool {
        if !self.ray.possible() {
            return false;
        }
        let mut alpha = vec![0.0; self.n];
        let mut grad = vec![f64::NAN; self.n];
        for (pos, &k) in self.perm.iter().enumerate() {
            alpha[k] = self.alpha[pos];
            if pos < self.active {
                grad[k] = self.grad[pos];
            }
        }
        self.ray.unbounded(self.q, &alpha, &grad)
    }

    /// The working set by WSS3 (pair) or the best single coordinate.
    fn select(&mut self) -> Selection {
        if self.equality {
            self.select_pair()
        } else {
            self.select_single()
        }
    }

    /// Recomputes `up[t]` and `low[t]` from `y[t]` and `place[t]`.
    fn refresh_sets(&mut self, t: usize) {
        let (up, low) = if self.y[t] > 0.0 {
            (self.place[t] != Place::Upper, self.place[t] != Place::Lower)
        } else {
            (self.place[t] != Place::Lower, self.place[t] != Place::Upper)
        };
        self.up[t] = up;
        self.low[t] = low;
    }

    fn in_up(&self, t: usize) -> bool {
        self.up[t]
    }

    fn in_low(&self, t: usize) -> bool {
        self.low[t]
    }

    fn select_pair(&mut self) -> Selection {
        let active = self.active;
        let first = match self.next_first.take() {
            Some(first) => first,
            None => first_index(&self.y[..active], &self.grad[..active], &self.up[..active]),
        };
        let Some(first) = first else {
            return Selection::Optimal;
        };
        let i = first.i;
        self.column(i, active, None);
        let second = second_index(
            &self.y[..active],
            &self.grad[..active],
            &self.low[..active],
            &self.qd[..active],
            self.cache.column(i),
            first,
        );
        match second.j {
            Some(j) if first.m - second.big_m > self.tol => Selection::Pair(i, j),
            _ => Selection::Optimal,
        }
    }

    fn select_single(&self) -> Selection {
        let mut worst: f64 = 0.0;
        let mut best_gain = f64::NEG_INFINITY;
        let mut pick = None;
        for t in 0..self.active {
            let (g, v) = (self.grad[t], self.single_violation(t));
            if v <= 0.0 {
                continue;
            }
            worst = worst.max(v);
            let room = if g < 0.0 {
                self.upper[t] - self.alpha[t]
            } else {
                self.alpha[t] - self.lower[t]
            };
            let step = if self.qd[t] > 0.0 {
                (g.abs() / self.qd[t]).min(room)
            } else {
                room
            };
            let gain = if step.is_finite() {
                g.abs() * step - 0.5 * self.qd[t] * step * step
            } else {
                f64::INFINITY
            };
            if gain > best_gain {
                best_gain = gain;
                pick = Some(t);
            }
        }
        match pick {
            Some(t) if worst > self.tol => Selection::Single(t),
            _ => Selection::Optimal,
        }
    }

    /// The projected-gradient entry of position `t`.
    fn single_violation(&self, t: usize) -> f64 {
        let g = self.grad[t];
        match self.place[t] {
            Place::Lower => (-g).max(0.0),
            Place::Upper => g.max(0.0),
            Place::Free => g.abs(),
        }
    }

    /// The current optimality measure on the active set.
    fn violation(&self) -> f64 {
        if self.equality {
            let (mut m, mut big_m) = (f64::NEG_INFINITY, f64::INFINITY);
            for t in 0..self.active {
                let v = -self.y[t] * self.grad[t];
                if self.in_up(t) {
                    m = m.max(v);
                }
                if self.in_low(t) {
                    big_m = big_m.min(v);
                }
            }
            if m.is_finite() && big_m.is_finite() {
                (m - big_m).max(0.0)
            } else {
                0.0
            }
        } else {
            (0..self.active)
                .map(|t| self.single_violation(t))
                .fold(0.0, f64::max)
        }
    }

    /// Moves `αᵢ += yᵢt`, `αⱼ −= yⱼt` with the exact clipped minimiser `t`.
    /// Returns false when the objective is unbounded along the direction.
    fn step_pair(&mut self, i: usize, j: usize) -> bool {
        self.column(i, self.active, None);
        self.column(j, self.active, Some(i));
        let qij = self.cache.column(i)[j];
        let var = |t: usize| PairVariable {
            alpha: self.alpha[t],
            sign: self.y[t],
            grad: self.grad[t],
            diag: self.qd[t],
            lower: self.lower[t],
            upper: self.upper[t],
        };
        let Some((new_i, new_j)) = pair_step(&var(i), &var(j), qij) else {
            return false;
        };
        let (old_i, old_j) = (self.alpha[i], self.alpha[j]);
        let (di, dj) = (new_i - old_i, new_j - old_j);
        self.alpha[i] = new_i;
        self.alpha[j] = new_j;
        // The places first (they keep columns i and j cached), so that the
        // gradient update can also find the next first index.
        self.update_place(i, old_i, Some(j));
        self.update_place(j, old_j, Some(i));
        let active = self.active;
        let (qi, qj) = (self.cache.column(i), self.cache.column(j));
        self.next_first = Some(update_gradient_first_index(
            &mut self.grad[..active],
            qi,
            di,
            qj,
            dj,
            &self.y[..active],
            &self.up[..active],
        ));
        true
    }

    /// Moves one variable by its clipped Newton step.
    fn step_single(&mut self, i: usize) -> bool {
        self.next_first = None;
        self.column(i, self.active, None);
        let g = self.grad[i];
        let old = self.alpha[i];
        let target = if self.qd[i] > 0.0 {
            old - g / self.qd[i]
        } else if g < 0.0 {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        };
        let new = target.max(self.lower[i]).min(self.upper[i]);
        if !new.is_finite() {
            return false;
        }
        let d = new - old;
        self.alpha[i] = new;
        let qi = self.cache.column(i);
        for (k, gk) in self.grad[..self.active].iter_mut().enumerate() {
            *gk += qi[k] * d;
        }
        self.update_place(i, old, None);
        true
    }

    /// Refreshes the place of `pos` after `α` changed from `old`, keeping
    /// `Ḡ` in step (one full column when the bounded weight changes).
    fn update_place(&mut self, pos: usize, old: f64, protect: Option<usize>) {
        let before = if self.place[pos] == Place::Free {
            0.0
        } else {
            old
        };
        self.place[pos] = self.place_of(pos);
        self.refresh_sets(pos);
        let after = self.bar_weight(pos);
        let delta = after - before;
        if delta != 0.0 && self.shrinking {
            self.column(pos, self.n, protect);
            let col = self.cache.column(pos);
            for_chunks(&mut self.grad_bar, |start, g| {
                for (g, c) in g.iter_mut().zip(&col[start..]) {
                    *g += delta * c;
                }
            });
        }
    }

    /// Whether a bounded variable can be set aside (LIBSVM's `be_shrunk`,
    /// generalised to the one-variable case).
    fn can_shrink(&self, t: usize, gmax_up: f64, gmax_low: f64) -> bool {
        let g = self.grad[t];
        if self.equality {
            let v = -self.y[t] * g;
            match (self.place[t], self.y[t] > 0.0) {
                (Place::Upper, true) | (Place::Lower, false) => v > gmax_up,
                (Place::Lower, true) | (Place::Upper, false) => -v > gmax_low,
                (Place::Free, _) => false,
            }
        } else {
            match self.place[t] {
                Place::Lower => g > gmax_up,
                Place::Upper => -g > gmax_up,
                Place::Free => false,
            }
        }
    }

    fn shrink(&mut self) {
        self.next_first = None;
        // gmax_up = m(α) = max_{I_up} −yG; gmax_low = −M(α) = max_{I_low} yG.
        let (mut gmax_up, mut gmax_low) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        if self.equality {
            for t in 0..self.active {
                let v = -self.y[t] * self.grad[t];
                if self.in_up(t) {
                    gmax_up = gmax_up.max(v);
                }
                if self.in_low(t) {
                    gmax_low = gmax_low.max(-v);
                }
            }
        } else {
            gmax_up = self.violation();
            gmax_low = gmax_up;
        }
        let measure = if self.equality {
            gmax_up + gmax_low
        } else {
            gmax_up
        };
        if !self.unshrunk && measure <= 10.0 * self.tol {
            self.unshrunk = true;
            self.reconstruct_gradient();
            self.active = self.n;
        }
        let mut t = 0;
        let mut pairs = Vec::new();
        while t < self.active {
            if self.can_shrink(t, gmax_up, gmax_low) {
                self.active -= 1;
                while self.active > t {
                    if !self.can_shrink(self.active, gmax_up, gmax_low) {
                        self.swap(t, self.active);
                        pairs.push((t, self.active));
                        break;
                    }
                    self.active -= 1;
                }
            }
            t += 1;
        }
        self.cache.swap_many(&pairs);
    }

    /// Swaps positions `i` and `j` in every array but the cache, which
    /// the caller updates for all its swaps at once
    /// ([`ColumnCache::swap_many`]).
    fn swap(&mut self, i: usize, j: usize) {
        self.perm.swap(i, j);
        self.y.swap(i, j);
        self.p.swap(i, j);
        self.lower.swap(i, j);
        self.upper.swap(i, j);
        self.qd.swap(i, j);
        self.alpha.swap(i, j);
        self.grad.swap(i, j);
        self.grad_bar.swap(i, j);
        self.place.swap(i, j);
        self.up.swap(i, j);
        self.low.swap(i, j);
    }

    /// Rebuilds `G` on the inactive positions:
    /// `Gₖ = pₖ + Ḡₖ + Σ_{j free} αⱼQₖⱼ` (free variables are all active).
    fn reconstruct_gradient(&mut self) {
        self.next_first = None;
        if self.active == self.n {
            return;
        }
        for k in self.active..self.n {
            self.grad[k] = self.p[k] + self.grad_bar[k];
        }
        let free: Vec<usize> = (0..self.active)
            .filter(|&t| self.place[t] == Place::Free && self.alpha[t] != 0.0)
            .collect();
        if free.is_empty() {
            return;
        }
        let inactive = self.n - self.active;
        if free.len() <= inactive {
            // One column per free variable over the inactive rows.
            let mut col = vec![0.0; inactive];
            for &j in &free {
                self.q
                    .column(self.perm[j], &self.perm[self.active..], &mut col);
                let a = self.alpha[j];
                for (g, c) in self.grad[self.active..].iter_mut().zip(&col) {
                    *g += a * c;
                }
            }
        } else {
            // One column per inactive variable over the free rows.
            let rows: Vec<usize> = free.iter().map(|&t| self.perm[t]).collect();
            let mut col = vec![0.0; rows.len()];
            for k in self.active..self.n {
                self.q.column(self.perm[k], &rows, &mut col);
                let s: f64 = free.iter().zip(&col).map(|(&t, c)| self.alpha[t] * c).sum();
                self.grad[k] += s;
            }
        }
    }

    fn finish(
        self,
        problem: &QpProblem<'_>,
        status: Status,
        iterations: u64,
        start: Instant,
    ) -> Solution {
        let mut alpha = vec![0.0; self.n];
        let mut gradient = vec![0.0; self.n];
        for pos in 0..self.n {
            alpha[self.perm[pos]] = self.alpha[pos];
            gradient[self.perm[pos]] = self.grad[pos];
        }
        Solution::at(problem, alpha, gradient, status, iterations, start)
    }
}
