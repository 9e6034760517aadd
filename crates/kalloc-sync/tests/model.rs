//! Property test: random operation sequences through the locked, growing TLSF heap of the
//! fuzz harness (`kalloc_fuzz::sync`), checked against the shadow model after every step.

use kalloc_fuzz::rng::{Rng, scale};

#[test]
fn random_sequences_match_the_model() {
    for seed in 0..scale(64) as u64 {
        let mut rng = Rng::new(seed);
        let len = rng.between(16, scale(2048).max(64));
        let data = rng.bytes(len);
        let outcome = std::panic::catch_unwind(|| kalloc_fuzz::sync::run(&data));
        assert!(outcome.is_ok(), "seed {seed} ({len} bytes) failed");
    }
}

/// Long runs keep many blocks live, so the heap grows through several pools.
#[test]
fn long_sequences_grow_the_heap() {
    for seed in 1000..1000 + scale(256) as u64 / 64 {
        let data = Rng::new(seed).bytes(scale(16 * 1024).max(1024));
        let outcome = std::panic::catch_unwind(|| kalloc_fuzz::sync::run_outcome(&data));
        let outcome = outcome.unwrap_or_else(|_| panic!("seed {seed} failed"));
        assert!(outcome.steps > 100, "seed {seed}: {outcome:?}");
        if !cfg!(miri) {
            assert!(
                outcome.pools_added > 1,
                "seed {seed} never grew twice: {outcome:?}"
            );
        }
    }
}
