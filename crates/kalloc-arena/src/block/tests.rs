use super::*;

#[test]
fn geometry_is_the_same_on_every_target() {
    assert_eq!(BLOCK_ALIGN.get(), BLOCK_SIZE);
    // 32- and 64-bit targets alike (the link is 12 bytes on i686, 16 elsewhere).
    assert_eq!(MAX_REQUEST, 4080);
    assert_eq!(LINK_SPACE, 16);
    assert_eq!(HEADER_OFFSET + LINK_SPACE, BLOCK_SIZE);
    assert!(size_of::<Link>() <= LINK_SPACE);
    assert_eq!(
        HEADER_OFFSET % 16,
        0,
        "no padding for the first aligned request"
    );
}

#[repr(C, align(4096))]
struct Page([u8; BLOCK_SIZE]);

#[test]
fn link_round_trips_inside_the_block() {
    let mut page = Page([0xAA; BLOCK_SIZE]);
    let base = NonNull::from(&mut page).cast::<u8>();
    let link = Link {
        prev: Some(base),
        serial: 7,
    };
    // SAFETY: `base` is a 4 KiB page aligned to 4 KiB that this test owns.
    let back = unsafe {
        link.write(base);
        Link::read(base)
    };
    assert_eq!(back.prev, Some(base));
    assert_eq!(back.serial, 7);
    assert!(
        page.0[..HEADER_OFFSET].iter().all(|&b| b == 0xAA),
        "nothing below the link is written"
    );
    assert!(
        page.0[HEADER_OFFSET + size_of::<Link>()..]
            .iter()
            .all(|&b| b == 0xAA),
        "nothing above the link is written"
    );
}
