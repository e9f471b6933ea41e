//! Projected-gradient methods for
//! `min ½αᵀQα + pᵀα  s.t. yᵀα = Δ (optional), l ≤ α ≤ u` (`uᵢ` may be `+∞`).
//!
//! # Algorithm
//! Every iteration costs one product `Qd` and one exact projection
//! ([`crate::projection`], `O(n log n)`). The gradient `G = Qα + p` is kept
//! up to date from the products and recomputed from scratch every
//! [`PgSettings::gradient_refresh`] iterations and before convergence is
//! declared, so the stopping test — the maximal violation `m(α) − M(α)` of
//! [`crate::kkt`], or the projected-gradient norm without the equality, at
//! most `tol`, the rule of [`crate::solve_smo`] — is made on a gradient
//! computed from `α` by one product.
//!
//! Three methods are available ([`PgMethod`]):
//! - **[`PgMethod::Gvpm`]**: the generalised variable
//!   projection method of Serafini, Zanghirati & Zanni (Optim. Methods
//!   Softw. 20, 2005). Direction `d = P(α − sG) − α`, exact line search of
//!   the quadratic on `[0, 1]` (`t = min(1, −Gᵀd / dᵀQd)`, so the iteration
//!   is monotone), and step lengths `s` from the two Barzilai–Borwein rules
//!   (IMA J. Numer. Anal. 8, 1988) `s₁ = dᵀd / dᵀQd` and
//!   `s₂ = dᵀQd / ‖Qd‖²`, switching from `s₁` to `s₂` when the line search
//!   cut the step below `0.1` and back when the unclipped optimal step
//!   exceeds `5`, at most once every three iterations.
//! - **[`PgMethod::DaiFletcher`]**, the default: the non-monotone projected
//!   Barzilai–Borwein method of Dai & Fletcher (Math. Program. 106, 2006),
//!   in the spirit of the spectral projected gradient of Birgin, Martínez &
//!   Raydan (SIAM J. Optim. 10, 2000): the full step `t = 1` is taken unless
//!   it fails to decrease `f` below a reference value that is reset to the
//!   worst recent value after `L = 2` iterations without a new best, and
//!   the exact line search is used then; step length `s₁`.
//! - **[`PgMethod::Fista`]**: accelerated projected gradient (Beck &
//!   Teboulle, SIAM J. Imaging Sci. 2, 2009) with step `1/L`, `L` 1.05 times
//!   a power-iteration estimate of `λ_max(Q)`, and the gradient restart
//!   scheme of O'Donoghue & Candès (Found. Comput. Math. 15, 2015). The
//!   gradient at the extrapolated point is `G(α) + β(G(α) − G(α_prev))` by
//!   linearity, so this too costs one product an iteration.
//!
//! # Choice of the default, by measurement
//! `cargo bench --bench pg_vs_smo` (release build, 1 thread, dense `Q`
//! through `DenseDualHessian`, L1 loss, RBF kernel, default gamma, `C = 1`)
//! counts the products with `Q` each method needs; the counts do not depend
//! on the machine. Measured on 2026-11-26 (products to `tol = 1e-3` /
//! `1e-6`):
//!
//! | dataset (n)        | GVPM      | Dai–Fletcher | FISTA       |
//! |--------------------|-----------|--------------|-------------|
//! | heart_scale (270)  | 81 / 191  | 47 / 78      | 449 / 845   |
//! | a1a (1605)         | 89 / 252  | 53 / 90      | 4345 / 7415 |
//! | svmguide1 (3089)   | 142 / 411 | 60 / 102     | 68 / 178    |
//!
//! Dai–Fletcher needed the fewest products everywhere, 1.5–4 × fewer than
//! GVPM, whose monotone line search cuts the BB steps short; so it is the
//! default. FISTA's rate depends on `√κ` with `κ` the condition number of
//! `Q` on the free face, huge for SVM duals, while the BB steps adapt to
//! the spectrum: it needed up to 80 × more products and is kept for
//! comparison. GVPM remains for users who want a monotone iteration (the
//! decomposition literature's choice, Zanni, Serafini & Zanghirati, JMLR 7,
//! 2006).
//!
//! # Safeguards
//! When the projected direction is not a descent direction (rounding near
//! an optimum whose violation is still above `tol`), the iteration takes
//! one step along the maximal violating pair `(eᵢyᵢ − eⱼyⱼ)` (or the worst
//! single coordinate without the equality) with the exact clipped step, as
//! SMO would. When `dᵀQd ≤ 0` along a descent direction that is a feasible
//! ray (every `dᵢ ≥ 0`, `dᵢ > 0` only where `uᵢ = +∞`), the objective is
//! unbounded below and the solve ends with [`Status::Unbounded`]. So does
//! an iterate that has moved along such a ray over many finite steps
//! ([`crate::ray`], checked every iteration). A violation that stays
//! within rounding without a new low for 200 iterations (a `tol` below
//! what rounding allows) ends the solve with [`Status::Stalled`]
//! ([`crate::stall`]).
//!
//! # Determinism
//! The iteration is sequential; all parallel work is inside
//! [`QMatrix::matvec`], which the trait requires to be deterministic, so
//! the result is the same for any number of threads.

use crate::kkt;
use crate::problem::QpProblem;
use crate::projection;
use crate::ray::RayCheck;
use crate::solution::cancelled;
use crate::stall::{rounding_floor_of, StallWatch};
use crate::{Progress, QMatrix, SetupError, Solution, Status};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The smallest and largest step lengths `s` (GVPM's `ρ_min`, `ρ_max`).
/// The iteration limit when [`PgSettings::max_iter`] is not set, so that
/// every solve ends. The methods need tens to thousands of iterations on
/// well-posed problems (heart_scale: 38 at tol 1e-3, 280 at 1e-12).
pub const DEFAULT_MAX_ITER: u64 = 100_000;

/// Iterations without a new low of the violation, within rounding, before
/// the solve ends as stalled ([`crate::stall`]).
const STALL_ITERATIONS: u32 = 200;

const STEP_MIN: f64 = 1e-10;
const STEP_MAX: f64 = 1e10;

/// GVPM's switching thresholds on the optimal line-search step and the
/// least number of iterations between two switches.
const SWITCH_LOW: f64 = 0.1;
const SWITCH_HIGH: f64 = 5.0;
const SWITCH_EVERY: u32 = 3;

/// Dai–Fletcher's number of iterations without a new best value after
/// which the reference value is reset.
const NONMONOTONE_MEMORY: u32 = 2;

/// Power iterations used by FISTA to estimate `λ_max(Q)`, and the safety
/// factor applied to the estimate.
const POWER_ITERATIONS: usize = 30;
const LIPSCHITZ_FACTOR: f64 = 1.05;

/// Which projected-gradient method [`solve_pg`] runs (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PgMethod {
    /// Monotone exact line search with alternating Barzilai–Borwein steps
    /// (Serafini, Zanghirati & Zanni 2005).
    Gvpm,
    /// Non-monotone projected Barzilai–Borwein (Dai & Fletcher 2006). The
    /// default: fewest products on the shipped datasets (module docs).
    #[default]
    DaiFletcher,
    /// Accelerated projected gradient with adaptive restart (Beck &
    /// Teboulle 2009; O'Donoghue & Candès 2015).
    Fista,
}

/// Settings of [`solve_pg`]: plain data with defaults, validated once.
#[derive(Debug, Clone, PartialEq)]
pub struct PgSettings {
    /// Stop when the maximal violation `m(α) − M(α)` (or, without the
    /// equality, the largest projected-gradient entry) is at most `tol`,
    /// measured on a freshly recomputed gradient. Default `1e-3`, as SMO.
    pub tol: f64,
    /// Stop with [`Status::MaxIterations`] after this many iterations
    /// (each one product with `Q`, apart from gradient refreshes). `None`:
    /// [`DEFAULT_MAX_ITER`]; `Some(u64::MAX)` for no limit.
    pub max_iter: Option<u64>,
    /// Stop with [`Status::TimeLimit`] after this wall time. `None`: no
    /// limit.
    pub time_limit: Option<Duration>,
    /// The method. Default [`PgMethod::DaiFletcher`].
    pub method: PgMethod,
    /// Recompute `G = Qα + p` from scratch after this many updates, to
    /// bound the drift of the updated gradient. Default 50.
    pub gradient_refresh: u64,
    /// Call the progress callback at most this often. Default one second.
    pub progress_interval: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            tol: 1e-3,
            max_iter: None,
            time_limit: None,
            method: PgMethod::default(),
            gradient_refresh: 50,
            progress_interval: Duration::from_secs(1),
        }
    }
}

impl PgSettings {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), SetupError> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(SetupError::InvalidSetting {
                name: "tol",
                reason: format!("must be a positive finite number, got {}", self.tol),
            });
        }
        if self.max_iter == Some(0) {
            return Err(SetupError::InvalidSetting {
                name: "max_iter",
                reason: "must be at least 1".into(),
            });
        }
        if self.gradient_refresh == 0 {
            return Err(SetupError::InvalidSetting {
                name: "gradient_refresh",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Solves the problem with a projected-gradient method. Errors only for an
/// invalid problem or settings; limits end with a [`Status`].
///
/// The start is `problem.initial` (or 0) projected onto the feasible set,
/// so a previous solution warm-starts the solve. `progress` is called at
/// most once per `settings.progress_interval`.
pub fn solve_pg(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &PgSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<Solution, SetupError> {
    solve_pg_cancellable(q, problem, settings, progress, None)
}

/// [`solve_pg`] with cooperative cancellation: when `cancel` is set the
/// solve stops before its next iteration with [`Status::Interrupted`].
/// A solve stopped early (a limit or `cancel`) returns the iterate with the
/// lowest objective seen, feasible: the methods are not monotone.
pub fn solve_pg_cancellable(
    q: &dyn QMatrix,
    problem: &QpProblem<'_>,
    settings: &PgSettings,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<Solution, SetupError> {
    let start = Instant::now();
    settings.validate()?;
    problem.validate(q.dim())?;
    let n = problem.dim();
    let qd = crate::qmatrix::checked_diagonal(q)?;
    let zeros;
    let initial = match problem.initial {
        Some(v) => v,
        None => {
            zeros = vec![0.0; n];
            &zeros
        }
    };
    let mut pg = Pg::new(
        q,
        problem,
        warm_start_point(problem, initial)?,
        settings,
        progress,
        start,
    )?;
    pg.cancel = cancel;
    pg.ray = RayCheck::new(&pg.alpha, &pg.grad, &qd, problem.upper);
    let max_diag = qd.iter().copied().fold(0.0, f64::max);
    pg.diag = qd;
    let status = match settings.method {
        PgMethod::Gvpm | PgMethod::DaiFletcher => pg.run_spectral(max_diag)?,
        PgMethod::Fista => pg.run_fista()?,
    };
    pg.finish(status)
}

/// The starting point: the projection of `v` onto the feasible set. A
/// point inside the box whose `yᵀv − Δ` is rounding-sized is its own
/// projection; it is kept, with the residual moved onto its free variables
/// ([`repair_equality`]), because the computed projection would move the
/// variables at a bound off it by the rounding of the multiplier, and a
/// warm start from a solution would no longer be one.
pub(crate) fn warm_start_point(problem: &QpProblem<'_>, v: &[f64]) -> Result<Vec<f64>, SetupError> {
    let (l, u) = (problem.lower, problem.upper);
    let in_box = (0..v.len()).all(|i| l[i] <= v[i] && v[i] <= u[i]);
    if let (true, Some(eq)) = (in_box, problem.equality) {
        let mut alpha = v.to_vec();
        repair_equality(&mut alpha, eq.signs, eq.rhs, l, u);
        let scale = 1.0 + eq.rhs.abs() + alpha.iter().map(|a| a.abs()).sum::<f64>();
        if equality_residual(&alpha, eq.signs, eq.rhs).abs() <= 1e-14 * scale {
            return Ok(alpha);
        }
    }
    project(problem, v)
}

/// `yᵀα − Δ`.
fn equality_residual(alpha: &[f64], signs: &[f64], rhs: f64) -> f64 {
    alpha.iter().zip(signs).map(|(a, y)| a * y).sum::<f64>() - rhs
}

/// Moves the free variables (`lᵢ < αᵢ < uᵢ`) by the residual `yᵀα − Δ`,
/// spread evenly and clipped, then one at a time; variables at a bound are
/// never moved off it (a re-projection would move them by the rounding of
/// the multiplier and make them look free). Meant for rounding-sized
/// residuals.
fn repair_equality(alpha: &mut [f64], signs: &[f64], rhs: f64, lower: &[f64], upper: &[f64]) {
    let free: Vec<usize> = (0..alpha.len())
        .filter(|&i| lower[i] < alpha[i] && alpha[i] < upper[i])
        .collect();
    if free.is_empty() {
        return;
    }
    let share = equality_residual(alpha, signs, rhs) / free.len() as f64;
    for &i in &free {
        alpha[i] = (alpha[i] - signs[i] * share).max(lower[i]).min(upper[i]);
    }
    let mut excess = equality_residual(alpha, signs, rhs);
    for &i in &free {
        if excess == 0.0 {
            break;
        }
        let moved = (alpha[i] - signs[i] * excess).max(lower[i]).min(upper[i]);
        excess -= signs[i] * (alpha[i] - moved);
        alpha[i] = moved;
    }
}

/// The projection onto the feasible set of `problem`.
fn project(problem: &QpProblem<'_>, v: &[f64]) -> Result<Vec<f64>, SetupError> {
    match problem.equality {
        Some(eq) => projection::project(v, eq.signs, eq.rhs, problem.lower, problem.upper),
        None => Ok(projection::project_box(v, problem.lower, problem.upper)),
    }
}

/// `Σ aᵢbᵢ`, sequentially.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// What one line-search step did.
enum Step {
    /// Moved by `t` along the direction.
    Moved {
        /// The step along the direction.
        t: f64,
        /// The unclipped minimiser `−Gᵀd / dᵀQd` (`+∞` when `dᵀQd ≤ 0`).
        t_opt: f64,
    },
    /// The objective is unbounded below along the direction.
    Unbounded,
}

/// Solver state.
struct Pg<'a, 'p> {
    q: &'a dyn QMatrix,
    problem: &'a QpProblem<'p>,
    settings: &'a PgSettings,
    progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    cancel: Option<&'a AtomicBool>,
    /// The lowest objective seen at an iteration boundary and its point:
    /// the methods are not monotone, and a solve stopped early returns the
    /// best iterate, not the last.
    best: Option<(f64, Vec<f64>)>,
    start: Instant,
    last_report: Instant,
    n: usize,
    alpha: Vec<f64>,
    grad: Vec<f64>,
    /// `f(α)`, updated with the steps and recomputed with the gradient.
    objective: f64,
    /// Updates of `grad` since it was last recomputed from `α`.
    since_refresh: u64,
    iterations: u64,
    /// The direction `d` and the product `Qd`.
    dir: Vec<f64>,
    qdir: Vec<f64>,
    /// The last projection's multiplier divided by its step length: the
    /// next projection of `α − sG` starts its search at `s` times this.
    multiplier: Option<f64>,
    /// The test for a diverging iterate ([`crate::ray`]).
    ray: RayCheck,
    /// `Qᵢᵢ`, and the test for a violation stuck at rounding
    /// ([`crate::stall`]).
    diag: Vec<f64>,
    stall: StallWatch,
}

impl<'a, 'p> Pg<'a, 'p> {
    /// The projection of `v = α − step·G`, warm-started from the previous
    /// multiplier (see [`projection::project_from`]).
    fn project_step(&mut self, v: &[f64], step: f64) -> Result<Vec<f64>, SetupError> {
        let problem = self.problem;
        match problem.equality {
            Some(eq) => {
                let hint = self.multiplier.map(|m| m * step);
                let p = projection::project_from(
                    v,
                    eq.signs,
                    eq.rhs,
                    problem.lower,
                    problem.upper,
                    hint,
                )?;
                self.multiplier = Some(p.lambda / step);
                Ok(p.alpha)
            }
            None => Ok(projection::project_box(v, problem.lower, problem.upper)),
        }
    }

    fn new(
        q: &'a dyn QMatrix,
        problem: &'a QpProblem<'p>,
        alpha: Vec<f64>,
        settings: &'a PgSettings,
        progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
        start: Instant,
    ) -> Result<Self, SetupError> {
        let n = alpha.len();
        let mut pg = Pg {
            q,
            problem,
            settings,
            progress,
            cancel: None,
            best: None,
            start,
            last_report: start,
            n,
            alpha,
            grad: vec![0.0; n],
            objective: 0.0,
            since_refresh: 0,
            iterations: 0,
            dir: vec![0.0; n],
            multiplier: None,
            qdir: vec![0.0; n],
            ray: RayCheck::new(&[], &[], &[], &[]),
            diag: Vec::new(),
            stall: StallWatch::new(STALL_ITERATIONS),
        };
        pg.refresh()?;
        Ok(pg)
    }

    /// `G = Qα + p` and `f(α) = ½αᵀ(G + p)` from scratch, after removing
    /// the rounding that steps with `t < 1` leave in `yᵀα`.
    fn refresh(&mut self) -> Result<(), SetupError> {
        if let (true, Some(eq)) = (self.since_refresh > 0, self.problem.equality) {
            repair_equality(
                &mut self.alpha,
                eq.signs,
                eq.rhs,
                self.problem.lower,
                self.problem.upper,
            );
        }
        self.q.matvec(&self.alpha, &mut self.grad);
        self.grad
            .iter_mut()
            .zip(self.problem.linear)
            .for_each(|(g, p)| *g += p);
        kkt::finite_gradient(&self.grad)?;
        self.objective = self
            .alpha
            .iter()
            .zip(&self.grad)
            .zip(self.problem.linear)
            .map(|((a, g), p)| 0.5 * a * (g + p))
            .sum();
        self.since_refresh = 0;
        Ok(())
    }

    fn violation(&self) -> f64 {
        kkt::max_violation(self.problem, &self.alpha, &self.grad)
    }

    /// The checks made before every iteration, in SMO's order: limits,
    /// progress, then convergence on a fresh gradient. `Some` ends the
    /// solve.
    fn check(&mut self) -> Result<Option<Status>, SetupError> {
        match &mut self.best {
            Some((f, a)) if self.objective < *f => {
                *f = self.objective;
                a.copy_from_slice(&self.alpha);
            }
            Some(_) => {}
            None => self.best = Some((self.objective, self.alpha.clone())),
        }
        if self.iterations >= self.settings.max_iter.unwrap_or(DEFAULT_MAX_ITER) {
            return Ok(Some(Status::MaxIterations));
        }
        if cancelled(self.cancel) {
            return Ok(Some(Status::Interrupted));
        }
        let now = Instant::now();
        if self
            .settings
            .time_limit
            .is_some_and(|t| now.duration_since(self.start) >= t)
        {
            return Ok(Some(Status::TimeLimit));
        }
        if let Some(report) = self.progress {
            if now.duration_since(self.last_report) >= self.settings.progress_interval {
                self.last_report = now;
                report(&Progress {
                    iterations: self.iterations,
                    max_violation: self.violation(),
                    active: self.n,
                    elapsed: now.duration_since(self.start),
                });
            }
        }
        if self.ray.unbounded(self.q, &self.alpha, &self.grad) {
            return Ok(Some(Status::Unbounded));
        }
        if self.since_refresh >= self.settings.gradient_refresh {
            self.refresh()?;
        }
        let violation = self.violation();
        if violation <= self.settings.tol {
            if self.since_refresh > 0 {
                self.refresh()?;
            }
            if self.violation() <= self.settings.tol {
                return Ok(Some(Status::Converged));
            }
        }
        let floor = || rounding_floor_of(&self.diag, &self.alpha, self.problem.linear);
        if self.stall.stalled(violation, floor) {
            return Ok(Some(Status::Stalled));
        }
        Ok(None)
    }

    /// Moves to `α + t·dir` and updates `G`, `f`; `target`, when given, is
    /// the point `α + dir` itself (taken exactly when `t = 1`).
    fn apply(&mut self, t: f64, gd: f64, dqd: f64, target: Option<&[f64]>) {
        match target {
            Some(p) if t == 1.0 => self.alpha.copy_from_slice(p),
            _ => {
                let (l, u) = (self.problem.lower, self.problem.upper);
                let mut snapped = false;
                for i in 0..self.n {
                    if self.dir[i] != 0.0 {
                        let step = t * self.dir[i];
                        let mut a = (self.alpha[i] + step).max(l[i]).min(u[i]);
                        // A partial step that ends within rounding of a bound
                        // lands on it: 1e-17 off a bound would make the
                        // variable look free to the stopping test.
                        let slack = 4.0 * f64::EPSILON * (self.alpha[i].abs() + step.abs());
                        for b in [l[i], u[i]] {
                            if b.is_finite() && a != b && (a - b).abs() <= slack {
                                a = b;
                                snapped = true;
                            }
                        }
                        self.alpha[i] = a;
                    }
                }
                if let (true, Some(eq)) = (snapped, self.problem.equality) {
                    repair_equality(&mut self.alpha, eq.signs, eq.rhs, l, u);
                }
            }
        }
        self.grad
            .iter_mut()
            .zip(&self.qdir)
            .for_each(|(g, qd)| *g += t * qd);
        self.objective += t * gd + 0.5 * t * t * dqd;
        self.since_refresh += 1;
    }

    /// Whether `α + t·dir` stays feasible for every `t ≥ 0` (the equality
    /// is kept by construction of the directions).
    fn is_feasible_ray(&self) -> bool {
        self.dir
            .iter()
            .zip(self.problem.upper)
            .all(|(&d, &u)| d == 0.0 || (d > 0.0 && u == f64::INFINITY))
    }

    /// The exact line search on `[0, t_max]` for the current direction
    /// (`Qd` already in `qdir`).
    fn line_search(&self, gd: f64, dqd: f64, t_max: f64) -> Step {
        let t_opt = if dqd > 0.0 { -gd / dqd } else { f64::INFINITY };
        if t_opt.is_infinite() && (t_max.is_infinite() || self.is_feasible_ray()) {
            return Step::Unbounded;
        }
        Step::Moved {
            t: t_opt.min(t_max),
            t_opt,
        }
    }

    /// One step along the maximal violating pair (or the worst coordinate
    /// without the equality): a descent direction whenever the violation
    /// is positive. Returns `None` when the objective is unbounded.
    fn fallback_step(&mut self) -> Option<()> {
        let (l, u) = (self.problem.lower, self.problem.upper);
        self.dir.iter_mut().for_each(|d| *d = 0.0);
        let t_max = match self.problem.equality {
            Some(eq) => {
                let y = eq.signs;
                let (mut up, mut low) = (None, None);
                let (mut m, mut big_m) = (f64::NEG_INFINITY, f64::INFINITY);
                for t in 0..self.n {
                    let v = -y[t] * self.grad[t];
                    let (in_up, in_low) = if y[t] > 0.0 {
                        (self.alpha[t] < u[t], self.alpha[t] > l[t])
                    } else {
                        (self.alpha[t] > l[t], self.alpha[t] < u[t])
                    };
                    if in_up && v > m {
                        m = v;
                        up = Some(t);
                    }
                    if in_low && v < big_m {
                        big_m = v;
                        low = Some(t);
                    }
                }
                let (Some(i), Some(j)) = (up, low) else {
                    return Some(());
                };
                if i == j {
                    return Some(());
                }
                // αᵢ += yᵢτ, αⱼ −= yⱼτ keeps yᵀα.
                self.dir[i] = y[i];
                self.dir[j] = -y[j];
                let room = |k: usize, d: f64| {
                    if d > 0.0 {
                        u[k] - self.alpha[k]
                    } else {
                        self.alpha[k] - l[k]
                    }
                };
                room(i, self.dir[i]).min(room(j, self.dir[j]))
            }
            None => {
                let (mut worst, mut pick) = (0.0, None);
                for t in 0..self.n {
                    let g = self.grad[t];
                    let v = if g > 0.0 && self.alpha[t] > l[t] {
                        g
                    } else if g < 0.0 && self.alpha[t] < u[t] {
                        -g
                    } else {
                        0.0
                    };
                    if v > worst {
                        worst = v;
                        pick = Some(t);
                    }
                }
                let Some(i) = pick else {
                    return Some(());
                };
                self.dir[i] = -self.grad[i].signum();
                if self.dir[i] > 0.0 {
                    u[i] - self.alpha[i]
                } else {
                    self.alpha[i] - l[i]
                }
            }
        };
        self.q.matvec(&self.dir, &mut self.qdir);
        let gd = dot(&self.grad, &self.dir);
        let dqd = dot(&self.dir, &self.qdir);
        if gd >= 0.0 {
            return Some(());
        }
        match self.line_search(gd, dqd, t_max) {
            Step::Unbounded => None,
            Step::Moved { t, .. } => {
                // Land exactly on the (finite) bound that limited the step.
                let limiting: Vec<(usize, f64)> = (0..self.n)
                    .filter(|&k| self.dir[k] != 0.0)
                    .filter_map(|k| {
                        let (b, room) = if self.dir[k] > 0.0 {
                            (u[k], u[k] - self.alpha[k])
                        } else {
                            (l[k], self.alpha[k] - l[k])
                        };
                        (room == t && b.is_finite()).then_some((k, b))
                    })
                    .collect();
                self.apply(t, gd, dqd, None);
                for (k, b) in limiting {
                    self.alpha[k] = b;
                }
                Some(())
            }
        }
    }

    /// GVPM and Dai–Fletcher: one product and one projection an iteration.
    fn run_spectral(&mut self, max_diag: f64) -> Result<Status, SetupError> {
        let monotone = self.settings.method == PgMethod::Gvpm;
        let mut step = if max_diag > 0.0 {
            (1.0 / max_diag).clamp(STEP_MIN, STEP_MAX)
        } else {
            STEP_MAX
        };
        let mut use_bb2 = false;
        let mut since_switch = 0u32;
        // Dai–Fletcher's reference values.
        let (mut f_best, mut f_cand, mut f_ref) = (self.objective, self.objective, f64::INFINITY);
        let mut no_gain = 0u32;
        let mut trial = vec![0.0; self.n];
        loop {
            if let Some(status) = self.check()? {
                return Ok(status);
            }
            self.iterations += 1;
            for i in 0..self.n {
                trial[i] = self.alpha[i] - step * self.grad[i];
            }
            let target = self.project_step(&trial, step)?;
            for i in 0..self.n {
                self.dir[i] = target[i] - self.alpha[i];
            }
            let gd = dot(&self.grad, &self.dir);
            if gd >= 0.0 {
                // Not a descent direction, only possible through rounding.
                if self.since_refresh > 0 {
                    self.refresh()?;
                } else if self.fallback_step().is_none() {
                    return Ok(Status::Unbounded);
                }
                continue;
            }
            self.q.matvec(&self.dir, &mut self.qdir);
            let dqd = dot(&self.dir, &self.qdir);
            let (t, t_opt) = match self.line_search(gd, dqd, 1.0) {
                Step::Unbounded => return Ok(Status::Unbounded),
                Step::Moved { t, t_opt } => {
                    let full = self.objective + gd + 0.5 * dqd;
                    if !monotone && full < f_ref {
                        (1.0, t_opt)
                    } else {
                        (t, t_opt)
                    }
                }
            };
            self.apply(t, gd, dqd, Some(&target));
            // Step length for the next iteration.
            if dqd <= 0.0 {
                step = STEP_MAX;
            } else if monotone {
                since_switch += 1;
                if since_switch >= SWITCH_EVERY
                    && ((!use_bb2 && t_opt < SWITCH_LOW) || (use_bb2 && t_opt > SWITCH_HIGH))
                {
                    use_bb2 = !use_bb2;
                    since_switch = 0;
                }
                step = if use_bb2 {
                    dqd / dot(&self.qdir, &self.qdir)
                } else {
                    dot(&self.dir, &self.dir) / dqd
                };
            } else {
                step = dot(&self.dir, &self.dir) / dqd;
                if self.objective < f_best {
                    f_best = self.objective;
                    f_cand = self.objective;
                    no_gain = 0;
                } else {
                    f_cand = f_cand.max(self.objective);
                    no_gain += 1;
                    if no_gain == NONMONOTONE_MEMORY {
                        f_ref = f_cand;
                        f_cand = self.objective;
                        no_gain = 0;
                    }
                }
            }
            step = if step.is_nan() {
                STEP_MAX
            } else {
                step.clamp(STEP_MIN, STEP_MAX)
            };
        }
    }

    /// `λ_max(Q)` estimated by power iteration from the all-ones vector.
    fn largest_eigenvalue(&mut self) -> f64 {
        let mut v = vec![1.0 / (self.n.max(1) as f64).sqrt(); self.n];
        let mut w = vec![0.0; self.n];
        let mut lambda = 0.0;
        for _ in 0..POWER_ITERATIONS {
            self.q.matvec(&v, &mut w);
            lambda = dot(&v, &w);
            let norm = dot(&w, &w).sqrt();
            if !(norm > 0.0 && norm.is_finite()) {
                break;
            }
            v.iter_mut().zip(&w).for_each(|(v, w)| *v = w / norm);
        }
        lambda
    }

    /// FISTA with gradient restart.
    fn run_fista(&mut self) -> Result<Status, SetupError> {
        let lipschitz = LIPSCHITZ_FACTOR * self.largest_eigenvalue();
        if !(lipschitz > 0.0 && lipschitz.is_finite()) {
            // Q = 0 (or unusable): the projected-gradient iteration with
            // its safeguards handles the linear program.
            return self.run_spectral(0.0);
        }
        let step = 1.0 / lipschitz;
        let mut prev_alpha = self.alpha.clone();
        let mut prev_grad = self.grad.clone();
        let mut theta: f64 = 1.0;
        let mut point = vec![0.0; self.n];
        let mut extrapolated = vec![0.0; self.n];
        loop {
            if let Some(status) = self.check()? {
                return Ok(status);
            }
            self.iterations += 1;
            let theta_next = 0.5 * (1.0 + (1.0 + 4.0 * theta * theta).sqrt());
            let beta = (theta - 1.0) / theta_next;
            for i in 0..self.n {
                let y = self.alpha[i] + beta * (self.alpha[i] - prev_alpha[i]);
                let gy = self.grad[i] + beta * (self.grad[i] - prev_grad[i]);
                extrapolated[i] = y;
                point[i] = y - step * gy;
            }
            let target = self.project_step(&point, step)?;
            prev_alpha.copy_from_slice(&self.alpha);
            prev_grad.copy_from_slice(&self.grad);
            for i in 0..self.n {
                self.dir[i] = target[i] - self.alpha[i];
            }
            self.q.matvec(&self.dir, &mut self.qdir);
            let gd = dot(&self.grad, &self.dir);
            let dqd = dot(&self.dir, &self.qdir);
            // Gradient restart: (y − α_new)ᵀ(α_new − α) > 0, the
            // generalised gradient at y points against the step.
            let uphill: f64 = (0..self.n)
                .map(|i| (extrapolated[i] - target[i]) * self.dir[i])
                .sum();
            if gd + 0.5 * dqd > 0.0 || (beta == 0.0 && gd >= 0.0) {
                // The step would increase f (momentum overshoot, or `L`
                // underestimated), or makes no progress: restart from α.
                // Without momentum, take the projected-gradient step with
                // the exact line search (a descent step when gd < 0), or
                // the safeguards of the spectral iteration.
                if beta == 0.0 && gd < 0.0 {
                    match self.line_search(gd, dqd, 1.0) {
                        Step::Unbounded => return Ok(Status::Unbounded),
                        Step::Moved { t, .. } => self.apply(t, gd, dqd, Some(&target)),
                    }
                } else if beta == 0.0 {
                    if self.since_refresh > 0 {
                        self.refresh()?;
                    } else if self.fallback_step().is_none() {
                        return Ok(Status::Unbounded);
                    }
                }
                theta = 1.0;
                prev_alpha.copy_from_slice(&self.alpha);
                prev_grad.copy_from_slice(&self.grad);
                continue;
            }
            self.apply(1.0, gd, dqd, Some(&target));
            theta = if uphill > 0.0 { 1.0 } else { theta_next };
        }
    }

    fn finish(mut self, status: Status) -> Result<Solution, SetupError> {
        let stopped_early = matches!(
            status,
            Status::MaxIterations | Status::TimeLimit | Status::Interrupted
        );
        if let (true, Some((f, best))) = (stopped_early, self.best.take()) {
            if f < self.objective {
                self.alpha = best;
                // Recompute G and f at the best point (and repair yᵀα).
                self.since_refresh = self.since_refresh.max(1);
            }
        }
        if self.since_refresh > 0 {
            self.refresh()?;
        }
        let equality_multiplier = self.problem.equality.map(|eq| {
            kkt::equality_multiplier(
                &self.alpha,
                &self.grad,
                eq.signs,
                self.problem.lower,
                self.problem.upper,
            )
        });
        let max_violation = self.violation();
        Ok(Solution {
            alpha: self.alpha,
            gradient: self.grad,
            objective: self.objective,
            equality_multiplier,
            max_violation,
            status,
            iterations: self.iterations,
            elapsed: self.start.elapsed(),
        })
    }
}
