//! Property tests: random operation sequences across several owners, bad inputs included,
//! against the shadow model, with the allocator's checker after every step.
//!
//! Two drivers: the fuzz harness fed with random bytes (the same code `cargo fuzz` runs),
//! and a direct random walk below that keeps many blocks live for long stretches.

use kalloc_block::{BLOCK_SIZE, BlockAllocator, Owner};
use kalloc_core::Error;
use kalloc_fuzz::rng::{Rng, scale};
use kalloc_fuzz::shadow::{Shadow, fill, verify};
use std::ptr::NonNull;

#[test]
fn fuzz_harness_on_random_bytes() {
    for seed in 0..scale(200) as u64 {
        let mut rng = Rng::new(seed);
        let len = rng.between(16, scale(3000).max(64));
        let bytes = rng.bytes(len);
        let outcome = std::panic::catch_unwind(|| kalloc_fuzz::block::run(&bytes));
        assert!(outcome.is_ok(), "fuzz harness failed for seed {seed}");
    }
}

/// `blocks` block-aligned blocks of zeroed memory, freed on drop.
struct Memory {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

impl Memory {
    fn new(blocks: usize) -> Memory {
        let layout = std::alloc::Layout::from_size_align(blocks * BLOCK_SIZE, BLOCK_SIZE).unwrap();
        // SAFETY: non-zero size.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).unwrap();
        Memory { ptr, layout }
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: a live zeroed allocation of `layout.size()` bytes, borrowed through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

const OWNERS: usize = 5;

/// A random walk that keeps the allocator mostly full: allocations outnumber frees until
/// it is exhausted, then frees dominate, so both the empty-free-list and the many-live
/// states are visited often.
macro_rules! random_walk {
    ($index:ty, $capacity:expr, $blocks:expr, $seed:expr, $steps:expr) => {{
        let (seed, blocks, steps) = ($seed, $blocks, $steps);
        let mut rng = Rng::new(seed);
        let mut memory = Memory::new(blocks);
        let mut allocator = BlockAllocator::<$index, $capacity>::new(memory.bytes()).unwrap();
        let initial = allocator.stats();
        let mut owners: [Owner<$index>; OWNERS] = Default::default();
        // Per owner, its live blocks (pointers with provenance, as handed out).
        let mut held: [Vec<(NonNull<u8>, u64)>; OWNERS] = Default::default();
        let mut shadow = Shadow::new();
        let mut tag = 0u64;
        let mut filling = true;
        for step in 0..steps {
            let owner = rng.below(OWNERS);
            let roll = rng.below(100);
            if filling && allocator.free_blocks() == 0 {
                filling = false;
            } else if !filling && allocator.free_blocks() == blocks {
                filling = true;
            }
            if roll < 3 {
                let expected = held[owner].len();
                for (block, block_tag) in held[owner].drain(..) {
                    // SAFETY: the block is still allocated until free_all below.
                    let intact = unsafe { verify(block.as_ptr(), BLOCK_SIZE, block_tag) };
                    assert_eq!(intact, Ok(()), "seed {seed} step {step}");
                    shadow.remove(block.as_ptr().addr()).unwrap();
                }
                assert_eq!(
                    allocator.free_all(&mut owners[owner]),
                    Ok(expected),
                    "seed {seed}"
                );
            } else if (roll < 70) == filling {
                match allocator.alloc(&mut owners[owner]) {
                    Ok(block) => {
                        tag += 1;
                        shadow.insert(
                            kalloc_core::Span::new(block.as_ptr().addr(), BLOCK_SIZE),
                            tag,
                        );
                        // SAFETY: a new block is valid for BLOCK_SIZE bytes and ours.
                        unsafe { fill(block.as_ptr(), BLOCK_SIZE, tag) };
                        held[owner].push((block, tag));
                    }
                    Err(error) => {
                        assert_eq!(error, Error::Exhausted, "seed {seed} step {step}");
                        assert_eq!(shadow.len(), blocks, "seed {seed} step {step}");
                    }
                }
            } else if !held[owner].is_empty() {
                let (block, block_tag) = held[owner].swap_remove(rng.below(held[owner].len()));
                // SAFETY: still allocated until the free below.
                let intact = unsafe { verify(block.as_ptr(), BLOCK_SIZE, block_tag) };
                assert_eq!(intact, Ok(()), "seed {seed} step {step}");
                shadow.remove(block.as_ptr().addr()).unwrap();
                allocator.free(&mut owners[owner], block).unwrap();
                // Freed twice, or through another owner: refused.
                assert_eq!(
                    allocator.free(&mut owners[owner], block),
                    Err(Error::DoubleFree)
                );
                if let Some(&(other, _)) = held[(owner + 1) % OWNERS].first() {
                    assert_eq!(
                        allocator.free(&mut owners[owner], other),
                        Err(Error::WrongOwner)
                    );
                }
            }
            if let Err(inconsistency) = allocator.check() {
                panic!("seed {seed} step {step}: {inconsistency}");
            }
            assert_eq!(
                allocator.used_blocks(),
                shadow.len(),
                "seed {seed} step {step}"
            );
            for (index, root) in owners.iter().enumerate() {
                assert_eq!(
                    allocator.owned_blocks(root),
                    Ok(held[index].len()),
                    "seed {seed}"
                );
            }
        }
        for (root, blocks_held) in owners.iter_mut().zip(&held) {
            assert_eq!(
                allocator.free_all(root),
                Ok(blocks_held.len()),
                "seed {seed}"
            );
        }
        allocator.check().unwrap();
        assert_eq!(
            allocator.stats(),
            initial,
            "seed {seed}: not back to the start"
        );
    }};
}

#[test]
fn random_walk_with_8_bit_indexes() {
    for seed in 0..scale(32) as u64 {
        let blocks = if seed % 4 == 0 {
            255
        } else {
            1 + (seed as usize * 7) % 64
        };
        random_walk!(u8, 255, blocks, seed, scale(1500));
    }
}

#[test]
fn random_walk_with_16_bit_indexes() {
    for seed in 0..scale(8) as u64 {
        let blocks = 256 + (seed as usize * 37) % 200;
        random_walk!(u16, 512, blocks, seed, scale(2500));
    }
}
