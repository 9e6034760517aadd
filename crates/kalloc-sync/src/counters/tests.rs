use super::{AtomicCounters, Counters};

#[test]
fn updates_and_peak() {
    let counters = AtomicCounters::new();
    assert_eq!(counters.snapshot(), Counters::default());
    counters.allocated(100);
    counters.allocated(50);
    counters.resized(50, 80);
    counters.freed(100);
    counters.resized(80, 10);
    counters.failed();
    counters.rejected_free();
    assert_eq!(
        counters.snapshot(),
        Counters {
            allocations: 1,
            in_use: 10,
            peak_in_use: 180,
            failures: 1,
            rejected_frees: 1,
        }
    );
}

/// Accounting that does not add up (a caller freeing with a wrong layout) saturates: the
/// counters run while the lock is held and must neither wrap nor panic.
#[test]
fn saturates_instead_of_wrapping() {
    let counters = AtomicCounters::new();
    counters.freed(10);
    counters.resized(10, 0);
    counters.allocated(usize::MAX);
    counters.allocated(1);
    let snapshot = counters.snapshot();
    assert_eq!(snapshot.allocations, 2);
    assert_eq!(snapshot.in_use, usize::MAX);
    assert_eq!(snapshot.peak_in_use, usize::MAX);
}
