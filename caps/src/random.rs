//! The random gateway behind random keys: `bytes(n)` and `integer(lo, hi)`.
//!
//! [`Random::Os`] draws from the host's generator (the `getrandom` crate: the `getrandom(2)`
//! system call on Linux, needing no file descriptor or `/dev`, and the platform's equivalent
//! elsewhere). [`Random::Seeded`] is the deterministic mode: xoshiro256** seeded through
//! splitmix64, as its authors recommend, so a seed gives the same sequence on every machine. Its
//! state is four words ([`Seeded::state`], [`Seeded::from_state`]) that a snapshot can carry.
//!
//! **Invariant: `integer(lo, hi)` is uniform on `lo..=hi`** (rejection sampling: draws in the
//! incomplete last block of `2^64` are thrown away), and **`bytes(n)` never allocates more than
//! the caller's `max`**.

/// A refused random operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RandomError {
    #[error("random bytes: asked for {asked}, at most {max} allowed")]
    TooMany { asked: usize, max: usize },
    #[error("random integer: empty range, lo ({lo}) > hi ({hi})")]
    EmptyRange { lo: i64, hi: i64 },
    #[error("the host's random generator failed: {0}")]
    Os(String),
}

/// The gateway behind a random key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Random {
    /// The host's generator.
    ///
    /// # Ambient Authority
    /// Reads the host's randomness.
    Os,
    /// A deterministic generator.
    Seeded(Seeded),
}

impl Random {
    /// A deterministic generator for `seed`.
    pub fn seeded(seed: u64) -> Random {
        Random::Seeded(Seeded::new(seed))
    }

    /// `n` random bytes.
    ///
    /// # Errors
    /// `RandomError::TooMany` if `n > max`; `RandomError::Os` if the host's generator fails.
    pub fn bytes(&mut self, n: usize, max: usize) -> Result<Vec<u8>, RandomError> {
        if n > max {
            return Err(RandomError::TooMany { asked: n, max });
        }
        let mut out = vec![0u8; n];
        match self {
            Random::Os => getrandom::fill(&mut out).map_err(|e| RandomError::Os(e.to_string()))?,
            Random::Seeded(s) => s.fill(&mut out),
        }
        Ok(out)
    }

    /// A uniformly distributed integer in `lo..=hi`.
    ///
    /// # Errors
    /// `RandomError::EmptyRange` if `lo > hi`; `RandomError::Os` if the host's generator fails.
    pub fn integer(&mut self, lo: i64, hi: i64) -> Result<i64, RandomError> {
        if lo > hi {
            return Err(RandomError::EmptyRange { lo, hi });
        }
        // The number of values minus one, in 0..=u64::MAX (two's complement difference).
        let span = hi.wrapping_sub(lo) as u64;
        if span == u64::MAX {
            return Ok(self.next_u64()? as i64);
        }
        let n = span + 1;
        // 2^64 mod n: draws below it fall in the incomplete block and are redrawn, so that
        // every residue is equally likely. Fewer than half the draws are rejected, even at worst.
        let reject_below = n.wrapping_neg() % n;
        loop {
            let x = self.next_u64()?;
            if x >= reject_below {
                return Ok(lo.wrapping_add((x % n) as i64));
            }
        }
    }

    fn next_u64(&mut self) -> Result<u64, RandomError> {
        match self {
            Random::Os => getrandom::u64().map_err(|e| RandomError::Os(e.to_string())),
            Random::Seeded(s) => Ok(s.next_u64()),
        }
    }
}

/// xoshiro256** (Blackman and Vigna), seeded with splitmix64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeded {
    s: [u64; 4],
}

impl Seeded {
    pub fn new(seed: u64) -> Seeded {
        Seeded {
            s: kernel::xoshiro::from_seed(seed),
        }
    }

    /// The generator's state, for a snapshot.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// A generator in a saved state. The all-zero state (a fixed point of xoshiro) cannot come
    /// from `new`; it is replaced by the state for seed 0.
    pub fn from_state(s: [u64; 4]) -> Seeded {
        if s == [0; 4] {
            Seeded::new(0)
        } else {
            Seeded { s }
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        kernel::xoshiro::next(&mut self.s)
    }

    /// Fills `out` with the little-endian bytes of successive outputs.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{QuickCheck, TestResult};

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        let mut x = 0;
        let got: Vec<u64> = (0..3)
            .map(|_| kernel::xoshiro::splitmix64(&mut x))
            .collect();
        assert_eq!(
            got,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f
            ]
        );
    }

    #[test]
    fn xoshiro256starstar_matches_the_reference_outputs() {
        let mut g = Seeded::from_state([1, 2, 3, 4]);
        let got: Vec<u64> = (0..4).map(|_| g.next_u64()).collect();
        assert_eq!(got, [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240]);
    }

    #[test]
    fn seeded_sequences_are_reproducible_and_differ_by_seed() {
        let draw = |seed| {
            let mut r = Random::seeded(seed);
            let ints: Vec<i64> = (0..50).map(|_| r.integer(-1000, 1000).unwrap()).collect();
            (ints, r.bytes(37, 64).unwrap())
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
        // Saving and restoring the state continues the same sequence.
        let mut a = Seeded::new(7);
        a.next_u64();
        let mut b = Seeded::from_state(a.state());
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(Seeded::from_state([0; 4]).state(), [0; 4]);
    }

    #[test]
    fn empty_range_and_too_many_bytes_are_errors() {
        for mut r in [Random::Os, Random::seeded(1)] {
            assert_eq!(
                r.integer(5, 4),
                Err(RandomError::EmptyRange { lo: 5, hi: 4 })
            );
            assert_eq!(
                r.integer(5, 4).unwrap_err().to_string(),
                "random integer: empty range, lo (5) > hi (4)"
            );
            assert_eq!(
                r.bytes(17, 16),
                Err(RandomError::TooMany { asked: 17, max: 16 })
            );
            assert_eq!(r.bytes(0, 0), Ok(Vec::new()));
            assert_eq!(r.bytes(16, 16).map(|b| b.len()), Ok(16));
            assert_eq!(r.integer(9, 9), Ok(9));
        }
    }

    #[test]
    fn full_and_extreme_ranges() {
        for mut r in [Random::Os, Random::seeded(3)] {
            for _ in 0..100 {
                r.integer(i64::MIN, i64::MAX).unwrap();
                let x = r.integer(i64::MAX - 1, i64::MAX).unwrap();
                assert!(x >= i64::MAX - 1);
                let y = r.integer(i64::MIN, i64::MIN + 1).unwrap();
                assert!(y <= i64::MIN + 1);
                let z = r.integer(-1, 0).unwrap();
                assert!((-1..=0).contains(&z));
            }
        }
    }

    fn prop_in_range(seed: u64, lo: i64, hi: i64) -> TestResult {
        if lo > hi {
            return TestResult::discard();
        }
        for mut r in [Random::Os, Random::seeded(seed)] {
            for _ in 0..20 {
                match r.integer(lo, hi) {
                    Ok(x) if lo <= x && x <= hi => {}
                    _ => return TestResult::failed(),
                }
            }
        }
        TestResult::passed()
    }

    #[test]
    fn integers_stay_in_range() {
        QuickCheck::new()
            .tests(500)
            .quickcheck(prop_in_range as fn(u64, i64, i64) -> TestResult);
    }

    #[test]
    fn seeded_integers_cover_a_small_range_evenly() {
        // Deterministic (seeded), so not flaky: 6000 draws in 0..=5, each value about 1000 times.
        let mut r = Random::seeded(2024);
        let mut counts = [0u32; 6];
        for _ in 0..6000 {
            let x = r.integer(0, 5).unwrap();
            counts[usize::try_from(x).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..=1150).contains(&c)),
            "{counts:?}"
        );
    }
}
