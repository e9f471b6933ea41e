//! A seeded generator for unit tests: Marsaglia's xorshift64 (*Xorshift
//! RNGs*, J. Stat. Softw. 8(14), 2003, shifts 13, 7, 17), reduced modulo
//! the bound asked for — enough to scatter test data reproducibly.

/// `next(m)`: the next value of the sequence from `seed` (non-zero), in
/// `0..m`.
pub(crate) fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut s = seed;
    move |m| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % m
    }
}
