//! [`Owner`]: the root of one client's list of blocks.

use crate::BlockIndex;

/// One client's list of blocks: a single index (one byte for the default `u8` width), the
/// *list id* under which the [`BlockAllocator`](crate::BlockAllocator) keeps the front and
/// the length of a doubly linked list threaded through its out-of-band nodes.
///
/// A kernel gives each module (or process, or driver) its own `Owner`;
/// [`alloc`](crate::BlockAllocator::alloc) pushes a block onto it,
/// [`free`](crate::BlockAllocator::free) unlinks one, and
/// [`free_all`](crate::BlockAllocator::free_all) gives every block back at once.
///
/// An `Owner` is deliberately neither `Clone` nor `Copy`: two copies of one root would go
/// stale as soon as either was used. Use an owner with one allocator only. Dropping an
/// owner that still holds blocks leaks them (they stay allocated and are reported by
/// [`check`](crate::BlockAllocator::check) as an ordinary list); call `free_all` first.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Owner<I: BlockIndex = u8> {
    /// Id of the owner's list, or [`BlockIndex::END`] when the owner holds nothing. An id
    /// is taken when the list gets its first block and given back when it loses its last.
    pub(crate) id: I,
}

impl<I: BlockIndex> Owner<I> {
    /// An owner holding no blocks.
    #[must_use]
    pub const fn new() -> Owner<I> {
        Owner { id: I::END }
    }

    /// Whether the owner holds no blocks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.id == I::END
    }
}

impl<I: BlockIndex> Default for Owner<I> {
    fn default() -> Owner<I> {
        Owner::new()
    }
}
