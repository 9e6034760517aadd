extern crate std;

use crate::test_heap::{Memory, PANIC_SIZE, SLOT, SlotHeap};
use crate::{BackoffLock, Counters, Locked};
use core::alloc::Layout;
use kalloc_core::Error;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

#[test]
fn allocate_resize_deallocate_are_counted() {
    let mut memory = Memory::<{ 4 * SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let a = heap.allocate(layout(10)).unwrap();
    let b = heap.allocate(layout(20)).unwrap();
    assert_ne!(a, b);
    // SAFETY: `a` is live for `layout(10)`.
    let a2 = unsafe { heap.resize(a, layout(10), layout(40)) }.unwrap();
    assert_eq!(a2, a, "the slot heap resizes in place");
    // SAFETY: `b` is live for `layout(20)`.
    let b2 = unsafe { heap.resize(b, layout(20), layout(5)) }.unwrap();
    assert_eq!(
        heap.counters(),
        Counters {
            allocations: 2,
            in_use: 45,
            peak_in_use: 60,
            failures: 0,
            rejected_frees: 0,
        }
    );
    assert_eq!(heap.heap_stats().allocations, 2);
    // SAFETY: each block is live for the layout given, and freed once.
    unsafe {
        heap.deallocate(a2, layout(40)).unwrap();
        heap.deallocate(b2, layout(5)).unwrap();
    }
    let counters = heap.counters();
    assert_eq!((counters.allocations, counters.in_use), (0, 0));
    assert_eq!(heap.heap_stats().allocations, 0);
    heap.lock().check().unwrap();
}

/// Every error of the heap comes back unchanged, is counted, and leaves the heap intact.
#[test]
fn heap_errors_pass_through_and_are_counted() {
    let mut memory = Memory::<{ SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    assert_eq!(heap.allocate(layout(SLOT + 1)), Err(Error::TooLarge));
    assert_eq!(
        heap.allocate(Layout::from_size_align(8, 2 * SLOT).unwrap()),
        Err(Error::BadAlign)
    );
    assert_eq!(heap.allocate(layout(0)), Err(Error::ZeroSize));
    let only = heap.allocate(layout(8)).unwrap();
    assert_eq!(heap.allocate(layout(8)), Err(Error::Exhausted));
    // SAFETY: `only` is live for `layout(8)`; the resize fails and leaves it so.
    let too_big = unsafe { heap.resize(only, layout(8), layout(SLOT + 1)) };
    assert_eq!(too_big, Err(Error::TooLarge));
    assert_eq!(heap.counters().failures, 5);
    heap.lock().check().unwrap();
    // SAFETY: `only` is live for `layout(8)`.
    unsafe { heap.deallocate(only, layout(8)) }.unwrap();
    // SAFETY: deliberately wrong: `only` was just freed. The heap detects it.
    let double_free = unsafe { heap.deallocate(only, layout(8)) };
    assert_eq!(double_free, Err(Error::DoubleFree));
    let counters = heap.counters();
    assert_eq!((counters.rejected_frees, counters.allocations), (1, 0));
    heap.lock().check().unwrap();
}

/// A heap that panics while the wrapper holds the lock does not leave the lock held.
#[test]
fn panicking_heap_releases_the_lock() {
    let mut memory = Memory::<{ SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let outcome = catch_unwind(AssertUnwindSafe(|| heap.allocate(layout(PANIC_SIZE))));
    assert!(outcome.is_err(), "the heap panicked");
    let guard = heap
        .try_lock()
        .expect("the lock was released by the unwind");
    guard.check().unwrap();
    drop(guard);
    let block = heap.allocate(layout(8)).unwrap();
    // SAFETY: `block` is live for `layout(8)`.
    unsafe { heap.deallocate(block, layout(8)) }.unwrap();
}
