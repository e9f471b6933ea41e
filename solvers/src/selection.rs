//! The per-iteration kernels of [`crate::smo`] as functions over slices:
//! working-set selection WSS3 and the gradient update. Public so that the
//! micro-benchmarks (`benches/micro.rs`) time them in isolation.
//!
//! With the equality `yᵀα = Δ`, write `vₜ = −yₜGₜ`, `I_up` the variables
//! that may move up along `yₜ`, `I_low` those that may move down. WSS3
//! (Fan, Chen & Lin, JMLR 6, 2005, §2) picks
//! `i = argmax { vₜ : t ∈ I_up }` ([`first_index`]), then among
//! `t ∈ I_low` with `bₜ = vᵢ − vₜ > 0` the `j` minimising `−bₜ²/aₜ`, where
//! `aₜ = Qᵢᵢ + Qₜₜ − 2yᵢyₜQᵢₜ` (`τ = 10⁻¹²` when not positive)
//! ([`second_index`]), which also returns `M(α) = min { vₜ : t ∈ I_low }`
//! for the stopping test `m(α) − M(α) ≤ tol`. After the pair step,
//! `G ← G + ΔαᵢQ_{:i} + ΔαⱼQ_{:j}` ([`update_gradient`]).
//!
//! Determinism: each pass runs over fixed chunks of [`CHUNK`] positions
//! (in parallel when there are at least two) whose partial results — the
//! last maximiser / minimiser of each chunk, with the same comparisons as
//! one sequential pass — are combined in chunk order, so the result is the
//! same index, bit for bit, for any number of threads.

use rayon::prelude::*;

/// Positions per parallel task. A constant, so the split — and every
/// result — is the same for any number of threads; below two chunks
/// everything runs on the calling thread (a fork–join costs microseconds).
pub const CHUNK: usize = 1 << 13;

/// The curvature used when `aₜ ≤ 0` (LIBSVM's `TAU`).
pub const TAU: f64 = 1e-12;

/// `f` on the fixed chunks `[c·CHUNK, (c+1)·CHUNK) ∩ [0, len)`, in
/// parallel when there are at least two; the results in chunk order. (One
/// chunk — the common case once shrinking has made the active set small —
/// runs without allocating: SMO calls this twice per iteration, millions
/// of times.)
pub(crate) fn chunked<T: Send>(
    len: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> ChunkResults<T> {
    if len < 2 * CHUNK {
        return ChunkResults::One(Some(f(0..len)));
    }
    ChunkResults::Many(
        (0..len.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| f(c * CHUNK..((c + 1) * CHUNK).min(len)))
            .collect::<Vec<T>>()
            .into_iter(),
    )
}

/// The per-chunk results of [`chunked`], in chunk order.
pub(crate) enum ChunkResults<T> {
    /// A single chunk.
    One(Option<T>),
    /// Several chunks, run in parallel.
    Many(std::vec::IntoIter<T>),
}

impl<T> Iterator for ChunkResults<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            ChunkResults::One(one) => one.take(),
            ChunkResults::Many(many) => many.next(),
        }
    }
}

/// `f(start, slice)` on the fixed chunks of `v`, in parallel when there
/// are at least two. Each element is updated by its own sequential code.
pub(crate) fn for_chunks(v: &mut [f64], f: impl Fn(usize, &mut [f64]) + Sync) {
    if v.len() < 2 * CHUNK {
        f(0, v);
    } else {
        v.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, g)| f(c * CHUNK, g));
    }
}

/// The first index of WSS3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstIndex {
    /// `i`, the last maximiser of `vₜ = −yₜGₜ` over `I_up`.
    pub i: usize,
    /// `m(α) = vᵢ`.
    pub m: f64,
}

/// The second index of WSS3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecondIndex {
    /// `j`, the last minimiser of `−bₜ²/aₜ` over `t ∈ I_low` with
    /// `bₜ > 0`; `None` when no such `t` exists.
    pub j: Option<usize>,
    /// `M(α) = min { vₜ : t ∈ I_low }` (`+∞` for an empty `I_low`).
    pub big_m: f64,
}

/// `i = argmax { −yₜGₜ : t ∈ I_up }` over positions `0..y.len()` (the last
/// maximiser); `None` when `I_up` is empty. `y`, `grad` and `up` have the
/// same length.
pub fn first_index(y: &[f64], grad: &[f64], up: &[bool]) -> Option<FirstIndex> {
    let len = y.len().min(grad.len()).min(up.len());
    let best = |range: std::ops::Range<usize>| {
        let (mut gmax, mut best) = (f64::NEG_INFINITY, None);
        let start = range.start;
        // Sliced to the range first, so the loop has no bounds checks.
        let (y, grad, up) = (&y[range.clone()], &grad[range.clone()], &up[range]);
        for (k, ((&yt, &gt), &ut)) in y.iter().zip(grad).zip(up).enumerate() {
            let v = -yt * gt;
            if ut & (v >= gmax) {
                gmax = v;
                best = Some(start + k);
            }
        }
        (gmax, best)
    };
    combine_first(chunked(len, best))
}

/// The first index from the per-chunk maxima `(vₜ, t)` in chunk order: the
/// last chunk holding the maximum, as one sequential pass would pick it.
fn combine_first(chunks: impl Iterator<Item = (f64, Option<usize>)>) -> Option<FirstIndex> {
    let mut m = f64::NEG_INFINITY;
    let mut pick = None;
    for (v, t) in chunks {
        if t.is_some() && v >= m {
            m = v;
            pick = t;
        }
    }
    pick.map(|i| FirstIndex { i, m })
}

/// The partner `j` of `first` by the second-order rule, and `M(α)`, over
/// positions `0..y.len()`. `qi` is column `i` of `Q` over the same
/// positions and `qd` the diagonal.
pub fn second_index(
    y: &[f64],
    grad: &[f64],
    low: &[bool],
    qd: &[f64],
    qi: &[f64],
    first: FirstIndex,
) -> SecondIndex {
    let len = y
        .len()
        .min(grad.len())
        .min(low.len())
        .min(qd.len())
        .min(qi.len());
    let (qd_i, y_i, gmax) = (qd[first.i], y[first.i], first.m);
    let best = |range: std::ops::Range<usize>| {
        let (mut gmin, mut best, mut j) = (f64::INFINITY, f64::INFINITY, None);
        let start = range.start;
        // Sliced to the range first, so the loop has no bounds checks.
        let (y, grad, low) = (&y[range.clone()], &grad[range.clone()], &low[range.clone()]);
        let (qd, qi) = (&qd[range.clone()], &qi[range]);
        for (k, ((((&yt, &gt), &lt), &dt), &qt)) in
            y.iter().zip(grad).zip(low).zip(qd).zip(qi).enumerate()
        {
            if !lt {
                continue;
            }
            let v = -yt * gt;
            // `min` without its NaN handling: gradients are finite.
            if v < gmin {
                gmin = v;
            }
            let b = gmax - v;
            if b > 0.0 {
                let a = qd_i + dt - 2.0 * y_i * yt * qt;
                let obj = -(b * b) / if a > 0.0 { a } else { TAU };
                if obj <= best {
                    best = obj;
                    j = Some(start + k);
                }
            }
        }
        (gmin, best, j)
    };
    let mut big_m = f64::INFINITY;
    let mut best_obj = f64::INFINITY;
    let mut j = None;
    for (g, obj, t) in chunked(len, best) {
        big_m = big_m.min(g);
        if t.is_some() && obj <= best_obj {
            best_obj = obj;
            j = t;
        }
    }
    SecondIndex { j, big_m }
}

/// `G ← G + di·qi + dj·qj` elementwise over `grad.len()` positions (`qi`
/// and `qj` at least as long).
pub fn update_gradient(grad: &mut [f64], qi: &[f64], di: f64, qj: &[f64], dj: f64) {
    for_chunks(grad, |start, g| {
        for (k, g) in g.iter_mut().enumerate() {
            *g += qi[start + k] * di + qj[start + k] * dj;
        }
    });
}

/// [`update_gradient`] followed by [`first_index`] on the updated
/// gradient, in one pass over the same fixed chunks (one fork–join instead
/// of two); the same results, bit for bit.
pub fn update_gradient_first_index(
    grad: &mut [f64],
    qi: &[f64],
    di: f64,
    qj: &[f64],
    dj: f64,
    y: &[f64],
    up: &[bool],
) -> Option<FirstIndex> {
    let chunk = |start: usize, g: &mut [f64]| {
        let (mut gmax, mut best) = (f64::NEG_INFINITY, None);
        let end = start + g.len();
        let (qi, qj) = (&qi[start..end], &qj[start..end]);
        let (y, up) = (&y[start..end], &up[start..end]);
        for (k, ((((g, &a), &b), &yt), &ut)) in
            g.iter_mut().zip(qi).zip(qj).zip(y).zip(up).enumerate()
        {
            *g += a * di + b * dj;
            let v = -yt * *g;
            if ut & (v >= gmax) {
                gmax = v;
                best = Some(start + k);
            }
        }
        (gmax, best)
    };
    let results: Vec<(f64, Option<usize>)> = if grad.len() < 2 * CHUNK {
        vec![chunk(0, grad)]
    } else {
        grad.par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, g)| chunk(c * CHUNK, g))
            .collect()
    };
    combine_first(results.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook single pass of WSS3, for comparison.
    fn naive(
        y: &[f64],
        grad: &[f64],
        up: &[bool],
        low: &[bool],
        qd: &[f64],
        qi: &[f64],
    ) -> Option<(FirstIndex, SecondIndex)> {
        let mut first: Option<FirstIndex> = None;
        for t in 0..y.len() {
            let v = -y[t] * grad[t];
            if up[t] && first.is_none_or(|f| v >= f.m) {
                first = Some(FirstIndex { i: t, m: v });
            }
        }
        let f = first?;
        let (mut big_m, mut best, mut j) = (f64::INFINITY, f64::INFINITY, None);
        for t in 0..y.len() {
            if !low[t] {
                continue;
            }
            let v = -y[t] * grad[t];
            big_m = big_m.min(v);
            let b = f.m - v;
            if b > 0.0 {
                let a = qd[f.i] + qd[t] - 2.0 * y[f.i] * y[t] * qi[t];
                let obj = -(b * b) / if a > 0.0 { a } else { TAU };
                if obj <= best {
                    best = obj;
                    j = Some(t);
                }
            }
        }
        Some((f, SecondIndex { j, big_m }))
    }

    #[test]
    fn chunked_selection_equals_one_pass_for_any_pool() {
        // More than two chunks, so the parallel path runs; gradients drawn
        // from a few values, so ties between chunks occur.
        let n = 5 * CHUNK + 123;
        let mut s: u64 = 99;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as f64 / (1u64 << 31) as f64
        };
        let y: Vec<f64> = (0..n)
            .map(|_| if next() < 0.5 { 1.0 } else { -1.0 })
            .collect();
        let grad: Vec<f64> = (0..n).map(|_| (next() * 8.0).floor() - 4.0).collect();
        let up: Vec<bool> = (0..n).map(|_| next() < 0.6).collect();
        let low: Vec<bool> = (0..n).map(|_| next() < 0.6).collect();
        let qd: Vec<f64> = (0..n).map(|_| 1.0 + (next() * 4.0).floor()).collect();
        let qi: Vec<f64> = (0..n).map(|_| (next() * 4.0).floor() / 4.0).collect();
        let expected = naive(&y, &grad, &up, &low, &qd, &qi).unwrap();
        for threads in [1, 2, 3] {
            let got = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let f = first_index(&y, &grad, &up).unwrap();
                    (f, second_index(&y, &grad, &low, &qd, &qi, f))
                });
            assert_eq!(got, expected, "{threads} threads");
        }
        // Empty I_up: no first index.
        assert_eq!(first_index(&y, &grad, &vec![false; n]), None);
    }

    #[test]
    fn gradient_update_is_elementwise() {
        let n = 3 * CHUNK + 5;
        let qi: Vec<f64> = (0..n).map(|t| t as f64).collect();
        let qj: Vec<f64> = (0..n).map(|t| 1.0 - t as f64).collect();
        let mut g = vec![0.5; n];
        update_gradient(&mut g, &qi, 2.0, &qj, -3.0);
        for t in 0..n {
            assert_eq!(g[t], 0.5 + (qi[t] * 2.0 + qj[t] * -3.0));
        }
    }

    #[test]
    fn fused_update_and_first_index_equal_the_two_passes() {
        let n = 3 * CHUNK + 77;
        let qi: Vec<f64> = (0..n).map(|t| ((t * 7) % 13) as f64 / 4.0).collect();
        let qj: Vec<f64> = (0..n).map(|t| ((t * 5) % 11) as f64 / 8.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|t| if t % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let up: Vec<bool> = (0..n).map(|t| t % 5 != 2).collect();
        let g0: Vec<f64> = (0..n).map(|t| ((t * 3) % 7) as f64 - 3.0).collect();
        for len in [n, 100] {
            let mut two = g0[..len].to_vec();
            update_gradient(&mut two, &qi, 0.5, &qj, -2.0);
            let want = first_index(&y[..len], &two, &up[..len]);
            for threads in [1, 2] {
                let mut one = g0[..len].to_vec();
                let got = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        update_gradient_first_index(&mut one, &qi, 0.5, &qj, -2.0, &y, &up)
                    });
                assert_eq!(got, want, "{threads} threads, {len} positions");
                assert!(one
                    .iter()
                    .zip(&two)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }
}
