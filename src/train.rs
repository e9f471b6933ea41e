//! Training: dataset → formulation → dual QP → solver → model.
//!
//! The kernel solvers ([`SolverKind::Smo`], [`SolverKind::Pg`]) run here on
//! the dual QP of [`crate::formulation`]; the linear coordinate-descent
//! solver ([`SolverKind::Cd`]) keeps `w` explicitly and lives in
//! [`crate::linear`]. [`SolverChoice::Auto`] picks CD for the linear kernel
//! (one step costs O(nnz of a row) instead of a kernel column) and SMO
//! otherwise. The measurements behind it, `benches/pg_vs_smo.rs` on an
//! idle 2-core machine (L1, C = 1, tol 1e-3 and 1e-6, 1 and 2 threads): PG
//! took 0.7–3.1 × SMO's time on heart_scale, a1a and svmguide1 (RBF, dense
//! `Q`, all under a second), and on a9a with the linear kernel it needed
//! 17 303 products to SMO's 72 209 pair steps at tol 1e-3 but 3.7–4.8 ×
//! SMO's time — so it is never picked
//! automatically. It remains the choice for polishing a warm start
//! ([`train_controlled`] with a starting point) and for [`train_to_gap`].
//!
//! [`train_to_gap`] stops on the certificate instead of the violation: it
//! tightens the tolerance and resumes until the verifier's relative gap is
//! at most a target.
//!
//! # Where `Q` lives
//! SMO's memory budget is `SmoSettings::cache_bytes` (`--cache-mb`). When
//! the whole `Q` fits in it (`8n²` bytes, e.g. `n ≤ 5180` for the default
//! 200 MiB) it is built once (for PG too, except with the linear kernel,
//! whose `O(nnz)` product needs no `Q`), in parallel, from blocked matrix products of
//! the (densified) features ([`DenseDualHessian`]) and SMO gathers its
//! columns from there as it needs them, caching them in the rest of the
//! budget — computing `n²` kernel values in blocks costs less
//! than computing most columns one by one, as SMO ends up doing when
//! nearly every variable is touched. Otherwise columns are computed on
//! demand and kept in SMO's LRU column cache within the budget.

use crate::data::{BinaryLabels, DataError, Dataset};
use crate::formulation::{DenseDualHessian, DualData, DualHessian, Formulation};
use crate::kernel::{Kernel, KernelMatrix};
use crate::model::{LabelMapping, Model};
use crate::verify::Certificate;
use serde::{Deserialize, Serialize};
use solvers::{PgSettings, Progress, SetupError, SmoSettings, Status};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// A dual solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SolverKind {
    /// Sequential minimal optimisation ([`solvers::solve_smo`]).
    Smo,
    /// Projected gradient ([`solvers::solve_pg`]).
    Pg,
    /// Dual coordinate descent for the linear kernel ([`crate::linear`]).
    Cd,
}

impl SolverKind {
    /// A stable lower-case name, as written in reports.
    pub fn name(self) -> &'static str {
        match self {
            SolverKind::Smo => "smo",
            SolverKind::Pg => "pg",
            SolverKind::Cd => "cd",
        }
    }
}

/// The solver asked for: one in particular, or the documented rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SolverChoice {
    /// This one.
    Exactly(SolverKind),
    /// CD for the linear kernel, SMO for the others.
    #[default]
    Auto,
}

impl SolverChoice {
    /// The solver that runs for `kernel`.
    pub fn resolve(self, kernel: &Kernel) -> SolverKind {
        match self {
            SolverChoice::Exactly(kind) => kind,
            SolverChoice::Auto if matches!(kernel, Kernel::Linear) => SolverKind::Cd,
            SolverChoice::Auto => SolverKind::Smo,
        }
    }
}

/// What to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// The formulation (loss, C, weights, bias).
    pub formulation: Formulation,
    /// The kernel, parameters resolved (see [`default_gamma`]).
    pub kernel: Kernel,
    /// SMO settings.
    pub smo: SmoSettings,
}

/// LIBSVM's default `γ = 1 / number of features` (1 when there are none).
pub fn default_gamma(n_features: usize) -> f64 {
    1.0 / n_features.max(1) as f64
}

/// Why training could not start.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The data cannot be used (e.g. a single class).
    #[error(transparent)]
    Data(#[from] DataError),
    /// An option is out of range.
    #[error("invalid option: {0}")]
    Option(String),
    /// The QP solver refused the problem.
    #[error("solver setup: {0}")]
    Setup(#[from] SetupError),
}

/// How the solver ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveSummary {
    /// How the solve ended.
    pub status: Status,
    /// SMO iterations.
    pub iterations: u64,
    /// The dual objective `Σαᵢ − ½αᵀQα` as the solver tracked it.
    pub dual_objective: f64,
    /// The solver's maximal violation at the end.
    pub max_violation: f64,
    /// Wall time of the solve.
    pub elapsed: Duration,
}

/// A trained model with the dual solution it came from.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model.
    pub model: Model,
    /// The dual solution `α`, one entry per training row.
    pub alpha: Vec<f64>,
    /// The labels as ±1.
    pub labels: BinaryLabels,
    /// How the solve went.
    pub summary: SolveSummary,
}

/// Trains a binary SVM on `data` with SMO. `progress` is called about once
/// a second during long solves.
pub fn train(
    data: &Dataset,
    options: &TrainOptions,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<Trained, TrainError> {
    train_with(data, options, SolverKind::Smo, progress)
}

/// The projected-gradient settings matching `smo`'s tolerance and limits.
pub fn pg_settings(smo: &SmoSettings) -> PgSettings {
    PgSettings {
        tol: smo.tol,
        max_iter: smo.max_iter,
        time_limit: smo.time_limit,
        progress_interval: smo.progress_interval,
        ..PgSettings::default()
    }
}

/// The instant `limit` from now: the one deadline shared by the solves of
/// a run of several (the sub-problems of a multiclass model, the folds and
/// points of a cross-validation), so that a time limit bounds the whole run.
/// `None` without a limit (or for one too far to represent).
pub fn deadline_after(limit: Option<Duration>) -> Option<Instant> {
    limit.and_then(|t| Instant::now().checked_add(t))
}

/// The time limit of a solve starting now under `deadline`: the time left
/// until it (zero once it has passed, so that the solver stops before its
/// first iteration), or `limit` itself when there is no deadline.
pub fn time_left(deadline: Option<Instant>, limit: Option<Duration>) -> Option<Duration> {
    match deadline {
        Some(d) => Some(d.saturating_duration_since(Instant::now())),
        None => limit,
    }
}

/// How a kernel solve starts, reports and may be stopped early: everything
/// of a run that is not plain settings.
#[derive(Clone, Copy, Default)]
pub struct SolveControl<'a> {
    /// A starting `α`, one entry per training row (e.g. [`Trained::alpha`]
    /// of an earlier solve, or of a neighbouring `C`, or the `α` that
    /// `svm-dual solve --init` rebuilds from a saved model); the solver
    /// projects it onto the feasible set. `None`: cold start from 0.
    pub initial: Option<&'a [f64]>,
    /// Called about once a second during long solves.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Cooperative cancellation: when set (e.g. by a Ctrl-C handler) the
    /// solver stops with [`Status::Interrupted`] and the iterate reached is
    /// returned as a model like any other.
    pub cancel: Option<&'a AtomicBool>,
}

impl std::fmt::Debug for SolveControl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolveControl")
            .field("initial", &self.initial.map(<[f64]>::len))
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// Trains a binary SVM on `data` with a kernel solver, SMO or PG (both
/// take the tolerance and limits of `options.smo`). For CD use
/// [`crate::linear::train_linear`], which solves with `w` kept explicitly.
pub fn train_with(
    data: &Dataset,
    options: &TrainOptions,
    solver: SolverKind,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<Trained, TrainError> {
    train_controlled(
        data,
        options,
        solver,
        SolveControl {
            progress,
            ..SolveControl::default()
        },
    )
}

/// [`train_with`] from a starting point and with a cancellation flag (see
/// [`SolveControl`]). A starting point of the wrong length is an error.
///
/// PG multiplies by `Q` in every iteration: for a non-linear kernel it
/// builds the dense `Q` once ([`DenseDualHessian`], in parallel) when its
/// `8n²` bytes fit in `options.smo.cache_bytes` (the `--cache-mb` budget
/// SMO gives its column cache), and otherwise recomputes kernel rows
/// blockwise in each product; the linear kernel's product is `O(nnz)`
/// without `Q`.
pub fn train_controlled(
    data: &Dataset,
    options: &TrainOptions,
    solver: SolverKind,
    control: SolveControl<'_>,
) -> Result<Trained, TrainError> {
    let progress = control.progress;
    options.formulation.validate().map_err(TrainError::Option)?;
    options.kernel.validate().map_err(TrainError::Option)?;
    options.smo.validate()?;
    let labels = data.binary_labels()?;
    let kernel = KernelMatrix::new(&data.features, options.kernel);
    let q = DualHessian::new(kernel, &labels.y, &options.formulation);
    let dual = DualData::new(&options.formulation, &labels.y);
    if let Some(init) = control.initial {
        if init.len() != data.len() {
            return Err(TrainError::Option(format!(
                "the starting point has {} entries but the data has {} rows",
                init.len(),
                data.len()
            )));
        }
    }
    let problem = dual.problem(control.initial);
    // SMO in batches forms its columns as blocks from the data (see
    // `solvers::batch`): measured faster than pairs over a stored Q on a1a
    // (solve 0.012 s against 0.035 s) and svmguide1 (0.091 s against
    // 0.182 s), so Q is stored only for pair SMO and PG.
    let batched = solver == SolverKind::Smo
        && solvers::batch::batch_size(&q, &problem, &options.smo).is_some();
    // No time left (a sub-problem of a run whose deadline has passed): the
    // solver stops before its first iteration, so Q is not worth building.
    let no_time = options.smo.time_limit == Some(Duration::ZERO);
    let dense = match (solver, options.kernel) {
        _ if no_time => None,
        (SolverKind::Pg, Kernel::Linear) | (SolverKind::Cd, _) => None,
        (SolverKind::Smo, _) if batched => None,
        (SolverKind::Smo | SolverKind::Pg, _) => DenseDualHessian::new(
            q.kernel(),
            &labels.y,
            &options.formulation,
            options.smo.cache_bytes,
        )
        .ok(),
    };
    let solution = match solver {
        SolverKind::Smo => match &dense {
            // Q fits the cache budget: stored whole (built by blocked
            // matrix products, see `KernelMatrix::dense`), and the rest of
            // the budget caches SMO's columns (in working order, gathered
            // from the stored Q) once the solve has run 2n iterations.
            // Measured, one thread: with the cache from the start, the
            // pendigits pair 9/2 with the linear kernel (2.3 million
            // iterations) took 0.91 s instead of 1.17 s with a two-column
            // cache (each column gathered again at every use), but short
            // solves paid for first touching the cache's memory: svmguide1
            // (5330 iterations) 0.23 s instead of 0.19 s wall, a1a 0.04 s
            // instead of 0.03 s. Waiting 2n iterations keeps both gains
            // (figures in the commit message).
            Some(d) => {
                let settings = SmoSettings {
                    cache_bytes: options
                        .smo
                        .cache_bytes
                        .saturating_sub(DenseDualHessian::bytes(data.len())),
                    cache_warmup: 2 * data.len() as u64,
                    ..options.smo.clone()
                };
                solvers::solve_smo_cancellable(d, &problem, &settings, progress, control.cancel)?
            }
            None => solvers::solve_smo_cancellable(
                &q,
                &problem,
                &options.smo,
                progress,
                control.cancel,
            )?,
        },
        SolverKind::Pg => {
            let settings = pg_settings(&options.smo);
            let q: &dyn solvers::QMatrix = match &dense {
                Some(d) => d,
                None => &q,
            };
            solvers::solve_pg_cancellable(q, &problem, &settings, progress, control.cancel)?
        }
        SolverKind::Cd => {
            return Err(TrainError::Option(
                "the CD solver trains through svm_dual::linear::train_linear".into(),
            ))
        }
    };
    let bias = solution.equality_multiplier.unwrap_or(0.0);
    let model = Model::from_dual(
        &data.features,
        &labels.y,
        &solution.alpha,
        bias,
        options.formulation,
        options.kernel,
        LabelMapping {
            positive: labels.positive,
            negative: labels.negative,
        },
    );
    let summary = SolveSummary {
        status: solution.status,
        iterations: solution.iterations,
        dual_objective: -solution.objective,
        max_violation: solution.max_violation,
        elapsed: solution.elapsed,
    };
    Ok(Trained {
        model,
        alpha: solution.alpha,
        labels,
        summary,
    })
}

/// The tightest tolerance [`train_to_gap`] tightens to.
pub const MIN_TOL: f64 = 1e-12;

/// A model trained by [`train_to_gap`], with the certificate that ended it.
#[derive(Debug, Clone)]
pub struct CertifiedTraining {
    /// The model, its dual solution and the solve summary (iterations and
    /// solver time summed over the rounds).
    pub trained: Trained,
    /// The verifier's certificate of the final round.
    pub certificate: Certificate,
    /// Solver runs: 1 when the first reached the target gap.
    pub rounds: u32,
    /// The tolerance of the last round.
    pub final_tol: f64,
}

/// Trains with SMO or PG until the verifier's relative duality gap is at
/// most `target_gap`: after a converged run whose certified gap is larger,
/// the tolerance on the maximal violation is divided by 10 and the solver
/// resumes from the last `α` (down to [`MIN_TOL`]). The gap of a converged
/// dual solution goes to zero with the violation, so the loop ends; each
/// round starts warm. A time limit in `options.smo` bounds all rounds
/// together; a run stopped by a limit ends the loop with its status.
pub fn train_to_gap(
    data: &Dataset,
    options: &TrainOptions,
    solver: SolverKind,
    target_gap: f64,
    control: SolveControl<'_>,
) -> Result<CertifiedTraining, TrainError> {
    if !(target_gap.is_finite() && target_gap > 0.0) {
        return Err(TrainError::Option(format!(
            "the target gap must be a positive number, not {target_gap}"
        )));
    }
    let start = Instant::now();
    let mut round_options = options.clone();
    let mut trained = train_controlled(data, &round_options, solver, control)?;
    let mut iterations = trained.summary.iterations;
    let mut elapsed = trained.summary.elapsed;
    let mut rounds = 1;
    loop {
        let certificate = crate::certify(&data.features, &trained);
        let mut done = certificate.relative_gap <= target_gap
            || trained.summary.status != Status::Converged
            || round_options.smo.tol <= MIN_TOL;
        if !done {
            if let Some(limit) = options.smo.time_limit {
                let left = limit.saturating_sub(start.elapsed());
                if left.is_zero() {
                    trained.summary.status = Status::TimeLimit;
                    done = true;
                } else {
                    round_options.smo.time_limit = Some(left);
                }
            }
        }
        if done {
            trained.summary.iterations = iterations;
            trained.summary.elapsed = elapsed;
            return Ok(CertifiedTraining {
                trained,
                certificate,
                rounds,
                final_tol: round_options.smo.tol,
            });
        }
        round_options.smo.tol = (round_options.smo.tol / 10.0).max(MIN_TOL);
        let alpha = std::mem::take(&mut trained.alpha);
        trained = train_controlled(
            data,
            &round_options,
            solver,
            SolveControl {
                initial: Some(&alpha),
                ..control
            },
        )?;
        iterations += trained.summary.iterations;
        elapsed += trained.summary.elapsed;
        rounds += 1;
    }
}
