//! Cross-validation and grid search over `C` and `γ` (LIBSVM's `svm-train
//! -v K` and `tools/grid.py`).
//!
//! # Folds
//! [`stratified_folds`] shuffles the rows of each class (classes in order of
//! first appearance) with a seeded SplitMix64 generator (Steele, Lea &
//! Flood, OOPSLA 2014) and deals the concatenation round-robin to the `K`
//! folds, so every fold holds `⌊n/K⌋` or `⌈n/K⌉` rows and each class is
//! spread as evenly as its size allows (Kohavi, IJCAI 1995, recommends
//! stratified 10- or 5-fold CV for model selection). The fold of a row
//! depends only on the labels, `K` and the seed.
//!
//! # Accuracy
//! Fold `k` trains on the other folds and predicts its own rows; the
//! cross-validation accuracy is the number of correct predictions over all
//! folds divided by `n` (LIBSVM's definition). Binary data trains one SVM,
//! data with more labels the one-vs-one or one-vs-rest models of
//! [`crate::multiclass`]. A training part holding a single class (a class
//! with fewer rows than folds can leave one) trains nothing: as in LIBSVM,
//! whose model of one-class data predicts that class, every held-out row
//! of the fold is predicted as that class (0 iterations, `converged`).
//! The data itself needs two classes.
//!
//! # Grid and warm starts
//! A [`Grid`] lists `C` values and (for kernels with one) `γ` values,
//! usually `2^e` for `e` on a range as in grid.py ([`log2_range`]). The work
//! is split into independent tasks, one per `(γ, fold)` pair, run in
//! parallel with rayon; within a task the `C` values are solved in
//! increasing order, each (binary kernel solvers) starting from the
//! previous solution scaled by `C_new / C_old`. Scaling keeps `yᵀα = 0` and
//! maps the box `[0, C_old]` onto `[0, C_new]`, so the start is feasible; it
//! is exact for the support vectors at the bound, which dominate for small
//! `C` (the warm start of Chu, Chang & Lin, "Warm start for parameter
//! selection of linear classifiers", KDD 2015, in its dual form). The
//! solver still projects the point, and converges to the same tolerance as
//! from a cold start.
//!
//! # Time limit
//! A time limit in the learner's settings bounds the whole search, not each
//! solve: [`grid_search`] sets one deadline when it starts, and every solve
//! (each fold at each point, each sub-problem of a multiclass fold) gets the
//! time left until it when it starts, none once it has passed (that solve
//! stops before its first iteration, with the status `time_limit`).
//!
//! # Determinism
//! Every task is sequential and its solver deterministic for any thread
//! count ([`solvers::smo`]); results are gathered in a fixed order, so the
//! table and the best point do not depend on the number of threads (when
//! no time limit is reached).
//!
//! The best point has the highest accuracy; ties go to the smaller `C`, then
//! the smaller `γ` (the smoother model).

use crate::data::{DataError, Dataset};
use crate::kernel::Kernel;
use crate::linear::{train_linear, LinearBias, LinearOptions};
use crate::multiclass::{sub_dataset, train_multiclass, MulticlassStrategy};
use crate::train::{
    deadline_after, time_left, train_controlled, SolveControl, SolverKind, TrainError, TrainOptions,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use solvers::rng::SplitMix64;
use solvers::{CdSettings, Status};
use std::time::Instant;

/// How to cross-validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CvSettings {
    /// The number of folds `K` (at least 2, at most the number of rows).
    /// Default 5.
    pub folds: usize,
    /// The seed of the shuffle within each class. Default 1.
    pub seed: u64,
    /// Start each `C` of a grid from the solution of the previous (smaller)
    /// `C` of the same `γ` and fold. Default on.
    pub warm_start: bool,
}

impl Default for CvSettings {
    fn default() -> Self {
        Self {
            folds: 5,
            seed: 1,
            warm_start: true,
        }
    }
}

/// What is trained on each fold: the options of `svm-dual solve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Learner {
    /// Formulation, kernel and the kernel solvers' settings. Its `C` and
    /// `γ` are replaced by the grid's.
    pub options: TrainOptions,
    /// The solver (CD trains binary linear SVMs only).
    pub solver: SolverKind,
    /// How data with more than two labels is split.
    pub multiclass: MulticlassStrategy,
    /// CD only: the bias mode.
    pub linear_bias: LinearBias,
    /// CD only: its settings.
    pub cd: CdSettings,
}

/// The `C` and `γ` values to try.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    /// `C` values (positive, distinct).
    pub c: Vec<f64>,
    /// `γ` values (positive, distinct); empty: keep the learner's kernel
    /// (required for the linear kernel, which has no `γ`).
    pub gamma: Vec<f64>,
}

/// `2^e` for `e = begin, begin + step, …` up to `end` inclusive (grid.py's
/// `range_f`): `log2_range(-5.0, 15.0, 2.0)` is `2⁻⁵, 2⁻³, …, 2¹⁵`, and a
/// negative step counts down. Errors for a zero or non-finite step, a step
/// pointing away from `end`, or more than 1000 values.
pub fn log2_range(begin: f64, end: f64, step: f64) -> Result<Vec<f64>, String> {
    if !(begin.is_finite() && end.is_finite() && step.is_finite()) || step == 0.0 {
        return Err(format!(
            "{begin},{end},{step}: expected finite BEGIN,END,STEP with STEP ≠ 0"
        ));
    }
    if (end - begin) * step < 0.0 {
        return Err(format!("{begin},{end},{step}: the step goes away from END"));
    }
    let count = ((end - begin) / step + 1e-9).floor() as usize + 1;
    if count > 1000 {
        return Err(format!(
            "{begin},{end},{step}: {count} values (at most 1000)"
        ));
    }
    Ok((0..count)
        .map(|k| (begin + k as f64 * step).exp2())
        .collect())
}

/// The fold of each row (see the module doc). Errors when `folds < 2` or
/// `folds` exceeds the number of rows.
pub fn stratified_folds(labels: &[f64], folds: usize, seed: u64) -> Result<Vec<usize>, String> {
    if folds < 2 {
        return Err(format!("at least 2 folds are needed, got {folds}"));
    }
    if folds > labels.len() {
        return Err(format!("{folds} folds but only {} rows", labels.len()));
    }
    let mut classes: Vec<f64> = Vec::new();
    for &l in labels {
        if !classes.contains(&l) {
            classes.push(l);
        }
    }
    let mut rng = SplitMix64::new(seed);
    let mut order = Vec::with_capacity(labels.len());
    for &c in &classes {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        rng.shuffle(&mut rows);
        order.extend(rows);
    }
    let mut fold = vec![0; labels.len()];
    for (pos, &row) in order.iter().enumerate() {
        fold[row] = pos % folds;
    }
    Ok(fold)
}

/// One fold at one grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldOutcome {
    /// The fold (0-based).
    pub fold: usize,
    /// Rows of the held-out fold.
    pub n_test: usize,
    /// Held-out rows predicted correctly.
    pub correct: usize,
    /// Solver iterations (summed over the sub-problems of a multiclass
    /// model).
    pub iterations: u64,
    /// `converged`, or the first other status among the sub-problems.
    pub status: String,
    /// Whether the solve started from the previous `C`'s solution.
    pub warm_started: bool,
    /// Wall time of training and predicting, in seconds.
    pub seconds: f64,
}

/// Cross-validation at one `(C, γ)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvPoint {
    /// The cost `C`.
    pub c: f64,
    /// `γ`; `None` for the linear kernel.
    pub gamma: Option<f64>,
    /// `log₂ C`.
    pub log2c: f64,
    /// `log₂ γ`; `None` for the linear kernel.
    pub log2g: Option<f64>,
    /// Correct predictions over all folds divided by the number of rows.
    pub accuracy: f64,
    /// Correct predictions over all folds.
    pub correct: usize,
    /// Rows (the sum of the folds' sizes).
    pub n: usize,
    /// Solver iterations summed over the folds.
    pub iterations: u64,
    /// Whether every fold's solve converged.
    pub all_converged: bool,
    /// Per fold, in fold order.
    pub folds: Vec<FoldOutcome>,
}

/// The result of a grid search.
#[derive(Debug, Clone, PartialEq)]
pub struct GridOutcome {
    /// One point per `(C, γ)`: `C` in the grid's order, then `γ` in the
    /// grid's order.
    pub points: Vec<CvPoint>,
    /// The index of the best point (see the module doc).
    pub best: usize,
    /// The fold of each row.
    pub fold_of: Vec<usize>,
}

/// Why cross-validation could not run.
#[derive(Debug, thiserror::Error)]
pub enum CvError {
    /// A setting or the grid is out of range.
    #[error("{0}")]
    Setting(String),
    /// Training a fold failed.
    #[error("fold {fold}: {source}")]
    Fold {
        /// The fold (1-based in the message).
        fold: usize,
        /// What went wrong.
        source: TrainError,
    },
    /// The data cannot be used.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// `kernel` with `γ` replaced (the linear kernel has none).
fn with_gamma(kernel: Kernel, g: f64) -> Kernel {
    match kernel {
        Kernel::Linear => Kernel::Linear,
        Kernel::Rbf { .. } => Kernel::Rbf { gamma: g },
        Kernel::Poly { coef0, degree, .. } => Kernel::Poly {
            gamma: g,
            coef0,
            degree,
        },
        Kernel::Sigmoid { coef0, .. } => Kernel::Sigmoid { gamma: g, coef0 },
    }
}

/// `γ` of a kernel, if it has one.
fn gamma_of(kernel: &Kernel) -> Option<f64> {
    match *kernel {
        Kernel::Linear => None,
        Kernel::Rbf { gamma } | Kernel::Poly { gamma, .. } | Kernel::Sigmoid { gamma, .. } => {
            Some(gamma)
        }
    }
}

/// The training and held-out parts of one fold.
struct Split {
    train: Dataset,
    test: Dataset,
}

/// What one fit returned.
struct Fit {
    predicted: Vec<f64>,
    /// The dual solution (binary kernel solvers), for the next warm start.
    alpha: Option<Vec<f64>>,
    iterations: u64,
    status: Status,
}

/// Trains `learner` on `split.train` and predicts `split.test`.
/// `positive` is the raw label the whole data maps to `+1`: class weights
/// refer to it, so they are swapped when a fold's own mapping differs.
fn fit(
    split: &Split,
    learner: &Learner,
    positive: Option<f64>,
    initial: Option<&[f64]>,
) -> Result<Fit, TrainError> {
    let classes = split.train.classes();
    if let [only] = classes.as_slice() {
        // A training part of one class (a class with fewer rows than the
        // folds can leave one): as LIBSVM, its model predicts that class.
        return Ok(Fit {
            predicted: vec![*only; split.test.len()],
            alpha: None,
            iterations: 0,
            status: Status::Converged,
        });
    }
    if classes.len() > 2 {
        let t = train_multiclass(
            &split.train,
            &learner.options,
            learner.multiclass,
            learner.solver,
        )?;
        let status = t
            .subproblems
            .iter()
            .map(|s| s.summary.status)
            .find(|s| *s != Status::Converged)
            .unwrap_or(Status::Converged);
        return Ok(Fit {
            predicted: t.model.predict(&split.test.features),
            alpha: None,
            iterations: t.subproblems.iter().map(|s| s.summary.iterations).sum(),
            status,
        });
    }
    let labels = split.train.binary_labels()?;
    let mut formulation = learner.options.formulation;
    if positive.is_some_and(|p| p != labels.positive) {
        std::mem::swap(
            &mut formulation.weight_positive,
            &mut formulation.weight_negative,
        );
    }
    if learner.solver == SolverKind::Cd {
        let options = LinearOptions {
            formulation,
            bias: learner.linear_bias,
            cd: learner.cd.clone(),
        };
        let t = train_linear(&split.train, &options, None)?;
        return Ok(Fit {
            predicted: t.predict(&split.test.features),
            alpha: None,
            iterations: t.summary.iterations,
            status: t.summary.status,
        });
    }
    let options = TrainOptions {
        formulation,
        ..learner.options.clone()
    };
    let control = SolveControl {
        initial,
        ..SolveControl::default()
    };
    let t = train_controlled(&split.train, &options, learner.solver, control)?;
    Ok(Fit {
        predicted: t.model.predict(&split.test.features),
        alpha: Some(t.alpha),
        iterations: t.summary.iterations,
        status: t.summary.status,
    })
}

/// Checks that values are positive, finite and distinct.
fn check_values(name: &str, values: &[f64]) -> Result<(), CvError> {
    if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(CvError::Setting(format!(
            "{name} values must be positive and finite, got {v}"
        )));
    }
    for (k, v) in values.iter().enumerate() {
        if values[..k].contains(v) {
            return Err(CvError::Setting(format!("{name} value {v} is given twice")));
        }
    }
    Ok(())
}

/// Cross-validates `learner` at its own `C` and `γ`.
pub fn cross_validate(
    data: &Dataset,
    learner: &Learner,
    settings: &CvSettings,
) -> Result<CvPoint, CvError> {
    let grid = Grid {
        c: vec![learner.options.formulation.c],
        gamma: Vec::new(),
    };
    let mut out = grid_search(data, learner, &grid, settings)?;
    Ok(out.points.swap_remove(out.best))
}

/// Cross-validates `learner` at every point of `grid` (see the module doc
/// for the order of work, the warm starts and the choice of the best).
pub fn grid_search(
    data: &Dataset,
    learner: &Learner,
    grid: &Grid,
    settings: &CvSettings,
) -> Result<GridOutcome, CvError> {
    if grid.c.is_empty() {
        return Err(CvError::Setting("the grid has no C value".into()));
    }
    check_values("C", &grid.c)?;
    check_values("gamma", &grid.gamma)?;
    let base_gamma = gamma_of(&learner.options.kernel);
    if base_gamma.is_none() && !grid.gamma.is_empty() {
        return Err(CvError::Setting(
            "the linear kernel has no gamma to search over".into(),
        ));
    }
    // One deadline for the whole search (see the module doc).
    let smo_deadline = deadline_after(learner.options.smo.time_limit);
    let cd_deadline = deadline_after(learner.cd.time_limit);
    if let [only] = data.classes().as_slice() {
        return Err(CvError::Setting(format!(
            "only one class (label {only}): cross-validation needs two"
        )));
    }
    let fold_of =
        stratified_folds(&data.labels, settings.folds, settings.seed).map_err(CvError::Setting)?;
    let positive = if data.classes().len() == 2 {
        Some(data.binary_labels()?.positive)
    } else {
        None
    };
    let splits: Vec<Split> = (0..settings.folds)
        .into_par_iter()
        .map(|k| {
            let part = |held: bool| -> Result<Dataset, CvError> {
                let rows: Vec<usize> = (0..data.len())
                    .filter(|&i| (fold_of[i] == k) == held)
                    .collect();
                let labels = rows.iter().map(|&i| data.labels[i]).collect();
                sub_dataset(data, &rows, labels).map_err(|source| CvError::Fold {
                    fold: k + 1,
                    source,
                })
            };
            Ok(Split {
                train: part(false)?,
                test: part(true)?,
            })
        })
        .collect::<Result<_, CvError>>()?;

    let gammas: Vec<Option<f64>> = if grid.gamma.is_empty() {
        vec![base_gamma]
    } else {
        grid.gamma.iter().copied().map(Some).collect()
    };
    let mut c_order: Vec<usize> = (0..grid.c.len()).collect();
    c_order.sort_by(|&a, &b| grid.c[a].total_cmp(&grid.c[b]));
    let tasks: Vec<(usize, usize)> = (0..gammas.len())
        .flat_map(|g| (0..settings.folds).map(move |k| (g, k)))
        .collect();
    // One task: one γ and one fold, C increasing, warm-started.
    // `with_max_len(1)`: every task can be stolen on its own, so the pool
    // stays busy to the end however unequal the tasks are.
    let results: Vec<Result<Vec<FoldOutcome>, CvError>> = tasks
        .par_iter()
        .with_max_len(1)
        .map(|&(g, k)| {
            let split = &splits[k];
            let base = learner;
            let mut learner = learner.clone();
            if let Some(gamma) = gammas[g] {
                learner.options.kernel = with_gamma(learner.options.kernel, gamma);
            }
            let mut out: Vec<Option<FoldOutcome>> = vec![None; grid.c.len()];
            let mut previous: Option<(f64, Vec<f64>)> = None;
            for &ci in &c_order {
                let c = grid.c[ci];
                learner.options.formulation.c = c;
                let start: Option<Vec<f64>> = match (&previous, settings.warm_start) {
                    (Some((c_old, alpha)), true) => {
                        Some(alpha.iter().map(|a| a * (c / c_old)).collect())
                    }
                    _ => None,
                };
                learner.options.smo.time_limit =
                    time_left(smo_deadline, base.options.smo.time_limit);
                learner.cd.time_limit = time_left(cd_deadline, base.cd.time_limit);
                let t = Instant::now();
                let f = fit(split, &learner, positive, start.as_deref()).map_err(|source| {
                    CvError::Fold {
                        fold: k + 1,
                        source,
                    }
                })?;
                let correct = split.test.count_correct(&f.predicted);
                out[ci] = Some(FoldOutcome {
                    fold: k,
                    n_test: split.test.len(),
                    correct,
                    iterations: f.iterations,
                    status: f.status.as_str().to_owned(),
                    warm_started: start.is_some(),
                    seconds: t.elapsed().as_secs_f64(),
                });
                previous = f.alpha.map(|a| (c, a));
            }
            Ok(out.into_iter().flatten().collect())
        })
        .collect();
    let mut by_task = Vec::with_capacity(results.len());
    for r in results {
        by_task.push(r?);
    }

    let mut points = Vec::with_capacity(grid.c.len() * gammas.len());
    for (ci, &c) in grid.c.iter().enumerate() {
        for (g, gamma) in gammas.iter().enumerate() {
            let folds: Vec<FoldOutcome> = (0..settings.folds)
                .map(|k| by_task[g * settings.folds + k][ci].clone())
                .collect();
            let correct: usize = folds.iter().map(|f| f.correct).sum();
            let n: usize = folds.iter().map(|f| f.n_test).sum();
            points.push(CvPoint {
                c,
                gamma: *gamma,
                log2c: c.log2(),
                log2g: gamma.map(f64::log2),
                accuracy: correct as f64 / n as f64,
                correct,
                n,
                iterations: folds.iter().map(|f| f.iterations).sum(),
                all_converged: folds.iter().all(|f| f.status == "converged"),
                folds,
            });
        }
    }
    let best = best_point(&points);
    Ok(GridOutcome {
        points,
        best,
        fold_of,
    })
}

/// The index of the most accurate point; ties to the smaller `C`, then the
/// smaller `γ`.
fn best_point(points: &[CvPoint]) -> usize {
    let key = |p: &CvPoint| (p.correct, p.c, p.gamma.unwrap_or(0.0));
    let mut best = 0;
    for (i, p) in points.iter().enumerate().skip(1) {
        let (bc, bcost, bg) = key(&points[best]);
        let (pc, pcost, pg) = key(p);
        if pc > bc || (pc == bc && (pcost < bcost || (pcost == bcost && pg < bg))) {
            best = i;
        }
    }
    best
}

/// The version of the cross-validation report schema written by this
/// build (`docs/cv.md`).
pub const CV_REPORT_SCHEMA_VERSION: u32 = 1;

/// The best point of a grid, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestPoint {
    /// Its index in [`CvReport::points`].
    pub index: usize,
    /// `C`.
    pub c: f64,
    /// `γ` (`None` for the linear kernel).
    pub gamma: Option<f64>,
    /// `log₂ C`.
    pub log2c: f64,
    /// `log₂ γ`.
    pub log2g: Option<f64>,
    /// Its cross-validation accuracy.
    pub accuracy: f64,
}

/// The JSON report of `svm-dual cv` and `svm-dual grid` (`docs/cv.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// [`CV_REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `cv` or `grid`.
    pub command: String,
    /// The data.
    pub input: crate::report::DataSummary,
    /// The distinct labels, in order of first appearance.
    pub classes: Vec<f64>,
    /// `l1` or `l2`.
    pub loss: crate::formulation::Loss,
    /// Whether the bias `b` is on.
    pub bias: bool,
    /// The kernel at the best point (`gamma` resolved).
    pub kernel: Kernel,
    /// The solver's name.
    pub solver: String,
    /// `ovo` or `ovr` for more than two classes; `None` for binary data.
    pub multiclass: Option<MulticlassStrategy>,
    /// The solvers' stopping tolerance.
    pub tol: f64,
    /// Folds `K`.
    pub folds: usize,
    /// The shuffle seed.
    pub seed: u64,
    /// Whether the grid warm-starts along increasing `C`.
    pub warm_start: bool,
    /// Rows per fold, in fold order.
    pub fold_sizes: Vec<usize>,
    /// Every `(C, γ)` tried, `C` in the grid's order then `γ`.
    pub points: Vec<CvPoint>,
    /// The best point.
    pub best: BestPoint,
    /// Threads in the pool.
    pub threads: usize,
    /// Reading the data, in seconds.
    pub load_seconds: f64,
    /// Cross-validating every point, in seconds.
    pub cv_seconds: f64,
}

impl CvReport {
    /// The report as pretty JSON ending in a newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Features;
    use crate::formulation::{Formulation, Loss};

    #[test]
    fn log2_ranges_follow_grid_py() {
        let c = log2_range(-5.0, 15.0, 2.0).unwrap();
        assert_eq!(c.len(), 11);
        assert_eq!((c[0], c[10]), (2f64.powi(-5), 2f64.powi(15)));
        let g = log2_range(3.0, -15.0, -2.0).unwrap();
        assert_eq!(g.len(), 10);
        assert_eq!((g[0], g[9]), (8.0, 2f64.powi(-15)));
        assert_eq!(log2_range(1.0, 1.0, 1.0).unwrap(), vec![2.0]);
        assert!(log2_range(0.0, 5.0, -1.0).is_err());
        assert!(log2_range(0.0, 5.0, 0.0).is_err());
        assert!(log2_range(0.0, 1e6, 1.0).is_err());
    }

    #[test]
    fn folds_are_stratified_balanced_and_seeded() {
        // 13 of one class, 7 of another, interleaved.
        let labels: Vec<f64> = (0..20)
            .map(|i| if i % 3 == 0 { 2.0 } else { 5.0 })
            .collect();
        let f = stratified_folds(&labels, 4, 7).unwrap();
        for k in 0..4 {
            let size = f.iter().filter(|&&x| x == k).count();
            assert_eq!(size, 5, "fold {k}");
            let twos = (0..20).filter(|&i| f[i] == k && labels[i] == 2.0).count();
            assert!((1..=2).contains(&twos), "fold {k}: {twos} of class 2");
        }
        assert_eq!(f, stratified_folds(&labels, 4, 7).unwrap());
        assert_ne!(f, stratified_folds(&labels, 4, 8).unwrap());
        assert!(stratified_folds(&labels, 1, 0).is_err());
        assert!(stratified_folds(&labels, 21, 0).is_err());
    }

    fn blobs() -> Dataset {
        // Two overlapping clouds on a line, deterministic.
        let n = 60;
        let mut x = Vec::with_capacity(2 * n);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let t = i as f64 / n as f64;
            let label = if i % 2 == 0 { 1.0 } else { -1.0 };
            x.push(label * 0.6 + (t * 37.0).sin());
            x.push((t * 11.0).cos());
            y.push(label);
        }
        Dataset::new(Features::from_dense(x, n, 2), y).unwrap()
    }

    fn learner() -> Learner {
        Learner {
            options: TrainOptions {
                formulation: Formulation {
                    loss: Loss::L1,
                    ..Formulation::default()
                },
                kernel: Kernel::Rbf { gamma: 0.5 },
                smo: Default::default(),
            },
            solver: SolverKind::Smo,
            multiclass: MulticlassStrategy::Ovo,
            linear_bias: LinearBias::Unregularized,
            cd: CdSettings::default(),
        }
    }

    #[test]
    fn grid_points_match_single_cross_validations_and_thread_counts() {
        let data = blobs();
        let grid = Grid {
            c: vec![4.0, 0.25, 1.0],
            gamma: vec![0.5, 2.0],
        };
        let cold = CvSettings {
            warm_start: false,
            ..CvSettings::default()
        };
        let run = |threads: usize, settings: CvSettings| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| grid_search(&data, &learner(), &grid, &settings).unwrap())
        };
        let one = run(1, CvSettings::default());
        let two = run(2, CvSettings::default());
        assert_eq!(one.points.len(), 6);
        assert_eq!(one.best, two.best);
        for (a, b) in one.points.iter().zip(&two.points) {
            assert_eq!((a.correct, a.iterations), (b.correct, b.iterations));
        }
        // Cold-started grid points are exactly single cross-validations.
        let grid_cold = run(2, cold);
        for p in &grid_cold.points {
            let mut l = learner();
            l.options.formulation.c = p.c;
            l.options.kernel = Kernel::Rbf {
                gamma: p.gamma.unwrap(),
            };
            let single = cross_validate(&data, &l, &cold).unwrap();
            assert_eq!(single.correct, p.correct);
            assert_eq!(single.iterations, p.iterations);
            assert!(p.folds.iter().all(|f| !f.warm_started));
        }
        // Warm starts: every C but the smallest starts warm, and saves work.
        let warm_iters: u64 = one.points.iter().map(|p| p.iterations).sum();
        let cold_iters: u64 = grid_cold.points.iter().map(|p| p.iterations).sum();
        assert!(warm_iters < cold_iters, "{warm_iters} vs {cold_iters}");
        for p in &one.points {
            assert_eq!(p.folds.iter().all(|f| f.warm_started), p.c > 0.25);
            assert_eq!(p.n, 60);
        }
        let best = &one.points[one.best];
        assert!(one.points.iter().all(|p| p.correct <= best.correct));
    }

    #[test]
    fn a_one_class_training_fold_predicts_its_class() {
        // 12 rows of class 1 and one of class -1: the fold holding the -1
        // row trains on class 1 only.
        let n = 13;
        let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut y = vec![1.0; n];
        y[5] = -1.0;
        let data = Dataset::new(Features::from_dense(x, n, 1), y).unwrap();
        let p = cross_validate(&data, &learner(), &CvSettings::default()).unwrap();
        assert_eq!(p.n, 13);
        let lonely = p.folds.iter().find(|f| f.iterations == 0).unwrap();
        assert_eq!(lonely.status, "converged");
        assert_eq!(lonely.correct, lonely.n_test - 1);
        assert!(p.all_converged);
        // The data itself needs two classes.
        let one = Dataset::new(Features::from_dense(vec![0.0, 1.0], 2, 1), vec![3.0; 2]).unwrap();
        let e = cross_validate(
            &one,
            &learner(),
            &CvSettings {
                folds: 2,
                ..CvSettings::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("only one class (label 3)"), "{e}");
    }

    #[test]
    fn bad_grids_are_refused() {
        let data = blobs();
        let s = CvSettings::default();
        let bad = |grid: Grid| grid_search(&data, &learner(), &grid, &s).unwrap_err();
        assert!(bad(Grid::default()).to_string().contains("no C"));
        assert!(bad(Grid {
            c: vec![1.0, 1.0],
            gamma: vec![]
        })
        .to_string()
        .contains("twice"));
        assert!(bad(Grid {
            c: vec![-1.0],
            gamma: vec![]
        })
        .to_string()
        .contains("positive"));
    }
}
