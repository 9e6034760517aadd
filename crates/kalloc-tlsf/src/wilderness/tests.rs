use crate::Tlsf;
use crate::block::Block;
use crate::class::{GRANULE, HEADER, MIN_BLOCK, WORD};
use crate::pool::TRAILER;
use crate::testing::{Buffer, fill, fresh, holds, layout};
use core::alloc::Layout;
use core::ptr::NonNull;
use std::vec::Vec;

/// The wilderness's header address and size.
fn wilderness(heap: &Tlsf<'_>) -> Option<(usize, usize)> {
    heap.wilderness
        .get()
        .map(|(block, size)| (block.addr(), size))
}

/// Where the wilderness starts once an allocation at `ptr` for `l` was carved from its
/// front (no alignment gap: the block is the layout's size plus a header, in whole
/// granules).
fn end_of(ptr: NonNull<u8>, l: Layout) -> usize {
    let block = (l.size() + HEADER).next_multiple_of(GRANULE).max(MIN_BLOCK);
    ptr.as_ptr().addr() - HEADER + block
}

/// Frees `ptr`, allocated for `l`, and checks the heap.
fn free(heap: &mut Tlsf<'_>, ptr: NonNull<u8>, l: Layout) {
    // SAFETY: every caller passes a live allocation of `heap` for `l`, freed once.
    unsafe { heap.free(ptr, l) }.unwrap();
    heap.check().unwrap();
}

#[test]
fn a_new_pool_is_the_wilderness_and_the_lists_stay_empty() {
    let buffer = Buffer::new(8192);
    let heap = fresh(&buffer);
    assert_eq!(wilderness(&heap), Some((buffer.addr(), 8192 - TRAILER)));
    assert_eq!(heap.lists.fl_bitmap(), 0);
    assert_eq!(heap.stats().largest_free, 8192 - TRAILER - HEADER);
}

#[test]
fn allocations_carve_the_wilderness_front_to_back() {
    let buffer = Buffer::new(16 * 1024);
    let mut heap = fresh(&buffer);
    let mut live = Vec::new();
    for (i, size) in [1, 40, 100, 255, 256, 1000, 3000].into_iter().enumerate() {
        let l = layout(size, WORD);
        let ptr = heap.alloc(l).unwrap();
        let expected = live.last().map_or(buffer.addr(), |&(p, l, _)| end_of(p, l));
        assert_eq!(ptr.as_ptr().addr() - HEADER, expected, "request {i}");
        let (start, rest) = wilderness(&heap).unwrap();
        assert_eq!(start, end_of(ptr, l));
        assert_eq!(start + rest, buffer.addr() + 16 * 1024 - TRAILER);
        assert_eq!(heap.lists.fl_bitmap(), 0, "nothing was listed");
        fill(ptr, size, i as u8);
        heap.check().unwrap();
        live.push((ptr, l, i as u8));
    }
    for (ptr, l, byte) in live {
        assert!(holds(ptr, l.size(), byte));
    }
}

#[test]
fn a_listed_block_of_a_lower_class_goes_before_the_wilderness() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let l = layout(100, WORD);
    let [a, b, c] = [(); 3].map(|()| heap.alloc(l).unwrap());
    free(&mut heap, b, l);
    let before = wilderness(&heap);
    assert_eq!(
        heap.alloc(l).unwrap(),
        b,
        "the listed block fits and is taken"
    );
    assert_eq!(wilderness(&heap), before, "the wilderness was not touched");
    free(&mut heap, a, l);
    free(&mut heap, c, l);
}

#[test]
fn the_wilderness_goes_before_a_listed_block_of_a_higher_class() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let big = layout(3000, WORD);
    let a = heap.alloc(big).unwrap();
    let guard = heap.alloc(layout(100, WORD)).unwrap();
    let b = heap.alloc(big).unwrap();
    free(&mut heap, a, big);
    let (start, size) = wilderness(&heap).unwrap();
    assert!(
        size < 3000,
        "the wilderness is now smaller than the listed block"
    );
    // `largest_free` is the larger of the two: the listed block.
    assert_eq!(
        heap.stats().largest_free,
        (3000 + HEADER).next_multiple_of(GRANULE) - HEADER
    );
    // The wilderness's class is lower than `a`'s: it is the better fit.
    let l = layout(100, WORD);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(ptr.as_ptr().addr() - HEADER, start);
    heap.check().unwrap();
    for (p, l) in [(ptr, l), (guard, layout(100, WORD)), (b, big)] {
        free(&mut heap, p, l);
    }
}

#[test]
fn a_free_beside_the_wilderness_merges_into_it() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let l = layout(200, WORD);
    let a = heap.alloc(l).unwrap();
    let b = heap.alloc(l).unwrap();
    let whole = wilderness(&heap).unwrap();
    // `b` is the wilderness's neighbour below: it becomes its front.
    free(&mut heap, b, l);
    let (start, size) = wilderness(&heap).unwrap();
    assert_eq!(start, b.as_ptr().addr() - HEADER);
    assert_eq!(start + size, whole.0 + whole.1);
    assert_eq!(heap.lists.fl_bitmap(), 0);
    // Freeing `a` merges it too: the pool is one block again, and it is the wilderness.
    free(&mut heap, a, l);
    assert_eq!(wilderness(&heap), Some((buffer.addr(), 8192 - TRAILER)));
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn a_free_between_a_listed_block_and_the_wilderness_takes_both() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let l = layout(120, WORD);
    let [a, b, c] = [(); 3].map(|()| heap.alloc(l).unwrap());
    free(&mut heap, b, l);
    assert_ne!(heap.lists.fl_bitmap(), 0, "`b` is listed");
    // `c` lies between listed `b` and the wilderness.
    free(&mut heap, c, l);
    assert_eq!(
        heap.lists.fl_bitmap(),
        0,
        "`b` left its list for the wilderness"
    );
    assert_eq!(wilderness(&heap).unwrap().0, b.as_ptr().addr() - HEADER);
    free(&mut heap, a, l);
}

#[test]
fn a_used_up_wilderness_leaves_plain_lists() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let whole = heap.stats().largest_free;
    let l = layout(whole, WORD);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(wilderness(&heap), None);
    assert_eq!(heap.alloc(layout(1, 1)), Err(kalloc_core::Error::Exhausted));
    free(&mut heap, ptr, l);
    // Freed, the block has no wilderness to merge with: it is listed, and served again.
    assert_eq!(wilderness(&heap), None);
    assert_ne!(heap.lists.fl_bitmap(), 0);
    assert_eq!(heap.alloc(l).unwrap(), ptr);
}

#[test]
fn a_remainder_too_small_to_split_is_handed_out_with_the_request() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let whole = heap.stats().largest_free;
    // A word short of the whole wilderness: the rest cannot form a block.
    let l = layout(whole - WORD, WORD);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(wilderness(&heap), None);
    // SAFETY: live allocation.
    assert_eq!(unsafe { heap.usable_size(ptr) }, Some(whole));
    heap.check().unwrap();
    free(&mut heap, ptr, l);
}

#[test]
fn realloc_grows_into_the_wilderness_and_shrinks_back_into_it() {
    let buffer = Buffer::new(16 * 1024);
    let mut heap = fresh(&buffer);
    let small = layout(100, WORD);
    let ptr = heap.alloc(small).unwrap();
    fill(ptr, 100, 7);
    let big = layout(5000, WORD);
    // SAFETY: live allocation for `small`.
    let grown = unsafe { heap.realloc(ptr, small, big) }.unwrap();
    assert_eq!(grown, ptr, "grown in place");
    assert!(holds(grown, 100, 7));
    assert_eq!(wilderness(&heap).unwrap().0, end_of(grown, big));
    assert_eq!(heap.lists.fl_bitmap(), 0);
    heap.check().unwrap();
    // SAFETY: live allocation for `big`.
    let shrunk = unsafe { heap.realloc(grown, big, small) }.unwrap();
    assert_eq!(shrunk, ptr);
    assert_eq!(wilderness(&heap).unwrap().0, end_of(shrunk, small));
    assert_eq!(
        heap.lists.fl_bitmap(),
        0,
        "the tail merged with the wilderness"
    );
    heap.check().unwrap();
    free(&mut heap, shrunk, small);
}

#[test]
fn an_aligned_request_lists_its_front_gap_and_keeps_the_wilderness_after_it() {
    let buffer = Buffer::new(32 * 1024);
    let mut heap = fresh(&buffer);
    let l = layout(300, 4096);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(ptr.as_ptr().addr() % 4096, 0);
    let (start, _) = wilderness(&heap).unwrap();
    assert_eq!(start, end_of(ptr, layout(300, WORD)));
    let gap = ptr.as_ptr().addr() - HEADER - buffer.addr();
    if gap != 0 {
        // The gap before the block is an ordinary free block, in its list.
        assert_ne!(heap.lists.fl_bitmap(), 0);
        assert_eq!(
            heap.blocks().next().map(|b| (b.size, b.used)),
            Some((gap, false))
        );
    }
    heap.check().unwrap();
    free(&mut heap, ptr, l);
    assert_eq!(
        wilderness(&heap),
        Some((buffer.addr(), 32 * 1024 - TRAILER))
    );
}

#[test]
fn a_larger_new_pool_takes_over_and_the_old_wilderness_is_listed() {
    let buffer = Buffer::new(48 * 1024);
    let mut heap = Tlsf::new();
    // Two pools that do not touch: 8 KiB, then 32 KiB.
    // SAFETY: disjoint parts of a buffer that outlives the heap.
    unsafe { heap.add_pool(buffer.at(0), 8192) }.unwrap();
    let first = wilderness(&heap).unwrap();
    // SAFETY: as above.
    unsafe { heap.add_pool(buffer.at(16 * 1024), 32 * 1024) }.unwrap();
    heap.check().unwrap();
    assert_eq!(wilderness(&heap).unwrap().0, buffer.addr() + 16 * 1024);
    assert_ne!(heap.lists.fl_bitmap(), 0, "the old wilderness is listed");
    // The listed block is searched first: a request it fits comes from the first pool.
    let l = layout(100, WORD);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(ptr.as_ptr().addr() - HEADER, first.0);
    // A third, smaller pool goes straight to the lists.
    // SAFETY: as above.
    unsafe { heap.add_pool(buffer.at(10 * 1024), 4096) }.unwrap();
    assert_eq!(wilderness(&heap).unwrap().0, buffer.addr() + 16 * 1024);
    heap.check().unwrap();
    free(&mut heap, ptr, l);
}

#[test]
fn a_pool_merging_with_the_wilderness_keeps_it() {
    let buffer = Buffer::new(16 * 1024);
    let mut heap = Tlsf::new();
    // SAFETY: adjacent parts of one buffer that outlives the heap (the merge contract).
    unsafe { heap.add_pool(buffer.at(0), 8192) }.unwrap();
    let l = layout(64, WORD);
    let ptr = heap.alloc(l).unwrap();
    let (start, _) = wilderness(&heap).unwrap();
    // SAFETY: as above.
    unsafe { heap.add_pool(buffer.at(8192), 8192) }.unwrap();
    heap.check().unwrap();
    // The new memory and the old trailer joined the wilderness, which kept its start.
    assert_eq!(
        wilderness(&heap),
        Some((start, buffer.addr() + 16 * 1024 - TRAILER - start))
    );
    assert_eq!(heap.lists.fl_bitmap(), 0);
    free(&mut heap, ptr, l);
}

#[test]
fn the_checker_catches_a_corrupted_wilderness_record() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let l = layout(100, WORD);
    let ptr = heap.alloc(l).unwrap();
    let (block, size) = heap.wilderness.get().unwrap();
    let class = heap.wilderness.class();
    heap.wilderness.set(block, size - WORD, class);
    assert_eq!(
        heap.check().map_err(|e| e.what),
        Err("the wilderness's recorded size disagrees with its header")
    );
    heap.wilderness.set(block, size, class + 1);
    assert_eq!(
        heap.check().map_err(|e| e.what),
        Err("the wilderness's recorded class disagrees with its size")
    );
    heap.wilderness.set(block, size, class);
    heap.check().unwrap();
    free(&mut heap, ptr, l);
}

#[test]
fn the_checker_catches_a_used_block_recorded_as_the_wilderness() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(heap.stats().largest_free, WORD);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(wilderness(&heap), None);
    // SAFETY: `ptr` is a payload of this heap.
    let used = unsafe { Block::from_payload(ptr) };
    heap.wilderness.set(used, 4096 - TRAILER, 1);
    assert_eq!(
        heap.check().map_err(|e| e.what),
        Err("the wilderness is not a free block of any pool")
    );
    heap.wilderness.clear();
    free(&mut heap, ptr, l);
}
