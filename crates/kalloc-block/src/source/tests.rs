use crate::testing::Memory;
use crate::{BLOCK_ALIGN, BLOCK_SIZE, BlockAllocator, Owner};
use kalloc_core::{
    Align, Error, MemorySource, MemorySourceMut, Source, SourceCell, SourceMut, Span,
};

/// Asserts `result` is `error`, that the refused call changed nothing, and that the
/// checker still passes.
macro_rules! refused {
    ($allocator:expr, $call:expr, $error:expr) => {{
        let before = $allocator.snapshot();
        assert_eq!($call, Err($error));
        assert_eq!(
            $allocator.snapshot(),
            before,
            "a refused call changed the state"
        );
        $allocator.check().unwrap();
    }};
}

#[test]
fn import_gives_one_whole_block_for_small_requests() {
    let mut memory = Memory::new(3);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    for (size, align) in [
        (1, Align::ONE),
        (100, Align::new(64)),
        (BLOCK_SIZE, BLOCK_ALIGN),
    ] {
        let span = SourceMut::import(&mut allocator, size, align).unwrap();
        assert_eq!(span.len(), BLOCK_SIZE);
        assert!(span.is_aligned(BLOCK_ALIGN));
        assert!(allocator.region().contains_span(span));
        allocator.check().unwrap();
    }
    assert_eq!(allocator.used_blocks(), 3);
    refused!(
        allocator,
        SourceMut::import(&mut allocator, 1, Align::ONE),
        Error::Exhausted
    );
}

#[test]
fn import_refuses_what_one_block_cannot_serve() {
    let mut memory = Memory::new(2);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    refused!(
        allocator,
        SourceMut::import(&mut allocator, 0, Align::ONE),
        Error::ZeroSize
    );
    refused!(
        allocator,
        SourceMut::import(&mut allocator, BLOCK_SIZE + 1, Align::ONE),
        Error::TooLarge
    );
    refused!(
        allocator,
        SourceMut::import(&mut allocator, 8, Align::new(2 * BLOCK_SIZE)),
        Error::BadAlign
    );
}

#[test]
fn release_refuses_spans_the_source_did_not_hand_out() {
    let mut memory = Memory::new(4);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let mut client = Owner::new();
    let imported = SourceMut::import(&mut allocator, 64, Align::ONE).unwrap();
    let owned_by_client = allocator.alloc(&mut client).unwrap();
    let client_span = Span::new(owned_by_client.as_ptr().addr(), BLOCK_SIZE);
    let region = allocator.region();
    let free_block = Span::new(region.end() - BLOCK_SIZE, BLOCK_SIZE);
    let foreign = Span::new(region.end(), BLOCK_SIZE);
    let off_boundary = Span::new(imported.base() + 8, 8);
    let partial = Span::new(imported.base(), 64);

    refused!(
        allocator,
        SourceMut::release(&mut allocator, foreign),
        Error::ForeignPointer
    );
    refused!(
        allocator,
        SourceMut::release(&mut allocator, off_boundary),
        Error::Misaligned
    );
    refused!(
        allocator,
        SourceMut::release(&mut allocator, free_block),
        Error::DoubleFree
    );
    refused!(
        allocator,
        SourceMut::release(&mut allocator, client_span),
        Error::WrongOwner
    );
    refused!(
        allocator,
        SourceMut::release(&mut allocator, partial),
        Error::WrongSize
    );
    // A client cannot free a source block through its own owner either.
    let imported_ptr = MemorySourceMut::ptr(&allocator, imported).unwrap();
    refused!(
        allocator,
        allocator.free(&mut client, imported_ptr),
        Error::WrongOwner
    );

    SourceMut::release(&mut allocator, imported).unwrap();
    allocator.check().unwrap();
    refused!(
        allocator,
        SourceMut::release(&mut allocator, imported),
        Error::DoubleFree
    );
    allocator.free(&mut client, owned_by_client).unwrap();
    assert_eq!(allocator.free_blocks(), 4);
}

#[test]
fn ptr_covers_imported_blocks_only() {
    let mut memory = Memory::new(3);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let span = SourceMut::import(&mut allocator, BLOCK_SIZE, BLOCK_ALIGN).unwrap();
    let ptr = MemorySourceMut::ptr(&allocator, span).unwrap();
    assert_eq!(ptr.as_ptr().addr(), span.base());
    let inner = Span::new(span.base() + 100, 200);
    let inner_ptr = MemorySourceMut::ptr(&allocator, inner).unwrap();
    assert_eq!(inner_ptr.as_ptr().addr(), inner.base());
    // SAFETY: `ptr` is valid for the imported block's BLOCK_SIZE bytes until release.
    unsafe { ptr.as_ptr().write_bytes(0xA5, BLOCK_SIZE) };

    let mut client = Owner::new();
    let client_block = allocator.alloc(&mut client).unwrap();
    let client_span = Span::new(client_block.as_ptr().addr(), BLOCK_SIZE);
    let across = Span::new(span.base() + 8, BLOCK_SIZE);
    let free = Span::new(allocator.region().end() - BLOCK_SIZE, BLOCK_SIZE);
    let below = Span::new(allocator.region().base() - 8, 8);
    for bad in [client_span, across, free, below, Span::empty(span.base())] {
        assert_eq!(
            MemorySourceMut::ptr(&allocator, bad),
            Err(Error::ForeignPointer),
            "{bad:?}"
        );
    }
}

#[test]
fn two_consumers_share_one_allocator_through_a_cell() {
    let mut memory = Memory::new(4);
    let allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let shared = SourceCell::new(allocator);
    let (first, second) = (&shared, &shared);
    let a = first.import(4000, Align::new(8)).unwrap();
    let b = second.import(10, Align::ONE).unwrap();
    assert!(!a.overlaps(b));
    for (span, fill) in [(a, 1u8), (b, 2u8)] {
        let ptr = first.ptr(span).unwrap();
        // SAFETY: an imported span's pointer is valid for its bytes until release.
        unsafe { ptr.as_ptr().write_bytes(fill, span.len()) };
    }
    let ptr = second.ptr(a).unwrap();
    // SAFETY: as above; `a` is still imported.
    let bytes = unsafe { core::slice::from_raw_parts(ptr.as_ptr(), a.len()) };
    assert!(bytes.iter().all(|&byte| byte == 1));
    second.release(a).unwrap();
    assert_eq!(first.release(a), Err(Error::DoubleFree));
    first.release(b).unwrap();
    let allocator = shared.into_inner();
    allocator.check().unwrap();
    assert_eq!(allocator.free_blocks(), 4);
}
