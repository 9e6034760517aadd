//! [`Growing`]: the out-of-memory hook. A heap that, when a request finds it exhausted,
//! imports a new pool from a [`MemorySource`], adds it, and retries once.

use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_core::{ByteHeap, Error, GrowableHeap, MemorySource, Stats};

/// A [`GrowableHeap`] `H` that grows from the [`MemorySource`] `S` instead of failing.
///
/// On [`Error::Exhausted`] from `allocate`, `grow` or `shrink`, it asks `S` for
/// [`pool_size_for(layout)`](GrowableHeap::pool_size_for) bytes aligned to
/// [`pool_align`](GrowableHeap::pool_align), hands them to
/// [`add_pool`](GrowableHeap::add_pool) and retries the request once. Any other error, and
/// any failure to grow (the source's error, or the heap refusing the pool, in which case the
/// memory goes back to the source), is returned unchanged with the heap as it was.
///
/// Put it behind a [`Locked`](crate::Locked) to make a global allocator that starts small
/// and grows; `S` is typically `&Locked<P>` for a page or block provider `P` that other
/// consumers share. Imported pools are never given back while the heap lives.
///
/// Each import is at least the `min_pool` of [`with_min_pool`](Growing::with_min_pool) (default: just
/// what the request needs), so a heap fed many small requests imports a few large pools
/// rather than one tiny pool each; when the source cannot supply the larger size, the
/// hook falls back to what the request needs.
#[derive(Debug)]
pub struct Growing<H, S> {
    heap: H,
    source: S,
    /// The smallest import (0: exactly `pool_size_for`).
    min_pool: usize,
    /// Pools imported so far.
    pools_added: usize,
}

impl<H, S> Growing<H, S> {
    /// `heap`, growing from `source`.
    pub const fn new(heap: H, source: S) -> Growing<H, S> {
        Growing::with_min_pool(heap, source, 0)
    }

    /// `heap`, growing from `source` by at least `min_pool` bytes at a time.
    pub const fn with_min_pool(heap: H, source: S, min_pool: usize) -> Growing<H, S> {
        Growing {
            heap,
            source,
            min_pool,
            pools_added: 0,
        }
    }

    /// The heap (for its checker, walk, ...).
    pub fn heap(&self) -> &H {
        &self.heap
    }

    /// The heap, mutably.
    pub fn heap_mut(&mut self) -> &mut H {
        &mut self.heap
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// How many pools were imported and added so far.
    pub fn pools_added(&self) -> usize {
        self.pools_added
    }
}

impl<H: GrowableHeap, S: MemorySource> Growing<H, S> {
    /// Imports and adds a pool large enough for `layout`; on error, everything is as before.
    fn add_pool_for(&mut self, layout: Layout) -> Result<(), Error> {
        let need = self.heap.pool_size_for(layout)?;
        let align = self.heap.pool_align();
        let span = match self.source.import(need.max(self.min_pool), align) {
            Err(Error::Exhausted) if self.min_pool > need => self.source.import(need, align)?,
            imported => imported?,
        };
        let added = self.source.ptr(span).and_then(|base| {
            // SAFETY: `MemorySource` promises the span's bytes are valid for reads and
            // writes through `base` and used by nothing else until the span is released;
            // it is never released while the heap lives (only when `add_pool` refuses it).
            unsafe { self.heap.add_pool(base, span.len()) }
        });
        match added {
            Ok(()) => {
                self.pools_added = self.pools_added.saturating_add(1);
                Ok(())
            }
            Err(error) => {
                // The span came from this source and was not used; report the heap's
                // reason, not a (then impossible) refusal of the release.
                let _ = self.source.release(span);
                Err(error)
            }
        }
    }
}

// SAFETY: every block comes from `H`'s own `ByteHeap` methods, so `H`'s promises are ours;
// adding a pool only gives `H` more memory it alone uses (the `GrowableHeap` contract).
unsafe impl<H: GrowableHeap, S: MemorySource> ByteHeap for Growing<H, S> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        match self.heap.allocate(layout) {
            Err(Error::Exhausted) => {
                self.add_pool_for(layout)?;
                self.heap.allocate(layout)
            }
            done => done,
        }
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error> {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.heap.deallocate(ptr, layout) }
    }

    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        // SAFETY: forwarded from this function's contract.
        match unsafe { self.heap.grow(ptr, old, new) } {
            Err(Error::Exhausted) => {
                self.add_pool_for(new)?;
                // SAFETY: the failed `grow` left the block untouched and still ours.
                unsafe { self.heap.grow(ptr, old, new) }
            }
            done => done,
        }
    }

    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        // SAFETY: forwarded from this function's contract.
        match unsafe { self.heap.shrink(ptr, old, new) } {
            Err(Error::Exhausted) => {
                self.add_pool_for(new)?;
                // SAFETY: the failed `shrink` left the block untouched and still ours.
                unsafe { self.heap.shrink(ptr, old, new) }
            }
            done => done,
        }
    }

    fn stats(&self) -> Stats {
        self.heap.stats()
    }
}

#[cfg(test)]
mod tests;
