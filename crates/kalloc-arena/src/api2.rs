//! `allocator_api2::alloc::Allocator` for `&BlockBumpArena` (feature `allocator-api2`), so
//! `allocator_api2::vec::Vec`, `hashbrown` maps and other collections can live in an arena.

use crate::arena::BlockBumpArena;
use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_core::MemorySource;

/// `ptr` as the slice of `len` bytes the trait hands out.
fn slice(ptr: NonNull<u8>, len: usize) -> NonNull<[u8]> {
    NonNull::slice_from_raw_parts(ptr, len)
}

// SAFETY: allocations are valid, aligned and disjoint as `BlockBumpArena::alloc` documents,
// and stay valid while any `&BlockBumpArena` lives: only `rewind`, `reset` and drop free
// memory, and they need the arena itself, which every shared reference keeps borrowed.
// Copies of the reference are the same allocator, so memory freed through any copy is
// memory of this arena. `grow`/`shrink` keep the common prefix.
unsafe impl<S: MemorySource> Allocator for &BlockBumpArena<S> {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        match self.alloc(layout) {
            Ok(ptr) => Ok(slice(ptr, layout.size())),
            Err(_) => Err(AllocError),
        }
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the trait's caller promises `ptr` is live memory of this allocator for
        // `layout`, which is `dealloc`'s contract.
        unsafe { self.dealloc(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the trait's caller promises what `BlockBumpArena::grow` needs.
        let grown = unsafe { BlockBumpArena::grow(self, ptr, old, new) };
        grown
            .map(|ptr| slice(ptr, new.size()))
            .map_err(|_| AllocError)
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the trait's caller promises what `BlockBumpArena::grow` needs.
        let grown = unsafe { BlockBumpArena::grow(self, ptr, old, new) }.map_err(|_| AllocError)?;
        // SAFETY: `grown` is valid for `new.size()` bytes; the first `old.size()` are the
        // preserved contents, the rest is ours to zero.
        unsafe {
            grown
                .as_ptr()
                .add(old.size())
                .write_bytes(0, new.size() - old.size());
        }
        Ok(slice(grown, new.size()))
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the trait's caller promises what `BlockBumpArena::shrink` needs.
        let shrunk = unsafe { BlockBumpArena::shrink(self, ptr, old, new) };
        shrunk
            .map(|ptr| slice(ptr, new.size()))
            .map_err(|_| AllocError)
    }
}
