//! Multiclass SVMs from binary ones: one-vs-one (OvO) and one-vs-rest (OvR)
//! with any kernel, their prediction, and their JSON model files.
//!
//! # Classes
//! The `k` classes are the distinct raw labels in order of first appearance
//! in the training data ([`Dataset::classes`]), as LIBSVM orders them for
//! `k > 2` (LIBSVM ≥ 3.18 swaps only a binary `−1, +1` pair; see
//! [`crate::data::BinaryLabels`]).
//!
//! # One-vs-one (Knerr et al. 1990; Hsu & Lin 2002; LIBSVM's `c_svc`)
//! One binary problem per pair `(i, j)`, `i < j`, in the order
//! `(0,1), (0,2), …, (0,k−1), (1,2), …`, trained on the rows of classes `i`
//! and `j` only, class `i` as `+1`. Its decision value is
//! `f_ij(x) = Σ αₛyₛ K(xₛ, x) + b_ij` over its own support vectors.
//! Prediction by voting (LIBSVM's rule, `svm_predict_values`): `f_ij(x) > 0`
//! is a vote for `i`, otherwise for `j`; the class with the most votes wins,
//! a tie going to the smallest class index.
//!
//! # One-vs-rest (Rifkin & Klautau, JMLR 5, 2004)
//! One binary problem per class `i` on all rows, class `i` as `+1` and every
//! other class as `−1`; the prediction is the class with the largest
//! `f_i(x)`, a tie going to the smallest class index.
//!
//! Every sub-problem is the dual QP of [`crate::formulation`] with the same
//! loss, `C`, kernel (γ resolved once on the whole training set, LIBSVM's
//! `1/number of features` of the whole file) and solver settings. The
//! iteration limit applies to each sub-problem on its own; the time limit
//! to the whole model: it sets one deadline when training starts, and each
//! sub-problem's solver gets only the time left until it when it starts
//! (none once it has passed: such a sub-problem stops before its first
//! iteration with [`solvers::Status::TimeLimit`]). Each is certified
//! ([`crate::certify`]) on its own rows.
//!
//! # Parallelism
//! The sub-problems are trained with rayon's `par_iter` and collected in pair
//! order. Every solve and every certificate is deterministic whatever the
//! pool size (nested rayon inside a solve included), so the models, the
//! certificates and the predictions are bit-identical for any thread count.
//! (A time limit that is reached ends sub-problems at a moment that depends
//! on the machine and the pool, as it does for a binary solve.)
//! Prediction computes each sub-model's decision values per row
//! independently.
//!
//! # JSON
//! A [`MulticlassModel`] is written as one JSON object with its own
//! `schema_version` ([`MULTICLASS_SCHEMA_VERSION`]), the `strategy`, the
//! `classes` and the binary `submodels` (each a [`Model`] as in
//! [`crate::model_io`]). [`read_any_json`] tells the two kinds of file apart
//! by the `submodels` key and returns an [`AnyModel`]; the binary API of
//! [`crate::model_io`] is unchanged.
//!
//! # LIBSVM text
//! One-vs-one models are also read from and written to LIBSVM's text
//! format, so `svm-predict` runs our models and we run `svm-train`'s
//! ([`ovo_from_libsvm`], [`write_libsvm_ovo`]; the layout is stated at
//! [`LibsvmFile`]). In that format each support vector is stored once with
//! one coefficient per other class, so the writer merges a training row's
//! entries from all pairs; the reader splits them again.

use crate::data::{Dataset, Features, Row};
use crate::kernel::Kernel;
use crate::model::{LabelMapping, Model, SupportVector};
use crate::model_io::{
    self, LibsvmFile, LibsvmWriteError, ModelError, ModelErrorKind, ModelFormat,
};
use crate::train::{SolveSummary, SolverKind, TrainError, TrainOptions};
use crate::verify::Certificate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The version of the multiclass JSON model schema written by this build.
pub const MULTICLASS_SCHEMA_VERSION: u32 = 1;

/// How a multiclass problem is split into binary ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MulticlassStrategy {
    /// One-vs-one: `k(k−1)/2` problems, prediction by voting.
    Ovo,
    /// One-vs-rest: `k` problems, prediction by the largest decision value.
    Ovr,
}

impl MulticlassStrategy {
    /// `ovo` or `ovr`.
    pub fn name(self) -> &'static str {
        match self {
            MulticlassStrategy::Ovo => "ovo",
            MulticlassStrategy::Ovr => "ovr",
        }
    }

    /// The binary problems for `k` classes, in order: `(i, Some(j))` for OvO
    /// (class `i` against class `j`), `(i, None)` for OvR (class `i` against
    /// the rest).
    pub fn pairs(self, k: usize) -> Vec<(usize, Option<usize>)> {
        match self {
            MulticlassStrategy::Ovo => (0..k)
                .flat_map(|i| (i + 1..k).map(move |j| (i, Some(j))))
                .collect(),
            MulticlassStrategy::Ovr => (0..k).map(|i| (i, None)).collect(),
        }
    }

    /// The number of binary problems for `k` classes (`k(k−1)/2` for OvO,
    /// `k` for OvR), `None` on overflow; computed without building
    /// [`MulticlassStrategy::pairs`].
    pub fn n_problems(self, k: usize) -> Option<usize> {
        match self {
            MulticlassStrategy::Ovo => k.checked_mul(k.saturating_sub(1)).map(|n| n / 2),
            MulticlassStrategy::Ovr => Some(k),
        }
    }
}

/// A multiclass SVM: the classes and one binary model per sub-problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassModel {
    /// [`MULTICLASS_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// How the problem was split.
    pub strategy: MulticlassStrategy,
    /// The raw labels, in order of first appearance in the training data.
    pub classes: Vec<f64>,
    /// One binary model per sub-problem, in the order of
    /// [`MulticlassStrategy::pairs`]. For OvO pair `(i, j)` its labels are
    /// `classes[i]` (positive) and `classes[j]`; for OvR class `i` the
    /// positive label is `classes[i]` and the negative one stands for "the
    /// rest" (it holds the first other class; prediction does not use it).
    pub submodels: Vec<Model>,
}

impl MulticlassModel {
    /// Decision values, one vector per row of `features`, holding one value
    /// per sub-model in the order of [`MulticlassModel::submodels`].
    ///
    /// Sub-models share support vectors (OvO: the rows of a class appear in
    /// `k − 1` pairs), so when every support vector records its training row
    /// and all sub-models have the same kernel, each `K(xₛ, x)` is computed
    /// once per row and reused, as `svm-predict` does. The sums run in the
    /// same order as [`Model::decision_value`], so the values are
    /// bit-identical to evaluating each sub-model on its own (the fallback).
    /// With the linear kernel each sub-model's `w` is formed once instead
    /// ([`Model::decision_function`]).
    pub fn decision_values(&self, features: &Features) -> Vec<Vec<f64>> {
        // The linear kernel: each sub-model's w (Model::decision_function).
        let shared = if self.submodels.iter().all(|m| m.kernel == Kernel::Linear) {
            None
        } else {
            self.shared_support_vectors()
        };
        match shared {
            Some((unique, positions)) => {
                let kernel = self.submodels[0].kernel;
                let sums = |k: &[f64]| -> Vec<f64> {
                    self.submodels
                        .iter()
                        .zip(&positions)
                        .map(|(m, pos)| {
                            let sum: f64 = m
                                .support_vectors
                                .iter()
                                .zip(pos)
                                .map(|(sv, &p)| sv.coef * k[p])
                                .sum();
                            sum + m.bias
                        })
                        .collect()
                };
                // The kernel values by panels where the width allows
                // (`crate::model::kernel_rows`, the same values to the bit).
                let rows: Vec<Row<'_>> = unique.iter().map(|sv| sv.row()).collect();
                if let Some(values) =
                    crate::model::kernel_rows(features, kernel, &rows, |_, k| sums(k))
                {
                    return values;
                }
                (0..features.n_rows())
                    .into_par_iter()
                    .map(|r| {
                        let x = features.row(r);
                        let sq_x = if kernel.needs_norms() {
                            x.squared_norm()
                        } else {
                            0.0
                        };
                        let k: Vec<f64> = unique
                            .iter()
                            .map(|sv| {
                                let row = sv.row();
                                let sq_sv = if kernel.needs_norms() {
                                    row.squared_norm()
                                } else {
                                    0.0
                                };
                                kernel.from_dot(row.dot(&x), sq_sv, sq_x)
                            })
                            .collect();
                        sums(&k)
                    })
                    .collect()
            }
            None => {
                let per_model: Vec<Vec<f64>> = self
                    .submodels
                    .iter()
                    .map(|m| m.decision_function(features))
                    .collect();
                (0..features.n_rows())
                    .map(|r| per_model.iter().map(|v| v[r]).collect())
                    .collect()
            }
        }
    }

    /// The distinct support vectors (by training row) and, for each
    /// sub-model, the position of each of its support vectors among them;
    /// `None` when a support vector has no recorded row, two with the same
    /// row differ, or the kernels differ.
    fn shared_support_vectors(&self) -> Option<(Vec<&SupportVector>, Vec<Vec<usize>>)> {
        let kernel = self.submodels.first()?.kernel;
        let mut unique: Vec<&SupportVector> = Vec::new();
        let mut by_row: HashMap<usize, usize> = HashMap::new();
        let mut positions = Vec::with_capacity(self.submodels.len());
        for m in &self.submodels {
            if m.kernel != kernel {
                return None;
            }
            let mut pos = Vec::with_capacity(m.support_vectors.len());
            for sv in &m.support_vectors {
                let row = sv.index?;
                let p = *by_row.entry(row).or_insert_with(|| {
                    unique.push(sv);
                    unique.len() - 1
                });
                let first = unique[p];
                if first.indices != sv.indices || first.values != sv.values {
                    return None;
                }
                pos.push(p);
            }
            positions.push(pos);
        }
        Some((unique, positions))
    }

    /// The predicted class index for one row's decision values (as returned
    /// by [`MulticlassModel::decision_values`]), with the rules of the
    /// module doc.
    pub fn predict_index(&self, values: &[f64]) -> usize {
        let k = self.classes.len();
        let scores: Vec<f64> = match self.strategy {
            MulticlassStrategy::Ovo => {
                let mut votes = vec![0.0; k];
                for (&(i, j), &f) in self.strategy.pairs(k).iter().zip(values) {
                    if f > 0.0 {
                        votes[i] += 1.0;
                    } else if let Some(j) = j {
                        votes[j] += 1.0;
                    }
                }
                votes
            }
            MulticlassStrategy::Ovr => values.to_vec(),
        };
        let mut best = 0;
        for (c, &s) in scores.iter().enumerate() {
            if s > scores[best] {
                best = c;
            }
        }
        best
    }

    /// Predicted raw labels.
    pub fn predict(&self, features: &Features) -> Vec<f64> {
        self.decision_values(features)
            .iter()
            .map(|v| self.classes[self.predict_index(v)])
            .collect()
    }

    /// Checks the values: schema version, distinct finite classes (at least
    /// two), one sub-model per sub-problem with the expected positive label,
    /// and each sub-model valid ([`model_io::check_model`]).
    pub fn check(&self) -> Result<(), String> {
        if self.schema_version != MULTICLASS_SCHEMA_VERSION {
            return Err(format!(
                "multiclass schema_version {} is not supported (this build reads version \
                 {MULTICLASS_SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        let k = self.classes.len();
        if k < 2 {
            return Err(format!("a multiclass model needs two classes, got {k}"));
        }
        // Sorted copy: O(k log k), not a pairwise scan (k comes from the file).
        if let Some(c) = self.classes.iter().find(|c| !c.is_finite()) {
            return Err(format!("classes must be distinct finite numbers, got {c}"));
        }
        let mut sorted = self.classes.clone();
        sorted.sort_by(f64::total_cmp);
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "classes must be distinct finite numbers, got {} twice",
                w[0]
            ));
        }
        // Compare the counts before building the pairs: k(k−1)/2 of them
        // for a file listing many classes but few submodels would be a huge
        // allocation.
        let needed = self.strategy.n_problems(k);
        if needed != Some(self.submodels.len()) {
            return Err(format!(
                "{} classes with strategy {} need {} submodels, got {}",
                k,
                self.strategy.name(),
                needed.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
                self.submodels.len()
            ));
        }
        let pairs = self.strategy.pairs(k);
        for (s, (&(i, j), m)) in pairs.iter().zip(&self.submodels).enumerate() {
            model_io::check_model(m).map_err(|e| format!("submodel {s}: {e}"))?;
            let expected_negative = j.map(|j| self.classes[j]);
            if m.labels.positive != self.classes[i]
                || expected_negative.is_some_and(|n| n != m.labels.negative)
            {
                return Err(format!(
                    "submodel {s}: labels {} / {} do not match the classes of its sub-problem",
                    m.labels.positive, m.labels.negative
                ));
            }
        }
        Ok(())
    }
}

/// One binary sub-problem as trained.
#[derive(Debug, Clone)]
pub struct SubProblem {
    /// The class index mapped to `+1`.
    pub positive: usize,
    /// The class index mapped to `−1` (OvO), or `None`: every other class
    /// (OvR).
    pub negative: Option<usize>,
    /// Rows of the sub-problem.
    pub n_samples: usize,
    /// How the solve ended.
    pub summary: SolveSummary,
    /// The certificate on the sub-problem's own rows.
    pub certificate: Certificate,
    /// The dual solution, one entry per row of the sub-problem.
    pub alpha: Vec<f64>,
}

/// A trained multiclass model with every sub-problem's solve and
/// certificate.
#[derive(Debug, Clone)]
pub struct MulticlassTrained {
    /// The model.
    pub model: MulticlassModel,
    /// The sub-problems, in the order of [`MulticlassModel::submodels`].
    pub subproblems: Vec<SubProblem>,
}

impl MulticlassTrained {
    /// The largest relative duality gap among the sub-problems; NaN when
    /// a sub-problem's gap is NaN (an iterate without a finite
    /// certificate, e.g. after divergence on a kernel that is not positive
    /// semidefinite), so that no such sub-problem is passed over.
    pub fn worst_relative_gap(&self) -> f64 {
        worst_gap(self.subproblems.iter().map(|s| s.certificate.relative_gap))
    }
}

/// The largest of `gaps` (0 for none), NaN if any is NaN: `f64::max`
/// alone would drop a NaN.
fn worst_gap(gaps: impl Iterator<Item = f64>) -> f64 {
    let mut worst = 0.0_f64;
    for g in gaps {
        if g.is_nan() {
            return f64::NAN;
        }
        worst = worst.max(g);
    }
    worst
}

/// The rows `rows` of `data` with labels `labels` (one per row), features
/// keeping `data`'s number of columns.
pub fn sub_dataset(
    data: &Dataset,
    rows: &[usize],
    labels: Vec<f64>,
) -> Result<Dataset, TrainError> {
    let sparse: Vec<Vec<(u32, f64)>> = rows
        .iter()
        .map(|&r| match data.features.row(r) {
            Row::Sparse { indices, values } => indices
                .iter()
                .copied()
                .zip(values.iter().copied())
                .collect(),
            Row::Dense(v) => v
                .iter()
                .enumerate()
                .filter(|(_, x)| **x != 0.0)
                .map(|(k, &x)| (k as u32, x))
                .collect(),
        })
        .collect();
    let features = Features::from_sparse_rows(&sparse, data.features.n_cols());
    Ok(Dataset::new(features, labels)?)
}

/// Trains a multiclass SVM with `strategy`, each sub-problem with
/// [`crate::train::train_with`] and `solver` (SMO or PG; CD is refused) and certified on
/// its own rows. Fewer than two classes is an error.
pub fn train_multiclass(
    data: &Dataset,
    options: &TrainOptions,
    strategy: MulticlassStrategy,
    solver: SolverKind,
) -> Result<MulticlassTrained, TrainError> {
    train_multiclass_cancellable(data, options, strategy, solver, None, None)
}

/// The rows of each sub-problem of `strategy` on `data` (in the order of
/// [`MulticlassStrategy::pairs`] over [`Dataset::classes`]), ascending, with
/// `yᵢ = +1` for the sub-problem's positive class and `−1` otherwise.
pub fn subproblem_rows(
    data: &Dataset,
    strategy: MulticlassStrategy,
) -> Vec<(Vec<usize>, Vec<f64>)> {
    let classes = data.classes();
    let class_of: Vec<usize> = data
        .labels
        .iter()
        .map(|l| classes.iter().position(|c| c == l).unwrap_or(0))
        .collect();
    strategy
        .pairs(classes.len())
        .iter()
        .map(|&(i, j)| {
            class_of
                .iter()
                .enumerate()
                .filter(|(_, &c)| j.is_none() || c == i || Some(c) == j)
                .map(|(r, &c)| (r, if c == i { 1.0 } else { -1.0 }))
                .unzip()
        })
        .collect()
}

/// [`train_multiclass`] from starting points and with cooperative
/// cancellation. `initial`, when given, holds one `α` per sub-problem, over
/// its rows as [`subproblem_rows`] lists them (e.g. rebuilt from a saved
/// model to resume it). Every sub-problem's solver polls `cancel` and stops
/// with `Status::Interrupted` once it is set (sub-problems not yet started
/// stop at once).
pub fn train_multiclass_cancellable(
    data: &Dataset,
    options: &TrainOptions,
    strategy: MulticlassStrategy,
    solver: SolverKind,
    initial: Option<&[Vec<f64>]>,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<MulticlassTrained, TrainError> {
    if solver == SolverKind::Cd {
        return Err(TrainError::Option(
            "one-vs-one runs the kernel solvers (smo or pg), not cd; cd applies to one-vs-rest \
             with the linear kernel (--multiclass ovr --kernel linear; \
             linear::train_one_vs_rest in the library)"
                .into(),
        ));
    }
    let classes = data.classes();
    if classes.len() < 2 {
        // binary_labels names the single class and the file.
        data.binary_labels()?;
    }
    let pairs = strategy.pairs(classes.len());
    let sub_rows = subproblem_rows(data, strategy);
    if let Some(init) = initial {
        if init.len() != pairs.len() {
            return Err(TrainError::Option(format!(
                "{} starting points for {} sub-problems",
                init.len(),
                pairs.len()
            )));
        }
    }
    // One deadline for all the sub-problems (see the module doc).
    let deadline = crate::train::deadline_after(options.smo.time_limit);
    let results: Vec<Result<(Model, SubProblem), TrainError>> = pairs
        .par_iter()
        .zip(sub_rows)
        .enumerate()
        .map(|(k, (&(i, j), (rows, y)))| {
            let sub = sub_dataset(data, &rows, y)?;
            let mut options = options.clone();
            options.smo.time_limit = crate::train::time_left(deadline, options.smo.time_limit);
            let options = &options;
            let control = crate::train::SolveControl {
                cancel,
                initial: initial.map(|v| v[k].as_slice()),
                ..Default::default()
            };
            let trained = crate::train::train_controlled(&sub, options, solver, control)?;
            let certificate = crate::certify(&sub.features, &trained);
            let mut model = trained.model;
            model.labels = LabelMapping {
                positive: classes[i],
                negative: classes[j.unwrap_or(rest_index(i))],
            };
            // Support-vector indices refer to rows of the whole training set.
            for sv in &mut model.support_vectors {
                sv.index = sv.index.and_then(|s| rows.get(s).copied());
            }
            Ok((
                model,
                SubProblem {
                    positive: i,
                    negative: j,
                    n_samples: rows.len(),
                    summary: trained.summary,
                    certificate,
                    alpha: trained.alpha,
                },
            ))
        })
        .collect();
    let mut submodels = Vec::with_capacity(results.len());
    let mut subproblems = Vec::with_capacity(results.len());
    for r in results {
        let (m, s) = r?;
        submodels.push(m);
        subproblems.push(s);
    }
    Ok(MulticlassTrained {
        model: MulticlassModel {
            schema_version: MULTICLASS_SCHEMA_VERSION,
            strategy,
            classes,
            submodels,
        },
        subproblems,
    })
}

/// The class index a one-vs-rest sub-model for class `i` records as its
/// negative label, standing for "the rest": the first other class.
pub(crate) fn rest_index(i: usize) -> usize {
    if i == 0 {
        1
    } else {
        0
    }
}

/// A binary or a multiclass model.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyModel {
    /// A binary model.
    Binary(Model),
    /// A multiclass model.
    Multiclass(MulticlassModel),
    /// A joint multiclass model (Crammer–Singer or Weston–Watkins).
    Joint(crate::multiclass_dual::JointModel),
}

impl AnyModel {
    /// Whether every number the model predicts with is finite (see
    /// [`Model::is_finite`]).
    pub fn is_finite(&self) -> bool {
        match self {
            AnyModel::Binary(m) => m.is_finite(),
            AnyModel::Multiclass(m) => m.submodels.iter().all(Model::is_finite),
            AnyModel::Joint(m) => m.is_finite(),
        }
    }

    /// Predicted raw labels.
    pub fn predict(&self, features: &Features) -> Vec<f64> {
        match self {
            AnyModel::Binary(m) => m.predict(features),
            AnyModel::Multiclass(m) => m.predict(features),
            AnyModel::Joint(m) => m.predict(features),
        }
    }
}

/// The model as pretty JSON with a final newline (a binary model exactly as
/// [`model_io::write_json`] writes it).
pub fn write_any_json(model: &AnyModel) -> Result<String, serde_json::Error> {
    match model {
        AnyModel::Binary(m) => model_io::write_json(m),
        AnyModel::Multiclass(m) => {
            let mut s = serde_json::to_string_pretty(m)?;
            s.push('\n');
            Ok(s)
        }
        AnyModel::Joint(m) => {
            let mut s = serde_json::to_string_pretty(m)?;
            s.push('\n');
            Ok(s)
        }
    }
}

/// Only the key that tells a multiclass model file apart (its value is
/// skipped, not built: a `serde_json::Value` tree costs ~16× the text).
#[derive(Deserialize)]
struct KindProbe {
    submodels: Option<serde::de::IgnoredAny>,
    method: Option<serde::de::IgnoredAny>,
}

/// Parses a JSON model of any kind: joint multiclass when the object has a
/// `method` key (checked with
/// [`crate::multiclass_dual::JointModel::check`]), multiclass when it has a
/// `submodels` key (then checked with [`MulticlassModel::check`]), binary
/// otherwise ([`model_io::read_json`]).
pub fn read_any_json(text: &str, path: Option<&Path>) -> Result<AnyModel, ModelError> {
    let err = |kind| ModelError {
        path: path.map(Path::to_path_buf),
        line: None,
        kind,
    };
    let probe: KindProbe =
        serde_json::from_str(text).map_err(|e| err(ModelErrorKind::Json(e.to_string())))?;
    if probe.method.is_some() {
        let model: crate::multiclass_dual::JointModel =
            serde_json::from_str(text).map_err(|e| err(ModelErrorKind::Json(e.to_string())))?;
        model
            .check()
            .map_err(|m| err(ModelErrorKind::Inconsistent(m)))?;
        return Ok(AnyModel::Joint(model));
    }
    if probe.submodels.is_none() {
        return model_io::read_json(text, path).map(AnyModel::Binary);
    }
    let model: MulticlassModel =
        serde_json::from_str(text).map_err(|e| err(ModelErrorKind::Json(e.to_string())))?;
    model
        .check()
        .map_err(|m| err(ModelErrorKind::Inconsistent(m)))?;
    Ok(AnyModel::Multiclass(model))
}

/// Parses model bytes of either kind: JSON (detected as
/// [`ModelFormat::detect`] does, or forced by `format`) through
/// [`read_any_json`], LIBSVM text through [`model_io::parse_libsvm`]: a
/// binary model for two classes, [`ovo_from_libsvm`] for more.
pub fn parse_any_bytes(
    bytes: &[u8],
    format: Option<ModelFormat>,
    path: Option<&Path>,
) -> Result<AnyModel, ModelError> {
    let stripped = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match format.unwrap_or_else(|| ModelFormat::detect(stripped)) {
        ModelFormat::Json => {
            let text = std::str::from_utf8(stripped).map_err(|_| ModelError {
                path: path.map(Path::to_path_buf),
                line: None,
                kind: ModelErrorKind::NotUtf8,
            })?;
            read_any_json(text, path)
        }
        ModelFormat::Libsvm => {
            let text = std::str::from_utf8(stripped).map_err(|_| ModelError {
                path: path.map(Path::to_path_buf),
                line: None,
                kind: ModelErrorKind::NotUtf8,
            })?;
            let file = model_io::parse_libsvm(text, path)?;
            if file.labels.len() == 2 {
                model_io::binary_from_libsvm(file, path).map(|l| AnyModel::Binary(l.model))
            } else {
                Ok(AnyModel::Multiclass(ovo_from_libsvm(file)))
            }
        }
    }
}

/// The one-vs-one model of a LIBSVM file with `k ≥ 3` classes (layout in
/// [`LibsvmFile`]): sub-model `(i, j)` holds the support vectors of class
/// `i` with their coefficient for `j` and those of class `j` with their
/// coefficient for `i` (zero coefficients dropped, which changes no
/// decision value), bias `−rho_ij`, classes in the file's `label` order.
/// As for a binary LIBSVM model, the formulation and the training rows are
/// unknown.
///
/// # Panics
/// When `file` has no `nr_sv` or fewer than three classes:
/// [`model_io::parse_libsvm`] requires `nr_sv` for `k ≥ 3`.
pub fn ovo_from_libsvm(file: LibsvmFile) -> MulticlassModel {
    let k = file.labels.len();
    let nr_sv = file.nr_sv.as_ref().expect("nr_sv is required for k ≥ 3");
    assert!(k >= 3, "a multiclass file");
    let mut start = vec![0usize; k + 1];
    for c in 0..k {
        start[c + 1] = start[c] + nr_sv[c];
    }
    let group = |c: usize, slot: usize| {
        file.support_vectors[start[c]..start[c + 1]]
            .iter()
            .filter(move |sv| sv.coefs[slot] != 0.0)
            .map(move |sv| SupportVector {
                index: None,
                coef: sv.coefs[slot],
                indices: sv.indices.clone(),
                values: sv.values.clone(),
            })
    };
    let submodels = MulticlassStrategy::Ovo
        .pairs(k)
        .iter()
        .zip(&file.rho)
        .map(|(&(i, j), &rho)| {
            let j = j.expect("one-vs-one pairs");
            Model {
                schema_version: crate::model::MODEL_SCHEMA_VERSION,
                formulation: None,
                kernel: file.kernel,
                labels: LabelMapping {
                    positive: file.labels[i],
                    negative: file.labels[j],
                },
                n_features: file.max_index,
                bias: 0.0 - rho,
                support_vectors: group(i, j - 1).chain(group(j, i)).collect(),
            }
        })
        .collect();
    MulticlassModel {
        schema_version: MULTICLASS_SCHEMA_VERSION,
        strategy: MulticlassStrategy::Ovo,
        classes: file.labels,
        submodels,
    }
}

/// Which support vector a sub-model's entry is: its training row when
/// known, else its features bit for bit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SvKey {
    Row(usize),
    Features(Vec<u32>, Vec<u64>),
}

/// A one-vs-one model in LIBSVM's text format (layout in [`LibsvmFile`]),
/// which `svm-predict` reads: each distinct support vector once, in its
/// class's group (by training row when known, else in order of first
/// appearance), with its `k − 1` coefficients (0 for a pair where it is not
/// a support vector). The binary and one-vs-rest cases are refused
/// ([`LibsvmWriteError`]); a binary [`Model`] goes through
/// [`model_io::write_libsvm`] ([`write_any_libsvm`] picks).
pub fn write_libsvm_ovo(model: &MulticlassModel) -> Result<String, LibsvmWriteError> {
    use std::fmt::Write;
    if model.strategy != MulticlassStrategy::Ovo {
        return Err(LibsvmWriteError::Strategy(model.strategy.name()));
    }
    let kernel = model.submodels[0].kernel;
    if model.submodels.iter().any(|m| m.kernel != kernel) {
        return Err(LibsvmWriteError::MixedKernels);
    }
    for &c in &model.classes {
        model_io::check_libsvm_label(c)?;
    }
    let k = model.classes.len();
    // Per class: (key, features, coefficients) of each distinct SV.
    let mut groups: Vec<Vec<(SvKey, &SupportVector, Vec<f64>)>> = vec![Vec::new(); k];
    let mut positions: Vec<HashMap<SvKey, usize>> = vec![HashMap::new(); k];
    for (&(i, j), m) in MulticlassStrategy::Ovo
        .pairs(k)
        .iter()
        .zip(&model.submodels)
    {
        let j = j.expect("one-vs-one pairs");
        for sv in &m.support_vectors {
            // Class i is the sub-model's +1: its coefficients αy are ≥ 0.
            let (c, slot) = if sv.coef >= 0.0 { (i, j - 1) } else { (j, i) };
            let key = match sv.index {
                Some(r) => SvKey::Row(r),
                None => SvKey::Features(
                    sv.indices.clone(),
                    sv.values.iter().map(|v| v.to_bits()).collect(),
                ),
            };
            let at = *positions[c].entry(key.clone()).or_insert_with(|| {
                groups[c].push((key, sv, vec![0.0; k - 1]));
                groups[c].len() - 1
            });
            groups[c][at].2[slot] = sv.coef;
        }
    }
    for g in &mut groups {
        if g.iter().all(|(key, _, _)| matches!(key, SvKey::Row(_))) {
            g.sort_by_key(|(key, _, _)| match key {
                SvKey::Row(r) => *r,
                SvKey::Features(..) => usize::MAX,
            });
        }
    }
    let join = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(" ");
    let mut s = model_io::libsvm_header(kernel);
    let total: usize = groups.iter().map(Vec::len).sum();
    let _ = writeln!(s, "nr_class {k}\ntotal_sv {total}");
    // `0.0 - b` rather than `-b`: no `-0` for a zero bias.
    let rho = join(&mut model.submodels.iter().map(|m| (0.0 - m.bias).to_string()));
    let _ = writeln!(s, "rho {rho}");
    let _ = writeln!(
        s,
        "label {}",
        join(&mut model.classes.iter().map(|c| c.to_string()))
    );
    let _ = writeln!(
        s,
        "nr_sv {}",
        join(&mut groups.iter().map(|g| g.len().to_string()))
    );
    s.push_str("SV\n");
    for (_, sv, coefs) in groups.iter().flatten() {
        s.push_str(&join(&mut coefs.iter().map(|c| c.to_string())));
        model_io::write_features(&mut s, &sv.indices, &sv.values);
    }
    Ok(s)
}

/// Either kind of model in LIBSVM's text format.
pub fn write_any_libsvm(model: &AnyModel) -> Result<String, LibsvmWriteError> {
    match model {
        AnyModel::Binary(m) => model_io::write_libsvm(m),
        AnyModel::Multiclass(m) => write_libsvm_ovo(m),
        AnyModel::Joint(m) => Err(LibsvmWriteError::Strategy(m.method.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formulation::{Formulation, Loss};
    use crate::kernel::Kernel;

    #[test]
    fn a_nan_gap_is_the_worst_gap() {
        assert_eq!(worst_gap([1e-7, 3e-5, 2e-6].into_iter()), 3e-5);
        assert_eq!(worst_gap(std::iter::empty()), 0.0);
        assert!(worst_gap([1e-7, f64::NAN, 2e-6].into_iter()).is_nan());
        assert!(worst_gap([f64::NAN, 1e-7].into_iter()).is_nan());
    }

    fn three_blobs() -> Dataset {
        let pts = [
            (0.0, 0.0, 5.0),
            (3.0, 0.0, 7.0),
            (0.0, 3.0, 6.0),
            (0.2, 0.1, 5.0),
            (3.1, 0.2, 7.0),
            (0.1, 3.2, 6.0),
            (-0.2, 0.1, 5.0),
            (2.9, -0.1, 7.0),
            (-0.1, 2.8, 6.0),
        ];
        let x: Vec<f64> = pts.iter().flat_map(|p| [p.0, p.1]).collect();
        let y = pts.iter().map(|p| p.2).collect();
        Dataset::new(Features::from_dense(x, pts.len(), 2), y).unwrap()
    }

    fn options() -> TrainOptions {
        TrainOptions {
            formulation: Formulation {
                loss: Loss::L1,
                c: 10.0,
                ..Default::default()
            },
            kernel: Kernel::Rbf { gamma: 0.5 },
            smo: solvers::SmoSettings {
                tol: 1e-6,
                ..Default::default()
            },
        }
    }

    #[test]
    fn pairs_in_libsvm_order() {
        assert_eq!(
            MulticlassStrategy::Ovo.pairs(4),
            [
                (0, Some(1)),
                (0, Some(2)),
                (0, Some(3)),
                (1, Some(2)),
                (1, Some(3)),
                (2, Some(3))
            ]
        );
        assert_eq!(MulticlassStrategy::Ovr.pairs(2), [(0, None), (1, None)]);
    }

    #[test]
    fn both_strategies_separate_blobs_and_round_trip() {
        let data = three_blobs();
        for strategy in [MulticlassStrategy::Ovo, MulticlassStrategy::Ovr] {
            let t = train_multiclass(&data, &options(), strategy, SolverKind::Smo).unwrap();
            assert_eq!(t.model.classes, [5.0, 7.0, 6.0]);
            assert_eq!(t.model.predict(&data.features), data.labels);
            assert!(t.worst_relative_gap() < 1e-5, "{}", t.worst_relative_gap());
            let any = AnyModel::Multiclass(t.model.clone());
            let json = write_any_json(&any).unwrap();
            assert_eq!(read_any_json(&json, None).unwrap(), any);
        }
    }

    #[test]
    fn ovo_vote_ties_go_to_the_smaller_index() {
        let data = three_blobs();
        let t =
            train_multiclass(&data, &options(), MulticlassStrategy::Ovo, SolverKind::Smo).unwrap();
        // (0,1) → 0, (0,2) → 2, (1,2) → 1: one vote each, class 0 wins.
        assert_eq!(t.model.predict_index(&[1.0, -1.0, 1.0]), 0);
        // (0,1) → 1, (0,2) → 2, (1,2) → 2.
        assert_eq!(t.model.predict_index(&[-1.0, -1.0, -1.0]), 2);
        // A zero decision value votes for j.
        assert_eq!(t.model.predict_index(&[0.0, 1.0, 1.0]), 1);
    }

    #[test]
    fn shared_kernel_values_match_each_submodel() {
        let data = three_blobs();
        for strategy in [MulticlassStrategy::Ovo, MulticlassStrategy::Ovr] {
            let t = train_multiclass(&data, &options(), strategy, SolverKind::Smo).unwrap();
            assert!(t.model.shared_support_vectors().is_some());
            let shared = t.model.decision_values(&data.features);
            let mut own = t.model.clone();
            for m in &mut own.submodels {
                for sv in &mut m.support_vectors {
                    sv.index = None;
                }
            }
            assert!(own.shared_support_vectors().is_none());
            assert_eq!(own.decision_values(&data.features), shared);
        }
    }

    #[test]
    fn a_bad_multiclass_file_is_refused() {
        let data = three_blobs();
        let t =
            train_multiclass(&data, &options(), MulticlassStrategy::Ovo, SolverKind::Smo).unwrap();
        let mut m = t.model;
        m.submodels.pop();
        let json = write_any_json(&AnyModel::Multiclass(m)).unwrap();
        let e = read_any_json(&json, None).unwrap_err().to_string();
        assert!(e.contains("need 3 submodels, got 2"), "{e}");
    }

    #[test]
    fn cd_is_refused() {
        let e = train_multiclass(
            &three_blobs(),
            &options(),
            MulticlassStrategy::Ovo,
            SolverKind::Cd,
        );
        assert!(matches!(e, Err(TrainError::Option(_))));
    }
}
