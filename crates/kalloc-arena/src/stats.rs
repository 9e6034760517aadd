//! Usage reports: the shared [`Stats`] and the arena's own [`ArenaStats`].

use crate::arena::BlockBumpArena;
use crate::block::{BLOCK_SIZE, HEADER_OFFSET};
use kalloc_core::{MemorySource, Stats};

#[cfg(test)]
mod tests;

/// Where an arena's bytes are, in O(1). The fields add up:
/// `blocks * BLOCK_SIZE == in_use + free + wasted + links + padding`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArenaStats {
    /// Blocks held.
    pub blocks: usize,
    /// Bytes handed out and not reclaimed (requested sizes; freeing anything but the most
    /// recent allocation reclaims nothing, so those bytes still count).
    pub in_use: usize,
    /// Bytes between the cursors of the current block: what the next requests can use
    /// without a new block (less alignment padding).
    pub free: usize,
    /// Bytes left between the cursors of blocks the arena moved on from: a request that
    /// did not fit there started a new block.
    pub wasted: usize,
    /// Bytes the link records at the top of each block take.
    pub links: usize,
    /// Bytes skipped to align requests at the high end, or left behind by reclaiming a
    /// high-end allocation or shrinking one in place.
    pub padding: usize,
    /// Allocations handed out and not reclaimed (zero-size ones are not counted).
    pub allocations: usize,
}

impl<S: MemorySource> BlockBumpArena<S> {
    /// Usage in the shared shape, in O(1): `total` is the blocks held, `free` and
    /// `largest_free` the free middle of the current block (what an align-1 request gets
    /// without a new block), and `overhead()` is wasted tails, links and padding.
    pub fn stats(&self) -> Stats {
        let free = self.free_bytes();
        Stats {
            total: self.blocks.get() * BLOCK_SIZE,
            in_use: self.in_use.get(),
            free,
            allocations: self.allocations.get(),
            largest_free: free,
        }
    }

    /// Usage broken down the arena's way, in O(1).
    pub fn arena_stats(&self) -> ArenaStats {
        let blocks = self.blocks.get();
        let (in_use, free, wasted) = (self.in_use.get(), self.free_bytes(), self.wasted.get());
        let links = blocks * (BLOCK_SIZE - HEADER_OFFSET);
        ArenaStats {
            blocks,
            in_use,
            free,
            wasted,
            links,
            // The checker proves this never saturates.
            padding: (blocks * BLOCK_SIZE).saturating_sub(in_use + free + wasted + links),
            allocations: self.allocations.get(),
        }
    }

    /// Bytes between the cursors.
    pub(crate) fn free_bytes(&self) -> usize {
        self.hi.get().addr() - self.lo.get().addr()
    }
}
