//! kalloc-core never touches a heap: every check below runs with the heap forbidden.

use kalloc_core::{
    Align, Error, FixedRegion, MemorySource, NoSource, Source, SourceCell, SourceMut, Span,
};
use kalloc_fuzz::no_heap::{NoHeap, run};

#[global_allocator]
static GUARD: NoHeap = NoHeap;

fn spans() {
    let span = Span::new(0x1000, 0x3000);
    let (low, high) = span.split_at(0x800).unwrap();
    assert_eq!(low.merge(high), Some(span));
    assert_eq!(
        span.align_inward(Align::new(0x2000)),
        Some(Span::new(0x2000, 0x2000))
    );
    assert_eq!(Span::try_new(usize::MAX, 1), Err(Error::Overflow));
    assert!(Span::new(usize::MAX - 1, 1).contains(usize::MAX - 1));
}

fn fixed_region_memory() {
    let mut memory = [0u8; 1024];
    let region = FixedRegion::from_slice(&mut memory);
    let a = region.import(100, Align::new(8)).unwrap();
    let b = region.import(100, Align::new(64)).unwrap();
    // SAFETY: each pointer is valid for its span's bytes until release.
    unsafe {
        region.ptr(a).unwrap().as_ptr().write_bytes(1, a.len());
        region.ptr(b).unwrap().as_ptr().write_bytes(2, b.len());
    }
    region.release(b).unwrap();
    region.release(a).unwrap();
    assert_eq!(region.stats().free, 1024);
    assert_eq!(region.release(a), Err(Error::ForeignPointer));
}

struct Counter(usize);

impl SourceMut for Counter {
    fn import(&mut self, size: usize, _align: Align) -> Result<Span, Error> {
        let span = Span::try_new(self.0, size)?;
        self.0 = span.end();
        Ok(span)
    }
    fn release(&mut self, _span: Span) -> Result<(), Error> {
        Ok(())
    }
}

fn shared_sources() {
    let cell = SourceCell::new(Counter(0));
    let (a, b) = (&cell, &cell);
    assert_eq!(a.import(5, Align::ONE), Ok(Span::new(0, 5)));
    assert_eq!(b.import(5, Align::ONE), Ok(Span::new(5, 5)));
    assert_eq!(NoSource.import(1, Align::ONE), Err(Error::Exhausted));
    let error: &dyn core::error::Error = &Error::DoubleFree;
    assert!(error.source().is_none());
}

fn main() {
    run(&[
        ("span arithmetic", spans),
        ("fixed region over memory", fixed_region_memory),
        ("shared sources", shared_sources),
    ]);
}
