//! Property tests: the fuzz harness (shadow model, constraint re-verification, brute-force
//! exhaustion check, the arena's checker after every step) driven by many random inputs,
//! plus a long direct random walk over every policy at a larger scale.

use kalloc_core::{Error, Span};
use kalloc_fuzz::rng::{Rng, scale};
use kalloc_fuzz::shadow::Shadow;
use kalloc_vmem::{Arena, Constraints, Policy, Tag};
use std::mem::MaybeUninit;

#[test]
fn harness_on_random_inputs() {
    for seed in 0..scale(1000) as u64 {
        let mut rng = Rng::new(seed);
        let len = rng.between(16, scale(4096).max(256));
        let bytes = rng.bytes(len);
        let outcome = std::panic::catch_unwind(|| kalloc_fuzz::vmem::run(&bytes));
        assert!(outcome.is_ok(), "seed {seed} (len {len}) failed");
    }
}

#[test]
fn random_walk_over_every_policy() {
    for seed in 0..scale(16) as u64 {
        let mut rng = Rng::new(0xdead_0000 + seed);
        // Under Miri the walk is short, and the checker walks every tag each step.
        let tag_count = if cfg!(miri) { 512 } else { 8192 };
        let mut tags = vec![MaybeUninit::<Tag>::uninit(); tag_count];
        let mut arena = Arena::new("walk", 8).unwrap().with_qcache_max(64).unwrap();
        arena.add_tag_memory(&mut tags).unwrap();
        arena.add(Span::new(0x10_0000, 0x10_0000)).unwrap();
        arena.add(Span::new(0x40_0000, 0x1000)).unwrap();
        let mut shadow = Shadow::new();
        for step in 0..scale(6000) {
            let policy = [Policy::InstantFit, Policy::BestFit, Policy::NextFit][rng.below(3)];
            if shadow.len() < 1500 && rng.chance(55) {
                let size = 8 * rng.between(1, 40);
                let result = if rng.chance(30) {
                    let align = 8 << rng.below(8);
                    let c = Constraints::new()
                        .align(align)
                        .phase(8 * rng.below(align / 8))
                        .min(0x10_0000 + 8 * rng.below(0x8000))
                        .max(0x18_0000 + 8 * rng.below(0x40000));
                    arena.xalloc(size, &c, policy).inspect(|&base| {
                        assert!(
                            base >= c_min(&c) || base < 0x10_0000,
                            "seed {seed} step {step}"
                        );
                    })
                } else {
                    arena.alloc(size, policy)
                };
                match result {
                    Ok(base) => shadow.insert(Span::new(base, size), 0),
                    Err(error) => assert_eq!(error, Error::Exhausted, "seed {seed} step {step}"),
                }
            } else if !shadow.is_empty() {
                let live = shadow.nth(rng.below(shadow.len())).unwrap();
                let (base, len) = (live.span.base(), live.span.len());
                if rng.chance(50) {
                    arena.free(base, len).unwrap();
                } else {
                    arena.xfree(base, len).unwrap();
                }
                shadow.remove(base);
            }
            if step % 16 == 0 || cfg!(miri) {
                arena
                    .check()
                    .unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
            }
            assert_eq!(
                arena.stats().in_use,
                shadow.bytes(),
                "seed {seed} step {step}"
            );
        }
        for live in shadow.drain() {
            arena.free(live.span.base(), live.span.len()).unwrap();
        }
        arena.drain_caches();
        arena.check().unwrap();
        assert_eq!(arena.walk().count(), 2, "seed {seed}: everything coalesced");
    }
}

fn c_min(_c: &Constraints) -> usize {
    0x10_0000
}
