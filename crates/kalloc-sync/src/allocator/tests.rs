extern crate std;

use crate::test_heap::{Memory, SLOT, SlotHeap};
use crate::{BackoffLock, Locked};
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;
use core::alloc::Layout;

#[test]
fn a_vec_lives_in_the_locked_heap() {
    let mut memory = Memory::<{ 4 * SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let mut numbers = Vec::new_in(&heap);
    numbers.extend(0..16u32);
    assert_eq!(numbers.iter().sum::<u32>(), 120);
    assert_eq!(heap.counters().allocations, 1);
    numbers.shrink_to_fit();
    drop(numbers);
    assert_eq!(heap.counters().allocations, 0);
    heap.lock().check().unwrap();
}

#[test]
fn zero_size_never_reaches_the_heap() {
    let mut memory = Memory::<{ SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let empty = Layout::from_size_align(0, 32).unwrap();
    let block = Allocator::allocate(&&heap, empty).unwrap();
    assert_eq!(block.len(), 0);
    assert_eq!(block.cast::<u8>().as_ptr().addr() % 32, 0);
    let small = Layout::from_size_align(8, 8).unwrap();
    // SAFETY: `block` is the zero-size block for `empty`; the grown one is live for `small`.
    unsafe {
        let grown = Allocator::grow_zeroed(&&heap, block.cast(), empty, small).unwrap();
        assert!((0..8).all(|i| grown.cast::<u8>().add(i).read() == 0));
        let gone = Allocator::shrink(&&heap, grown.cast(), small, empty).unwrap();
        assert_eq!(gone.len(), 0);
        Allocator::deallocate(&&heap, gone.cast(), empty);
    }
    let counters = heap.counters();
    assert_eq!((counters.allocations, counters.failures), (0, 0));
}

#[test]
fn failures_are_alloc_errors() {
    let mut memory = Memory::<{ SLOT }>::new();
    let heap: Locked<_, BackoffLock> = Locked::new(SlotHeap::new(&mut memory));
    let small = Layout::from_size_align(8, 8).unwrap();
    let block = Allocator::allocate(&&heap, small).unwrap();
    assert!(Allocator::allocate(&&heap, small).is_err(), "exhausted");
    let big = Layout::from_size_align(SLOT + 8, 8).unwrap();
    // SAFETY: `block` is live for `small`; the failed grow leaves it so; freed once.
    unsafe {
        block.cast::<u8>().write(9);
        assert!(Allocator::grow(&&heap, block.cast(), small, big).is_err());
        assert_eq!(block.cast::<u8>().read(), 9);
        let grown = Allocator::grow_zeroed(&&heap, block.cast(), small, Layout::new::<[u64; 4]>());
        let grown = grown.unwrap();
        assert_eq!(grown.len(), 32);
        assert_eq!(grown.cast::<u8>().read(), 9, "contents kept");
        assert!(
            (8..32).all(|i| grown.cast::<u8>().add(i).read() == 0),
            "tail zeroed"
        );
        Allocator::deallocate(&&heap, grown.cast(), Layout::new::<[u64; 4]>());
    }
    assert_eq!(heap.counters().failures, 2);
}
