use super::*;

#[test]
fn stack_order_and_capacity() {
    let ids = [TagId::NIL; 1];
    let mut cache = QCache::<2>::EMPTY;
    assert_eq!(cache.pop(), None);
    assert!(cache.push(ids[0]));
    assert!(cache.push(TagId::NIL));
    assert!(cache.is_full());
    assert!(!cache.push(TagId::NIL));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.items().len(), 2);
    assert!(cache.pop().is_some());
    assert!(cache.pop().is_some());
    assert_eq!(cache.pop(), None);
    assert_eq!(cache.len(), 0);
}
