//! Solvers for box- and equality-constrained convex quadratic programs, the
//! shape shared by the duals of support vector machines:
//!
//! ```text
//!     minimise    f(α) = ½ αᵀQα + pᵀα
//!     subject to  yᵀα = Δ            (optional; yᵢ ∈ {+1, −1})
//!                 lᵢ ≤ αᵢ ≤ uᵢ       (uᵢ may be +∞)
//! ```
//!
//! with `Q` symmetric positive semidefinite. This crate knows quadratic
//! programs, not SVMs: the caller supplies `Q` through the small
//! [`QMatrix`] trait (diagonal, a column restricted to a set of rows, a
//! matrix–vector product), so a cached kernel matrix, a dense matrix and a
//! test matrix all plug in the same way.
//!
//! Layout, one concept a file:
//! - [`problem`]: the problem data [`QpProblem`] and its validation;
//! - [`qmatrix`]: the [`QMatrix`] trait and [`DenseQ`], a dense implementation;
//! - [`cache`]: an LRU cache of partial columns of `Q` with a byte budget;
//! - [`settings`]: [`SmoSettings`], plain data with defaults, validated once;
//! - [`solution`]: [`Solution`], [`Status`] (a limit is a status, not an error);
//! - [`error`]: [`SetupError`], what is wrong with the problem or settings;
//! - [`selection`]: the per-iteration kernels of SMO (working-set selection
//!   WSS3, gradient update) as functions over slices;
//! - [`batch`]: SMO with batched working sets (ThunderSVM's scheme): many
//!   variables at a time, their columns formed as one block;
//! - [`smo`]: sequential minimal optimisation with second-order working-set
//!   selection (Fan, Chen & Lin, JMLR 6, 2005), shrinking and the cache;
//! - [`pg`]: projected-gradient methods (non-monotone projected
//!   Barzilai–Borwein of Dai & Fletcher 2006 by default; GVPM; FISTA) that
//!   touch `Q` only through products `Qv` and the exact projection;
//! - [`cd`]: dual coordinate descent for linear SVMs (Hsieh et al., ICML
//!   2008) that keeps `w = Σαᵢyᵢxᵢ` and sees the data as sparse rows
//!   ([`RowMatrix`]), with an SMO-pair variant for `yᵀα = 0`;
//! - [`block`]: block coordinate descent for QPs with blocks of `k`
//!   variables sharing one matrix (`K ⊗ Iₖ`), one equality per block and a
//!   box (the joint multiclass SVM duals), kernel and explicit-`W` linear
//!   variants;
//! - [`block_ip`]: a dense primal–dual interior-point method for the same
//!   block QPs (Mehrotra's predictor–corrector), for small badly scaled
//!   problems where coordinate methods crawl;
//! - [`kkt`]: first-order optimality measures shared by the solvers;
//! - [`projection`]: exact projection onto the feasible set;
//! - [`memory`]: memory hints — prefetches, non-temporal copies, huge-page
//!   advice for large arrays (no effect on any result).
//!
//! # Optimality
//! Write `G = Qα + p` for the gradient. With the equality constraint, `α` is
//! optimal iff `m(α) ≤ M(α)` where
//! `m(α) = max { −yᵢGᵢ : i ∈ I_up(α) }`, `M(α) = min { −yᵢGᵢ : i ∈ I_low(α) }`,
//! `I_up = { i : αᵢ < uᵢ, yᵢ = +1 } ∪ { i : αᵢ > lᵢ, yᵢ = −1 }` and
//! `I_low = { i : αᵢ < uᵢ, yᵢ = −1 } ∪ { i : αᵢ > lᵢ, yᵢ = +1 }`
//! (Keerthi et al. 2001; Fan, Chen & Lin 2005). The solvers stop when the
//! maximal violation `m(α) − M(α)` is at most the tolerance. Without the
//! equality constraint the measure is the largest projected-gradient entry.

pub mod batch;
pub mod block;
pub mod block_ip;
pub mod cache;
pub mod cd;
pub mod error;
pub mod kkt;
pub mod memory;
pub mod pg;
pub mod problem;
pub mod projection;
pub mod qmatrix;
pub(crate) mod ray;
pub mod rng;
pub mod selection;
pub mod settings;
pub mod smo;
pub mod solution;
pub(crate) mod stall;

pub use block::{solve_block, solve_block_linear, BlockProblem, BlockSolution};
pub use block_ip::{solve_block_ip, IP_MAX_SAMPLES};
pub use cd::{
    solve_cd, solve_cd_cancellable, CdBias, CdProblem, CdSettings, CdSolution, CsrRef, RowMatrix,
    SparseRow, StopMeasure,
};
pub use error::SetupError;
pub use pg::{solve_pg, solve_pg_cancellable, PgMethod, PgSettings};
pub use problem::{Equality, QpProblem};
pub use qmatrix::{DenseQ, QMatrix};
pub use settings::{SmoSettings, WorkingSet};
pub use smo::{solve_smo, solve_smo_cancellable};
pub use solution::{Progress, Solution, Status};
