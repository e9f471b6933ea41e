//! Linear SVMs by dual coordinate descent: the glue between a [`Dataset`]
//! with a [`Formulation`] and [`solvers::cd`], an `O(nnz)` certificate and
//! prediction, and one-vs-rest multiclass training.
//!
//! # The problem solved
//! With the linear kernel the dual of [`crate::formulation`] is
//! `min ½‖w(α)‖² + ½Σdᵢαᵢ² − Σαᵢ`, `w(α) = Σαᵢyᵢx̃ᵢ`, `0 ≤ αᵢ ≤ Uᵢ`, with
//! `Uᵢ = Cᵢ, dᵢ = 0` for the hinge loss and `Uᵢ = +∞, dᵢ = 1/Cᵢ` for the
//! squared slack `(Cᵢ/2)ξᵢ²` (so `C_ours = 2·C_liblinear` for LIBLINEAR's
//! `-s 1`). The bias is one of ([`LinearBias`]):
//! - **none**: `f(x) = ⟨w, x⟩`;
//! - **regularised constant feature** (LIBLINEAR's `-B B`): `x̃ᵢ = [xᵢ; B]`,
//!   `f(x) = ⟨w, x⟩ + B·w_B`, and `½w_B²` is part of the regulariser. This
//!   is the no-bias SVM on augmented data, *not* the SVM with bias; its
//!   certificate is that of the augmented problem;
//! - **true bias**: `f(x) = ⟨w, x⟩ + b` with `b` unregularised and the dual
//!   constraint `yᵀα = 0` (the SVM of [`crate::formulation`] with
//!   `bias: true`), solved by two-variable steps.
//!
//! # Certificate in `O(nnz)`
//! [`certify`] recomputes `w = Σαᵢyᵢxᵢ` from `α` by scattering the rows
//! with `αᵢ ≠ 0` (sequentially, row order), `w_B = B·Σαᵢyᵢ`, then
//! `gᵢ = ⟨w, xᵢ⟩ + B·w_B` for every row (in parallel, one row per value),
//! and hands `g` to [`verify::certificate_from_values`], which evaluates
//! the primal, the dual, the gap and the KKT residuals exactly as for a
//! kernel solution (`‖w̃‖² = Σαᵢyᵢgᵢ`). The solver's `w` is never used.
//!
//! # Parallelism
//! One-vs-rest ([`train_one_vs_rest`]) trains its binary problems in
//! parallel with rayon; each is a sequential coordinate-descent run, so the
//! result does not depend on the pool size. Within one problem only
//! evaluations that do not move `α` are parallel (see [`solvers::cd`]).
//! Prediction computes each decision value independently per row.

use crate::data::{BinaryLabels, Dataset, Features, Row};
use crate::formulation::{Formulation, Loss};
use crate::kernel::Kernel;
use crate::model::{LabelMapping, Model};
use crate::multiclass::{
    rest_index, MulticlassModel, MulticlassStrategy, MulticlassTrained, SubProblem,
    MULTICLASS_SCHEMA_VERSION,
};
use crate::train::{SolveSummary, TrainError, Trained};
use crate::verify::{self, Certificate};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use solvers::{CdBias, CdProblem, CdSettings, CsrRef, Progress, RowMatrix, SetupError};

/// Rows per parallel task in the certificate and prediction.
const ROW_CHUNK: usize = 1024;

/// How the bias enters a linear SVM (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LinearBias {
    /// No bias.
    None,
    /// LIBLINEAR's `-B value`: a constant feature, its weight regularised.
    RegularizedFeature {
        /// The constant `B ≥ 0`.
        value: f64,
    },
    /// The unregularised bias with `yᵀα = 0`.
    Unregularized,
}

impl LinearBias {
    /// A stable lower-case name, as written in reports: `none`,
    /// `regularized_feature` or `unregularized`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinearBias::None => "none",
            LinearBias::RegularizedFeature { .. } => "regularized_feature",
            LinearBias::Unregularized => "unregularized",
        }
    }

    /// The mode matching a formulation: [`LinearBias::Unregularized`] when
    /// `formulation.bias`, else the constant feature `constant` if given,
    /// else [`LinearBias::None`]. A constant feature together with the true
    /// bias is refused.
    pub fn for_formulation(
        formulation: &Formulation,
        constant: Option<f64>,
    ) -> Result<Self, TrainError> {
        match (formulation.bias, constant) {
            (true, Some(_)) => Err(TrainError::Option(
                "a regularised constant feature (-B) and the unregularised bias exclude each other"
                    .into(),
            )),
            (true, None) => Ok(LinearBias::Unregularized),
            (false, Some(value)) => Ok(LinearBias::RegularizedFeature { value }),
            (false, None) => Ok(LinearBias::None),
        }
    }

    fn solver_bias(self) -> CdBias {
        match self {
            LinearBias::None => CdBias::None,
            LinearBias::RegularizedFeature { value } => CdBias::Regularized { value },
            LinearBias::Unregularized => CdBias::Unregularized,
        }
    }
}

/// What to train.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearOptions {
    /// Loss, `C` and class weights. Its `bias` must agree with
    /// [`LinearOptions::bias`] (true exactly for
    /// [`LinearBias::Unregularized`]).
    pub formulation: Formulation,
    /// How the bias enters.
    pub bias: LinearBias,
    /// Coordinate-descent settings.
    pub cd: CdSettings,
}

impl LinearOptions {
    /// Checks the formulation, the settings and that the bias agrees with
    /// the formulation.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.formulation.validate().map_err(TrainError::Option)?;
        self.cd.validate()?;
        if self.formulation.bias != (self.bias == LinearBias::Unregularized) {
            return Err(TrainError::Option(format!(
                "formulation.bias = {} does not match the linear bias mode `{}`",
                self.formulation.bias,
                self.bias.as_str()
            )));
        }
        if let LinearBias::RegularizedFeature { value } = self.bias {
            if !(value.is_finite() && value >= 0.0) {
                return Err(TrainError::Option(format!(
                    "the constant feature must be a nonnegative finite number, got {value}"
                )));
            }
        }
        Ok(())
    }
}

/// The solver's own account of a linear solve, beyond [`SolveSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearSolveInfo {
    /// The bias mode solved.
    pub bias_mode: LinearBias,
    /// `‖w‖₂` over the features (the constant feature's weight excluded).
    pub w_norm: f64,
    /// Nonzero entries of `w`.
    pub w_nnz: usize,
    /// The constant feature's weight `w_B` (regularised feature only).
    pub bias_weight: Option<f64>,
    /// What the stopping measure is: `projected_gradient_spread`
    /// (LIBLINEAR's, over the last pass) or `maximal_violating_pair`.
    pub stop_measure: String,
    /// Its value at the end (also [`SolveSummary::max_violation`]).
    pub stop_value: f64,
    /// The last relative duality gap the solver evaluated (only when asked
    /// to stop on the gap).
    pub solver_relative_gap: Option<f64>,
    /// Passes over the data.
    pub passes: u64,
    /// Updates of `α` (coordinate or pair steps).
    pub updates: u64,
}

/// A linear decision function `f(x) = ⟨w, x⟩ + bias`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// `w`, one entry per feature of the training data.
    pub w: Vec<f64>,
    /// The constant of `f`: `B·w_B`, `b`, or 0.
    pub bias: f64,
}

impl LinearModel {
    /// `f(x)` for one row in `O(nnz(x))`; features beyond `w` count as 0.
    pub fn decision_value(&self, x: &Row<'_>) -> f64 {
        dot_clipped(x, &self.w) + self.bias
    }

    /// `f(xᵢ)` for every row, in parallel (each value independent).
    pub fn decision_function(&self, features: &Features) -> Vec<f64> {
        let mut out = vec![0.0; features.n_rows()];
        out.par_chunks_mut(ROW_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (k, o) in chunk.iter_mut().enumerate() {
                    *o = self.decision_value(&features.row(c * ROW_CHUNK + k));
                }
            });
        out
    }
}

/// A trained binary linear SVM.
#[derive(Debug, Clone)]
pub struct LinearTrained {
    /// The decision function.
    pub model: LinearModel,
    /// The formulation solved.
    pub formulation: Formulation,
    /// The dual solution, one entry per training row.
    pub alpha: Vec<f64>,
    /// The labels as ±1.
    pub labels: BinaryLabels,
    /// How the solve went (`iterations` counts passes; `max_violation` is
    /// the solver's stopping measure).
    pub summary: SolveSummary,
    /// The linear solver's details.
    pub info: LinearSolveInfo,
}

impl LinearTrained {
    /// Predicted raw labels (`f > 0` gives the label mapped to `+1`).
    pub fn predict(&self, features: &Features) -> Vec<f64> {
        self.model
            .decision_function(features)
            .into_iter()
            .map(|f| {
                if f > 0.0 {
                    self.labels.positive
                } else {
                    self.labels.negative
                }
            })
            .collect()
    }

    /// The same solution as a support-vector [`Trained`] with the linear
    /// kernel (copies the support vectors' rows), for code written for the
    /// kernel path. Its `model.bias` is the decision constant; with the
    /// regularised constant feature its formulation has `bias: false`, so
    /// certify it with [`certify`], not [`crate::certify`].
    pub fn to_trained(&self, features: &Features) -> Trained {
        let model = Model::from_dual(
            features,
            &self.labels.y,
            &self.alpha,
            self.model.bias,
            self.formulation,
            Kernel::Linear,
            LabelMapping {
                positive: self.labels.positive,
                negative: self.labels.negative,
            },
        );
        Trained {
            model,
            alpha: self.alpha.clone(),
            labels: self.labels.clone(),
            summary: self.summary.clone(),
        }
    }
}

/// The data as sparse rows for the solver: borrowed CSR, or a CSR copy of
/// dense storage (zeros dropped).
pub(crate) enum SolverRows<'a> {
    Borrowed(CsrRef<'a>),
    Owned {
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f64>,
        n_cols: usize,
    },
}

impl<'a> SolverRows<'a> {
    pub(crate) fn new(features: &'a Features) -> Result<Self, SetupError> {
        match features {
            Features::Sparse(s) => Ok(SolverRows::Borrowed(CsrRef::new(
                &s.indptr, &s.indices, &s.values, s.n_cols,
            )?)),
            Features::Dense(d) => {
                let mut indptr = Vec::with_capacity(d.n_rows + 1);
                let (mut indices, mut values) = (Vec::new(), Vec::new());
                indptr.push(0);
                for i in 0..d.n_rows {
                    for (k, &v) in d.values[i * d.n_cols..(i + 1) * d.n_cols]
                        .iter()
                        .enumerate()
                    {
                        if v != 0.0 {
                            indices.push(k as u32);
                            values.push(v);
                        }
                    }
                    indptr.push(indices.len());
                }
                Ok(SolverRows::Owned {
                    indptr,
                    indices,
                    values,
                    n_cols: d.n_cols,
                })
            }
        }
    }

    pub(crate) fn csr(&self) -> Result<CsrRef<'_>, SetupError> {
        match self {
            SolverRows::Borrowed(c) => Ok(*c),
            SolverRows::Owned {
                indptr,
                indices,
                values,
                n_cols,
            } => CsrRef::new(indptr, indices, values, *n_cols),
        }
    }
}

/// One binary solve on labels `y`.
struct BinarySolve {
    model: LinearModel,
    alpha: Vec<f64>,
    summary: SolveSummary,
    info: LinearSolveInfo,
}

fn solve_binary<M: RowMatrix + ?Sized>(
    rows: &M,
    y: &[f64],
    options: &LinearOptions,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<BinarySolve, TrainError> {
    let f = &options.formulation;
    let upper: Vec<f64> = y.iter().map(|&yi| f.upper_bound(yi)).collect();
    let shift: Vec<f64> = y.iter().map(|&yi| f.diagonal_shift(yi)).collect();
    let problem = CdProblem {
        signs: y,
        upper: &upper,
        shift: &shift,
        bias: options.bias.solver_bias(),
    };
    let s = solvers::solve_cd_cancellable(rows, &problem, &options.cd, progress, cancel)?;
    let info = LinearSolveInfo {
        bias_mode: options.bias,
        w_norm: s.w.iter().map(|v| v * v).sum::<f64>().sqrt(),
        w_nnz: s.w.iter().filter(|v| **v != 0.0).count(),
        bias_weight: s.bias_weight,
        stop_measure: s.measure.as_str().to_owned(),
        stop_value: s.max_violation,
        solver_relative_gap: s.relative_gap,
        passes: s.passes,
        updates: s.updates,
    };
    let summary = SolveSummary {
        status: s.status,
        iterations: s.passes,
        dual_objective: -s.objective,
        max_violation: s.max_violation,
        elapsed: s.elapsed,
    };
    Ok(BinarySolve {
        model: LinearModel {
            w: s.w,
            bias: s.bias,
        },
        alpha: s.alpha,
        summary,
        info,
    })
}

/// Trains a binary linear SVM on `data` (exactly two labels, the first seen
/// is `+1`) by dual coordinate descent. `progress` is called about once per
/// `options.cd.progress_interval`.
pub fn train_linear(
    data: &Dataset,
    options: &LinearOptions,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<LinearTrained, TrainError> {
    train_linear_cancellable(data, options, progress, None)
}

/// [`train_linear`] with cooperative cancellation: when `cancel` is set
/// the solver stops at the start of its next pass with
/// [`solvers::Status::Interrupted`] and the iterate reached is returned.
pub fn train_linear_cancellable(
    data: &Dataset,
    options: &LinearOptions,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<LinearTrained, TrainError> {
    options.validate()?;
    let labels = data.binary_labels()?;
    let rows = SolverRows::new(&data.features)?;
    let b = solve_binary(&rows.csr()?, &labels.y, options, progress, cancel)?;
    Ok(LinearTrained {
        model: b.model,
        formulation: options.formulation,
        alpha: b.alpha,
        labels,
        summary: b.summary,
        info: b.info,
    })
}

/// One class of a one-vs-rest model: class `class` against all others.
#[derive(Debug, Clone)]
pub struct OvrClass {
    /// The raw label treated as `+1` (all others are `−1`).
    pub class: f64,
    /// The decision function of this class.
    pub model: LinearModel,
    /// The dual solution of this binary problem.
    pub alpha: Vec<f64>,
    /// How the solve went.
    pub summary: SolveSummary,
    /// The linear solver's details.
    pub info: LinearSolveInfo,
}

impl OvrClass {
    /// `yᵢ = +1` for rows labelled `class`, `−1` otherwise.
    pub fn signs(&self, labels: &[f64]) -> Vec<f64> {
        ovr_signs(labels, self.class)
    }
}

/// A one-vs-rest multiclass linear SVM (LIBLINEAR's scheme for `-s 1` and
/// `-s 3`).
#[derive(Debug, Clone)]
pub struct OneVsRest {
    /// The formulation of every binary problem.
    pub formulation: Formulation,
    /// One entry per class, in order of first appearance in the data.
    pub classes: Vec<OvrClass>,
}

impl OneVsRest {
    /// The raw label with the largest decision value (the first such class
    /// on ties).
    pub fn predict(&self, features: &Features) -> Vec<f64> {
        let values: Vec<Vec<f64>> = self
            .classes
            .iter()
            .map(|c| c.model.decision_function(features))
            .collect();
        (0..features.n_rows())
            .map(|i| {
                let mut best = 0;
                for k in 1..values.len() {
                    if values[k][i] > values[best][i] {
                        best = k;
                    }
                }
                self.classes[best].class
            })
            .collect()
    }

    /// The same model as a one-vs-rest [`MulticlassTrained`] of
    /// support-vector sub-models with the linear kernel (the support
    /// vectors' rows copied from `data`, which must be the training data),
    /// each sub-problem with its `O(nnz)` certificate ([`certify_class`]),
    /// for the code written for the multiclass kernel path: its report,
    /// model files and prediction. As in [`MulticlassModel`], the negative
    /// label of a sub-model is the first other class.
    pub fn to_multiclass(&self, data: &Dataset) -> MulticlassTrained {
        let classes: Vec<f64> = self.classes.iter().map(|c| c.class).collect();
        let (submodels, subproblems): (Vec<Model>, Vec<SubProblem>) = self
            .classes
            .par_iter()
            .enumerate()
            .map(|(k, c)| {
                let signs = c.signs(&data.labels);
                let model = Model::from_dual(
                    &data.features,
                    &signs,
                    &c.alpha,
                    c.model.bias,
                    self.formulation,
                    Kernel::Linear,
                    LabelMapping {
                        positive: c.class,
                        negative: classes[rest_index(k)],
                    },
                );
                let sub = SubProblem {
                    positive: k,
                    negative: None,
                    n_samples: data.len(),
                    summary: c.summary.clone(),
                    certificate: certify_class(&data.features, &data.labels, &self.formulation, c),
                    alpha: c.alpha.clone(),
                };
                (model, sub)
            })
            .unzip();
        MulticlassTrained {
            model: MulticlassModel {
                schema_version: MULTICLASS_SCHEMA_VERSION,
                strategy: MulticlassStrategy::Ovr,
                classes,
                submodels,
            },
            subproblems,
        }
    }
}

fn ovr_signs(labels: &[f64], class: f64) -> Vec<f64> {
    labels
        .iter()
        .map(|&l| if l == class { 1.0 } else { -1.0 })
        .collect()
}

/// Trains one binary linear SVM per class (that class `+1`, the rest `−1`),
/// in parallel over classes. At least two classes are needed; every class
/// is trained, also when there are only two. Bit-identical for any rayon
/// pool size (each binary solve is sequential and seeded the same way).
/// The time limit (`options.cd.time_limit`) bounds all the classes
/// together: a class whose solve starts after it stops at once.
pub fn train_one_vs_rest(data: &Dataset, options: &LinearOptions) -> Result<OneVsRest, TrainError> {
    options.validate()?;
    let classes = data.classes();
    if classes.len() < 2 {
        // Reuse the data error for a single class.
        data.binary_labels()?;
    }
    let rows = SolverRows::new(&data.features)?;
    let csr = rows.csr()?;
    // The time limit bounds all the classes together: one deadline, each
    // class's solve getting the time left until it when it starts.
    let deadline = crate::train::deadline_after(options.cd.time_limit);
    let trained: Result<Vec<OvrClass>, TrainError> = classes
        .par_iter()
        .map(|&class| {
            let y = ovr_signs(&data.labels, class);
            let mut options = options.clone();
            options.cd.time_limit = crate::train::time_left(deadline, options.cd.time_limit);
            let b = solve_binary(&csr, &y, &options, None, None)?;
            Ok(OvrClass {
                class,
                model: b.model,
                alpha: b.alpha,
                summary: b.summary,
                info: b.info,
            })
        })
        .collect();
    Ok(OneVsRest {
        formulation: options.formulation,
        classes: trained?,
    })
}

/// `⟨x, w⟩` skipping indices at or beyond `w.len()`.
fn dot_clipped(x: &Row<'_>, w: &[f64]) -> f64 {
    match x {
        Row::Sparse { indices, values } => indices
            .iter()
            .zip(values.iter())
            .filter(|(&k, _)| (k as usize) < w.len())
            .map(|(&k, &v)| v * w[k as usize])
            .sum(),
        Row::Dense(v) => v.iter().zip(w).map(|(a, b)| a * b).sum(),
    }
}

/// The certificate of `α` for a linear SVM in `O(nnz)` (see the module
/// doc): `y` the ±1 labels, `bias` the decision constant used for the true
/// bias (ignored otherwise). Never uses a solver's `w`.
///
/// # Panics
/// When `y` or `alpha` does not have one entry per row.
pub fn certify_alpha(
    features: &Features,
    y: &[f64],
    formulation: &Formulation,
    bias_mode: LinearBias,
    alpha: &[f64],
    bias: f64,
) -> Certificate {
    let n = features.n_rows();
    assert_eq!(y.len(), n, "one label per row");
    assert_eq!(alpha.len(), n, "one alpha per row");
    let mut w = vec![0.0; features.n_cols()];
    let mut sum_ay = 0.0;
    for i in 0..n {
        let c = alpha[i] * y[i];
        if c != 0.0 {
            match features.row(i) {
                Row::Sparse { indices, values } => {
                    for (&k, &v) in indices.iter().zip(values) {
                        w[k as usize] += c * v;
                    }
                }
                Row::Dense(v) => w.iter_mut().zip(v).for_each(|(o, x)| *o += c * x),
            }
            sum_ay += c;
        }
    }
    let (constant, form, b) = match bias_mode {
        LinearBias::None => (
            0.0,
            Formulation {
                bias: false,
                ..*formulation
            },
            0.0,
        ),
        LinearBias::RegularizedFeature { value } => (
            value,
            Formulation {
                bias: false,
                ..*formulation
            },
            0.0,
        ),
        LinearBias::Unregularized => (
            0.0,
            Formulation {
                bias: true,
                ..*formulation
            },
            bias,
        ),
    };
    let offset = constant * (constant * sum_ay);
    let mut g = vec![0.0; n];
    g.par_chunks_mut(ROW_CHUNK)
        .enumerate()
        .for_each(|(c, out)| {
            for (k, gi) in out.iter_mut().enumerate() {
                *gi = dot_clipped(&features.row(c * ROW_CHUNK + k), &w) + offset;
            }
        });
    verify::certificate_from_values(&g, y, &form, alpha, b)
}

/// The certificate of a [`LinearTrained`] on its training features.
pub fn certify(features: &Features, trained: &LinearTrained) -> Certificate {
    certify_alpha(
        features,
        &trained.labels.y,
        &trained.formulation,
        trained.info.bias_mode,
        &trained.alpha,
        trained.model.bias,
    )
}

/// The certificate of one class of a [`OneVsRest`] model.
pub fn certify_class(
    features: &Features,
    labels: &[f64],
    formulation: &Formulation,
    class: &OvrClass,
) -> Certificate {
    certify_alpha(
        features,
        &class.signs(labels),
        formulation,
        class.info.bias_mode,
        &class.alpha,
        class.model.bias,
    )
}

/// The loss of a formulation as LIBLINEAR's solver number: `-s 3` for the
/// hinge, `-s 1` for the squared slack (with `C_liblinear = C / 2`).
pub fn liblinear_solver(loss: Loss) -> u32 {
    match loss {
        Loss::L1 => 3,
        Loss::L2 => 1,
    }
}

/// LIBLINEAR's `-c` for a formulation: `C` for the hinge, `C/2` for the
/// squared slack (LIBLINEAR's L2 loss is `C·Σξᵢ²`, ours `(C/2)·Σξᵢ²`).
pub fn liblinear_cost(formulation: &Formulation) -> f64 {
    match formulation.loss {
        Loss::L1 => formulation.c,
        Loss::L2 => formulation.c / 2.0,
    }
}
