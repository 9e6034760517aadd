use super::*;
use crate::Tlsf;
use crate::class::{GRANULE, WORD};
use crate::testing::{Buffer, fill, fresh, heap_over, holds, layout};
use kalloc_core::{Error, FixedRegion};
use std::vec::Vec;

/// What a `Box<[u8; 48]>` does to the pointer it is given: a unique reference to exactly
/// the payload, and back to a raw pointer whose provenance covers only those bytes.
fn retag(ptr: NonNull<u8>) -> NonNull<u8> {
    // SAFETY: tests pass live allocations of at least 48 bytes.
    let payload: &mut [u8; 48] = unsafe { &mut *ptr.as_ptr().cast::<[u8; 48]>() };
    payload.fill(0x42);
    NonNull::from(payload).cast()
}

#[test]
fn an_empty_window_covers_nothing() {
    for addr in [0, 1, WORD, usize::MAX] {
        assert_eq!(Window::EMPTY.block(addr), None);
    }
}

#[test]
fn a_window_covers_exactly_its_pools_payload_range() {
    let buffer = Buffer::new(4096);
    let heap = fresh(&buffer);
    let window = heap.window;
    assert!(window.is_over(buffer.at(0)));
    let base = buffer.addr();
    assert_eq!(
        window.block(base),
        None,
        "no payload before the first header"
    );
    let first = window.block(base + HEADER).expect("first payload");
    assert_eq!(first.addr(), base);
    assert_eq!(
        window.block(base + HEADER + WORD),
        None,
        "no payload starts off a granule boundary"
    );
    let second = window.block(base + HEADER + GRANULE).expect("next granule");
    assert_eq!(second.addr(), base + GRANULE);
    let trailer = heap.pools.expect("one pool").as_ptr().addr();
    assert!(window.block(trailer - WORD).is_some());
    assert_eq!(window.block(trailer), None, "the trailer holds no payload");
}

#[test]
fn frees_through_a_retagged_pointer_use_the_pools_provenance() {
    // Under Miri this is the pattern a `#[global_allocator]` meets: the pointer coming
    // back may only touch the payload, yet free reads the header and the neighbours.
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    // A block of 64 bytes: at least the 48 `retag` touches.
    let l = layout(64 - HEADER, WORD);
    let a = retag(heap.alloc(l).unwrap());
    let b = retag(heap.alloc(l).unwrap());
    let c = retag(heap.alloc(l).unwrap());
    // SAFETY: live allocations, each freed once, through retagged pointers.
    unsafe {
        assert_eq!(heap.usable_size(b), Some(64 - HEADER));
        heap.free(a, l).unwrap();
        heap.free(c, l).unwrap();
        heap.free(b, l).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(
        heap.blocks().count(),
        1,
        "all three merged with both neighbours"
    );
}

#[test]
fn realloc_in_place_returns_a_pointer_valid_for_the_new_size() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(48, WORD);
    let a = retag(heap.alloc(l).unwrap());
    let bigger = layout(400, WORD);
    // SAFETY: `a` is live for `l`; the successor is free, so this grows in place.
    let grown = unsafe { heap.realloc(a, l, bigger) }.unwrap();
    assert_eq!(grown.as_ptr().addr(), a.as_ptr().addr(), "grew in place");
    assert!(holds(grown, 48, 0x42));
    // The grown bytes are written through the returned pointer: it must cover them.
    fill(grown, 400, 0x17);
    let shrunk = retag(grown);
    // SAFETY: live for `bigger`; shrinks in place.
    let small = unsafe { heap.realloc(shrunk, bigger, l) }.unwrap();
    assert!(holds(small, 48, 0x42));
    // SAFETY: live for `l`.
    unsafe { heap.free(small, l) }.unwrap();
    heap.check().unwrap();
}

#[test]
fn the_window_follows_frees_into_pools_of_separate_buffers() {
    // Two buffers: two allocations with separate provenance, two pools.
    let first = Buffer::new(2048);
    let second = Buffer::new(2048);
    let mut heap = Tlsf::new();
    heap_over(&first, &mut heap);
    heap_over(&second, &mut heap);
    let l = layout(200, WORD);
    let mut live = Vec::new();
    while let Ok(ptr) = heap.alloc(l) {
        live.push(retag(ptr));
    }
    let in_first =
        |p: &NonNull<u8>| (first.addr()..first.addr() + first.len()).contains(&p.as_ptr().addr());
    assert!(live.iter().any(in_first) && !live.iter().all(in_first));
    // Alternate between the pools so every free moves the window.
    live.sort_by_key(|p| (in_first(p), p.as_ptr().addr()));
    let (a, b) = live.split_at(live.iter().filter(|p| !in_first(p)).count());
    for pair in a.iter().zip(b) {
        for &ptr in [pair.0, pair.1] {
            // SAFETY: live allocations freed once.
            unsafe { heap.free(ptr, l) }.unwrap();
            heap.check().unwrap();
        }
    }
    for &ptr in a.iter().skip(b.len()).chain(b.iter().skip(a.len())) {
        // SAFETY: as above.
        unsafe { heap.free(ptr, l) }.unwrap();
    }
    heap.check().unwrap();
    assert_eq!(heap.stats().allocations, 0);
    assert_eq!(heap.blocks().count(), 2);
}

#[test]
fn pointers_outside_every_pool_are_refused_in_every_build() {
    let buffer = Buffer::new(4096);
    let other = Buffer::new(256);
    let mut heap = fresh(&buffer);
    let before = heap.stats();
    // SAFETY: the heap locates the pool before touching memory, and finds none.
    unsafe {
        assert_eq!(
            heap.free(other.at(64), layout(8, WORD)),
            Err(Error::ForeignPointer)
        );
        assert_eq!(heap.usable_size(other.at(64)), None);
        // The trailer's first word is no payload either.
        let trailer = heap.pools.unwrap().cast::<u8>();
        assert_eq!(
            heap.free(trailer, layout(8, WORD)),
            Err(Error::ForeignPointer)
        );
    }
    assert_eq!(heap.stats(), before);
    heap.check().unwrap();
}

#[test]
fn a_released_pool_leaves_the_window() {
    let mut memory = std::vec![0u8; 1 << 18];
    let region = FixedRegion::from_slice(&mut memory);
    let mut heap: Tlsf<'_, &FixedRegion<'_>> = Tlsf::with_source(&region);
    heap.set_min_import(16 * 1024);
    let l = layout(1000, WORD);
    let ptr = heap.alloc(l).unwrap();
    let base = heap.pools().next().unwrap().span.base();
    assert_eq!(
        heap.window.block(ptr.as_ptr().addr()).map(|b| b.addr()),
        Some(ptr.as_ptr().addr() - HEADER)
    );
    // SAFETY: live allocation.
    unsafe { heap.free(ptr, l) }.unwrap();
    assert_eq!(heap.release_free_pools(), 16 * 1024);
    assert_eq!(heap.window.block(base + HEADER), None);
    heap.check().unwrap();
}

#[test]
fn a_right_guess_reads_the_successors_header_ahead() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(40, WORD);
    let a = heap.alloc(l).unwrap();
    let block = heap.window.block(a.as_ptr().addr()).unwrap();
    // SAFETY: `a`'s block and its successor are blocks of the heap; nothing is written
    // between the look-ahead and its use.
    unsafe {
        let successor = block.offset(block.size());
        let ahead = Lookahead::read(block, block.size());
        assert_eq!(ahead.at, successor, "the guess is the successor");
        assert_eq!(ahead.header_of(successor), successor.header());
        heap.free(a, l).unwrap();
    }
    heap.check().unwrap();
}

#[test]
fn a_block_that_kept_a_remainder_frees_and_merges_despite_the_wrong_guess() {
    // Pool memory the heap never initialised, as a kernel's RAM would be: a wrong guess
    // reads payload bytes nobody wrote, which must not be taken for a header (Miri checks).
    let mut words: Vec<u64> = Vec::with_capacity(512);
    let base = NonNull::new(words.as_mut_ptr().cast::<u8>()).unwrap();
    let mut heap = Tlsf::new();
    // SAFETY: the vector's spare capacity outlives the heap and nothing else uses it.
    unsafe { heap.add_pool(base, 4096) }.unwrap();
    let (first, second) = (layout(8 * WORD, WORD), layout(6 * WORD, WORD));
    let a = heap.alloc(first).unwrap();
    let guard = heap.alloc(first).unwrap();
    // SAFETY: live allocations, each freed once.
    unsafe { heap.free(a, first) }.unwrap();
    // `6 WORD` bytes need an `8 WORD` block (a whole number of granules); the free
    // `10 WORD` block's remainder of 2 words is too small to split, so the block keeps it
    // and the successor is not where the request puts it.
    let b = heap.alloc(second).unwrap();
    assert_eq!(b, a);
    // SAFETY: `b` is live.
    assert_eq!(unsafe { heap.usable_size(b) }, Some(9 * WORD));
    let block = heap.window.block(b.as_ptr().addr()).unwrap();
    // SAFETY: `b` is live; the guessed word lies inside its block.
    unsafe {
        let successor = block.offset(block.size());
        let ahead = Lookahead::read(block, 8 * WORD);
        assert_eq!(
            ahead.at,
            block.offset(8 * WORD),
            "the guess is inside the block"
        );
        assert_ne!(ahead.at, successor);
        assert_eq!(ahead.header_of(successor), successor.header());
    }
    // SAFETY: as above.
    unsafe {
        heap.free(b, second).unwrap();
        heap.check().unwrap();
        heap.free(guard, first).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(heap.blocks().count(), 1, "everything merged back");
    drop(heap);
    drop(words);
}

#[test]
fn a_size_past_the_block_is_refused_before_anything_is_read_ahead() {
    let buffer = Buffer::new(1024);
    let mut heap = fresh(&buffer);
    // The whole pool in one block: its successor is the trailer.
    let mut size = 1024;
    let ptr = loop {
        if let Ok(ptr) = heap.alloc(layout(size, WORD)) {
            break ptr;
        }
        size -= WORD;
    };
    let before = heap.stats();
    // SAFETY: `ptr` is live; a size past the pool is refused before the look-ahead, which
    // would read past the pool (under Miri, a read past the buffer would fail this test).
    unsafe {
        assert_eq!(heap.free(ptr, layout(1 << 20, WORD)), Err(Error::WrongSize));
        assert_eq!(
            heap.realloc(ptr, layout(1 << 20, WORD), layout(8, WORD)),
            Err(Error::WrongSize)
        );
    }
    assert_eq!(heap.stats(), before);
    // SAFETY: live allocation, freed once with its own layout.
    unsafe { heap.free(ptr, layout(size, WORD)) }.unwrap();
    heap.check().unwrap();
}

#[test]
fn a_payload_off_a_word_boundary_is_in_no_window() {
    let buffer = Buffer::new(4096);
    let mut heap = fresh(&buffer);
    let l = layout(64, WORD);
    let a = heap.alloc(l).unwrap();
    let addr = a.as_ptr().addr();
    assert!(heap.window.block(addr).is_some());
    for off in 1..WORD {
        assert_eq!(heap.window.block(addr + off), None, "offset {off}");
        assert_eq!(heap.window.block(addr - off), None, "offset -{off}");
    }
    // SAFETY: `a` is live; the misaligned pointers are refused without a read.
    unsafe {
        for off in 1..WORD {
            let inside = a.add(off);
            assert_eq!(heap.free(inside, layout(1, 1)), Err(Error::ForeignPointer));
            assert_eq!(heap.usable_size(inside), None);
        }
        heap.free(a, l).unwrap();
    }
    heap.check().unwrap();
}
