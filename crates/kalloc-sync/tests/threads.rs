//! Several threads allocate, fill, resize, verify and free through one `Locked<Tlsf>` at
//! once: no block is ever shared (each thread's fill pattern survives), the counters and the
//! TLSF checker agree at the end, and the heap is back to empty.

use kalloc_fuzz::rng::{Rng, scale};
use kalloc_fuzz::shadow::{fill, verify};
use kalloc_sync::{BackoffLock, DefaultRawLock, Locked, RawLock};
use kalloc_tlsf::Tlsf;
use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;

const THREADS: u64 = 4;
/// Bytes of the heap: far more than the workers ever hold at once (less under Miri, where
/// each byte costs).
const MEMORY: usize = if cfg!(miri) { 1 << 20 } else { 8 << 20 };
/// The largest request (smaller under Miri, where filling and verifying bytes is slow).
const MAX_SIZE: usize = if cfg!(miri) { 256 } else { 4096 };

/// Pointers owned by one worker thread.
struct Blocks(Vec<(NonNull<u8>, Layout, u64)>);

// SAFETY: each worker's blocks are used only by that worker.
unsafe impl Send for Blocks {}

/// One worker: random allocations, resizes and frees, every block filled with a pattern
/// unique to (thread, block) and verified before each resize and free.
fn worker<R: RawLock>(heap: &Locked<Tlsf<'_>, R>, thread: u64) {
    let mut rng = Rng::new(thread);
    let mut live = Blocks(Vec::new());
    let mut next_tag = thread << 32;
    for _ in 0..scale(4000) {
        let choice = rng.below(10);
        if choice < 5 || live.0.is_empty() {
            let layout =
                Layout::from_size_align(rng.between(1, MAX_SIZE / 2), 1 << rng.below(7)).unwrap();
            // SAFETY: a non-zero size.
            let Some(block) = NonNull::new(unsafe { heap.alloc(layout) }) else {
                continue;
            };
            next_tag += 1;
            // SAFETY: a fresh block, valid for `layout.size()` bytes and this thread's.
            unsafe { fill(block.as_ptr(), layout.size(), next_tag) };
            live.0.push((block, layout, next_tag));
        } else {
            let (block, layout, tag) = live.0.swap_remove(rng.below(live.0.len()));
            // SAFETY: live for `layout`, this thread's.
            let intact = unsafe { verify(block.as_ptr(), layout.size(), tag) };
            assert_eq!(
                intact,
                Ok(()),
                "thread {thread}: block {block:p} was written by another"
            );
            if choice < 7 {
                let size = rng.between(1, MAX_SIZE);
                // SAFETY: live for `layout`; a non-zero size.
                let moved = NonNull::new(unsafe { heap.realloc(block.as_ptr(), layout, size) });
                let moved = moved.expect("the heap has room");
                let new = Layout::from_size_align(size, layout.align()).unwrap();
                // SAFETY: the first `min` bytes were kept; the block is `size` bytes.
                let kept = unsafe { verify(moved.as_ptr(), layout.size().min(size), tag) };
                assert_eq!(kept, Ok(()), "thread {thread}: realloc lost contents");
                // SAFETY: as above.
                unsafe { fill(moved.as_ptr(), size, tag) };
                live.0.push((moved, new, tag));
            } else {
                // SAFETY: live for `layout`, freed once.
                unsafe { heap.dealloc(block.as_ptr(), layout) };
            }
        }
    }
    for (block, layout, tag) in live.0 {
        // SAFETY: live for `layout`, this thread's; freed once.
        unsafe {
            assert_eq!(verify(block.as_ptr(), layout.size(), tag), Ok(()));
            heap.dealloc(block.as_ptr(), layout);
        }
    }
}

fn run<R: RawLock + Sync>(heap: Locked<Tlsf<'_>, R>) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let heap = &heap;
            scope.spawn(move || worker(heap, thread));
        }
    });
    let counters = heap.counters();
    assert_eq!((counters.allocations, counters.in_use), (0, 0));
    assert_eq!(counters.rejected_frees, 0);
    assert!(counters.peak_in_use > 0);
    let tlsf = heap.into_inner();
    assert_eq!(tlsf.check(), Ok(()));
    assert_eq!(tlsf.stats().allocations, 0);
}

#[test]
fn threads_share_a_locked_tlsf_with_the_default_lock() {
    let mut memory = vec![0u8; MEMORY];
    let mut tlsf = Tlsf::new();
    tlsf.add_pool_slice(&mut memory).unwrap();
    run::<DefaultRawLock>(Locked::new(tlsf));
}

#[test]
fn threads_share_a_locked_tlsf_with_backoff_lock() {
    let mut memory = vec![0u8; MEMORY];
    let mut tlsf = Tlsf::new();
    tlsf.add_pool_slice(&mut memory).unwrap();
    run::<BackoffLock>(Locked::new(tlsf));
}
