//! [`Wilderness`]: the one free block kept out of the free lists, carved through its record.
//!
//! ```text
//!  pool:  | used | used | free | used | wilderness ...................... | Trailer |
//!                        ^ listed        ^ header and footer in memory as for any free
//!                                          block; its address and size also held here
//! ```
//!
//! A pool starts as one free block. Kept in a list, that block's header is where every
//! allocation carved from it must read its size, which the allocation before wrote: in a
//! heap larger than the caches each such read is a miss the next allocation waits for, so
//! carving fresh memory ran at one miss per allocation. Held here instead, its address and
//! size are in the heap's record: carving writes the new header and the shrunk wilderness's
//! header and reads nothing from the pool.
//!
//! Policy: the search is the lists' good fit with the wilderness counted in its size class
//! (its class is kept here too): it serves a request when its class is the lowest that
//! fits, a listed block of the same class going first. A free block that merges with it
//! becomes the wilderness. A new pool's block becomes the wilderness when it is larger than
//! the current one, which then goes to the lists. A heap whose wilderness was used up works
//! as plain TLSF until a pool is added.

use crate::Tlsf;
use crate::block::Block;
use crate::class::Classes;
use kalloc_core::MemorySource;

/// The wilderness block, its size and its size class, or none.
///
/// Invariant: when set, `block` is a free block of `size` bytes of one of the heap's pools
/// (header, footer and the successor's `PREV_FREE` as for every free block), in no free
/// list, and `class` is the index `fl·SL + sl` of the class it would be listed in. `size`
/// and `class` are zero exactly when no block is set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wilderness {
    block: Option<Block>,
    size: usize,
    class: usize,
}

impl Wilderness {
    /// No wilderness.
    pub(crate) const NONE: Wilderness = Wilderness {
        block: None,
        size: 0,
        class: 0,
    };

    /// The block and its size.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<(Block, usize)> {
        self.block.map(|block| (block, self.size))
    }

    /// The size, zero when there is none.
    #[inline(always)]
    pub(crate) const fn size(&self) -> usize {
        self.size
    }

    /// The class index `fl·SL + sl` it would be listed in; zero when there is none, which
    /// is below the class of every request (a request's block is at least `MIN_BLOCK`).
    #[inline(always)]
    pub(crate) const fn class(&self) -> usize {
        self.class
    }

    /// The block and its size when it holds at least `need` bytes (`need > 0`).
    #[inline(always)]
    pub(crate) fn fitting(&self, need: usize) -> Option<(Block, usize)> {
        debug_assert!(need > 0);
        // `size` is zero when there is no block, so one comparison decides.
        if need <= self.size { self.get() } else { None }
    }

    /// Whether `block` is the wilderness.
    #[inline(always)]
    pub(crate) fn is(&self, block: Block) -> bool {
        self.block == Some(block)
    }

    /// Makes `block` of `size` bytes, in class `class`, the wilderness (forgetting any
    /// other).
    #[inline(always)]
    pub(crate) fn set(&mut self, block: Block, size: usize, class: usize) {
        debug_assert!(size > 0 && class > 0);
        *self = Wilderness {
            block: Some(block),
            size,
            class,
        };
    }

    /// Forgets the wilderness.
    #[inline(always)]
    pub(crate) fn clear(&mut self) {
        *self = Wilderness::NONE;
    }
}

impl<S: MemorySource, const FL: usize, const SL: usize> Tlsf<'_, S, FL, SL> {
    /// Takes the free block `block` from wherever it is filed: the wilderness or its list.
    /// Returns whether it was the wilderness.
    ///
    /// # Safety
    /// `block` must be a free block of this heap (listed, or the wilderness).
    #[inline(always)]
    pub(crate) unsafe fn unfile(&mut self, block: Block) -> bool {
        if self.wilderness.is(block) {
            self.wilderness.clear();
            true
        } else {
            // SAFETY: a free block other than the wilderness is listed (caller).
            unsafe { self.lists.remove(block) };
            false
        }
    }

    /// Files the unfiled free block `block` of `size` bytes (header and footer written):
    /// as the wilderness when `wild`, else in its list.
    ///
    /// # Safety
    /// `block` must be a free block of this heap of `size` bytes in no list; when `wild`,
    /// there must be no other wilderness (it was unfiled, or is the block's own past).
    #[inline(always)]
    pub(crate) unsafe fn file(&mut self, block: Block, size: usize, wild: bool) {
        if wild {
            debug_assert!(self.wilderness.get().is_none(), "two wildernesses");
            self.set_wilderness(block, size);
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.lists.insert(block, size) };
        }
    }

    /// Files a free block of new memory (a pool just added, or merged with its
    /// neighbours): it becomes the wilderness when it absorbed the old one (`absorbed`), or
    /// when it is larger than the wilderness (which then goes to the lists).
    ///
    /// # Safety
    /// As [`file`](Tlsf::file); when `absorbed`, the old wilderness was unfiled.
    pub(crate) unsafe fn file_new_memory(&mut self, block: Block, size: usize, absorbed: bool) {
        if !absorbed && size <= self.wilderness.size() {
            // SAFETY: forwarded from the caller.
            unsafe { self.lists.insert(block, size) };
            return;
        }
        if let Some((old, old_size)) = self.wilderness.get() {
            // SAFETY: the wilderness is a free block in no list (invariant).
            unsafe { self.lists.insert(old, old_size) };
            self.wilderness.clear();
        }
        self.set_wilderness(block, size);
    }

    /// Makes the unfiled free block `block` of `size` bytes the wilderness.
    #[inline(always)]
    fn set_wilderness(&mut self, block: Block, size: usize) {
        // Every block of a heap is at most MAX_BLOCK, so its class is in the table.
        self.wilderness
            .set(block, size, Classes::<FL, SL>::index(size));
    }
}

#[cfg(test)]
mod tests;
