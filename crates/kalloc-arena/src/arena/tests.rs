use super::*;
use crate::test_support::{all_back, memory, region};
use kalloc_core::{Align, FixedRegion, Source};

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn addr(ptr: NonNull<u8>) -> usize {
    ptr.addr().get()
}

#[test]
fn unaligned_grows_up_and_aligned_grows_down_in_one_block() {
    let mut mem = memory(2);
    let blocks = region(&mut mem, 2);
    let arena = BlockBumpArena::new(&blocks);
    let a = arena.alloc(layout(3, 1)).unwrap();
    let b = arena.alloc(layout(5, 1)).unwrap();
    let c = arena.alloc(layout(8, 8)).unwrap();
    let d = arena.alloc(layout(4, 4)).unwrap();
    let base = blocks.span().base();
    assert_eq!(addr(a), base, "first byte string at the bottom");
    assert_eq!(addr(b), base + 3, "packed, no padding");
    assert_eq!(
        addr(c),
        base + HEADER_OFFSET - 8,
        "first aligned object just below the link"
    );
    assert_eq!(addr(d), addr(c) - 4);
    assert_eq!(arena.stats().in_use, 20);
    assert_eq!(arena.stats().allocations, 4);
    assert_eq!(arena.stats().free, HEADER_OFFSET - 20);
    assert_eq!(arena.arena_stats().blocks, 1);
    arena.check().unwrap();
}

#[test]
fn every_alignment_up_to_the_block_is_honoured() {
    let mut mem = memory(16);
    let blocks = region(&mut mem, 16);
    let arena = BlockBumpArena::new(&blocks);
    for shift in 0..=12 {
        let align = 1 << shift;
        for size in [1, 7, align] {
            let size = size.min(MAX_REQUEST);
            let ptr = arena.alloc(layout(size, align)).unwrap();
            assert_eq!(addr(ptr) % align, 0, "size {size} align {align}");
            arena.check().unwrap();
        }
    }
}

#[test]
fn a_fresh_block_serves_the_largest_request_at_the_largest_alignment() {
    let mut mem = memory(3);
    let blocks = region(&mut mem, 3);
    let arena = BlockBumpArena::new(&blocks);
    let low = arena.alloc(layout(MAX_REQUEST, 1)).unwrap();
    let high = arena.alloc(layout(MAX_REQUEST, MAX_ALIGN)).unwrap();
    assert_eq!(addr(low) % BLOCK_SIZE, 0);
    assert_eq!(addr(high) % BLOCK_SIZE, 0);
    assert_eq!(arena.arena_stats().blocks, 2);
    assert_eq!(arena.arena_stats().wasted, 0, "the first block was full");
    arena.check().unwrap();
}

#[test]
fn zero_size_requests_use_nothing() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    for align in [1, 8, 4096, 1 << 20] {
        if align > MAX_ALIGN {
            assert_eq!(arena.alloc(layout(0, align)), Err(Error::BadAlign));
            continue;
        }
        let ptr = arena.alloc(layout(0, align)).unwrap();
        assert_eq!(addr(ptr), align, "dangling at the alignment itself");
    }
    assert_eq!(
        arena.stats(),
        kalloc_core::Stats::default(),
        "no block taken"
    );
    assert!(all_back(&blocks));
    arena.check().unwrap();
}

#[test]
fn zero_size_requests_use_nothing_from_a_held_block() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(3, 1)).unwrap();
    arena.alloc(layout(5, 8)).unwrap();
    let before = arena.arena_stats();
    for align in [1, 2, 8, 4096] {
        let ptr = arena.alloc(layout(0, align)).unwrap();
        assert_eq!(addr(ptr), align, "dangling, not inside the block");
        assert_eq!(arena.arena_stats(), before, "align {align}");
    }
    arena.check().unwrap();
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let mut mem = memory(2);
    let blocks = region(&mut mem, 2);
    let arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(10, 1)).unwrap();
    let before = arena.arena_stats();
    assert_eq!(
        arena.alloc(layout(MAX_REQUEST + 1, 1)),
        Err(Error::TooLarge)
    );
    assert_eq!(
        arena.alloc(layout(MAX_REQUEST + 1, 8)),
        Err(Error::TooLarge)
    );
    assert_eq!(
        arena.alloc(layout(isize::MAX as usize - 8192, 4096)),
        Err(Error::TooLarge)
    );
    assert_eq!(arena.alloc(layout(8, 8192)), Err(Error::BadAlign));
    assert_eq!(arena.arena_stats(), before);
    arena.check().unwrap();
}

#[test]
fn a_request_that_does_not_fit_starts_a_block_and_counts_the_tail() {
    let mut mem = memory(3);
    let blocks = region(&mut mem, 3);
    let arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(4000, 1)).unwrap();
    let tail = HEADER_OFFSET - 4000;
    arena.alloc(layout(tail + 1, 8)).unwrap();
    let stats = arena.arena_stats();
    assert_eq!(stats.blocks, 2);
    assert_eq!(stats.wasted, tail);
    assert_eq!(
        stats.in_use + stats.free + stats.wasted + stats.links,
        2 * BLOCK_SIZE
    );
    assert_eq!(arena.stats().overhead(), stats.wasted + stats.links);
    // 81 bytes at alignment 8 below the link at 4080: 7 bytes of padding in front.
    assert_eq!(stats.in_use, 4000 + 88);
    arena.check().unwrap();
}

#[test]
fn an_exhausted_source_is_an_error_and_the_arena_stays_usable() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let kept = arena.alloc_slice_copy(&[7u8; 4000]).unwrap();
    let before = arena.arena_stats();
    assert_eq!(arena.alloc(layout(100, 1)), Err(Error::Exhausted));
    assert_eq!(arena.alloc(layout(100, 16)), Err(Error::Exhausted));
    assert_eq!(arena.arena_stats(), before);
    arena.check().unwrap();
    assert!(
        arena.alloc(layout(HEADER_OFFSET - 4000, 1)).is_ok(),
        "the rest still fits"
    );
    assert!(kept.iter().all(|&b| b == 7));
}

#[test]
fn drop_gives_every_block_back() {
    let mut mem = memory(8);
    let blocks = region(&mut mem, 8);
    let arena = BlockBumpArena::new(&blocks);
    for _ in 0..8 {
        arena.alloc(layout(3000, 8)).unwrap();
    }
    assert_eq!(arena.arena_stats().blocks, 8);
    arena.check().unwrap();
    drop(arena);
    assert!(all_back(&blocks));
}

#[test]
fn arenas_share_one_source_without_overlap() {
    let mut mem = memory(6);
    let blocks = region(&mut mem, 6);
    let (a, b) = (BlockBumpArena::new(&blocks), BlockBumpArena::new(&blocks));
    let mut taken = std::vec::Vec::new();
    for round in 0..3u8 {
        let x = a.alloc_slice_copy(&[round; 3000]).unwrap();
        let y = b.alloc_slice_copy(&[round + 100; 3000]).unwrap();
        taken.push((x, round));
        taken.push((y, round + 100));
    }
    assert_eq!(
        a.alloc(layout(2000, 1)),
        Err(Error::Exhausted),
        "b holds the rest"
    );
    for (bytes, value) in &taken {
        assert!(bytes.iter().all(|b| b == value));
    }
    drop(taken);
    drop(b);
    a.alloc(layout(500, 1)).unwrap();
    a.check().unwrap();
    drop(a);
    assert!(all_back(&blocks));
}

#[test]
fn values_and_slices_land_in_the_arena() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let arena = BlockBumpArena::new(&blocks);
    let value = arena.alloc_value([1u64, 2, 3]).unwrap();
    value[1] = 20;
    let text = arena.alloc_slice_copy("hello".as_bytes()).unwrap();
    let unit = arena.alloc_value(()).unwrap();
    assert_eq!(*value, [1, 20, 3]);
    assert_eq!(text, b"hello");
    assert_eq!(*unit, ());
    assert!(blocks.span().contains(value.as_ptr().addr()));
    let empty = NoSourceArena::new(kalloc_core::NoSource);
    assert_eq!(empty.alloc_value(5u32).err(), Some((Error::Exhausted, 5)));
}

type NoSourceArena = BlockBumpArena<kalloc_core::NoSource>;

/// A source that hands out blocks at a misaligned address or of the wrong size.
struct Crooked<'a> {
    region: &'a FixedRegion<'a>,
    size: usize,
    align: usize,
}

impl Source for Crooked<'_> {
    fn import(&self, _size: usize, _align: Align) -> Result<Span, Error> {
        self.region.import(self.size, Align::new(self.align))
    }
    fn release(&self, span: Span) -> Result<(), Error> {
        self.region.release(span)
    }
}

// SAFETY: forwards to the region, which keeps the promises.
unsafe impl MemorySource for Crooked<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        self.region.ptr(span)
    }
}

#[test]
fn spans_that_are_not_one_aligned_block_are_refused_and_given_back() {
    let mut mem = memory(3);
    let blocks = region(&mut mem, 3);
    for (size, align) in [(BLOCK_SIZE, 8), (2 * BLOCK_SIZE, BLOCK_SIZE)] {
        blocks.import(8, Align::ONE).unwrap();
        let arena = BlockBumpArena::new(Crooked {
            region: &blocks,
            size,
            align,
        });
        assert_eq!(arena.alloc(layout(8, 1)), Err(Error::Misaligned));
        assert_eq!(arena.arena_stats(), crate::ArenaStats::default());
        arena.check().unwrap();
        blocks.release(Span::new(blocks.span().base(), 8)).unwrap();
        assert!(all_back(&blocks));
    }
}

/// A source that allocates from the arena it feeds while importing.
struct Reentrant<'a> {
    region: &'a FixedRegion<'a>,
    /// The arena fed by this source, type-erased to break the type cycle.
    arena: Cell<*const ()>,
}

type ReentrantArena<'a> = BlockBumpArena<&'a Reentrant<'a>>;

impl Source for Reentrant<'_> {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        let arena = self.arena.get().cast::<ReentrantArena<'_>>();
        // SAFETY: the test sets the pointer to the arena, which outlives every import.
        let arena = unsafe { &*arena };
        assert_eq!(arena.alloc(layout(1, 1)), Err(Error::Busy));
        self.region.import(size, align)
    }
    fn release(&self, span: Span) -> Result<(), Error> {
        self.region.release(span)
    }
}

// SAFETY: forwards to the region, which keeps the promises.
unsafe impl MemorySource for Reentrant<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        self.region.ptr(span)
    }
}

#[test]
fn a_source_that_reenters_the_arena_gets_busy() {
    let mut mem = memory(2);
    let blocks = region(&mut mem, 2);
    let source = Reentrant {
        region: &blocks,
        arena: Cell::new(ptr::null()),
    };
    let arena = BlockBumpArena::new(&source);
    source.arena.set(ptr::from_ref(&arena).cast());
    arena.alloc(layout(8, 1)).unwrap();
    arena.check().unwrap();
    assert_eq!(arena.arena_stats().blocks, 1);
    assert_eq!(
        arena.stats().allocations,
        1,
        "the re-entrant request took nothing"
    );
}
