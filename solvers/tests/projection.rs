//! The exact projection onto `{α : yᵀα = Δ, l ≤ α ≤ u}` and onto the box:
//! feasibility to 1e-12, agreement with a brute-force reference (bisection
//! on the multiplier to the last bit), optimality against random feasible
//! points and against feasible moves from the result, and the degenerate
//! inputs — one sign only, infinite upper bounds, tied breakpoints, `Δ` at
//! either end of its range, an empty set; the warm-started search
//! (`project_from` with a hint) gives the same projection from any hint.

use proptest::prelude::*;
use solvers::projection::{project, project_box, project_from};
use solvers::SetupError;

/// A projection problem.
#[derive(Debug, Clone)]
struct Case {
    v: Vec<f64>,
    signs: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    rhs: f64,
}

/// `(min, max)` of `yᵀα` over the box.
fn range(c: &Case) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0, 0.0);
    for i in 0..c.v.len() {
        if c.signs[i] > 0.0 {
            lo += c.lower[i];
            hi += c.upper[i];
        } else {
            lo -= c.upper[i];
            hi -= c.lower[i];
        }
    }
    (lo, hi)
}

/// A xorshift64* stream of uniforms in `[0, 1)`.
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed | 1;
    move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Random cases. `kind` picks the degenerate family:
/// 0 general, 1 all signs `+1`, 2 all signs `−1`, 3 tied breakpoints
/// (values and bounds on a coarse grid), 4 `Δ` at the lower end of its
/// range, 5 at the upper end, 6 entries of `v` of size `1e10`. Infinite upper bounds are mixed in everywhere.
fn case() -> impl Strategy<Value = Case> {
    (1usize..40, 0u8..7, any::<bool>(), any::<u64>()).prop_map(|(n, kind, infinite, seed)| {
        let mut next = uniforms(seed);
        let grid = |x: f64| (x * 4.0).round() / 4.0;
        let mut v = Vec::with_capacity(n);
        let mut signs = Vec::with_capacity(n);
        let mut lower = Vec::with_capacity(n);
        let mut upper = Vec::with_capacity(n);
        for _ in 0..n {
            let mut x = 6.0 * next() - 3.0;
            let mut l = if next() < 0.5 { 0.0 } else { -2.0 * next() };
            let mut u = l + 0.1 + 3.0 * next();
            if kind == 6 && next() < 0.5 {
                // Huge entries, as `α − sG` with a long step `s`.
                x *= 1e10;
            }
            if kind == 3 {
                x = grid(x);
                l = grid(l);
                u = l + grid(u - l).max(0.25);
            }
            if infinite && next() < 0.4 {
                u = f64::INFINITY;
            }
            let s = match kind {
                1 => 1.0,
                2 => -1.0,
                _ if next() < 0.5 => 1.0,
                _ => -1.0,
            };
            v.push(x);
            signs.push(s);
            lower.push(l);
            upper.push(u);
        }
        let mut c = Case {
            v,
            signs,
            lower,
            upper,
            rhs: 0.0,
        };
        let (lo, hi) = range(&c);
        // A bounded window of the feasible range [lo, hi] to draw Δ from.
        let (a, b) = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => (lo, hi),
            (true, false) => (lo, lo + 10.0),
            (false, true) => (hi - 10.0, hi),
            (false, false) => (-5.0, 5.0),
        };
        let t = next();
        c.rhs = match kind {
            4 if lo.is_finite() => lo,
            5 if hi.is_finite() => hi,
            3 => grid(a + t * (b - a)).clamp(a, b),
            _ => a + t * (b - a),
        };
        c
    })
}

/// `yᵀα − Δ`.
fn residual(c: &Case, a: &[f64]) -> f64 {
    a.iter().zip(&c.signs).map(|(a, y)| a * y).sum::<f64>() - c.rhs
}

/// The scale feasibility is measured against.
fn scale(c: &Case, a: &[f64]) -> f64 {
    1.0 + c.rhs.abs() + a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}

fn assert_feasible(c: &Case, a: &[f64]) -> Result<(), TestCaseError> {
    for i in 0..a.len() {
        prop_assert!(
            c.lower[i] <= a[i] && a[i] <= c.upper[i],
            "α[{}] = {} outside [{}, {}]",
            i,
            a[i],
            c.lower[i],
            c.upper[i]
        );
    }
    let r = residual(c, a);
    prop_assert!(r.abs() <= 1e-12 * scale(c, a), "yᵀα − Δ = {}", r);
    Ok(())
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Brute-force reference: `α(λ) = clip(v − λy, l, u)` with `λ` found by
/// bisection on `yᵀα(λ) − Δ` (non-increasing in `λ`) until the bracket
/// cannot shrink, from a bracket grown by doubling.
fn reference(c: &Case) -> Vec<f64> {
    let at = |lambda: f64| -> Vec<f64> {
        (0..c.v.len())
            .map(|i| {
                (c.v[i] - lambda * c.signs[i])
                    .max(c.lower[i])
                    .min(c.upper[i])
            })
            .collect()
    };
    let r = |lambda: f64| residual(c, &at(lambda));
    let (mut a, mut b) = (-1.0, 1.0);
    while r(a) < 0.0 {
        a *= 2.0;
    }
    while r(b) > 0.0 {
        b *= 2.0;
    }
    for _ in 0..2000 {
        let m = 0.5 * (a + b);
        if m <= a || m >= b {
            break;
        }
        if r(m) > 0.0 {
            a = m;
        } else {
            b = m;
        }
    }
    let (ra, rb) = (at(a), at(b));
    if residual(c, &ra).abs() <= residual(c, &rb).abs() {
        ra
    } else {
        rb
    }
}

/// A random feasible point built without the code under test: a random box
/// point (often with entries at a bound), then variables pushed toward the bound that reduces `|yᵀα − Δ|`
/// one at a time.
fn random_feasible(c: &Case, next: &mut impl FnMut() -> f64) -> Vec<f64> {
    let n = c.v.len();
    let mut a: Vec<f64> = (0..n)
        .map(|i| {
            let u = if c.upper[i].is_finite() {
                c.upper[i]
            } else {
                c.lower[i] + 5.0
            };
            // Often exactly at a bound, as solutions are.
            match next() {
                t if t < 0.2 => c.lower[i],
                t if t < 0.3 => u,
                _ => c.lower[i] + next() * (u - c.lower[i]),
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (next() * (i + 1) as f64) as usize % (i + 1));
    }
    for &i in &order {
        let r = residual(c, &a);
        // Changing αᵢ by δ changes the residual by yᵢδ; aim for δ = −yᵢr.
        a[i] = (a[i] - c.signs[i] * r).max(c.lower[i]).min(c.upper[i]);
    }
    a
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn projection_is_feasible_and_matches_the_reference(c in case()) {
        let a = project(&c.v, &c.signs, c.rhs, &c.lower, &c.upper).unwrap();
        assert_feasible(&c, &a)?;
        let b = reference(&c);
        let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        // The reference resolves λ only to the spacing of floats near the
        // largest |vᵢ|, hence the second term.
        let v_max = c.v.iter().map(|x| x.abs()).fold(0.0, f64::max);
        prop_assert!(d <= 1e-10 * scale(&c, &b) + 1e-14 * v_max, "differs from the reference by {}", d);
    }

    #[test]
    fn projection_is_nearest(c in case(), seed in any::<u64>()) {
        let a = project(&c.v, &c.signs, c.rhs, &c.lower, &c.upper).unwrap();
        let best = sq_dist(&a, &c.v);
        let slack = 1e-10 * (1.0 + best);
        let mut next = uniforms(seed);
        // Random feasible points.
        for _ in 0..50 {
            let z = random_feasible(&c, &mut next);
            if residual(&c, &z).abs() <= 1e-12 * scale(&c, &z) {
                prop_assert!(best <= sq_dist(&z, &c.v) + slack, "{} > {}", best, sq_dist(&z, &c.v));
            }
        }
        // Feasible moves from the result: αᵢ += yᵢt, αⱼ −= yⱼt.
        let n = c.v.len();
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                for t in [1e-3, -1e-3, 0.3, -0.3] {
                    let mut z = a.clone();
                    z[i] += c.signs[i] * t;
                    z[j] -= c.signs[j] * t;
                    let inside = (0..n).all(|k| c.lower[k] <= z[k] && z[k] <= c.upper[k]);
                    if inside {
                        prop_assert!(best <= sq_dist(&z, &c.v) + slack, "move ({}, {}, {}) is closer", i, j, t);
                    }
                }
            }
        }
    }

    #[test]
    fn projecting_a_feasible_point_keeps_it(c in case(), seed in any::<u64>()) {
        let mut next = uniforms(seed);
        let z = random_feasible(&c, &mut next);
        let c = Case { rhs: c.rhs + residual(&c, &z), ..c };
        let a = project(&z, &c.signs, c.rhs, &c.lower, &c.upper).unwrap();
        let d = a.iter().zip(&z).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        prop_assert!(d <= 1e-12 * scale(&c, &z), "moved by {}", d);
    }

    #[test]
    fn warm_started_projection_matches_the_reference(
        c in case(),
        hint in prop_oneof![-1e3f64..1e3, -1e-3f64..1e-3, Just(0.0)],
        exact_hint in any::<bool>(),
    ) {
        // The hint is the cold start's own root (a perfect warm start) or
        // an arbitrary number; either way the result is the exact projection.
        let cold = project_from(&c.v, &c.signs, c.rhs, &c.lower, &c.upper, None).unwrap();
        let hint = if exact_hint { cold.lambda } else { hint };
        let warm = project_from(&c.v, &c.signs, c.rhs, &c.lower, &c.upper, Some(hint)).unwrap();
        assert_feasible(&c, &warm.alpha)?;
        let b = reference(&c);
        let d = warm.alpha.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        let v_max = c.v.iter().map(|x| x.abs()).fold(0.0, f64::max);
        prop_assert!(d <= 1e-10 * scale(&c, &b) + 1e-14 * v_max, "differs from the reference by {}", d);
        prop_assert_eq!(cold.alpha, project(&c.v, &c.signs, c.rhs, &c.lower, &c.upper).unwrap());
    }

    #[test]
    fn box_projection_is_the_clip(c in case()) {
        let a = project_box(&c.v, &c.lower, &c.upper);
        for i in 0..a.len() {
            prop_assert_eq!(a[i], c.v[i].max(c.lower[i]).min(c.upper[i]));
        }
    }

    #[test]
    fn outside_the_range_is_an_error(c in case(), above in any::<bool>(), gap in 1e-9f64..10.0) {
        let (lo, hi) = range(&c);
        let rhs = if above { hi + gap } else { lo - gap };
        if rhs.is_finite() {
            let r = project(&c.v, &c.signs, rhs, &c.lower, &c.upper);
            prop_assert!(
                matches!(r, Err(SetupError::InfeasibleEquality { .. })),
                "rhs {} outside [{}, {}] gave {:?}", rhs, lo, hi, r
            );
        }
    }
}

#[test]
fn a_single_feasible_point_is_found() {
    // Δ at the top of the range: every variable at the bound that raises yᵀα.
    let y = [1.0, -1.0, 1.0];
    let (l, u) = ([0.0, -1.0, 0.5], [2.0, 3.0, 0.5]);
    let a = project(&[10.0, 10.0, 10.0], &y, 2.0 + 1.0 + 0.5, &l, &u).unwrap();
    assert_eq!(a, vec![2.0, -1.0, 0.5]);
    let a = project(&[10.0, 10.0, 10.0], &y, -3.0 + 0.5, &l, &u).unwrap();
    assert_eq!(a, vec![0.0, 3.0, 0.5]);
}

#[test]
fn tied_breakpoints() {
    // Every breakpoint at the same λ: v − λ hits 0 at λ = 1 for all.
    let n = 6;
    let y = vec![1.0; n];
    let (l, u) = (vec![0.0; n], vec![2.0; n]);
    let a = project(&[1.0; 6], &y, 3.0, &l, &u).unwrap();
    for x in &a {
        assert!((x - 0.5).abs() <= 1e-15);
    }
    let a = project(&[1.0; 6], &y, 0.0, &l, &u).unwrap();
    assert_eq!(a, vec![0.0; n]);
}

#[test]
fn infinite_upper_bounds_with_both_signs() {
    let inf = f64::INFINITY;
    let y = [1.0, -1.0];
    let (l, u) = ([0.0; 2], [inf; 2]);
    // Any Δ is feasible; the projection of (0, 0) onto α₁ − α₂ = Δ, α ≥ 0.
    let a = project(&[0.0, 0.0], &y, 5.0, &l, &u).unwrap();
    assert_eq!(a, vec![5.0, 0.0]);
    let a = project(&[0.0, 0.0], &y, -5.0, &l, &u).unwrap();
    assert_eq!(a, vec![0.0, 5.0]);
    let a = project(&[3.0, 1.0], &y, 0.0, &l, &u).unwrap();
    assert_eq!(a, vec![2.0, 2.0]);
}

#[test]
fn one_sign_with_an_infinite_bound_is_bounded_below_only() {
    let inf = f64::INFINITY;
    let y = [-1.0, -1.0];
    let (l, u) = ([0.0; 2], [1.0, inf]);
    // yᵀα ∈ (−∞, 0]: Δ = 1 is infeasible, Δ = −10 is not.
    assert!(matches!(
        project(&[0.0; 2], &y, 1.0, &l, &u),
        Err(SetupError::InfeasibleEquality { .. })
    ));
    let a = project(&[0.0; 2], &y, -10.0, &l, &u).unwrap();
    assert_eq!(a, vec![1.0, 9.0]);
}
