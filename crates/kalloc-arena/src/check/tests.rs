use super::*;
use crate::test_support::{memory, region};
use core::alloc::Layout;

fn busy_arena<S: MemorySource>(arena: &BlockBumpArena<S>) {
    for size in [100, 4000, 16, 3000] {
        arena
            .alloc(Layout::from_size_align(size, 8).unwrap())
            .unwrap();
    }
    arena.check().unwrap();
}

#[test]
fn a_wrong_block_count_is_caught() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let arena = BlockBumpArena::new(&blocks);
    busy_arena(&arena);
    let real = arena.blocks.get();
    arena.blocks.set(real + 1);
    assert_eq!(arena.check(), Err("fewer blocks on the chain than counted"));
    arena.blocks.set(real - 1);
    assert_eq!(arena.check(), Err("more blocks on the chain than counted"));
    arena.blocks.set(real);
    arena.check().unwrap();
}

#[test]
fn crossed_cursors_are_caught() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let arena = BlockBumpArena::new(&blocks);
    busy_arena(&arena);
    let (lo, hi) = (arena.lo.get(), arena.hi.get());
    arena.lo.set(hi.wrapping_add(1));
    assert_eq!(
        arena.check(),
        Err("cursors out of order or outside the current block")
    );
    arena.lo.set(lo);
    arena.hi.set(hi.wrapping_add(HEADER_OFFSET));
    assert!(arena.check().is_err());
    arena.hi.set(hi);
    arena.check().unwrap();
}

#[test]
fn bad_accounting_and_serials_are_caught() {
    let mut mem = memory(4);
    let blocks = region(&mut mem, 4);
    let arena = BlockBumpArena::new(&blocks);
    busy_arena(&arena);
    let wasted = arena.wasted.get();
    arena.wasted.set(4 * crate::BLOCK_SIZE);
    assert_eq!(arena.check(), Err("wasted and free exceed the blocks held"));
    arena
        .wasted
        .set(HEADER_OFFSET * (arena.blocks.get() - 1) + 1);
    assert_eq!(
        arena.check(),
        Err("more wasted than the blocks left behind could hold")
    );
    arena.wasted.set(wasted);
    let allocations = arena.allocations.get();
    arena.allocations.set(arena.in_use() + 1);
    assert_eq!(arena.check(), Err("more allocations than bytes in use"));
    arena.allocations.set(allocations);
    let serial = arena.serial.get();
    arena.serial.set(serial + 1);
    assert!(arena.check().is_err());
    arena.serial.set(serial);
    arena.check().unwrap();
}
