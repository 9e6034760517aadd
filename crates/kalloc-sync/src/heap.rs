//! Allocation through a [`Locked`] [`ByteHeap`]: one lock round-trip per call, counted.
//!
//! The trait impls (`GlobalAlloc`, `Allocator`) are thin adapters over these methods.

use crate::{Locked, RawLock};
use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_core::{ByteHeap, Error, Stats};

impl<T: ByteHeap, R: RawLock> Locked<T, R> {
    /// Allocates a block for `layout` from the heap, with the heap's error on failure.
    ///
    /// ```
    /// # use kalloc_sync::Locked;
    /// # use core::alloc::Layout;
    /// # fn demo(heap: &Locked<impl kalloc_core::ByteHeap>) -> Result<(), kalloc_core::Error> {
    /// let layout = Layout::new::<[u64; 4]>();
    /// let block = heap.allocate(layout)?;
    /// // SAFETY: `block` came from `heap.allocate(layout)` and is freed once.
    /// unsafe { heap.deallocate(block, layout) }?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, Error> {
        let mut heap = self.lock();
        let block = heap.allocate(layout);
        match block {
            Ok(_) => heap.counters().allocated(layout.size()),
            Err(_) => heap.counters().failed(),
        }
        block
    }

    /// Frees a block. An error means the heap detected a wrong free (double free, foreign
    /// pointer, ...) and left everything unchanged; it is also counted in
    /// [`Counters::rejected_frees`](crate::Counters::rejected_frees).
    ///
    /// # Safety
    /// `ptr` must have been returned by this wrapper (or its heap) for `layout` and not
    /// freed since.
    pub unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error> {
        let mut heap = self.lock();
        // SAFETY: forwarded from this function's contract.
        let freed = unsafe { heap.deallocate(ptr, layout) };
        match freed {
            Ok(()) => heap.counters().freed(layout.size()),
            Err(_) => heap.counters().rejected_free(),
        }
        freed
    }

    /// Resizes a block to `new` with the heap's [`grow`](ByteHeap::grow) or
    /// [`shrink`](ByteHeap::shrink), in place when the heap can. On error the old block is
    /// untouched and still owned by the caller.
    ///
    /// # Safety
    /// `ptr` must have been returned by this wrapper (or its heap) for `old` and not freed
    /// since.
    pub unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        let mut heap = self.lock();
        let moved = if new.size() >= old.size() {
            // SAFETY: the caller's promise about `ptr`, and `new` is not smaller than `old`.
            unsafe { heap.grow(ptr, old, new) }
        } else {
            // SAFETY: the caller's promise about `ptr`, and `new` is smaller than `old`.
            unsafe { heap.shrink(ptr, old, new) }
        };
        match moved {
            Ok(_) => heap.counters().resized(old.size(), new.size()),
            Err(_) => heap.counters().failed(),
        }
        moved
    }

    /// The heap's own statistics (takes the lock; [`counters`](Locked::counters) does not).
    pub fn heap_stats(&self) -> Stats {
        self.lock().stats()
    }
}

#[cfg(test)]
mod tests;
