//! A certificate that the objective is unbounded below: a feasible ray of
//! negative curvature.
//!
//! The solvers assume `Q` positive semidefinite. A `Q` that is not (a
//! sigmoid kernel, which is not a Mercer kernel, is the common case) can
//! make `f(α) = ½αᵀQα + pᵀα` unbounded below on a feasible set with
//! infinite upper bounds. Then each solver step stays finite while the
//! iterate grows without limit (to `|α| ≈ 10¹⁷⁰` in a few hundred SMO
//! steps on `heart_scale` with a sigmoid kernel and the squared-slack
//! loss), and a stopping test on the violation is never met.
//!
//! From the start point `α₀` and an iterate `α` take `d = α − α₀`. Both
//! points satisfy `yᵀα = Δ`, so `yᵀd = 0`; the bounds `l` are finite, so the
//! ray `α₀ + t·d, t ≥ 0` is feasible exactly when `d ≥ 0` and `uᵢ = +∞`
//! wherever `dᵢ > 0`. Along it
//! `f(α₀ + t·d) = f(α₀) + t·G₀ᵀd + ½t²·dᵀQd`, which tends to `−∞` when
//! `dᵀQd < 0` — and then `Q` is not positive semidefinite and the problem
//! has no minimiser (Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
//! §16.1: a QP whose objective decreases along a feasible direction of
//! negative curvature is unbounded).
//!
//! The test has two stages. The solver's maintained gradient gives
//! `Qd = G − G₀` for free, so `dᵀ(G − G₀)` is checked first (O(n)). Only
//! when that is clearly negative is `Qd` recomputed with one product
//! ([`QMatrix::matvec`]) and the curvature confirmed against rounding: for
//! a positive semidefinite `Q`, `|Qᵢⱼ| ≤ √(QᵢᵢQⱼⱼ)`, so the computed
//! `dᵀQd` cannot fall below `−η·(Σ|dᵢ|√Qᵢᵢ)²` for a relative error `η` of
//! the entries and the sums. `η = 10⁻⁶` covers rounding in `f64` and a `Q`
//! stored in `f32` with room to spare; a diverging iterate gives ratios
//! near `−0.1`. A confirmed ray ends the solve with
//! [`crate::Status::Unbounded`]. Confirmations that fail (rounding, a
//! nearly singular `Q`) double the interval before the next one, so the
//! products stay a vanishing share of the work. The vectors are scaled by
//! `max|dᵢ|` first, so an iterate near the overflow threshold is still
//! tested in range.

use crate::qmatrix::QMatrix;

/// The relative rounding allowance `η` of the confirmation.
const ETA: f64 = 1e-6;

/// Twice the largest `|αᵢ|`, at least 2: the size whose crossing by an
/// iterate that started at `alpha` calls for a ray test.
pub(crate) fn doubled_scale(alpha: &[f64]) -> f64 {
    2.0 * alpha.iter().fold(1.0f64, |m, a| m.max(a.abs()))
}

/// The start of the ray and the state of the test, for one solve.
pub(crate) struct RayCheck {
    /// `α₀`, in the problem's variable order (empty when no ray exists).
    start: Vec<f64>,
    /// `G₀ = Qα₀ + p`.
    start_grad: Vec<f64>,
    /// `√Qᵢᵢ` (negative entries as 0).
    root_diag: Vec<f64>,
    /// Whether `uᵢ` is finite.
    capped: Vec<bool>,
    /// Cheap tests before the next confirmation may run.
    wait: u64,
    /// The wait after the next failed confirmation.
    backoff: u64,
    /// The `|αᵢ|` whose crossing calls for the next test: twice the
    /// largest seen (at least 2), infinite when no ray can exist.
    cap: f64,
}

impl RayCheck {
    /// The test for a solve that starts from `start` with gradient
    /// `start_grad`, for `Q`'s diagonal `diag` and upper bounds `upper`
    /// (all in the problem's order).
    pub(crate) fn new(start: &[f64], start_grad: &[f64], diag: &[f64], upper: &[f64]) -> Self {
        let possible = upper.iter().any(|u| u.is_infinite());
        let keep = |v: &[f64]| if possible { v.to_vec() } else { Vec::new() };
        Self {
            start: keep(start),
            start_grad: keep(start_grad),
            root_diag: if possible {
                diag.iter().map(|d| d.max(0.0).sqrt()).collect()
            } else {
                Vec::new()
            },
            capped: if possible {
                upper.iter().map(|u| u.is_finite()).collect()
            } else {
                Vec::new()
            },
            wait: 0,
            backoff: 1,
            cap: if possible {
                doubled_scale(start)
            } else {
                f64::INFINITY
            },
        }
    }

    /// Whether a ray can exist at all (some upper bound is infinite); when
    /// not, [`RayCheck::unbounded`] is always false and callers can skip
    /// gathering its arguments.
    pub(crate) fn possible(&self) -> bool {
        !self.start.is_empty()
    }

    /// Whether `magnitude`, an `|αᵢ|` just set, doubles the largest seen
    /// (then the cap doubles past it). An iterate running off along a ray
    /// grows geometrically, so testing at each crossing catches it within a
    /// few steps, long before it overflows, while a normal solve crosses a
    /// handful of times.
    pub(crate) fn crossed(&mut self, magnitude: f64) -> bool {
        let crossed = magnitude > self.cap;
        if crossed {
            self.cap = 2.0 * magnitude;
        }
        crossed
    }

    /// Whether `α₀ + t·(alpha − α₀)` is a feasible ray of certified negative
    /// curvature. `grad[i]` is the maintained `Gᵢ`, or NaN where it is not
    /// kept (a shrunk variable); a variable that moved with an unknown
    /// gradient skips the test. Both in the problem's order.
    pub(crate) fn unbounded(&mut self, q: &dyn QMatrix, alpha: &[f64], grad: &[f64]) -> bool {
        if !self.possible() {
            return false;
        }
        let mut d: Vec<f64> = alpha.iter().zip(&self.start).map(|(a, s)| a - s).collect();
        let scale = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if !(scale > 0.0 && scale.is_finite()) {
            return false;
        }
        for (di, &capped) in d.iter_mut().zip(&self.capped) {
            if *di < 0.0 || (*di > 0.0 && capped) {
                return false;
            }
            *di /= scale;
        }
        // Stage one, from the maintained gradient.
        let mut cheap = 0.0;
        for (k, &dk) in d.iter().enumerate() {
            if dk != 0.0 {
                let change = grad[k] - self.start_grad[k];
                if change.is_nan() {
                    return false;
                }
                cheap += dk * change;
            }
        }
        let size: f64 = d.iter().zip(&self.root_diag).map(|(v, r)| v * r).sum();
        let allowance = ETA * size * size;
        // `cheap` carries the factor `scale`: `G − G₀ = scale·Q(d/scale)`.
        // (NaN fails the comparison and so the test.)
        let clearly_negative = cheap < -allowance * scale;
        if !clearly_negative {
            return false;
        }
        if self.wait > 0 {
            self.wait -= 1;
            return false;
        }
        // Stage two: one fresh product.
        let mut qd = vec![0.0; d.len()];
        q.matvec(&d, &mut qd);
        let curvature: f64 = d.iter().zip(&qd).map(|(a, b)| a * b).sum();
        if curvature < -allowance {
            return true;
        }
        self.wait = self.backoff;
        self.backoff = self.backoff.saturating_mul(2);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qmatrix::DenseQ;

    fn dense(rows: &[&[f64]]) -> DenseQ {
        let n = rows.len();
        DenseQ::new(n, rows.iter().flat_map(|r| r.iter().copied()).collect()).unwrap()
    }

    #[test]
    fn a_ray_of_negative_curvature_is_certified() {
        // Along d = (1, 1), dᵀQd = 1 − 4 + 1 = −2.
        let q = dense(&[&[1.0, -2.0], &[-2.0, 1.0]]);
        let p = [-1.0, -1.0];
        let upper = [f64::INFINITY; 2];
        let mut check = RayCheck::new(&[0.0, 0.0], &p, &[1.0, 1.0], &upper);
        let alpha = [1e150, 1e150];
        let grad = [p[0] - 1e150, p[1] - 1e150];
        assert!(check.unbounded(&q, &alpha, &grad));
    }

    #[test]
    fn a_positive_semidefinite_q_is_never_certified() {
        let q = dense(&[&[1.0, 1.0], &[1.0, 1.0]]);
        let p = [-1.0, -1.0];
        let upper = [f64::INFINITY; 2];
        let mut check = RayCheck::new(&[0.0, 0.0], &p, &[1.0, 1.0], &upper);
        // A stale gradient claiming negative curvature is not trusted.
        let alpha = [1.0, 2.0];
        let grad = [-10.0, -10.0];
        assert!(!check.unbounded(&q, &alpha, &grad));
    }

    #[test]
    fn a_direction_against_a_finite_bound_is_not_a_ray() {
        let q = dense(&[&[1.0, -2.0], &[-2.0, 1.0]]);
        let p = [-1.0, -1.0];
        let upper = [f64::INFINITY, 10.0];
        let mut check = RayCheck::new(&[0.0, 0.0], &p, &[1.0, 1.0], &upper);
        let alpha = [5.0, 5.0];
        let grad = [-6.0, -6.0];
        assert!(!check.unbounded(&q, &alpha, &grad));
        // A decreasing variable bounds the ray too (the lower bounds are
        // finite).
        let upper = [f64::INFINITY; 2];
        let mut check = RayCheck::new(&[1.0, 1.0], &p, &[1.0, 1.0], &upper);
        let alpha = [5.0, 0.5];
        assert!(!check.unbounded(&q, &alpha, &grad));
    }
}
