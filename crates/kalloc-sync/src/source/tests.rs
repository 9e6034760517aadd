extern crate std;

use crate::test_heap::{Memory, SLOT, SlotHeap};
use crate::{BackoffLock, Growing, Locked};
use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_core::{
    Align, ByteHeap, Error, FixedRegion, MemorySource, MemorySourceMut, Source, SourceMut, Span,
};
use std::vec::Vec;

/// Hands out numbers from a counter; refuses releases of what it never gave.
struct Counter {
    next: usize,
}

impl SourceMut for Counter {
    fn import(&mut self, size: usize, _align: Align) -> Result<Span, Error> {
        let span = Span::try_new(self.next, size)?;
        self.next = span.end();
        Ok(span)
    }

    fn release(&mut self, span: Span) -> Result<(), Error> {
        if span.end() > self.next {
            return Err(Error::ForeignPointer);
        }
        Ok(())
    }
}

#[test]
fn threads_share_one_source() {
    let source: Locked<Counter, BackoffLock> = Locked::new(Counter { next: 0 });
    let rounds = if cfg!(miri) { 10 } else { 1000 };
    let spans: Vec<Span> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let source = &source;
                scope.spawn(move || {
                    (0..rounds)
                        .map(|_| source.import(3, Align::ONE).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut bases: Vec<usize> = spans.iter().map(|s| s.base()).collect();
    bases.sort_unstable();
    let expected: Vec<usize> = (0..2 * rounds).map(|i| i * 3).collect();
    assert_eq!(bases, expected, "no span handed out twice, none skipped");
    assert_eq!(source.release(Span::new(0, 3)), Ok(()));
    assert_eq!(
        source.release(Span::new(6 * rounds, 3)),
        Err(Error::ForeignPointer)
    );
}

/// A memory region as a `SourceMut`, to check the `MemorySource` forwarding.
struct Region<'m>(FixedRegion<'m>);

impl SourceMut for Region<'_> {
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        self.0.import(size, align)
    }

    fn release(&mut self, span: Span) -> Result<(), Error> {
        self.0.release(span)
    }
}

// SAFETY: forwards to `FixedRegion`, a `MemorySource`.
unsafe impl MemorySourceMut for Region<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        self.0.ptr(span)
    }
}

/// Two heaps grow from one locked region through `&Locked`.
#[test]
fn locked_memory_source_feeds_growing_heaps() {
    let mut memory = Memory::<{ 4 * SLOT }>::new();
    let source: Locked<_, BackoffLock> =
        Locked::new(Region(FixedRegion::from_slice(&mut memory.0)));
    let mut left = Growing::new(SlotHeap::empty(), &source);
    let mut right = Growing::new(SlotHeap::empty(), &source);
    let layout = Layout::from_size_align(8, 8).unwrap();
    let a = left.allocate(layout).unwrap();
    let b = right.allocate(layout).unwrap();
    assert_ne!(a, b);
    assert_eq!(source.lock().0.stats().free, 2 * SLOT);
    let foreign = Span::new(a.as_ptr().addr() + 8 * SLOT, 8);
    assert_eq!(source.ptr(foreign), Err(Error::ForeignPointer));
    // SAFETY: each block is live for `layout` and freed once.
    unsafe {
        left.deallocate(a, layout).unwrap();
        right.deallocate(b, layout).unwrap();
    }
}
