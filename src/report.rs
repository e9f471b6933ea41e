//! The JSON report of one solve: what was read, what was solved, how the
//! solver ended and the verifier's certificate.
//!
//! [`Report`] is plain data with serde derives; [`Report::new`] assembles it
//! from the pieces of a run ([`Dataset`], [`TrainOptions`], [`Trained`],
//! [`Certificate`], [`Timings`]) and [`Report::to_json`] writes it as pretty
//! JSON. Every field is described, with its units, in `docs/report.md`. The
//! layout is versioned by [`REPORT_SCHEMA_VERSION`]: a field is never renamed
//! or given another meaning without bumping it.

use crate::data::Dataset;
use crate::formulation::{Formulation, Loss};
use crate::kernel::Kernel;
use crate::linear::LinearSolveInfo;
use crate::multiclass::{MulticlassStrategy, MulticlassTrained};
use crate::train::{SolverKind, TrainOptions, Trained};
use crate::verify::Certificate;
use serde::{Deserialize, Serialize};
use solvers::{SmoSettings, Status, WorkingSet};
use std::time::Duration;

/// The version of the JSON report schema written by this build.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Bytes in one mebibyte, the unit of `solver.cache_mb`.
const MIB: f64 = (1u64 << 20) as f64;

/// The file format the input was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// LIBSVM sparse text (`label index:value ...`).
    Libsvm,
    /// Comma- (or otherwise) separated values.
    Csv,
    /// Data held in memory, not read from a file.
    Memory,
}

/// The two raw labels and which one became `+1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelsReport {
    /// The raw label (as written in the file) mapped to `+1`: the first
    /// label seen.
    pub positive: f64,
    /// The raw label mapped to `−1`.
    pub negative: f64,
}

/// Where the data came from and its size, shared by every report's
/// `input` section (flattened: its fields sit directly in `input`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// The path as given on the command line; `None` for in-memory data.
    pub path: Option<String>,
    /// SHA-256 of the file's bytes, lower-case hex; `None` for in-memory
    /// data.
    pub sha256: Option<String>,
    /// The format the file was parsed as.
    pub format: InputFormat,
    /// Number of samples (rows).
    pub n_samples: usize,
    /// Number of features (columns).
    pub n_features: usize,
    /// Number of non-zero feature values.
    pub nnz: usize,
}

impl DataSummary {
    /// The summary of `data`, read as `format`.
    pub fn of(data: &Dataset, format: InputFormat) -> Self {
        Self {
            path: data.source.as_ref().map(|s| s.path.display().to_string()),
            sha256: data.source.as_ref().map(|s| s.sha256.clone()),
            format,
            n_samples: data.len(),
            n_features: data.features.n_cols(),
            nnz: data.features.nnz(),
        }
    }
}

/// The trained model on held-out data (`svm-dual solve --test FILE`): the
/// report's `test` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestEvaluation {
    /// Path, checksum, format and size of the test file.
    pub input: DataSummary,
    /// Test samples whose predicted label equals their label.
    pub correct: usize,
    /// `correct / n_samples` (0 for an empty file).
    pub accuracy: f64,
    /// Wall time of the predictions, in seconds.
    pub seconds: f64,
}

impl TestEvaluation {
    /// Compares `predicted` labels with `data`'s, read as `format`.
    pub fn new(data: &Dataset, format: InputFormat, predicted: &[f64], seconds: f64) -> Self {
        let correct = data.count_correct(predicted);
        Self {
            input: DataSummary::of(data, format),
            correct,
            accuracy: if data.is_empty() {
                0.0
            } else {
                correct as f64 / data.len() as f64
            },
            seconds,
        }
    }
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputReport {
    /// Path, checksum, format and size.
    #[serde(flatten)]
    pub data: DataSummary,
    /// The label mapping.
    pub labels: LabelsReport,
}

/// The cost weight of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassWeight {
    /// The raw label of the class.
    pub label: f64,
    /// The factor multiplying `C` for samples of this class.
    pub weight: f64,
}

/// The formulation solved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormulationReport {
    /// `l2` (squared hinge, the default) or `l1` (hinge).
    pub loss: Loss,
    /// The cost `C`.
    pub c: f64,
    /// One entry per class, the positive class first: `Cᵢ = C · weight`.
    pub weights: Vec<ClassWeight>,
    /// Whether the decision function has the unregularised bias `b`.
    pub bias: bool,
}

/// The solver and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolverReport {
    /// The solver's name (`smo`).
    pub name: String,
    /// The stopping tolerance on the maximal violation.
    pub tol: f64,
    /// The iteration limit; `None`: the solver's default (see
    /// `solvers::settings::default_iteration_limit`).
    pub max_iter: Option<u64>,
    /// The wall-time limit in seconds; `None`: none.
    pub time_limit_seconds: Option<f64>,
    /// The kernel column cache budget in MiB.
    pub cache_mb: f64,
    /// Whether shrinking was on.
    pub shrinking: bool,
    /// The working-set setting (`--working-set`): `auto`, `2` (one pair
    /// per iteration) or the batch size asked for.
    pub working_set: String,
}

impl SolverReport {
    /// The report of `solver` run with the shared `settings`.
    pub fn new(solver: SolverKind, settings: &SmoSettings) -> Self {
        Self {
            name: solver.name().into(),
            tol: settings.tol,
            max_iter: settings.max_iter,
            time_limit_seconds: settings.time_limit.map(|d| d.as_secs_f64()),
            cache_mb: settings.cache_bytes as f64 / MIB,
            shrinking: settings.shrinking,
            working_set: match settings.working_set {
                WorkingSet::Auto => "auto".into(),
                WorkingSet::Pairs => "2".into(),
                WorkingSet::Batched(size) => size.to_string(),
            },
        }
    }
}

/// How the solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// The solver's optimality measure fell to the tolerance.
    Converged,
    /// The iteration limit was reached first.
    MaxIterations,
    /// The time limit was reached first.
    TimeLimit,
    /// The solver found the dual objective unbounded along a feasible ray
    /// (possible only with a kernel that is not positive semidefinite, such
    /// as some sigmoid kernels).
    Unbounded,
    /// The run was interrupted (Ctrl-C); the iterate reached is reported
    /// and certified.
    Interrupted,
    /// The solver could make no further progress in floating point before
    /// its tolerance (the interior-point solver; SMO, when its steps fall
    /// below the iterate's rounding); the point reached is reported and
    /// certified.
    Stalled,
}

impl From<Status> for ReportStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Converged => ReportStatus::Converged,
            Status::MaxIterations => ReportStatus::MaxIterations,
            Status::TimeLimit => ReportStatus::TimeLimit,
            Status::Unbounded => ReportStatus::Unbounded,
            Status::Interrupted => ReportStatus::Interrupted,
            Status::Stalled => ReportStatus::Stalled,
        }
    }
}

impl ReportStatus {
    /// The name written in the report (`converged`, `max_iterations`,
    /// `time_limit`, `unbounded`, `interrupted`, `stalled`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Converged => "converged",
            ReportStatus::MaxIterations => "max_iterations",
            ReportStatus::TimeLimit => "time_limit",
            ReportStatus::Unbounded => "unbounded",
            ReportStatus::Interrupted => "interrupted",
            ReportStatus::Stalled => "stalled",
        }
    }
}

/// Wall times of the phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timings {
    /// Reading and parsing the input.
    pub load: Duration,
    /// Training: setting up the dual and running the solver.
    pub solve: Duration,
    /// Computing the certificate.
    pub verify: Duration,
    /// The whole run, from start to the report.
    pub total: Duration,
}

/// [`Timings`] in seconds, as written in the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimingsSeconds {
    /// Reading and parsing the input, in seconds.
    pub load: f64,
    /// Training (dual setup and solver), in seconds.
    pub solve: f64,
    /// Computing the certificate, in seconds.
    pub verify: f64,
    /// The whole run, in seconds.
    pub total: f64,
}

impl From<Timings> for TimingsSeconds {
    fn from(t: Timings) -> Self {
        Self {
            load: t.load.as_secs_f64(),
            solve: t.solve.as_secs_f64(),
            verify: t.verify.as_secs_f64(),
            total: t.total.as_secs_f64(),
        }
    }
}

/// The report of one solve. See `docs/report.md` for the field table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// What was read.
    pub input: InputReport,
    /// The formulation solved.
    pub formulation: FormulationReport,
    /// The kernel with its parameters, `gamma` resolved (serialised as
    /// `{"type": "rbf", "gamma": ...}` and so on).
    pub kernel: Kernel,
    /// The solver and its settings.
    pub solver: SolverReport,
    /// How the solve ended.
    pub status: ReportStatus,
    /// Solver iterations (two-variable steps for SMO).
    pub iterations: u64,
    /// Wall times of the phases, in seconds.
    pub timings_seconds: TimingsSeconds,
    /// Threads in the pool that ran load, solve and verify.
    pub threads: usize,
    /// The verifier's certificate, computed independently of the solver.
    pub certificate: Certificate,
    /// The bias `b` of the decision function (0 without bias).
    pub bias: f64,
    /// The solver's own maximal violation at the end.
    pub solver_max_violation: f64,
    /// The dual objective `Σαᵢ − ½αᵀQα` as the solver tracked it.
    pub solver_dual_objective: f64,
    /// Support vectors (`αᵢ > 0`), from the certificate.
    pub n_sv: usize,
    /// Support vectors at the upper bound `Cᵢ` (L1 only), from the
    /// certificate.
    pub n_bounded_sv: usize,
    /// Fraction of training samples classified correctly, from the
    /// certificate.
    pub training_accuracy: f64,
    /// What the linear CD solver reports of itself (bias mode, ‖w‖, nonzeros
    /// of w, its own stopping measure); `null` for the kernel solvers.
    pub linear: Option<LinearSolveInfo>,
    /// The model the solve started from (`--init`); `null` for a cold
    /// start from `α = 0`.
    #[serde(default)]
    pub warm_start: Option<WarmStartReport>,
}

/// The starting point of a warm-started solve (`solve --init`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmStartReport {
    /// The model file, as given.
    pub path: String,
    /// Its support vectors, each matched to a row of the data.
    pub support_vectors: usize,
}

impl Report {
    /// Assembles the report of training `data` with `options` into
    /// `trained`, certified by `certificate`, on `threads` threads.
    /// `format` says how the input was parsed; the path and SHA-256 come
    /// from `data.source`.
    pub fn new(
        data: &Dataset,
        format: InputFormat,
        options: &TrainOptions,
        trained: &Trained,
        certificate: &Certificate,
        timings: Timings,
        threads: usize,
    ) -> Self {
        let f: &Formulation = &options.formulation;
        let labels = &trained.labels;
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            input: InputReport {
                data: DataSummary::of(data, format),
                labels: LabelsReport {
                    positive: labels.positive,
                    negative: labels.negative,
                },
            },
            formulation: FormulationReport {
                loss: f.loss,
                c: f.c,
                weights: vec![
                    ClassWeight {
                        label: labels.positive,
                        weight: f.weight_positive,
                    },
                    ClassWeight {
                        label: labels.negative,
                        weight: f.weight_negative,
                    },
                ],
                bias: f.bias,
            },
            kernel: trained.model.kernel,
            solver: SolverReport::new(SolverKind::Smo, &options.smo),
            status: trained.summary.status.into(),
            iterations: trained.summary.iterations,
            timings_seconds: timings.into(),
            threads,
            certificate: certificate.clone(),
            bias: trained.model.bias,
            solver_max_violation: trained.summary.max_violation,
            solver_dual_objective: trained.summary.dual_objective,
            n_sv: certificate.n_sv,
            n_bounded_sv: certificate.n_bounded_sv,
            training_accuracy: certificate.training_accuracy,
            linear: None,
            warm_start: None,
        }
    }

    /// The report as pretty-printed JSON, ending in a newline. Non-finite
    /// numbers (which a healthy run does not produce) are written as `null`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }
}

/// One binary sub-problem of a multiclass run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubproblemReport {
    /// The raw label of the class mapped to `+1`.
    pub positive: f64,
    /// The raw label of the class mapped to `−1` (one-vs-one); `null`:
    /// every other class (one-vs-rest).
    pub negative: Option<f64>,
    /// Rows of the sub-problem.
    pub n_samples: usize,
    /// How its solve ended.
    pub status: ReportStatus,
    /// Solver iterations.
    pub iterations: u64,
    /// Wall time of its solve, in seconds.
    pub solve_seconds: f64,
    /// The bias `b` of its decision function.
    pub bias: f64,
    /// The dual objective as the solver tracked it.
    pub solver_dual_objective: f64,
    /// The verifier's certificate on the sub-problem's own rows.
    pub certificate: Certificate,
}

/// The report of a multiclass solve (one-vs-one or one-vs-rest). See
/// `docs/report.md` for the field table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassReport {
    /// [`REPORT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// How the problem was split (`ovo` or `ovr`); its presence tells a
    /// multiclass report from a binary [`Report`].
    pub multiclass: MulticlassStrategy,
    /// What was read; `input.classes` lists the raw labels in order of
    /// first appearance (the class order of the sub-problems).
    pub input: MulticlassInputReport,
    /// The formulation of every sub-problem (`weights` is empty: no class
    /// weights in multiclass runs).
    pub formulation: FormulationReport,
    /// The kernel, `gamma` resolved on the whole training set.
    pub kernel: Kernel,
    /// The solver and its settings (the limits apply per sub-problem).
    pub solver: SolverReport,
    /// `converged` when every sub-problem converged, else the status of the
    /// first one that did not.
    pub status: ReportStatus,
    /// The sub-problems, in training order.
    pub subproblems: Vec<SubproblemReport>,
    /// The largest relative duality gap among the sub-problems; NaN
    /// (`null` in JSON) when one of them has none.
    pub worst_relative_gap: f64,
    /// Iterations summed over the sub-problems.
    pub total_iterations: u64,
    /// Wall times of the phases, in seconds (`solve` covers training and
    /// certifying all sub-problems, `verify` the multiclass training
    /// accuracy).
    pub timings_seconds: TimingsSeconds,
    /// Threads in the pool.
    pub threads: usize,
    /// Fraction of training samples the multiclass model classifies
    /// correctly.
    pub training_accuracy: f64,
}

/// What was read, for a multiclass run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassInputReport {
    /// Path, checksum, format and size.
    #[serde(flatten)]
    pub data: DataSummary,
    /// The raw labels in order of first appearance.
    pub classes: Vec<f64>,
}

impl MulticlassReport {
    /// Assembles the report of training `data` with `options` and `solver`
    /// into `trained`, whose model classifies a fraction
    /// `training_accuracy` of `data` correctly.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        data: &Dataset,
        format: InputFormat,
        options: &TrainOptions,
        solver: SolverKind,
        trained: &MulticlassTrained,
        training_accuracy: f64,
        timings: Timings,
        threads: usize,
    ) -> Self {
        let classes = &trained.model.classes;
        let subproblems: Vec<SubproblemReport> = trained
            .subproblems
            .iter()
            .zip(&trained.model.submodels)
            .map(|(s, m)| SubproblemReport {
                positive: classes[s.positive],
                negative: s.negative.map(|j| classes[j]),
                n_samples: s.n_samples,
                status: s.summary.status.into(),
                iterations: s.summary.iterations,
                solve_seconds: s.summary.elapsed.as_secs_f64(),
                bias: m.bias,
                solver_dual_objective: s.summary.dual_objective,
                certificate: s.certificate.clone(),
            })
            .collect();
        let status = subproblems
            .iter()
            .map(|s| s.status)
            .find(|s| *s != ReportStatus::Converged)
            .unwrap_or(ReportStatus::Converged);
        let f = &options.formulation;
        Self {
            schema_version: REPORT_SCHEMA_VERSION,
            multiclass: trained.model.strategy,
            input: MulticlassInputReport {
                data: DataSummary::of(data, format),
                classes: classes.clone(),
            },
            formulation: FormulationReport {
                loss: f.loss,
                c: f.c,
                weights: Vec::new(),
                bias: f.bias,
            },
            kernel: options.kernel,
            solver: SolverReport::new(solver, &options.smo),
            status,
            total_iterations: subproblems.iter().map(|s| s.iterations).sum(),
            subproblems,
            worst_relative_gap: trained.worst_relative_gap(),
            timings_seconds: timings.into(),
            threads,
            training_accuracy,
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

    #[test]
    fn status_names_match_the_solver() {
        for s in [
            Status::Converged,
            Status::MaxIterations,
            Status::TimeLimit,
            Status::Unbounded,
            Status::Interrupted,
        ] {
            let r = ReportStatus::from(s);
            assert_eq!(r.as_str(), s.as_str());
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
    }

    #[test]
    fn solver_report_converts_units() {
        let settings = SmoSettings {
            time_limit: Some(Duration::from_millis(1500)),
            max_iter: Some(7),
            ..Default::default()
        };
        let r = SolverReport::new(SolverKind::Smo, &settings);
        assert_eq!(r.cache_mb, 200.0);
        assert_eq!(r.time_limit_seconds, Some(1.5));
        assert_eq!(r.max_iter, Some(7));
        assert!(r.shrinking);
    }

    #[test]
    fn built_from_a_run_and_round_trips() {
        use crate::data::{Features, Source};
        use crate::formulation::Formulation;
        use crate::train::train;

        let x = Features::from_dense(vec![0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 3.0], 4, 2);
        let mut data = Dataset::new(x, vec![3.0, 3.0, 7.0, 7.0]).unwrap();
        data.source = Some(Source {
            path: "four.txt".into(),
            sha256: "ab".repeat(32),
        });
        let options = TrainOptions {
            formulation: Formulation {
                loss: Loss::L1,
                c: 10.0,
                weight_negative: 2.0,
                ..Default::default()
            },
            kernel: Kernel::Rbf { gamma: 0.5 },
            smo: SmoSettings {
                max_iter: Some(1000),
                ..Default::default()
            },
        };
        let trained = train(&data, &options, None).unwrap();
        let cert = crate::certify(&data.features, &trained);
        let timings = Timings {
            load: Duration::from_millis(1),
            solve: Duration::from_millis(2),
            verify: Duration::from_millis(3),
            total: Duration::from_millis(7),
        };
        let report = Report::new(
            &data,
            InputFormat::Libsvm,
            &options,
            &trained,
            &cert,
            timings,
            2,
        );

        assert_eq!(report.schema_version, REPORT_SCHEMA_VERSION);
        assert_eq!(report.input.data.path.as_deref(), Some("four.txt"));
        assert_eq!(
            (report.input.data.n_samples, report.input.data.n_features),
            (4, 2)
        );
        assert_eq!(report.input.data.nnz, 5);
        assert_eq!(
            report.input.labels,
            LabelsReport {
                positive: 3.0,
                negative: 7.0
            }
        );
        assert_eq!(
            report.formulation.weights,
            vec![
                ClassWeight {
                    label: 3.0,
                    weight: 1.0
                },
                ClassWeight {
                    label: 7.0,
                    weight: 2.0
                }
            ]
        );
        assert_eq!(report.solver.max_iter, Some(1000));
        assert_eq!(report.status, ReportStatus::from(trained.summary.status));
        assert_eq!(report.timings_seconds.total, 0.007);
        assert_eq!(report.threads, 2);
        assert_eq!(report.bias, trained.model.bias);
        assert_eq!(report.solver_dual_objective, trained.summary.dual_objective);
        assert_eq!(report.n_sv, cert.n_sv);
        assert_eq!(report.training_accuracy, cert.training_accuracy);

        let json = report.to_json().unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = [
            "schema_version",
            "input",
            "formulation",
            "kernel",
            "solver",
            "status",
            "iterations",
            "timings_seconds",
            "threads",
            "certificate",
            "bias",
            "solver_max_violation",
            "solver_dual_objective",
            "n_sv",
            "n_bounded_sv",
            "training_accuracy",
            "linear",
            "warm_start",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(v["kernel"]["type"], "rbf");
        assert_eq!(v["input"]["format"], "libsvm");
        assert_eq!(v["formulation"]["loss"], "l1");
    }
}
