//! Problem data: `min ½αᵀQα + pᵀα  s.t. yᵀα = Δ (optional), l ≤ α ≤ u`.

use crate::error::SetupError;

/// The linear equality constraint `yᵀα = Δ` with `yᵢ ∈ {+1, −1}`.
#[derive(Debug, Clone, Copy)]
pub struct Equality<'a> {
    /// The signs `yᵢ`, each `+1.0` or `−1.0`.
    pub signs: &'a [f64],
    /// The right-hand side `Δ`.
    pub rhs: f64,
}

/// The data of one quadratic program apart from `Q` (which the solver sees
/// through [`crate::QMatrix`]).
#[derive(Debug, Clone, Copy)]
pub struct QpProblem<'a> {
    /// The linear term `p`.
    pub linear: &'a [f64],
    /// The equality constraint, or `None` for a box-constrained problem.
    pub equality: Option<Equality<'a>>,
    /// Lower bounds `l` (finite).
    pub lower: &'a [f64],
    /// Upper bounds `u` (`f64::INFINITY` allowed).
    pub upper: &'a [f64],
    /// A starting point, projected onto the feasible set before use; `None`
    /// starts from the feasible point nearest to the lower bounds.
    pub initial: Option<&'a [f64]>,
}

impl QpProblem<'_> {
    /// The number of variables.
    pub fn dim(&self) -> usize {
        self.linear.len()
    }

    /// Checks lengths, finiteness, bounds and signs, and that the feasible
    /// set is not empty.
    pub fn validate(&self, q_dim: usize) -> Result<(), SetupError> {
        let n = self.dim();
        let check_len = |what: &'static str, len: usize| {
            if len == n {
                Ok(())
            } else {
                Err(SetupError::DimensionMismatch {
                    what,
                    expected: n,
                    found: len,
                })
            }
        };
        check_len("Q", q_dim)?;
        check_len("lower bounds", self.lower.len())?;
        check_len("upper bounds", self.upper.len())?;
        if let Some(init) = self.initial {
            check_len("initial point", init.len())?;
            if let Some(i) = init.iter().position(|v| !v.is_finite()) {
                return Err(SetupError::NonFinite {
                    what: "initial point",
                    index: i,
                });
            }
        }
        if let Some(i) = self.linear.iter().position(|v| !v.is_finite()) {
            return Err(SetupError::NonFinite {
                what: "linear term",
                index: i,
            });
        }
        for i in 0..n {
            let (l, u) = (self.lower[i], self.upper[i]);
            if !l.is_finite() || u.is_nan() || u < l {
                return Err(SetupError::InvalidBounds {
                    index: i,
                    lower: l,
                    upper: u,
                });
            }
        }
        if let Some(eq) = self.equality {
            check_len("equality signs", eq.signs.len())?;
            if let Some(i) = eq.signs.iter().position(|&s| s != 1.0 && s != -1.0) {
                return Err(SetupError::InvalidSign {
                    index: i,
                    value: eq.signs[i],
                });
            }
            if !eq.rhs.is_finite() {
                return Err(SetupError::NonFinite {
                    what: "equality right-hand side",
                    index: 0,
                });
            }
            let (lo, hi) = self.equality_range(eq.signs);
            if eq.rhs < lo || eq.rhs > hi {
                return Err(SetupError::InfeasibleEquality {
                    rhs: eq.rhs,
                    min: lo,
                    max: hi,
                });
            }
        }
        Ok(())
    }

    /// The range of `yᵀα` over the box.
    fn equality_range(&self, signs: &[f64]) -> (f64, f64) {
        let (mut lo, mut hi) = (0.0, 0.0);
        for i in 0..self.dim() {
            if signs[i] > 0.0 {
                lo += self.lower[i];
                hi += self.upper[i];
            } else {
                lo -= self.upper[i];
                hi -= self.lower[i];
            }
        }
        (lo, hi)
    }
}
