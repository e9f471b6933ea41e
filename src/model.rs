//! A trained binary SVM: support vectors, coefficients `αᵢyᵢ`, bias, kernel
//! and the mapping of the two raw labels to ±1.
//!
//! `f(x) = Σᵢ αᵢyᵢ K(xᵢ, x) + b`; the predicted label is the raw label
//! mapped to `+1` when `f(x) > 0`, else the one mapped to `−1` (LIBSVM's
//! rule).

use crate::data::{Features, Row};
use crate::formulation::Formulation;
use crate::kernel::Kernel;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The version of the JSON model schema written by this build.
pub const MODEL_SCHEMA_VERSION: u32 = 1;

/// Which raw label is `+1` and which is `−1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelMapping {
    /// The raw label mapped to `+1` (the first one seen in the training file).
    pub positive: f64,
    /// The raw label mapped to `−1`.
    pub negative: f64,
}

/// One support vector: its training row, coefficient and features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportVector {
    /// 0-based row of the training set; `None` when not known (a model
    /// read from LIBSVM's text format, which does not record it).
    pub index: Option<usize>,
    /// `αᵢyᵢ`.
    pub coef: f64,
    /// 0-based feature indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Feature values.
    pub values: Vec<f64>,
}

impl SupportVector {
    /// The features as a row.
    pub fn row(&self) -> Row<'_> {
        Row::Sparse {
            indices: &self.indices,
            values: &self.values,
        }
    }
}

/// A trained binary SVM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// [`MODEL_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// The formulation trained; `None` when not known (a model read from
    /// LIBSVM's text format, which records the kernel, `rho`, the labels and
    /// the support vectors but not the loss, `C` nor the class weights).
    /// Prediction does not need it; certifying the model does (see
    /// `svm-dual verify`, which then takes it from the command line).
    pub formulation: Option<Formulation>,
    /// The kernel, parameters resolved.
    pub kernel: Kernel,
    /// The label mapping.
    pub labels: LabelMapping,
    /// The number of features of the training data.
    pub n_features: usize,
    /// The bias `b` (0 without bias).
    pub bias: f64,
    /// Support vectors (`αᵢ > 0`).
    pub support_vectors: Vec<SupportVector>,
}

impl Model {
    /// Builds a model from a dual solution: keeps rows with `αᵢ > 0`.
    pub fn from_dual(
        features: &Features,
        y: &[f64],
        alpha: &[f64],
        bias: f64,
        formulation: Formulation,
        kernel: Kernel,
        labels: LabelMapping,
    ) -> Self {
        let support_vectors = alpha
            .iter()
            .enumerate()
            .filter(|(_, &a)| a > 0.0)
            .map(|(i, &a)| {
                let (indices, values) = match features.row(i) {
                    Row::Sparse { indices, values } => (indices.to_vec(), values.to_vec()),
                    Row::Dense(v) => v
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| **x != 0.0)
                        .map(|(k, x)| (k as u32, *x))
                        .unzip(),
                };
                SupportVector {
                    index: Some(i),
                    coef: a * y[i],
                    indices,
                    values,
                }
            })
            .collect();
        Self {
            schema_version: MODEL_SCHEMA_VERSION,
            formulation: Some(formulation),
            kernel,
            labels,
            n_features: features.n_cols(),
            bias,
            support_vectors,
        }
    }

    /// `f(x)` for one row.
    pub fn decision_value(&self, x: &Row<'_>) -> f64 {
        let sq_x = if self.kernel.needs_norms() {
            x.squared_norm()
        } else {
            0.0
        };
        let sum: f64 = self
            .support_vectors
            .iter()
            .map(|sv| {
                let row = sv.row();
                let sq_sv = if self.kernel.needs_norms() {
                    row.squared_norm()
                } else {
                    0.0
                };
                sv.coef * self.kernel.from_dot(row.dot(x), sq_sv, sq_x)
            })
            .sum();
        sum + self.bias
    }

    /// `f(xᵢ)` for every row, in parallel (each value is computed
    /// independently, so the result does not depend on the thread count).
    /// With the linear kernel, `w = Σₛ coefₛ xₛ` is formed once (support
    /// vectors in order) and `f(x) = ⟨w, x⟩ + b` costs `O(nnz(x))` instead
    /// of a pass over the support vectors; the values then differ from
    /// [`Model::decision_value`]'s only by rounding.
    pub fn decision_function(&self, features: &Features) -> Vec<f64> {
        if let Some(w) = self.linear_weights() {
            return (0..features.n_rows())
                .into_par_iter()
                .map(|i| dot_dense(&features.row(i), &w) + self.bias)
                .collect();
        }
        (0..features.n_rows())
            .into_par_iter()
            .map(|i| self.decision_value(&features.row(i)))
            .collect()
    }

    /// `w = Σₛ coefₛ xₛ` for the linear kernel (`None` for the others),
    /// dense over the largest feature index of the support vectors.
    pub fn linear_weights(&self) -> Option<Vec<f64>> {
        if self.kernel != Kernel::Linear {
            return None;
        }
        let width = self
            .support_vectors
            .iter()
            .filter_map(|sv| sv.indices.last())
            .map(|&k| k as usize + 1)
            .max()
            .unwrap_or(0);
        let mut w = vec![0.0; width];
        for sv in &self.support_vectors {
            for (&k, &v) in sv.indices.iter().zip(&sv.values) {
                w[k as usize] += sv.coef * v;
            }
        }
        Some(w)
    }

    /// Predicted raw labels.
    pub fn predict(&self, features: &Features) -> Vec<f64> {
        self.decision_function(features)
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
}

/// `⟨x, w⟩` for a dense `w`; features beyond `w` count as 0.
fn dot_dense(x: &Row<'_>, w: &[f64]) -> f64 {
    match x {
        Row::Sparse { indices, values } => indices
            .iter()
            .zip(values.iter())
            .filter_map(|(&k, &v)| w.get(k as usize).map(|wk| wk * v))
            .sum(),
        Row::Dense(v) => v.iter().zip(w).map(|(a, b)| a * b).sum(),
    }
}
