//! Dense linear algebra through faer (pinned; used nowhere else).
//!
//! `gram_block` forms `A Bᵀ` for two dense row-major blocks with faer's
//! matrix multiply, the work behind kernel blocks on dense data.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

/// `out = A Bᵀ`, `A` of shape `m × k`, `B` of shape `n × k`, both row-major;
/// `out` row-major `m × n`. Runs on the current rayon pool. faer splits the
/// output, not the inner dimension, so every entry is summed in the same
/// order for any thread count.
pub fn gram_block(a: &[f64], m: usize, b: &[f64], n: usize, k: usize, out: &mut [f64]) {
    assert_eq!(a.len(), m * k, "A must be m × k");
    assert_eq!(b.len(), n * k, "B must be n × k");
    assert_eq!(out.len(), m * n, "out must be m × n");
    if m == 0 || n == 0 {
        return;
    }
    let a = MatRef::from_row_major_slice(a, m, k);
    let b = MatRef::from_row_major_slice(b, n, k);
    let mut c = Mat::<f64>::zeros(m, n);
    let par = if rayon::current_num_threads() > 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    };
    matmul(c.as_mut(), Accum::Replace, a, b.transpose(), 1.0, par);
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = c[(i, j)];
        }
    }
}

/// `out = A Bᵀ` as [`gram_block`], but sequential (`Par::Seq`) and written
/// straight into `out` (row-major `m × n`): for callers that run fixed
/// blocks in parallel themselves, so every entry is computed by the same
/// code for any number of threads.
pub fn gram_block_seq(a: &[f64], m: usize, b: &[f64], n: usize, k: usize, out: &mut [f64]) {
    assert_eq!(a.len(), m * k, "A must be m × k");
    assert_eq!(b.len(), n * k, "B must be n × k");
    assert_eq!(out.len(), m * n, "out must be m × n");
    if m == 0 || n == 0 {
        return;
    }
    let a = MatRef::from_row_major_slice(a, m, k);
    let b = MatRef::from_row_major_slice(b, n, k);
    let c = faer::MatMut::from_row_major_slice_mut(out, m, n);
    matmul(c, Accum::Replace, a, b.transpose(), 1.0, Par::Seq);
}
