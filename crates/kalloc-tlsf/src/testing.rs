//! Helpers shared by the unit tests: word-aligned buffers and layouts.

use crate::Tlsf;
use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_core::MemorySource;
use std::vec::Vec;

/// A heap-allocated buffer with a base pointer taken once, so every pointer derived from
/// it shares its provenance (as pools cut from one region do). The base lies one word past
/// a granule boundary, where a pool's first header goes: a pool at offset 0 skips no lead,
/// and one of a whole number of granules has no slack either.
pub(crate) struct Buffer {
    _bytes: Vec<u64>,
    base: NonNull<u8>,
    len: usize,
}

impl Buffer {
    pub(crate) fn new(len: usize) -> Buffer {
        let mut bytes = std::vec![0u64; len.div_ceil(8) + 1];
        let start = NonNull::new(bytes.as_mut_ptr().cast::<u8>()).unwrap();
        let skip = crate::pool::lead(start.as_ptr().addr());
        // SAFETY: the vector has one spare word, and `skip` is at most a word.
        let base = unsafe { start.add(skip) };
        Buffer {
            _bytes: bytes,
            base,
            len,
        }
    }

    /// The pointer `offset` bytes in.
    pub(crate) fn at(&self, offset: usize) -> NonNull<u8> {
        assert!(offset <= self.len);
        // SAFETY: `offset <= len`, inside (or one past) the buffer.
        unsafe { self.base.add(offset) }
    }

    pub(crate) fn addr(&self) -> usize {
        self.base.as_ptr().addr()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

pub(crate) fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A heap with the default geometry over the whole of `buffer`, checked.
pub(crate) fn fresh(buffer: &Buffer) -> Tlsf<'_> {
    let mut heap = Tlsf::new();
    heap_over(buffer, &mut heap);
    heap.check().unwrap();
    heap
}

/// A heap over the whole of `buffer`.
pub(crate) fn heap_over<S: MemorySource>(buffer: &Buffer, heap: &mut Tlsf<'_, S>) {
    // SAFETY: the buffer outlives the heap in every test and is used by nothing else.
    unsafe { heap.add_pool(buffer.at(0), buffer.len()) }.unwrap();
}

/// Writes `byte` over the allocation.
pub(crate) fn fill(ptr: NonNull<u8>, len: usize, byte: u8) {
    // SAFETY: tests call this on live allocations of at least `len` bytes.
    unsafe { ptr.as_ptr().write_bytes(byte, len) };
}

/// Whether the allocation holds `byte` throughout.
pub(crate) fn holds(ptr: NonNull<u8>, len: usize, byte: u8) -> bool {
    // SAFETY: tests call this on live allocations of at least `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) };
    bytes.iter().all(|&b| b == byte)
}
