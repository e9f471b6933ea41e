//! Tests of the verifier (`svm_dual::verify`): hand-computed optima, a naive
//! O(n²) dense re-implementation of every field, the exact best-bias search
//! against grid and ternary searches, weak duality on random feasible
//! points (proptest), thread-count independence and dense/sparse agreement.

use proptest::prelude::*;
use svm_dual::data::Features;
use svm_dual::formulation::{Formulation, Loss};
use svm_dual::kernel::Kernel;
use svm_dual::verify::{
    best_bias, certificate_from_values, try_verify, try_verify_detailed, verify, Certificate,
};

/// SplitMix64: a small deterministic generator for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Random data: `n × d` dense values with about `density` non-zeros, labels
/// with both classes.
fn random_data(rng: &mut Rng, n: usize, d: usize, density: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let x = (0..n)
        .map(|_| {
            (0..d)
                .map(|_| {
                    if rng.unit() < density {
                        rng.range(-2.0, 2.0)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let y = (0..n)
        .map(|i| {
            if i % 3 == 0 || rng.unit() < 0.4 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    (x, y)
}

fn dense(x: &[Vec<f64>]) -> Features {
    let d = x.first().map_or(0, Vec::len);
    Features::from_dense(x.concat(), x.len(), d)
}

fn sparse(x: &[Vec<f64>]) -> Features {
    let d = x.first().map_or(0, Vec::len);
    let rows: Vec<Vec<(u32, f64)>> = x
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(k, &v)| (k as u32, v))
                .collect()
        })
        .collect();
    Features::from_sparse_rows(&rows, d)
}

/// The kernel written out directly (RBF through `Σ(a − b)²`, not norms).
fn naive_kernel(kernel: Kernel, a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(p, q)| p * q).sum();
    match kernel {
        Kernel::Linear => dot,
        Kernel::Rbf { gamma } => {
            (-gamma * a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>()).exp()
        }
        Kernel::Poly {
            gamma,
            coef0,
            degree,
        } => (gamma * dot + coef0).powi(degree as i32),
        Kernel::Sigmoid { gamma, coef0 } => (gamma * dot + coef0).tanh(),
    }
}

/// `h(b) = Σ ℓ(yᵢ, yᵢ(gᵢ + b))`.
fn h(g: &[f64], y: &[f64], f: &Formulation, b: f64) -> f64 {
    g.iter()
        .zip(y)
        .map(|(&gi, &yi)| f.loss_value(yi, yi * (gi + b)))
        .sum()
}

/// `min_b h(b)` without the sweep: the minimum over all breakpoints (exact
/// for L1, whose minimum sits on one) and a ternary search (exact to
/// rounding for L2, which is convex and smooth).
fn naive_min_h(g: &[f64], y: &[f64], f: &Formulation) -> f64 {
    let t: Vec<f64> = g.iter().zip(y).map(|(gi, yi)| yi - gi).collect();
    let at_breakpoints = t
        .iter()
        .map(|&b| h(g, y, f, b))
        .fold(f64::INFINITY, f64::min);
    let lo0 = t.iter().copied().fold(f64::INFINITY, f64::min) - 1.0;
    let hi0 = t.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 1.0;
    let (mut lo, mut hi) = (lo0, hi0);
    for _ in 0..300 {
        let m1 = lo + (hi - lo) / 3.0;
        let m2 = hi - (hi - lo) / 3.0;
        if h(g, y, f, m1) <= h(g, y, f, m2) {
            hi = m2;
        } else {
            lo = m1;
        }
    }
    at_breakpoints.min(h(g, y, f, 0.5 * (lo + hi)))
}

/// The certificate computed from the definitions, O(n²) with a full
/// kernel matrix.
struct Naive {
    dual: f64,
    primal: f64,
    primal_best: f64,
    bound: f64,
    equality: f64,
    max_violation: f64,
    complementarity: f64,
    n_sv: usize,
    n_bounded: usize,
    accuracy: f64,
}

fn naive(
    x: &[Vec<f64>],
    y: &[f64],
    f: &Formulation,
    kernel: Kernel,
    alpha: &[f64],
    b: f64,
) -> Naive {
    let n = x.len();
    let b = if f.bias { b } else { 0.0 };
    let k: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| naive_kernel(kernel, &x[i], &x[j])).collect())
        .collect();
    let g: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| alpha[j] * y[j] * k[i][j]).sum())
        .collect();
    let mut wsq = 0.0;
    for i in 0..n {
        for j in 0..n {
            wsq += alpha[i] * alpha[j] * y[i] * y[j] * k[i][j];
        }
    }
    let l2 = f.loss == Loss::L2;
    let c: Vec<f64> = y.iter().map(|&yi| f.cost(yi)).collect();
    let u: Vec<f64> = y.iter().map(|&yi| f.upper_bound(yi)).collect();
    let shift: f64 = if l2 {
        (0..n).map(|i| alpha[i] * alpha[i] / c[i]).sum()
    } else {
        0.0
    };
    let dual = alpha.iter().sum::<f64>() - 0.5 * wsq - 0.5 * shift;
    let primal = 0.5 * wsq + h(&g, y, f, b);
    let primal_best = if f.bias {
        (0.5 * wsq + naive_min_h(&g, y, f)).min(primal)
    } else {
        primal
    };
    let grad: Vec<f64> = (0..n)
        .map(|i| y[i] * g[i] + if l2 { alpha[i] / c[i] } else { 0.0 } - 1.0)
        .collect();
    let max_violation = if f.bias {
        let up =
            (0..n).filter(|&i| (alpha[i] < u[i] && y[i] > 0.0) || (alpha[i] > 0.0 && y[i] < 0.0));
        let low =
            (0..n).filter(|&i| (alpha[i] < u[i] && y[i] < 0.0) || (alpha[i] > 0.0 && y[i] > 0.0));
        let m = up
            .map(|i| -y[i] * grad[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let big_m = low.map(|i| -y[i] * grad[i]).fold(f64::INFINITY, f64::min);
        if m.is_finite() && big_m.is_finite() {
            (m - big_m).max(0.0)
        } else {
            0.0
        }
    } else {
        (0..n)
            .map(|i| {
                if alpha[i] <= 0.0 {
                    (-grad[i]).max(0.0)
                } else if alpha[i] >= u[i] {
                    grad[i].max(0.0)
                } else {
                    grad[i].abs()
                }
            })
            .fold(0.0, f64::max)
    };
    let mut complementarity = 0.0_f64;
    for i in 0..n {
        let margin = y[i] * (g[i] + b);
        let slack = (1.0 - margin).max(0.0);
        complementarity = complementarity.max(alpha[i].max(0.0) * (margin - 1.0).max(0.0));
        complementarity = complementarity.max(if l2 {
            (alpha[i] - c[i] * slack).abs()
        } else {
            (c[i] - alpha[i]).max(0.0) * slack
        });
    }
    Naive {
        dual,
        primal,
        primal_best,
        bound: (0..n)
            .map(|i| (-alpha[i]).max(alpha[i] - u[i]).max(0.0))
            .fold(0.0, f64::max),
        equality: if f.bias {
            (0..n).map(|i| y[i] * alpha[i]).sum::<f64>().abs()
        } else {
            0.0
        },
        max_violation,
        complementarity,
        n_sv: alpha.iter().filter(|&&a| a > 0.0).count(),
        n_bounded: if l2 {
            0
        } else {
            (0..n)
                .filter(|&i| alpha[i] > 0.0 && alpha[i] >= c[i] * (1.0 - 1e-12))
                .count()
        },
        accuracy: (0..n).filter(|&i| y[i] * (g[i] + b) > 0.0).count() as f64 / n as f64,
    }
}

/// `|a − b| ≤ tol · max(1, |a|, |b|, scale)`.
fn assert_close(what: &str, a: f64, b: f64, tol: f64, scale: f64) {
    let s = 1f64.max(a.abs()).max(b.abs()).max(scale);
    assert!(
        (a - b).abs() <= tol * s,
        "{what}: {a} vs {b} (diff {:e})",
        (a - b).abs()
    );
}

/// Random `α`: some zeros, some at `uᵢ` (L1), the rest inside.
fn random_alpha(rng: &mut Rng, y: &[f64], f: &Formulation) -> Vec<f64> {
    y.iter()
        .map(|&yi| {
            let c = f.cost(yi);
            match rng.next_u64() % 4 {
                0 => 0.0,
                1 if f.loss == Loss::L1 => c,
                _ => rng.range(0.0, c),
            }
        })
        .collect()
}

#[test]
fn two_points_l1_hard_margin() {
    // x = 0 (y = −1), x = 2 (y = +1): w = 1, b = −1, α = (½, ½), P = D = ½.
    let x = Features::from_dense(vec![0.0, 2.0], 2, 1);
    let y = [-1.0, 1.0];
    let f = Formulation {
        loss: Loss::L1,
        c: 10.0,
        ..Default::default()
    };
    let cert = verify(&x, &y, &f, Kernel::Linear, &[0.5, 0.5], -1.0);
    assert_eq!(cert.dual_objective, 0.5);
    assert_eq!(cert.primal_objective, 0.5);
    assert_eq!(cert.primal_objective_best_bias, 0.5);
    assert_eq!(cert.best_bias, Some(-1.0));
    assert_eq!(cert.absolute_gap, 0.0);
    assert_eq!(cert.kkt.max_violation, 0.0);
    assert_eq!(cert.kkt.complementarity, 0.0);
    assert_eq!(cert.kkt.bound_violation, 0.0);
    assert_eq!(cert.kkt.equality_violation, 0.0);
    assert_eq!((cert.n_sv, cert.n_bounded_sv), (2, 0));
    assert_eq!(cert.training_accuracy, 1.0);
}

#[test]
fn two_points_l2_closed_form() {
    // D(a) = 2a − 2a² − a²/C with α = (a, a): a = C/(2C + 1); C = 1 gives
    // a = ⅓, w = ⅔, b = −⅔, P = D = ⅓.
    let x = Features::from_dense(vec![0.0, 2.0], 2, 1);
    let y = [-1.0, 1.0];
    let f = Formulation {
        loss: Loss::L2,
        c: 1.0,
        ..Default::default()
    };
    let a = 1.0 / 3.0;
    let cert = verify(&x, &y, &f, Kernel::Linear, &[a, a], -2.0 / 3.0);
    assert_close("dual", cert.dual_objective, 1.0 / 3.0, 1e-15, 1.0);
    assert_close("primal", cert.primal_objective, 1.0 / 3.0, 1e-15, 1.0);
    assert_close("best bias", cert.best_bias.unwrap(), -2.0 / 3.0, 1e-15, 1.0);
    assert!(cert.absolute_gap.abs() < 1e-15, "{}", cert.absolute_gap);
    assert!(cert.kkt.max_violation < 1e-15);
    assert!(cert.kkt.complementarity < 1e-15);
    assert_eq!(cert.n_bounded_sv, 0);
}

#[test]
fn two_points_zero_alpha() {
    // α = 0: D = 0, g = 0, best b anywhere in [−1, 1] with h = 2C = 2.
    let x = Features::from_dense(vec![0.0, 2.0], 2, 1);
    let y = [-1.0, 1.0];
    let f = Formulation {
        loss: Loss::L1,
        c: 1.0,
        ..Default::default()
    };
    let cert = verify(&x, &y, &f, Kernel::Linear, &[0.0, 0.0], 3.0);
    assert_eq!(cert.dual_objective, 0.0);
    assert_eq!(cert.primal_objective, 4.0); // hinge of −1·3 = 4 and of +1·3 = 0
    assert_eq!(cert.primal_objective_best_bias, 2.0);
    assert_eq!(cert.best_bias, Some(1.0)); // the minimiser closest to 3
    assert_eq!(cert.absolute_gap, 2.0);
    assert_eq!(cert.relative_gap, 1.0);
    // −yG = y: m = 1 (row 1), M = −1 (row 0).
    assert_eq!(cert.kkt.max_violation, 2.0);
    let detailed = try_verify_detailed(&x, &y, &f, Kernel::Linear, &[0.0, 0.0], 3.0).unwrap();
    assert_eq!(detailed.max_violating_pair, Some([1, 0]));
    assert_eq!(detailed.certificate, cert);
    assert_eq!(cert.n_sv, 0);
    assert_eq!(cert.training_accuracy, 0.5);
}

#[test]
fn no_bias_ignores_b() {
    let x = Features::from_dense(vec![1.0, -1.0], 2, 1);
    let y = [1.0, -1.0];
    let f = Formulation {
        loss: Loss::L1,
        c: 1.0,
        bias: false,
        ..Default::default()
    };
    // g = (α₀ + α₁, −α₀ − α₁) = (1, −1): on the margin, optimal (w = 1).
    let cert = verify(&x, &y, &f, Kernel::Linear, &[0.25, 0.75], 100.0);
    assert_eq!(cert.best_bias, None);
    let detailed = try_verify_detailed(&x, &y, &f, Kernel::Linear, &[0.25, 0.75], 100.0).unwrap();
    assert_eq!(detailed.bias_used, 0.0);
    assert_eq!(cert.primal_objective_best_bias, cert.primal_objective);
    assert_eq!(cert.kkt.equality_violation, 0.0);
    assert_eq!(cert.kkt.max_violation, 0.0);
    assert_eq!(cert.absolute_gap, 0.0);
}

#[test]
fn bad_lengths_are_errors() {
    let x = Features::from_dense(vec![0.0, 2.0], 2, 1);
    let f = Formulation::default();
    assert!(try_verify(&x, &[1.0], &f, Kernel::Linear, &[0.0, 0.0], 0.0).is_err());
    assert!(try_verify(&x, &[1.0, -1.0], &f, Kernel::Linear, &[0.0], 0.0).is_err());
}

fn all_formulations() -> Vec<Formulation> {
    let mut out = Vec::new();
    for loss in [Loss::L1, Loss::L2] {
        for bias in [true, false] {
            out.push(Formulation {
                loss,
                c: 0.7,
                weight_positive: 2.0,
                weight_negative: 0.5,
                bias,
            });
        }
    }
    out
}

const KERNELS: [Kernel; 4] = [
    Kernel::Linear,
    Kernel::Rbf { gamma: 0.3 },
    Kernel::Poly {
        gamma: 0.5,
        coef0: 1.0,
        degree: 3,
    },
    Kernel::Sigmoid {
        gamma: 0.2,
        coef0: -0.5,
    },
];

#[test]
fn matches_naive_dense_implementation() {
    let mut rng = Rng(7);
    for trial in 0..12 {
        let n = 5 + trial * 3;
        let (x, y) = random_data(&mut rng, n, 4, 0.7);
        for f in all_formulations() {
            for kernel in KERNELS {
                let alpha = random_alpha(&mut rng, &y, &f);
                let b = rng.range(-1.5, 1.5);
                let want = naive(&x, &y, &f, kernel, &alpha, b);
                for features in [dense(&x), sparse(&x)] {
                    let got = verify(&features, &y, &f, kernel, &alpha, b);
                    let scale = want.primal.abs().max(want.dual.abs());
                    assert_close("dual", got.dual_objective, want.dual, 1e-11, scale);
                    assert_close("primal", got.primal_objective, want.primal, 1e-11, scale);
                    assert_close(
                        "best",
                        got.primal_objective_best_bias,
                        want.primal_best,
                        1e-10,
                        scale,
                    );
                    assert!(got.primal_objective_best_bias <= got.primal_objective);
                    assert_close(
                        "gap",
                        got.absolute_gap,
                        want.primal_best - want.dual,
                        1e-10,
                        scale,
                    );
                    assert_close("bound", got.kkt.bound_violation, want.bound, 1e-12, 1.0);
                    assert_close(
                        "equality",
                        got.kkt.equality_violation,
                        want.equality,
                        1e-12,
                        1.0,
                    );
                    assert_close(
                        "violation",
                        got.kkt.max_violation,
                        want.max_violation,
                        1e-11,
                        scale,
                    );
                    assert_close(
                        "compl",
                        got.kkt.complementarity,
                        want.complementarity,
                        1e-11,
                        scale,
                    );
                    assert_eq!(got.n_sv, want.n_sv);
                    assert_eq!(got.n_bounded_sv, want.n_bounded);
                    assert_eq!(got.training_accuracy, want.accuracy);
                    assert_eq!(got.best_bias.is_some(), f.bias);
                    let detailed =
                        try_verify_detailed(&features, &y, &f, kernel, &alpha, b).unwrap();
                    assert_eq!(detailed.certificate, got);
                    if let (true, Some([i, j])) = (f.bias, detailed.max_violating_pair) {
                        let u = |k: usize| f.upper_bound(y[k]);
                        let up = |k: usize| {
                            (alpha[k] < u(k) && y[k] > 0.0) || (alpha[k] > 0.0 && y[k] < 0.0)
                        };
                        let low = |k: usize| {
                            (alpha[k] < u(k) && y[k] < 0.0) || (alpha[k] > 0.0 && y[k] > 0.0)
                        };
                        assert!(up(i) && low(j), "pair {i}, {j}");
                    }
                }
            }
        }
    }
}

#[test]
fn best_bias_beats_grid_and_ternary_search() {
    let mut rng = Rng(11);
    for trial in 0..200 {
        let n = 1 + trial % 17;
        let g: Vec<f64> = (0..n).map(|_| rng.range(-3.0, 3.0)).collect();
        let mut y: Vec<f64> = (0..n)
            .map(|_| if rng.unit() < 0.5 { 1.0 } else { -1.0 })
            .collect();
        if trial % 5 == 0 {
            // Ties: repeated breakpoints.
            y.iter_mut().for_each(|v| *v = 1.0);
        }
        for loss in [Loss::L1, Loss::L2] {
            let f = Formulation {
                loss,
                c: rng.range(0.1, 3.0),
                weight_positive: rng.range(0.2, 2.0),
                weight_negative: rng.range(0.2, 2.0),
                bias: true,
            };
            let hint = rng.range(-5.0, 5.0);
            let b = best_bias(&g, &y, &f, hint);
            let hb = h(&g, &y, &f, b);
            let grid_min = (0..=20_000)
                .map(|k| h(&g, &y, &f, -8.0 + 16.0 * k as f64 / 20_000.0))
                .fold(f64::INFINITY, f64::min);
            assert!(
                hb <= grid_min + 1e-12 * grid_min.max(1.0),
                "{loss:?}: {hb} > grid {grid_min}"
            );
            let reference = naive_min_h(&g, &y, &f);
            assert_close("ternary", hb, reference, 1e-12, 1.0);
        }
    }
    // Repeated breakpoints with equal costs on both sides (zero slope).
    let f = Formulation {
        loss: Loss::L1,
        ..Default::default()
    };
    let g = [0.0, 0.0, -2.0, -2.0];
    let y = [1.0, 1.0, -1.0, -1.0];
    // t = (1, 1, 1, 1): h = 2|…| kink at 1 only.
    assert_eq!(best_bias(&g, &y, &f, -4.0), 1.0);
}

#[test]
fn thread_count_does_not_change_the_certificate() {
    let mut rng = Rng(3);
    let (x, y) = random_data(&mut rng, 450, 40, 0.5);
    let run =
        |threads: usize, features: &Features, f: &Formulation, kernel: Kernel, alpha: &[f64]| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| verify(features, &y, f, kernel, alpha, 0.3))
        };
    for features in [dense(&x), sparse(&x)] {
        for (f, kernel) in all_formulations().into_iter().zip(KERNELS) {
            let alpha = random_alpha(&mut rng, &y, &f);
            let one: Certificate = run(1, &features, &f, kernel, &alpha);
            let two = run(2, &features, &f, kernel, &alpha);
            let four = run(4, &features, &f, kernel, &alpha);
            assert_eq!(one, two);
            assert_eq!(one, four);
        }
    }
}

#[test]
fn dense_and_sparse_storage_agree() {
    let mut rng = Rng(5);
    let (x, y) = random_data(&mut rng, 200, 12, 0.4);
    for f in all_formulations() {
        for kernel in KERNELS {
            let alpha = random_alpha(&mut rng, &y, &f);
            let a = verify(&dense(&x), &y, &f, kernel, &alpha, -0.2);
            let b = verify(&sparse(&x), &y, &f, kernel, &alpha, -0.2);
            let scale = a.primal_objective.abs();
            for (what, p, q) in [
                ("dual", a.dual_objective, b.dual_objective),
                ("primal", a.primal_objective, b.primal_objective),
                (
                    "best",
                    a.primal_objective_best_bias,
                    b.primal_objective_best_bias,
                ),
                ("gap", a.absolute_gap, b.absolute_gap),
                ("violation", a.kkt.max_violation, b.kkt.max_violation),
                ("compl", a.kkt.complementarity, b.kkt.complementarity),
            ] {
                assert_close(what, p, q, 1e-12, scale);
            }
            assert_eq!(a.kkt.bound_violation, b.kkt.bound_violation);
            assert_eq!(a.kkt.equality_violation, b.kkt.equality_violation);
            assert_eq!((a.n_sv, a.n_bounded_sv), (b.n_sv, b.n_bounded_sv));
            assert_eq!(a.training_accuracy, b.training_accuracy);
        }
    }
}

#[test]
fn certificate_from_values_matches_verify() {
    let mut rng = Rng(9);
    let (x, y) = random_data(&mut rng, 30, 3, 1.0);
    let f = Formulation::default();
    let alpha = random_alpha(&mut rng, &y, &f);
    let features = dense(&x);
    let g = svm_dual::verify::decision_values(&features, Kernel::Linear, &y, &alpha);
    assert_eq!(
        certificate_from_values(&g, &y, &f, &alpha, 0.1),
        verify(&features, &y, &f, Kernel::Linear, &alpha, 0.1)
    );
}

/// Projects `α` onto the feasible set cheaply: clamp to `[0, uᵢ]`, then
/// scale the heavier class down so that `yᵀα = 0` (scaling down keeps the
/// bounds).
fn make_feasible(alpha: &mut [f64], y: &[f64], f: &Formulation) {
    for (a, &yi) in alpha.iter_mut().zip(y) {
        *a = a.max(0.0).min(f.upper_bound(yi));
    }
    if !f.bias {
        return;
    }
    let pos: f64 = alpha
        .iter()
        .zip(y)
        .filter(|(_, &yi)| yi > 0.0)
        .map(|(a, _)| a)
        .sum();
    let neg: f64 = alpha
        .iter()
        .zip(y)
        .filter(|(_, &yi)| yi < 0.0)
        .map(|(a, _)| a)
        .sum();
    let (heavy, ratio) = if pos > neg {
        (1.0, neg / pos)
    } else {
        (-1.0, pos / neg.max(f64::MIN_POSITIVE))
    };
    for (a, &yi) in alpha.iter_mut().zip(y) {
        if yi == heavy {
            *a *= ratio;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Weak duality: `min_b P(w(α), b) ≥ D(α)` for every feasible `α` and a
    /// positive semidefinite kernel.
    #[test]
    fn weak_duality(
        seed in any::<u64>(),
        n in 2usize..25,
        d in 1usize..5,
        l1 in any::<bool>(),
        bias in any::<bool>(),
        kernel_pick in 0usize..3,
        c in 0.05f64..20.0,
        wp in 0.2f64..3.0,
        b in -3.0f64..3.0,
        raw_alpha in proptest::collection::vec(-0.5f64..25.0, 25),
    ) {
        let mut rng = Rng(seed);
        let (x, y) = random_data(&mut rng, n, d, 0.8);
        let f = Formulation {
            loss: if l1 { Loss::L1 } else { Loss::L2 },
            c,
            weight_positive: wp,
            weight_negative: 1.0,
            bias,
        };
        let kernel = KERNELS[kernel_pick]; // linear, rbf, poly with coef0 ≥ 0: PSD
        let mut alpha = raw_alpha[..n].to_vec();
        make_feasible(&mut alpha, &y, &f);
        let cert = verify(&dense(&x), &y, &f, kernel, &alpha, b);
        let scale = 1f64.max(cert.primal_objective.abs());
        prop_assert!(cert.primal_objective_best_bias <= cert.primal_objective);
        prop_assert!(
            cert.absolute_gap >= -1e-9 * scale,
            "gap {} (scale {})",
            cert.absolute_gap,
            scale
        );
        prop_assert!(cert.primal_objective >= cert.dual_objective - 1e-9 * scale);
        prop_assert!(cert.kkt.bound_violation == 0.0);
        prop_assert!(cert.kkt.equality_violation <= 1e-12 * scale * n as f64);
    }
}
