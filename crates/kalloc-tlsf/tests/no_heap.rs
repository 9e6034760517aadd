//! kalloc-tlsf never touches a heap: every check below runs with the heap forbidden.

use core::alloc::Layout;
use kalloc_core::{ByteHeap, FixedRegion, GrowableHeap};
use kalloc_fuzz::no_heap::{NoHeap, run};
use kalloc_tlsf::Tlsf;

#[global_allocator]
static GUARD: NoHeap = NoHeap;

fn alloc_free_realloc() {
    let mut memory = [0u64; 1024];
    // SAFETY: reinterpreting a stack buffer of u64 as bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(memory.as_mut_ptr().cast::<u8>(), 8192) };
    let mut heap = Tlsf::new();
    heap.add_pool_slice(bytes).unwrap();
    let l = Layout::from_size_align(100, 64).unwrap();
    let ptr = heap.allocate(l).unwrap();
    // SAFETY: live allocation resized and freed through the trait.
    unsafe {
        ptr.as_ptr().write_bytes(7, 100);
        let big = Layout::from_size_align(1000, 64).unwrap();
        let grown = heap.grow(ptr, l, big).unwrap();
        assert_eq!(grown.as_ptr().read(), 7);
        heap.deallocate(grown, big).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(heap.blocks().filter(|b| b.used).count(), 0);
}

fn growth_from_a_source() {
    let mut memory = [0u8; 64 * 1024];
    let region = FixedRegion::from_slice(&mut memory);
    let mut heap: Tlsf<'_, &FixedRegion<'_>> = Tlsf::with_source(&region);
    heap.set_min_import(4096);
    let l = Layout::from_size_align(20_000, 8).unwrap();
    let ptr = heap.allocate(l).unwrap();
    assert!(heap.pool_size_for(l).unwrap() > 20_000);
    // SAFETY: live allocation.
    unsafe { heap.deallocate(ptr, l) }.unwrap();
    heap.check().unwrap();
    assert!(heap.release_free_pools() > 0);
    assert_eq!(heap.pools().count(), 0);
}

fn main() {
    run(&[
        (
            "alloc, grow and free in a borrowed pool",
            alloc_free_realloc,
        ),
        ("growth from a source and release", growth_from_a_source),
    ]);
}
