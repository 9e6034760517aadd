//! kalloc-arena never touches a heap: allocation, block changes, checkpoints, rewinds,
//! resets and drop all run with the heap forbidden.

use core::alloc::Layout;
use kalloc_arena::{BlockBumpArena, MAX_REQUEST};
use kalloc_core::{ByteHeap, Error, FixedRegion, Span};
use kalloc_fuzz::no_heap::{NoHeap, run};

#[global_allocator]
static GUARD: NoHeap = NoHeap;

/// Sixteen blocks of memory, aligned, that need no heap.
#[repr(C, align(4096))]
struct Memory([u8; 16 * 4096]);

fn with_region(check: impl FnOnce(&FixedRegion<'_>)) {
    let mut memory = Memory([0; 16 * 4096]);
    let region = FixedRegion::from_slice(&mut memory.0);
    check(&region);
    assert_eq!(region.stats().in_use, 0, "every block back");
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn allocate_across_blocks() {
    with_region(|region| {
        let arena = BlockBumpArena::new(region);
        for step in 0..200 {
            let align = if step % 2 == 0 { 1 } else { 8 };
            arena.alloc(layout(8 + step % 121, align)).unwrap();
        }
        assert!(arena.arena_stats().blocks > 1);
        assert_eq!(
            arena.alloc(layout(MAX_REQUEST + 1, 1)),
            Err(Error::TooLarge)
        );
        assert_eq!(arena.alloc(layout(8, 8192)), Err(Error::BadAlign));
        arena.check().unwrap();
    });
}

fn checkpoints_and_reset() {
    with_region(|region| {
        let mut arena = BlockBumpArena::new(region);
        arena.alloc_slice_copy(b"kept").unwrap();
        let mark = arena.checkpoint();
        for _ in 0..10 {
            arena.alloc(layout(3000, 16)).unwrap();
        }
        arena.rewind(mark).unwrap();
        assert_eq!(arena.arena_stats().blocks, 1);
        arena.alloc(layout(4000, 1)).unwrap();
        arena.reset();
        assert_eq!(arena.rewind(mark), Err(Error::DoubleFree));
        arena.check().unwrap();
    });
}

fn byte_heap_and_exhaustion() {
    with_region(|region| {
        let mut arena = BlockBumpArena::new(region);
        let a = arena.allocate(layout(10, 1)).unwrap();
        // SAFETY: `a` is live with this layout; sizes grow then shrink.
        unsafe {
            let a = ByteHeap::grow(&mut arena, a, layout(10, 1), layout(100, 1)).unwrap();
            let a = ByteHeap::shrink(&mut arena, a, layout(100, 1), layout(50, 1)).unwrap();
            arena.deallocate(a, layout(50, 1)).unwrap();
        }
        while arena.alloc(layout(2048, 2048)).is_ok() {}
        assert_eq!(arena.alloc(layout(2048, 2048)), Err(Error::Exhausted));
        arena.check().unwrap();
        assert!(region.stats().free < 4096);
        let _ = Span::new(0, 0);
    });
}

fn main() {
    run(&[
        ("allocation across blocks", allocate_across_blocks),
        ("checkpoints, rewinds and reset", checkpoints_and_reset),
        ("byte heap and exhaustion", byte_heap_and_exhaustion),
    ]);
}
