use super::*;
use crate::test_support::{memory, region};
use core::alloc::Layout;

#[test]
fn the_breakdown_adds_up_to_the_blocks_held() {
    let mut mem = memory(8);
    let blocks = region(&mut mem, 8);
    let arena = BlockBumpArena::new(&blocks);
    assert_eq!(arena.arena_stats(), ArenaStats::default());
    let mut size = 1;
    for step in 0..200 {
        let align = if step % 3 == 0 { 1 } else { 1 << (step % 7) };
        arena
            .alloc(Layout::from_size_align(size, align).unwrap())
            .unwrap();
        size = (size * 7 + 3) % 300 + 1;
        let s = arena.arena_stats();
        assert_eq!(
            s.in_use + s.free + s.wasted + s.links,
            s.blocks * BLOCK_SIZE,
            "step {step}: {s:?}"
        );
        let shared = arena.stats();
        assert_eq!((shared.in_use, shared.free), (s.in_use, s.free));
        assert_eq!(shared.total, s.blocks * BLOCK_SIZE);
        assert_eq!(shared.allocations, step + 1);
    }
    assert!(arena.arena_stats().wasted > 0);
    arena.check().unwrap();
}
