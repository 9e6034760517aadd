use super::*;
use crate::tag::tag;

#[test]
fn classes() {
    assert_eq!(class_of(1), 0);
    assert_eq!(class_of(3), 1);
    assert_eq!(class_of(4), 2);
    assert_eq!(class_of(usize::MAX), LISTS - 1);
    assert_eq!(guaranteed_class(4), 2);
    assert_eq!(guaranteed_class(5), 3);
    assert_eq!(guaranteed_class(usize::MAX), LISTS);
}

#[test]
fn insert_remove_and_bitmap() {
    let mut pool = TagPool::<8>::new();
    let mut lists = FreeLists::new();
    assert_eq!(lists.first_at_or_above(0), None);
    assert_eq!(lists.largest_lower_bound(), 0);
    let ids: std::vec::Vec<_> = [5usize, 6, 40, 1]
        .iter()
        .map(|&size| pool.take(tag(Kind::Free, 0, size, false)).unwrap())
        .collect();
    for &id in &ids {
        lists.insert(&mut pool, id);
    }
    assert_eq!(lists.check(&pool), Ok((4, 52)));
    assert_eq!(lists.first_at_or_above(1), Some(2));
    assert_eq!(lists.first_at_or_above(3), Some(5));
    assert_eq!(lists.first_at_or_above(6), None);
    assert_eq!(lists.first_at_or_above(LISTS), None);
    assert_eq!(lists.largest_lower_bound(), 32);
    assert_eq!(lists.head(2), ids[1], "LIFO within a list");
    lists.remove(&mut pool, ids[1]);
    assert_eq!(lists.head(2), ids[0]);
    lists.remove(&mut pool, ids[0]);
    assert_eq!(lists.first_at_or_above(1), Some(5));
    lists.remove(&mut pool, ids[2]);
    assert_eq!(lists.check(&pool), Ok((1, 1)));
    lists.remove(&mut pool, ids[3]);
    assert_eq!(lists.first_at_or_above(0), None);
    assert_eq!(lists.check(&pool), Ok((0, 0)));
}

#[test]
fn check_catches_a_wrong_class() {
    let mut pool = TagPool::<8>::new();
    let mut lists = FreeLists::new();
    let id = pool.take(tag(Kind::Free, 0, 5, false)).unwrap();
    lists.insert(&mut pool, id);
    pool.get_mut(id).size = 100;
    assert!(lists.check(&pool).is_err());
    pool.get_mut(id).size = 5;
    lists.bitmap |= 1;
    assert!(lists.check(&pool).is_err());
}
