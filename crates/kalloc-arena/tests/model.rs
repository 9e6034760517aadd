//! Property test: many seeds of random bytes through the fuzz harness (`kalloc_fuzz::arena`),
//! which checks every step against the shadow model, plus a long direct churn of checkpoint
//! scopes against the model of which marks are still good.

use kalloc_fuzz::arena;
use kalloc_fuzz::rng::{Rng, scale};

#[test]
fn random_operation_sequences_agree_with_the_model() {
    for seed in 0..scale(600) as u64 {
        let mut rng = Rng::new(seed);
        let len = rng.between(16, scale(4096).max(64));
        let bytes = rng.bytes(len);
        let outcome = std::panic::catch_unwind(|| arena::run(&bytes));
        assert!(outcome.is_ok(), "seed {seed} ({len} bytes) failed");
    }
}

#[test]
fn byte_patterns_that_favour_checkpoints_agree_with_the_model() {
    // Inputs built from a few op tags repeat checkpoint / allocate / rewind shapes far more
    // often than uniform bytes do, reaching deep histories and merges.
    for seed in 0..scale(300) as u64 {
        let mut rng = Rng::new(seed ^ 0xA5A5);
        let len = rng.between(64, scale(8192).max(128));
        let palette: Vec<u8> = (0..4).map(|_| rng.next_u64() as u8).collect();
        let bytes: Vec<u8> = (0..len)
            .map(|_| palette[rng.below(palette.len())])
            .collect();
        let outcome = std::panic::catch_unwind(|| arena::run(&bytes));
        assert!(outcome.is_ok(), "seed {seed} ({len} bytes) failed");
    }
}
