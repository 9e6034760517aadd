use super::*;
use crate::class::MIN_BLOCK;

#[repr(align(16))]
struct Memory([u8; 128]);

#[test]
fn tags_and_links_land_where_the_layout_says() {
    let mut memory = Memory([0; 128]);
    let base = NonNull::from(&mut memory.0).cast::<u8>();
    let block = Block::at(base);
    let other = Block::at(base);
    // SAFETY: every access stays within the 128-byte buffer.
    unsafe {
        let second = block.offset(MIN_BLOCK);
        block.set_header(MIN_BLOCK | PREV_FREE);
        block.set_footer(MIN_BLOCK);
        block.set_next_free(Some(other));
        block.set_back_link(BackLink::to_list(5));
        second.set_header(MIN_BLOCK | USED | PREV_FREE);
        assert_eq!(block.size(), MIN_BLOCK);
        assert_eq!(block.header() & FLAGS, PREV_FREE);
        assert_eq!(block.next_free(), Some(other));
        assert_eq!(block.back_link().get(), Before::List(5));
        second.set_back_link(BackLink::to_block(block));
        assert_eq!(second.back_link().get(), Before::Block(block));
        assert_eq!(second.prev_footer(), MIN_BLOCK);
        assert_eq!(second.back(MIN_BLOCK), block);
        assert_eq!(second.payload().as_ptr().addr(), second.addr() + WORD);
        assert_eq!(Block::from_payload(second.payload()), second);
    }
    assert_eq!(size_of_header(0x40 | FLAGS), 0x40);
}
