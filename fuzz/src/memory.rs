//! [`AlignedMemory`]: a zeroed, aligned buffer from the test process's heap, for the
//! allocators under test to manage (they need block- or page-aligned regions that
//! `vec![0u8; n]` does not guarantee).

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

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

    /// The whole buffer, borrowed mutably through `self`.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live, zero-initialised allocation of `layout.size()` bytes
        // (made in `new`, freed only in `drop`), and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
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
}
