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
    /// Whether every number the model predicts with (bias, coefficients,
    /// feature values) is finite: a solve that overflowed or ended
    /// unbounded can leave NaN or ±∞ there, and such a model predicts
    /// nothing useful and cannot be read back.
    pub fn is_finite(&self) -> bool {
        self.bias.is_finite()
            && self
                .support_vectors
                .iter()
                .all(|sv| sv.coef.is_finite() && sv.values.iter().all(|v| v.is_finite()))
    }

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
        if let Some(values) = self.panel_decision_function(features) {
            return values;
        }
        (0..features.n_rows())
            .into_par_iter()
            .map(|i| self.decision_value(&features.row(i)))
            .collect()
    }

    /// [`Model::decision_function`] for the non-linear kernels by panels:
    /// the support vectors, [`PREDICT_PANEL`] at a time, laid out as a
    /// dense `d × PREDICT_PANEL` panel, and each row's dot products with
    /// all of them one pass over the row's entries (`acc += xₗ · panel[l, :]`,
    /// vectorised) instead of a sparse merge per pair; `None` when the panel
    /// would be wider than [`PREDICT_MAX_COLS`] features.
    ///
    /// Bit-identical to [`Model::decision_value`]: each dot product adds
    /// the same non-zero products in the same (increasing feature) order,
    /// plus exact zeros; the kernel value is [`Kernel::from_dot`] of it;
    /// and the sum runs over the support vectors in order, from the value
    /// `Iterator::sum` starts from, then adds the bias.
    fn panel_decision_function(&self, features: &Features) -> Option<Vec<f64>> {
        let svs: Vec<Row<'_>> = self.support_vectors.iter().map(|sv| sv.row()).collect();
        let panels = Panels::new(features, self.kernel, &svs)?;
        let coef: Vec<f64> = self.support_vectors.iter().map(|sv| sv.coef).collect();
        let start: f64 = std::iter::empty::<f64>().sum();
        let mut out = vec![start; features.n_rows()];
        out.par_chunks_mut(PREDICT_ROWS).enumerate().for_each_init(
            || panels.scratch(PREDICT_ROWS),
            |scratch, (c, out)| {
                panels.each(c * PREDICT_ROWS, out.len(), scratch, |q, values| {
                    let coef = &coef[q * PREDICT_PANEL..];
                    for (f, line) in out.iter_mut().zip(values.chunks_exact(PREDICT_PANEL)) {
                        for (&c, &v) in coef.iter().zip(line) {
                            *f += c * v;
                        }
                    }
                });
                for f in out.iter_mut() {
                    *f += self.bias;
                }
            },
        );
        Some(out)
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

/// Support vectors per panel in [`Model::decision_function`].
const PREDICT_PANEL: usize = 64;

/// Rows per parallel task in [`Model::decision_function`] (a constant,
/// so the split does not depend on the number of threads).
const PREDICT_ROWS: usize = 256;

/// The widest feature space [`Model::decision_function`] lays out in
/// panels (`8 · PREDICT_PANEL · d` bytes, 8 MiB here, per task); wider
/// data takes a sparse dot product per pair.
const PREDICT_MAX_COLS: usize = 1 << 14;

/// `each(r, k)` for every row `r` of `features`, in order, where
/// `k[s] = K(x_r, svs[s])` bit for bit as [`Kernel::from_dot`] of
/// [`Row::dot`] gives it, formed by [`Panels`] for a block of rows at a
/// time; `None` where [`Panels::new`] is. Rows in parallel, each `each`
/// call on one row's values, so the results do not depend on the thread
/// count.
pub(crate) fn kernel_rows<T: Send>(
    features: &Features,
    kernel: Kernel,
    svs: &[Row<'_>],
    each: impl Fn(usize, &[f64]) -> T + Sync,
) -> Option<Vec<T>> {
    let panels = Panels::new(features, kernel, svs)?;
    let m = svs.len();
    // Rows per task: their kernel values (`8·m` bytes a row) within 4 MiB.
    let rows = ((4 << 20) / (8 * m.max(1))).clamp(8, PREDICT_ROWS);
    let n = features.n_rows();
    let chunks: Vec<Vec<T>> = (0..n.div_ceil(rows))
        .into_par_iter()
        .map_init(
            || panels.scratch(rows),
            |scratch, c| {
                let (r0, count) = (c * rows, rows.min(n - c * rows));
                let mut k = vec![0.0; count * m];
                panels.each(r0, count, scratch, |q, values| {
                    let at = q * PREDICT_PANEL;
                    let width = PREDICT_PANEL.min(m - at);
                    for (r, line) in values.chunks_exact(PREDICT_PANEL).enumerate() {
                        k[r * m + at..r * m + at + width].copy_from_slice(&line[..width]);
                    }
                });
                (0..count)
                    .map(|r| each(r0 + r, &k[r * m..(r + 1) * m]))
                    .collect()
            },
        )
        .collect();
    Some(chunks.into_iter().flatten().collect())
}

/// Kernel values between rows of `features` and sparse support vectors,
/// [`PREDICT_PANEL`] support vectors at a time laid out as a dense
/// `d × PREDICT_PANEL` panel: each row's dot products with a panel are one
/// pass over its entries ([`crate::linalg::panel_dots`], vectorised), the
/// same non-zero products in the same (increasing feature) order as
/// [`Row::dot`] plus exact zeros, then [`Kernel::from_dot`] — so the values
/// equal `from_dot(row.dot(sv))` to the bit.
struct Panels<'a> {
    features: &'a Features,
    kernel: Kernel,
    svs: &'a [Row<'a>],
    /// The support vectors' squared norms (0 where the kernel needs none).
    sq_sv: Vec<f64>,
    /// The panel's rows: the widest of the rows and the support vectors.
    d: usize,
}

impl<'a> Panels<'a> {
    /// `None` when the panel would be wider than [`PREDICT_MAX_COLS`]
    /// features or a support vector is not sparse.
    fn new(features: &'a Features, kernel: Kernel, svs: &'a [Row<'a>]) -> Option<Self> {
        let mut width = 0;
        for sv in svs {
            let Row::Sparse { indices, .. } = sv else {
                return None;
            };
            width = width.max(indices.last().map_or(0, |&k| k as usize + 1));
        }
        let d = width.max(features.n_cols());
        if d > PREDICT_MAX_COLS {
            return None;
        }
        let mut panels = Self {
            features,
            kernel,
            svs,
            sq_sv: Vec::new(),
            d,
        };
        panels.sq_sv = svs.iter().map(|sv| panels.norm(sv)).collect();
        Some(panels)
    }

    /// `‖x‖²` where the kernel needs it, else 0.
    fn norm(&self, x: &Row<'_>) -> f64 {
        if self.kernel.needs_norms() {
            x.squared_norm()
        } else {
            0.0
        }
    }

    /// A task's panel and kernel values for up to `rows` rows.
    fn scratch(&self, rows: usize) -> (Vec<f64>, Vec<f64>) {
        (
            vec![0.0; self.d * PREDICT_PANEL],
            vec![0.0; rows * PREDICT_PANEL],
        )
    }

    /// For the rows `r0..r0 + count` and each panel `q` in order,
    /// `f(q, values)` with `values[k·PREDICT_PANEL + b] = K(x_{r0+k},
    /// svs[q·PREDICT_PANEL + b])` (entries past the last support vector
    /// unspecified).
    fn each(
        &self,
        r0: usize,
        count: usize,
        (panel, values): &mut (Vec<f64>, Vec<f64>),
        mut f: impl FnMut(usize, &[f64]),
    ) {
        let sq_rows: Vec<f64> = (r0..r0 + count)
            .map(|i| self.norm(&self.features.row(i)))
            .collect();
        let values = &mut values[..count * PREDICT_PANEL];
        for (q, (block, sq_block)) in self
            .svs
            .chunks(PREDICT_PANEL)
            .zip(self.sq_sv.chunks(PREDICT_PANEL))
            .enumerate()
        {
            for (b, sv) in block.iter().enumerate() {
                crate::linalg::set_panel_column::<PREDICT_PANEL>(panel, sv, b, false);
            }
            crate::linalg::simd(PanelKernel {
                features: self.features,
                r0,
                sq_rows: &sq_rows,
                panel,
                sq_sv: sq_block,
                kernel: self.kernel,
                values: &mut *values,
            });
            f(q, values);
            for (b, sv) in block.iter().enumerate() {
                crate::linalg::set_panel_column::<PREDICT_PANEL>(panel, sv, b, true);
            }
        }
    }
}

/// `values[k·PREDICT_PANEL + b] = K(x_{r0+k}, s_b)` for the rows of a
/// task and the support vectors `s_b` of one panel (columns past
/// `sq_sv.len()` are left alone). Run through [`crate::linalg::simd`].
struct PanelKernel<'a> {
    features: &'a Features,
    r0: usize,
    sq_rows: &'a [f64],
    panel: &'a [f64],
    sq_sv: &'a [f64],
    kernel: Kernel,
    values: &'a mut [f64],
}

impl crate::linalg::SimdLoop for PanelKernel<'_> {
    #[inline(always)]
    fn run(self) {
        for (k, line) in self.values.chunks_exact_mut(PREDICT_PANEL).enumerate() {
            let dots = crate::linalg::panel_dots::<PREDICT_PANEL>(
                &self.features.row(self.r0 + k),
                self.panel,
            );
            let line = &mut line[..self.sq_sv.len()];
            line.copy_from_slice(&dots[..line.len()]);
            self.kernel.from_dots(line, self.sq_sv, self.sq_rows[k]);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiclass::AnyModel;

    fn model(bias: f64, coef: f64, value: f64) -> Model {
        Model {
            schema_version: MODEL_SCHEMA_VERSION,
            formulation: None,
            kernel: Kernel::Linear,
            labels: LabelMapping {
                positive: 1.0,
                negative: -1.0,
            },
            n_features: 1,
            bias,
            support_vectors: vec![SupportVector {
                index: Some(0),
                coef,
                indices: vec![0],
                values: vec![value],
            }],
        }
    }

    #[test]
    fn a_model_with_a_number_that_is_not_finite_is_not_finite() {
        assert!(model(0.5, 1.0, 2.0).is_finite());
        assert!(AnyModel::Binary(model(0.5, 1.0, 2.0)).is_finite());
        for m in [
            model(f64::NAN, 1.0, 2.0),
            model(0.5, f64::INFINITY, 2.0),
            model(0.5, 1.0, f64::NEG_INFINITY),
        ] {
            assert!(!m.is_finite());
            assert!(!AnyModel::Binary(m).is_finite());
        }
    }
}
