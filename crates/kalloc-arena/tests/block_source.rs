//! Arenas over kalloc-block's `BlockAllocator`, shared through a `SourceCell`: the setup
//! the arena is made for (modules of a kernel sharing one block allocator).

use core::alloc::Layout;
use kalloc_arena::{BlockBumpArena, MAX_REQUEST};
use kalloc_block::{BLOCK_SIZE, BlockAllocator, Owner};
use kalloc_core::{Error, SourceCell};
use std::alloc::{alloc_zeroed, dealloc};

/// `blocks` block-aligned blocks from the test process's heap.
struct Memory {
    ptr: *mut u8,
    layout: Layout,
}

impl Memory {
    fn new(blocks: usize) -> Memory {
        let layout = Layout::from_size_align(blocks * BLOCK_SIZE, BLOCK_SIZE).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Memory { ptr, layout }
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: a live zeroed allocation of `layout.size()` bytes, borrowed through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn modules_share_one_block_allocator() {
    let mut memory = Memory::new(8);
    let blocks = SourceCell::new(BlockAllocator::<u8, 255>::new(memory.bytes()).unwrap());
    let module_a = BlockBumpArena::new(&blocks);
    let module_b = BlockBumpArena::new(&blocks);
    for round in 0..3u8 {
        let a = module_a.alloc_slice_copy(&[round; 3000]).unwrap();
        let b = module_b.alloc_slice_copy(&[round + 10; 3000]).unwrap();
        assert!(a.iter().all(|&x| x == round) && b.iter().all(|&x| x == round + 10));
    }
    assert_eq!(blocks.with(|b| b.used_blocks()), Ok(6));
    module_a.check().unwrap();
    drop(module_a);
    assert_eq!(
        blocks.with(|b| b.used_blocks()),
        Ok(3),
        "module A's blocks came back"
    );
    drop(module_b);
    assert_eq!(blocks.with(|b| b.used_blocks()), Ok(0));
}

#[test]
fn an_exhausted_block_allocator_leaves_the_arena_usable() {
    let mut memory = Memory::new(2);
    let blocks = SourceCell::new(BlockAllocator::<u8, 255>::new(memory.bytes()).unwrap());
    let mut arena = BlockBumpArena::new(&blocks);
    arena.alloc(layout(MAX_REQUEST, 8)).unwrap();
    arena.alloc(layout(4000, 1)).unwrap();
    let stats = arena.arena_stats();
    assert_eq!(arena.alloc(layout(200, 8)), Err(Error::Exhausted));
    assert_eq!(arena.arena_stats(), stats);
    arena.check().unwrap();
    arena.alloc(layout(MAX_REQUEST - 4000, 1)).unwrap();
    arena.reset();
    assert_eq!(
        blocks.with(|b| b.used_blocks()),
        Ok(1),
        "reset keeps one block"
    );
    arena.alloc(layout(200, 8)).unwrap();
    arena.check().unwrap();
}

#[test]
fn client_owners_and_arenas_coexist() {
    let mut memory = Memory::new(4);
    let blocks = SourceCell::new(BlockAllocator::<u8, 255>::new(memory.bytes()).unwrap());
    let mut owner = Owner::new();
    let page = blocks.with(|b| b.alloc(&mut owner)).unwrap().unwrap();
    {
        let mut arena = BlockBumpArena::new(&blocks);
        let mark = arena.checkpoint();
        for _ in 0..3 {
            arena.alloc(layout(4000, 16)).unwrap();
        }
        assert_eq!(arena.alloc(layout(4000, 16)), Err(Error::Exhausted));
        arena.rewind(mark).unwrap();
        assert_eq!(
            blocks.with(|b| b.used_blocks()),
            Ok(1),
            "rewind gave 3 back"
        );
    }
    blocks.with(|b| b.free(&mut owner, page)).unwrap().unwrap();
    assert_eq!(blocks.with(|b| b.used_blocks()), Ok(0));
}
