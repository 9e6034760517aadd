//! [`Block`]: a pointer to a block header, and the boundary-tag layout around it.
//!
//! ```text
//!  used block                          free block
//!  +--------------------------+        +--------------------------+
//!  | header: size | flags     |        | header: size | flags     |
//!  +--------------------------+ <- ptr +--------------------------+
//!  | payload ...              |        | next free (or null)      |
//!  |                          |        | back link                |
//!  |                          |        | ...                      |
//!  |                          |        | footer: size             |
//!  +--------------------------+        +--------------------------+
//! ```
//!
//! A used block spends exactly one word ([`HEADER`]) on bookkeeping. Only a free block has
//! links and a footer; its successor's [`PREV_FREE`] flag says the word before the
//! successor's header is that footer, which is how `free` finds the previous block.
//!
//! A free block's [`BackLink`] names what comes before it in its free list: the previous
//! block, or, for the head, the list itself. Unlinking a block then never needs its size
//! class: the link says which head to update.

use crate::class::{HEADER, WORD};
use core::ptr::NonNull;

/// Header flag: the block is handed out. Clear on free blocks; set on pool sentinels.
pub(crate) const USED: usize = 1;

/// Header flag: the physically previous block is free, so the word just below this header
/// is that block's footer (its size).
pub(crate) const PREV_FREE: usize = 2;

/// Every flag bit: sizes are multiples of [`WORD`] (at least 4), so these bits are spare.
pub(crate) const FLAGS: usize = USED | PREV_FREE;

/// The size stored in a header word.
#[inline]
pub(crate) const fn size_of_header(header: usize) -> usize {
    header & !FLAGS
}

/// A block, by the address of its header. Copyable: the heap owns the memory it points to,
/// and every method that touches that memory is `unsafe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Block(NonNull<u8>);

impl Block {
    /// The block whose header is at `ptr` (which must be `WORD`-aligned to be used).
    #[inline]
    pub(crate) const fn at(ptr: NonNull<u8>) -> Block {
        Block(ptr)
    }

    /// The header address.
    #[inline]
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr().addr()
    }

    /// The header pointer.
    #[inline]
    pub(crate) const fn ptr(self) -> NonNull<u8> {
        self.0
    }

    /// The block `bytes` above this one.
    ///
    /// # Safety
    /// The result must lie in the same pool (or at its end sentinel).
    #[inline]
    pub(crate) unsafe fn offset(self, bytes: usize) -> Block {
        // SAFETY: the caller keeps the result inside the pool this pointer may access.
        Block(unsafe { self.0.add(bytes) })
    }

    /// The block `bytes` below this one.
    ///
    /// # Safety
    /// The result must lie in the same pool.
    #[inline]
    pub(crate) unsafe fn back(self, bytes: usize) -> Block {
        // SAFETY: the caller keeps the result inside the pool this pointer may access.
        Block(unsafe { self.0.sub(bytes) })
    }

    /// The header word: size and flags.
    ///
    /// # Safety
    /// `self` must be a block (or sentinel) header inside a pool of the heap.
    #[inline]
    pub(crate) unsafe fn header(self) -> usize {
        // SAFETY: a header is an aligned word of pool memory the heap owns (caller).
        unsafe { self.0.cast::<usize>().read() }
    }

    /// Writes the header word.
    ///
    /// # Safety
    /// As [`header`](Block::header), and the heap must be entitled to write it.
    #[inline]
    pub(crate) unsafe fn set_header(self, header: usize) {
        // SAFETY: a header is an aligned word of pool memory the heap owns (caller).
        unsafe { self.0.cast::<usize>().write(header) }
    }

    /// The block's size in bytes.
    ///
    /// # Safety
    /// As [`header`](Block::header).
    #[inline]
    pub(crate) unsafe fn size(self) -> usize {
        // SAFETY: the caller's promise is `header`'s.
        size_of_header(unsafe { self.header() })
    }

    /// The next block in this block's free list.
    ///
    /// # Safety
    /// `self` must be a free block.
    #[inline]
    pub(crate) unsafe fn next_free(self) -> Option<Block> {
        // SAFETY: a free block has at least MIN_BLOCK bytes; its first link is the word
        // after the header (caller).
        unsafe { self.0.add(WORD).cast::<Option<Block>>().read() }
    }

    /// What comes before this block in its free list.
    ///
    /// # Safety
    /// `self` must be a free block.
    #[inline]
    pub(crate) unsafe fn back_link(self) -> BackLink {
        // SAFETY: the second link word of a free block (caller).
        unsafe { self.0.add(2 * WORD).cast::<BackLink>().read() }
    }

    /// Sets the next free-list link.
    ///
    /// # Safety
    /// `self` must be a block of at least `MIN_BLOCK` bytes the heap may write.
    #[inline]
    pub(crate) unsafe fn set_next_free(self, next: Option<Block>) {
        // SAFETY: the first link word lies inside the block (caller).
        unsafe { self.0.add(WORD).cast::<Option<Block>>().write(next) }
    }

    /// The back link's word, for a store chosen without a branch.
    ///
    /// # Safety
    /// As [`set_next_free`](Block::set_next_free).
    #[inline]
    pub(crate) unsafe fn back_link_slot(self) -> NonNull<BackLink> {
        // SAFETY: the second link word lies inside the block (caller).
        unsafe { self.0.add(2 * WORD).cast() }
    }

    /// Sets the back link.
    ///
    /// # Safety
    /// As [`set_next_free`](Block::set_next_free).
    #[inline]
    pub(crate) unsafe fn set_back_link(self, link: BackLink) {
        // SAFETY: as `back_link_slot`.
        unsafe { self.back_link_slot().write(link) }
    }

    /// Writes the footer of a free block of `size` bytes: its last word holds the size.
    ///
    /// # Safety
    /// `self` must be a block of `size >= MIN_BLOCK` bytes the heap may write.
    #[inline]
    pub(crate) unsafe fn set_footer(self, size: usize) {
        // SAFETY: `size - WORD` is the last word of the block (caller).
        unsafe { self.0.add(size - WORD).cast::<usize>().write(size) }
    }

    /// The footer of the free block just below this one: that block's size.
    ///
    /// # Safety
    /// This block's header must have [`PREV_FREE`] set.
    #[inline]
    pub(crate) unsafe fn prev_footer(self) -> usize {
        // SAFETY: PREV_FREE means the word below the header is a free block's footer.
        unsafe { self.0.sub(WORD).cast::<usize>().read() }
    }

    /// The caller's pointer for this block.
    ///
    /// # Safety
    /// `self` must be a block of the heap (its payload starts inside the block).
    #[inline]
    pub(crate) unsafe fn payload(self) -> NonNull<u8> {
        // SAFETY: every block is at least MIN_BLOCK > HEADER bytes (caller).
        unsafe { self.0.add(HEADER) }
    }

    /// The block whose payload is `ptr`, through `ptr`'s own provenance (tests only: the
    /// heap rebuilds header pointers from its pools', see `Window`).
    ///
    /// # Safety
    /// `ptr` must be a payload pointer this heap handed out.
    #[cfg(test)]
    pub(crate) unsafe fn from_payload(ptr: NonNull<u8>) -> Block {
        // SAFETY: a payload is HEADER bytes above its block's header (caller).
        Block(unsafe { ptr.sub(HEADER) })
    }
}

#[cfg(test)]
mod tests;

/// What comes before a free block in its free list: the previous block, or, when the block
/// is the list's head, the list itself, by its index `fl·SL + sl`.
///
/// One word. A block address is word-aligned, so bit 0 tells the two apart: a list is
/// stored as `index << 1 | 1`, an integer without provenance, never dereferenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct BackLink(NonNull<u8>);

/// A [`BackLink`] taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Before {
    /// The previous block of the list.
    Block(Block),
    /// The block heads the list with this index.
    List(usize),
}

impl BackLink {
    /// Bit 0: the link names a list.
    const LIST: usize = 1;

    /// A link to the previous block of the list.
    #[inline(always)]
    pub(crate) const fn to_block(block: Block) -> BackLink {
        BackLink(block.0)
    }

    /// A link to list `index` (the block is its head).
    #[inline(always)]
    pub(crate) const fn to_list(index: usize) -> BackLink {
        let tagged = (index << 1) | Self::LIST;
        // SAFETY: bit 0 is set, so the address is not zero.
        BackLink(unsafe { NonNull::new_unchecked(core::ptr::without_provenance_mut(tagged)) })
    }

    /// What the link names.
    #[inline(always)]
    pub(crate) fn get(self) -> Before {
        let addr = self.0.as_ptr().addr();
        if addr & Self::LIST == 0 {
            Before::Block(Block(self.0))
        } else {
            Before::List(addr >> 1)
        }
    }
}
