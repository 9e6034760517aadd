use super::*;
use crate::tag::tag;
use std::vec;

fn table(len: usize) -> std::vec::Vec<MaybeUninit<Bucket>> {
    vec![MaybeUninit::uninit(); len]
}

#[test]
fn insert_find_remove_and_grow() {
    let (mut t32, mut t100, mut t128, mut t256) = (table(32), table(100), table(128), table(256));
    let mut pool = TagPool::<256>::new();
    let mut hash = SegmentHash::new();
    let ids: std::vec::Vec<_> = (0..200)
        .map(|i| {
            let id = pool.take(tag(Kind::Allocated, i * 4096, 1, false)).unwrap();
            hash.insert(&mut pool, id);
            id
        })
        .collect();
    assert_eq!(hash.check(&pool), Ok(200));
    assert!(hash.wants_growth());
    assert!(hash.find(&pool, 5).is_nil());
    assert_eq!(
        hash.install(&mut pool, &mut t32).err(),
        Some(Error::TooSmall)
    );
    assert!(hash.install(&mut pool, &mut t100).unwrap().is_none());
    assert_eq!(hash.buckets(), 64);
    assert!(hash.wants_growth());
    let old = hash.install(&mut pool, &mut t128).unwrap().unwrap();
    assert!(hash.wants_growth());
    assert_eq!(old.len(), 100, "the whole slice given comes back");
    let old = hash.install(&mut pool, &mut t256).unwrap().unwrap();
    assert!(!hash.wants_growth());
    assert_eq!(old.len(), 128);
    assert_eq!(hash.check(&pool), Ok(200));
    for (i, &id) in ids.iter().enumerate() {
        assert_eq!(hash.find(&pool, i * 4096), id);
    }
    for (i, &id) in ids.iter().enumerate().step_by(2) {
        hash.remove(&mut pool, id);
        assert!(hash.find(&pool, i * 4096).is_nil());
    }
    assert_eq!(hash.check(&pool), Ok(100));
    for (i, &id) in ids.iter().enumerate().skip(1).step_by(2) {
        assert_eq!(hash.find(&pool, i * 4096), id);
    }
}

#[test]
fn buckets_spread_quantum_multiples() {
    // Bases that are multiples of a large quantum must not pile into one bucket.
    let mut used = [false; INLINE_BUCKETS];
    for i in 0..INLINE_BUCKETS * 4 {
        used[bucket_of(i << 12, INLINE_BUCKETS.trailing_zeros())] = true;
    }
    assert!(used.iter().filter(|&&u| u).count() > INLINE_BUCKETS * 3 / 4);
}

#[test]
fn check_catches_a_misplaced_entry() {
    let mut pool = TagPool::<8>::new();
    let mut hash = SegmentHash::new();
    let id = pool.take(tag(Kind::Allocated, 64, 1, false)).unwrap();
    hash.insert(&mut pool, id);
    pool.get_mut(id).base = 65;
    assert!(hash.check(&pool).is_err());
    pool.get_mut(id).base = 64;
    pool.get_mut(id).kind = Kind::Free;
    assert!(hash.check(&pool).is_err());
}
