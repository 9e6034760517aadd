//! Property test: random operation sequences through the shared fuzz harness (shadow
//! model, fill patterns, checker after every step), plus a direct random workload that
//! keeps the heap near full so coalescing, fallbacks and growth all run.

use core::alloc::Layout;
use kalloc_core::{FixedRegion, Span};
use kalloc_fuzz::rng::{Rng, scale};
use kalloc_fuzz::shadow::{Shadow, fill, verify};
use kalloc_tlsf::Tlsf;
use std::ptr::NonNull;

#[test]
fn random_byte_strings_through_the_fuzz_harness() {
    for seed in 0..scale(128) as u64 {
        let mut rng = Rng::new(seed);
        let len = rng.between(16, scale(2048).max(64));
        let bytes = rng.bytes(len);
        let outcome = std::panic::catch_unwind(|| kalloc_fuzz::tlsf::run(&bytes));
        assert!(outcome.is_ok(), "seed {seed} failed");
    }
}

#[test]
fn near_full_random_workload_matches_the_model() {
    for seed in 0..scale(32) as u64 {
        let mut rng = Rng::new(seed);
        let mut pool = vec![0u64; 32 * 1024 / 8];
        let mut grow = vec![0u8; 256 * 1024];
        let region = FixedRegion::from_slice(&mut grow);
        let mut heap: Tlsf<'_, &FixedRegion<'_>> = Tlsf::with_source(&region);
        heap.set_min_import(8 * 1024);
        // SAFETY: reinterpreting an owned u64 buffer as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(pool.as_mut_ptr().cast::<u8>(), pool.len() * 8)
        };
        heap.add_pool_slice(bytes).unwrap();
        let mut shadow = Shadow::new();
        let mut live: Vec<(NonNull<u8>, Layout, u64)> = Vec::new();
        for step in 0..scale(1500) {
            let roll = rng.below(100);
            if roll < 50 || live.is_empty() {
                let size = if rng.chance(90) {
                    rng.between(1, 300)
                } else {
                    rng.between(300, 9000)
                };
                let align = 1
                    << if rng.chance(80) {
                        3
                    } else {
                        rng.between(0, 11)
                    };
                let layout = Layout::from_size_align(size, align).unwrap();
                let tag = (seed << 32) | step as u64;
                match heap.alloc(layout) {
                    Ok(ptr) => {
                        let granule = align.max(<Tlsf<'_>>::GRANULE);
                        assert_eq!(ptr.as_ptr().addr() % granule, 0, "seed {seed} step {step}");
                        shadow.insert(Span::new(ptr.as_ptr().addr(), size), tag);
                        // SAFETY: fresh allocation of `size` bytes.
                        unsafe { fill(ptr.as_ptr(), size, tag) };
                        live.push((ptr, layout, tag));
                    }
                    Err(error) => assert_eq!(error, kalloc_core::Error::Exhausted, "seed {seed}"),
                }
            } else if roll < 80 {
                let (ptr, layout, tag) = live.swap_remove(rng.below(live.len()));
                // SAFETY: live allocation.
                let contents = unsafe { verify(ptr.as_ptr(), layout.size(), tag) };
                assert_eq!(contents, Ok(()), "seed {seed} step {step}");
                shadow.remove(ptr.as_ptr().addr());
                // SAFETY: live allocation, freed once.
                unsafe { heap.free(ptr, layout) }.unwrap();
            } else {
                let index = rng.below(live.len());
                let (ptr, layout, tag) = live[index];
                let size = rng.between(1, 6000);
                let new = Layout::from_size_align(size, layout.align()).unwrap();
                // SAFETY: live allocation.
                if let Ok(moved) = unsafe { heap.realloc(ptr, layout, new) } {
                    let keep = size.min(layout.size());
                    // SAFETY: `moved` holds at least `keep` preserved bytes.
                    let contents = unsafe { verify(moved.as_ptr(), keep, tag) };
                    assert_eq!(contents, Ok(()), "seed {seed} step {step}");
                    shadow.remove(ptr.as_ptr().addr());
                    shadow.insert(Span::new(moved.as_ptr().addr(), size), tag);
                    // SAFETY: `moved` holds `size` bytes.
                    unsafe { fill(moved.as_ptr(), size, tag) };
                    live[index] = (moved, new, tag);
                }
            }
            if let Err(corruption) = heap.check() {
                panic!("seed {seed} step {step}: {corruption}");
            }
            assert_eq!(
                heap.stats().allocations,
                live.len(),
                "seed {seed} step {step}"
            );
        }
        for (ptr, layout, _) in live.drain(..) {
            // SAFETY: live allocation.
            unsafe { heap.free(ptr, layout) }.unwrap();
        }
        heap.check().unwrap();
        heap.release_free_pools();
        assert_eq!(
            heap.pools().count(),
            1,
            "seed {seed}: only the borrowed pool is left"
        );
        assert_eq!(heap.blocks().count(), 1, "seed {seed}");
        drop(heap);
        assert_eq!(region.stats().in_use, 0, "seed {seed}");
    }
}
