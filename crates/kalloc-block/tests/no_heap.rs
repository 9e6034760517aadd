//! kalloc-block never touches a heap: every check below runs with the heap forbidden.

use kalloc_block::{BLOCK_SIZE, BlockAllocator, Owner};
use kalloc_core::{Align, Error, MemorySource, Source, SourceCell};
use kalloc_fuzz::no_heap::{NoHeap, run};

#[global_allocator]
static GUARD: NoHeap = NoHeap;

/// Eight blocks of block-aligned memory on the stack.
#[repr(C, align(4096))]
struct Pages([u8; 8 * BLOCK_SIZE]);

fn owners_alloc_free_and_free_all() {
    let mut pages = Pages([0; 8 * BLOCK_SIZE]);
    let mut blocks = BlockAllocator::<u8>::new(&mut pages.0).unwrap();
    let (mut a, mut b) = (Owner::new(), Owner::new());
    let first = blocks.alloc(&mut a).unwrap();
    // SAFETY: an allocated block is valid for BLOCK_SIZE bytes until freed.
    unsafe { first.as_ptr().write_bytes(7, BLOCK_SIZE) };
    for _ in 0..3 {
        blocks.alloc(&mut b).unwrap();
    }
    assert_eq!(blocks.free(&mut b, first), Err(Error::WrongOwner));
    blocks.free(&mut a, first).unwrap();
    assert_eq!(blocks.free(&mut a, first), Err(Error::DoubleFree));
    assert_eq!(blocks.blocks(&b).unwrap().count(), 3);
    assert_eq!(blocks.free_all(&mut b), Ok(3));
    blocks.check().unwrap();
    assert_eq!(blocks.free_blocks(), 8);
}

fn sixteen_bit_indexes() {
    let mut pages = Pages([0; 8 * BLOCK_SIZE]);
    let mut blocks = BlockAllocator::<u16, 8>::new(&mut pages.0).unwrap();
    let mut owner = Owner::<u16>::new();
    while blocks.alloc(&mut owner).is_ok() {}
    assert_eq!(blocks.owned_blocks(&owner), Ok(8));
    blocks.check().unwrap();
    assert_eq!(blocks.free_all(&mut owner), Ok(8));
}

fn shared_as_a_source() {
    let mut pages = Pages([0; 8 * BLOCK_SIZE]);
    let shared = SourceCell::new(BlockAllocator::<u8>::new(&mut pages.0).unwrap());
    let (first, second) = (&shared, &shared);
    let a = first.import(100, Align::new(16)).unwrap();
    let b = second.import(BLOCK_SIZE, Align::new(BLOCK_SIZE)).unwrap();
    assert!(!a.overlaps(b));
    let ptr = first.ptr(a).unwrap();
    // SAFETY: an imported span's pointer is valid for its bytes until release.
    unsafe { ptr.as_ptr().write_bytes(1, a.len()) };
    second.release(a).unwrap();
    first.release(b).unwrap();
    assert_eq!(first.release(b), Err(Error::DoubleFree));
    shared.with(|blocks| blocks.check().unwrap()).unwrap();
}

fn main() {
    run(&[
        (
            "owners alloc, free and free_all",
            owners_alloc_free_and_free_all,
        ),
        ("16-bit indexes", sixteen_bit_indexes),
        ("shared as a source", shared_as_a_source),
    ]);
}
