extern crate std;

use crate::test_heap::{Memory, PANIC_SIZE, SLOT, SlotHeap};
use crate::{BackoffLock, Locked};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use std::panic::{AssertUnwindSafe, catch_unwind};

#[test]
fn alloc_zeroed_realloc_dealloc() {
    let mut memory = Memory::<{ 2 * SLOT }>::new();
    memory.0.fill(0xAA);
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let small = Layout::from_size_align(16, 8).unwrap();
    // SAFETY: non-zero layouts; each block is used within its size and freed once.
    unsafe {
        let zeroed = heap.alloc_zeroed(small);
        assert!(!zeroed.is_null());
        assert!((0..16).all(|i| zeroed.add(i).read() == 0));
        zeroed.write_bytes(7, 16);
        let grown = heap.realloc(zeroed, small, 48);
        assert_eq!(grown, zeroed, "grown in place");
        assert!((0..16).all(|i| grown.add(i).read() == 7), "contents kept");
        let shrunk = heap.realloc(grown, Layout::from_size_align(48, 8).unwrap(), 4);
        assert_eq!(shrunk, grown);
        let plain = heap.alloc(small);
        assert!(!plain.is_null() && plain != shrunk);
        heap.dealloc(shrunk, Layout::from_size_align(4, 8).unwrap());
        heap.dealloc(plain, small);
    }
    let counters = heap.counters();
    assert_eq!((counters.allocations, counters.in_use), (0, 0));
    assert_eq!(counters.peak_in_use, 48);
}

/// Failures are null pointers, never panics, and leave the block and the heap as they were.
#[test]
fn failures_return_null() {
    let mut memory = Memory::<{ SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let small = Layout::from_size_align(8, 8).unwrap();
    // SAFETY: non-zero layouts; the one live block is freed once at the end.
    unsafe {
        let block = heap.alloc(small);
        assert!(!block.is_null());
        block.write(42);
        assert!(heap.alloc(small).is_null(), "exhausted");
        assert!(heap.alloc_zeroed(small).is_null(), "exhausted");
        assert!(heap.realloc(block, small, SLOT + 1).is_null(), "too large");
        assert!(
            heap.realloc(block, small, isize::MAX as usize).is_null(),
            "bad layout"
        );
        assert_eq!(block.read(), 42, "a failed realloc keeps the block");
        heap.dealloc(ptr::null_mut(), small);
        heap.dealloc(block, small);
        // Deliberately wrong: a double free. The heap detects it; `dealloc` cannot report
        // it, so it is counted.
        heap.dealloc(block, small);
    }
    let counters = heap.counters();
    assert_eq!(counters.failures, 3);
    assert_eq!(counters.rejected_frees, 1);
    assert_eq!(counters.allocations, 0);
    heap.lock().check().unwrap();
}

#[test]
fn panic_in_alloc_releases_the_lock() {
    let mut memory = Memory::<{ SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let trigger = Layout::from_size_align(PANIC_SIZE, 1).unwrap();
    // SAFETY: a non-zero layout.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { heap.alloc(trigger) }));
    assert!(outcome.is_err());
    assert!(heap.try_lock().is_some(), "the lock is free again");
}
