//! Setup errors: what is wrong with a problem or settings before solving.
//! Reaching an iteration or time limit is not an error but a
//! [`crate::Status`].

/// A problem or settings that cannot be solved as given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetupError {
    /// A vector or `Q` has the wrong length.
    #[error("{what} has length {found}, expected {expected}")]
    DimensionMismatch {
        /// Which input.
        what: &'static str,
        /// The problem dimension.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// An input holds NaN or an infinity where a finite value is needed.
    #[error("{what} is not finite at index {index}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// The first offending index.
        index: usize,
    },
    /// A diagonal entry that must be nonnegative is negative: `Q` (or the
    /// shift) cannot be positive semidefinite.
    #[error(
        "{what} is negative ({value}) at index {index}, so the problem is not convex \
         (Q must be positive semidefinite)"
    )]
    NegativeDiagonal {
        /// Which input.
        what: &'static str,
        /// The first offending index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// `lᵢ` is not finite, or `uᵢ < lᵢ`, or `uᵢ` is NaN.
    #[error("bounds [{lower}, {upper}] at index {index} are invalid")]
    InvalidBounds {
        /// The variable.
        index: usize,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// An equality sign other than ±1.
    #[error("equality sign {value} at index {index} is not +1 or -1")]
    InvalidSign {
        /// The variable.
        index: usize,
        /// The sign found.
        value: f64,
    },
    /// No point of the box satisfies `yᵀα = Δ`.
    #[error("no point of the box satisfies the equality: rhs {rhs} outside [{min}, {max}]")]
    InfeasibleEquality {
        /// `Δ`.
        rhs: f64,
        /// The smallest `yᵀα` over the box.
        min: f64,
        /// The largest `yᵀα` over the box.
        max: f64,
    },
    /// A setting outside its valid range.
    #[error("setting `{name}` is invalid: {reason}")]
    InvalidSetting {
        /// The setting's field name.
        name: &'static str,
        /// Why.
        reason: String,
    },
}
