//! [`AlignedMemory`]: a zeroed, aligned buffer from the test process's heap, for the
//! allocators under test to manage (they need block- or page-aligned regions that
//! `vec![0u8; n]` does not guarantee).
//!
//! Harnesses that ask for alignments up to [`PAGE`] should manage a
//! [`page_aligned`](AlignedMemory::page_aligned) buffer: where an aligned request lands,
//! and so what a fuzz input does, then no longer depends on where the system allocator put
//! the buffer, and a given input behaves identically on every run.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

/// The largest alignment the harnesses request (the arena's `MAX_ALIGN`, TLSF's and the
/// locked heap's alignments up to `1 << 12`), and that of a [`page_aligned`] buffer.
///
/// [`page_aligned`]: AlignedMemory::page_aligned
pub const PAGE: usize = 4096;

/// `len` zeroed bytes aligned to `align`, freed on drop.
#[derive(Debug)]
pub struct AlignedMemory {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl AlignedMemory {
    /// A buffer of `len > 0` bytes aligned to the power of two `align`.
    ///
    /// # Panics
    /// When `len` is zero, the layout is invalid, or the system allocator fails.
    #[must_use]
    pub fn new(len: usize, align: usize) -> AlignedMemory {
        assert!(len > 0, "an empty buffer manages nothing");
        let layout = Layout::from_size_align(len, align).expect("a valid layout");
        // SAFETY: `layout` has a non-zero size (asserted above).
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("test memory");
        AlignedMemory { ptr, layout }
    }

    /// A buffer of `len > 0` bytes aligned to [`PAGE`], so that every alignment a harness
    /// asks for falls at the same offsets on every run.
    ///
    /// # Panics
    /// As [`new`](Self::new).
    #[must_use]
    pub fn page_aligned(len: usize) -> AlignedMemory {
        AlignedMemory::new(len, PAGE)
    }

    /// The whole buffer, borrowed mutably through `self`.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live, zero-initialised allocation of `layout.size()` bytes
        // (made in `new`, freed only in `drop`), and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// The start of the buffer, for harnesses that hand out raw pieces of it. Like
    /// `Vec::as_mut_ptr`, it creates no reference, so pointers taken earlier stay valid.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for AlignedMemory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, and freed only here, once.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_zeroed_and_the_requested_length() {
        let mut memory = AlignedMemory::new(3 * 4096, 4096);
        let bytes = memory.bytes();
        assert_eq!(bytes.len(), 3 * 4096);
        assert_eq!(bytes.as_ptr().addr() % 4096, 0);
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn page_aligned_buffers_of_any_length() {
        for len in [1, 100, 3 * PAGE + 5] {
            let mut memory = AlignedMemory::page_aligned(len);
            let base = memory.as_mut_ptr();
            assert_eq!(base.addr() % PAGE, 0, "len {len}");
            let bytes = memory.bytes();
            assert_eq!((bytes.len(), bytes.as_mut_ptr()), (len, base));
            assert!(bytes.iter().all(|&b| b == 0));
            bytes[len - 1] = 7;
            // SAFETY: `base` points at the live buffer of `len` bytes, and the slice
            // borrowed above is no longer used.
            assert_eq!(unsafe { base.add(len - 1).read() }, 7);
        }
    }
}
