//! A deterministic pseudo-random generator for property tests.
//!
//! SplitMix64: one multiply-xorshift chain per output, statistically good enough to drive
//! operation sequences, and cheap under Miri. Every property test prints its seed so a
//! failure can be replayed exactly.

/// SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator starting from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound > 0`), without modulo bias worth caring about for tests.
    pub fn below(&mut self, bound: usize) -> usize {
        assert!(bound > 0, "empty range");
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// A value in `low..=high`.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        assert!(low <= high, "empty range");
        low + self.below(high - low + 1)
    }

    /// `true` with probability `percent / 100`.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    /// `len` random bytes, to feed an `arbitrary`-decoded operation sequence.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// How many seeds and steps a property test should run: scaled down under Miri, where every
/// step costs thousands of times more, but never to zero.
#[must_use]
pub const fn scale(native: usize) -> usize {
    if cfg!(miri) {
        let scaled = native / 64;
        if scaled == 0 { 1 } else { scaled }
    } else {
        native
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = a.between(5, 14);
            assert!((5..=14).contains(&v));
            seen[v - 5] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value is reachable");
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
