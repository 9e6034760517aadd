//! Usage reports: the shared [`Stats`] and the arena's own [`ArenaStats`].

use crate::arena::BlockBumpArena;
use crate::block::{BLOCK_SIZE, HEADER_OFFSET, LINK_SPACE};
use kalloc_core::{MemorySource, Stats};

#[cfg(test)]
mod tests;

/// Where an arena's bytes are, in O(1). The fields add up exactly:
/// `blocks * BLOCK_SIZE == in_use + free + wasted + links`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArenaStats {
    /// Blocks held.
    pub blocks: usize,
    /// Bytes consumed by allocations: their sizes plus the alignment padding in front of
    /// each high-end one. Freeing anything but the most recent allocation reclaims nothing,
    /// so those bytes still count, as does the tail given up by shrinking a high-end
    /// allocation in place.
    pub in_use: usize,
    /// Bytes between the cursors of the current block: what the next requests can use
    /// without a new block (less alignment padding).
    pub free: usize,
    /// Bytes left between the cursors of blocks the arena moved on from: a request that
    /// did not fit there started a new block.
    pub wasted: usize,
    /// Bytes reserved for the link records at the top of each block (16 per block).
    pub links: usize,
    /// Allocations handed out and not reclaimed (zero-size ones are not counted).
    pub allocations: usize,
}

impl<S: MemorySource> BlockBumpArena<S> {
    /// Usage in the shared shape, in O(1): `total` is the blocks held, `in_use` as in
    /// [`ArenaStats::in_use`], `free` and `largest_free` the free middle of the current
    /// block (what an align-1 request gets without a new block), and `overhead()` the
    /// wasted tails and the links.
    pub fn stats(&self) -> Stats {
        let free = self.free_bytes();
        Stats {
            total: self.blocks.get() * BLOCK_SIZE,
            in_use: self.in_use(),
            free,
            allocations: self.allocations.get(),
            largest_free: free,
        }
    }

    /// Usage broken down the arena's way, in O(1).
    pub fn arena_stats(&self) -> ArenaStats {
        let blocks = self.blocks.get();
        ArenaStats {
            blocks,
            in_use: self.in_use(),
            free: self.free_bytes(),
            wasted: self.wasted.get(),
            links: blocks * LINK_SPACE,
            allocations: self.allocations.get(),
        }
    }

    /// Bytes between the cursors.
    pub(crate) fn free_bytes(&self) -> usize {
        self.hi.get().addr() - self.lo.get().addr()
    }

    /// Bytes consumed: below the link of every block held, whatever is neither free (the
    /// current block's middle) nor wasted (the middles of the others). The checker proves
    /// the subtraction never saturates.
    pub(crate) fn in_use(&self) -> usize {
        (self.blocks.get() * HEADER_OFFSET)
            .saturating_sub(self.wasted.get())
            .saturating_sub(self.free_bytes())
    }
}
