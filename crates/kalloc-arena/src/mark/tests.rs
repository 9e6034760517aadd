use super::*;
use crate::block::BLOCK_SIZE;
use crate::test_support::{all_back, memory, region};
use core::alloc::Layout;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn rewind_frees_what_came_after_and_keeps_what_came_before() {
    let mut mem = memory(8);
    let blocks = region(&mut mem, 8);
    let mut arena = BlockBumpArena::new(&blocks);
    let before = arena.alloc_slice_copy(&[1u8; 3000]).unwrap() as *const [u8];
    let mark = arena.checkpoint();
    let stats = arena.arena_stats();
    for _ in 0..5 {
        arena.alloc(layout(3000, 8)).unwrap();
    }
    assert_eq!(arena.arena_stats().blocks, 6);
    arena.rewind(mark).unwrap();
    assert_eq!(arena.arena_stats(), stats);
    arena.check().unwrap();
    // SAFETY: allocated before the mark, so still live.
    assert!(unsafe { &*before }.iter().all(|&b| b == 1));
    // The memory after the mark is reused.
    let again = arena.alloc(layout(1000, 1)).unwrap();
    assert_eq!(again.addr().get(), blocks.span().base() + 3000);
}

#[test]
fn one_mark_can_be_rewound_to_again_and_again() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let mut arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(100, 8)).unwrap();
    let mark = arena.checkpoint();
    for round in 0..6 {
        for _ in 0..round {
            arena.alloc(layout(2000, 1)).unwrap();
        }
        arena.rewind(mark).unwrap();
        arena.check().unwrap();
        assert_eq!(arena.arena_stats().blocks, 1);
        assert_eq!(
            arena.stats().in_use,
            104,
            "100 bytes and their alignment padding"
        );
    }
    assert_eq!(arena.history_merges(), 0);
}

#[test]
fn nested_marks_work_as_a_stack() {
    let mut mem = memory(8);
    let blocks = region(&mut mem, 8);
    let mut arena = BlockBumpArena::new(&blocks);
    let outer = arena.checkpoint();
    for _ in 0..3 {
        arena.alloc(layout(3000, 1)).unwrap();
        let inner = arena.checkpoint();
        for _ in 0..3 {
            arena.alloc(layout(3000, 16)).unwrap();
            arena.rewind(inner).unwrap();
            arena.check().unwrap();
        }
        arena.alloc(layout(10, 1)).unwrap();
        arena.rewind(outer).unwrap();
        assert_eq!(
            arena.rewind(inner),
            Err(Error::DoubleFree),
            "inner came after outer"
        );
        arena.check().unwrap();
    }
    assert!(all_back(&blocks), "the outer mark held no block");
}

#[test]
fn a_mark_passed_again_after_a_rewind_is_stale() {
    let mut mem = memory(2);
    let blocks = region(&mut mem, 2);
    let mut arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(8, 1)).unwrap();
    let early = arena.checkpoint();
    arena.alloc(layout(50, 1)).unwrap();
    let late = arena.checkpoint();
    arena.rewind(early).unwrap();
    // The low cursor passes `late`'s position again; `late` covers memory handed out anew.
    arena.alloc(layout(100, 1)).unwrap();
    let stats = arena.arena_stats();
    assert_eq!(arena.rewind(late), Err(Error::DoubleFree));
    assert_eq!(arena.arena_stats(), stats);
    arena.check().unwrap();
    arena.rewind(early).unwrap();
}

#[test]
fn stale_after_another_nested_rewind_is_still_caught() {
    // The staircase case: the record that refuses `stale` is not the latest one.
    let mut mem = memory(2);
    let blocks = region(&mut mem, 2);
    let mut arena = BlockBumpArena::new(&blocks);
    let first = arena.checkpoint();
    arena.alloc(layout(100, 1)).unwrap();
    let stale = arena.checkpoint();
    arena.rewind(first).unwrap();
    arena.alloc(layout(10, 1)).unwrap();
    let second = arena.checkpoint();
    arena.alloc(layout(200, 1)).unwrap();
    arena.rewind(second).unwrap();
    arena.alloc(layout(500, 1)).unwrap();
    assert_eq!(arena.rewind(stale), Err(Error::DoubleFree));
    arena.rewind(second).unwrap();
    arena.rewind(first).unwrap();
    arena.check().unwrap();
}

#[test]
fn a_mark_taken_after_the_target_at_the_same_place_is_stale() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let mut arena = BlockBumpArena::new(&blocks);
    let first = arena.checkpoint();
    let twin = arena.checkpoint();
    arena.alloc(layout(8, 8)).unwrap();
    arena.rewind(first).unwrap();
    assert_eq!(
        arena.rewind(twin),
        Err(Error::DoubleFree),
        "taken after `first`"
    );
    let again = arena.checkpoint();
    arena.rewind(first).unwrap();
    assert_eq!(arena.rewind(again), Err(Error::DoubleFree));
    arena.check().unwrap();
}

#[test]
fn marks_of_blocks_given_back_are_stale() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let mut arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(4000, 1)).unwrap();
    let early = arena.checkpoint();
    arena.alloc(layout(4000, 1)).unwrap();
    let late = arena.checkpoint();
    arena.rewind(early).unwrap();
    // The same memory comes back as a new block: its serial differs.
    arena.alloc(layout(4000, 1)).unwrap();
    assert_eq!(arena.rewind(late), Err(Error::DoubleFree));
    arena.check().unwrap();
}

#[test]
fn reset_keeps_the_oldest_block_and_makes_marks_stale() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let mut arena = BlockBumpArena::new(&blocks);
    let empty = arena.checkpoint();
    arena.alloc(layout(4000, 1)).unwrap();
    let mark = arena.checkpoint();
    for _ in 0..3 {
        arena.alloc(layout(4000, 1)).unwrap();
    }
    arena.reset();
    arena.check().unwrap();
    let stats = arena.arena_stats();
    assert_eq!((stats.blocks, stats.in_use, stats.wasted), (1, 0, 0));
    assert_eq!(stats.free, MAX_FREE);
    assert_eq!(
        blocks.stats().in_use,
        BLOCK_SIZE,
        "LIFO release: the region took 3 back"
    );
    assert_eq!(arena.rewind(mark), Err(Error::DoubleFree));
    assert_eq!(arena.rewind(empty), Err(Error::DoubleFree));
    let first = arena.alloc(layout(1, 1)).unwrap();
    assert_eq!(
        first.addr().get(),
        blocks.span().base(),
        "the oldest block is kept"
    );
    // Reset of an empty arena holds nothing.
    arena.rewind(arena.checkpoint()).unwrap();
    drop(arena);
    let mut idle = BlockBumpArena::new(&blocks);
    idle.reset();
    idle.check().unwrap();
    assert_eq!(idle.arena_stats().blocks, 0);
    drop(idle);
    assert!(all_back(&blocks));
}

const MAX_FREE: usize = crate::MAX_REQUEST;

#[test]
fn a_mark_of_the_empty_arena_gives_every_block_back() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let mut arena = BlockBumpArena::new(&blocks);
    let empty = arena.checkpoint();
    for _ in 0..4 {
        arena.alloc(layout(4000, 4)).unwrap();
    }
    arena.rewind(empty).unwrap();
    arena.check().unwrap();
    assert!(all_back(&blocks));
    assert_eq!(arena.stats(), kalloc_core::Stats::default());
    arena.alloc(layout(1, 1)).unwrap();
    arena.rewind(empty).unwrap();
}

#[test]
fn marks_of_another_arena_are_refused() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let mut a = BlockBumpArena::new(&blocks);
    let mut b = BlockBumpArena::new(&blocks);
    let of_b = b.checkpoint();
    b.alloc(layout(10, 1)).unwrap();
    a.alloc(layout(10, 1)).unwrap();
    let stats = a.arena_stats();
    assert_eq!(
        a.rewind(of_b),
        Err(Error::WrongOwner),
        "a has drawn no identity yet"
    );
    let _ = a.checkpoint();
    assert_eq!(a.rewind(of_b), Err(Error::WrongOwner));
    assert_eq!(a.arena_stats(), stats);
    a.check().unwrap();
    b.rewind(of_b).unwrap();
}

#[test]
fn a_checkpoint_stops_reclaiming_below_it() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let mut arena = BlockBumpArena::new(&blocks);
    let low = arena.alloc(layout(10, 1)).unwrap();
    let high = arena.alloc(layout(16, 8)).unwrap();
    let mark = arena.checkpoint();
    let stats = arena.arena_stats();
    // SAFETY: both are live allocations of this arena with these layouts.
    unsafe {
        arena.dealloc(low, layout(10, 1));
        arena.dealloc(high, layout(16, 8));
    }
    assert_eq!(
        arena.arena_stats(),
        stats,
        "nothing reclaimed under the mark"
    );
    arena.rewind(mark).unwrap();
    arena.check().unwrap();
}

#[test]
fn deep_nesting_merges_history_conservatively() {
    let mut mem = memory(1);
    let blocks = region(&mut mem, 1);
    let mut arena = BlockBumpArena::new(&blocks);
    let mut marks = std::vec::Vec::new();
    for _ in 0..=crate::HISTORY_LEN {
        arena.alloc(layout(1, 1)).unwrap();
        let mark = arena.checkpoint();
        arena.alloc(layout(1, 1)).unwrap();
        arena.rewind(mark).unwrap();
        marks.push(mark);
    }
    assert_eq!(arena.history_merges(), 1);
    arena.check().unwrap();
    // The newest marks are still judged exactly; the innermost rewinds as often as wanted.
    let newest = *marks.last().unwrap();
    arena.rewind(newest).unwrap();
    arena.rewind(newest).unwrap();
    for mark in marks.iter().rev() {
        match arena.rewind(*mark) {
            Ok(()) | Err(Error::DoubleFree) => arena.check().unwrap(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}
