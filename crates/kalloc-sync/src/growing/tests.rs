use crate::Growing;
use crate::test_heap::{Memory, SLOT, SlotHeap};
use core::alloc::Layout;
use kalloc_core::{Align, ByteHeap, Error, FixedRegion, Source};

fn small() -> Layout {
    Layout::from_size_align(24, 8).unwrap()
}

#[test]
fn exhausted_heap_imports_a_pool_and_retries() {
    let mut memory = Memory::<{ 4 * SLOT }>::new();
    let region = FixedRegion::from_slice(&mut memory.0);
    let mut heap = Growing::new(SlotHeap::empty(), &region);
    assert_eq!(heap.stats().total, 0);
    let first = heap.allocate(small()).unwrap();
    assert_eq!(heap.pools_added(), 1);
    assert!(Align::new(SLOT).is_aligned(first.as_ptr().addr()));
    let second = heap.allocate(small()).unwrap();
    assert_eq!(
        heap.pools_added(),
        2,
        "each one-slot pool is full after one block"
    );
    assert_ne!(first, second);
    assert_eq!(heap.stats().total, 2 * SLOT);
    assert_eq!(region.stats().free, 2 * SLOT);

    // The source still has memory, but the heap refuses a third pool: the span goes back,
    // the heap's reason comes out, nothing changed.
    assert_eq!(heap.allocate(small()), Err(Error::TooLarge));
    assert_eq!(heap.pools_added(), 2);
    assert_eq!(region.stats().free, 2 * SLOT, "the refused pool went back");
    heap.heap().check().unwrap();

    // SAFETY: both blocks are live for `small()` and freed once.
    unsafe {
        heap.deallocate(first, small()).unwrap();
        heap.deallocate(second, small()).unwrap();
    }
    assert_eq!(heap.stats().in_use, 0);
    assert_eq!(heap.source().stats().free, 2 * SLOT);
    heap.heap_mut().check().unwrap();
}

#[test]
fn errors_other_than_exhaustion_do_not_grow() {
    let mut memory = Memory::<{ 2 * SLOT }>::new();
    let region = FixedRegion::from_slice(&mut memory.0);
    let mut heap = Growing::new(SlotHeap::empty(), &region);
    assert_eq!(
        heap.allocate(Layout::new::<[u8; 0]>()),
        Err(Error::ZeroSize)
    );
    let huge = Layout::from_size_align(SLOT + 1, 8).unwrap();
    assert_eq!(heap.allocate(huge), Err(Error::TooLarge));
    assert_eq!(heap.pools_added(), 0);
    assert_eq!(region.stats().free, 2 * SLOT, "nothing imported");
}

#[test]
fn an_empty_source_reports_exhaustion() {
    let mut memory = Memory::<{ SLOT }>::new();
    let region = FixedRegion::from_slice(&mut memory.0);
    let hog = region.import(1, Align::ONE).unwrap();
    let mut heap = Growing::new(SlotHeap::empty(), &region);
    assert_eq!(heap.allocate(small()), Err(Error::Exhausted));
    assert_eq!(heap.pools_added(), 0);
    region.release(hog).unwrap();
    assert!(
        heap.allocate(small()).is_ok(),
        "grows once the source has room"
    );
}

/// Growth also serves a `grow` that the heap cannot do in place.
#[test]
fn grow_and_shrink_forward() {
    let mut memory = Memory::<{ 2 * SLOT }>::new();
    let region = FixedRegion::from_slice(&mut memory.0);
    let mut heap = Growing::new(SlotHeap::empty(), &region);
    let block = heap.allocate(small()).unwrap();
    let bigger = Layout::from_size_align(SLOT, 8).unwrap();
    // SAFETY: `block` is live for `small()`; it is resized, then freed once.
    unsafe {
        let grown = heap.grow(block, small(), bigger).unwrap();
        let shrunk = heap.shrink(grown, bigger, small()).unwrap();
        let too_big = Layout::from_size_align(SLOT + 1, 8).unwrap();
        assert_eq!(heap.grow(shrunk, small(), too_big), Err(Error::TooLarge));
        heap.deallocate(shrunk, small()).unwrap();
    }
    assert_eq!(heap.pools_added(), 1);
}

/// A minimum pool size makes one import serve many requests, and falls back to the exact
/// need when the source cannot supply the minimum.
#[test]
fn min_pool_imports_larger_spans() {
    let mut memory = Memory::<{ 4 * SLOT }>::new();
    let region = FixedRegion::from_slice(&mut memory.0);
    let mut heap = Growing::with_min_pool(SlotHeap::empty(), &region, 3 * SLOT);
    let blocks = [
        heap.allocate(small()).unwrap(),
        heap.allocate(small()).unwrap(),
        heap.allocate(small()).unwrap(),
    ];
    assert_eq!(
        heap.pools_added(),
        1,
        "one import of three slots served three requests"
    );
    let fourth = heap.allocate(small()).unwrap();
    assert_eq!(
        heap.pools_added(),
        2,
        "one slot left: imported the exact need"
    );
    assert_eq!(region.stats().free, 0);
    // SAFETY: every block is live for `small()` and freed once.
    unsafe {
        for block in blocks.into_iter().chain([fourth]) {
            heap.deallocate(block, small()).unwrap();
        }
    }
    heap.heap().check().unwrap();
}
