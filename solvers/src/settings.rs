//! Solver settings: plain data with defaults, validated once.

use crate::error::SetupError;
use std::time::Duration;

/// Settings of [`crate::solve_smo`].
#[derive(Debug, Clone, PartialEq)]
pub struct SmoSettings {
    /// Stop when the maximal violation `m(α) − M(α)` (or, without the
    /// equality, the largest projected-gradient entry) is at most `tol`.
    /// Default `1e-3`, as LIBSVM's `-e`.
    pub tol: f64,
    /// Stop with [`crate::Status::MaxIterations`] after this many
    /// two-variable steps (block steps for [`crate::solve_block`], passes
    /// for [`crate::solve_block_linear`]). `None`: LIBSVM's limit,
    /// [`default_iteration_limit`] (passes: [`crate::cd::DEFAULT_MAX_PASSES`]);
    /// `Some(u64::MAX)` for none.
    pub max_iter: Option<u64>,
    /// Stop with [`crate::Status::TimeLimit`] after this wall time. `None`:
    /// no limit.
    pub time_limit: Option<Duration>,
    /// Byte budget of the column cache (pairs) or of the block of columns
    /// (batches, [`crate::batch`]). Default 200 MiB.
    pub cache_bytes: usize,
    /// For this many iterations the column cache holds only its minimum
    /// of two columns, then it gets all of `cache_bytes`. For a `Q` whose
    /// columns are cheap to produce again (stored whole), so that a short
    /// solve does not pay for first touching the cache's memory while a
    /// long one, which reuses columns, still caches them. Default 0.
    pub cache_warmup: u64,
    /// Temporarily remove variables that sit at a bound and are unlikely to
    /// move (Joachims 1999; Fan, Chen & Lin 2005). Default on. An
    /// allowance: SMO does not shrink a `Q` whose whole columns cost no more
    /// than partial ones ([`crate::QMatrix::whole_columns_preferred`]; see
    /// [`crate::smo`]).
    pub shrinking: bool,
    /// How many variables SMO moves per iteration: one pair (LIBSVM) or a
    /// batch ([`crate::batch`]). Default [`WorkingSet::Auto`].
    pub working_set: WorkingSet,
    /// Call the progress callback at most this often. Default one second.
    pub progress_interval: Duration,
}

/// The working sets of [`crate::solve_smo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkingSet {
    /// [`WorkingSet::Batched`] with [`crate::batch::AUTO_BATCH`] variables
    /// when `Q` forms that many columns together more cheaply than one by
    /// one ([`crate::QMatrix::blocks_preferred`], as for kernel columns of
    /// sparse data with not too many features), the problem has the
    /// equality and at least four times that many variables;
    /// [`WorkingSet::Pairs`] otherwise.
    #[default]
    Auto,
    /// One pair per iteration with second-order selection (LIBSVM).
    Pairs,
    /// Batched working sets of this many variables (even, at least 4),
    /// lowered so that the block of `8·n·size` bytes fits `cache_bytes`.
    Batched(usize),
}

impl Default for SmoSettings {
    fn default() -> Self {
        Self {
            tol: 1e-3,
            max_iter: None,
            time_limit: None,
            cache_bytes: 200 << 20,
            cache_warmup: 0,
            shrinking: true,
            working_set: WorkingSet::Auto,
            progress_interval: Duration::from_secs(1),
        }
    }
}

/// The iteration limit of SMO when none is set: LIBSVM's
/// `max(10⁷, 100·n)` for `n` variables (`Solver::Solve` in `svm.cpp`,
/// since LIBSVM 3.17). Every solve ends, even one that makes real but
/// hopeless progress (C = 10³⁰⁰ on data that is not separable); a solve
/// that needs more asks for it with [`SmoSettings::max_iter`].
pub fn default_iteration_limit(n: usize) -> u64 {
    (n as u64).saturating_mul(100).max(10_000_000)
}

impl SmoSettings {
    /// The iteration limit for `n` variables: `max_iter`, or
    /// [`default_iteration_limit`].
    pub fn iteration_limit(&self, n: usize) -> u64 {
        self.max_iter.unwrap_or_else(|| default_iteration_limit(n))
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), SetupError> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(SetupError::InvalidSetting {
                name: "tol",
                reason: format!("must be a positive finite number, got {}", self.tol),
            });
        }
        if let WorkingSet::Batched(size) = self.working_set {
            if size < 4 || size % 2 != 0 {
                return Err(SetupError::InvalidSetting {
                    name: "working_set",
                    reason: format!("a batch must be an even number of at least 4, got {size}"),
                });
            }
        }
        if self.max_iter == Some(0) {
            return Err(SetupError::InvalidSetting {
                name: "max_iter",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_iteration_limit_is_libsvms() {
        assert_eq!(default_iteration_limit(270), 10_000_000);
        assert_eq!(default_iteration_limit(1_000_000), 100_000_000);
        assert_eq!(SmoSettings::default().iteration_limit(270), 10_000_000);
        let set = SmoSettings {
            max_iter: Some(5),
            ..Default::default()
        };
        assert_eq!(set.iteration_limit(270), 5);
    }
}
