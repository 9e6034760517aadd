use super::*;
use crate::block::HEADER_OFFSET;
use crate::test_support::{memory, region};
use kalloc_core::Stats;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn fill(ptr: NonNull<u8>, len: usize, value: u8) {
    // SAFETY: the tests pass live allocations of at least `len` bytes.
    unsafe { ptr.as_ptr().write_bytes(value, len) };
}

fn holds(ptr: NonNull<u8>, len: usize, value: u8) -> bool {
    // SAFETY: the tests pass live allocations of at least `len` bytes.
    unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) }
        .iter()
        .all(|&b| b == value)
}

#[test]
fn freeing_the_latest_allocation_at_either_end_reclaims_it() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let empty = arena.stats();
    let a = arena.alloc(layout(10, 1)).unwrap();
    let after_a = arena.stats();
    let b = arena.alloc(layout(24, 8)).unwrap();
    let c = arena.alloc(layout(5, 1)).unwrap();
    // SAFETY: live allocations with their layouts.
    unsafe {
        arena.dealloc(c, layout(5, 1));
        arena.dealloc(b, layout(24, 8));
    }
    assert_eq!(
        arena.stats(),
        Stats {
            total: after_a.total,
            ..after_a
        }
    );
    arena.check().unwrap();
    // SAFETY: as above.
    unsafe { arena.dealloc(a, layout(10, 1)) };
    assert_eq!(arena.stats().in_use, 0);
    assert_eq!(arena.stats().allocations, 0);
    assert_eq!(arena.stats().free, HEADER_OFFSET);
    assert_ne!(arena.stats(), empty, "the block stays held");
    arena.check().unwrap();
}

#[test]
fn freeing_an_older_allocation_is_a_no_op() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(10, 1)).unwrap();
    arena.alloc(layout(10, 1)).unwrap();
    let stats = arena.arena_stats();
    // SAFETY: a live allocation with its layout.
    unsafe {
        arena.dealloc(a, layout(10, 1));
        arena.dealloc(NonNull::dangling(), layout(0, 1));
    }
    assert_eq!(arena.arena_stats(), stats);
    arena.check().unwrap();
}

#[test]
fn growing_the_latest_low_allocation_stays_in_place() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(10, 1)).unwrap();
    fill(a, 10, 3);
    // SAFETY: live allocation, larger new size.
    let grown = unsafe { arena.grow(a, layout(10, 1), layout(100, 2)) }.unwrap();
    assert_eq!(grown, a);
    assert!(holds(grown, 10, 3));
    assert_eq!(arena.stats().in_use, 100);
    assert_eq!(arena.stats().allocations, 1);
    arena.check().unwrap();
}

#[test]
fn growing_the_latest_high_allocation_slides_it_down() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(16, 8)).unwrap();
    fill(a, 16, 9);
    // SAFETY: live allocation, larger new size.
    let grown = unsafe { arena.grow(a, layout(16, 8), layout(64, 16)) }.unwrap();
    assert_eq!(grown.addr().get(), a.addr().get() + 16 - 64);
    assert_eq!(grown.addr().get() % 16, 0);
    assert!(holds(grown, 16, 9));
    let stats = arena.arena_stats();
    assert_eq!(stats.in_use, 64, "the old space is reused, no padding");
    arena.check().unwrap();
}

#[test]
fn growing_an_older_allocation_copies_it() {
    let mut mem = memory(2);
    let blocks = region(&mut mem, 2);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(10, 1)).unwrap();
    fill(a, 10, 5);
    arena.alloc(layout(1, 1)).unwrap();
    // SAFETY: live allocation, larger new size.
    let grown = unsafe { arena.grow(a, layout(10, 1), layout(4000, 1)) }.unwrap();
    assert_ne!(grown, a);
    assert!(holds(grown, 10, 5));
    assert_eq!(arena.stats().in_use, 4011, "the old copy still counts");
    arena.check().unwrap();
}

#[test]
fn bad_grows_leave_the_allocation_alone() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(10, 1)).unwrap();
    fill(a, 10, 1);
    arena.alloc(layout(1, 1)).unwrap();
    let stats = arena.arena_stats();
    // SAFETY: live allocation, larger new sizes.
    unsafe {
        assert_eq!(
            arena.grow(a, layout(10, 1), layout(MAX_REQUEST + 1, 1)),
            Err(Error::TooLarge)
        );
        assert_eq!(
            arena.grow(a, layout(10, 1), layout(20, 2 * MAX_ALIGN)),
            Err(Error::BadAlign)
        );
        assert_eq!(
            arena.grow(a, layout(10, 1), layout(MAX_REQUEST, 8)),
            Err(Error::Exhausted)
        );
    }
    assert_eq!(arena.arena_stats(), stats);
    assert!(holds(a, 10, 1));
    arena.check().unwrap();
}

#[test]
fn shrinking_gives_the_latest_low_tail_back() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(100, 1)).unwrap();
    fill(a, 100, 4);
    // SAFETY: live allocation, smaller new size.
    let shrunk = unsafe { arena.shrink(a, layout(100, 1), layout(10, 1)) }.unwrap();
    assert_eq!(shrunk, a);
    assert!(holds(a, 10, 4));
    assert_eq!(arena.stats().in_use, 10);
    let b = arena.alloc(layout(1, 1)).unwrap();
    assert_eq!(b.addr().get(), a.addr().get() + 10);
    arena.check().unwrap();
}

#[test]
fn shrinking_elsewhere_stays_in_place_or_moves_for_alignment() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let high = arena.alloc(layout(64, 8)).unwrap();
    fill(high, 64, 6);
    // SAFETY: live allocation, smaller new size.
    let same = unsafe { arena.shrink(high, layout(64, 8), layout(32, 8)) }.unwrap();
    assert_eq!(same, high);
    assert_eq!(
        arena.stats().in_use,
        64,
        "the tail above a high allocation is not reusable"
    );
    let odd = arena.alloc(layout(9, 1)).unwrap();
    // SAFETY: live allocation, larger new size.
    let odd = unsafe { arena.grow(odd, layout(9, 1), layout(10, 1)) }.unwrap();
    let odd_addr = odd.addr().get();
    fill(odd, 10, 8);
    // SAFETY: live allocation, smaller new size with a larger alignment.
    let moved = unsafe { arena.shrink(odd, layout(10, 1), layout(8, 8)) }.unwrap();
    if odd_addr % 8 != 0 {
        assert_ne!(moved.addr().get(), odd_addr);
    }
    assert_eq!(moved.addr().get() % 8, 0);
    assert!(holds(moved, 8, 8));
    // SAFETY: live allocation, shrunk to nothing.
    let gone = unsafe { arena.shrink(moved, layout(8, 8), layout(0, 8)) }.unwrap();
    assert_eq!(gone.addr().get(), 8);
    // SAFETY: as above.
    let refused = unsafe { arena.shrink(same, layout(32, 8), layout(0, 2 * MAX_ALIGN)) };
    assert_eq!(refused, Err(Error::BadAlign));
    arena.check().unwrap();
}

#[test]
fn the_byte_heap_trait_forwards() {
    fn exercise<H: ByteHeap>(heap: &mut H) {
        let a = heap.allocate(layout(10, 1)).unwrap();
        // SAFETY: live allocation with its layout; sizes grow then shrink.
        unsafe {
            let a = heap.grow(a, layout(10, 1), layout(20, 1)).unwrap();
            let a = heap.shrink(a, layout(20, 1), layout(5, 1)).unwrap();
            heap.deallocate(a, layout(5, 1)).unwrap();
        }
        assert_eq!(heap.stats().in_use, 0);
        assert_eq!(heap.allocate(layout(0, 16)).unwrap().addr().get(), 16);
    }
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let mut arena = BlockBumpArena::new(&blocks);
    exercise(&mut arena);
    arena.check().unwrap();
}
