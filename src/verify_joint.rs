//! The verifier of the joint multiclass SVMs (Crammer–Singer and
//! Weston–Watkins): multiclass hinge losses, primal and dual objectives,
//! duality gap and KKT residuals of a dual point, recomputed from the data.
//!
//! # Losses (written once, used by the verifier and the tests)
//! For scores `sₘ = ⟨wₘ, φ(x)⟩`, `m = 0..k`, and the true class `y`:
//! ```text
//!     Crammer–Singer  ℓ_CS(s, y) = maxⱼ (sⱼ − s_y + 1[j ≠ y])
//!     Weston–Watkins  ℓ_WW(s, y) = Σ_{j≠y} max(0, sⱼ − s_y + 1)
//! ```
//! A subgradient with respect to the scores: CS, `e_{j*} − e_y` with `j*`
//! the first maximiser (zero when `j* = y`); WW, `1[marginⱼ > 0]` for
//! `j ≠ y` and `−Σ_{j≠y} 1[marginⱼ > 0]` for `y`, `marginⱼ = sⱼ − s_y + 1`.
//! With respect to `wⱼ` it is that entry times `φ(x)`. Both losses are
//! `≥ 1[argmax s ≠ y]` (CS: a `j ≠ y` with `sⱼ ≥ s_y` gives a term `≥ 1`;
//! WW: that term alone is `≥ 1`), so they bound the 0–1 loss.
//!
//! # Primal and dual (Crammer & Singer, JMLR 2, 2001; Weston & Watkins,
//! ESANN 1999; Keerthi et al., KDD 2008)
//! ```text
//!     P(W) = ½ Σₘ ‖wₘ‖² + C Σᵢ ℓ(sᵢ, yᵢ),     sᵢₘ = ⟨wₘ, φ(xᵢ)⟩
//! ```
//! With `wₘ = Σᵢ αᵢₘ φ(xᵢ)` (so `sᵢ = Σⱼ K(xᵢ, xⱼ) αⱼ`,
//! `Σₘ‖wₘ‖² = Σᵢ ⟨αᵢ, sᵢ⟩`) both duals read
//! ```text
//!     D(α) = −½ Σₘ ‖wₘ‖² − Σᵢ Σ_{m≠yᵢ} αᵢₘ
//!     s.t. Σₘ αᵢₘ = 0 for every i and the box below
//! ```
//! - CS: `αᵢₘ ≤ C·1[m = yᵢ]`; with the equality this implies
//!   `αᵢₘ ∈ [−C, 0]` for `m ≠ yᵢ` and `αᵢ,yᵢ ∈ [0, C]`.
//! - WW: `αᵢₘ = −βᵢₘ ∈ [−C, 0]` for `m ≠ yᵢ` (`βᵢₘ` the multiplier of the
//!   margin constraint of class `m`), `αᵢ,yᵢ = Σ_{m≠yᵢ} βᵢₘ ∈ [0, (k−1)C]`.
//!
//! These boxes are [`block_bounds`]; the solvers get the same ones.
//! `absolute_gap = P − D ≥ 0` for any feasible `α` by weak duality, and
//! `relative_gap = absolute_gap / max(1, |P|)`.
//!
//! # KKT residuals
//! - `bound_violation`: largest distance of an `αᵢₘ` outside its box;
//! - `equality_violation`: `maxᵢ |Σₘ αᵢₘ|`;
//! - `max_violation`: with the minimisation-form gradient
//!   `gᵢₘ = sᵢₘ + 1[m ≠ yᵢ]`, the largest block violation
//!   `max { gᵢₘ : αᵢₘ > lᵢₘ } − min { gᵢₘ : αᵢₘ < uᵢₘ }` (clamped at 0),
//!   zero exactly at an optimum (see `solvers::block`).
//!
//! # Independence and determinism
//! Scores are recomputed here from the rows: for the linear kernel from the
//! explicit `wₘ = Σᵢ αᵢₘ xᵢ` (so `P` is the primal of an explicit `W`), for
//! other kernels by the kernel expansion over the rows with `αᵢ ≠ 0`, each
//! kernel value from [`Kernel::from_dot`] of a fresh dot product (no solver
//! state, no kernel cache). Each row's scores are summed sequentially in
//! index order and all reductions run sequentially over rows, so the
//! certificate is bit-identical for any rayon pool size.

use crate::data::{Features, Row};
use crate::kernel::Kernel;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which joint multiclass SVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JointMethod {
    /// Crammer & Singer (2001): one slack per sample.
    CrammerSinger,
    /// Weston & Watkins (1999): one slack per sample and wrong class.
    WestonWatkins,
}

impl JointMethod {
    /// `crammer-singer` or `weston-watkins`.
    pub fn name(self) -> &'static str {
        match self {
            JointMethod::CrammerSinger => "crammer-singer",
            JointMethod::WestonWatkins => "weston-watkins",
        }
    }

    /// The loss `ℓ(s, y)` of the module doc.
    pub fn loss(self, scores: &[f64], y: usize) -> f64 {
        match self {
            JointMethod::CrammerSinger => crammer_singer_loss(scores, y),
            JointMethod::WestonWatkins => weston_watkins_loss(scores, y),
        }
    }

    /// A subgradient of the loss with respect to the scores, into `out`.
    pub fn subgradient(self, scores: &[f64], y: usize, out: &mut [f64]) {
        match self {
            JointMethod::CrammerSinger => crammer_singer_subgradient(scores, y, out),
            JointMethod::WestonWatkins => weston_watkins_subgradient(scores, y, out),
        }
    }
}

/// `maxⱼ (sⱼ − s_y + 1[j ≠ y])`.
pub fn crammer_singer_loss(scores: &[f64], y: usize) -> f64 {
    let sy = scores[y];
    scores
        .iter()
        .enumerate()
        .map(|(j, &s)| s - sy + if j == y { 0.0 } else { 1.0 })
        .fold(0.0, f64::max)
}

/// `e_{j*} − e_y`, `j*` the first maximiser of `sⱼ − s_y + 1[j ≠ y]`.
pub fn crammer_singer_subgradient(scores: &[f64], y: usize, out: &mut [f64]) {
    out.iter_mut().for_each(|o| *o = 0.0);
    let sy = scores[y];
    let mut best = (y, 0.0);
    for (j, &s) in scores.iter().enumerate() {
        let v = s - sy + if j == y { 0.0 } else { 1.0 };
        if v > best.1 {
            best = (j, v);
        }
    }
    if best.0 != y {
        out[best.0] += 1.0;
        out[y] -= 1.0;
    }
}

/// `Σ_{j≠y} max(0, sⱼ − s_y + 1)`.
pub fn weston_watkins_loss(scores: &[f64], y: usize) -> f64 {
    let sy = scores[y];
    scores
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != y)
        .map(|(_, &s)| (s - sy + 1.0).max(0.0))
        .sum()
}

/// `1[marginⱼ > 0]` for `j ≠ y`, `−Σ_{j≠y} 1[marginⱼ > 0]` for `y`.
pub fn weston_watkins_subgradient(scores: &[f64], y: usize, out: &mut [f64]) {
    let sy = scores[y];
    let mut count = 0.0;
    for (j, &s) in scores.iter().enumerate() {
        out[j] = if j != y && s - sy + 1.0 > 0.0 {
            count += 1.0;
            1.0
        } else {
            0.0
        };
    }
    out[y] = -count;
}

/// The box `[lᵢₘ, uᵢₘ]` of every dual entry (module doc), block after
/// block, for classes `class_of` (each `< k`).
pub fn block_bounds(
    method: JointMethod,
    class_of: &[usize],
    k: usize,
    c: f64,
) -> (Vec<f64>, Vec<f64>) {
    let top = match method {
        JointMethod::CrammerSinger => c,
        JointMethod::WestonWatkins => (k.saturating_sub(1)) as f64 * c,
    };
    let mut lower = vec![-c; class_of.len() * k];
    let mut upper = vec![0.0; class_of.len() * k];
    for (i, &y) in class_of.iter().enumerate() {
        lower[i * k + y] = 0.0;
        upper[i * k + y] = top;
    }
    (lower, upper)
}

/// The linear term `pᵢₘ = 1[m ≠ yᵢ]` of the minimisation form.
pub fn linear_term(class_of: &[usize], k: usize) -> Vec<f64> {
    let mut p = vec![1.0; class_of.len() * k];
    for (i, &y) in class_of.iter().enumerate() {
        p[i * k + y] = 0.0;
    }
    p
}

/// KKT residuals of a joint dual point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JointKkt {
    /// Largest distance of an `αᵢₘ` outside its box.
    pub bound_violation: f64,
    /// `maxᵢ |Σₘ αᵢₘ|`.
    pub equality_violation: f64,
    /// Largest block violation, clamped at 0.
    pub max_violation: f64,
}

/// The certificate of a joint multiclass dual point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointCertificate {
    /// `D(α)`.
    pub dual_objective: f64,
    /// `P(W(α))`.
    pub primal_objective: f64,
    /// `P − D`.
    pub absolute_gap: f64,
    /// `(P − D) / max(1, |P|)`.
    pub relative_gap: f64,
    /// `Σₘ ‖wₘ‖²`.
    pub w_squared_norm: f64,
    /// `Σᵢ ℓ(sᵢ, yᵢ)` (without the factor `C`).
    pub loss_sum: f64,
    /// KKT residuals.
    pub kkt: JointKkt,
    /// Rows with `αᵢ ≠ 0`.
    pub n_sv: usize,
    /// Fraction of rows whose largest score (first on ties) is their class.
    pub training_accuracy: f64,
}

/// The dual point to verify.
#[derive(Debug, Clone, Copy)]
pub struct JointPoint<'a> {
    /// The method (loss and box).
    pub method: JointMethod,
    /// `C > 0`.
    pub c: f64,
    /// The number of classes `k`.
    pub n_classes: usize,
    /// The class index of every row (`< k`).
    pub class_of: &'a [usize],
    /// `α`, `n·k`, row after row.
    pub alpha: &'a [f64],
}

/// Index of the largest score, the first one on ties.
pub fn argmax(scores: &[f64]) -> usize {
    let mut best = 0;
    for (m, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = m;
        }
    }
    best
}

/// Calls `f(j, xⱼ)` for the non-zeros of `row`, in index order.
fn for_each_nonzero(row: &Row<'_>, mut f: impl FnMut(usize, f64)) {
    match row {
        Row::Sparse { indices, values } => {
            for (&j, &x) in indices.iter().zip(values.iter()) {
                f(j as usize, x);
            }
        }
        Row::Dense(v) => {
            for (j, &x) in v.iter().enumerate() {
                if x != 0.0 {
                    f(j, x);
                }
            }
        }
    }
}

/// Scores `sᵢₘ` of every row (`n·k`) from `α` (module doc), and
/// `Σₘ ‖wₘ‖²`.
pub fn scores(features: &Features, kernel: Kernel, k: usize, alpha: &[f64]) -> (Vec<f64>, f64) {
    let n = features.n_rows();
    let d = features.n_cols();
    let mut s = vec![0.0; n * k];
    if kernel == Kernel::Linear {
        let mut w = vec![0.0; d * k];
        for i in 0..n {
            let a = &alpha[i * k..(i + 1) * k];
            if a.iter().all(|&v| v == 0.0) {
                continue;
            }
            for_each_nonzero(&features.row(i), |j, x| {
                for m in 0..k {
                    w[j * k + m] += x * a[m];
                }
            });
        }
        let norm2: f64 = w.iter().map(|v| v * v).sum();
        s.par_chunks_mut(k).enumerate().for_each(|(i, si)| {
            for_each_nonzero(&features.row(i), |j, x| {
                for m in 0..k {
                    si[m] += x * w[j * k + m];
                }
            });
        });
        return (s, norm2);
    }
    let support: Vec<usize> = (0..n)
        .filter(|&i| alpha[i * k..(i + 1) * k].iter().any(|&v| v != 0.0))
        .collect();
    let sq: Vec<f64> = (0..n).map(|i| features.row(i).squared_norm()).collect();
    s.par_chunks_mut(k).enumerate().for_each_init(
        || vec![0.0; d],
        |dense, (i, si)| {
            let xi = features.row(i);
            xi.scatter_into(dense);
            for &j in &support {
                let kij = kernel.from_dot(features.row(j).dot_dense(dense), sq[i], sq[j]);
                let a = &alpha[j * k..(j + 1) * k];
                for m in 0..k {
                    si[m] += kij * a[m];
                }
            }
            xi.clear_from(dense);
        },
    );
    let norm2 = alpha.iter().zip(&s).map(|(a, s)| a * s).sum();
    (s, norm2)
}

/// The certificate of `point` on `features` with `kernel` (module doc).
pub fn verify_joint(
    features: &Features,
    kernel: Kernel,
    point: &JointPoint<'_>,
) -> JointCertificate {
    let k = point.n_classes;
    let n = features.n_rows();
    let (s, norm2) = scores(features, kernel, k, point.alpha);
    certificate_from_scores(&s, norm2, point, n)
}

/// The certificate from the scores `sᵢₘ` and `Σₘ‖wₘ‖²`.
pub fn certificate_from_scores(
    s: &[f64],
    norm2: f64,
    point: &JointPoint<'_>,
    n: usize,
) -> JointCertificate {
    let k = point.n_classes;
    let (lower, upper) = block_bounds(point.method, point.class_of, k, point.c);
    let mut loss_sum = 0.0;
    let mut linear = 0.0;
    let mut kkt = JointKkt {
        bound_violation: 0.0,
        equality_violation: 0.0,
        max_violation: 0.0,
    };
    let (mut n_sv, mut correct) = (0usize, 0usize);
    for i in 0..n {
        let y = point.class_of[i];
        let si = &s[i * k..(i + 1) * k];
        let ai = &point.alpha[i * k..(i + 1) * k];
        loss_sum += point.method.loss(si, y);
        if argmax(si) == y {
            correct += 1;
        }
        if ai.iter().any(|&a| a != 0.0) {
            n_sv += 1;
        }
        let (mut top, mut bottom) = (f64::NEG_INFINITY, f64::INFINITY);
        let mut sum = 0.0;
        for m in 0..k {
            let (a, l, u) = (ai[m], lower[i * k + m], upper[i * k + m]);
            let g = si[m] + if m == y { 0.0 } else { 1.0 };
            if m != y {
                linear += a;
            }
            sum += a;
            kkt.bound_violation = kkt.bound_violation.max(l - a).max(a - u);
            if a > l {
                top = top.max(g);
            }
            if a < u {
                bottom = bottom.min(g);
            }
        }
        kkt.equality_violation = kkt.equality_violation.max(sum.abs());
        if top.is_finite() && bottom.is_finite() {
            kkt.max_violation = kkt.max_violation.max(top - bottom);
        }
    }
    let primal = 0.5 * norm2 + point.c * loss_sum;
    let dual = -0.5 * norm2 - linear;
    let gap = primal - dual;
    JointCertificate {
        dual_objective: dual,
        primal_objective: primal,
        absolute_gap: gap,
        relative_gap: gap / primal.abs().max(1.0),
        w_squared_norm: norm2,
        loss_sum,
        kkt,
        n_sv,
        training_accuracy: if n == 0 {
            1.0
        } else {
            correct as f64 / n as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test values in `[−1, 1)`.
    fn values(seed: u64, len: usize) -> Vec<f64> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            })
            .collect()
    }

    /// The subgradient with respect to `W` (`wₘ` gets `gₘ·x`) matches
    /// central finite differences of `ℓ(Wᵀx, y)` at generic points, where
    /// both losses are differentiable.
    #[test]
    fn subgradients_match_finite_differences() {
        let (k, d) = (4, 3);
        for method in [JointMethod::CrammerSinger, JointMethod::WestonWatkins] {
            for seed in 1..40u64 {
                let w = values(seed, k * d);
                let x = values(seed + 1000, d);
                let y = (seed as usize) % k;
                let loss_at = |w: &[f64]| {
                    let s: Vec<f64> = (0..k)
                        .map(|m| (0..d).map(|j| w[m * d + j] * x[j]).sum())
                        .collect();
                    method.loss(&s, y)
                };
                let s: Vec<f64> = (0..k)
                    .map(|m| (0..d).map(|j| w[m * d + j] * x[j]).sum())
                    .collect();
                let mut g = vec![0.0; k];
                method.subgradient(&s, y, &mut g);
                let h = 1e-6;
                for m in 0..k {
                    for j in 0..d {
                        let (mut wp, mut wm) = (w.clone(), w.clone());
                        wp[m * d + j] += h;
                        wm[m * d + j] -= h;
                        let fd = (loss_at(&wp) - loss_at(&wm)) / (2.0 * h);
                        let an = g[m] * x[j];
                        assert!(
                            (fd - an).abs() < 1e-6,
                            "{method:?} seed {seed} w[{m},{j}]: fd {fd} vs {an}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn losses_bound_the_zero_one_loss() {
        for seed in 1..200u64 {
            let s = values(seed, 5);
            let y = (seed as usize) % 5;
            let wrong = if argmax(&s) != y { 1.0 } else { 0.0 };
            assert!(crammer_singer_loss(&s, y) >= wrong);
            assert!(weston_watkins_loss(&s, y) >= wrong);
            assert!(weston_watkins_loss(&s, y) >= crammer_singer_loss(&s, y) - 1e-15);
        }
    }

    #[test]
    fn known_values() {
        let s = [0.5, 1.0, -1.0];
        // CS, y = 1: max(0.5 − 1 + 1, 0, −1 − 1 + 1) = 0.5.
        assert_eq!(crammer_singer_loss(&s, 1), 0.5);
        // WW, y = 1: 0.5 + 0 = 0.5; y = 2: (0.5+1+1) + (1+1+1) = 5.5.
        assert_eq!(weston_watkins_loss(&s, 1), 0.5);
        assert_eq!(weston_watkins_loss(&s, 2), 5.5);
        let mut g = [0.0; 3];
        weston_watkins_subgradient(&s, 2, &mut g);
        assert_eq!(g, [1.0, 1.0, -2.0]);
    }

    #[test]
    fn zero_point_certificate() {
        // α = 0: W = 0, every loss is 1 (CS) or k − 1 (WW); D = 0.
        let x = Features::from_dense(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2);
        let class_of = [0, 1, 2];
        let alpha = vec![0.0; 9];
        for (method, per) in [
            (JointMethod::CrammerSinger, 1.0),
            (JointMethod::WestonWatkins, 2.0),
        ] {
            let c = verify_joint(
                &x,
                Kernel::Rbf { gamma: 0.5 },
                &JointPoint {
                    method,
                    c: 2.0,
                    n_classes: 3,
                    class_of: &class_of,
                    alpha: &alpha,
                },
            );
            assert_eq!(c.dual_objective, 0.0);
            assert_eq!(c.primal_objective, 2.0 * 3.0 * per);
            assert_eq!(c.kkt.max_violation, 1.0);
            assert_eq!(c.n_sv, 0);
        }
    }
}
