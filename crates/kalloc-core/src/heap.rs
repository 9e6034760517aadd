//! [`ByteHeap`]: the one interface of every kalloc memory allocator, which kalloc-sync wraps.

use crate::{Align, Error, Stats};
use core::alloc::Layout;
use core::ptr::NonNull;

/// An allocator of bytes by [`Layout`]: a TLSF heap, a bump arena, ...
///
/// kalloc-sync puts any `ByteHeap` behind a lock to make it a `#[global_allocator]` or an
/// `Allocator`; the methods take `&mut self` because the lock provides the exclusion.
///
/// Zero-size layouts: `allocate` either fails with [`Error::ZeroSize`] or returns a
/// dangling, well-aligned pointer that uses no memory, as each implementation documents;
/// `deallocate`, `grow` and `shrink` accept such a pointer back with its zero-size layout.
///
/// # Safety
///
/// Implementors promise that a pointer returned by `allocate`, `grow` or `shrink` for a
/// layout of non-zero size is aligned to `layout.align()`, valid for reads and writes of
/// `layout.size()` bytes, and overlaps no other live allocation of this heap, until it is
/// passed to `deallocate`, `grow` or `shrink` (or until a method the implementation
/// documents as freeing everything, such as a reset). `grow` and `shrink` preserve the
/// first `min(old.size(), new.size())` bytes. Callers' unsafe code (a `GlobalAlloc`) relies
/// on these promises.
pub unsafe trait ByteHeap {
    /// Allocates a block for `layout`.
    ///
    /// Errors: [`Error::Exhausted`] when no free block fits, [`Error::BadAlign`] for an
    /// alignment over what the heap supports, [`Error::Overflow`] when size plus bookkeeping
    /// does not fit in a `usize`, [`Error::ZeroSize`] where documented.
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error>;

    /// Frees a block.
    ///
    /// Implementations report what they detect (double free, foreign pointer) as an error
    /// and leave the heap unchanged in that case; what each detects is documented.
    ///
    /// # Safety
    /// `ptr` must have been returned by this heap for `layout` and not freed since.
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error>;

    /// Resizes a block to the larger `new` layout, in place when the heap can, otherwise by
    /// moving it. On error the old block is untouched and still owned by the caller.
    ///
    /// The default allocates, copies and frees.
    ///
    /// # Safety
    /// `ptr` must have been returned by this heap for `old` and not freed since, and
    /// `new.size() >= old.size()`.
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        debug_assert!(new.size() >= old.size());
        // SAFETY: the caller's promise about `ptr` and `old` is the one `relocate` needs.
        unsafe { relocate(self, ptr, old, new) }
    }

    /// Resizes a block to the smaller `new` layout, in place when the heap can, otherwise by
    /// moving it. On error the old block is untouched and still owned by the caller.
    ///
    /// The default allocates, copies and frees.
    ///
    /// # Safety
    /// `ptr` must have been returned by this heap for `old` and not freed since, and
    /// `new.size() <= old.size()`.
    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        debug_assert!(new.size() <= old.size());
        // SAFETY: the caller's promise about `ptr` and `old` is the one `relocate` needs.
        unsafe { relocate(self, ptr, old, new) }
    }

    /// Usage of the heap, in O(1).
    fn stats(&self) -> Stats;
}

/// Moves a block to a fresh allocation for `new`, copying what both layouts hold.
///
/// # Safety
/// `ptr` must have been returned by `heap` for `old` and not freed since.
unsafe fn relocate<H: ByteHeap + ?Sized>(
    heap: &mut H,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Result<NonNull<u8>, Error> {
    let moved = heap.allocate(new)?;
    let keep = old.size().min(new.size());
    // SAFETY: `ptr` is valid for `old.size()` bytes (caller), `moved` for `new.size()`
    // (ByteHeap promise), and the two live blocks do not overlap (ByteHeap promise).
    unsafe { core::ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), keep) };
    // SAFETY: `ptr` was allocated by `heap` for `old` and is still live (caller).
    unsafe { heap.deallocate(ptr, old) }?;
    Ok(moved)
}

/// A [`ByteHeap`] that can take more memory at run time, as a new pool. kalloc-sync's
/// out-of-memory hook uses it: import from a source, [`add_pool`](GrowableHeap::add_pool),
/// retry.
///
/// # Safety
///
/// Implementors promise that after a successful `add_pool` they only access the pool's
/// bytes to serve allocations, and that `pool_size_for(layout)` really is enough: after
/// adding a pool of that size and `pool_align` alignment, `allocate(layout)` succeeds.
pub unsafe trait GrowableHeap: ByteHeap {
    /// The alignment a pool's start must have.
    fn pool_align(&self) -> Align;

    /// The size of a new pool that guarantees `layout` can then be allocated, bookkeeping
    /// included, or [`Error::Overflow`] / [`Error::TooLarge`] when no pool can.
    fn pool_size_for(&self, layout: Layout) -> Result<usize, Error>;

    /// Adds `len` bytes at `base` to the heap.
    ///
    /// Errors: [`Error::TooSmall`], [`Error::Misaligned`], [`Error::Overlap`] with an existing
    /// pool, [`Error::Overflow`]; the heap is unchanged then.
    ///
    /// # Safety
    /// The bytes must be valid for reads and writes, used by nothing else, and stay so for
    /// as long as the heap lives.
    unsafe fn add_pool(&mut self, base: NonNull<u8>, len: usize) -> Result<(), Error>;
}

#[cfg(test)]
mod tests;
