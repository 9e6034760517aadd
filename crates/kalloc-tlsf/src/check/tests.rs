use crate::Tlsf;
use crate::block::{BackLink, Before, Block, PREV_FREE, USED};
use crate::class::WORD;
use crate::testing::{Buffer, heap_over, layout};

/// A heap over `buffer` with a used, a free and a used block, then the pool tail.
fn three_blocks(buffer: &Buffer) -> (Tlsf<'_>, Block, Block, Block) {
    let mut heap = Tlsf::new();
    heap_over(buffer, &mut heap);
    // Word alignment: no front gaps, so `a`, `b` and `c` are neighbours on every target.
    let l = layout(100, WORD);
    let a = heap.alloc(l).unwrap();
    let b = heap.alloc(l).unwrap();
    let c = heap.alloc(l).unwrap();
    // SAFETY: live allocation.
    unsafe { heap.free(b, l) }.unwrap();
    heap.check().unwrap();
    // SAFETY: payloads of this heap.
    let blocks = unsafe {
        (
            Block::from_payload(a),
            Block::from_payload(b),
            Block::from_payload(c),
        )
    };
    (heap, blocks.0, blocks.1, blocks.2)
}

/// Applies `corrupt` to a fresh three-block heap and returns what the checker says.
fn verdict(corrupt: impl FnOnce(Block, Block, Block)) -> &'static str {
    let buffer = Buffer::new(4096);
    let (heap, a, b, c) = three_blocks(&buffer);
    corrupt(a, b, c);
    heap.check().map_or_else(|e| e.what, |()| "passed")
}

/// Rewrites tags inside a three-block heap (`a` used, `b` free, `c` used).
type Corrupt = fn(Block, Block, Block);

fn clear_prev_free(_: Block, _: Block, c: Block) {
    // SAFETY: `c` is a block header of the heap.
    unsafe { c.set_header(c.header() & !PREV_FREE) }
}

fn bad_footer(_: Block, b: Block, _: Block) {
    // SAFETY: `b` is a free block; its footer is its last word.
    unsafe {
        b.offset(b.size())
            .ptr()
            .cast::<usize>()
            .sub(1)
            .write(b.size() + WORD)
    }
}

fn tiny_block(a: Block, _: Block, _: Block) {
    // SAFETY: `a` is a block header of the heap; its PREV_FREE flag is kept.
    unsafe { a.set_header((a.header() & PREV_FREE) | WORD | USED) }
}

fn silent_merge(a: Block, b: Block, _: Block) {
    // Merges `a` and `b` into one used block with consistent tags: only the counters
    // reveal it.
    // SAFETY: `a`, `b` and the block after them are headers of the heap.
    unsafe {
        let merged = a.size() + b.size();
        a.set_header(merged | USED);
        let after = a.offset(merged);
        after.set_header(after.header() & !PREV_FREE);
    }
}

fn self_link(_: Block, b: Block, _: Block) {
    // SAFETY: `b` is a free block; its links are its second and third words.
    unsafe { b.set_next_free(Some(b)) }
}

fn wrong_list(_: Block, b: Block, _: Block) {
    // `b` heads its list; its back link now names the next list up.
    // SAFETY: `b` is a free block; its back link is its third word.
    unsafe {
        let Before::List(index) = b.back_link().get() else {
            panic!("a free block alone in its list heads it");
        };
        b.set_back_link(BackLink::to_list(index + 1));
    }
}

fn oversized(_: Block, _: Block, c: Block) {
    // SAFETY: `c` is a block header of the heap.
    unsafe { c.set_header((1 << 20) | USED | PREV_FREE) }
}

#[test]
fn every_corruption_is_named() {
    let cases: [(&str, Corrupt); 7] = [
        (
            "PREV_FREE flag disagrees with the previous block",
            clear_prev_free,
        ),
        ("free block's footer disagrees with its header", bad_footer),
        ("block smaller than the minimum", tiny_block),
        ("used-block counters disagree with the walk", silent_merge),
        ("free-list neighbour does not link back", self_link),
        ("free block is not in its class list", wrong_list),
        ("block runs past its pool's trailer", oversized),
    ];
    for (expected, corrupt) in cases {
        assert_eq!(verdict(corrupt), expected);
    }
}

#[test]
fn a_clean_heap_passes_and_reports_display() {
    let buffer = Buffer::new(4096);
    let (heap, ..) = three_blocks(&buffer);
    assert_eq!(heap.check(), Ok(()));
    let error = crate::Corruption { what: "x", at: 16 };
    assert_eq!(std::format!("{error}"), "heap corruption at 0x10: x");
}

#[test]
fn an_unlisted_free_block_is_found() {
    let buffer = Buffer::new(4096);
    let (mut heap, _, b, _) = three_blocks(&buffer);
    // SAFETY: `b` is a free block of this heap.
    let (fl, sl) =
        crate::class::Classes::<{ crate::DEFAULT_FL }, { crate::DEFAULT_SL }>::floor(unsafe {
            b.size()
        });
    // SAFETY: the lists are consistent; the block stays free but leaves its list.
    let popped = unsafe { heap.lists.pop(fl, sl) };
    assert_eq!(popped.0, b);
    assert_eq!(
        heap.check().map_err(|e| e.what),
        Err("free block is not in its class list")
    );
}
