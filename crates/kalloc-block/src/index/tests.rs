use super::BlockIndex;

fn round_trips<I: BlockIndex>() {
    assert_eq!(I::END.to_usize(), I::MAX_BLOCKS);
    for value in [0, 1, I::MAX_BLOCKS / 2, I::MAX_BLOCKS - 1, I::MAX_BLOCKS] {
        assert_eq!(I::from_usize(value).to_usize(), value);
    }
    assert_eq!(I::from_usize(I::MAX_BLOCKS), I::END);
    let mut marks = I::CLEAR_MARKS;
    let bits = marks.as_mut().len() * 64;
    assert!(bits > I::MAX_BLOCKS, "one mark per nameable value");
    assert!(marks.as_mut().iter().all(|&word| word == 0));
}

#[test]
fn u8_end_is_255_and_names_no_block() {
    assert_eq!(u8::END, 0xFF);
    assert_eq!(<u8 as BlockIndex>::MAX_BLOCKS, 255);
    round_trips::<u8>();
}

#[test]
fn u16_end_is_65535_and_names_no_block() {
    assert_eq!(u16::END, 0xFFFF);
    assert_eq!(<u16 as BlockIndex>::MAX_BLOCKS, 65_535);
    round_trips::<u16>();
}
