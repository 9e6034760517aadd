//! [`FixedRegion`]: one fixed span handed out in pieces; the simplest [`Source`].

use crate::{Align, Error, MemorySource, Source, Span, Stats};
use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// A [`Source`] over one fixed span, handed out front to back.
///
/// Meant for tests, examples and early boot: give it a static buffer (or a span of numbers)
/// and hand it to any kalloc allocator as its source. It keeps no per-piece bookkeeping:
///
/// * pieces come from a cursor that only moves up (alignment padding is skipped);
/// * releasing the most recent piece moves the cursor back, so LIFO use recycles memory;
/// * other releases are counted, and once everything is released the region starts over.
///
/// A release outside `[start, cursor)` is [`Error::ForeignPointer`]; releasing more than is
/// outstanding is [`Error::DoubleFree`]. Both leave the region unchanged.
///
/// ```
/// use kalloc_core::{Align, FixedRegion, MemorySource, Source};
///
/// let mut buffer = [0u8; 4096];
/// let region = FixedRegion::from_slice(&mut buffer);
/// let span = region.import(100, Align::new(64)).unwrap();
/// assert!(Align::new(64).is_aligned(span.base()));
/// let ptr = region.ptr(span).unwrap();
/// // SAFETY: `ptr` is valid for `span.len()` bytes until the span is released.
/// unsafe { ptr.as_ptr().write_bytes(0, span.len()) };
/// region.release(span).unwrap();
/// assert_eq!(region.stats().free, 4096);
/// ```
#[derive(Debug)]
pub struct FixedRegion<'mem> {
    span: Span,
    /// Pointer to `span.base()` when the region is memory; `None` for other resources.
    memory: Option<NonNull<u8>>,
    /// Everything below the cursor has been handed out (or skipped as padding).
    cursor: Cell<usize>,
    /// Units handed out and not yet released.
    outstanding: Cell<usize>,
    _borrow: PhantomData<&'mem mut [u8]>,
}

impl FixedRegion<'static> {
    /// A region of a non-memory resource (PIDs, page numbers, ...): it hands out numbers and
    /// has no pointers ([`ptr`](MemorySource::ptr) fails with [`Error::ForeignPointer`]).
    #[must_use]
    pub const fn new(span: Span) -> FixedRegion<'static> {
        FixedRegion {
            span,
            memory: None,
            cursor: Cell::new(span.base()),
            outstanding: Cell::new(0),
            _borrow: PhantomData,
        }
    }
}

impl<'mem> FixedRegion<'mem> {
    /// A region over `memory`; spans are its byte addresses.
    pub fn from_slice(memory: &'mem mut [u8]) -> FixedRegion<'mem> {
        let len = memory.len();
        let base = NonNull::from(memory).cast::<u8>();
        // SAFETY: a slice is valid for its whole length (promise 1), and the `&'mem mut`
        // borrow held in `_borrow` keeps everything else away from it (promise 2).
        unsafe { FixedRegion::from_raw(base, len) }.expect("a slice never wraps the address space")
    }

    /// A region over `len` bytes at `base`, or [`Error::Overflow`] when they would wrap the
    /// address space.
    ///
    /// # Safety
    /// 1. The bytes must be valid for reads and writes for `'mem`.
    /// 2. Nothing else may access them during `'mem` except through pointers this region
    ///    hands out.
    pub unsafe fn from_raw(base: NonNull<u8>, len: usize) -> Result<FixedRegion<'mem>, Error> {
        let span = Span::try_new(base.as_ptr().addr(), len)?;
        Ok(FixedRegion {
            span,
            memory: Some(base),
            cursor: Cell::new(span.base()),
            outstanding: Cell::new(0),
            _borrow: PhantomData,
        })
    }

    /// The whole span the region manages.
    #[must_use]
    pub fn span(&self) -> Span {
        self.span
    }

    /// What is left above the cursor.
    fn remaining(&self) -> Span {
        Span::from_bounds(self.cursor.get(), self.span.end()).expect("cursor never passes the end")
    }

    /// Usage in O(1): `free` is what lies above the cursor; padding and released pieces
    /// below it count as overhead until the region starts over.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let free = self.remaining().len();
        Stats {
            total: self.span.len(),
            in_use: self.outstanding.get(),
            free,
            allocations: 0,
            largest_free: free,
        }
    }
}

impl Source for FixedRegion<'_> {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        if size == 0 {
            return Err(Error::ZeroSize);
        }
        let piece = self.remaining().fit(size, align).ok_or(Error::Exhausted)?;
        self.cursor.set(piece.end());
        self.outstanding.set(self.outstanding.get() + size);
        Ok(piece)
    }

    fn release(&self, span: Span) -> Result<(), Error> {
        let handed_out = Span::from_bounds(self.span.base(), self.cursor.get())?;
        if span.is_empty() || !handed_out.contains_span(span) {
            return Err(Error::ForeignPointer);
        }
        let outstanding = self
            .outstanding
            .get()
            .checked_sub(span.len())
            .ok_or(Error::DoubleFree)?;
        self.outstanding.set(outstanding);
        if outstanding == 0 {
            self.cursor.set(self.span.base());
        } else if span.end() == self.cursor.get() {
            self.cursor.set(span.base());
        }
        Ok(())
    }
}

// SAFETY: pieces are cut from `[cursor, end)` and the cursor moves past each one, so live
// pieces never overlap (promise 2); the cursor only moves back over released pieces. `ptr`
// derives from the region's own base pointer, which is valid for the whole span (the
// constructors' promise 1), so it carries provenance for the piece (promise 1).
unsafe impl MemorySource for FixedRegion<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        let base = self.memory.ok_or(Error::ForeignPointer)?;
        if !self.span.contains_span(span) {
            return Err(Error::ForeignPointer);
        }
        // SAFETY: `span` lies inside the region, so the offset stays within the memory that
        // `base` is valid for.
        Ok(unsafe { base.add(span.base() - self.span.base()) })
    }
}

#[cfg(test)]
mod tests;
