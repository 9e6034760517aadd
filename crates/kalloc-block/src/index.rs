//! [`BlockIndex`]: the integer width of block indexes (8 or 16 bits).

use core::fmt::Debug;
use core::hash::Hash;

mod sealed {
    /// Keeps [`BlockIndex`](super::BlockIndex) implemented only here: the allocator's
    /// safety relies on `END` being the largest value and on the exact conversions below.
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
}

/// The unsigned integer a [`BlockAllocator`](crate::BlockAllocator) uses to name blocks in
/// its out-of-band links: `u8` (the default: up to 255 blocks, almost 1 MiB) or `u16` (up
/// to 65 535 blocks, almost 256 MiB).
///
/// Sealed: implemented for `u8` and `u16` only.
///
/// Bit-level contract: every value below [`END`](BlockIndex::END) names a block, so
/// [`MAX_BLOCKS`](BlockIndex::MAX_BLOCKS) equals `END`'s value. `END` itself (all bits set)
/// names no block and ends every list.
pub trait BlockIndex:
    sealed::Sealed + Copy + Eq + Ord + Hash + Debug + Send + Sync + 'static
{
    /// All bits set: the end-of-list marker, never the index of a block.
    const END: Self;
    /// How many blocks this width can name: `END`'s value (255 for `u8`, 65 535 for `u16`).
    const MAX_BLOCKS: usize;
    /// A bitmap with one bit per value of the width, all clear: scratch space for
    /// [`BlockAllocator::check`](crate::BlockAllocator::check), which keeps it on the stack
    /// (32 bytes for `u8`, 8 KiB for `u16`).
    const CLEAR_MARKS: Self::Marks;
    /// The bitmap type of [`CLEAR_MARKS`](BlockIndex::CLEAR_MARKS).
    type Marks: AsMut<[u64]>;

    /// The value as a `usize` (lossless).
    fn to_usize(self) -> usize;

    /// `value` in this width.
    ///
    /// Callers pass values up to [`MAX_BLOCKS`](BlockIndex::MAX_BLOCKS) (block indexes,
    /// list lengths and `END` itself); larger values are a bug in the caller, caught by a
    /// debug assertion and truncated in release builds.
    fn from_usize(value: usize) -> Self;
}

impl BlockIndex for u8 {
    const END: u8 = u8::MAX;
    const MAX_BLOCKS: usize = u8::MAX as usize;
    const CLEAR_MARKS: [u64; 4] = [0; 4];
    type Marks = [u64; 4];

    #[inline(always)]
    fn to_usize(self) -> usize {
        usize::from(self)
    }

    #[inline(always)]
    fn from_usize(value: usize) -> u8 {
        debug_assert!(
            value <= Self::MAX_BLOCKS,
            "index {value} does not fit in u8"
        );
        value as u8
    }
}

impl BlockIndex for u16 {
    const END: u16 = u16::MAX;
    const MAX_BLOCKS: usize = u16::MAX as usize;
    const CLEAR_MARKS: [u64; 1024] = [0; 1024];
    type Marks = [u64; 1024];

    #[inline(always)]
    fn to_usize(self) -> usize {
        usize::from(self)
    }

    #[inline(always)]
    fn from_usize(value: usize) -> u16 {
        debug_assert!(
            value <= Self::MAX_BLOCKS,
            "index {value} does not fit in u16"
        );
        value as u16
    }
}

#[cfg(test)]
mod tests;
