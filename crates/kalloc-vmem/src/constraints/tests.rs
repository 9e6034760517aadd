use super::*;

#[test]
fn normalize_validates_and_rounds() {
    let c = Constraints::new();
    assert_eq!(c.align(3).normalize(16, 16), Err(Error::BadAlign));
    assert_eq!(c.nocross(48).normalize(16, 16), Err(Error::BadAlign));
    assert_eq!(
        c.align(64).phase(64).normalize(16, 16),
        Err(Error::BadConstraint)
    );
    assert_eq!(
        c.align(64).phase(8).normalize(16, 16),
        Err(Error::Misaligned)
    );
    assert_eq!(c.nocross(16).normalize(32, 16), Err(Error::BadConstraint));
    assert_eq!(c.min(5).max(5).normalize(16, 16), Err(Error::BadConstraint));
    assert_eq!(
        c.min(17).max(47).normalize(16, 16),
        Err(Error::BadConstraint)
    );
    let fit = c.align(4).min(17).max(63).normalize(16, 16).unwrap();
    assert_eq!((fit.align_mask, fit.min, fit.max), (15, 32, 48));
    assert!(!fit.is_simple());
    assert!(Fit::plain(16, 16).is_simple());
    assert_eq!(Constraints::default(), Constraints::new());
}

#[test]
fn place_respects_alignment_phase_and_window() {
    let fit = Constraints::new()
        .align(0x100)
        .phase(0x10)
        .normalize(0x20, 0x10)
        .unwrap();
    assert_eq!(fit.place(0x1000, 0x2000, 0), Some(0x1010));
    assert_eq!(fit.place(0x1011, 0x2000, 0), Some(0x1110));
    assert_eq!(fit.place(0x1011, 0x1130, 0), Some(0x1110));
    assert_eq!(fit.place(0x1011, 0x112f, 0), None);
    assert_eq!(fit.place(0x1000, 0x2000, 0x1500), Some(0x1510));
    let window = Constraints::new()
        .min(0x1800)
        .max(0x1900)
        .normalize(0x100, 1)
        .unwrap();
    assert_eq!(window.place(0x1000, 0x2000, 0), Some(0x1800));
    assert_eq!(
        window.place(0x1801, 0x2000, 0),
        None,
        "the end would pass max"
    );
}

#[test]
fn place_respects_nocross() {
    let fit = Constraints::new()
        .nocross(0x100)
        .normalize(0x80, 0x10)
        .unwrap();
    assert_eq!(fit.place(0x1000, 0x2000, 0), Some(0x1000));
    assert_eq!(fit.place(0x10a0, 0x2000, 0), Some(0x1100));
    assert_eq!(fit.place(0x10a0, 0x1170, 0), None);
    assert_eq!(fit.place(0x1080, 0x2000, 0), Some(0x1080));
    let phased = Constraints::new()
        .align(0x40)
        .phase(0x30)
        .nocross(0x100)
        .normalize(0x60, 0x10);
    let phased = phased.unwrap();
    // 0x0f0 + 0x60 crosses 0x100; the next start ≡ 0x30 (mod 0x40) past it is 0x130.
    assert_eq!(phased.place(0x0c1, 0x1000, 0), Some(0x130));
    // A phase that pushes every start across the boundary.
    let never = Constraints::new()
        .align(0x100)
        .phase(0xc0)
        .nocross(0x100)
        .normalize(0x80, 0x10);
    assert_eq!(never.unwrap().place(0, 0x10000, 0), None);
}

#[test]
fn place_never_wraps() {
    let top = usize::MAX;
    let fit = Constraints::new()
        .align(0x1000)
        .phase(0x800)
        .normalize(0x10, 1)
        .unwrap();
    assert_eq!(fit.place(top - 0x7ff, top, 0), Some(top - 0x7ff));
    assert_eq!(fit.place(top - 0x7ef, top, 0), None);
    assert_eq!(fit.place(top - 0x1000, top, 0), Some(top - 0x7ff));
    let nocross = Constraints::new()
        .nocross(0x100)
        .normalize(0x80, 1)
        .unwrap();
    assert_eq!(nocross.place(top - 0x140, top, 0), Some(top - 0xff));
    assert_eq!(nocross.place(top - 0x140, top - 0x80, 0), None);
    assert_eq!(fit.worst_case(0), Some(0x10 + 0xfff));
    let huge = Constraints::new()
        .align(1 << (usize::BITS - 1))
        .normalize(16, 1)
        .unwrap();
    assert_eq!(huge.worst_case(0), Some(16 + (1 << (usize::BITS - 1)) - 1));
    let big = Constraints::new()
        .align(1 << (usize::BITS - 1))
        .normalize(usize::MAX / 2 + 2, 1);
    assert_eq!(big.unwrap().worst_case(0), None);
}
