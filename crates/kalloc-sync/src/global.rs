//! `GlobalAlloc` for a [`Locked`] [`ByteHeap`]: what makes it a `#[global_allocator]`.

use crate::{Locked, RawLock};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use kalloc_core::ByteHeap;

// SAFETY: every block comes from the heap's `allocate`, `grow` or `shrink`, whose
// `ByteHeap` promises (aligned, valid for the layout's size, disjoint from every other live
// block, contents kept across a resize) are what `GlobalAlloc` requires; the lock makes
// each call exclusive, and failures return null as `GlobalAlloc` expects. Nothing here
// unwinds except a panic inside the heap itself, which the guard survives.
unsafe impl<T: ByteHeap, R: RawLock> GlobalAlloc for Locked<T, R> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = self
            .allocate(layout)
            .map_or(ptr::null_mut(), NonNull::as_ptr);
        if !block.is_null() {
            // SAFETY: a fresh block is valid for `layout.size()` bytes; zeroing happens
            // after the lock is released, as the block is already this caller's alone.
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller's `GlobalAlloc::dealloc` contract: `ptr` is a live block of
            // this allocator for `layout`. A free the heap still detects as wrong cannot be
            // reported here; it is counted in `Counters::rejected_frees`.
            let _rejected_free_is_counted = unsafe { self.deallocate(ptr, layout) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (Some(block), Ok(new)) = (
            NonNull::new(ptr),
            Layout::from_size_align(new_size, layout.align()),
        ) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller's `GlobalAlloc::realloc` contract: `block` is a live block of
        // this allocator for `layout`.
        let moved = unsafe { self.resize(block, layout, new) };
        moved.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

#[cfg(test)]
mod tests;
