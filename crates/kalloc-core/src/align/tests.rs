use super::*;

#[test]
fn new_accepts_every_power_of_two_and_nothing_else() {
    for shift in 0..usize::BITS {
        let align = Align::try_new(1 << shift).unwrap();
        assert_eq!(align.get(), 1 << shift);
        assert_eq!(align.log2(), shift);
        assert_eq!(Align::from_log2(shift), Ok(align));
    }
    for bad in [0, 3, 6, 12, 24, usize::MAX, (1 << (usize::BITS - 1)) + 1] {
        assert_eq!(Align::try_new(bad), Err(Error::BadAlign), "{bad}");
    }
    assert_eq!(Align::from_log2(usize::BITS), Err(Error::BadAlign));
}

#[test]
#[should_panic(expected = "power of two")]
fn new_panics_on_non_power_of_two() {
    let _ = Align::new(12);
}

#[test]
fn rounding_is_exact_below_the_top() {
    let a = Align::new(16);
    assert_eq!(a.align_up(0), Some(0));
    assert_eq!(a.align_up(1), Some(16));
    assert_eq!(a.align_up(16), Some(16));
    assert_eq!(a.align_up(17), Some(32));
    assert_eq!(a.align_down(31), 16);
    assert_eq!(a.offset_of(31), 15);
    assert!(a.is_aligned(32));
    assert!(!a.is_aligned(33));
}

#[test]
fn rounding_up_at_usize_max_is_refused() {
    let a = Align::new(4096);
    let top = a.align_down(usize::MAX);
    assert_eq!(a.align_up(top), Some(top));
    assert_eq!(a.align_up(top + 1), None);
    assert_eq!(a.align_up(usize::MAX), None);
    assert_eq!(Align::ONE.align_up(usize::MAX), Some(usize::MAX));
    assert_eq!(Align::MAX.align_up(1), Some(Align::MAX.get()));
    assert_eq!(Align::MAX.align_up(Align::MAX.get() + 1), None);
}

#[test]
fn conversions_and_max() {
    assert_eq!(Align::of::<u64>().get(), align_of::<u64>());
    let layout = Layout::from_size_align(8, 64).unwrap();
    assert_eq!(Align::of_layout(layout), Align::new(64));
    assert_eq!(Align::try_from(8usize), Ok(Align::new(8)));
    assert_eq!(usize::from(Align::new(8)), 8);
    assert_eq!(Align::new(8).max(Align::new(32)), Align::new(32));
    assert_eq!(Align::new(64).max(Align::new(32)), Align::new(64));
    // SAFETY: 128 is a power of two.
    assert_eq!(unsafe { Align::new_unchecked(128) }, Align::new(128));
}
