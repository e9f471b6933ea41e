//! Joint multiclass SVMs: Crammer–Singer and Weston–Watkins, trained by
//! block coordinate descent on their duals ([`solvers::block`]), with any
//! kernel; their models, prediction and report.
//!
//! # Crammer–Singer (JMLR 2, 2001)
//! Scores `sₘ(x) = ⟨wₘ, φ(x)⟩`, prediction `argmaxₘ sₘ(x)`, no bias. Primal
//! ```text
//!     min ½ Σₘ ‖wₘ‖² + C Σᵢ ξᵢ
//!     s.t. ⟨w_{yᵢ}, φ(xᵢ)⟩ − ⟨wₘ, φ(xᵢ)⟩ ≥ 1[m ≠ yᵢ] − ξᵢ   for all i, m
//! ```
//! (the constraint for `m = yᵢ` is `ξᵢ ≥ 0`), i.e. `C Σᵢ ℓ_CS` with
//! `ℓ_CS = maxⱼ (sⱼ − s_y + 1[j ≠ y])`. With multipliers `ηᵢₘ ≥ 0`,
//! `Σₘ ηᵢₘ = C` (from `∂/∂ξᵢ`), and `αᵢₘ = C·1[m = yᵢ] − ηᵢₘ`, stationarity
//! gives `wₘ = Σᵢ αᵢₘ φ(xᵢ)` and the dual
//! ```text
//!     max D(α) = −½ Σᵢⱼ K(xᵢ, xⱼ) ⟨αᵢ, αⱼ⟩ − Σᵢ Σ_{m≠yᵢ} αᵢₘ
//!     s.t. Σₘ αᵢₘ = 0,  αᵢₘ ≤ C·1[m = yᵢ]
//! ```
//! one equality per sample (Keerthi, Sundararajan, Chang, Hsieh & Lin,
//! KDD 2008, eq. (4)). The box implied with the equality is
//! `αᵢₘ ∈ [−C, 0]` (`m ≠ yᵢ`), `αᵢ,yᵢ ∈ [0, C]`.
//!
//! **Separable data.** The CS loss bounds the 0–1 loss above
//! (misclassified: some `j ≠ y` has `sⱼ ≥ s_y`, a term `≥ 1`). If a linear
//! `W̄` separates the data (`s_y > sⱼ` for all rows), `tW̄` has zero loss for
//! `t` large, so the infimum of the unregularised average loss is 0 and
//! every minimiser has average loss 0 < 1/n, hence zero training error.
//! With regularisation: `C Σ ℓᵢ ≤ P(W) ≤ P* + gap ≤ ½‖W̄‖² + gap` for `W̄`
//! a separator with margins `≥ 1`, so once `C > ½‖W̄‖² + gap` every
//! `ℓᵢ < 1` and the training error is zero (checked on generated data by a
//! property test).
//!
//! # Weston–Watkins (ESANN 1999)
//! ```text
//!     min ½ Σₘ ‖wₘ‖² + C Σᵢ Σ_{m≠yᵢ} ξᵢₘ
//!     s.t. ⟨w_{yᵢ} − wₘ, φ(xᵢ)⟩ ≥ 1 − ξᵢₘ,  ξᵢₘ ≥ 0   (m ≠ yᵢ)
//! ```
//! i.e. `C Σᵢ ℓ_WW`, `ℓ_WW = Σ_{j≠y} max(0, sⱼ − s_y + 1)`. Multipliers
//! `βᵢₘ ∈ [0, C]` give `wₘ = Σᵢ αᵢₘ φ(xᵢ)` with `αᵢₘ = −βᵢₘ` (`m ≠ yᵢ`),
//! `αᵢ,yᵢ = Σ_{m≠yᵢ} βᵢₘ`, and the dual `max Σᵢₘ βᵢₘ − ½Σₘ‖wₘ‖²` — the same
//! objective in `α` as CS, with the box `αᵢₘ ∈ [−C, 0]` (`m ≠ yᵢ`),
//! `αᵢ,yᵢ ∈ [0, (k−1)C]` and `Σₘ αᵢₘ = 0`. Its block sub-problem (one
//! sample, all `βᵢₘ`) is solved exactly, as Wang & Scott (ICML 2020)
//! propose; here as the projection of the block step onto this set.
//!
//! Both duals are `min ½ΣᵢⱼKᵢⱼ⟨αᵢ,αⱼ⟩ + Σᵢ⟨pᵢ,αᵢ⟩`, `pᵢₘ = 1[m ≠ yᵢ]`,
//! with per-block equality and box: [`solvers::solve_block`] (any kernel,
//! columns of `K` from [`KernelMatrix`]) or, for the linear kernel,
//! [`solvers::solve_block_linear`] (explicit `wₘ`, `O(nnz(xᵢ)·k)` a step),
//! or, for small badly scaled problems, [`solvers::solve_block_ip`]
//! (interior point, dense, at most [`solvers::IP_MAX_SAMPLES`] samples).
//! The certificate is [`crate::verify_joint`].
//!
//! # Models
//! A [`JointModel`] stores the classes (raw labels in order of first
//! appearance), the method, `C`, the kernel and either the explicit `wₘ`
//! (linear solver) or the rows with `αᵢ ≠ 0` and their `k` coefficients.
//! The JSON object has a `method` key, which [`crate::multiclass::read_any_json`]
//! uses to tell it apart.

use crate::data::{Dataset, Features, Row};
use crate::kernel::{Kernel, KernelMatrix};
use crate::linear::SolverRows;
use crate::report::{DataSummary, InputFormat, ReportStatus, TimingsSeconds};
use crate::train::TrainError;
use crate::verify_joint::{
    argmax, block_bounds, linear_term, verify_joint, JointCertificate, JointMethod, JointPoint,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use solvers::{BlockProblem, Progress, QMatrix, SmoSettings, Status};
use std::time::Duration;

/// What `--multiclass` asks for: a split into binary problems or a joint
/// dual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MulticlassChoice {
    /// One-vs-one or one-vs-rest ([`crate::multiclass`]).
    Split(crate::multiclass::MulticlassStrategy),
    /// Crammer–Singer or Weston–Watkins (this module).
    Joint(JointMethod),
}

/// The version of the joint model schema written by this build.
pub const JOINT_SCHEMA_VERSION: u32 = 1;

/// Which block solver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JointSolver {
    /// [`solvers::solve_block`]: any kernel, columns of `K`.
    Block,
    /// [`solvers::solve_block_linear`]: linear kernel, explicit `wₘ`.
    BlockLinear,
    /// [`solvers::solve_block_ip`]: interior point, any kernel, dense
    /// (at most [`solvers::IP_MAX_SAMPLES`] samples); for small problems
    /// that coordinate methods solve slowly (unscaled features).
    InteriorPoint,
}

impl JointSolver {
    /// `block`, `block-linear` or `interior-point`.
    pub fn name(self) -> &'static str {
        match self {
            JointSolver::Block => "block",
            JointSolver::BlockLinear => "block-linear",
            JointSolver::InteriorPoint => "interior-point",
        }
    }
}

/// Options of [`train_joint`].
#[derive(Debug, Clone, PartialEq)]
pub struct JointOptions {
    /// Crammer–Singer or Weston–Watkins.
    pub method: JointMethod,
    /// `C > 0`.
    pub c: f64,
    /// The kernel, parameters resolved.
    pub kernel: Kernel,
    /// The solver; [`JointSolver::BlockLinear`] needs the linear kernel.
    pub solver: JointSolver,
    /// Tolerance on the block violation, limits (`max_iter` counts block
    /// steps for [`JointSolver::Block`], passes for
    /// [`JointSolver::BlockLinear`]), cache and shrinking.
    pub settings: SmoSettings,
}

impl JointOptions {
    /// Checks `C`, the kernel, the settings and the solver–kernel pair.
    pub fn validate(&self) -> Result<(), TrainError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(TrainError::Option(format!(
                "C must be a positive finite number, got {}",
                self.c
            )));
        }
        self.kernel.validate().map_err(TrainError::Option)?;
        self.settings.validate()?;
        if self.solver == JointSolver::BlockLinear && self.kernel != Kernel::Linear {
            return Err(TrainError::Option(
                "the block-linear solver needs the linear kernel".into(),
            ));
        }
        Ok(())
    }
}

/// One support vector of a joint model: its row and `k` coefficients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointSupportVector {
    /// 0-based training row.
    pub index: Option<usize>,
    /// `αᵢₘ` for every class `m`.
    pub coef: Vec<f64>,
    /// 0-based feature indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Feature values.
    pub values: Vec<f64>,
}

/// A joint multiclass SVM: `sₘ(x) = ⟨wₘ, φ(x)⟩`, prediction
/// `argmaxₘ sₘ(x)` (the first class on ties).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointModel {
    /// [`JOINT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// Crammer–Singer or Weston–Watkins.
    pub method: JointMethod,
    /// The raw labels, in order of first appearance in the training data.
    pub classes: Vec<f64>,
    /// `C`.
    pub c: f64,
    /// The kernel.
    pub kernel: Kernel,
    /// The number of features of the training data.
    pub n_features: usize,
    /// The linear kernel's explicit `wₘ`, one vector of `n_features` per
    /// class; `None` for a kernel expansion.
    pub weights: Option<Vec<Vec<f64>>>,
    /// Rows with `αᵢ ≠ 0` (empty when `weights` is given).
    pub support_vectors: Vec<JointSupportVector>,
}

impl JointModel {
    /// Whether every number the model predicts with is finite (see
    /// [`crate::model::Model::is_finite`]).
    pub fn is_finite(&self) -> bool {
        self.weights
            .iter()
            .flatten()
            .flatten()
            .all(|w| w.is_finite())
            && self.support_vectors.iter().all(|sv| {
                sv.coef.iter().all(|c| c.is_finite()) && sv.values.iter().all(|v| v.is_finite())
            })
    }

    /// The scores `sₘ(x)` of every row (`k` per row).
    pub fn decision_values(&self, features: &Features) -> Vec<Vec<f64>> {
        let k = self.classes.len();
        let scores = |kv: &[f64]| {
            let mut s = vec![0.0; k];
            for (sv, &kv) in self.support_vectors.iter().zip(kv) {
                for m in 0..k {
                    s[m] += sv.coef[m] * kv;
                }
            }
            s
        };
        if self.weights.is_none() {
            // The kernel values by panels where the width allows
            // (`crate::model::kernel_rows`, the same values to the bit as
            // the loop below, summed in the same order).
            let rows: Vec<Row<'_>> = self
                .support_vectors
                .iter()
                .map(|sv| Row::Sparse {
                    indices: &sv.indices,
                    values: &sv.values,
                })
                .collect();
            if let Some(values) =
                crate::model::kernel_rows(features, self.kernel, &rows, |_, kv| scores(kv))
            {
                return values;
            }
        }
        (0..features.n_rows())
            .into_par_iter()
            .map(|r| {
                let x = features.row(r);
                let mut s = vec![0.0; k];
                if let Some(w) = &self.weights {
                    for (m, wm) in w.iter().enumerate() {
                        s[m] = dot_clipped(&x, wm);
                    }
                    return s;
                }
                let sq_x = if self.kernel.needs_norms() {
                    x.squared_norm()
                } else {
                    0.0
                };
                let kv: Vec<f64> = self
                    .support_vectors
                    .iter()
                    .map(|sv| {
                        let row = Row::Sparse {
                            indices: &sv.indices,
                            values: &sv.values,
                        };
                        let sq = if self.kernel.needs_norms() {
                            row.squared_norm()
                        } else {
                            0.0
                        };
                        self.kernel.from_dot(row.dot(&x), sq, sq_x)
                    })
                    .collect();
                scores(&kv)
            })
            .collect()
    }

    /// Predicted raw labels.
    pub fn predict(&self, features: &Features) -> Vec<f64> {
        self.decision_values(features)
            .iter()
            .map(|s| self.classes[argmax(s)])
            .collect()
    }

    /// Checks the values: schema version, distinct finite classes (at least
    /// two), `C` and the kernel, and the shapes of `weights` or the support
    /// vectors.
    pub fn check(&self) -> Result<(), String> {
        if self.schema_version != JOINT_SCHEMA_VERSION {
            return Err(format!(
                "joint model schema_version {} is not supported (this build reads version \
                 {JOINT_SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        let k = self.classes.len();
        if k < 2 {
            return Err(format!("a multiclass model needs two classes, got {k}"));
        }
        for (a, &c) in self.classes.iter().enumerate() {
            if !c.is_finite() || self.classes[..a].contains(&c) {
                return Err(format!("classes must be distinct finite numbers, got {c}"));
            }
        }
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(format!(
                "c must be a positive finite number, got {}",
                self.c
            ));
        }
        self.kernel.validate()?;
        if let Some(w) = &self.weights {
            if self.kernel != Kernel::Linear {
                return Err("explicit weights need the linear kernel".into());
            }
            if w.len() != k || w.iter().any(|wm| wm.len() != self.n_features) {
                return Err(format!(
                    "weights must be {k} vectors of {} numbers",
                    self.n_features
                ));
            }
            if w.iter().flatten().any(|v| !v.is_finite()) {
                return Err("weights must be finite".into());
            }
            if !self.support_vectors.is_empty() {
                return Err("a model with weights has no support vectors".into());
            }
        }
        for (s, sv) in self.support_vectors.iter().enumerate() {
            if sv.coef.len() != k || sv.coef.iter().any(|c| !c.is_finite()) {
                return Err(format!(
                    "support vector {s}: coef must hold {k} finite numbers"
                ));
            }
            if sv.indices.len() != sv.values.len()
                || sv.indices.windows(2).any(|w| w[1] <= w[0])
                || sv.values.iter().any(|v| !v.is_finite())
            {
                return Err(format!(
                    "support vector {s}: indices must increase strictly and match finite values"
                ));
            }
        }
        Ok(())
    }
}

/// `⟨x, w⟩` over the features `w` covers (features beyond the training
/// data's count weigh 0).
fn dot_clipped(x: &Row<'_>, w: &[f64]) -> f64 {
    match x {
        Row::Sparse { indices, values } => indices
            .iter()
            .zip(values.iter())
            .filter(|(&j, _)| (j as usize) < w.len())
            .map(|(&j, &v)| v * w[j as usize])
            .sum(),
        Row::Dense(v) => v.iter().zip(w).map(|(a, b)| a * b).sum(),
    }
}

/// The kernel matrix `K` itself as the block solver's [`QMatrix`].
struct PlainKernel<'a>(KernelMatrix<'a>);

impl QMatrix for PlainKernel<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }

    fn diagonal(&self, out: &mut [f64]) {
        self.0.diagonal(out);
    }

    fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        self.0.column(j, rows, out);
    }

    fn matvec(&self, v: &[f64], out: &mut [f64]) {
        self.0.matvec(v, out);
    }
}

/// A trained joint model with its dual solution and how the solve ended.
#[derive(Debug, Clone)]
pub struct JointTrained {
    /// The model.
    pub model: JointModel,
    /// The solver that ran.
    pub solver: JointSolver,
    /// The class index of every training row.
    pub class_of: Vec<usize>,
    /// `α`, `n·k`, row after row.
    pub alpha: Vec<f64>,
    /// How the solve ended.
    pub status: Status,
    /// Block steps ([`JointSolver::Block`]) or passes
    /// ([`JointSolver::BlockLinear`]).
    pub iterations: u64,
    /// `D(α)` as the solver computed it.
    pub dual_objective: f64,
    /// The solver's largest block violation at the end.
    pub max_violation: f64,
    /// Wall time of the solve.
    pub elapsed: Duration,
}

impl JointTrained {
    /// The verifier's certificate on the training features.
    pub fn certify(&self, features: &Features) -> JointCertificate {
        verify_joint(
            features,
            self.model.kernel,
            &JointPoint {
                method: self.model.method,
                c: self.model.c,
                n_classes: self.model.classes.len(),
                class_of: &self.class_of,
                alpha: &self.alpha,
            },
        )
    }
}

/// Trains a joint multiclass SVM on `data` (at least two classes).
pub fn train_joint(
    data: &Dataset,
    options: &JointOptions,
    progress: Option<&(dyn Fn(&Progress) + Sync)>,
) -> Result<JointTrained, TrainError> {
    options.validate()?;
    let classes = data.classes();
    if classes.len() < 2 {
        // binary_labels names the single class and the file.
        data.binary_labels()?;
    }
    let k = classes.len();
    let class_of: Vec<usize> = data
        .labels
        .iter()
        .map(|l| classes.iter().position(|c| c == l).unwrap_or(0))
        .collect();
    let p = linear_term(&class_of, k);
    let (lower, upper) = block_bounds(options.method, &class_of, k, options.c);
    let problem = BlockProblem {
        block_size: k,
        linear: &p,
        lower: &lower,
        upper: &upper,
    };
    let features = &data.features;
    let (solution, weights) = match options.solver {
        JointSolver::Block => {
            let q = PlainKernel(KernelMatrix::new(features, options.kernel));
            (
                solvers::solve_block(&q, &problem, &options.settings, progress)?,
                None,
            )
        }
        JointSolver::InteriorPoint => {
            let q = PlainKernel(KernelMatrix::new(features, options.kernel));
            (
                solvers::solve_block_ip(&q, &problem, &options.settings, progress)?,
                None,
            )
        }
        JointSolver::BlockLinear => {
            let rows = SolverRows::new(features)?;
            let csr = rows.csr()?;
            let s = solvers::solve_block_linear(&csr, &problem, &options.settings, progress)?;
            let d = features.n_cols();
            let w: Vec<Vec<f64>> = (0..k)
                .map(|m| (0..d).map(|j| s.w[j * k + m]).collect())
                .collect();
            (s, Some(w))
        }
    };
    let support_vectors = if weights.is_some() {
        Vec::new()
    } else {
        (0..data.len())
            .filter(|&i| solution.alpha[i * k..(i + 1) * k].iter().any(|&a| a != 0.0))
            .map(|i| {
                let (indices, values) = match features.row(i) {
                    Row::Sparse { indices, values } => (indices.to_vec(), values.to_vec()),
                    Row::Dense(v) => v
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| **x != 0.0)
                        .map(|(j, x)| (j as u32, *x))
                        .unzip(),
                };
                JointSupportVector {
                    index: Some(i),
                    coef: solution.alpha[i * k..(i + 1) * k].to_vec(),
                    indices,
                    values,
                }
            })
            .collect()
    };
    Ok(JointTrained {
        model: JointModel {
            schema_version: JOINT_SCHEMA_VERSION,
            method: options.method,
            classes,
            c: options.c,
            kernel: options.kernel,
            n_features: features.n_cols(),
            weights,
            support_vectors,
        },
        solver: options.solver,
        class_of,
        status: solution.status,
        iterations: solution.iterations,
        dual_objective: -solution.objective,
        max_violation: solution.max_violation,
        elapsed: solution.elapsed,
        alpha: solution.alpha,
    })
}

/// The solver and its settings, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointSolverReport {
    /// `block` or `block-linear`.
    pub name: JointSolver,
    /// Tolerance on the largest block violation.
    pub tol: f64,
    /// Iteration limit, `null` for none.
    pub max_iter: Option<u64>,
    /// Time limit in seconds, `null` for none.
    pub time_limit_seconds: Option<f64>,
    /// Column cache budget in MiB (block solver only).
    pub cache_mb: f64,
    /// Whether shrinking was on.
    pub shrinking: bool,
}

/// What was read, for a joint run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointInputReport {
    /// Path, checksum, format and size.
    #[serde(flatten)]
    pub data: DataSummary,
    /// The raw labels in order of first appearance.
    pub classes: Vec<f64>,
}

/// The report of a joint multiclass solve; see `docs/report.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointReport {
    /// [`crate::report::REPORT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// `crammer-singer` or `weston-watkins`.
    pub multiclass: JointMethod,
    /// What was read.
    pub input: JointInputReport,
    /// `C`.
    pub c: f64,
    /// The kernel, `gamma` resolved.
    pub kernel: Kernel,
    /// The solver and its settings.
    pub solver: JointSolverReport,
    /// How the solve ended.
    pub status: ReportStatus,
    /// Block steps or passes.
    pub iterations: u64,
    /// `D(α)` as the solver computed it.
    pub solver_dual_objective: f64,
    /// The solver's largest block violation at the end.
    pub solver_max_violation: f64,
    /// The verifier's certificate.
    pub certificate: JointCertificate,
    /// Wall times, seconds.
    pub timings_seconds: TimingsSeconds,
    /// Threads in the pool.
    pub threads: usize,
}

impl JointReport {
    /// Assembles the report.
    pub fn new(
        data: &Dataset,
        format: InputFormat,
        options: &JointOptions,
        trained: &JointTrained,
        certificate: JointCertificate,
        timings_seconds: TimingsSeconds,
        threads: usize,
    ) -> Self {
        let s = &options.settings;
        Self {
            schema_version: crate::report::REPORT_SCHEMA_VERSION,
            multiclass: options.method,
            input: JointInputReport {
                data: DataSummary::of(data, format),
                classes: trained.model.classes.clone(),
            },
            c: options.c,
            kernel: options.kernel,
            solver: JointSolverReport {
                name: trained.solver,
                tol: s.tol,
                max_iter: s.max_iter,
                time_limit_seconds: s.time_limit.map(|t| t.as_secs_f64()),
                cache_mb: s.cache_bytes as f64 / (1u64 << 20) as f64,
                shrinking: s.shrinking,
            },
            status: trained.status.into(),
            iterations: trained.iterations,
            solver_dual_objective: trained.dual_objective,
            solver_max_violation: trained.max_violation,
            certificate,
            timings_seconds,
            threads,
        }
    }

    /// The report as pretty-printed JSON, ending in a newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Dataset {
        let pts = [
            (0.0, 0.0, 5.0),
            (0.3, 0.2, 5.0),
            (3.0, 0.0, 7.0),
            (3.2, 0.4, 7.0),
            (0.0, 3.0, 2.0),
            (0.1, 3.3, 2.0),
            (1.5, 1.5, 7.0),
        ];
        let x: Vec<f64> = pts.iter().flat_map(|p| [p.0, p.1]).collect();
        let y: Vec<f64> = pts.iter().map(|p| p.2).collect();
        Dataset::new(Features::from_dense(x, pts.len(), 2), y).unwrap()
    }

    #[test]
    fn kernel_solves_are_certified_and_predict() {
        let data = blobs();
        for method in [JointMethod::CrammerSinger, JointMethod::WestonWatkins] {
            let options = JointOptions {
                method,
                c: 10.0,
                kernel: Kernel::Rbf { gamma: 0.5 },
                solver: JointSolver::Block,
                settings: SmoSettings {
                    tol: 1e-10,
                    ..SmoSettings::default()
                },
            };
            let t = train_joint(&data, &options, None).unwrap();
            assert_eq!(t.status, Status::Converged);
            let cert = t.certify(&data.features);
            assert!(cert.relative_gap < 1e-8, "{method:?} {cert:?}");
            assert!((cert.dual_objective - t.dual_objective).abs() < 1e-9);
            assert!(cert.kkt.max_violation <= 1e-9);
            assert_eq!(t.model.predict(&data.features), data.labels);
            t.model.check().unwrap();
        }
    }

    #[test]
    fn linear_solvers_agree() {
        let data = blobs();
        let base = JointOptions {
            method: JointMethod::CrammerSinger,
            c: 3.0,
            kernel: Kernel::Linear,
            solver: JointSolver::Block,
            settings: SmoSettings {
                tol: 1e-10,
                ..SmoSettings::default()
            },
        };
        let a = train_joint(&data, &base, None).unwrap();
        let b = train_joint(
            &data,
            &JointOptions {
                solver: JointSolver::BlockLinear,
                ..base.clone()
            },
            None,
        )
        .unwrap();
        let (ca, cb) = (a.certify(&data.features), b.certify(&data.features));
        assert!((ca.dual_objective - cb.dual_objective).abs() < 1e-8);
        assert!(cb.relative_gap < 1e-8);
        let (va, vb) = (
            a.model.decision_values(&data.features),
            b.model.decision_values(&data.features),
        );
        for (x, y) in va.iter().flatten().zip(vb.iter().flatten()) {
            assert!((x - y).abs() < 1e-6);
        }
        b.model.check().unwrap();
    }

    #[test]
    fn block_linear_needs_linear_kernel() {
        let o = JointOptions {
            method: JointMethod::WestonWatkins,
            c: 1.0,
            kernel: Kernel::Rbf { gamma: 1.0 },
            solver: JointSolver::BlockLinear,
            settings: SmoSettings::default(),
        };
        assert!(matches!(o.validate(), Err(TrainError::Option(_))));
    }
}
