use super::*;
use crate::block::USED;
use crate::class::{MIN_BLOCK, WORD};
use core::ptr::NonNull;

#[repr(align(16))]
struct Memory([u8; 1024]);

type Lists = FreeLists<8, 4>;

/// Four free blocks of `size` bytes at the start of `memory`.
fn blocks(memory: &mut Memory, size: usize) -> [Block; 4] {
    let base = NonNull::from(&mut memory.0).cast::<u8>();
    core::array::from_fn(|i| {
        // SAFETY: 4 blocks of at most 256 bytes fit in the 1024-byte buffer.
        let block = Block::at(unsafe { base.add(i * size) });
        // SAFETY: as above.
        unsafe { block.set_header(size) };
        block
    })
}

#[test]
fn insert_pop_remove_keep_bitmaps_in_step() {
    let mut memory = Memory([0; 1024]);
    let [a, b, c, d] = blocks(&mut memory, MIN_BLOCK);
    let mut lists = Lists::new();
    let (fl, sl) = Classes::<8, 4>::floor(MIN_BLOCK);
    assert_eq!(lists.first_at_or_above(0, 0), None);
    // SAFETY: each block is free, MIN_BLOCK bytes, and listed at most once.
    unsafe {
        lists.insert(a, MIN_BLOCK);
        lists.insert(b, MIN_BLOCK);
        lists.insert(c, MIN_BLOCK);
        assert!(lists.marked(fl, sl));
        assert_eq!(lists.head(fl, sl), Some(c));
        lists.remove(b);
        assert_eq!(c.next_free(), Some(a));
        assert_eq!(a.back_link().get(), Before::Block(c));
        assert_eq!(
            c.back_link().get(),
            Before::List(Classes::<8, 4>::join(fl, sl))
        );
        assert_eq!(lists.pop(fl, sl), (c, MIN_BLOCK));
        assert_eq!(
            a.back_link().get(),
            Before::List(Classes::<8, 4>::join(fl, sl))
        );
        lists.remove(a);
        assert!(!lists.marked(fl, sl));
        assert_eq!(lists.fl_bitmap(), 0);
        assert_eq!(lists.head(fl, sl), None);
        d.set_header(MIN_BLOCK | USED);
    }
}

#[test]
fn search_finds_the_first_list_at_or_above() {
    let mut memory = Memory([0; 1024]);
    let big = 32 * WORD;
    let [a, ..] = blocks(&mut memory, big);
    let mut lists = Lists::new();
    // SAFETY: `a` is a free block of `big` bytes.
    unsafe { lists.insert(a, big) };
    let class = Classes::<8, 4>::floor(big);
    assert_eq!(lists.first_at_or_above(0, 0), Some(class));
    assert_eq!(lists.first_at_or_above(class.0, class.1), Some(class));
    assert_eq!(lists.highest(), Some(class));
    let above = if class.1 + 1 < 4 {
        (class.0, class.1 + 1)
    } else {
        (class.0 + 1, 0)
    };
    assert_eq!(lists.first_at_or_above(above.0, above.1), None);
    assert_eq!(lists.first_at_or_above(7, 3), None);
}
