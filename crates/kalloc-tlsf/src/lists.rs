//! [`FreeLists`]: the `FL × SL` segregated free lists and their two-level bitmap.
//!
//! ```text
//!  fl_bitmap  0b0000_0110            bit fl: some list of first level fl is non-empty
//!  sl_bitmap[1] 0b..0100_0001        bit sl: list (fl, sl) is non-empty
//!  heads[1][0] -> block <-> block <-> block      (doubly linked through free blocks)
//!  heads[1][6] -> block
//! ```
//!
//! Finding the first non-empty list at or above a class takes two masked
//! trailing-zero counts; no list is ever walked.

use crate::block::{BackLink, Before, Block, size_of_header};
use crate::class::Classes;
use core::ptr::NonNull;

/// The free lists of one heap.
pub(crate) struct FreeLists<const FL: usize, const SL: usize> {
    /// Bit `fl` set iff `sl_bitmap[fl] != 0`.
    fl_bitmap: usize,
    /// Bit `sl` of entry `fl` set iff `heads[fl][sl]` is `Some`.
    sl_bitmap: [usize; FL],
    /// The first block of each list.
    heads: [[Option<Block>; SL]; FL],
    /// Takes the back-link store meant for a list neighbour that does not exist (the old
    /// head when inserting into an empty list, the successor of a list's last block), so
    /// list updates store unconditionally instead of branching on emptiness, which is
    /// unpredictable. Never read.
    sink: BackLink,
}

impl<const FL: usize, const SL: usize> FreeLists<FL, SL> {
    /// No free blocks.
    pub(crate) const fn new() -> Self {
        FreeLists {
            fl_bitmap: 0,
            sl_bitmap: [0; FL],
            heads: [[None; SL]; FL],
            sink: BackLink::to_list(0),
        }
    }

    /// The back link of `block`, or the sink when there is no block.
    ///
    /// # Safety
    /// A `Some` block must be a free block the heap may write.
    #[inline(always)]
    unsafe fn back_link_slot(&mut self, block: Option<Block>) -> NonNull<BackLink> {
        match block {
            // SAFETY: forwarded from the caller.
            Some(block) => unsafe { block.back_link_slot() },
            None => NonNull::from(&mut self.sink),
        }
    }

    /// The head of list `(fl, sl)`.
    pub(crate) fn head(&self, fl: usize, sl: usize) -> Option<Block> {
        self.heads[fl][sl]
    }

    /// Whether the bitmaps say list `(fl, sl)` is non-empty.
    pub(crate) fn marked(&self, fl: usize, sl: usize) -> bool {
        self.sl_bitmap[fl] & (1 << sl) != 0 && self.fl_bitmap & (1 << fl) != 0
    }

    /// The raw first-level bitmap (for the checker).
    pub(crate) const fn fl_bitmap(&self) -> usize {
        self.fl_bitmap
    }

    /// The raw second-level bitmap of `fl` (for the checker).
    pub(crate) fn sl_bitmap(&self, fl: usize) -> usize {
        self.sl_bitmap[fl]
    }

    /// The first non-empty list at or above `(fl, sl)`: two bit scans.
    #[inline]
    pub(crate) fn first_at_or_above(&self, fl: usize, sl: usize) -> Option<(usize, usize)> {
        let here = self.sl_bitmap[fl] & (usize::MAX << sl);
        if here != 0 {
            return Some((fl, here.trailing_zeros() as usize & (SL - 1)));
        }
        // `<< fl << 1` rather than `<< (fl + 1)`: fl + 1 may equal usize::BITS.
        let above = self.fl_bitmap & ((usize::MAX << fl) << 1);
        if above == 0 {
            return None;
        }
        // Clamped so indexing needs no bounds check (bits >= FL are never set).
        let fl = (above.trailing_zeros() as usize).min(FL - 1);
        Some((fl, self.sl_bitmap[fl].trailing_zeros() as usize & (SL - 1)))
    }

    /// The highest non-empty list.
    pub(crate) fn highest(&self) -> Option<(usize, usize)> {
        if self.fl_bitmap == 0 {
            return None;
        }
        let fl = self.fl_bitmap.ilog2() as usize;
        Some((fl, self.sl_bitmap[fl].ilog2() as usize))
    }

    /// The head of list `index` (`fl·SL + sl`), without a bounds check (the hot paths'
    /// index comes from `Classes::index`, which the compiler cannot bound).
    ///
    /// # Safety
    /// `index < FL × SL`.
    #[inline(always)]
    unsafe fn head_mut(&mut self, index: usize) -> &mut Option<Block> {
        debug_assert!(index < FL * SL, "list {index} out of range");
        // SAFETY: `index < FL × SL` (caller) is in bounds of the flattened heads.
        unsafe { self.heads.as_flattened_mut().get_unchecked_mut(index) }
    }

    /// The second-level bitmap of first level `fl`, without a bounds check.
    ///
    /// # Safety
    /// `fl < FL`.
    #[inline(always)]
    unsafe fn row_mut(&mut self, fl: usize) -> &mut usize {
        debug_assert!(fl < FL, "first level {fl} out of range");
        // SAFETY: `fl < FL` (caller).
        unsafe { self.sl_bitmap.get_unchecked_mut(fl) }
    }

    /// Pushes a free block of `size` bytes onto the front of its list.
    ///
    /// # Safety
    /// `block` must be a free block of `size` bytes (header already written), in a pool of
    /// this heap, and in no list; `size <= MAX_BLOCK` (true of every block of a heap).
    #[inline(always)]
    pub(crate) unsafe fn insert(&mut self, block: Block, size: usize) {
        let index = Classes::<FL, SL>::index(size);
        // SAFETY: `size <= MAX_BLOCK` (caller), so `index < FL × SL` (see `Classes::floor`).
        let head = *unsafe { self.head_mut(index) };
        // SAFETY: `block` and `head` are free blocks of this heap (caller; list invariant).
        unsafe {
            block.set_next_free(head);
            block.set_back_link(BackLink::to_list(index));
            self.back_link_slot(head).write(BackLink::to_block(block));
            *self.head_mut(index) = Some(block);
        }
        // Only a list that was empty changes the bitmaps. Setting the bits every time would
        // store on every insert a value computed from `size`, which `free` and `carve` read
        // from block headers: in a heap larger than the caches that store waits on a miss,
        // and the next search's bitmap read waits on the store. A branch the predictor
        // gets right (usually, in a large heap) skips the store altogether.
        if head.is_none() {
            let (fl, sl) = Classes::<FL, SL>::split(index);
            // SAFETY: `index < FL × SL`, so `fl < FL`.
            *unsafe { self.row_mut(fl) } |= 1 << sl;
            self.fl_bitmap |= 1 << fl;
        }
        debug_assert!(
            {
                let (fl, sl) = Classes::<FL, SL>::split(index);
                self.marked(fl, sl)
            },
            "a non-empty list {index} was not marked in the bitmaps"
        );
    }

    /// Unlinks a free block from its list. Its back link says what precedes it, so its size
    /// class is not needed, even when it heads its list.
    ///
    /// # Safety
    /// `block` must be a listed free block.
    #[inline(always)]
    pub(crate) unsafe fn remove(&mut self, block: Block) {
        // SAFETY: `block` is listed (caller), so its links and neighbours are free blocks,
        // and a back link to a list names one of the `FL × SL` lists (list invariant).
        unsafe {
            let next = block.next_free();
            let back = block.back_link();
            self.back_link_slot(next).write(back);
            match back.get() {
                Before::Block(prev) => prev.set_next_free(next),
                Before::List(index) => {
                    debug_assert_eq!(*self.head_mut(index), Some(block));
                    self.set_head(index, next);
                }
            }
        }
    }

    /// Removes and returns the head of the non-empty list `(fl, sl)` with its size.
    ///
    /// # Safety
    /// The list must be non-empty: its head was just read, or its bitmap bit found set
    /// (the bitmaps and the heads, both in this record and changed only here, agree). The
    /// lists must be consistent (they are, unless memory was corrupted from outside),
    /// `fl < FL` and `sl < SL`.
    #[inline]
    pub(crate) unsafe fn pop(&mut self, fl: usize, sl: usize) -> (Block, usize) {
        let index = Classes::<FL, SL>::join(fl, sl);
        // SAFETY: `index < FL × SL` (caller).
        let head = *unsafe { self.head_mut(index) };
        debug_assert!(head.is_some(), "list {index} popped empty");
        // SAFETY: the list is non-empty (caller). Unchecked, so that the caller's own test
        // of the result (an `Option` from the search) folds away.
        let block = unsafe { head.unwrap_unchecked() };
        // SAFETY: a listed block is a free block of this heap; so is its successor.
        let (size, next) = unsafe { (size_of_header(block.header()), block.next_free()) };
        // SAFETY: as above.
        unsafe { self.back_link_slot(next).write(BackLink::to_list(index)) };
        // SAFETY: as above.
        unsafe { self.set_head(index, next) };
        (block, size)
    }

    /// Replaces the head of list `index` (`fl·SL + sl`), keeping the bitmaps in step.
    ///
    /// # Safety
    /// `index < FL × SL`.
    #[inline(always)]
    unsafe fn set_head(&mut self, index: usize, head: Option<Block>) {
        // SAFETY: `index < FL × SL` (caller).
        unsafe { *self.head_mut(index) = head };
        let (fl, sl) = Classes::<FL, SL>::split(index);
        // SAFETY: `index < FL × SL`, so `fl < FL`.
        let row = unsafe { self.row_mut(fl) };
        // Whether the list just emptied is as unpredictable as the request sizes: the bits
        // are cleared without a branch (a `true` clears, a `false` clears nothing). Unlike
        // `insert`'s update, which is a branch, a branch here measured no faster on large
        // heaps and slower on small ones.
        *row &= !(usize::from(head.is_none()) << sl);
        self.fl_bitmap &= !(usize::from(*row == 0) << fl);
    }
}

#[cfg(test)]
mod tests;
