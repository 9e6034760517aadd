use super::*;

#[test]
fn pieces_are_disjoint_aligned_and_inside() {
    let region = FixedRegion::new(Span::new(3, 1000));
    let a = region.import(10, Align::ONE).unwrap();
    let b = region.import(10, Align::new(16)).unwrap();
    let c = region.import(1, Align::new(256)).unwrap();
    assert_eq!(a, Span::new(3, 10));
    assert_eq!(b, Span::new(16, 10));
    assert_eq!(c, Span::new(256, 1));
    for piece in [a, b, c] {
        assert!(region.span().contains_span(piece));
    }
    assert!(!a.overlaps(b) && !b.overlaps(c));
    let stats = region.stats();
    assert_eq!(stats.in_use, 21);
    assert_eq!(stats.free, 1003 - 257);
    assert_eq!(stats.overhead(), 1000 - 21 - (1003 - 257));
}

#[test]
fn zero_and_oversized_requests() {
    let region = FixedRegion::new(Span::new(1, 100));
    assert_eq!(region.import(0, Align::ONE), Err(Error::ZeroSize));
    assert_eq!(region.import(101, Align::ONE), Err(Error::Exhausted));
    assert_eq!(region.import(usize::MAX, Align::ONE), Err(Error::Exhausted));
    assert_eq!(region.import(1, Align::new(128)), Err(Error::Exhausted));
    assert_eq!(region.stats().free, 100, "refusals change nothing");
}

#[test]
fn region_touching_usize_max() {
    let region = FixedRegion::new(Span::new(usize::MAX - 64, 64));
    let piece = region.import(64, Align::ONE).unwrap();
    assert_eq!(piece.end(), usize::MAX);
    assert_eq!(region.import(1, Align::ONE), Err(Error::Exhausted));
    region.release(piece).unwrap();
    assert_eq!(
        region.import(1, Align::new(1 << (usize::BITS - 1))),
        Err(Error::Exhausted)
    );
}

#[test]
fn lifo_release_rewinds_and_full_release_restarts() {
    let region = FixedRegion::new(Span::new(0, 100));
    let a = region.import(30, Align::ONE).unwrap();
    let b = region.import(30, Align::ONE).unwrap();
    region.release(b).unwrap();
    assert_eq!(region.stats().free, 70, "the top piece is recycled");
    let b2 = region.import(30, Align::ONE).unwrap();
    assert_eq!(b2, b);
    region.release(a).unwrap();
    assert_eq!(region.stats().free, 40, "a lower piece is not reusable yet");
    region.release(b2).unwrap();
    assert_eq!(region.stats().free, 100, "everything back: start over");
}

#[test]
fn bad_releases_are_refused_without_change() {
    let region = FixedRegion::new(Span::new(100, 100));
    let a = region.import(10, Align::ONE).unwrap();
    let before = region.stats();
    assert_eq!(region.release(Span::new(0, 10)), Err(Error::ForeignPointer));
    assert_eq!(
        region.release(Span::new(105, 10)),
        Err(Error::ForeignPointer),
        "past the cursor"
    );
    assert_eq!(region.release(Span::empty(100)), Err(Error::ForeignPointer));
    assert_eq!(region.stats(), before);
    let b = region.import(10, Align::ONE).unwrap();
    region.release(a).unwrap();
    assert_eq!(
        region.release(a),
        Ok(()),
        "b still outstanding: indistinguishable from b's bytes"
    );
    assert_eq!(
        region.release(b),
        Err(Error::ForeignPointer),
        "the double release restarted the region"
    );
}

#[test]
fn release_of_more_than_outstanding_is_a_double_free() {
    let region = FixedRegion::new(Span::new(0, 100));
    let _a = region.import(10, Align::ONE).unwrap();
    let b = region.import(20, Align::ONE).unwrap();
    let _c = region.import(5, Align::ONE).unwrap();
    region.release(b).unwrap();
    let before = region.stats();
    assert_eq!(before.in_use, 15);
    assert_eq!(region.release(b), Err(Error::DoubleFree));
    assert_eq!(region.stats(), before);
}

#[test]
fn numbers_have_no_pointers() {
    let region = FixedRegion::new(Span::new(0, 100));
    let a = region.import(10, Align::ONE).unwrap();
    assert_eq!(region.ptr(a), Err(Error::ForeignPointer));
}

#[test]
fn memory_pointers_cover_their_piece() {
    let mut memory = [0u8; 128];
    {
        let region = FixedRegion::from_slice(&mut memory);
        let a = region.import(16, Align::new(8)).unwrap();
        let b = region.import(16, Align::new(8)).unwrap();
        let (pa, pb) = (region.ptr(a).unwrap(), region.ptr(b).unwrap());
        assert_eq!(pa.as_ptr().addr(), a.base());
        assert_eq!(pb.as_ptr().addr(), b.base());
        // SAFETY: each pointer is valid for its 16 bytes, which do not overlap.
        unsafe {
            pa.as_ptr().write_bytes(1, 16);
            pb.as_ptr().write_bytes(2, 16);
        }
        assert_eq!(region.ptr(Span::new(0, 1)), Err(Error::ForeignPointer));
    }
    assert_eq!(memory.iter().filter(|&&x| x == 1).count(), 16);
    assert_eq!(memory.iter().filter(|&&x| x == 2).count(), 16);
}
