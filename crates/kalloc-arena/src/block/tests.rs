use super::*;

#[test]
fn geometry() {
    assert_eq!(BLOCK_ALIGN.get(), BLOCK_SIZE);
    #[cfg(target_pointer_width = "64")]
    assert_eq!(MAX_REQUEST, 4080);
    assert_eq!(HEADER_OFFSET + size_of::<Link>(), BLOCK_SIZE);
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
        "only the top is written"
    );
}
