extern crate std;

use crate::padded::CacheAligned;
use crate::{BackoffLock, Locked};
use std::panic::{AssertUnwindSafe, catch_unwind};

#[test]
fn guard_gives_exclusive_access_and_unlocks_on_drop() {
    let locked: Locked<u32, BackoffLock> = Locked::new(5);
    {
        let mut guard = locked.lock();
        *guard += 1;
        assert!(locked.try_lock().is_none(), "held while the guard lives");
        assert_eq!(std::format!("{guard:?}"), "6");
    }
    assert_eq!(
        *locked.try_lock().expect("released when the guard dropped"),
        6
    );
    assert!(std::format!("{locked:?}").starts_with("Locked { counters: "));
    let mut locked = locked;
    *locked.get_mut() += 1;
    assert_eq!(locked.into_inner(), 7);
}

#[test]
fn default_lock_is_spin_and_works_in_a_static() {
    static SHARED: Locked<u64> = Locked::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..if cfg!(miri) { 20 } else { 10_000 } {
                    *SHARED.lock() += 1;
                }
            });
        }
    });
    assert_eq!(*SHARED.lock(), if cfg!(miri) { 40 } else { 20_000 });
}

/// A panic while the lock is held unwinds through the guard, which releases the lock.
#[test]
fn panic_under_the_lock_releases_it() {
    let locked: Locked<u32, BackoffLock> = Locked::with_lock(0, BackoffLock::new());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut guard = locked.lock();
        *guard = 1;
        panic!("inside the critical section");
    }));
    assert!(outcome.is_err());
    assert_eq!(*locked.try_lock().expect("the panic released the lock"), 1);
}

/// Waiters read the lock's cache line; nothing the holder writes (counters, value) is on it.
#[test]
fn the_lock_has_its_cache_lines_to_itself() {
    let line = CacheAligned::<()>::BYTES;
    let locked: Locked<u8> = Locked::new(0);
    let lock = (&raw const locked.lock).addr();
    assert_eq!(lock % line, 0, "the lock starts a line");
    let counters = (&raw const locked.counters).addr();
    let value = (&raw const *locked.lock()).addr();
    assert!(counters >= lock + line, "counters on the lock's line");
    assert!(value >= lock + line, "value on the lock's line");
}
