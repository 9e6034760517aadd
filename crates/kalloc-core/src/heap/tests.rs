use super::*;
use crate::{FixedRegion, MemorySource, Source};

/// The smallest honest `ByteHeap`: every block comes fresh from a `FixedRegion`, freeing
/// gives it back. It exercises the trait's default `grow` / `shrink`.
struct RegionHeap<'a> {
    region: FixedRegion<'a>,
    live: usize,
}

// SAFETY: blocks are disjoint spans of the region (FixedRegion's MemorySource promise).
unsafe impl ByteHeap for RegionHeap<'_> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        let span = self
            .region
            .import(layout.size(), Align::of_layout(layout))?;
        self.live += 1;
        self.region.ptr(span)
    }
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error> {
        self.region
            .release(crate::Span::new(ptr.as_ptr().addr(), layout.size()))?;
        self.live -= 1;
        Ok(())
    }
    fn stats(&self) -> Stats {
        Stats {
            allocations: self.live,
            ..self.region.stats()
        }
    }
}

#[test]
fn default_grow_and_shrink_move_and_keep_contents() {
    let mut memory = [0u8; 256];
    let mut heap = RegionHeap {
        region: FixedRegion::from_slice(&mut memory),
        live: 0,
    };
    let small = Layout::from_size_align(8, 8).unwrap();
    let big = Layout::from_size_align(32, 8).unwrap();
    let ptr = heap.allocate(small).unwrap();
    // SAFETY: `ptr` is valid for 8 bytes.
    unsafe {
        ptr.as_ptr()
            .copy_from_nonoverlapping([1, 2, 3, 4, 5, 6, 7, 8].as_ptr(), 8)
    };
    // SAFETY: `ptr` is live for `small`.
    let grown = unsafe { heap.grow(ptr, small, big) }.unwrap();
    assert_ne!(grown, ptr);
    // SAFETY: `grown` is valid for 32 bytes, the first 8 were copied.
    let kept = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 8) };
    assert_eq!(kept, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let tiny = Layout::from_size_align(4, 4).unwrap();
    // SAFETY: `grown` is live for `big`.
    let shrunk = unsafe { heap.shrink(grown, big, tiny) }.unwrap();
    // SAFETY: `shrunk` is valid for 4 bytes.
    let kept = unsafe { core::slice::from_raw_parts(shrunk.as_ptr(), 4) };
    assert_eq!(kept, &[1, 2, 3, 4]);
    assert_eq!(heap.stats().allocations, 1);
    // SAFETY: `shrunk` is live for `tiny`.
    unsafe { heap.deallocate(shrunk, tiny) }.unwrap();
    assert_eq!(heap.stats().allocations, 0);
    assert_eq!(heap.stats().in_use, 0);
}

#[test]
fn failed_grow_leaves_the_block_owned() {
    let mut memory = [0u8; 64];
    let mut heap = RegionHeap {
        region: FixedRegion::from_slice(&mut memory),
        live: 0,
    };
    let small = Layout::from_size_align(16, 1).unwrap();
    let huge = Layout::from_size_align(1024, 1).unwrap();
    let ptr = heap.allocate(small).unwrap();
    // SAFETY: `ptr` is live for `small`.
    let refused = unsafe { heap.grow(ptr, small, huge) };
    assert_eq!(refused, Err(Error::Exhausted));
    assert_eq!(heap.stats().allocations, 1);
    // SAFETY: `ptr` is still live for `small` after the failed grow.
    unsafe { heap.deallocate(ptr, small) }.unwrap();
}
