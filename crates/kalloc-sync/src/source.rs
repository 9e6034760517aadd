//! Sharing one [`SourceMut`] between threads: `Locked<T>` is a [`Source`].
//!
//! Several consumers (arenas over one block allocator, heaps growing from one region, child
//! vmem arenas over one parent) each hold `&Locked<T>`, itself a `Source` through
//! kalloc-core's impl for references.

use crate::{Locked, RawLock};
use core::ptr::NonNull;
use kalloc_core::{Align, Error, MemorySource, MemorySourceMut, Source, SourceMut, Span};

/// Each call takes the lock for its duration. A source that calls back into the same
/// `Locked` from inside `import` or `release` deadlocks (a spin lock cannot tell its own
/// holder from another thread); kalloc-core's single-threaded `SourceCell` reports that case
/// as [`Error::Busy`] instead.
impl<T: SourceMut, R: RawLock> Source for Locked<T, R> {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        self.lock().import(size, align)
    }

    fn release(&self, span: Span) -> Result<(), Error> {
        self.lock().release(span)
    }
}

// SAFETY: every import and release goes to the one wrapped `T`, whose `MemorySourceMut`
// promises therefore hold for the spans this wrapper hands out.
unsafe impl<T: MemorySourceMut, R: RawLock> MemorySource for Locked<T, R> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        self.lock().ptr(span)
    }
}

#[cfg(test)]
mod tests;
