//! The allocator as a kalloc-core memory source of single 4 KiB blocks.
//!
//! Blocks imported through [`SourceMut`] go on an owner list the allocator keeps for
//! itself, so they are checked, counted and protected exactly like a client's blocks:
//! a client cannot free a source block through its own owner, nor can a span be released
//! that the source did not hand out.

use crate::{BLOCK_ALIGN, BLOCK_SIZE, BlockAllocator, BlockIndex};
use core::mem;
use core::ptr::NonNull;
use kalloc_core::{Align, Error, MemorySourceMut, SourceMut, Span};

impl<I: BlockIndex, const N: usize> SourceMut for BlockAllocator<'_, I, N> {
    /// One whole block (a span of [`BLOCK_SIZE`] bytes) for any `size` up to a block and
    /// `align` up to [`BLOCK_ALIGN`].
    ///
    /// Errors: [`Error::ZeroSize`], [`Error::TooLarge`] for `size > BLOCK_SIZE`,
    /// [`Error::BadAlign`] for `align > BLOCK_ALIGN`, [`Error::Exhausted`].
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        if size == 0 {
            return Err(Error::ZeroSize);
        }
        if size > BLOCK_SIZE {
            return Err(Error::TooLarge);
        }
        if align > BLOCK_ALIGN {
            return Err(Error::BadAlign);
        }
        let mut source = mem::take(&mut self.source);
        let imported = self.alloc_index(&mut source);
        self.source = source;
        Ok(self.block_span(imported?))
    }

    /// Takes back a block exactly as [`import`](SourceMut::import) returned it.
    ///
    /// Errors, in this order: [`Error::ForeignPointer`] outside the region,
    /// [`Error::Misaligned`] off a block boundary, [`Error::DoubleFree`] for a free block,
    /// [`Error::WrongOwner`] for a block a client owner holds, [`Error::WrongSize`] when the
    /// span is not one whole block.
    fn release(&mut self, span: Span) -> Result<(), Error> {
        let index = self.index_of(span.base())?;
        self.verify_owned(&self.source, index)?;
        if span.len() != BLOCK_SIZE {
            return Err(Error::WrongSize);
        }
        let mut source = mem::take(&mut self.source);
        self.unlink(&mut source, index);
        self.source = source;
        Ok(())
    }
}

// SAFETY: `import` hands out a block only after moving it from the free stack onto the
// source list, and a block leaves that list only through `release` (or `free` with the
// source's owner, which clients cannot name), so live spans never overlap each other or
// a client's blocks, and the allocator never touches block memory (promise 2). `ptr`
// accepts only spans inside one block on the source list and derives the pointer from
// the region's base pointer, valid for the whole region (promise 1).
unsafe impl<I: BlockIndex, const N: usize> MemorySourceMut for BlockAllocator<'_, I, N> {
    /// The pointer to `span`'s first byte, or [`Error::ForeignPointer`] unless `span` is
    /// non-empty and lies inside one block imported through this source.
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        let offset = span
            .base()
            .checked_sub(self.region.base())
            .ok_or(Error::ForeignPointer)?;
        let block = self
            .index_of(span.base() - offset % BLOCK_SIZE)
            .map_err(|_| Error::ForeignPointer)?;
        let in_block = self.block_span(block).contains_span(span);
        if span.is_empty() || !in_block || self.verify_owned(&self.source, block).is_err() {
            return Err(Error::ForeignPointer);
        }
        // SAFETY: `span` lies inside block `block`, which lies inside the region that
        // `base` is valid for.
        let ptr = unsafe { self.base.add(offset) };
        Ok(ptr)
    }
}

#[cfg(test)]
mod tests;
