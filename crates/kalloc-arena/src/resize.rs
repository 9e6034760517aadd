//! Giving memory back and resizing: what a bump arena can do in place, and the
//! [`ByteHeap`] implementation built on it.
//!
//! Only the most recent allocation at either end can change in place, and only if no
//! checkpoint was taken after it (the *floor*, see `BlockBumpArena::floor_lo`):
//!
//! * freeing it moves its cursor back (reclaim);
//! * growing it at the low end extends it up into the free middle;
//! * growing it at the high end moves it down over itself (a `memmove`), so the copy costs
//!   no extra space;
//! * shrinking it at the low end gives the tail back.
//!
//! Everything else is a no-op (free) or allocate-copy (grow, shrink to a larger alignment).

use crate::arena::{BlockBumpArena, dangling};
use crate::block::{MAX_ALIGN, MAX_REQUEST};
use core::alloc::Layout;
use core::ptr::{self, NonNull};
use kalloc_core::{ByteHeap, Error, MemorySource, Stats};

#[cfg(test)]
mod tests;

impl<S: MemorySource> BlockBumpArena<S> {
    /// Frees an allocation. If it is the most recent one at its end of the current block
    /// (and no checkpoint came after it), its space is reused; otherwise nothing happens
    /// until [`reset`](Self::reset), [`rewind`](Self::rewind) or drop. O(1).
    ///
    /// The arena cannot tell a foreign pointer or a double free from an ordinary free of
    /// an older allocation: both are no-ops.
    ///
    /// # Safety
    /// `ptr` must have come from this arena for `layout` (by `alloc`, `grow` or `shrink`)
    /// and not have been freed, rewound or reset since.
    pub unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        let (start, size) = (ptr.as_ptr(), layout.size());
        if size == 0 {
            return;
        }
        if start.addr() + size == self.lo.get().addr() && start >= self.floor_lo.get() {
            self.lo.set(start);
        } else if start == self.hi.get() && start.addr() + size <= self.floor_hi.get().addr() {
            // The padding above the allocation stays unused until the block is left.
            self.hi.set(start.wrapping_add(size));
        } else {
            return;
        }
        self.allocations.set(self.allocations.get() - 1);
    }

    /// Resizes an allocation to the larger `new` layout, in place when it is the most recent
    /// one at its end, else by allocating and copying (the old space stays used).
    ///
    /// Errors as [`alloc`](Self::alloc); on error the old allocation is untouched.
    ///
    /// # Safety
    /// `ptr` must have come from this arena for `old` and still be live, and
    /// `new.size() >= old.size()`.
    pub unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        debug_assert!(new.size() >= old.size());
        if new.align() > MAX_ALIGN {
            return Err(Error::BadAlign);
        }
        if new.size() > MAX_REQUEST {
            return Err(Error::TooLarge);
        }
        let start = ptr.as_ptr();
        let (old_size, extra) = (old.size(), new.size() - old.size());
        let (lo, hi) = (self.lo.get(), self.hi.get());
        if old_size != 0 {
            if start.addr() + old_size == lo.addr()
                && start >= self.floor_lo.get()
                && start.addr() % new.align() == 0
                && extra <= hi.addr() - lo.addr()
            {
                self.lo.set(lo.wrapping_add(extra));
                return Ok(ptr);
            }
            let end = start.addr() + old_size;
            if start == hi && end <= self.floor_hi.get().addr() {
                // `new.size() <= MAX_REQUEST < end` (the allocation ends inside a block
                // that starts above address 0), so this cannot wrap.
                let moved = (end - new.size()) & !(new.align() - 1);
                if moved >= lo.addr() {
                    let moved = hi.with_addr(moved);
                    // SAFETY: both ranges lie in the current block, `[moved, end)` is the
                    // old allocation plus free space below it; `copy` handles the overlap.
                    unsafe { ptr::copy(start, moved, old_size) };
                    self.hi.set(moved);
                    // SAFETY: `moved` is inside the block, so not null.
                    return Ok(unsafe { NonNull::new_unchecked(moved) });
                }
            }
        }
        // SAFETY: the caller's promise about `ptr` and `old` is what `relocate` needs.
        unsafe { self.relocate(ptr, old, new) }
    }

    /// Resizes an allocation to the smaller `new` layout: in place (giving the tail back if
    /// it is the most recent allocation at the low end) unless `new` needs a larger
    /// alignment than `ptr` has, then by allocating and copying.
    ///
    /// Errors: [`Error::BadAlign`] over [`MAX_ALIGN`]; otherwise as [`alloc`](Self::alloc)
    /// when a move is needed. On error the old allocation is untouched.
    ///
    /// # Safety
    /// `ptr` must have come from this arena for `old` and still be live, and
    /// `new.size() <= old.size()`.
    pub unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        debug_assert!(new.size() <= old.size());
        if new.align() > MAX_ALIGN {
            return Err(Error::BadAlign);
        }
        if new.size() == 0 {
            // SAFETY: the caller's promise about `ptr` and `old`.
            unsafe { self.dealloc(ptr, old) };
            return Ok(dangling(new));
        }
        if ptr.as_ptr().addr() % new.align() != 0 {
            // SAFETY: the caller's promise about `ptr` and `old`.
            return unsafe { self.relocate(ptr, old, new) };
        }
        let start = ptr.as_ptr();
        if start.addr() + old.size() == self.lo.get().addr() && start >= self.floor_lo.get() {
            self.lo.set(start.wrapping_add(new.size()));
        }
        Ok(ptr)
    }

    /// Allocates for `new`, copies what both layouts hold and frees the old allocation.
    ///
    /// # Safety
    /// `ptr` must have come from this arena for `old` and still be live.
    unsafe fn relocate(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        let moved = self.alloc(new)?;
        // SAFETY: `ptr` is valid for `old.size()` bytes (caller), `moved` for `new.size()`,
        // and a fresh allocation does not overlap a live one.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), old.size().min(new.size()));
            self.dealloc(ptr, old);
        }
        Ok(moved)
    }
}

// SAFETY: `alloc` hands out aligned, in-block ranges that never overlap a live allocation
// (the cursors only move back over the most recent allocation when it is freed, or over
// everything after a mark on rewind/reset, which take `&mut self`); `grow` and `shrink`
// preserve the common prefix (in place, by `copy`, or by `relocate`).
unsafe impl<S: MemorySource> ByteHeap for BlockBumpArena<S> {
    /// As [`BlockBumpArena::alloc`]; zero-size layouts get a dangling, aligned pointer.
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        self.alloc(layout)
    }

    /// As [`BlockBumpArena::dealloc`]: reclaims the most recent allocation, otherwise a
    /// no-op; never an error (the arena cannot detect foreign pointers or double frees).
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error> {
        // SAFETY: forwarded caller promise.
        unsafe { self.dealloc(ptr, layout) };
        Ok(())
    }

    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        // SAFETY: forwarded caller promise.
        unsafe { BlockBumpArena::grow(self, ptr, old, new) }
    }

    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        // SAFETY: forwarded caller promise.
        unsafe { BlockBumpArena::shrink(self, ptr, old, new) }
    }

    fn stats(&self) -> Stats {
        BlockBumpArena::stats(self)
    }
}
