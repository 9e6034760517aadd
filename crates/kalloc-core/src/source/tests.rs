use super::*;
use crate::FixedRegion;

#[test]
fn no_source_has_nothing() {
    assert_eq!(NoSource.import(1, Align::ONE), Err(Error::Exhausted));
    assert_eq!(
        NoSource.release(Span::new(0, 1)),
        Err(Error::ForeignPointer)
    );
    assert_eq!(NoSource.ptr(Span::new(0, 1)), Err(Error::ForeignPointer));
}

struct Reentrant<'a> {
    outer: Option<&'a SourceCell<Reentrant<'a>>>,
}

impl SourceMut for Reentrant<'_> {
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        match self.outer {
            Some(cell) => cell.import(size, align),
            None => Ok(Span::new(0, size)),
        }
    }
    fn release(&mut self, _span: Span) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn source_cell_reports_reentrancy_as_busy() {
    let plain = SourceCell::new(Reentrant { outer: None });
    assert_eq!(plain.import(3, Align::ONE), Ok(Span::new(0, 3)));

    let cell = SourceCell::new(Reentrant { outer: None });
    // Point the inner source back at its own cell: its import re-enters the cell.
    let cell_ref: &SourceCell<Reentrant<'_>> = &cell;
    cell_ref.with(|inner| inner.outer = Some(cell_ref)).unwrap();
    assert_eq!(cell_ref.import(3, Align::ONE), Err(Error::Busy));
}

#[test]
fn references_forward() {
    let region = FixedRegion::new(Span::new(0, 100));
    let by_ref: &FixedRegion<'_> = &region;
    let by_ref_ref = &by_ref;
    let span = by_ref_ref.import(10, Align::ONE).unwrap();
    assert_eq!(span, Span::new(0, 10));
    by_ref_ref.release(span).unwrap();
    assert_eq!(region.stats().in_use, 0);
}

#[test]
fn source_cell_forwards_memory_pointers() {
    struct Wrap<'a>(&'a FixedRegion<'a>);
    impl SourceMut for Wrap<'_> {
        fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
            self.0.import(size, align)
        }
        fn release(&mut self, span: Span) -> Result<(), Error> {
            self.0.release(span)
        }
    }
    // SAFETY: forwards to a `FixedRegion`, which makes the promises.
    unsafe impl MemorySourceMut for Wrap<'_> {
        fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
            self.0.ptr(span)
        }
    }
    let mut memory = [0u8; 64];
    {
        let region = FixedRegion::from_slice(&mut memory);
        let cell = SourceCell::new(Wrap(&region));
        let span = cell.import(16, Align::new(8)).unwrap();
        let ptr = cell.ptr(span).unwrap();
        assert_eq!(ptr.as_ptr().addr(), span.base());
        // SAFETY: `ptr` is valid for the 16 bytes of `span` (MemorySource promise 1).
        unsafe { ptr.as_ptr().write_bytes(0xAB, 16) };
        cell.release(span).unwrap();
    }
    assert!(memory.iter().filter(|&&b| b == 0xAB).count() == 16);
}
