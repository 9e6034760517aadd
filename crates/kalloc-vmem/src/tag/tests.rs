use super::*;
use std::vec;

#[test]
fn ids_pack_chunk_and_slot() {
    let id = TagId::new(3, 12345);
    assert_eq!((id.chunk(), id.slot()), (3, 12345));
    assert!(!id.is_nil());
    assert!(TagId::NIL.is_nil());
    // NIL is the sentinel slot; the first and last real ids are not NIL.
    assert_eq!((TagId::NIL.chunk(), TagId::NIL.slot()), (0, SENTINEL_SLOT));
    assert!(!TagId::new(0, 1).is_nil());
    assert!(!TagId::new(MAX_CHUNKS - 1, MAX_CHUNK_TAGS - 1).is_nil());
}

#[test]
fn reserve_then_chunks_hand_out_every_tag_once() {
    let mut memory = vec![MaybeUninit::uninit(); 3];
    // Five reserve slots: the sentinel and four usable tags.
    let mut pool = TagPool::<5>::new();
    assert_eq!((pool.free_count(), pool.capacity()), (4, 4));
    let taken: std::vec::Vec<_> = (0..4)
        .map(|i| pool.take(tag(Kind::Free, i, 1, false)).unwrap())
        .collect();
    assert!(pool.take(tag(Kind::Free, 9, 1, false)).is_none());
    pool.check().unwrap();
    assert_eq!(pool.add_memory(&mut memory), Ok(3));
    assert_eq!((pool.free_count(), pool.capacity()), (3, 7));
    let more: std::vec::Vec<_> = (0..3)
        .map(|i| pool.take(tag(Kind::Allocated, 100 + i, 1, true)).unwrap())
        .collect();
    for (i, id) in taken.iter().chain(&more).enumerate() {
        let expected = if i < 4 { i } else { 100 + i - 4 };
        assert_eq!(pool.get(*id).base, expected);
    }
    pool.give_back(more[1]);
    assert_eq!(pool.free_count(), 1);
    assert_eq!(pool.get(more[1]).kind, Kind::Unused);
    pool.check().unwrap();
    assert_eq!(pool.take(tag(Kind::Span, 7, 1, false)), Some(more[1]));
    pool.get_mut(more[1]).base = 8;
    assert_eq!(pool.get(more[1]).base, 8);
}

#[test]
fn chunk_limits() {
    let mut memory = vec![MaybeUninit::uninit(); MAX_CHUNKS];
    let mut pool = TagPool::<4>::new();
    assert_eq!(pool.add_memory(&mut []), Err(Error::TooSmall));
    let mut chunks = memory.chunks_mut(1);
    for _ in 1..MAX_CHUNKS {
        assert_eq!(pool.add_memory(chunks.next().unwrap()), Ok(1));
    }
    assert_eq!(
        pool.add_memory(chunks.next().unwrap()),
        Err(Error::TooLarge)
    );
    assert_eq!(pool.capacity(), 3 + MAX_CHUNKS - 1);
    pool.check().unwrap();
}

#[test]
fn check_catches_a_corrupt_free_list() {
    let mut pool = TagPool::<4>::new();
    let id = pool.take(tag(Kind::Free, 0, 1, false)).unwrap();
    pool.free_count += 1;
    assert!(pool.check().is_err());
    pool.free_count -= 1;
    pool.free = id; // an in-use tag on the free list
    assert!(pool.check().is_err());
}

#[test]
fn check_catches_a_written_sentinel() {
    let mut pool = TagPool::<4>::new();
    pool.check().unwrap();
    pool.get_mut(TagId::NIL).base = 1;
    assert_eq!(pool.check(), Err("the NIL sentinel tag was written"));
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "outside the pool")]
fn foreign_ids_are_caught() {
    let pool = TagPool::<4>::new();
    let _ = pool.get(TagId::new(1, 0));
}
