use super::*;
use crate::class::HEADER;
use crate::testing::{Buffer, layout};
use std::vec::Vec;

fn kinds(heap: &Tlsf<'_>) -> Vec<(usize, usize, PoolKind)> {
    let mut pools: Vec<_> = heap
        .pools()
        .map(|p| (p.span.base(), p.span.len(), p.kind))
        .collect();
    pools.sort_by_key(|p| p.0);
    pools
}

#[test]
fn bad_pools_are_refused_without_change() {
    let buffer = Buffer::new(8192);
    let mut heap = Tlsf::new();
    // SAFETY: every pool lies in `buffer`, which outlives the heap.
    unsafe {
        assert_eq!(heap.add_pool(buffer.at(1), 1024), Err(Error::Misaligned));
        assert_eq!(
            heap.add_pool(buffer.at(0), MIN_POOL - 1),
            Err(Error::TooSmall)
        );
        assert_eq!(
            heap.add_pool(buffer.at(0), usize::MAX),
            Err(Error::Overflow)
        );
        heap.add_pool(buffer.at(1024), 1024).unwrap();
        let before = heap.stats();
        assert_eq!(heap.add_pool(buffer.at(512), 1024), Err(Error::Overlap));
        assert_eq!(heap.add_pool(buffer.at(1536), 1024), Err(Error::Overlap));
        assert_eq!(heap.add_pool(buffer.at(1024), 1024), Err(Error::Overlap));
        assert_eq!(heap.stats(), before);
    }
    heap.check().unwrap();
    let limit = <Tlsf<'_, kalloc_core::NoSource, 2, 4>>::MAX_BLOCK;
    let big = Buffer::new(limit + 1024);
    let mut small: Tlsf<'_, kalloc_core::NoSource, 2, 4> = Tlsf::with_source(kalloc_core::NoSource);
    // SAFETY: inside `big`.
    unsafe {
        assert_eq!(
            small.add_pool(big.at(0), limit + TRAILER + GRANULE),
            Err(Error::TooLarge)
        );
        small.add_pool(big.at(0), limit + TRAILER).unwrap();
    }
    small.check().unwrap();
    let mut tiny = [0u8; 8];
    let mut other: Tlsf<'_> = Tlsf::new();
    assert_eq!(other.add_pool_slice(&mut tiny), Err(Error::TooSmall));
}

#[test]
fn adjacent_pools_merge_on_either_side() {
    let buffer = Buffer::new(4096);
    let mut heap = Tlsf::new();
    // SAFETY: all pools are cut from `buffer`'s one base pointer.
    unsafe {
        heap.add_pool(buffer.at(1024), 1024).unwrap();
        heap.add_pool(buffer.at(2048), 1024).unwrap(); // after
        heap.check().unwrap();
        assert_eq!(
            kinds(&heap),
            [(buffer.addr() + 1024, 2048, PoolKind::Added)]
        );
        heap.add_pool(buffer.at(0), 1024).unwrap(); // before
        heap.check().unwrap();
        assert_eq!(kinds(&heap), [(buffer.addr(), 3072, PoolKind::Added)]);
    }
    assert_eq!(heap.blocks().count(), 1);
    assert_eq!(heap.stats().total, 3072);
    assert_eq!(heap.stats().free, 3072 - TRAILER);
}

#[test]
fn a_pool_filling_a_hole_merges_both_sides_and_keeps_used_blocks() {
    let buffer = Buffer::new(3 * 1024);
    let mut heap = Tlsf::new();
    // SAFETY: all pools are cut from `buffer`'s one base pointer.
    unsafe {
        heap.add_pool(buffer.at(0), 1024).unwrap();
        heap.add_pool(buffer.at(2048), 1024).unwrap();
    }
    // Use the start of the high pool, and leave the low pool's last block free.
    let high = heap.alloc(layout(600, WORD)).unwrap();
    let low = heap.alloc(layout(200, WORD)).unwrap();
    assert!(
        high.as_ptr().addr() > buffer.addr() + 2048 || low.as_ptr().addr() > buffer.addr() + 2048
    );
    heap.check().unwrap();
    // SAFETY: the hole between the two pools, from the same base pointer.
    unsafe { heap.add_pool(buffer.at(1024), 1024) }.unwrap();
    heap.check().unwrap();
    assert_eq!(kinds(&heap), [(buffer.addr(), 3072, PoolKind::Added)]);
    // SAFETY: live allocations.
    unsafe {
        heap.free(high, layout(600, WORD)).unwrap();
        heap.free(low, layout(200, WORD)).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn slices_and_separate_pools_do_not_merge() {
    let mut first = [0u64; 64];
    let mut second = [0u64; 64];
    let mut heap = Tlsf::new();
    // SAFETY: reinterpreting u64 arrays as bytes.
    let (a, b) = unsafe {
        (
            core::slice::from_raw_parts_mut(first.as_mut_ptr().cast::<u8>(), 512),
            core::slice::from_raw_parts_mut(second.as_mut_ptr().cast::<u8>(), 512),
        )
    };
    heap.add_pool_slice(a).unwrap();
    heap.add_pool_slice(b).unwrap();
    heap.check().unwrap();
    assert_eq!(heap.pools().count(), 2);
    assert!(heap.pools().all(|p| p.kind == PoolKind::Borrowed));
    // A 600-byte request fits in neither.
    assert_eq!(heap.alloc(layout(600, WORD)), Err(Error::Exhausted));
    let x = heap.alloc(layout(400, WORD)).unwrap();
    let y = heap.alloc(layout(400, WORD)).unwrap();
    assert_ne!(x, y);
    heap.check().unwrap();
}

#[test]
fn merging_stops_below_the_largest_block() {
    type Small<'a> = Tlsf<'a, kalloc_core::NoSource, 3, 4>;
    let limit = <Small<'_>>::MAX_BLOCK;
    let half = (limit / 2 + TRAILER) & !(WORD - 1);
    let buffer = Buffer::new(4 * half);
    let mut heap: Small<'_> = Tlsf::with_source(kalloc_core::NoSource);
    // SAFETY: pools cut from one buffer.
    unsafe {
        heap.add_pool(buffer.at(0), half).unwrap();
        heap.add_pool(buffer.at(half), half).unwrap();
        heap.add_pool(buffer.at(2 * half), half).unwrap();
    }
    heap.check().unwrap();
    assert!(
        heap.pools().count() >= 2,
        "three halves cannot form one block"
    );
    assert!(heap.pools().all(|p| p.span.len() - TRAILER <= limit));
}

#[test]
fn a_pool_on_a_granule_boundary_skips_a_word_at_each_end() {
    // The buffer's base is one word past a granule boundary, so `at(WORD)` lies on one:
    // the first header goes a word in, and the end, on a boundary too, leaves a word of
    // slack after the trailer.
    let buffer = Buffer::new(4096 + GRANULE);
    let mut heap = Tlsf::new();
    // SAFETY: inside `buffer`, which outlives the heap.
    unsafe { heap.add_pool(buffer.at(WORD), 4096) }.unwrap();
    heap.check().unwrap();
    let blocks: Vec<_> = heap.blocks().collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].start, buffer.addr() + GRANULE);
    assert_eq!(blocks[0].size, 4096 - TRAILER - GRANULE);
    assert_eq!(heap.stats().total, 4096);
    assert_eq!(heap.stats().free, 4096 - TRAILER - GRANULE);
    // Every payload is granule-aligned, whatever the request's own alignment.
    let mut live = Vec::new();
    for size in [1, 8, 24, 40, 100, 333] {
        let ptr = heap.alloc(layout(size, 1)).unwrap();
        assert_eq!(ptr.as_ptr().addr() % GRANULE, 0, "request of {size}");
        live.push((ptr, size));
    }
    heap.check().unwrap();
    for (ptr, size) in live {
        // SAFETY: live allocations, each freed once.
        unsafe { heap.free(ptr, layout(size, 1)) }.unwrap();
    }
    assert_eq!(heap.blocks().count(), 1);
    heap.check().unwrap();
}

#[test]
fn pools_merge_across_a_lead_and_a_slack() {
    // Both pools start on a granule boundary: on its own each skips a word at either end;
    // merged, the first pool's slack and trailer and the second's lead become block bytes.
    let buffer = Buffer::new(2048 + GRANULE);
    let mut heap = Tlsf::new();
    // SAFETY: all pools are cut from `buffer`'s one base pointer.
    unsafe {
        heap.add_pool(buffer.at(WORD), 1024).unwrap();
        assert_eq!(heap.stats().free, 1024 - TRAILER - GRANULE);
        heap.add_pool(buffer.at(WORD + 1024), 1024).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(
        kinds(&heap),
        [(buffer.addr() + WORD, 2048, PoolKind::Added)]
    );
    let blocks: Vec<_> = heap.blocks().collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].start, buffer.addr() + GRANULE);
    assert_eq!(blocks[0].size, 2048 - TRAILER - GRANULE);
    assert_eq!(heap.stats().free, 2048 - TRAILER - GRANULE);
    // The merged pool serves one request spanning the old joint.
    let whole = layout(2048 - TRAILER - GRANULE - HEADER, GRANULE);
    let ptr = heap.alloc(whole).unwrap();
    heap.check().unwrap();
    // SAFETY: live allocation.
    unsafe { heap.free(ptr, whole) }.unwrap();
    heap.check().unwrap();
}

#[test]
fn a_minimum_pool_holds_a_minimum_block_with_the_worst_lead_and_slack() {
    // On a granule boundary, a pool of `MIN_POOL` bytes skips a word at each end and still
    // holds one minimum block; a byte less is refused.
    let buffer = Buffer::new(MIN_POOL + GRANULE);
    let mut heap = Tlsf::new();
    // SAFETY: inside `buffer`, which outlives the heap.
    unsafe {
        assert_eq!(
            heap.add_pool(buffer.at(WORD), MIN_POOL - 1),
            Err(Error::TooSmall)
        );
        heap.add_pool(buffer.at(WORD), MIN_POOL).unwrap();
    }
    heap.check().unwrap();
    let blocks: Vec<_> = heap.blocks().collect();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].size, MIN_BLOCK);
    assert_eq!(heap.stats().total, MIN_POOL);
    let l = layout(MIN_BLOCK - HEADER, 1);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(ptr.as_ptr().addr(), buffer.addr() + GRANULE + HEADER);
    // SAFETY: live allocation, freed once.
    unsafe { heap.free(ptr, l) }.unwrap();
    heap.check().unwrap();
}
