//! Euclidean projection onto `{α : yᵀα = Δ, l ≤ α ≤ u}` (`yᵢ = ±1`, `uᵢ`
//! possibly `+∞`) and onto the box alone.
//!
//! The projection of `v` is `α(λ) = clip(v − λy, l, u)` where `λ` is a root
//! of `r(λ) = yᵀα(λ) − Δ` (the KKT conditions of `min ½‖α − v‖²`). Each
//! term `yᵢαᵢ(λ)` is non-increasing and piecewise linear in `λ` with
//! breakpoints where `αᵢ` meets a bound, so `r` is too: sort the finite
//! breakpoints, find by bisection over them the segment where `r` changes
//! sign, and solve the linear piece exactly; beyond the outermost breakpoint
//! `r` has slope `−k`, `k` the number of variables with an infinite bound on
//! that side (Helgason, Kennington & Lall, Math. Prog. 1980; Pardalos &
//! Kovoor, Math. Prog. 1990). Cost `O(n log n)`.
//!
//! # Warm start
//! An iterative method projects many nearby points, and the root moves
//! little between them. [`project_from`] takes the previous root as a hint
//! and runs a safeguarded Newton iteration on `r` (Dai & Fletcher, Math.
//! Program. 106, 2006, use a secant variant for the same purpose): each
//! evaluation of `r` costs `O(n)` and also yields the slope `−k`, `k` the
//! number of free variables, and which variables sit at which bound. A
//! Newton step `λ + r(λ)/k` that lands on a point with the same bound
//! pattern stayed on one linear piece of `r`, so it is the exact root;
//! steps leaving the bracket `r(a) > 0 > r(b)` are replaced by bisection.
//! After [`NEWTON_STEPS`] evaluations without an exact root the sorted
//! breakpoint search above finishes the job, so the result is exact either
//! way; a warm start typically needs two or three evaluations.

use crate::error::SetupError;

/// Clips `v` into `[l, u]` elementwise.
pub fn project_box(v: &[f64], lower: &[f64], upper: &[f64]) -> Vec<f64> {
    v.iter()
        .zip(lower)
        .zip(upper)
        .map(|((&x, &l), &u)| x.max(l).min(u))
        .collect()
}

/// `α(λ) = clip(v − λy, l, u)`.
fn alpha_at(lambda: f64, v: &[f64], signs: &[f64], lower: &[f64], upper: &[f64]) -> Vec<f64> {
    (0..v.len())
        .map(|i| (v[i] - lambda * signs[i]).max(lower[i]).min(upper[i]))
        .collect()
}

/// `r(λ) = yᵀα(λ) − Δ`.
fn residual(lambda: f64, v: &[f64], signs: &[f64], lower: &[f64], upper: &[f64], rhs: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += signs[i] * (v[i] - lambda * signs[i]).max(lower[i]).min(upper[i]);
    }
    s - rhs
}

/// Evaluations of `r` the warm-started Newton iteration of [`project_from`]
/// may spend before it falls back to the sorted breakpoint search.
pub const NEWTON_STEPS: usize = 24;

/// A projection with the multiplier `λ` it was found with.
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    /// The projection `clip(v − λy, l, u)`, with rounding removed.
    pub alpha: Vec<f64>,
    /// The root `λ` of `r` (a hint for the next projection).
    pub lambda: f64,
}

/// The projection of `v` onto `{α : yᵀα = Δ, l ≤ α ≤ u}`. Errors when the
/// set is empty.
pub fn project(
    v: &[f64],
    signs: &[f64],
    rhs: f64,
    lower: &[f64],
    upper: &[f64],
) -> Result<Vec<f64>, SetupError> {
    project_from(v, signs, rhs, lower, upper, None).map(|p| p.alpha)
}

/// [`project`], starting the search for `λ` at `hint` (see the module
/// docs); `None` runs the sorted breakpoint search directly.
pub fn project_from(
    v: &[f64],
    signs: &[f64],
    rhs: f64,
    lower: &[f64],
    upper: &[f64],
    hint: Option<f64>,
) -> Result<Projected, SetupError> {
    check_feasible(signs, rhs, lower, upper)?;
    let lambda = hint
        .filter(|h| h.is_finite())
        .and_then(|h| newton_root(h, v, signs, lower, upper, rhs))
        .unwrap_or_else(|| sorted_root(v, signs, lower, upper, rhs));
    let alpha = finish(lambda, v, signs, rhs, lower, upper);
    Ok(Projected { alpha, lambda })
}

/// Errors when no `α` in the box has `yᵀα = Δ`.
fn check_feasible(signs: &[f64], rhs: f64, lower: &[f64], upper: &[f64]) -> Result<(), SetupError> {
    let (mut lo, mut hi) = (0.0, 0.0);
    for i in 0..signs.len() {
        if signs[i] > 0.0 {
            lo += lower[i];
            hi += upper[i];
        } else {
            lo -= upper[i];
            hi -= lower[i];
        }
    }
    if lo <= rhs && rhs <= hi {
        Ok(())
    } else {
        Err(SetupError::InfeasibleEquality {
            rhs,
            min: lo,
            max: hi,
        })
    }
}

/// Where `vᵢ − λyᵢ` sits: below, inside or above `[lᵢ, uᵢ]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Lower,
    Free,
    Upper,
}

/// The safeguarded Newton iteration of the module docs; `None` when it
/// did not find the exact root in [`NEWTON_STEPS`] evaluations.
fn newton_root(
    hint: f64,
    v: &[f64],
    signs: &[f64],
    lower: &[f64],
    upper: &[f64],
    rhs: f64,
) -> Option<f64> {
    let n = v.len();
    let (mut a, mut b) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut lambda = hint;
    let mut sides = vec![Side::Free; n];
    let mut previous = vec![Side::Free; n];
    let mut newton_step = false;
    let mut expand = 1.0f64.max(hint.abs());
    for _ in 0..NEWTON_STEPS {
        let mut sum = 0.0;
        let mut free = 0usize;
        for i in 0..n {
            let t = v[i] - lambda * signs[i];
            let (x, side) = if t <= lower[i] {
                (lower[i], Side::Lower)
            } else if t >= upper[i] {
                (upper[i], Side::Upper)
            } else {
                free += 1;
                (t, Side::Free)
            };
            sum += signs[i] * x;
            sides[i] = side;
        }
        let r = sum - rhs;
        if r == 0.0 || (newton_step && sides == previous) {
            return Some(lambda);
        }
        if r > 0.0 {
            a = lambda;
        } else {
            b = lambda;
        }
        let newton = if free > 0 {
            lambda + r / free as f64
        } else {
            f64::NAN
        };
        (lambda, newton_step) = if a < newton && newton < b {
            (newton, true)
        } else if a.is_finite() && b.is_finite() {
            (0.5 * (a + b), false)
        } else {
            // r is flat here or the step overshot an open bracket: expand.
            expand *= 2.0;
            (if r > 0.0 { a + expand } else { b - expand }, false)
        };
        if !(a < lambda && lambda < b) {
            // The bracket has shrunk to rounding.
            return None;
        }
        std::mem::swap(&mut sides, &mut previous);
    }
    None
}

/// The root of `r` by sorting the breakpoints (the module docs).
fn sorted_root(v: &[f64], signs: &[f64], lower: &[f64], upper: &[f64], rhs: f64) -> f64 {
    let n = v.len();
    // Breakpoints: yᵢ = +1: αᵢ = vᵢ − λ meets uᵢ at λ = vᵢ − uᵢ, lᵢ at vᵢ − lᵢ;
    // yᵢ = −1: αᵢ = vᵢ + λ meets lᵢ at lᵢ − vᵢ, uᵢ at uᵢ − vᵢ.
    let mut points: Vec<f64> = Vec::with_capacity(2 * n);
    for i in 0..n {
        let (a, b) = if signs[i] > 0.0 {
            (v[i] - upper[i], v[i] - lower[i])
        } else {
            (lower[i] - v[i], upper[i] - v[i])
        };
        for t in [a, b] {
            if t.is_finite() {
                points.push(t);
            }
        }
    }
    points.sort_by(f64::total_cmp);
    points.dedup();
    let r = |l: f64| residual(l, v, signs, lower, upper, rhs);
    if points.is_empty() {
        // Every variable is free on the whole line: r(λ) = yᵀv − nλ − Δ.
        (r(0.0)) / n.max(1) as f64
    } else {
        // First breakpoint with r ≤ 0 (r is non-increasing).
        let (mut a, mut b) = (0usize, points.len());
        while a < b {
            let mid = (a + b) / 2;
            if r(points[mid]) <= 0.0 {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        let k = a;
        if k < points.len() && r(points[k]) == 0.0 {
            points[k]
        } else if k == 0 {
            // Root left of all breakpoints: slope −(variables unbounded as λ → −∞).
            let free = (0..n)
                .filter(|&i| {
                    if signs[i] > 0.0 {
                        upper[i].is_infinite()
                    } else {
                        false
                    }
                })
                .count();
            points[0] + r(points[0]) / free.max(1) as f64
        } else if k == points.len() {
            let free = (0..n)
                .filter(|&i| {
                    if signs[i] > 0.0 {
                        false
                    } else {
                        upper[i].is_infinite()
                    }
                })
                .count();
            let last = points[k - 1];
            last + r(last) / free.max(1) as f64
        } else {
            let (x0, x1) = (points[k - 1], points[k]);
            let (r0, r1) = (r(x0), r(x1));
            x0 + r0 * (x1 - x0) / (r0 - r1)
        }
    }
}

/// `α(λ)` with the rounding removed: values within rounding of a bound
/// snap to it, and the residual `yᵀα − Δ` is moved onto free variables.
fn finish(
    lambda: f64,
    v: &[f64],
    signs: &[f64],
    rhs: f64,
    lower: &[f64],
    upper: &[f64],
) -> Vec<f64> {
    let n = v.len();
    let mut alpha = alpha_at(lambda, v, signs, lower, upper);
    // `vᵢ − λyᵢ` within its rounding of a bound is that bound: a value
    // 1e-17 off it would look free to the solvers' index sets.
    for i in 0..n {
        let slack = 4.0 * f64::EPSILON * (v[i].abs() + lambda.abs());
        for b in [lower[i], upper[i]] {
            if b.is_finite() && alpha[i] != b && (alpha[i] - b).abs() <= slack {
                alpha[i] = b;
            }
        }
    }
    // Remove the rounding left in yᵀα − Δ by moving free variables first,
    // so that variables at a bound stay exactly there (the solvers' index
    // sets depend on it), and only then, if needed, any variable.
    let mut excess = signs.iter().zip(&alpha).map(|(s, a)| s * a).sum::<f64>() - rhs;
    let scale = alpha.iter().fold(rhs.abs(), |m, a| m.max(a.abs()));
    for free_only in [true, false] {
        for i in 0..n {
            // Below the rounding of the free variables' own values the
            // excess cannot be removed exactly; moving a variable off its
            // bound by it would only make it look free.
            if excess.abs() <= 8.0 * f64::EPSILON * scale {
                break;
            }
            if free_only && !(lower[i] < alpha[i] && alpha[i] < upper[i]) {
                continue;
            }
            let target = alpha[i] - signs[i] * excess;
            let moved = target.max(lower[i]).min(upper[i]);
            excess -= signs[i] * (alpha[i] - moved);
            alpha[i] = moved;
        }
    }
    alpha
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feasible(a: &[f64], y: &[f64], rhs: f64, l: &[f64], u: &[f64]) -> bool {
        let s: f64 = a.iter().zip(y).map(|(a, y)| a * y).sum();
        (s - rhs).abs() <= 1e-12 * (1.0 + rhs.abs())
            && a.iter()
                .zip(l)
                .zip(u)
                .all(|((a, l), u)| *l <= *a && *a <= *u)
    }

    #[test]
    fn projects_onto_simplex_like_set() {
        // Σα = 1, α ≥ 0: projection of (0.5, 0.5, 0.5) is (1/3, 1/3, 1/3).
        let inf = f64::INFINITY;
        let a = project(&[0.5; 3], &[1.0; 3], 1.0, &[0.0; 3], &[inf; 3]).unwrap();
        for x in &a {
            assert!((x - 1.0 / 3.0).abs() < 1e-15);
        }
    }

    #[test]
    fn zero_is_kept_for_svm_start() {
        let y = [1.0, -1.0, 1.0, -1.0];
        let a = project(&[0.0; 4], &y, 0.0, &[0.0; 4], &[1.0; 4]).unwrap();
        assert_eq!(a, vec![0.0; 4]);
    }

    #[test]
    fn infinite_bounds_and_mixed_signs() {
        let inf = f64::INFINITY;
        let y = [1.0, -1.0, -1.0];
        let (l, u) = ([0.0; 3], [inf, 2.0, inf]);
        let a = project(&[5.0, -3.0, 0.5], &y, 1.0, &l, &u).unwrap();
        assert!(feasible(&a, &y, 1.0, &l, &u));
        // Optimality: v − α = λy on free coordinates.
        let lambda = (5.0 - a[0]) / 1.0;
        assert!(((-3.0f64).max(0.0) - 0.0 - a[1]).abs() < 1e-12 || a[1] > 0.0);
        assert!((0.5 - a[2] + lambda).abs() < 1e-12);
    }

    #[test]
    fn infeasible_set_is_an_error() {
        let r = project(&[0.0; 2], &[1.0, 1.0], 5.0, &[0.0; 2], &[1.0; 2]);
        assert!(matches!(r, Err(SetupError::InfeasibleEquality { .. })));
    }
}
