//! Block geometry and the link record every block carries at its top.
//!
//! ```text
//!  base                                    base + HEADER_OFFSET        base + BLOCK_SIZE
//!   |  low end: align-1 requests grow up ->  <- high end: aligned requests |  Link  |
//!   +--------------------------------------------------------------------+--------+
//!   ^ lo starts here                                       hi starts here ^
//! ```
//!
//! `hi` starts 16-aligned, [`MAX_REQUEST`] = 4080 bytes below the link, on every target.
//!
//! The link sits at the top so that offset 0 stays usable: a fresh block can serve a request
//! of [`MAX_REQUEST`] bytes at any alignment up to [`BLOCK_SIZE`], because the block base
//! itself is aligned to the block size.

use core::ptr::NonNull;
use kalloc_core::Align;

/// Size of one block, the unit the arena imports from its source.
pub const BLOCK_SIZE: usize = 4096;

/// Alignment of every block: its own size, so offset 0 satisfies any alignment up to it.
pub const BLOCK_ALIGN: Align = Align::new(BLOCK_SIZE);

/// The largest alignment the arena serves; larger ones are [`kalloc_core::Error::BadAlign`].
pub const MAX_ALIGN: usize = BLOCK_SIZE;

/// Alignment of the top of every block's allocatable part, where the link record starts.
///
/// 16 on every target, so that the first aligned request in a block pays no padding for
/// any alignment up to 16 (that of `u128` and of SIMD vectors), and so that the geometry is
/// the same on 32- and 64-bit targets: a test or fuzz input lays out memory identically
/// everywhere. Where the link is smaller (12 bytes on i686, whose `u64` is 4-aligned), the
/// bytes above it stay unused and count as link space.
const TOP_ALIGN: usize = 16;

/// Bytes at the top of every block reserved for its link record: the link rounded up to
/// [`TOP_ALIGN`].
pub(crate) const LINK_SPACE: usize = size_of::<Link>().next_multiple_of(TOP_ALIGN);

/// Where the link record starts inside a block: the bytes below it are for allocations.
pub(crate) const HEADER_OFFSET: usize = BLOCK_SIZE - LINK_SPACE;

/// The largest request the arena serves, at any alignment up to [`MAX_ALIGN`]: a block less
/// the 16 bytes of its link record, 4080 bytes on every target. Larger requests are
/// [`kalloc_core::Error::TooLarge`].
pub const MAX_REQUEST: usize = HEADER_OFFSET;

// The top of the allocatable part must be aligned for the link and to `TOP_ALIGN`, and
// offsets must fit the `u16`s that marks store.
const _: () = assert!(HEADER_OFFSET % align_of::<Link>() == 0);
const _: () = assert!(HEADER_OFFSET % TOP_ALIGN == 0);
const _: () = assert!(BLOCK_SIZE <= u16::MAX as usize);

/// The record at the top of every block: the chain of held blocks, newest first, lives in
/// the blocks themselves, so dropping the arena needs no heap.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Link {
    /// Base of the block imported before this one, or `None` for the oldest block held.
    pub(crate) prev: Option<NonNull<u8>>,
    /// Import number of this block within its arena (1, 2, ...; never reused, so a mark can
    /// tell a block it saw from a later block at the same address).
    pub(crate) serial: u64,
}

impl Link {
    /// Where the link of the block at `base` lives.
    ///
    /// # Safety
    /// `base` must be the base of a block of [`BLOCK_SIZE`] bytes the caller may access.
    unsafe fn at(base: NonNull<u8>) -> NonNull<Link> {
        // SAFETY: `HEADER_OFFSET < BLOCK_SIZE`, so the offset stays inside the block (caller).
        let link = unsafe { base.add(HEADER_OFFSET) };
        link.cast()
    }

    /// Reads the link of the block at `base`.
    ///
    /// # Safety
    /// `base` must be a block the arena holds whose link was written by [`Link::write`].
    pub(crate) unsafe fn read(base: NonNull<u8>) -> Link {
        // SAFETY: the link lies inside the held block (caller), aligned because the block is
        // aligned to `BLOCK_SIZE` and `HEADER_OFFSET` is a multiple of `align_of::<Link>()`.
        unsafe { Link::at(base).read() }
    }

    /// Writes `self` as the link of the block at `base`.
    ///
    /// # Safety
    /// `base` must be a block the arena holds, valid for writes of [`BLOCK_SIZE`] bytes and
    /// aligned to [`BLOCK_ALIGN`].
    pub(crate) unsafe fn write(self, base: NonNull<u8>) {
        // SAFETY: as in `read`; the bytes are the arena's to write (caller).
        unsafe { Link::at(base).write(self) }
    }
}

#[cfg(test)]
mod tests;
