//! The verifier: an independent certificate of a dual solution.
//! (Interface fixed; body being written — see issue 2, scope 6.)

use crate::data::Features;
use crate::formulation::Formulation;
use crate::kernel::Kernel;
use serde::{Deserialize, Serialize};

/// KKT residuals of a dual point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KktResiduals {
    /// Largest violation of `0 ≤ αᵢ ≤ uᵢ`.
    pub bound_violation: f64,
    /// `|yᵀα|` (0 without bias).
    pub equality_violation: f64,
    /// Maximal violating pair `m(α) − M(α)` (with bias) or largest
    /// projected-gradient entry (without), clamped at 0.
    pub max_violation: f64,
    /// Largest complementarity violation.
    pub complementarity: f64,
}

/// What the verifier reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// `D(α)`.
    pub dual_objective: f64,
    /// `P(w(α), b)`.
    pub primal_objective: f64,
    /// `min_b P(w(α), b)` (equal to `primal_objective` without bias).
    pub primal_objective_best_bias: f64,
    /// The minimising `b` (`None` without bias).
    pub best_bias: Option<f64>,
    /// `primal_objective_best_bias − dual_objective`.
    pub absolute_gap: f64,
    /// `absolute_gap / max(1, |primal_objective_best_bias|)`.
    pub relative_gap: f64,
    /// KKT residuals.
    pub kkt: KktResiduals,
    /// Support vectors (`αᵢ > 0`).
    pub n_sv: usize,
    /// Support vectors at the upper bound (L1 only).
    pub n_bounded_sv: usize,
    /// Fraction of training rows with `yᵢ f(xᵢ) > 0`.
    pub training_accuracy: f64,
}

/// Certifies `(α, b)` for `formulation` on `features`, labels `y` (±1).
pub fn verify(
    features: &Features,
    y: &[f64],
    formulation: &Formulation,
    kernel: Kernel,
    alpha: &[f64],
    b: f64,
) -> Certificate {
    let _ = (features, y, formulation, kernel, alpha, b);
    unimplemented!("verifier being written")
}
