use super::*;

const MAX: usize = usize::MAX;

#[test]
fn constructors_refuse_to_wrap() {
    assert_eq!(Span::try_new(MAX, 0), Ok(Span::empty(MAX)));
    assert_eq!(Span::try_new(MAX - 1, 1).map(Span::end), Ok(MAX));
    assert_eq!(Span::try_new(MAX, 1), Err(Error::Overflow));
    assert_eq!(Span::try_new(1, MAX), Err(Error::Overflow));
    assert_eq!(Span::try_new(0, MAX).map(Span::end), Ok(MAX));
    assert_eq!(Span::from_bounds(10, 4), Err(Error::Overflow));
    assert_eq!(Span::from_bounds(4, 10), Ok(Span::new(4, 6)));
    assert_eq!(Span::try_from(3..3), Ok(Span::empty(3)));
    assert_eq!(Range::from(Span::new(3, 2)), 3..5);
    // SAFETY: 5 + 6 does not overflow.
    assert_eq!(unsafe { Span::new_unchecked(5, 6) }, Span::new(5, 6));
}

#[test]
#[should_panic(expected = "overflows")]
fn new_panics_when_the_end_would_wrap() {
    let _ = Span::new(MAX, 1);
}

#[test]
fn accessors_at_the_top_of_the_range() {
    let top = Span::new(MAX - 4, 4);
    assert_eq!(top.end(), MAX);
    assert_eq!(top.last(), Some(MAX - 1));
    assert!(top.contains(MAX - 1));
    assert!(!top.contains(MAX));
    assert!(!top.contains(MAX - 5));
    assert_eq!(Span::empty(7).last(), None);
    assert!(Span::empty(7).is_empty());
}

#[test]
fn empty_spans_contain_and_overlap_nothing() {
    let empty = Span::empty(10);
    assert!(!empty.contains(10));
    assert!(!empty.overlaps(Span::new(0, 100)));
    assert!(!Span::new(0, 100).overlaps(empty));
    assert!(Span::new(0, 100).contains_span(empty));
    assert!(
        Span::new(0, 10).contains_span(empty),
        "a position at the end is inside"
    );
    assert!(!Span::new(0, 9).contains_span(empty));
    assert_eq!(empty.intersection(Span::new(0, 100)), None);
}

#[test]
fn overlap_and_adjacency() {
    let a = Span::new(0, 10);
    let b = Span::new(10, 10);
    let c = Span::new(5, 10);
    assert!(!a.overlaps(b) && a.is_adjacent(b) && b.is_adjacent(a));
    assert!(a.overlaps(c) && c.overlaps(b));
    assert_eq!(a.intersection(c), Some(Span::new(5, 5)));
    assert_eq!(a.merge(b), Some(Span::new(0, 20)));
    assert_eq!(c.merge(a), Some(Span::new(0, 15)));
    assert_eq!(a.merge(Span::new(11, 1)), None);
    assert!(!a.is_adjacent(Span::new(11, 1)));
    let top = Span::new(MAX - 1, 1);
    assert!(top.overlaps(Span::new(MAX - 10, 10)));
    assert_eq!(
        Span::new(MAX - 10, 9).merge(top),
        Some(Span::new(MAX - 10, 10))
    );
}

#[test]
fn split_prefix_skip() {
    let s = Span::new(100, 50);
    assert_eq!(s.split_at(0), Some((Span::empty(100), s)));
    assert_eq!(s.split_at(50), Some((s, Span::empty(150))));
    assert_eq!(s.split_at(51), None);
    assert_eq!(s.prefix(20), Some(Span::new(100, 20)));
    assert_eq!(s.skip(20), Some(Span::new(120, 30)));
    assert_eq!(s.prefix(51), None);
    assert_eq!(s.skip(51), None);
    let top = Span::new(MAX - 8, 8);
    assert_eq!(top.split_at(8), Some((top, Span::empty(MAX))));
}

#[test]
fn alignment_inward_and_outward() {
    let page = Align::new(0x1000);
    assert_eq!(
        Span::new(0x1001, 0x2fff).align_inward(page),
        Some(Span::new(0x2000, 0x2000))
    );
    assert_eq!(Span::new(0x1001, 0x10).align_inward(page), None);
    assert_eq!(
        Span::new(0x1001, 0xfff).align_inward(page),
        Some(Span::empty(0x2000))
    );
    assert_eq!(
        Span::new(0x1001, 0x10).align_outward(page),
        Some(Span::new(0x1000, 0x1000))
    );
    assert!(Span::new(0x2000, 0x3000).is_aligned(page));
    assert!(!Span::new(0x2000, 0x3001).is_aligned(page));
    // Near the top: inward rounding of the base would wrap, outward rounding of the end would.
    assert_eq!(Span::new(MAX - 2, 2).align_inward(page), None);
    assert_eq!(Span::new(MAX - 2, 2).align_outward(page), None);
    let top_page = page.align_down(MAX);
    assert_eq!(
        Span::new(top_page - 1, 1).align_outward(page),
        Some(Span::new(top_page - 0x1000, 0x1000))
    );
}

#[test]
fn fit_places_an_aligned_piece() {
    let s = Span::new(3, 100);
    assert_eq!(s.fit(8, Align::new(8)), Some(Span::new(8, 8)));
    assert_eq!(s.fit(95, Align::new(8)), Some(Span::new(8, 95)));
    assert_eq!(s.fit(96, Align::new(8)), None);
    assert_eq!(s.fit(0, Align::new(64)), Some(Span::empty(64)));
    assert_eq!(s.fit(0, Align::new(128)), None);
    assert_eq!(Span::new(MAX - 10, 10).fit(4, Align::new(4096)), None);
    assert_eq!(Span::new(MAX - 10, 10).fit(MAX, Align::ONE), None);
}

#[test]
fn debug_prints_half_open_hex() {
    extern crate std;
    assert_eq!(std::format!("{:?}", Span::new(0x10, 0x10)), "[0x10, 0x20)");
}
