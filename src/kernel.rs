//! Kernel functions and the kernel matrix `Kᵢⱼ = k(xᵢ, xⱼ)`.
//!
//! | kernel     | `k(a, b)`                          |
//! |------------|------------------------------------|
//! | linear     | `⟨a, b⟩`                           |
//! | rbf        | `exp(−γ‖a − b‖²)`                  |
//! | polynomial | `(γ⟨a, b⟩ + coef0)^degree`         |
//! | sigmoid    | `tanh(γ⟨a, b⟩ + coef0)`            |
//!
//! as in LIBSVM (Chang & Lin, ACM TIST 2011, §2); `γ` defaults to
//! `1 / number of features`. For the RBF kernel the squared norms are
//! precomputed, so `‖a − b‖² = ‖a‖² + ‖b‖² − 2⟨a, b⟩` costs one dot product.
//! The sigmoid kernel is not positive semidefinite for every `γ, coef0`; the
//! solvers still run, but the certificate then carries no guarantee. A
//! negative `k(x, x)` (sigmoid or polynomial with `coef0 < 0`) makes the
//! dual's `Q` certainly indefinite and is refused as a setup error
//! (LIBSVM trains it anyway).
//!
//! # The exponential
//! The RBF kernel's `exp` is [`exp`] below, not the C library's: a
//! branch-free evaluation (Cody & Waite range reduction `x = n·ln 2 + r`,
//! `|r| ≤ ½ln 2`; the degree-13 Taylor polynomial of `eʳ` by Estrin's
//! scheme, whose truncation error `|r|¹⁴/14! < 4·10⁻¹⁸` is far below
//! rounding; the scaling by `2ⁿ` built from the bits as two normal
//! factors). It is within a few units in the last place of the correctly
//! rounded value (the tests check 4 ulp against glibc), returns exactly 0
//! below `−708` (where `eˣ < 3.3·10⁻³⁰⁸` would need subnormals, whose
//! arithmetic is slow), and has no slow path: unscaled data such as
//! svmguide1 drives most kernel values into underflow, which costs glibc's
//! `exp` a call into its error handling per entry. Being plain arithmetic,
//! it is inlined into the kernel loops ([`Kernel::map_dots`]), which apply
//! it over whole columns in a loop the compiler vectorises, compiled for the
//! CPU's widest SIMD set by [`crate::linalg::simd`] (same results on every
//! machine). Those loops use [`exp_fused`], the same evaluation with fused
//! multiply-adds (a column block 8–15 % faster, `benches/micro.rs`); the
//! scalar [`Kernel::from_dot`] (prediction, the joint verifier) keeps
//! [`exp`], which needs no FMA unit to be fast.
//!
//! Tried and not kept: for integer features with small norms (binary data
//! such as a9a) `‖a − b‖²` is an exact integer, so the exponential can be
//! read from a table of `exp_fused(−γ·m)` to the bit. With AVX-512
//! gathers the map's share of the a9a L2 solve's samples fell from about
//! 25 % to 13 %, but the solve's total CPU time by 1.6 % (within the noise:
//! 5.90, 6.22 s against 6.27, 6.15 s): the formation of a block that large
//! waits on memory, and the exponential had been overlapping that wait.

use crate::data::{Features, Row};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A kernel function with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Kernel {
    /// `⟨a, b⟩`.
    Linear,
    /// `exp(−γ‖a − b‖²)`.
    Rbf {
        /// `γ > 0`.
        gamma: f64,
    },
    /// `(γ⟨a, b⟩ + coef0)^degree`.
    Poly {
        /// `γ > 0`.
        gamma: f64,
        /// The constant term.
        coef0: f64,
        /// The degree, at least 1.
        degree: u32,
    },
    /// `tanh(γ⟨a, b⟩ + coef0)`.
    Sigmoid {
        /// `γ > 0`.
        gamma: f64,
        /// The constant term.
        coef0: f64,
    },
}

impl Kernel {
    /// A stable lower-case name, as written in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Linear => "linear",
            Kernel::Rbf { .. } => "rbf",
            Kernel::Poly { .. } => "poly",
            Kernel::Sigmoid { .. } => "sigmoid",
        }
    }

    /// Checks the parameters: `γ` positive and finite, `coef0` finite,
    /// degree at least 1.
    pub fn validate(&self) -> Result<(), String> {
        let gamma_ok = |g: f64| {
            if g.is_finite() && g > 0.0 {
                Ok(())
            } else {
                Err(format!("gamma must be a positive finite number, got {g}"))
            }
        };
        match *self {
            Kernel::Linear => Ok(()),
            Kernel::Rbf { gamma } => gamma_ok(gamma),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => {
                gamma_ok(gamma)?;
                if !coef0.is_finite() {
                    return Err(format!("coef0 must be finite, got {coef0}"));
                }
                if degree == 0 {
                    return Err("degree must be at least 1".into());
                }
                Ok(())
            }
            Kernel::Sigmoid { gamma, coef0 } => {
                gamma_ok(gamma)?;
                if coef0.is_finite() {
                    Ok(())
                } else {
                    Err(format!("coef0 must be finite, got {coef0}"))
                }
            }
        }
    }

    /// Whether [`Kernel::from_dot`] uses the squared norms.
    pub fn needs_norms(&self) -> bool {
        matches!(self, Kernel::Rbf { .. })
    }

    /// `k(a, b)` from `⟨a, b⟩`, `‖a‖²` and `‖b‖²`.
    #[inline]
    pub fn from_dot(&self, dot: f64, sq_a: f64, sq_b: f64) -> f64 {
        match *self {
            Kernel::Linear => dot,
            Kernel::Rbf { gamma } => rbf_from_dot(gamma, dot, sq_a, sq_b),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => powi(gamma * dot + coef0, degree),
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot + coef0).tanh(),
        }
    }

    /// `dots[k] ← from_dot(dots[k], sq_a[k], sq_b)` for every `k`, the same
    /// values to the bit as [`Kernel::from_dot`], the kernel matched once
    /// outside the loop: inlined into a loop run through
    /// [`crate::linalg::simd`], the RBF kernel's [`exp`] is vectorised
    /// (matched per entry it stays scalar). `sq_a` at least as long as
    /// `dots`.
    #[inline(always)]
    pub fn from_dots(&self, dots: &mut [f64], sq_a: &[f64], sq_b: f64) {
        match *self {
            Kernel::Linear => {}
            Kernel::Rbf { gamma } => {
                for (d, &sq) in dots.iter_mut().zip(sq_a) {
                    *d = rbf_from_dot(gamma, *d, sq, sq_b);
                }
            }
            _ => {
                for (d, &sq) in dots.iter_mut().zip(sq_a) {
                    *d = self.from_dot(*d, sq, sq_b);
                }
            }
        }
    }

    /// Replaces each `dots[k] = ⟨x_{rows[k]}, b⟩` by
    /// `k(x_{rows[k]}, b)` ([`Kernel::from_dot`] entrywise), with
    /// `sq_norms` the squared norms of all rows and `sq_b = ‖b‖²`. For the
    /// RBF kernel in two passes — the exponents (gathering the norms), then
    /// [`exp`] over the contiguous slice, a loop the compiler vectorises.
    #[inline]
    pub fn map_dots(&self, dots: &mut [f64], rows: &[usize], sq_norms: &[f64], sq_b: f64) {
        match *self {
            Kernel::Linear => {}
            Kernel::Rbf { gamma } => crate::linalg::simd(RbfGathered {
                dots,
                rows,
                sq_norms,
                sq_b,
                gamma,
            }),
            _ => dots
                .iter_mut()
                .for_each(|o| *o = self.from_dot(*o, 0.0, 0.0)),
        }
    }

    /// [`Kernel::map_dots`] for consecutive rows: `dots[k] = ⟨x_k, b⟩`
    /// becomes `k(x_k, b)` with `sq_rows[k] = ‖x_k‖²`.
    #[inline]
    pub fn map_dots_contiguous(&self, dots: &mut [f64], sq_rows: &[f64], sq_b: f64) {
        match *self {
            Kernel::Linear => {}
            _ => crate::linalg::simd(MapContiguous {
                kernel: *self,
                dots,
                sq_rows,
                sq_b,
            }),
        }
    }

    /// [`Kernel::map_dots_contiguous`] for callers already running inside
    /// [`crate::linalg::simd`]: the same operations, inlined into the
    /// caller instead of dispatched again.
    #[inline(always)]
    pub(crate) fn map_dots_contiguous_inlined(&self, dots: &mut [f64], sq_rows: &[f64], sq_b: f64) {
        match *self {
            Kernel::Linear => {}
            Kernel::Rbf { gamma } => crate::linalg::SimdLoop::run(RbfContiguous {
                dots,
                sq_rows,
                sq_b,
                gamma,
            }),
            _ => dots
                .iter_mut()
                .for_each(|o| *o = self.from_dot(*o, 0.0, 0.0)),
        }
    }

    /// `k(a, b)` directly from two rows.
    pub fn eval(&self, a: &Row<'_>, b: &Row<'_>) -> f64 {
        let dot = a.dot(b);
        if self.needs_norms() {
            self.from_dot(dot, a.squared_norm(), b.squared_norm())
        } else {
            self.from_dot(dot, 0.0, 0.0)
        }
    }
}

/// The RBF kernel's value from `⟨a, b⟩`, `‖a‖²` and `‖b‖²`
/// ([`Kernel::from_dot`], [`Kernel::from_dots`]): `exp(−γ·max(0, ‖a‖² +
/// ‖b‖² − 2⟨a, b⟩))` with [`exp`].
#[inline(always)]
fn rbf_from_dot(gamma: f64, dot: f64, sq_a: f64, sq_b: f64) -> f64 {
    exp(-gamma * (sq_a + sq_b - 2.0 * dot).max(0.0))
}

/// `1.5·2⁵²`: adding it rounds a double of magnitude below `2⁵¹` to an
/// integer (ties to even) held in the low bits of the sum.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Below this, [`exp`] returns 0: `e^−708 ≈ 3.3·10⁻³⁰⁸` is just above the
/// smallest normal double, and no subnormal is ever formed (arithmetic on
/// subnormals takes a microcode assist of ~100 cycles on x86).
pub const EXP_ZERO_BELOW: f64 = -708.0;

/// `eˣ` without branches or library calls (see the module documentation
/// for the method and its accuracy). `x` above `709.78` gives `+∞`; below
/// [`EXP_ZERO_BELOW`] exactly 0 (flush to zero where `eˣ` would be
/// subnormal); NaN gives NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    exp_with(x, |a, b, c| a * b + c)
}

/// [`exp`] with every `a·b + c` fused into one rounding (`f64::mul_add`):
/// about half the operations where the CPU has FMA, which the kernel loops
/// compiled by [`crate::linalg::simd`] do (x86-v3 and v4); elsewhere the
/// C library's `fma`, correctly rounded too, so the values are the same on
/// every machine. Within a few ulps of [`exp`].
#[inline(always)]
pub fn exp_fused(x: f64) -> f64 {
    exp_with(x, f64::mul_add)
}

/// The exponential of [`exp`] with `madd(a, b, c)` for `a·b + c`.
#[inline(always)]
fn exp_with(x: f64, madd: impl Fn(f64, f64, f64) -> f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that n·LN2_HI is exact for |n| < 2¹¹ (fdlibm's values).
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Clamp into [EXP_ZERO_BELOW, 710]; comparisons with NaN are false, so
    // NaN passes through and propagates.
    let xc = if x < EXP_ZERO_BELOW {
        EXP_ZERO_BELOW
    } else {
        x
    };
    let xc = if xc > 710.0 { 710.0 } else { xc };
    let shifted = madd(xc, LOG2_E, ROUND_MAGIC);
    let n = shifted - ROUND_MAGIC;
    let r = madd(-n, LN2_LO, madd(-n, LN2_HI, xc));
    // eʳ = Σ_{k ≤ 13} rᵏ/k! by Estrin's scheme (pairs, then powers r², r⁴,
    // r⁸): a dependency chain of depth 5 instead of Horner's 13, so that
    // consecutive evaluations overlap in the pipeline.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let a0 = 1.0 + r;
    let a1 = madd(r, 1.0 / 6.0, 0.5);
    let a2 = madd(r, 1.0 / 120.0, 1.0 / 24.0);
    let a3 = madd(r, 1.0 / 5_040.0, 1.0 / 720.0);
    let a4 = madd(r, 1.0 / 362_880.0, 1.0 / 40_320.0);
    let a5 = madd(r, 1.0 / 39_916_800.0, 1.0 / 3_628_800.0);
    let a6 = madd(r, 1.0 / 6_227_020_800.0, 1.0 / 479_001_600.0);
    let b0 = madd(r2, a1, a0);
    let b1 = madd(r2, a3, a2);
    let b2 = madd(r2, a5, a4);
    let c0 = madd(r4, b1, b0);
    let c1 = madd(r4, a6, b2);
    let p = madd(r8, c1, c0);
    // 2ⁿ = 2 · 2ⁿ⁻¹: after the clamps n ∈ [−1021, 1024], where 2ⁿ⁻¹ is a
    // normal double, so (p + p)·2ⁿ⁻¹ is p·2ⁿ exactly (p + p is exact), or
    // +∞ where eˣ itself overflows; the smallest result, e⁻⁷⁰⁸, is normal.
    let ni = (shifted.to_bits() as i64).wrapping_sub(ROUND_MAGIC.to_bits() as i64);
    let scale = f64::from_bits((ni.wrapping_add(1022) as u64) << 52);
    let value = (p + p) * scale;
    if x < EXP_ZERO_BELOW {
        0.0
    } else {
        value
    }
}

/// The RBF map of [`Kernel::map_dots`], run through [`crate::linalg::simd`].
struct RbfGathered<'a> {
    dots: &'a mut [f64],
    rows: &'a [usize],
    sq_norms: &'a [f64],
    sq_b: f64,
    gamma: f64,
}

impl crate::linalg::SimdLoop for RbfGathered<'_> {
    #[inline(always)]
    fn run(self) {
        let (gamma, sq_b) = (self.gamma, self.sq_b);
        for (o, &i) in self.dots.iter_mut().zip(self.rows) {
            *o = -gamma * (self.sq_norms[i] + sq_b - 2.0 * *o).max(0.0);
        }
        for o in self.dots.iter_mut() {
            *o = exp_fused(*o);
        }
    }
}

/// The RBF map of [`Kernel::map_dots_contiguous`], run through
/// [`crate::linalg::simd`].
struct RbfContiguous<'a> {
    dots: &'a mut [f64],
    sq_rows: &'a [f64],
    sq_b: f64,
    gamma: f64,
}

impl crate::linalg::SimdLoop for RbfContiguous<'_> {
    #[inline(always)]
    fn run(self) {
        let (gamma, sq_b) = (self.gamma, self.sq_b);
        for (o, &sq) in self.dots.iter_mut().zip(self.sq_rows) {
            *o = -gamma * (sq + sq_b - 2.0 * *o).max(0.0);
        }
        for o in self.dots.iter_mut() {
            *o = exp_fused(*o);
        }
    }
}

/// [`Kernel::map_dots_contiguous`] run through [`crate::linalg::simd`].
struct MapContiguous<'a> {
    kernel: Kernel,
    dots: &'a mut [f64],
    sq_rows: &'a [f64],
    sq_b: f64,
}

impl crate::linalg::SimdLoop for MapContiguous<'_> {
    #[inline(always)]
    fn run(self) {
        self.kernel
            .map_dots_contiguous_inlined(self.dots, self.sq_rows, self.sq_b)
    }
}

/// The largest dense `d × m` matrix of the block's columns
/// ([`KernelMatrix::columns_scaled`]) formed for one sparse × dense
/// product: 32 MiB (a9a's 123 features take 0.5 MiB for 512 columns).
pub const BLOCK_PRODUCT_BYTES: usize = 32 << 20;

/// Dot products of one row of a column block kept in registers while the
/// row's non-zeros are added: eight AVX2 or four AVX-512 registers.
const TILE: usize = 32;

/// [`TILE`] where [`crate::linalg::wide_registers`] holds: sixteen of the
/// 32 AVX-512 registers, so that the row's non-zeros are read once for 128
/// dot products instead of 32 (on AVX2, 16 registers of 4 doubles, such a
/// tile would spill). Measured (criterion `kernel_column/rbf block of
/// 128`, AVX-512, two alternating runs, wide tiles against tiles of 32):
/// a9a-like sparse 6.68, 6.41 against 7.15, 7.02 ms; dense 20000×20 4.13,
/// 4.36 against 4.78, 4.81 ms.
const WIDE_TILE: usize = 128;

/// Blocks of at least this many bytes (rows × stride) are written by
/// non-temporal stores ([`solvers::memory::Streaming`]): half of a
/// common last-level cache, beyond which most of the block has left the
/// cache before it is read again, so the read of each destination line an
/// ordinary store makes first is wasted memory traffic. Smaller blocks are
/// written normally, to be read from the cache. Measured (a9a, RBF, 2
/// threads, solve and certificate, alternating with ordinary stores, the
/// same model to the byte): L2 (block ≈ 43 MB) 6.17, 6.20, 7.49 s against
/// 6.89, 6.95, 8.18; L1 1.91, 1.86 against 1.95, 2.12. svmguide1's 6.3 MB
/// block, streamed in a first test: 0.103, 0.088, 0.083 s against 0.115,
/// 0.078, 0.080 — no gain where the block stays in the cache.
const STREAM_BLOCK_BYTES: usize = 16 << 20;

/// Rows of a column block per parallel task (a constant, so the split does
/// not depend on the number of threads).
const BLOCK_ROWS: usize = 64;

/// A row's indices and values, `every` (`0..d`) as the indices of a dense
/// row.
#[inline(always)]
fn entries<'a>(row: Row<'a>, every: &'a [u32]) -> (&'a [u32], &'a [f64]) {
    match row {
        Row::Sparse { indices, values } => (indices, values),
        Row::Dense(values) => (&every[..values.len()], values),
    }
}

/// The rows `rows` of a column block: per row the dot products with the
/// block's columns (`Σ_{l ∈ xᵢ} xᵢₗ B[l, :]`), the kernel map and the signs.
struct BlockRows<'a> {
    kernel: Kernel,
    features: &'a Features,
    /// `0..d`, the indices of a dense row.
    every: &'a [u32],
    b: &'a [f64],
    sq_norms: &'a [f64],
    sq_cols: &'a [f64],
    signs: Option<&'a [f64]>,
    col_signs: Option<&'a [f64]>,
    /// The rows of `X`, one per row of `out`.
    rows: &'a [usize],
    out: &'a mut [f64],
    ld: usize,
    m: usize,
    /// Whether to use tiles of [`WIDE_TILE`] first.
    wide: bool,
    /// Whether to write `out` by non-temporal stores
    /// ([`STREAM_BLOCK_BYTES`]).
    stream: bool,
}

impl crate::linalg::SimdLoop for BlockRows<'_> {
    #[inline(always)]
    fn run(self) {
        let m = self.m;
        // Each row is formed in a buffer that stays in the first-level
        // cache, then copied out once.
        let mut buffer = vec![0.0; m];
        // Fences its copies when dropped, at the end of the task.
        let mut streaming = self.stream.then(solvers::memory::Streaming::default);
        for (r, &i) in self.rows.iter().enumerate() {
            let row = &mut buffer[..];
            let (indices, values) = entries(self.features.row(i), self.every);
            // Tiles of dot products summed in registers over the row's
            // non-zeros, then stored once (wide tiles first where they
            // fit); the last partial tile in place.
            let mut done = 0;
            if self.wide {
                done = tile_sums::<WIDE_TILE>(row, done, indices, values, self.b);
            }
            done = tile_sums::<TILE>(row, done, indices, values, self.b);
            let rest = &mut row[done..];
            rest.iter_mut().for_each(|o| *o = 0.0);
            for (&l, &v) in indices.iter().zip(values) {
                let start = l as usize * m + done;
                for (o, &w) in rest.iter_mut().zip(&self.b[start..l as usize * m + m]) {
                    *o += v * w;
                }
            }
            self.kernel
                .map_dots_contiguous_inlined(row, self.sq_cols, self.sq_norms[i]);
            if let (Some(s), Some(cs)) = (self.signs, self.col_signs) {
                let si = s[i];
                for (o, &sj) in row.iter_mut().zip(cs) {
                    *o *= si * sj;
                }
            }
            let dst = &mut self.out[r * self.ld..r * self.ld + m];
            match &mut streaming {
                Some(st) => st.copy(dst, row),
                None => dst.copy_from_slice(row),
            }
        }
    }
}

/// Fills `row[from..]` with as many whole tiles of `T` dot products as fit,
/// `row[k] = Σ_{l} vₗ B[l, k]` over the row's non-zeros `(l, vₗ)` in
/// increasing `l` (`B` row-major with `row.len()` columns), the sums held in
/// registers; returns where the tiles end. Each entry is the same sequence
/// of operations whatever `T`.
#[inline(always)]
fn tile_sums<const T: usize>(
    row: &mut [f64],
    from: usize,
    indices: &[u32],
    values: &[f64],
    b: &[f64],
) -> usize {
    let m = row.len();
    let mut tiles = row[from..].chunks_exact_mut(T);
    for (t, tile) in (&mut tiles).enumerate() {
        let mut acc = [0.0; T];
        for (&l, &v) in indices.iter().zip(values) {
            let start = l as usize * m + from + t * T;
            let w: &[f64; T] = b[start..start + T].try_into().unwrap();
            for k in 0..T {
                acc[k] += v * w[k];
            }
        }
        tile.copy_from_slice(&acc);
    }
    m - tiles.into_remainder().len()
}

/// `x^n` by repeated squaring (exact for small integer powers, as LIBSVM).
fn powi(x: f64, n: u32) -> f64 {
    let (mut base, mut n, mut acc) = (x, n, 1.0);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

/// Work (rows × average non-zeros) below which a column is computed on the
/// calling thread: rayon's fork–join costs a few microseconds.
const PARALLEL_WORK: usize = 1 << 15;

/// An entrywise map applied to a kernel column `j` after the kernel:
/// `K[i, j] ↦ sᵢ sⱼ K[i, j]`, plus `shift` on the diagonal entry (`i = j`).
#[derive(Debug, Clone, Copy)]
pub struct Scale<'a> {
    /// The signs `s` (one per row of `X`).
    pub signs: &'a [f64],
    /// Added to the entry of row `j`.
    pub shift: f64,
}

impl Scale<'_> {
    /// The map on `out[k]`, the entry of row `rows[k]` of column `j`: the
    /// signs in a loop without branches, then the shift where
    /// `rows[k] = j` (skipped when it is 0, which adds nothing: the
    /// diagonal `sⱼ²K[j, j] ≥ 0` is never `−0`).
    #[inline(always)]
    fn apply(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        let sj = self.signs[j];
        for (o, &i) in out.iter_mut().zip(rows) {
            *o *= self.signs[i] * sj;
        }
        if self.shift != 0.0 {
            if let Some(k) = rows.iter().position(|&i| i == j) {
                out[k] += self.shift;
            }
        }
    }

    /// [`Scale::apply`] for the consecutive rows `lo..lo + out.len()`.
    #[inline(always)]
    fn apply_contiguous(&self, j: usize, lo: usize, out: &mut [f64]) {
        let sj = self.signs[j];
        let hi = lo + out.len();
        for (o, &si) in out.iter_mut().zip(&self.signs[lo..hi]) {
            *o *= si * sj;
        }
        if self.shift != 0.0 && (lo..hi).contains(&j) {
            out[j - lo] += self.shift;
        }
    }
}

/// The kernel matrix of a feature set, computed on demand.
#[derive(Debug, Clone)]
pub struct KernelMatrix<'a> {
    features: &'a Features,
    kernel: Kernel,
    sq_norms: Vec<f64>,
    /// `X` by columns, for sparse storage (see [`KernelMatrix::column`]).
    by_columns: Option<Columns>,
}

/// A sparse matrix stored by columns (compressed sparse columns, row
/// indices increasing within a column).
#[derive(Debug, Clone)]
struct Columns {
    indptr: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<f64>,
    /// For each column of `X`, its slot in `dense` when it is stored
    /// densely as well (at least [`DENSE_COLUMN_SHARE`] of its entries
    /// non-zero), else `None`.
    dense_slot: Vec<Option<usize>>,
    /// The dense columns, `n` entries each, one after another.
    dense: Vec<f64>,
    /// The number of rows of `X`.
    n: usize,
}

/// A column of `X` with at least `n / DENSE_COLUMN_SHARE` non-zeros is
/// also stored densely: adding `v · X_{:l}` over a block of rows is then a
/// contiguous, vectorised loop instead of one scattered add per non-zero,
/// and the dense copy costs at most `8 · DENSE_COLUMN_SHARE` bytes per
/// non-zero of that column — `O(nnz)` memory in all.
const DENSE_COLUMN_SHARE: usize = 8;

impl Columns {
    /// `X` by columns, in one counting pass and one filling pass over the
    /// non-zeros.
    fn new(features: &Features) -> Self {
        let (n, d) = (features.n_rows(), features.n_cols());
        let mut count = vec![0usize; d + 1];
        let visit = |f: &mut dyn FnMut(usize, usize, f64)| {
            for i in 0..n {
                match features.row(i) {
                    Row::Sparse { indices, values } => {
                        for (&k, &v) in indices.iter().zip(values) {
                            f(i, k as usize, v);
                        }
                    }
                    Row::Dense(values) => {
                        for (k, &v) in values.iter().enumerate() {
                            if v != 0.0 {
                                f(i, k, v);
                            }
                        }
                    }
                }
            }
        };
        visit(&mut |_, k, _| count[k + 1] += 1);
        for k in 0..d {
            count[k + 1] += count[k];
        }
        let nnz = count[d];
        let (mut rows, mut values) = (vec![0u32; nnz], vec![0.0; nnz]);
        let mut next = count.clone();
        visit(&mut |i, k, v| {
            rows[next[k]] = i as u32;
            values[next[k]] = v;
            next[k] += 1;
        });
        let mut dense_slot = vec![None; d];
        let mut slots = 0;
        for (k, slot) in dense_slot.iter_mut().enumerate() {
            if (count[k + 1] - count[k]) * DENSE_COLUMN_SHARE >= n.max(1) {
                *slot = Some(slots);
                slots += 1;
            }
        }
        let mut dense = vec![0.0; slots * n];
        for (k, slot) in dense_slot.iter().enumerate() {
            if let Some(s) = slot {
                let col = &mut dense[s * n..(s + 1) * n];
                for (&i, &v) in rows[count[k]..count[k + 1]]
                    .iter()
                    .zip(&values[count[k]..count[k + 1]])
                {
                    col[i as usize] = v;
                }
            }
        }
        Self {
            indptr: count,
            rows,
            values,
            dense_slot,
            dense,
            n,
        }
    }

    /// The work of adding column `k` of `X` into all `n` dot products: its
    /// non-zeros when scattered, a quarter of `n` when it is dense (a
    /// contiguous loop of several lanes per instruction, against one
    /// scattered read–modify–write per non-zero).
    fn cost(&self, k: usize) -> usize {
        match self.dense_slot[k] {
            Some(_) => (self.indptr[k + 1] - self.indptr[k]).min(self.n / 4),
            None => self.indptr[k + 1] - self.indptr[k],
        }
    }

    /// Column `k` of `X` stored densely (`n` entries), if it is.
    fn dense_column(&self, k: usize) -> Option<&[f64]> {
        let n = self.n;
        self.dense_slot[k].map(|s| &self.dense[s * n..(s + 1) * n])
    }

    /// The non-zeros of column `k`: row indices and values.
    fn column(&self, k: usize) -> (&[u32], &[f64]) {
        let range = self.indptr[k]..self.indptr[k + 1];
        (&self.rows[range.clone()], &self.values[range])
    }
}

thread_local! {
    /// The dot-product buffer of [`KernelMatrix::column_by_columns`].
    static DOTS: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Rows per parallel task when a column's dot products are accumulated
/// through [`Columns`]; fixed, so every sum is the same for any pool size.
const SCATTER_ROWS: usize = 1 << 13;

/// Rows per parallel task when the dot products are gathered (and, for a
/// partial column, mapped through the kernel). It was 65 536 once, to save
/// fork–joins, which made the exponential of any column of fewer rows run
/// on one thread: a whole a9a column (32 561 rows) took 195 µs on two
/// threads with that, 90 µs with this. The work is elementwise, so the
/// split changes no result.
const FILL_ROWS: usize = 1 << 13;

impl<'a> KernelMatrix<'a> {
    /// Prepares `K` for `features` (squared norms computed in parallel).
    pub fn new(features: &'a Features, kernel: Kernel) -> Self {
        let n = features.n_rows();
        let sq_norms = if kernel.needs_norms() {
            (0..n)
                .into_par_iter()
                .map(|i| features.row(i).squared_norm())
                .collect()
        } else {
            vec![0.0; n]
        };
        let by_columns = match features {
            Features::Sparse(_) if n <= u32::MAX as usize => Some(Columns::new(features)),
            _ => None,
        };
        Self {
            features,
            kernel,
            sq_norms,
            by_columns,
        }
    }

    /// The number of rows.
    pub fn dim(&self) -> usize {
        self.features.n_rows()
    }

    /// The kernel.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// `K[i, j]`.
    pub fn value(&self, i: usize, j: usize) -> f64 {
        let dot = self.features.row(i).dot(&self.features.row(j));
        self.kernel
            .from_dot(dot, self.sq_norms[i], self.sq_norms[j])
    }

    /// `K[i, i]` for every `i`.
    pub fn diagonal(&self, out: &mut [f64]) {
        out.par_iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = self.value(i, i));
    }

    /// `out[k] = K[rows[k], j]`, in parallel for long columns, by one of
    /// two ways to form the dot products `⟨x_rows[k], xⱼ⟩`, whichever
    /// touches fewer non-zeros:
    /// - by rows: `xⱼ` is scattered into a dense vector once, then each
    ///   entry costs one pass over the non-zeros of `x_rows[k]`
    ///   (`Σ_k nnz(x_rows[k])` operations);
    /// - by columns (sparse storage): for each non-zero `xⱼₗ`, in
    ///   increasing `l`, the non-zeros of column `l` of `X` are added into
    ///   a dense vector of all `n` dot products, which is then gathered
    ///   (`Σ_{l ∈ xⱼ} nnz(X_{:l}) + n` operations) — far fewer on one-hot
    ///   data such as a9a, where a row meets few other rows' non-zeros.
    ///   Columns of `X` with at least `n / 8` non-zeros are also kept
    ///   densely and added by a contiguous vectorised loop; the rows are
    ///   split into fixed blocks accumulated, then mapped through the
    ///   kernel, in parallel.
    ///
    /// Both add the same non-zero products in the same (increasing column)
    /// order, so the value does not depend on the way chosen.
    pub fn column(&self, j: usize, rows: &[usize], out: &mut [f64]) {
        self.column_scaled(j, rows, out, None);
    }

    /// [`KernelMatrix::column`] followed by `scale` (if any) on each entry,
    /// in the same parallel pass — the form in which a dual's Hessian
    /// `Q = YKY + D` uses a kernel column.
    pub fn column_scaled(
        &self,
        j: usize,
        rows: &[usize],
        out: &mut [f64],
        scale: Option<Scale<'_>>,
    ) {
        let xj = self.features.row(j);
        if let (Some(t), Row::Sparse { indices, values }) = (&self.by_columns, xj) {
            let avg_nnz = self.features.nnz_hint() / self.dim().max(1);
            let by_columns: usize = indices.iter().map(|&l| t.cost(l as usize)).sum();
            if by_columns + self.dim() < rows.len() * avg_nnz {
                return self.column_by_columns(t, j, indices, values, rows, out, scale);
            }
        }
        self.column_by_rows(j, rows, out, scale);
    }

    /// Columns `cols` of the kernel matrix on the rows `rows`, scaled like
    /// [`KernelMatrix::column_scaled`] (`scale.shift` unused: `shifts[k]` is
    /// added on the diagonal entry of column `cols[k]`), as a row-major
    /// `rows.len() × cols.len()` block with row stride `ld`:
    /// `out[r·ld + k] = sᵢ s_{cols[k]} K[i, cols[k]]` for `i = rows[r]`
    /// (+ the shift when `i = cols[k]`).
    ///
    /// One matrix product, for a dense `d × m` matrix `B` of the columns'
    /// rows small enough ([`KernelMatrix::block_product`]; panics
    /// otherwise — `DualHessian` then forms the columns one by one): each
    /// row `xᵢ` of `X` gives its `m` dot products as
    /// `Σ_{l ∈ xᵢ} xᵢₗ B[l, :]` (over its non-zeros for sparse rows, all
    /// `d` entries for dense ones) — contiguous adds held in registers by
    /// tiles — followed by the kernel map and the scale, in parallel over
    /// fixed blocks of rows. Each dot product adds the same products in the
    /// same (increasing feature) order as [`KernelMatrix::column`] (any
    /// other terms are exact zeros), so the block equals the columns to the
    /// bit; the cost is proportional to the rows asked for.
    pub fn columns_scaled(
        &self,
        cols: &[usize],
        rows: &[usize],
        out: &mut [f64],
        ld: usize,
        signs: Option<&[f64]>,
        shifts: &[f64],
    ) {
        let m = cols.len();
        assert!(m <= ld, "the stride must hold a row of the block");
        assert_eq!(shifts.len(), m, "one shift per column");
        assert!(
            rows.is_empty() || out.len() >= (rows.len() - 1) * ld + m,
            "out must hold a block row per row"
        );
        if m == 0 || rows.is_empty() {
            return;
        }
        let d = self.features.n_cols();
        assert!(
            self.block_product(m),
            "the d × m matrix of the columns' rows exceeds BLOCK_PRODUCT_BYTES"
        );
        // Dense rows are sparse rows with every index.
        let every: Vec<u32> = match self.features {
            Features::Dense(_) => (0..d as u32).collect(),
            Features::Sparse(_) => Vec::new(),
        };
        let mut b = vec![0.0; d * m];
        for (k, &j) in cols.iter().enumerate() {
            let (indices, values) = entries(self.features.row(j), &every);
            for (&l, &v) in indices.iter().zip(values) {
                b[l as usize * m + k] = v;
            }
        }
        let sq_cols: Vec<f64> = cols.iter().map(|&j| self.sq_norms[j]).collect();
        let col_signs: Option<Vec<f64>> = signs.map(|s| cols.iter().map(|&j| s[j]).collect());
        let wide = crate::linalg::wide_registers();
        let stream = rows.len().saturating_mul(ld).saturating_mul(8) >= STREAM_BLOCK_BYTES;
        // The diagonal entries: the block's columns by row of `X`, and a
        // bit per row of `X` marking them, so that a row that is none of
        // the columns (almost all) is passed by one test.
        let mut diagonal: Vec<(usize, usize)> = cols.iter().copied().zip(0..m).collect();
        diagonal.sort_unstable();
        let mut is_col = vec![0u64; self.features.n_rows().div_ceil(64)];
        for &j in cols {
            is_col[j / 64] |= 1 << (j % 64);
        }
        out.par_chunks_mut(BLOCK_ROWS * ld)
            .zip(rows.par_chunks(BLOCK_ROWS))
            .for_each(|(chunk, rows)| {
                crate::linalg::simd(BlockRows {
                    kernel: self.kernel,
                    features: self.features,
                    every: &every,
                    b: &b,
                    sq_norms: &self.sq_norms,
                    sq_cols: &sq_cols,
                    signs,
                    col_signs: col_signs.as_deref(),
                    rows,
                    out: chunk,
                    ld,
                    m,
                    wide,
                    stream,
                });
                for (r, &i) in rows.iter().enumerate() {
                    if is_col[i / 64] & (1 << (i % 64)) == 0 {
                        continue;
                    }
                    let first = diagonal.partition_point(|&(c, _)| c < i);
                    for &(_, k) in diagonal[first..].iter().take_while(|&&(c, _)| c == i) {
                        chunk[r * ld + k] += shifts[k];
                    }
                }
            });
    }

    /// Whether [`KernelMatrix::columns_scaled`] forms `size` columns as
    /// one matrix product: its dense `d × size` matrix takes at most
    /// [`BLOCK_PRODUCT_BYTES`].
    pub fn block_product(&self, size: usize) -> bool {
        self.features
            .n_cols()
            .saturating_mul(size)
            .saturating_mul(8)
            <= BLOCK_PRODUCT_BYTES
    }

    /// Whether a typical column is formed through `X` by columns (see
    /// [`KernelMatrix::column`]), whose cost hardly depends on the number
    /// of rows asked for: the expected work over a row `j` drawn at random,
    /// `Σₗ (nnz(X_{:l}) / n) · cost(l) + n`, against `n` times the average
    /// number of non-zeros of a row.
    pub fn whole_columns_preferred(&self) -> bool {
        let Some(t) = &self.by_columns else {
            return false;
        };
        let n = self.dim().max(1);
        let expected: f64 = (0..t.dense_slot.len())
            .map(|l| (t.indptr[l + 1] - t.indptr[l]) as f64 / n as f64 * t.cost(l) as f64)
            .sum();
        let by_rows = self.features.nnz_hint() as f64;
        expected + (n as f64) < by_rows
    }

    /// [`KernelMatrix::column`] by rows: `xⱼ` scattered once, one pass over
    /// each row's non-zeros.
    fn column_by_rows(&self, j: usize, rows: &[usize], out: &mut [f64], scale: Option<Scale<'_>>) {
        let xj = self.features.row(j);
        let sq_j = self.sq_norms[j];
        let kernel = self.kernel;
        // Two passes per chunk: the dot products, then the kernel map,
        // a loop without calls that the compiler can vectorise.
        let fill = |dense: &[f64], rows: &[usize], out: &mut [f64]| {
            for (o, &i) in out.iter_mut().zip(rows) {
                *o = self.features.row(i).dot_dense(dense);
            }
            kernel.map_dots(out, rows, &self.sq_norms, sq_j);
            if let Some(scale) = scale {
                scale.apply(j, rows, out);
            }
        };
        let n_cols = self.features.n_cols();
        let avg_nnz = (self.features.nnz_hint() / self.dim().max(1)).max(1);
        let scattered;
        let dense: &[f64] = match xj {
            Row::Dense(v) => v,
            Row::Sparse { .. } => {
                let mut d = vec![0.0; n_cols];
                xj.scatter_into(&mut d);
                scattered = d;
                &scattered
            }
        };
        if rows.len() * avg_nnz < PARALLEL_WORK {
            fill(dense, rows, out);
        } else {
            let chunk = (PARALLEL_WORK / avg_nnz).max(64);
            out.par_chunks_mut(chunk)
                .zip(rows.par_chunks(chunk))
                .for_each(|(o, r)| fill(dense, r, o));
        }
    }
}

impl KernelMatrix<'_> {
    /// [`KernelMatrix::column`] through `X` by columns: the dot products
    /// with all `n` rows, accumulated over fixed row ranges in parallel,
    /// then gathered for `rows` and mapped through the kernel.
    fn column_by_columns(
        &self,
        t: &Columns,
        j: usize,
        indices: &[u32],
        values: &[f64],
        rows: &[usize],
        out: &mut [f64],
        scale: Option<Scale<'_>>,
    ) {
        let n = self.dim();
        // A buffer kept per thread and reused: a fresh `n`-vector per
        // column would mean fresh pages (page faults, kernel zeroing) for
        // every column once `n` is large.
        // Taken out while in use, so a nested call on the same thread (a
        // rayon worker stealing another column's task while it waits)
        // finds it empty and allocates its own.
        let mut buffer = DOTS.take();
        // Zeroed block by block by the tasks that fill it (in parallel).
        buffer.resize(n, 0.0);
        let dots = &mut buffer[..];
        let sq_j = self.sq_norms[j];
        // A whole column (every row, in any order) is mapped through the
        // kernel in row order, block by block right after its dot products
        // (contiguous norms and signs, data still in cache); the pass after
        // only gathers it into `rows`' order.
        let whole = rows.len() == n;
        let accumulate = |(c, block): (usize, &mut [f64])| {
            crate::linalg::simd(Accumulate {
                block,
                lo: c * SCATTER_ROWS,
                indices,
                values,
                columns: t,
                map: whole.then_some(MapRows {
                    kernel: self.kernel,
                    sq_norms: &self.sq_norms,
                    sq_j,
                    j,
                    scale,
                }),
            })
        };
        if n <= SCATTER_ROWS {
            accumulate((0, dots));
        } else {
            dots.par_chunks_mut(SCATTER_ROWS)
                .enumerate()
                .for_each(accumulate);
        }
        let fill = |(out, rows): (&mut [f64], &[usize])| {
            for (o, &i) in out.iter_mut().zip(rows) {
                *o = dots[i];
            }
            if !whole {
                self.kernel.map_dots(out, rows, &self.sq_norms, sq_j);
                if let Some(scale) = scale {
                    scale.apply(j, rows, out);
                }
            }
        };
        if rows.len() <= FILL_ROWS {
            fill((out, rows));
        } else {
            out.par_chunks_mut(FILL_ROWS)
                .zip(rows.par_chunks(FILL_ROWS))
                .for_each(fill);
        }
        DOTS.set(buffer);
    }
}

/// `block[i − lo] += Σ_{l} vₗ · X[i, l]` over the non-zeros `(l, vₗ)` of
/// one row of `X`, in increasing `l`, for the rows `lo..lo + block.len()`:
/// a contiguous loop for the columns of `X` stored densely, scattered adds
/// for the others. Run through [`crate::linalg::simd`].
struct Accumulate<'a> {
    block: &'a mut [f64],
    lo: usize,
    indices: &'a [u32],
    values: &'a [f64],
    columns: &'a Columns,
    /// The kernel map and scale to apply to the rows' dot products.
    map: Option<MapRows<'a>>,
}

/// The kernel map and [`Scale`] of column `j` on consecutive rows.
#[derive(Clone, Copy)]
struct MapRows<'a> {
    kernel: Kernel,
    sq_norms: &'a [f64],
    sq_j: f64,
    j: usize,
    scale: Option<Scale<'a>>,
}

impl MapRows<'_> {
    /// Maps `block`, the dot products of rows `lo..lo + block.len()` with
    /// row `j`, to the column's entries: the same operations as the
    /// partial-column path of [`KernelMatrix::column`]. Inlined into a SIMD
    /// function.
    #[inline(always)]
    fn apply(&self, lo: usize, block: &mut [f64]) {
        let hi = lo + block.len();
        self.kernel
            .map_dots_contiguous_inlined(block, &self.sq_norms[lo..hi], self.sq_j);
        if let Some(scale) = self.scale {
            scale.apply_contiguous(self.j, lo, block);
        }
    }
}

impl crate::linalg::SimdLoop for Accumulate<'_> {
    #[inline(always)]
    fn run(self) {
        // Sub-blocks small enough for the first-level cache: the
        // accumulators stay there while each column of `X` streams past.
        for (s, block) in self.block.chunks_mut(ACCUMULATE_SUB_ROWS).enumerate() {
            let lo = self.lo + s * ACCUMULATE_SUB_ROWS;
            let hi = lo + block.len();
            // The block is not zeroed beforehand when the first column is
            // dense: that column's pass writes `0 + x·v` (the same value as
            // adding into zeros, signed zeros included) instead of adding.
            let mut written = false;
            for (&l, &v) in self.indices.iter().zip(self.values) {
                if let Some(col) = self.columns.dense_column(l as usize) {
                    if written {
                        for (b, &x) in block.iter_mut().zip(&col[lo..hi]) {
                            *b += x * v;
                        }
                    } else {
                        for (b, &x) in block.iter_mut().zip(&col[lo..hi]) {
                            *b = 0.0 + x * v;
                        }
                        written = true;
                    }
                    continue;
                }
                if !written {
                    block.fill(0.0);
                    written = true;
                }
                let (r, x) = self.columns.column(l as usize);
                let (a, b) = (
                    r.partition_point(|&i| (i as usize) < lo),
                    r.partition_point(|&i| (i as usize) < hi),
                );
                for (&i, &xi) in r[a..b].iter().zip(&x[a..b]) {
                    block[i as usize - lo] += xi * v;
                }
            }
            if !written {
                block.fill(0.0);
            }
            if let Some(map) = &self.map {
                map.apply(lo, block);
            }
        }
    }
}

/// Rows per sub-block in [`Accumulate`]: 8 KiB of accumulators.
const ACCUMULATE_SUB_ROWS: usize = 1 << 10;

/// Rows (or columns) handled by one rayon task in the products below. A
/// constant, so the split — and every sum — is the same for any pool size.
const PRODUCT_CHUNK: usize = 64;

impl<'a> KernelMatrix<'a> {
    /// The feature rows.
    pub fn features(&self) -> &'a Features {
        self.features
    }

    /// `out = K v` by recomputing the rows of `K` blockwise: row `i` is
    /// `Σⱼ K(i, j)vⱼ` over the non-zeros of `v` in increasing `j`, summed
    /// sequentially; rows are split into fixed chunks of [`PRODUCT_CHUNK`]
    /// run in parallel, so the result is bit-identical for any number of
    /// threads. Cost `O(n · Σ_{vⱼ ≠ 0} nnz(xⱼ))` and no storage of `K`.
    pub fn matvec(&self, v: &[f64], out: &mut [f64]) {
        assert_eq!(v.len(), self.dim(), "v must have length n");
        assert_eq!(out.len(), self.dim(), "out must have length n");
        let nonzero: Vec<usize> = (0..v.len()).filter(|&j| v[j] != 0.0).collect();
        let n_cols = self.features.n_cols();
        out.par_chunks_mut(PRODUCT_CHUNK).enumerate().for_each_init(
            || vec![0.0; n_cols],
            |dense, (c, block)| {
                for (k, o) in block.iter_mut().enumerate() {
                    let i = c * PRODUCT_CHUNK + k;
                    let xi = self.features.row(i);
                    xi.scatter_into(dense);
                    let mut acc = 0.0;
                    for &j in &nonzero {
                        let dot = self.features.row(j).dot_dense(dense);
                        acc += self
                            .kernel
                            .from_dot(dot, self.sq_norms[i], self.sq_norms[j])
                            * v[j];
                    }
                    xi.clear_from(dense);
                    *o = acc;
                }
            },
        );
    }

    /// The whole matrix `K`, row-major `n × n`, exactly symmetric.
    ///
    /// When the features fit densely in no more room than `K` itself
    /// (`n_cols ≤ n`), the dot products `XXᵀ` come from faer's matrix
    /// multiply ([`crate::linalg::gram_block_seq`]) on fixed blocks of
    /// [`PRODUCT_CHUNK`] rows run in parallel; otherwise each row is a
    /// [`KernelMatrix::column`]. The kernel is then applied entrywise and
    /// the upper triangle copied from the lower one. Every entry is
    /// computed by the same sequential code for any pool size.
    pub fn dense(&self) -> Vec<f64> {
        let n = self.dim();
        let d = self.features.n_cols();
        let mut k = vec![0.0; n * n];
        if n == 0 {
            return k;
        }
        if d <= n {
            let owned;
            let x: &[f64] = match self.features {
                Features::Dense(rows) => &rows.values,
                Features::Sparse(_) => {
                    let mut values = vec![0.0; n * d];
                    values
                        .par_chunks_mut(d.max(1))
                        .enumerate()
                        .for_each(|(i, row)| self.features.row(i).scatter_into(row));
                    owned = values;
                    &owned
                }
            };
            k.par_chunks_mut(PRODUCT_CHUNK * n)
                .enumerate()
                .for_each(|(c, block)| {
                    let r0 = c * PRODUCT_CHUNK;
                    let m = block.len() / n;
                    crate::linalg::gram_block_seq(&x[r0 * d..(r0 + m) * d], m, x, n, d, block);
                    for (r, row) in block.chunks_mut(n).enumerate() {
                        let sq_i = self.sq_norms[r0 + r];
                        self.kernel.map_dots_contiguous(row, &self.sq_norms, sq_i);
                    }
                });
        } else {
            let all: Vec<usize> = (0..n).collect();
            k.par_chunks_mut(n)
                .enumerate()
                .for_each(|(i, row)| self.column(i, &all, row));
        }
        // Exact symmetry: the upper triangle from the lower, in tiles.
        const TILE: usize = 32;
        for bi in (0..n).step_by(TILE) {
            for bj in (bi..n).step_by(TILE) {
                for i in bi..(bi + TILE).min(n) {
                    for j in bj.max(i + 1)..(bj + TILE).min(n) {
                        k[i * n + j] = k[j * n + i];
                    }
                }
            }
        }
        k
    }
}

/// The linear kernel's product `K v = X(Xᵀv)` in `O(nnz(X))`, without
/// forming `K`: `Xᵀ` is stored once by columns (compressed sparse columns
/// of `X`, row indices increasing). Both halves run in parallel over fixed
/// chunks with sequential sums inside — `wₖ = Σᵢ xᵢₖvᵢ` per column, then
/// `⟨xᵢ, w⟩` per row — so the result is bit-identical for any number of
/// threads.
#[derive(Debug, Clone)]
pub struct LinearGram<'a> {
    features: &'a Features,
    columns: Columns,
}

impl<'a> LinearGram<'a> {
    /// Stores `Xᵀ` for `features` (one pass over the non-zeros).
    pub fn new(features: &'a Features) -> Self {
        Self {
            features,
            columns: Columns::new(features),
        }
    }

    /// `out = X(Xᵀv)`.
    pub fn matvec(&self, v: &[f64], out: &mut [f64]) {
        let n = self.features.n_rows();
        assert_eq!(v.len(), n, "v must have length n");
        assert_eq!(out.len(), n, "out must have length n");
        let d = self.columns.indptr.len() - 1;
        let mut w = vec![0.0; d];
        w.par_chunks_mut(PRODUCT_CHUNK)
            .enumerate()
            .for_each(|(c, block)| {
                for (t, wk) in block.iter_mut().enumerate() {
                    let (rows, values) = self.columns.column(c * PRODUCT_CHUNK + t);
                    *wk = rows
                        .iter()
                        .zip(values)
                        .map(|(&i, &x)| x * v[i as usize])
                        .sum();
                }
            });
        out.par_chunks_mut(PRODUCT_CHUNK)
            .enumerate()
            .for_each(|(c, block)| {
                for (t, o) in block.iter_mut().enumerate() {
                    *o = self.features.row(c * PRODUCT_CHUNK + t).dot_dense(&w);
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic points spread over `[lo, hi]`.
    fn grid(lo: f64, hi: f64, k: usize) -> impl Iterator<Item = f64> {
        (0..=k).map(move |t| lo + (hi - lo) * (t as f64 / k as f64) * 0.999_999_7)
    }

    #[test]
    fn exp_is_within_a_few_ulps_of_libm() {
        for x in grid(-708.0, 709.0, 200_000).chain(grid(-1.0, 1.0, 100_000)) {
            let libm = x.exp();
            for (name, ours) in [("exp", exp(x)), ("exp_fused", exp_fused(x))] {
                let rel = ((ours - libm) / libm).abs();
                assert!(
                    rel <= 4.0 * f64::EPSILON,
                    "{name}({x}) = {ours}, libm {libm}"
                );
            }
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp_fused(0.0), 1.0);
    }

    #[test]
    fn columns_by_rows_and_by_columns_agree_to_the_bit() {
        // One-hot-like sparse rows: a few popular columns, many rare ones.
        let mut next = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        // More rows than one accumulation block, so blocks start past row 0.
        let n = SCATTER_ROWS + 700;
        let rows: Vec<Vec<(u32, f64)>> = (0..n)
            .map(|_| {
                // Columns 1..61 hold one of ten per group (sparse); 0 and
                // 61 are set in half of the rows (stored densely as well),
                // so that a row's first column is dense in half the rows.
                let mut r: Vec<(u32, f64)> = (0..6u32)
                    .map(|g| (1 + g * 10 + next(10) as u32, 0.25 * (1 + next(4)) as f64))
                    .collect();
                r.dedup_by_key(|e| e.0);
                if next(2) == 0 {
                    r.insert(0, (0, -0.5 * (1 + next(3)) as f64));
                }
                if next(2) == 0 {
                    r.push((61, -0.5 * (1 + next(3)) as f64));
                }
                r
            })
            .collect();
        let features = Features::from_sparse_rows(&rows, 62);
        for kernel in [Kernel::Rbf { gamma: 0.3 }, Kernel::Linear] {
            let k = KernelMatrix::new(&features, kernel);
            let t = k.by_columns.as_ref().expect("sparse storage");
            assert!(t.dense_column(0).is_some() && t.dense_column(61).is_some());
            assert!(t.dense_column(1).is_none());
            let first_dense = (0..n)
                .find(|&i| rows[i][0].0 == 0)
                .expect("a row with column 0");
            let first_sparse = (0..n).find(|&i| rows[i][0].0 != 0).expect("a row without");
            let subset: Vec<usize> = (0..n).rev().step_by(3).collect();
            for j in [first_dense, first_sparse, n - 1] {
                let (mut a, mut b) = (vec![0.0; subset.len()], vec![0.0; subset.len()]);
                k.column_by_rows(j, &subset, &mut a, None);
                let Row::Sparse { indices, values } = features.row(j) else {
                    panic!("sparse row")
                };
                k.column_by_columns(t, j, indices, values, &subset, &mut b, None);
                assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
                assert_eq!(a[0], k.value(subset[0], j));
                // Whole columns (every row, here in reverse order) are
                // mapped in row order before the gather: the same values,
                // scaled or not.
                let signs: Vec<f64> = (0..n)
                    .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
                    .collect();
                let all: Vec<usize> = (0..n).rev().collect();
                for scale in [
                    None,
                    Some(Scale {
                        signs: &signs,
                        shift: 0.25,
                    }),
                ] {
                    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                    k.column_by_rows(j, &all, &mut a, scale);
                    k.column_by_columns(t, j, indices, values, &all, &mut b, scale);
                    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
                }
                // The scaled form: the same map as applying it afterwards.
                let signs: Vec<f64> = (0..n)
                    .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
                    .collect();
                let scale = Scale {
                    signs: &signs,
                    shift: 0.25,
                };
                let rows_with_j: Vec<usize> = vec![j, (j + 1) % n, (j + 2) % n];
                let mut c = vec![0.0; 3];
                k.column_scaled(j, &rows_with_j, &mut c, Some(scale));
                for (k_, &i) in rows_with_j.iter().enumerate() {
                    let mut want = k.value(i, j) * (signs[i] * signs[j]);
                    if i == j {
                        want += 0.25;
                    }
                    assert_eq!(c[k_].to_bits(), want.to_bits());
                }
            }
        }
    }

    #[test]
    fn column_blocks_equal_the_columns_to_the_bit() {
        // Sparse rows with negative values, empty rows and a dense-ish
        // column; more rows than one parallel task; blocks with partial
        // register tiles, a wider stride and an offset.
        let mut rng = solvers::rng::SplitMix64::new(11);
        let mut next = move |m: u64| rng.below(m as usize) as u64;
        let n = 3 * BLOCK_ROWS + 17;
        let rows: Vec<Vec<(u32, f64)>> = (0..n)
            .map(|i| {
                if i % 29 == 5 {
                    return Vec::new();
                }
                let mut r: Vec<(u32, f64)> = (0..5u32)
                    .map(|g| (g * 8 + next(8) as u32, (next(7) as f64 - 3.0) / 4.0))
                    .collect();
                r.retain(|e| e.1 != 0.0);
                r
            })
            .collect();
        let features = Features::from_sparse_rows(&rows, 40);
        let signs: Vec<f64> = (0..n)
            .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let all: Vec<usize> = (0..n).collect();
        // A part of the rows, out of order: more than one task's worth.
        let part: Vec<usize> = (0..n).rev().filter(|i| i % 3 != 1).collect();
        assert!(part.len() > BLOCK_ROWS);
        // The block of `k` on `rows` for `m` columns (some of whose diagonal
        // entries are among the rows) against the columns, entry by entry;
        // entries outside the block's columns left alone. A stride `ld`
        // large enough makes the block be written by streaming stores.
        let check_rows = |k: &KernelMatrix<'_>, rows: &[usize], m: usize, ld: usize| {
            let cols: Vec<usize> = (0..m).map(|c| (c * 37 + 5) % n).collect();
            let shifts: Vec<f64> = (0..m).map(|c| 0.125 * (c % 3) as f64).collect();
            assert!(cols.iter().any(|j| rows.contains(j)));
            let offset = 3;
            let mut block = vec![f64::NAN; offset + n * ld];
            k.columns_scaled(&cols, rows, &mut block[offset..], ld, Some(&signs), &shifts);
            for (c, (&j, &shift)) in cols.iter().zip(&shifts).enumerate() {
                let mut col = vec![0.0; rows.len()];
                let scale = Scale {
                    signs: &signs,
                    shift,
                };
                k.column_scaled(j, rows, &mut col, Some(scale));
                for r in 0..rows.len() {
                    let got = block[offset + r * ld + c];
                    assert_eq!(got.to_bits(), col[r].to_bits(), "({}, {j})", rows[r]);
                }
            }
            assert!(block[..offset].iter().all(|v| v.is_nan()));
            assert!(block[offset + m..offset + ld].iter().all(|v| v.is_nan()));
            assert!(block[offset + rows.len() * ld..].iter().all(|v| v.is_nan()));
        };
        // 45 columns: a tile of TILE and a partial one; 173: a WIDE_TILE
        // tile where it is used, then TILE tiles and a partial one.
        let check = |k: &KernelMatrix<'_>| {
            for m in [45, 173] {
                check_rows(k, &all, m, m + 5);
                check_rows(k, &part, m, m + 5);
                let streamed = STREAM_BLOCK_BYTES / (8 * part.len()) + 1;
                check_rows(k, &part, m, streamed);
            }
        };
        for kernel in [
            Kernel::Rbf { gamma: 0.3 },
            Kernel::Linear,
            Kernel::Poly {
                gamma: 0.5,
                coef0: 1.0,
                degree: 3,
            },
        ] {
            check(&KernelMatrix::new(&features, kernel));
        }
        // Dense storage: a dense product, the same values.
        let mut values = vec![0.0; n * 40];
        for (i, row) in values.chunks_mut(40).enumerate() {
            features.row(i).scatter_into(row);
        }
        let dense = Features::Dense(crate::data::DenseRows {
            values,
            n_rows: n,
            n_cols: 40,
        });
        check(&KernelMatrix::new(&dense, Kernel::Rbf { gamma: 0.3 }));
    }

    #[test]
    fn exp_flushes_to_zero_and_overflows_like_libm() {
        for exp in [exp, exp_fused] {
            assert!(exp(EXP_ZERO_BELOW) > 0.0);
            for x in [
                -708.000_1,
                -746.0,
                -800.0,
                -1e5,
                f64::MIN,
                f64::NEG_INFINITY,
            ] {
                assert_eq!(exp(x), 0.0, "exp({x})");
            }
            for x in [709.8, 1e4, f64::INFINITY] {
                assert_eq!(exp(x), f64::INFINITY, "exp({x})");
            }
            assert!(exp(f64::NAN).is_nan());
        }
    }
}
