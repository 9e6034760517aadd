//! [`Blocks`]: a walk over every block of every pool, in address order within a pool.

use crate::Tlsf;
use crate::block::{Block, USED, size_of_header};
use crate::class::HEADER;
use crate::pool::{self, Trailer};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kalloc_core::MemorySource;

/// One block met by [`Tlsf::blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    /// Address of the block's header (its first byte).
    pub start: usize,
    /// Bytes the block spans, header included.
    pub size: usize,
    /// Whether the block is handed out.
    pub used: bool,
}

impl BlockInfo {
    /// The address a caller got for this block (valid when `used`).
    #[must_use]
    pub const fn payload(&self) -> usize {
        self.start + HEADER
    }

    /// The bytes a caller may use in the block.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.size - HEADER
    }
}

/// Iterator over a heap's blocks; see [`Tlsf::blocks`].
#[derive(Debug)]
pub struct Blocks<'heap> {
    /// The next pool to walk once the current one ends.
    pool: Option<NonNull<Trailer>>,
    /// The next block of the current pool (a sentinel ends the pool).
    block: Option<Block>,
    _heap: PhantomData<&'heap ()>,
}

impl Iterator for Blocks<'_> {
    type Item = BlockInfo;

    fn next(&mut self) -> Option<BlockInfo> {
        loop {
            let Some(block) = self.block else {
                let trailer = self.pool?;
                // SAFETY: the iterator borrows the heap, so its listed trailers are live.
                let info = unsafe { pool::read(trailer) };
                self.pool = info.next;
                self.block = Some(pool::first_block(&info));
                continue;
            };
            // SAFETY: the walk only visits headers of a consistent heap (borrowed).
            let header = unsafe { block.header() };
            let size = size_of_header(header);
            if size == 0 {
                self.block = None;
                continue;
            }
            // SAFETY: a block's successor is a block or the sentinel of the same pool.
            self.block = Some(unsafe { block.offset(size) });
            return Some(BlockInfo {
                start: block.addr(),
                size,
                used: header & USED != 0,
            });
        }
    }
}

impl<S: MemorySource, const FL: usize, const SL: usize> Tlsf<'_, S, FL, SL> {
    /// Every block of every pool: pools most recently added first, blocks in address order
    /// within each. O(1) per step. Run [`check`](Tlsf::check) first on a heap you suspect
    /// of corruption: the walk trusts the headers.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks {
            pool: self.pools,
            block: None,
            _heap: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests;
