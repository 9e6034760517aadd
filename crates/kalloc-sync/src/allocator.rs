//! The `Allocator` trait for `&Locked<ByteHeap>`: `allocator_api2`'s on stable (feature
//! `allocator-api2`), `core`'s on nightly (feature `nightly`).
//!
//! Zero-size requests never reach the heap: `Allocator` must serve them, and some heaps
//! refuse them, so the wrapper hands out a dangling, aligned pointer and ignores its free.

use crate::{Locked, RawLock};
use core::alloc::Layout;
use core::ptr::{self, NonNull};
use kalloc_core::ByteHeap;

/// The block `Allocator` returns for a zero-size layout: aligned, non-null, no memory.
fn dangling(layout: Layout) -> NonNull<[u8]> {
    // SAFETY: an alignment is never zero, so the pointer is not null.
    let ptr = unsafe { NonNull::new_unchecked(ptr::without_provenance_mut(layout.align())) };
    NonNull::slice_from_raw_parts(ptr, 0)
}

/// Implements one `Allocator` trait (`$allocator`, with error type `$error`) by forwarding
/// to [`Locked`]'s own fallible methods. Both traits have the same shape.
macro_rules! impl_allocator {
    ($allocator:path, $error:path) => {
        // SAFETY: non-empty blocks come from the heap, whose `ByteHeap` promises (aligned,
        // valid, disjoint, contents kept across resizes) are the `Allocator` ones; they stay
        // valid while the `Locked` is borrowed, which outlives every copy of `&Locked`.
        // Empty blocks are dangling and never dereferenced or freed.
        unsafe impl<T: ByteHeap, R: RawLock> $allocator for &Locked<T, R> {
            fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, $error> {
                if layout.size() == 0 {
                    return Ok(dangling(layout));
                }
                let block = Locked::allocate(self, layout).map_err(|_| $error)?;
                Ok(NonNull::slice_from_raw_parts(block, layout.size()))
            }

            unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
                if layout.size() == 0 {
                    return;
                }
                // SAFETY: the caller's `Allocator::deallocate` contract. A free the heap
                // detects as wrong is counted in `Counters::rejected_frees`.
                let freed = unsafe { Locked::deallocate(self, ptr, layout) };
                let _rejected_free_is_counted = freed;
            }

            unsafe fn grow(
                &self,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $error> {
                if old.size() == 0 {
                    return <Self as $allocator>::allocate(self, new);
                }
                // SAFETY: the caller's `Allocator::grow` contract: `ptr` is a live block for
                // `old`.
                let block = unsafe { Locked::resize(self, ptr, old, new) };
                Ok(NonNull::slice_from_raw_parts(
                    block.map_err(|_| $error)?,
                    new.size(),
                ))
            }

            unsafe fn grow_zeroed(
                &self,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $error> {
                // SAFETY: forwarded from this function's contract.
                let block = unsafe { <Self as $allocator>::grow(self, ptr, old, new) }?;
                // SAFETY: the block is valid for `new.size() >= old.size()` bytes.
                unsafe {
                    block
                        .cast::<u8>()
                        .add(old.size())
                        .write_bytes(0, new.size() - old.size())
                };
                Ok(block)
            }

            unsafe fn shrink(
                &self,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $error> {
                if new.size() == 0 {
                    // SAFETY: forwarded from this function's contract.
                    unsafe { <Self as $allocator>::deallocate(self, ptr, old) };
                    return Ok(dangling(new));
                }
                // SAFETY: the caller's `Allocator::shrink` contract: `ptr` is a live block
                // for `old`.
                let block = unsafe { Locked::resize(self, ptr, old, new) };
                Ok(NonNull::slice_from_raw_parts(
                    block.map_err(|_| $error)?,
                    new.size(),
                ))
            }
        }
    };
}

#[cfg(feature = "allocator-api2")]
impl_allocator!(
    allocator_api2::alloc::Allocator,
    allocator_api2::alloc::AllocError
);

#[cfg(feature = "nightly")]
impl_allocator!(core::alloc::Allocator, core::alloc::AllocError);

#[cfg(all(test, feature = "allocator-api2"))]
mod tests;
