//! The one pseudo-random generator of Tessera: xoshiro256** (Blackman and Vigna), seeded
//! through splitmix64 as its authors recommend. `math.random` (with lua5.4's own seeding),
//! a seeded `caps.random` and a deterministic process's sources all step it, so a seed gives
//! the same sequence on every machine.
//!
//! **Invariant:** a state made by `from_seed` is never all zeros (splitmix64 never yields four
//! zero words in a row); all zeros is xoshiro's fixed point, so a state read from outside
//! (a snapshot) must be checked against it by its owner.

/// One step of splitmix64: advances `x` and returns the next output.
pub fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The xoshiro256** state for `seed`: four successive splitmix64 outputs.
pub fn from_seed(seed: u64) -> [u64; 4] {
    let mut x = seed;
    [
        splitmix64(&mut x),
        splitmix64(&mut x),
        splitmix64(&mut x),
        splitmix64(&mut x),
    ]
}

/// One step of xoshiro256**: advances the state and returns the next output.
pub fn next(s: &mut [u64; 4]) -> u64 {
    let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_sequence_for_seed_zero() {
        // splitmix64's published first output for state 0, and a state that is never zero.
        let mut x = 0;
        assert_eq!(splitmix64(&mut x), 0xe220_a839_7b1d_cdaf);
        let mut s = from_seed(0);
        assert_ne!(s, [0; 4]);
        let a = next(&mut s);
        let b = next(&mut s);
        assert_ne!(a, b);
    }
}
