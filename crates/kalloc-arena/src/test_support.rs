//! Fixtures for the unit tests: memory for exactly `n` blocks, as a `FixedRegion`.

use crate::block::BLOCK_SIZE;
use kalloc_core::FixedRegion;
use std::vec;
use std::vec::Vec;

/// Backing memory with room for `blocks` aligned blocks.
pub(crate) fn memory(blocks: usize) -> Vec<u8> {
    vec![0u8; (blocks + 1) * BLOCK_SIZE]
}

/// A region over exactly `blocks` blocks of `memory` (from [`memory`]), aligned.
pub(crate) fn region(memory: &mut [u8], blocks: usize) -> FixedRegion<'_> {
    let skip = memory.as_ptr().align_offset(BLOCK_SIZE);
    FixedRegion::from_slice(&mut memory[skip..skip + blocks * BLOCK_SIZE])
}

/// Whether everything the region handed out came back.
pub(crate) fn all_back(region: &FixedRegion<'_>) -> bool {
    let stats = region.stats();
    stats.in_use == 0 && stats.free == stats.total
}
