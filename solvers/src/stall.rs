//! When a stopping test asks for more than rounding allows: the stall test.
//!
//! Every solver stops when its optimality measure (the maximal violation,
//! a projected-gradient spread, a duality gap) falls to the requested
//! tolerance. The measure is computed from a gradient `Gᵢ = Σⱼ Qᵢⱼαⱼ + pᵢ`
//! that carries rounding errors of order `ε·(Σⱼ|Qᵢⱼαⱼ| + |pᵢ|)`
//! (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
//! §3.1), more after many incremental updates. A tolerance below that
//! floor (`--tol 1e-20`, or `1e-16` on data of unit scale) is never met:
//! the measure bounces at the rounding level while the steps move the
//! iterate back and forth, and without this test the solve would run
//! until a limit — forever, by default.
//!
//! The test declares a stall when two things hold: the measure is within
//! the rounding floor, and it has not reached a new low for a window of
//! consecutive checks. The first condition keeps a slow solve whose
//! measure is still far above rounding running (that is what the
//! iteration and time limits are for); the second keeps a solve that
//! still makes progress running, however slowly, since the floor is a
//! worst-case bound that real rounding errors stay far below. A measure
//! bouncing at the rounding level sets new lows ever more rarely (the
//! `k`-th check is a new low of `k` exchangeable values with probability
//! `1/k`), so the window is soon passed.
//!
//! The floor: for a positive semidefinite `Q`, `|Qᵢⱼ| ≤ √(QᵢᵢQⱼⱼ)`, so
//! every term summed into any `Gᵢ` is bounded by
//! `s = maxᵢ√Qᵢᵢ · Σⱼ√Qⱼⱼ|αⱼ| + maxᵢ|pᵢ|`; the floor is `16·ε·s`. The
//! bound assumes every `|Qᵢⱼ|` at its largest, so the real rounding error
//! is usually far smaller and the factor is kept small: with `2¹⁰` the
//! floor was above `tol = 1e-9` on iris and glass with Crammer–Singer,
//! and the linear block solver, still converging, stalled there. A floor
//! below the real one only misses a stall, which the iteration limit
//! then ends.

/// The factor of `ε·s` in [`rounding_floor`].
const FLOOR_FACTOR: f64 = 16.0;

/// The rounding floor of an optimality measure: `16·ε·s` with
/// `s = maxᵢ√Qᵢᵢ · Σⱼ√Qⱼⱼ|αⱼ| + maxᵢ|pᵢ|` (see the module documentation),
/// from the pairs `(Qᵢᵢ, αᵢ)` and `maxᵢ|pᵢ|`.
pub(crate) fn rounding_floor(
    diag_alpha: impl IntoIterator<Item = (f64, f64)>,
    max_linear: f64,
) -> f64 {
    let (mut max_root, mut weighted) = (0.0f64, 0.0);
    for (d, a) in diag_alpha {
        let root = d.max(0.0).sqrt();
        max_root = max_root.max(root);
        weighted += root * a.abs();
    }
    FLOOR_FACTOR * f64::EPSILON * (max_root * weighted + max_linear)
}

/// [`rounding_floor`] from slices `Qᵢᵢ`, `α` and `p` in one order.
pub(crate) fn rounding_floor_of(diag: &[f64], alpha: &[f64], linear: &[f64]) -> f64 {
    let max_linear = linear.iter().fold(0.0f64, |m, p| m.max(p.abs()));
    rounding_floor(diag.iter().copied().zip(alpha.iter().copied()), max_linear)
}

/// The stall test's memory: the lowest measure seen and the checks since.
#[derive(Debug, Clone)]
pub(crate) struct StallWatch {
    best: f64,
    since: u32,
    window: u32,
}

impl StallWatch {
    /// A test that declares a stall after `window` checks without a new low.
    pub(crate) fn new(window: u32) -> Self {
        Self {
            best: f64::INFINITY,
            since: 0,
            window,
        }
    }

    /// Records the measure of one check; true when it is at most the
    /// floor (computed only when the window has passed) and no check of
    /// the last `window` set a new low.
    pub(crate) fn stalled(&mut self, measure: f64, floor: impl FnOnce() -> f64) -> bool {
        if measure < self.best {
            self.best = measure;
            self.since = 0;
            return false;
        }
        self.since = self.since.saturating_add(1);
        self.since >= self.window && measure <= floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measure_bouncing_at_the_floor_stalls_after_the_window() {
        let mut watch = StallWatch::new(3);
        let floor = 1e-12;
        assert!(!watch.stalled(1e-14, || floor));
        assert!(!watch.stalled(2e-14, || floor));
        assert!(!watch.stalled(1e-14, || floor));
        assert!(watch.stalled(1.5e-14, || floor));
    }

    #[test]
    fn progress_or_a_measure_above_the_floor_never_stalls() {
        let mut watch = StallWatch::new(2);
        let mut m = 1.0;
        for _ in 0..100 {
            m *= 0.5;
            assert!(!watch.stalled(m, || 1e-3));
        }
        let mut watch = StallWatch::new(2);
        for _ in 0..100 {
            assert!(!watch.stalled(8.0, || 1e-3));
        }
    }

    #[test]
    fn the_floor_scales_with_the_iterate() {
        let small = rounding_floor_of(&[1.0, 1.0], &[1.0, 1.0], &[-1.0, -1.0]);
        let large = rounding_floor_of(&[1.0, 1.0], &[1e6, 1e6], &[-1.0, -1.0]);
        assert!((small - 3.0 * FLOOR_FACTOR * f64::EPSILON).abs() < 1e-20);
        assert!(large > 1e5 * small);
    }
}
