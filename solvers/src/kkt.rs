//! First-order optimality measures of `min ½αᵀQα + pᵀα  s.t. yᵀα = Δ,
//! l ≤ α ≤ u`, from a point and its gradient `G = Qα + p`.
//!
//! With the equality constraint the measure is the maximal violating pair
//! `m(α) − M(α)` (Keerthi, Shevade, Bhattacharyya & Murthy, Neural Comput.
//! 2001; Fan, Chen & Lin, JMLR 2005, eq. (8)); without it, the largest
//! entry of the projected gradient. Both are zero exactly at a KKT point.

use crate::error::SetupError;
use crate::problem::QpProblem;

/// Whether a variable at `alpha` with sign `sign` and box
/// `[lower, upper]` is in `I_up` (it can move along `+sign`) and in `I_low`
/// (along `−sign`).
#[inline]
pub fn sides(alpha: f64, sign: f64, lower: f64, upper: f64) -> (bool, bool) {
    let (below_upper, above_lower) = (alpha < upper, alpha > lower);
    if sign > 0.0 {
        (below_upper, above_lower)
    } else {
        (above_lower, below_upper)
    }
}

/// `m(α) − M(α)` with `m = max { −yᵢGᵢ : i ∈ I_up }` and
/// `M = min { −yᵢGᵢ : i ∈ I_low }`, clamped at zero (zero when a set is
/// empty).
pub fn maximal_violating_pair(
    alpha: &[f64],
    gradient: &[f64],
    signs: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> f64 {
    let (m, big_m) = extremes(0..alpha.len(), alpha, gradient, signs, lower, upper);
    pair_violation(m, big_m)
}

/// `(m, M)` of [`maximal_violating_pair`] over the variables `indices`
/// (`−∞` / `+∞` when a set is empty).
pub fn extremes(
    indices: impl IntoIterator<Item = usize>,
    alpha: &[f64],
    gradient: &[f64],
    signs: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> (f64, f64) {
    let (mut m, mut big_m) = (f64::NEG_INFINITY, f64::INFINITY);
    for i in indices {
        let v = -signs[i] * gradient[i];
        let (up, low) = sides(alpha[i], signs[i], lower[i], upper[i]);
        if up {
            m = m.max(v);
        }
        if low {
            big_m = big_m.min(v);
        }
    }
    (m, big_m)
}

/// `m − M` clamped at zero, zero when either is infinite (a set empty).
pub fn pair_violation(m: f64, big_m: f64) -> f64 {
    if m.is_finite() && big_m.is_finite() {
        (m - big_m).max(0.0)
    } else {
        0.0
    }
}

/// The largest entry of the projected gradient: `max(0, −Gᵢ)` at the lower
/// bound, `max(0, Gᵢ)` at the upper bound, `|Gᵢ|` in between.
pub fn projected_gradient_norm(
    alpha: &[f64],
    gradient: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> f64 {
    let mut worst: f64 = 0.0;
    for i in 0..alpha.len() {
        let g = gradient[i];
        let v = if alpha[i] <= lower[i] {
            (-g).max(0.0)
        } else if alpha[i] >= upper[i] {
            g.max(0.0)
        } else {
            g.abs()
        };
        worst = worst.max(v);
    }
    worst
}

/// The optimality measure the solvers stop on: the maximal violating pair
/// with the equality constraint, the projected-gradient norm without it.
pub fn max_violation(problem: &QpProblem<'_>, alpha: &[f64], gradient: &[f64]) -> f64 {
    match problem.equality {
        Some(eq) => maximal_violating_pair(alpha, gradient, eq.signs, problem.lower, problem.upper),
        None => projected_gradient_norm(alpha, gradient, problem.lower, problem.upper),
    }
}

/// The multiplier `ν` of the equality at `α` (LIBSVM's `calculate_rho`,
/// negated): `Gᵢ + νyᵢ = 0` on free variables (`lᵢ < αᵢ < uᵢ`), averaged
/// over them; without free variables the midpoint of the interval
/// `[max yᵢGᵢ, min yᵢGᵢ]` that the bounded ones allow (one end when the
/// other is empty, 0 when both are).
pub fn equality_multiplier(
    alpha: &[f64],
    gradient: &[f64],
    signs: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> f64 {
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n_free, mut sum_free) = (0usize, 0.0);
    for t in 0..alpha.len() {
        let yg = signs[t] * gradient[t];
        let at_upper = alpha[t] >= upper[t];
        let at_lower = !at_upper && alpha[t] <= lower[t];
        match (at_upper, at_lower, signs[t] > 0.0) {
            (true, _, false) | (false, true, true) => ub = ub.min(yg),
            (true, _, true) | (false, true, false) => lb = lb.max(yg),
            (false, false, _) => {
                n_free += 1;
                sum_free += yg;
            }
        }
    }
    let rho = if n_free > 0 {
        sum_free / n_free as f64
    } else if ub.is_finite() && lb.is_finite() {
        (ub + lb) / 2.0
    } else if ub.is_finite() {
        ub
    } else if lb.is_finite() {
        lb
    } else {
        0.0
    };
    -rho
}

/// Refuses a gradient that overflowed: with `Q`'s entries or the iterate
/// near the largest `f64` (a huge C with a kernel that is not positive
/// semidefinite, or a kernel whose values overflow) every KKT comparison
/// with NaN is false, and the solve would look converged.
pub(crate) fn finite_gradient(grad: &[f64]) -> Result<(), SetupError> {
    match grad.iter().position(|g| !g.is_finite()) {
        Some(index) => Err(SetupError::NonFinite {
            what: "gradient Qα + p (Q's entries or the iterate overflow)",
            index,
        }),
        None => Ok(()),
    }
}
