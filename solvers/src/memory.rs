//! Memory hints: prefetches for loops whose next memory accesses are known in
//! advance but scattered — dual coordinate descent visits the rows of a
//! large sparse matrix in a random order, so each row (and each per-row
//! scalar) is a cache miss that the hardware prefetcher cannot predict.
//! Asking for the data a few rows ahead turns the chain of misses into
//! overlapping memory requests (software pipelining; see e.g. Lee, Kim &
//! Vuduc, "When prefetching works, when it doesn't, and why", ACM TACO 9,
//! 2012).
//!
//! The hint asks for the line in the second-level cache (PREFETCHT1), not
//! the first: the lines of the rows 16 ahead would otherwise hold the
//! first level's few miss buffers and be evicted by the random weight
//! accesses of the rows in between. Measured with the synthetic part of
//! `benches/linear_vs_liblinear.rs` (10⁸ nonzeros, one pass, two
//! alternating runs each): 7.67, 7.31 ns per nonzero into L2 against 9.23,
//! 8.75 into L1.
//!
//! A prefetch is only a hint: it never changes memory, never faults (not
//! even on an invalid address) and never changes a result, only timing.
//! On targets other than x86-64 it does nothing.
//!
//! [`with_capacity_huge`] asks for large arrays that are read in random
//! order to be backed by huge pages, so that a row visited at random costs
//! a cache miss but seldom a page walk.
//!
//! [`Streaming`] is the other direction: a copy into memory that will
//! not be read again before it has left the cache anyway (a kernel block
//! of tens of megabytes), by non-temporal stores that skip the read of
//! each destination line an ordinary store makes first.

/// Hints that the cache line holding `*value` will be read soon (into the
/// second-level cache, see the module doc).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` (PREFETCHT1) only moves a cache line into the
    // cache; it reads no value into a register, writes nothing and cannot
    // fault, so it is sound for any address, here a valid reference. SSE,
    // which it needs, is part of the x86-64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        _mm_prefetch::<_MM_HINT_T1>((value as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Non-temporal copies ([`Streaming::copy`]) and, when dropped, a store
/// fence: the copies are then complete and ordered before any later store,
/// so a thread that later synchronises with this one (a rayon join) sees
/// them. One fence for many copies: a fence after each 1 KiB row measured
/// as slow as ordinary stores (a9a L2 7.16–7.63 s against 7.10–7.79; one
/// fence a task of 64 rows 6.51–7.05).
#[derive(Debug, Default)]
pub struct Streaming {
    _fence_on_drop: (),
}

impl Drop for Streaming {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: `_mm_sfence` (SFENCE) only orders stores; SSE, which it
        // needs, is part of the x86-64 baseline.
        unsafe {
            std::arch::x86_64::_mm_sfence();
        }
    }
}

impl Streaming {
    /// `dst.copy_from_slice(src)` by non-temporal stores where the target
    /// has them (x86-64: `MOVNTPD`, 16 bytes at a time from the first
    /// 16-byte aligned element; the unaligned ends by ordinary stores);
    /// elsewhere a plain copy. The values are the same either way; only
    /// the cache traffic differs.
    ///
    /// # Panics
    /// When the lengths differ.
    #[inline(always)]
    pub fn copy(&mut self, dst: &mut [f64], src: &[f64]) {
        assert_eq!(dst.len(), src.len(), "Streaming::copy: lengths differ");
        #[cfg(target_arch = "x86_64")]
        {
            let head = usize::from(!(dst.as_ptr() as usize).is_multiple_of(16)).min(dst.len());
            let pairs = (dst.len() - head) / 2;
            let tail = head + 2 * pairs;
            dst[..head].copy_from_slice(&src[..head]);
            #[allow(unsafe_code)]
            // SAFETY: for p < pairs, elements head + 2p and head + 2p + 1
            // are within both slices (tail ≤ len), so the unaligned 16-byte
            // load from `src` and the 16-byte store into `dst` stay in
            // bounds; the store address is 16-byte aligned (`dst + head`
            // is, an f64 slice being 8-byte aligned), as `_mm_stream_pd`
            // requires. `dst` is borrowed mutably, so nothing else touches
            // it meanwhile. SSE2, which both need, is part of the x86-64
            // baseline.
            unsafe {
                use std::arch::x86_64::{_mm_loadu_pd, _mm_stream_pd};
                let (s, d) = (src.as_ptr().add(head), dst.as_mut_ptr().add(head));
                for p in 0..pairs {
                    _mm_stream_pd(d.add(2 * p), _mm_loadu_pd(s.add(2 * p)));
                }
            }
            dst[tail..].copy_from_slice(&src[tail..]);
        }
        #[cfg(not(target_arch = "x86_64"))]
        dst.copy_from_slice(src);
    }
}

/// Allocations of at least this many bytes get the huge-page advice of
/// [`with_capacity_huge`] (the size of a large last-level cache: smaller
/// arrays are mostly read from the caches, where the pages do not matter).
pub const HUGE_PAGE_BYTES: usize = 32 << 20;

/// `Vec::with_capacity(capacity)` with, when it takes at least
/// [`HUGE_PAGE_BYTES`], the advice that its memory be backed by
/// transparent huge pages (Linux: `madvise(MADV_HUGEPAGE)` on the 2 MiB
/// aligned part of the allocation), given before the memory is first
/// touched so that its pages are huge from their first fault. Only a hint:
/// it changes no contents; where the system's transparent huge pages are
/// `always` it changes nothing, where `never` (or on other systems) the
/// advice is ignored, as is any error of the call.
///
/// Measured (`benches/linear_vs_liblinear.rs`, synthetic part, whose rows
/// are allocated so; 10⁸ nonzeros, 1.2 GB of rows visited in random order
/// by coordinate descent; ns per nonzero a pass; system setting `madvise`;
/// two alternating runs): 4.94, 5.02 with the advice against 7.50, 7.02
/// without. At 10⁷ nonzeros (120 MB) no difference (4.09, 5.11 against
/// 4.20, 3.76).
pub fn with_capacity_huge<T>(capacity: usize) -> Vec<T> {
    let v = Vec::with_capacity(capacity);
    let bytes = capacity.saturating_mul(std::mem::size_of::<T>());
    #[cfg(target_os = "linux")]
    if bytes >= HUGE_PAGE_BYTES {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let (from, to) = (start.div_ceil(HUGE) * HUGE, (start + bytes) / HUGE * HUGE);
        if from < to {
            #[allow(unsafe_code)]
            // SAFETY: [from, to) lies inside the allocation just made (its
            // `bytes` bytes from `start`), which nothing else uses yet;
            // MADV_HUGEPAGE changes only how the range is backed, never
            // its contents or its validity, and its result is not needed.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
    v
}

#[cfg(test)]
mod tests {
    use super::{with_capacity_huge, Streaming, HUGE_PAGE_BYTES};

    #[test]
    fn huge_capacity_is_an_ordinary_vector() {
        for capacity in [0, 1, 1000, HUGE_PAGE_BYTES / 8 + 3] {
            let mut v: Vec<f64> = with_capacity_huge(capacity);
            assert!(v.is_empty() && v.capacity() >= capacity);
            v.extend((0..capacity).map(|k| k as f64));
            assert!(v.iter().enumerate().all(|(k, &x)| x == k as f64));
        }
        let z: Vec<()> = with_capacity_huge(10);
        assert!(z.is_empty());
    }

    #[test]
    fn streaming_copy_equals_a_plain_copy_at_any_length_and_alignment() {
        let src: Vec<f64> = (0..300).map(|k| k as f64 * 1.5 - 7.0).collect();
        for offset in 0..3 {
            for len in [0, 1, 2, 3, 4, 5, 16, 17, 128, 255] {
                let mut dst = vec![f64::NAN; 300];
                let s = &src[offset..offset + len];
                Streaming::default().copy(&mut dst[offset..offset + len], s);
                assert_eq!(&dst[offset..offset + len], s, "offset {offset} len {len}");
                assert!(dst[..offset].iter().all(|v| v.is_nan()));
                assert!(dst[offset + len..].iter().all(|v| v.is_nan()));
            }
        }
    }
}
