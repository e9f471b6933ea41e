//! Dense linear algebra through faer (pinned; used nowhere else).
//!
//! `gram_block` forms `A Bᵀ` for two dense row-major blocks with faer's
//! matrix multiply, the work behind kernel blocks on dense data. [`simd`]
//! runs a closure compiled for the widest SIMD instruction set the CPU
//! offers, through pulp (faer's SIMD layer, same pinned version).

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

/// A loop to run through [`simd`]. Implementations mark `run`
/// `#[inline(always)]`, so that its body is compiled inside the SIMD
/// function pulp dispatches to (a closure would stay a separate function
/// compiled for the baseline instruction set).
pub trait SimdLoop {
    /// The work.
    fn run(self);
}

/// Adapts a [`SimdLoop`] to pulp's dispatch.
struct Dispatch<L>(L);

impl<L: SimdLoop> pulp::WithSimd for Dispatch<L> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        self.0.run()
    }
}

/// Runs `work` compiled for the best SIMD instruction set the CPU offers
/// (AVX-512 or else AVX2 with FMA on x86-64 when present, detected at run
/// time by pulp's `Arch::dispatch`; otherwise the baseline), so that loops in it which
/// the compiler vectorises use the wide registers. The arithmetic is the
/// same IEEE operations whichever version runs — Rust never contracts
/// `a·b + c` into a fused multiply-add by itself — so the results are
/// bit-identical on every machine.
#[inline]
pub fn simd<L: SimdLoop>(work: L) {
    pulp::Arch::new().dispatch(Dispatch(work))
}

/// The dot products of `row` with the `P` columns of a dense row-major
/// `d × P` panel (`d` at least the row's width): `Σₗ xₗ · panel[l, b]` over
/// the row's entries in increasing `l` (its non-zeros for a sparse row),
/// each product added to the running sum from `+0` — the non-zero
/// products of a sparse dot product with column `b`, in its order, plus
/// exact zeros. Inlined, for loops run through [`simd`].
#[inline(always)]
pub fn panel_dots<const P: usize>(row: &crate::data::Row<'_>, panel: &[f64]) -> [f64; P] {
    let mut acc = [0.0; P];
    let mut add = |col: usize, v: f64| {
        let at = col * P;
        for (a, &p) in acc.iter_mut().zip(&panel[at..at + P]) {
            *a += v * p;
        }
    };
    match row {
        crate::data::Row::Sparse { indices, values } => {
            for (&col, &v) in indices.iter().zip(values.iter()) {
                add(col as usize, v);
            }
        }
        crate::data::Row::Dense(values) => {
            for (col, &v) in values.iter().enumerate() {
                add(col, v);
            }
        }
    }
    acc
}

/// Writes `row` into column `b` of a dense row-major `d × P` panel (the
/// layout [`panel_dots`] reads), or zeroes the entries it wrote (`clear`),
/// so that a panel reused for the next columns is zero elsewhere.
pub fn set_panel_column<const P: usize>(
    panel: &mut [f64],
    row: &crate::data::Row<'_>,
    b: usize,
    clear: bool,
) {
    match row {
        crate::data::Row::Sparse { indices, values } => {
            for (&k, &v) in indices.iter().zip(values.iter()) {
                panel[k as usize * P + b] = if clear { 0.0 } else { v };
            }
        }
        crate::data::Row::Dense(values) => {
            for (k, &v) in values.iter().enumerate() {
                panel[k * P + b] = if clear { 0.0 } else { v };
            }
        }
    }
}

/// Whether [`simd`] runs the AVX-512 version (32 registers of 8 doubles),
/// for loops that choose how many partial sums to hold in registers: as
/// many as fit without spilling on the version that runs. Choices made on
/// it must not change any result.
pub fn wide_registers() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        pulp::x86::V4::try_new().is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
