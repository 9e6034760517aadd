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
fn a_rewind_refuses_marks_taken_after_its_target() {
    let mut history = History::new();
    // Mark M at time 3, position (1, 10, 100); rewound to at time 9.
    history.push(9, pos(1, 10, 100), 3);
    assert!(history.allows(3, pos(1, 10, 100)), "M itself");
    assert!(
        history.allows(2, pos(1, 10, 100)),
        "an older mark at the same place"
    );
    assert!(history.allows(1, pos(1, 5, 100)), "before the target");
    assert!(
        !history.allows(4, pos(1, 11, 100)),
        "beyond the target, taken before"
    );
    assert!(
        !history.allows(4, pos(1, 10, 100)),
        "same place, but taken after M"
    );
    assert!(
        history.allows(10, pos(1, 50, 100)),
        "taken after the rewind"
    );
    assert!(history.check().is_ok());
}

#[test]
fn covered_records_are_dropped() {
    let mut history = History::new();
    history.push(2, pos(1, 10, 100), 1);
    history.push(4, pos(1, 20, 100), 3);
    history.push(6, pos(2, 0, 4000), 5);
    assert_eq!(history.records().len(), 3);
    history.push(7, pos(1, 20, 100), 3);
    assert_eq!(
        history.records().len(),
        2,
        "the rewinds into block 2 and to time 3 are covered"
    );
    // The same place by a younger mark refuses less: both records stay.
    history.push(9, pos(1, 20, 100), 8);
    assert_eq!(history.records().len(), 3);
    assert_eq!(history.check(), Ok(()), "{:?}", history.records());
    assert!(
        !history.allows(5, pos(1, 20, 100)),
        "between the two marks at that place"
    );
    history.push(10, pos(1, 10, 100), 1);
    assert_eq!(
        history.records(),
        &[Record {
            time: 10,
            target: pos(1, 10, 100),
            mark_time: 1
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
        let time = 2 * u64::from(step) + 2;
        history.push(time, pos(1, 10 * step, 4000), time - 1);
    }
    assert_eq!(history.merges(), 0);
    // A mark at lo 10 taken at time 3 is good: the rewind to it was at time 4.
    assert!(history.allows(3, pos(1, 10, 4000)));
    history.push(100, pos(1, 1000, 4000), 99);
    assert_eq!(history.merges(), 1);
    assert_eq!(history.records().len(), HISTORY_LEN);
    assert!(
        !history.allows(3, pos(1, 10, 4000)),
        "refused, never wrongly allowed"
    );
    assert!(
        history.allows(1, pos(1, 0, 4000)),
        "still good at the oldest target"
    );
    assert!(history.check().is_ok());
}
