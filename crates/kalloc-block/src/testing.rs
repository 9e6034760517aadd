//! Test helpers: block-aligned memory from the test process's heap, and a snapshot of an
//! allocator's whole state for "a refused call changed nothing" assertions.

extern crate std;

use crate::allocator::Node;
use crate::{BLOCK_SIZE, BlockAllocator, BlockIndex};
use std::alloc::{Layout, alloc_zeroed, dealloc};

/// `blocks` zeroed, 4 KiB-aligned blocks, freed on drop.
pub(crate) struct Memory {
    ptr: *mut u8,
    layout: Layout,
}

impl Memory {
    pub(crate) fn new(blocks: usize) -> Memory {
        let layout = Layout::from_size_align(blocks * BLOCK_SIZE, BLOCK_SIZE).unwrap();
        // SAFETY: `layout` has a non-zero size (tests ask for at least one block).
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null(), "test memory");
        Memory { ptr, layout }
    }

    /// All the bytes, starting on a block boundary.
    pub(crate) fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live, zero-initialised allocation of `layout.size()` bytes,
        // borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// Every field of an allocator's bookkeeping, copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot<I, const N: usize> {
    nodes: [Node<I>; N],
    heads: [I; N],
    counts: [I; N],
    free_stack: [I; N],
    unused_ids: I,
    free_blocks: usize,
    source: I,
}

impl<I: BlockIndex, const N: usize> BlockAllocator<'_, I, N> {
    pub(crate) fn snapshot(&self) -> Snapshot<I, N> {
        Snapshot {
            nodes: self.nodes,
            heads: self.heads,
            counts: self.counts,
            free_stack: self.free_stack,
            unused_ids: self.unused_ids,
            free_blocks: self.free_blocks,
            source: self.source.id,
        }
    }
}
