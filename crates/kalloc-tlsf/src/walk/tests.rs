use crate::Tlsf;
use crate::class::WORD;
use crate::testing::{Buffer, fresh, layout};
use std::vec::Vec;

#[test]
fn the_walk_tiles_each_pool_in_address_order() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let a = heap.alloc(layout(100, WORD)).unwrap();
    let b = heap.alloc(layout(200, WORD)).unwrap();
    // SAFETY: live allocation.
    unsafe { heap.free(a, layout(100, WORD)) }.unwrap();
    let blocks: Vec<_> = heap.blocks().collect();
    assert_eq!(blocks.len(), 3);
    assert!(!blocks[0].used && blocks[1].used && !blocks[2].used);
    assert_eq!(blocks[1].payload(), b.as_ptr().addr());
    assert!(blocks[1].capacity() >= 200);
    for pair in blocks.windows(2) {
        assert_eq!(pair[0].start + pair[0].size, pair[1].start);
    }
    let span = heap.pools().next().unwrap().span;
    assert_eq!(blocks[0].start, span.base());
    let tiled: usize = blocks.iter().map(|b| b.size).sum();
    assert_eq!(tiled + crate::pool::TRAILER, span.len());
}

#[test]
fn an_empty_heap_has_no_blocks() {
    let heap = Tlsf::new();
    assert_eq!(heap.blocks().count(), 0);
    assert_eq!(heap.pools().count(), 0);
    heap.check().unwrap();
}
