//! Random convex QPs shared by the solver tests: `Q = AAᵀ + εI`, random
//! bounds (infinite upper bounds only where the ridge makes `Q` definite)
//! and an optional equality whose right-hand side some box point attains.

#![allow(dead_code)]

use proptest::prelude::*;
use solvers::{kkt, DenseQ, Equality, QMatrix, QpProblem, Solution};

/// A random problem: `Q = AAᵀ + εI`, bounds, optional equality.
#[derive(Debug, Clone)]
pub struct Case {
    pub n: usize,
    pub q: Vec<f64>,
    pub p: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub signs: Option<Vec<f64>>,
    pub rhs: f64,
}

pub fn case() -> impl Strategy<Value = Case> {
    (
        2usize..30,
        1usize..6,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(n, rank, with_eq, ridge, seed)| {
            let mut s = seed | 1;
            let mut next = move || {
                // xorshift64*: a small deterministic generator for test data.
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
            };
            let a: Vec<f64> = (0..n * rank).map(|_| 2.0 * next() - 1.0).collect();
            let eps = if ridge { 0.1 } else { 0.0 };
            let mut q = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..=i {
                    let v: f64 = (0..rank).map(|k| a[i * rank + k] * a[j * rank + k]).sum();
                    q[i * n + j] = v + if i == j { eps } else { 0.0 };
                    q[j * n + i] = q[i * n + j];
                }
            }
            let p: Vec<f64> = (0..n).map(|_| 2.0 * next() - 1.5).collect();
            let lower: Vec<f64> = (0..n)
                .map(|_| if next() < 0.5 { 0.0 } else { -next() })
                .collect();
            // Infinite upper bounds only where the ridge makes Q definite.
            let upper: Vec<f64> = lower
                .iter()
                .map(|l| {
                    if ridge && next() < 0.5 {
                        f64::INFINITY
                    } else {
                        l + 0.1 + 3.0 * next()
                    }
                })
                .collect();
            let signs: Vec<f64> = (0..n)
                .map(|_| if next() < 0.5 { 1.0 } else { -1.0 })
                .collect();
            // A right-hand side some box point attains.
            let rhs = (0..n)
                .map(|i| {
                    let u = if upper[i].is_finite() {
                        upper[i]
                    } else {
                        lower[i] + 2.0
                    };
                    signs[i] * (lower[i] + next() * (u - lower[i]))
                })
                .sum();
            Case {
                n,
                q,
                p,
                lower,
                upper,
                signs: with_eq.then_some(signs),
                rhs,
            }
        })
}

impl Case {
    pub fn problem(&self) -> QpProblem<'_> {
        QpProblem {
            linear: &self.p,
            equality: self.signs.as_ref().map(|s| Equality {
                signs: s,
                rhs: self.rhs,
            }),
            lower: &self.lower,
            upper: &self.upper,
            initial: None,
        }
    }

    pub fn objective(&self, q: &DenseQ, a: &[f64]) -> (f64, Vec<f64>) {
        let mut g = vec![0.0; self.n];
        q.matvec(a, &mut g);
        let obj = (0..self.n)
            .map(|i| 0.5 * a[i] * g[i] + self.p[i] * a[i])
            .sum();
        g.iter_mut().zip(&self.p).for_each(|(g, p)| *g += p);
        (obj, g)
    }
}

/// An SVM-like dual of size `n`: `Qᵢⱼ = 1/(1 + |i − j|)` (positive definite),
/// `p = −1`, `0 ≤ α` with no upper bound, alternating signs, `yᵀα = 0`.
pub fn decaying_case(n: usize) -> Case {
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            q[i * n + j] = 1.0 / (1.0 + (i as f64 - j as f64).abs());
        }
    }
    Case {
        n,
        q,
        p: vec![-1.0; n],
        lower: vec![0.0; n],
        upper: vec![f64::INFINITY; n],
        signs: Some(
            (0..n)
                .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        ),
        rhs: 0.0,
    }
}

/// `Qᵢⱼ = yᵢyⱼ exp(−(xᵢ − xⱼ)²)` on `n` points of the line in `[−1, 1]`
/// with labels `y` (about a third positive): an RBF SVM's dual Hessian.
pub fn rbf_problem(n: usize) -> (DenseQ, Vec<f64>) {
    let x: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| if (i * 7919) % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    let mut q = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            q[i * n + j] = y[i] * y[j] * (-(x[i] - x[j]).powi(2)).exp();
        }
    }
    (DenseQ::new(n, q).unwrap(), y)
}

/// The SVM-shaped problem `min ½αᵀQα + pᵀα` s.t. `yᵀα = 0`, `l ≤ α ≤ u`,
/// from 0.
pub fn svc_problem<'a>(p: &'a [f64], y: &'a [f64], l: &'a [f64], u: &'a [f64]) -> QpProblem<'a> {
    QpProblem {
        linear: p,
        equality: Some(Equality { signs: y, rhs: 0.0 }),
        lower: l,
        upper: u,
        initial: None,
    }
}

/// Checks that `sol` is feasible for `c` (box, and the equality to 1e-9)
/// and optimal to `tol` by a KKT measure recomputed from `Qα + p`, and
/// that its objective is the one at its point; returns that objective.
pub fn check_solution(
    c: &Case,
    q: &DenseQ,
    sol: &Solution,
    tol: f64,
) -> Result<f64, TestCaseError> {
    for i in 0..c.n {
        prop_assert!(c.lower[i] <= sol.alpha[i] && sol.alpha[i] <= c.upper[i]);
    }
    if let Some(s) = &c.signs {
        let r: f64 = s.iter().zip(&sol.alpha).map(|(s, a)| s * a).sum::<f64>() - c.rhs;
        prop_assert!(
            r.abs() <= 1e-9 * (1.0 + c.rhs.abs()),
            "equality residual {}",
            r
        );
    }
    let (obj, g) = c.objective(q, &sol.alpha);
    let viol = kkt::max_violation(&c.problem(), &sol.alpha, &g);
    prop_assert!(viol <= tol + 1e-9, "violation {}", viol);
    prop_assert!((obj - sol.objective).abs() <= 1e-9 * (1.0 + obj.abs()));
    Ok(obj)
}
