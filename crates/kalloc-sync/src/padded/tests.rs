use super::CacheAligned;

#[test]
fn fills_whole_lines_alone() {
    const {
        assert!(CacheAligned::<()>::BYTES >= 32);
        assert!(CacheAligned::<()>::BYTES.is_power_of_two());
    }
    assert_eq!(size_of::<CacheAligned<bool>>(), CacheAligned::<()>::BYTES);
    assert_eq!(align_of::<CacheAligned<u8>>(), CacheAligned::<()>::BYTES);
    // Bigger than a line: rounded up to whole lines, so whatever follows starts a new one.
    assert_eq!(
        size_of::<CacheAligned<[u8; 200]>>() % CacheAligned::<()>::BYTES,
        0
    );
    let pair = [CacheAligned(1u8), CacheAligned(2u8)];
    let gap = (&raw const pair[1]).addr() - (&raw const pair[0]).addr();
    assert_eq!(gap, CacheAligned::<()>::BYTES);
    assert_eq!(*pair[1], 2);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_pads_to_line_pairs() {
    assert_eq!(CacheAligned::<()>::BYTES, 128);
}
