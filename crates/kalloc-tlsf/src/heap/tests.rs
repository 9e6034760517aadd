use super::*;
use crate::class::WORD;
use crate::testing::{Buffer, fill, fresh, holds, layout};
use kalloc_core::{FixedRegion, Source};
use std::vec::Vec;

#[test]
fn alloc_and_free_return_to_the_initial_state() {
    let buffer = Buffer::new(64 * 1024);
    let mut heap = fresh(&buffer);
    let initial = heap.stats();
    assert_eq!(initial.total, 64 * 1024);
    assert_eq!(initial.allocations, 0);
    let mut live = Vec::new();
    for (i, size) in [1, 7, 8, 24, 25, 100, 1000, 4096, 5000]
        .into_iter()
        .enumerate()
    {
        let l = layout(size, WORD);
        let ptr = heap.alloc(l).unwrap();
        assert_eq!(ptr.as_ptr().addr() % l.align(), 0);
        fill(ptr, size, i as u8);
        heap.check().unwrap();
        live.push((ptr, l, i as u8));
    }
    assert_eq!(heap.stats().allocations, live.len());
    for (ptr, l, byte) in live.drain(..).rev() {
        assert!(holds(ptr, l.size(), byte));
        // SAFETY: allocated above for `l`, freed once.
        unsafe { heap.free(ptr, l) }.unwrap();
        heap.check().unwrap();
    }
    assert_eq!(heap.stats(), initial);
    assert_eq!(
        heap.blocks().count(),
        1,
        "everything coalesced back into one block"
    );
}

#[test]
fn per_allocation_overhead_is_one_word() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let before = heap.stats();
    // A size that fills whole granules with its header: nothing is rounded.
    let size = 3 * GRANULE - HEADER;
    let ptr = heap.alloc(layout(size, WORD)).unwrap();
    let after = heap.stats();
    assert_eq!(after.in_use, size);
    assert_eq!(after.free + size + HEADER, before.free);
    assert_eq!(after.overhead(), before.overhead() + HEADER);
    // SAFETY: live allocation.
    assert_eq!(unsafe { heap.usable_size(ptr) }, Some(size));
    let small = heap.alloc(layout(1, 1)).unwrap();
    // SAFETY: live allocation.
    assert_eq!(unsafe { heap.usable_size(small) }, Some(MIN_BLOCK - HEADER));
}

#[test]
fn zero_size_requests_get_dangling_aligned_pointers() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let before = heap.stats();
    let l = layout(0, 256);
    let ptr = heap.alloc(l).unwrap();
    assert_eq!(ptr.as_ptr().addr(), 256);
    // SAFETY: the zero-size pointer goes back with its layout.
    unsafe { heap.free(ptr, l) }.unwrap();
    // SAFETY: growing a zero-size allocation allocates.
    let grown = unsafe { heap.realloc(ptr, l, layout(10, 256)) }.unwrap();
    assert_eq!(grown.as_ptr().addr() % 256, 0);
    // SAFETY: shrinking to zero frees and returns a dangling pointer.
    let gone = unsafe { heap.realloc(grown, layout(10, 256), l) }.unwrap();
    assert_eq!(gone.as_ptr().addr(), 256);
    assert_eq!(heap.stats(), before);
    heap.check().unwrap();
}

#[test]
fn bad_requests_are_refused_without_change() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let before = heap.stats();
    let too_aligned = layout(8, <Tlsf<'_>>::MAX_ALIGN * 2);
    assert_eq!(heap.alloc(too_aligned), Err(Error::BadAlign));
    // One byte more than the largest block holds (a valid Layout on 32-bit targets too,
    // where MAX_BLOCK itself exceeds isize::MAX once rounded to 8).
    let too_big = layout(<Tlsf<'_>>::MAX_BLOCK - HEADER + 1, WORD);
    assert_eq!(heap.alloc(too_big), Err(Error::TooLarge));
    // The largest size a Layout allows: the word-aligned path skips the limit check, finds
    // no class and reports it from the slow path.
    let largest_layout = layout(isize::MAX as usize - (WORD - 1), WORD);
    assert_eq!(heap.alloc(largest_layout), Err(Error::TooLarge));
    let largest = layout(<Tlsf<'_>>::MAX_BLOCK - HEADER, WORD);
    assert_eq!(heap.alloc(largest), Err(Error::Exhausted));
    assert_eq!(heap.alloc(layout(8192, WORD)), Err(Error::Exhausted));
    assert_eq!(heap.alloc(layout(4096, 4096)), Err(Error::Exhausted));
    assert_eq!(<Tlsf<'_>>::block_size(usize::MAX - 3), Err(Error::Overflow));
    assert_eq!(heap.stats(), before);
    heap.check().unwrap();
}

#[test]
fn bad_frees_are_detected_and_change_nothing() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(64, WORD);
    let a = heap.alloc(l).unwrap();
    let b = heap.alloc(l).unwrap();
    let c = heap.alloc(l).unwrap();
    let before = heap.stats();
    let unaligned = if b.as_ptr().addr() % 4096 == 0 {
        2048
    } else {
        4096
    };
    // SAFETY: each call passes a pointer into the heap's own pool, so any header read
    // stays in memory the heap owns; the heap must refuse them all.
    unsafe {
        assert_eq!(heap.free(b.add(1), l), Err(Error::ForeignPointer));
        // Word-aligned, but no payload starts off a granule boundary.
        assert_eq!(
            heap.free(b.add(WORD), layout(8, WORD)),
            Err(Error::ForeignPointer)
        );
        assert_eq!(
            heap.free(b, layout(64, unaligned)),
            Err(Error::ForeignPointer)
        );
        assert_eq!(heap.free(b, layout(4096, WORD)), Err(Error::WrongSize));
        assert_eq!(heap.stats(), before);
        heap.check().unwrap();
        heap.free(b, l).unwrap();
        assert_eq!(heap.free(b, l), Err(Error::DoubleFree));
        // `a` merges with `b`'s free block; `b`'s stale header still says free.
        heap.free(a, l).unwrap();
        let after = heap.stats();
        assert_eq!(heap.free(b, l), Err(Error::DoubleFree));
        assert_eq!(heap.free(a, l), Err(Error::DoubleFree));
        assert_eq!(heap.stats(), after);
        heap.check().unwrap();
        heap.free(c, l).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(heap.stats().allocations, 0);
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn a_used_header_smaller_than_a_block_is_refused_not_followed() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(64, WORD);
    let a = heap.alloc(l).unwrap();
    let block = heap.window.block(a.as_ptr().addr()).unwrap();
    let before = heap.stats();
    // SAFETY: `a` is live; its header is rewritten, as a stray write would, then restored.
    unsafe {
        let header = block.header();
        // Below one word, a size that wrapped below zero would pass for a huge block and
        // send the look-ahead and the merge past the pool; below `MIN_BLOCK`, the guess
        // for a one-byte layout would lie past the block.
        for size in [0, WORD / 2, 2 * WORD] {
            block.set_header(size | USED);
            assert_eq!(heap.free(a, layout(1, 1)), Err(Error::WrongSize));
            assert_eq!(heap.free(a, l), Err(Error::WrongSize));
        }
        block.set_header(header);
        assert_eq!(heap.stats(), before);
        heap.check().unwrap();
        heap.free(a, l).unwrap();
    }
    heap.check().unwrap();
}

#[test]
fn every_alignment_is_honoured_and_gaps_are_reused() {
    let buffer = Buffer::new(256 * 1024);
    let mut heap = fresh(&buffer);
    let mut live = Vec::new();
    for round in 0..3 {
        for shift in 0..=12 {
            let l = layout(8 + 24 * shift + round, 1 << shift);
            let ptr = heap.alloc(l).unwrap();
            assert_eq!(ptr.as_ptr().addr() % l.align(), 0, "align {}", l.align());
            fill(ptr, l.size(), shift as u8);
            heap.check().unwrap();
            live.push((ptr, l, shift as u8));
        }
    }
    for (ptr, l, byte) in live {
        assert!(holds(ptr, l.size(), byte));
        // SAFETY: live allocation freed once.
        unsafe { heap.free(ptr, l) }.unwrap();
        heap.check().unwrap();
    }
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn free_coalesces_with_both_neighbours_in_any_order() {
    for order in [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        let buffer = Buffer::new(4096);
        let mut heap = fresh(&buffer);
        let l = layout(100, WORD);
        let blocks: Vec<_> = (0..3).map(|_| heap.alloc(l).unwrap()).collect();
        let guard = heap.alloc(l).unwrap();
        for i in order {
            // SAFETY: each live allocation is freed once.
            unsafe { heap.free(blocks[i], l) }.unwrap();
            heap.check().unwrap();
        }
        let free: Vec<_> = heap.blocks().filter(|b| !b.used).collect();
        assert_eq!(
            free.len(),
            2,
            "order {order:?}: the three merged, plus the tail"
        );
        assert_eq!(
            free.iter()
                .find(|b| b.start < guard.as_ptr().addr())
                .unwrap()
                .size,
            3 * (100 + HEADER).next_multiple_of(WORD)
        );
        // SAFETY: live allocation.
        unsafe { heap.free(guard, l) }.unwrap();
        assert_eq!(heap.blocks().count(), 1);
    }
}

#[test]
fn realloc_grows_in_place_into_a_free_successor() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let a = heap.alloc(layout(100, WORD)).unwrap();
    let b = heap.alloc(layout(400, WORD)).unwrap();
    let c = heap.alloc(layout(100, WORD)).unwrap();
    fill(a, 100, 0xA1);
    // SAFETY: live allocations.
    unsafe { heap.free(b, layout(400, WORD)) }.unwrap();
    // SAFETY: `a` is live for its layout.
    let grown = unsafe { heap.realloc(a, layout(100, WORD), layout(300, WORD)) }.unwrap();
    assert_eq!(grown, a, "grew in place");
    assert!(holds(grown, 100, 0xA1));
    heap.check().unwrap();
    // Taking the whole successor, remainder too small to split.
    // SAFETY: live allocation.
    let whole = unsafe { heap.realloc(a, layout(300, WORD), layout(500, WORD)) }.unwrap();
    assert_eq!(whole, a);
    heap.check().unwrap();
    assert!(
        heap.blocks().filter(|b| !b.used).count() == 1,
        "only the pool tail is free"
    );
    // The successor `c` is used: growing must move, keeping contents.
    // SAFETY: live allocation.
    let moved = unsafe { heap.realloc(a, layout(500, WORD), layout(1000, WORD)) }.unwrap();
    assert_ne!(moved, a);
    assert!(holds(moved, 100, 0xA1));
    heap.check().unwrap();
    // SAFETY: live allocations.
    unsafe {
        heap.free(moved, layout(1000, WORD)).unwrap();
        heap.free(c, layout(100, WORD)).unwrap();
    }
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn realloc_reads_the_successor_afresh_when_the_block_kept_a_remainder() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let a = heap.alloc(layout(100, WORD)).unwrap();
    let b = heap.alloc(layout(400, WORD)).unwrap();
    let c = heap.alloc(layout(100, WORD)).unwrap();
    // Shrinking by less than a block keeps the tail: the block is now larger than a
    // 96-byte layout predicts, so realloc's read-ahead guesses a word inside it.
    // SAFETY: `a` is live for its layout.
    let kept = unsafe { heap.realloc(a, layout(100, WORD), layout(96, WORD)) }.unwrap();
    assert_eq!(kept, a);
    // A block holding more than 96 bytes: larger than the guess `96 + HEADER`.
    // SAFETY: `a` is live.
    assert!(unsafe { heap.usable_size(a) }.unwrap() > 96);
    fill(a, 96, 0x3C);
    // SAFETY: live allocation.
    unsafe { heap.free(b, layout(400, WORD)) }.unwrap();
    // The successor is free: growing must find that from its real header, not the guess.
    // SAFETY: `a` is live for its layout.
    let grown = unsafe { heap.realloc(a, layout(96, WORD), layout(300, WORD)) }.unwrap();
    assert_eq!(grown, a, "grew in place into the free successor");
    assert!(holds(grown, 96, 0x3C));
    heap.check().unwrap();
    // SAFETY: live allocations.
    unsafe {
        heap.free(grown, layout(300, WORD)).unwrap();
        heap.free(c, layout(100, WORD)).unwrap();
    }
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn realloc_shrinks_in_place_and_returns_the_tail() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let a = heap.alloc(layout(1000, WORD)).unwrap();
    let b = heap.alloc(layout(1000, WORD)).unwrap();
    fill(a, 1000, 0x5A);
    let free_before = heap.stats().free;
    // SAFETY: live allocation.
    let shrunk = unsafe { heap.realloc(a, layout(1000, WORD), layout(200, WORD)) }.unwrap();
    assert_eq!(shrunk, a);
    assert!(holds(a, 200, 0x5A));
    assert_eq!(heap.stats().free, free_before + 800);
    heap.check().unwrap();
    // Shrinking next to a free block merges the tail into it.
    // SAFETY: live allocations.
    unsafe { heap.free(b, layout(1000, WORD)) }.unwrap();
    // SAFETY: live allocation.
    let again = unsafe { heap.realloc(a, layout(200, WORD), layout(100, WORD)) }.unwrap();
    assert_eq!(again, a);
    heap.check().unwrap();
    assert_eq!(heap.blocks().count(), 2);
    // A tail below the minimum block stays with the allocation.
    // SAFETY: live allocation.
    let tiny = unsafe { heap.realloc(a, layout(100, WORD), layout(96, WORD)) }.unwrap();
    assert_eq!(tiny, a);
    heap.check().unwrap();
    // Shrinking to a stricter alignment the block does not meet moves it.
    let l = layout(64, WORD);
    let odd = (0..4)
        .map(|_| heap.alloc(l).unwrap())
        .find(|p| p.as_ptr().addr() % 64 != 0)
        .unwrap();
    fill(odd, 64, 7);
    // SAFETY: live allocation.
    let moved = unsafe { heap.realloc(odd, l, layout(32, 64)) }.unwrap();
    assert_eq!(moved.as_ptr().addr() % 64, 0);
    assert!(holds(moved, 32, 7));
    heap.check().unwrap();
}

#[test]
fn the_fallback_finds_a_block_the_round_up_skips() {
    // One free block whose size is not a class boundary: a request just below it rounds
    // up to the next class, which is empty; the fallback checks the head of the exact
    // class and finds it.
    let buffer = Buffer::new(64 * 1024);
    let mut heap = fresh(&buffer);
    let all = heap.stats().largest_free;
    let hold = heap.alloc(layout(all, WORD)).unwrap();
    heap.check().unwrap();
    assert_eq!(heap.alloc(layout(8, WORD)), Err(Error::Exhausted));
    // SAFETY: live allocation.
    unsafe { heap.free(hold, layout(all, WORD)) }.unwrap();
    // Whole granules with the header, inside a class, above its lower bound.
    let odd = 1502 * GRANULE - HEADER;
    let first = heap.alloc(layout(odd, WORD)).unwrap();
    let _rest = heap.alloc(layout(heap.stats().largest_free, WORD)).unwrap();
    // SAFETY: live allocation.
    unsafe { heap.free(first, layout(odd, WORD)) }.unwrap();
    assert_eq!(heap.stats().largest_free, odd);
    let again = heap.alloc(layout(odd, WORD)).unwrap();
    assert_eq!(
        again, first,
        "the exact-class head served a request the round-up missed"
    );
    heap.check().unwrap();
}

#[test]
fn largest_free_is_always_allocatable() {
    let buffer = Buffer::new(100_000);
    let mut heap = fresh(&buffer);
    let mut live = Vec::new();
    for size in [100, 5000, 300, 20_000, 7] {
        live.push((heap.alloc(layout(size, WORD)).unwrap(), size));
    }
    // SAFETY: live allocations.
    unsafe {
        heap.free(live[1].0, layout(5000, WORD)).unwrap();
        heap.free(live[3].0, layout(20_000, WORD)).unwrap();
    }
    let largest = heap.stats().largest_free;
    assert!(largest >= 20_000);
    assert!(heap.alloc(layout(largest, WORD)).is_ok());
    heap.check().unwrap();
}

/// A heap with no pool of its own that imports at least 16 KiB at a time from `region`.
fn importing_16k<'r>(region: &'r FixedRegion<'_>) -> Tlsf<'r, &'r FixedRegion<'r>> {
    let mut heap = Tlsf::with_source(region);
    heap.set_min_import(16 * 1024);
    heap
}

#[test]
fn growth_imports_from_the_source_and_releases_with_one_spare() {
    let mut memory = std::vec![0u8; 1 << 20];
    let region = FixedRegion::from_slice(&mut memory);
    let mut heap = importing_16k(&region);
    let l = layout(10_000, WORD);
    let a = heap.alloc(l).unwrap();
    assert_eq!(heap.pools().count(), 1);
    assert_eq!(heap.pools().next().unwrap().kind, crate::PoolKind::Imported);
    let b = heap.alloc(l).unwrap();
    let big = layout(100_000, 4096);
    let c = heap.alloc(big).unwrap();
    assert_eq!(c.as_ptr().addr() % 4096, 0);
    let pools = heap.pools().count();
    assert!(pools >= 2);
    heap.check().unwrap();
    // SAFETY: live allocations freed once each.
    unsafe {
        heap.free(c, big).unwrap();
        heap.check().unwrap();
        assert_eq!(
            heap.pools().count(),
            pools,
            "the first emptied pool is kept as spare"
        );
        heap.free(a, l).unwrap();
        heap.free(b, l).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(
        heap.pools().count(),
        1,
        "emptied pools beyond the spare are released"
    );
    let kept = heap.stats().total;
    assert_eq!(heap.release_free_pools(), kept);
    assert_eq!(heap.pools().count(), 0);
    assert_eq!(heap.stats(), Stats::default());
    heap.check().unwrap();
    assert_eq!(
        region.stats().in_use,
        0,
        "everything went back to the source"
    );
}

#[test]
fn a_realloc_that_moves_to_a_new_pool_notices_the_old_pool_emptied() {
    let mut memory = std::vec![0u8; 1 << 20];
    let region = FixedRegion::from_slice(&mut memory);
    let mut heap = importing_16k(&region);
    let small = layout(10_000, WORD);
    let ptr = heap.alloc(small).unwrap();
    fill(ptr, small.size(), 0x3C);
    assert_eq!(heap.pools().count(), 1);
    // Too big for the first pool: the move imports a second one (moving the window over
    // it), and freeing the old block must still see that the first pool is now free.
    let big = layout(100_000, WORD);
    // SAFETY: a live allocation for `small`.
    let moved = unsafe { heap.realloc(ptr, small, big) }.unwrap();
    assert!(holds(moved, small.size(), 0x3C));
    assert_eq!(heap.pools().count(), 2);
    heap.check().unwrap();
    // The first pool became the spare; emptying the second releases it, spare kept.
    // SAFETY: the live allocation for `big`.
    unsafe { heap.free(moved, big) }.unwrap();
    heap.check().unwrap();
    assert_eq!(
        heap.pools().count(),
        1,
        "the old pool was noticed as the spare"
    );
    assert_eq!(heap.stats().allocations, 0);
}

#[test]
fn drop_returns_imported_pools() {
    let mut memory = std::vec![0u8; 1 << 18];
    let region = FixedRegion::from_slice(&mut memory);
    {
        let mut heap: Tlsf<'_, &FixedRegion<'_>> = Tlsf::with_source(&region);
        let _leaked = heap.alloc(layout(1000, WORD)).unwrap();
        assert!(region.stats().in_use > 0);
    }
    assert_eq!(region.stats().in_use, 0);
}

#[test]
fn growth_failure_reports_exhaustion_and_changes_nothing() {
    let mut memory = std::vec![0u8; 4096];
    let region = FixedRegion::from_slice(&mut memory);
    let mut heap: Tlsf<'_, &FixedRegion<'_>> = Tlsf::with_source(&region);
    assert_eq!(heap.alloc(layout(8000, WORD)), Err(Error::Exhausted));
    assert_eq!(heap.stats(), Stats::default());
    // The minimum import does not fit, but what the request needs does.
    let small = heap.alloc(layout(1000, WORD)).unwrap();
    assert!(heap.stats().total < 4096);
    // SAFETY: live allocation.
    unsafe { heap.free(small, layout(1000, WORD)) }.unwrap();
    heap.check().unwrap();
    assert_eq!(region.import(1, Align::ONE).map(|_| ()), Ok(()));
}

#[test]
fn pool_size_for_is_enough() {
    for (size, align) in [
        (1, 1),
        (100, 8),
        (5000, 16),
        (100, 4096),
        (3000, 256),
        (0, 8),
    ] {
        let l = layout(size, align);
        let probe: Tlsf<'_> = Tlsf::new();
        let len = probe.pool_size_for(l).unwrap();
        for offset in [0, 8, 24, 4096 - 8] {
            let buffer = Buffer::new(len + 8192);
            let mut heap = Tlsf::new();
            // SAFETY: the buffer outlives the heap.
            unsafe { GrowableHeap::add_pool(&mut heap, buffer.at(offset), len) }.unwrap();
            assert!(
                heap.alloc(l).is_ok(),
                "size {size} align {align} offset {offset}"
            );
            heap.check().unwrap();
        }
    }
    let probe: Tlsf<'_> = Tlsf::new();
    assert_eq!(
        probe.pool_size_for(layout(8, <Tlsf<'_>>::MAX_ALIGN * 2)),
        Err(Error::BadAlign)
    );
    assert_eq!(probe.pool_align(), Align::of::<usize>());
}

#[test]
fn byte_heap_trait_forwards() {
    let buffer = Buffer::new(8192);
    let mut heap = fresh(&buffer);
    let byte_heap: &mut dyn ByteHeap = &mut heap;
    let l = layout(100, 16);
    let ptr = byte_heap.allocate(l).unwrap();
    fill(ptr, 100, 3);
    // SAFETY: live allocation, resized and freed through the trait.
    unsafe {
        let grown = byte_heap.grow(ptr, l, layout(200, 16)).unwrap();
        assert!(holds(grown, 100, 3));
        let shrunk = byte_heap
            .shrink(grown, layout(200, 16), layout(50, 16))
            .unwrap();
        assert!(holds(shrunk, 50, 3));
        byte_heap.deallocate(shrunk, layout(50, 16)).unwrap();
    }
    assert_eq!(byte_heap.stats().allocations, 0);
}

#[test]
#[cfg(target_pointer_width = "64")]
fn the_default_record_is_about_eight_kib() {
    let size = core::mem::size_of::<Tlsf<'_>>();
    assert!((8 * 1024..9 * 1024).contains(&size), "{size} bytes");
}

#[test]
#[cfg(target_pointer_width = "32")]
fn the_default_record_is_under_two_kib() {
    let size = core::mem::size_of::<Tlsf<'_>>();
    assert!((1536..2048).contains(&size), "{size} bytes");
}

#[test]
fn double_word_alignment_is_honoured_and_leaves_nothing_behind() {
    // On 32-bit targets `2 * WORD` (8, the alignment of u64 on ARM) takes the aligned
    // path: front gaps split off as free blocks must all merge back.
    let buffer = Buffer::new(16 * 1024);
    let mut heap = fresh(&buffer);
    let initial = heap.stats();
    let mut live = Vec::new();
    for size in 1..40 {
        let l = layout(size * 3, 2 * WORD);
        let ptr = heap.alloc(l).unwrap();
        assert_eq!(ptr.as_ptr().addr() % (2 * WORD), 0);
        fill(ptr, l.size(), size as u8);
        live.push((ptr, l, size as u8));
    }
    heap.check().unwrap();
    for (ptr, l, byte) in live {
        assert!(holds(ptr, l.size(), byte));
        // SAFETY: live allocation freed once.
        unsafe { heap.free(ptr, l) }.unwrap();
        heap.check().unwrap();
    }
    assert_eq!(heap.stats(), initial);
    assert_eq!(heap.blocks().count(), 1);
}

#[test]
fn requests_aligned_to_a_granule_are_carved_without_a_gap() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(MIN_BLOCK - HEADER, <Tlsf<'_>>::GRANULE);
    let mut live = Vec::new();
    for _ in 0..8 {
        let ptr = heap.alloc(l).unwrap();
        assert_eq!(ptr.as_ptr().addr() % <Tlsf<'_>>::GRANULE, 0);
        live.push(ptr);
    }
    // One after the other from the pool's start, no free gap split off before any.
    for pair in live.windows(2) {
        assert_eq!(pair[1].as_ptr().addr() - pair[0].as_ptr().addr(), MIN_BLOCK);
    }
    assert_eq!(live[0].as_ptr().addr(), buffer.addr() + HEADER);
    let blocks: Vec<_> = heap.blocks().collect();
    assert_eq!(blocks.len(), 9, "eight used blocks and the rest");
    assert!(blocks[..8].iter().all(|b| b.used));
    heap.check().unwrap();
}
