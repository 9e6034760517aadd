//! kalloc-vmem never touches a heap: arenas, imports, quantum caches, hash growth, tag
//! refills from a tag source and the checker all run with the heap forbidden.

use core::mem::MaybeUninit;
use kalloc_core::{Error, FixedRegion, SourceCell, Span};
use kalloc_fuzz::no_heap::{NoHeap, run};
use kalloc_vmem::{Arena, Bucket, Constraints, Policy, Tag};

#[global_allocator]
static GUARD: NoHeap = NoHeap;

fn standalone_arena() {
    let mut arena = Arena::new("ids", 1).unwrap().with_qcache_max(4).unwrap();
    arena.add(Span::new(1, 1000)).unwrap();
    let a = arena.alloc(3, Policy::InstantFit).unwrap();
    let b = arena.alloc(10, Policy::BestFit).unwrap();
    let c = arena.alloc(1, Policy::NextFit).unwrap();
    let d = arena
        .xalloc(
            8,
            &Constraints::new().align(16).phase(4).max(500),
            Policy::NextFit,
        )
        .unwrap();
    assert_eq!(d % 16, 4);
    arena.check().unwrap();
    assert_eq!(arena.free(b, 11), Err(Error::WrongSize));
    for (base, size) in [(a, 3), (b, 10), (c, 1), (d, 8)] {
        arena.free(base, size).unwrap();
    }
    assert_eq!(arena.free(c, 1), Err(Error::DoubleFree));
    arena.drain_caches();
    arena.check().unwrap();
    assert_eq!(arena.stats().in_use, 0);
}

fn hierarchy_with_growth() {
    // Bookkeeping memory on the stack, declared first so it outlives the arenas.
    let mut tags = [MaybeUninit::<Tag>::uninit(); 512];
    let mut buckets = [MaybeUninit::<Bucket>::uninit(); 256];
    let mut va = Arena::new("va", 0x1000).unwrap();
    va.add(Span::new(0x1000_0000, 0x100_0000)).unwrap();
    let va = SourceCell::new(va);
    let mut heap: Arena<'_, &SourceCell<Arena<'_>>> =
        Arena::with_source("heap", 16, &va, 0x4000).unwrap();
    heap.add_tag_memory(&mut tags).unwrap();
    let mut live = [0usize; 200];
    for (i, slot) in live.iter_mut().enumerate() {
        *slot = heap.alloc(16 * (1 + i % 5), Policy::InstantFit).unwrap();
    }
    assert!(heap.wants_hash_memory().is_some());
    heap.add_hash_memory(&mut buckets).unwrap();
    heap.check().unwrap();
    for (i, &base) in live.iter().enumerate() {
        heap.free(base, 16 * (1 + i % 5)).unwrap();
    }
    heap.check().unwrap();
    assert_eq!(heap.total_size(), 0);
    assert_eq!(va.with(|va| va.stats().in_use).unwrap(), 0);
}

fn tags_from_a_tag_source() {
    let mut memory = [0u8; 32 * 1024];
    let region = FixedRegion::from_slice(&mut memory);
    let mut arena = Arena::new("irq", 1).unwrap().with_tag_source(&region);
    arena.add(Span::new(0, 4096)).unwrap();
    // Every other value: each allocation leaves a gap, so 300 of them need about 600 tags.
    let every_other = Constraints::new().align(2);
    let mut live = [0usize; 300];
    for slot in &mut live {
        *slot = arena.xalloc(1, &every_other, Policy::InstantFit).unwrap();
    }
    arena.check().unwrap();
    assert!(arena.counters().tag_refills >= 3);
    for base in live {
        arena.free(base, 1).unwrap();
    }
    arena.check().unwrap();
    assert_eq!(arena.stats().in_use, 0);
}

fn main() {
    run(&[
        ("standalone arena", standalone_arena),
        ("hierarchy with tag and hash growth", hierarchy_with_growth),
        ("tags from a tag source", tags_from_a_tag_source),
    ]);
}
