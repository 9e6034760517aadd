//! [`Source`]: where an allocator gets more of its resource, and where it gives it back.
//!
//! One pair of traits serves every kalloc crate: a bump arena takes 4 KiB blocks from a
//! block allocator, a TLSF heap grows its pools, a vmem arena imports spans from its parent.
//!
//! * [`Source`] is what a consumer holds. Its methods take `&self`, so any number of
//!   consumers can share one source through plain references.
//! * [`SourceMut`] is what a provider implements when it needs `&mut self` (most
//!   allocators do). Wrap it in a [`SourceCell`] (one thread) or in kalloc-sync's lock
//!   (several threads) to get a shareable [`Source`].
//! * [`MemorySource`] / [`MemorySourceMut`] add the one thing memory consumers need beyond
//!   numbers: a pointer, with provenance, to the bytes of an imported span.

use crate::{Align, Error, Span};
use core::cell::RefCell;
use core::ptr::NonNull;

/// A shared provider of spans of a resource (memory, page frames, PIDs, ...).
///
/// ```
/// use kalloc_core::{Align, FixedRegion, Source, Span};
///
/// let pids = FixedRegion::new(Span::new(100, 1000));
/// // Two consumers share the source through `&`.
/// let (a, b) = (&pids, &pids);
/// let first = a.import(10, Align::ONE).unwrap();
/// let second = b.import(10, Align::ONE).unwrap();
/// assert!(!first.overlaps(second));
/// b.release(second).unwrap();
/// a.release(first).unwrap();
/// ```
pub trait Source {
    /// A span of at least `size` units whose base is a multiple of `align`.
    ///
    /// Errors: [`Error::ZeroSize`] for `size == 0`, [`Error::Exhausted`] when nothing large
    /// enough is left, [`Error::Overflow`] when the rounded size does not fit, [`Error::Busy`]
    /// when a shared source is already in use by this same caller.
    fn import(&self, size: usize, align: Align) -> Result<Span, Error>;

    /// Gives back a span exactly as [`import`](Source::import) returned it.
    ///
    /// A source reports what it can detect ([`Error::ForeignPointer`] for a span it never
    /// handed out, [`Error::DoubleFree`] for one already released) and is left unchanged
    /// by a refused release.
    fn release(&self, span: Span) -> Result<(), Error>;
}

/// A provider of spans that needs exclusive access: implement this, then share it through a
/// [`SourceCell`] or a lock, both of which turn it into a [`Source`].
pub trait SourceMut {
    /// As [`Source::import`].
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error>;
    /// As [`Source::release`].
    fn release(&mut self, span: Span) -> Result<(), Error>;
}

/// A [`Source`] of memory: its spans are byte addresses it can turn into pointers.
///
/// # Safety
///
/// Implementors promise, for every span `s` returned by `import` and not yet released:
/// 1. `ptr(s)` returns `Ok(p)` where `p` is valid for reads and writes of `s.len()` bytes
///    and carries the provenance to access them (no integer-to-pointer guess);
/// 2. those bytes overlap no other span handed out and not yet released, and the source
///    itself does not read or write them until the span is released.
///
/// Consumers' unsafe code (a heap placing headers in the bytes) relies on both.
pub unsafe trait MemorySource: Source {
    /// The pointer to the first byte of an imported span, or [`Error::ForeignPointer`] when
    /// the span does not lie in memory this source hands out.
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error>;
}

/// The `&mut self` form of [`MemorySource`].
///
/// # Safety
///
/// The same promises as [`MemorySource`].
pub unsafe trait MemorySourceMut: SourceMut {
    /// As [`MemorySource::ptr`].
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error>;
}

impl<S: Source + ?Sized> Source for &S {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        (**self).import(size, align)
    }
    fn release(&self, span: Span) -> Result<(), Error> {
        (**self).release(span)
    }
}

// SAFETY: forwards to `S`, which makes the `MemorySource` promises.
unsafe impl<S: MemorySource + ?Sized> MemorySource for &S {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        (**self).ptr(span)
    }
}

impl<S: SourceMut + ?Sized> SourceMut for &mut S {
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        (**self).import(size, align)
    }
    fn release(&mut self, span: Span) -> Result<(), Error> {
        (**self).release(span)
    }
}

// SAFETY: forwards to `S`, which makes the `MemorySourceMut` promises.
unsafe impl<S: MemorySourceMut + ?Sized> MemorySourceMut for &mut S {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        (**self).ptr(span)
    }
}

/// A source with nothing in it: every import fails with [`Error::Exhausted`].
///
/// For allocators that take a source but should never grow.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSource;

impl Source for NoSource {
    fn import(&self, _size: usize, _align: Align) -> Result<Span, Error> {
        Err(Error::Exhausted)
    }
    fn release(&self, _span: Span) -> Result<(), Error> {
        Err(Error::ForeignPointer)
    }
}

// SAFETY: `import` never succeeds, so there is no span the promises could be about.
unsafe impl MemorySource for NoSource {
    fn ptr(&self, _span: Span) -> Result<NonNull<u8>, Error> {
        Err(Error::ForeignPointer)
    }
}

/// Single-threaded sharing: turns a [`SourceMut`] into a [`Source`] with a `RefCell`.
///
/// A call made while the cell is already borrowed (a source that re-enters itself) fails
/// with [`Error::Busy`] instead of panicking. For several threads use kalloc-sync's lock.
///
/// ```
/// use kalloc_core::{Align, Error, Source, SourceCell, SourceMut, Span};
///
/// /// Hands out numbers one at a time from a counter.
/// struct Counter(usize);
/// impl SourceMut for Counter {
///     fn import(&mut self, size: usize, _align: kalloc_core::Align) -> Result<Span, Error> {
///         let span = Span::try_new(self.0, size)?;
///         self.0 = span.end();
///         Ok(span)
///     }
///     fn release(&mut self, _span: Span) -> Result<(), Error> { Ok(()) }
/// }
///
/// let shared = SourceCell::new(Counter(0));
/// let (a, b) = (&shared, &shared);
/// assert_eq!(a.import(4, Align::ONE), Ok(Span::new(0, 4)));
/// assert_eq!(b.import(4, Align::ONE), Ok(Span::new(4, 4)));
/// assert_eq!(shared.into_inner().0, 8);
/// ```
#[derive(Debug, Default)]
pub struct SourceCell<T> {
    inner: RefCell<T>,
}

impl<T> SourceCell<T> {
    /// Wraps `source`.
    pub const fn new(source: T) -> SourceCell<T> {
        SourceCell {
            inner: RefCell::new(source),
        }
    }

    /// Runs `f` with exclusive access to the wrapped source, or [`Error::Busy`] when it is
    /// already borrowed.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| Error::Busy)?;
        Ok(f(&mut inner))
    }

    /// Exclusive access without borrow tracking (the `&mut self` proves nobody else has it).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The wrapped source.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: SourceMut> Source for SourceCell<T> {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        self.with(|source| source.import(size, align))?
    }
    fn release(&self, span: Span) -> Result<(), Error> {
        self.with(|source| source.release(span))?
    }
}

// SAFETY: every import and release goes to the one wrapped `T`, whose `MemorySourceMut`
// promises therefore hold for the spans this cell hands out.
unsafe impl<T: MemorySourceMut> MemorySource for SourceCell<T> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        let inner = self.inner.try_borrow().map_err(|_| Error::Busy)?;
        inner.ptr(span)
    }
}

#[cfg(test)]
mod tests;
