use super::*;

type Wide = Classes<24, 32>;
type Narrow = Classes<8, 4>;

#[test]
fn small_sizes_map_one_to_one() {
    for size in (GRANULE..32 * GRANULE).step_by(GRANULE) {
        assert_eq!(Wide::floor(size), (0, size / GRANULE));
        assert_eq!(Wide::ceil(size), Some((0, size / GRANULE)));
    }
}

#[test]
fn every_size_lies_in_its_floor_class_and_below_its_ceil_class() {
    fn check<const FL: usize, const SL: usize>() {
        let mut size = MIN_BLOCK;
        while size <= Classes::<FL, SL>::MAX_BLOCK {
            let (fl, sl) = Classes::<FL, SL>::floor(size);
            assert!(fl < FL && sl < SL, "size {size}");
            let low = Classes::<FL, SL>::lower_bound(fl, sl);
            assert!(low <= size, "size {size} below its class {low}");
            let next = if sl + 1 < SL {
                Classes::<FL, SL>::lower_bound(fl, sl + 1)
            } else {
                Classes::<FL, SL>::lower_bound(fl + 1, 0)
            };
            assert!(size < next, "size {size} above its class");
            if let Some((cf, cs)) = Classes::<FL, SL>::ceil(size) {
                let bound = Classes::<FL, SL>::lower_bound(cf, cs);
                assert!(bound >= size, "ceil of {size} holds smaller blocks");
                assert!((cf, cs) >= (fl, sl));
                assert!(bound - size < next - low, "ceil of {size} skips a class");
            } else {
                assert!(fl == FL - 1, "only top-class sizes have no ceil");
            }
            // Walk sizes densely near boundaries, sparsely elsewhere.
            size += (size / 64).max(GRANULE) & !(GRANULE - 1);
        }
    }
    check::<24, 32>();
    check::<8, 4>();
    check::<20, 16>();
}

/// The class mapping written independently, the plain way (a division for the rounding):
/// what `floor` and `ceil`, which use shifts and one bit scan, must agree with.
fn reference<const FL: usize, const SL: usize>(
    size: usize,
) -> ((usize, usize), Option<(usize, usize)>) {
    let sl_log2 = SL.trailing_zeros();
    let shift = sl_log2 + GRANULE_LOG2;
    if size < 1 << shift {
        let class = (0, size / GRANULE);
        return (class, Some(class));
    }
    let log = size.ilog2();
    let floor = (
        (log - shift + 1) as usize,
        (size >> (log - sl_log2)) & (SL - 1),
    );
    let step = 1usize << (log - sl_log2);
    let rounded = size.div_ceil(step) * step;
    let ceil = if rounded >> (log + 1) != 0 {
        (floor.0 + 1, 0)
    } else {
        (floor.0, (rounded >> (log - sl_log2)) & (SL - 1))
    };
    (floor, (ceil.0 < FL).then_some(ceil))
}

#[test]
fn floor_and_ceil_agree_with_the_plain_mapping() {
    fn check<const FL: usize, const SL: usize>() {
        let mut size = GRANULE;
        while size <= Classes::<FL, SL>::MAX_BLOCK {
            let (floor, ceil) = reference::<FL, SL>(size);
            assert_eq!(Classes::<FL, SL>::floor(size), floor, "floor of {size}");
            assert_eq!(Classes::<FL, SL>::ceil(size), ceil, "ceil of {size}");
            // Every size up to 64 KiB (4 KiB under Miri, which is slow), then densely
            // around each power of two.
            let exhaustive = if cfg!(miri) { 1 << 12 } else { 1 << 16 };
            size += if size < exhaustive {
                GRANULE
            } else {
                (size / 64).max(GRANULE) & !(GRANULE - 1)
            };
        }
    }
    check::<24, 32>();
    check::<8, 4>();
    check::<20, 16>();
    check::<12, 2>();
}

#[test]
fn bounds_are_consistent() {
    assert_eq!(Narrow::floor(Narrow::MAX_BLOCK).0, 7);
    assert_eq!(Narrow::ceil(Narrow::MAX_BLOCK), None);
    const { assert!(Narrow::MAX_ALIGN * 4 > Narrow::MAX_BLOCK) };
    const { assert!(Narrow::MAX_ALIGN.is_power_of_two()) };
    assert_eq!(Wide::lower_bound(1, 0), 32 * GRANULE);
}

#[test]
fn the_largest_valid_geometry_stays_in_range() {
    // SHIFT + FL == usize::BITS (SHIFT = log2 32 + log2 GRANULE): the top class ends exactly
    // at 2^(BITS - 1).
    type Top = Classes<{ usize::BITS as usize - 5 - GRANULE_LOG2 as usize }, 32>;
    let () = Top::VALID;
    assert_eq!(Top::MAX_BLOCK, (1 << (usize::BITS - 1)) - GRANULE);
    let (fl, _) = Top::floor(Top::MAX_BLOCK);
    assert_eq!(fl, usize::BITS as usize - 6 - GRANULE_LOG2 as usize);
    assert_eq!(Top::ceil(Top::MAX_BLOCK), None);
    assert!(Top::ceil((Top::MAX_BLOCK / 2) & !(GRANULE - 1)).is_some());
}

#[test]
fn sizes_above_the_largest_block_have_no_ceil() {
    fn check<const FL: usize, const SL: usize>() {
        let mut size = Classes::<FL, SL>::MAX_BLOCK + GRANULE;
        // Up to the largest block size a `Layout` can ask for.
        while size <= (isize::MAX as usize >> 1) + 1 {
            assert_eq!(Classes::<FL, SL>::ceil(size), None, "size {size}");
            assert_eq!(Classes::<FL, SL>::ceil(size * 2), None, "size {}", size * 2);
            size = size * 2 - GRANULE;
        }
    }
    check::<24, 32>();
    check::<8, 4>();
    check::<20, 16>();
}

#[test]
fn join_and_split_are_inverses_and_index_is_floor_joined() {
    fn check<const FL: usize, const SL: usize>() {
        for index in 0..FL * SL {
            let (fl, sl) = Classes::<FL, SL>::split(index);
            assert!(fl < FL && sl < SL);
            assert_eq!(Classes::<FL, SL>::join(fl, sl), index);
        }
        let mut size = MIN_BLOCK;
        while size <= Classes::<FL, SL>::MAX_BLOCK {
            let (fl, sl) = Classes::<FL, SL>::floor(size);
            assert_eq!(Classes::<FL, SL>::index(size), fl * SL + sl, "size {size}");
            size += (size / 16).max(GRANULE) & !(GRANULE - 1);
        }
    }
    check::<24, 32>();
    check::<8, 4>();
    check::<20, 16>();
}
