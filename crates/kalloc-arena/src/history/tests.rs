use super::*;

const fn pos(serial: u64, lo: u16, hi: u16) -> Pos {
    Pos { serial, lo, hi }
}

#[test]
fn positions_order_by_block_then_both_cursors() {
    let p = pos(2, 10, 100);
    assert!(p.is_at_or_before(p));
    assert!(p.is_at_or_before(pos(2, 11, 100)));
    assert!(p.is_at_or_before(pos(2, 10, 90)));
    assert!(p.is_at_or_before(pos(3, 0, 0)));
    assert!(!p.is_at_or_before(pos(2, 9, 100)));
    assert!(!p.is_at_or_before(pos(2, 10, 101)));
    assert!(!p.is_at_or_before(pos(1, 4000, 4000)));
    assert!(
        pos(0, 0, 0).is_at_or_before(p),
        "the empty arena precedes everything"
    );
}

#[test]
fn a_rewind_refuses_later_positions_taken_before_it() {
    let mut history = History::new();
    history.push(5, pos(1, 10, 100));
    assert!(history.allows(3, pos(1, 10, 100)), "the target itself");
    assert!(history.allows(3, pos(1, 5, 100)), "before the target");
    assert!(
        !history.allows(3, pos(1, 11, 100)),
        "beyond the target, taken before"
    );
    assert!(history.allows(5, pos(1, 50, 100)), "taken after the rewind");
    assert!(history.check().is_ok());
}

#[test]
fn lower_targets_make_records_redundant() {
    let mut history = History::new();
    history.push(1, pos(1, 10, 100));
    history.push(2, pos(1, 20, 100));
    history.push(3, pos(2, 0, 4000));
    assert_eq!(history.records().len(), 3);
    history.push(4, pos(1, 20, 100));
    assert_eq!(
        history.records().len(),
        2,
        "the rewind into block 2 is redundant"
    );
    history.push(5, pos(1, 10, 100));
    assert_eq!(
        history.records(),
        &[Record {
            time: 5,
            target: pos(1, 10, 100)
        }]
    );
    assert!(history.check().is_ok());
    history.clear();
    assert!(history.records().is_empty());
}

#[test]
fn a_full_history_merges_conservatively() {
    let mut history = History::new();
    for step in 0..HISTORY_LEN as u16 {
        history.push(u64::from(step) + 1, pos(1, 10 * step, 4000));
    }
    assert_eq!(history.merges(), 0);
    // A mark at lo 5 taken at time 1 is refused by the record at time 2 (lo 10)... and a
    // mark at lo 10 taken at time 1 is allowed, until the first two records merge.
    assert!(history.allows(1, pos(1, 10, 4000)));
    history.push(100, pos(1, 1000, 4000));
    assert_eq!(history.merges(), 1);
    assert_eq!(history.records().len(), HISTORY_LEN);
    assert!(
        !history.allows(1, pos(1, 10, 4000)),
        "refused, never wrongly allowed"
    );
    assert!(
        history.allows(0, pos(1, 0, 4000)),
        "still allowed at the oldest target"
    );
    assert!(history.check().is_ok());
}
