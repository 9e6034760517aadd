use super::BackoffLock;
use crate::RawLock;

#[test]
fn lock_try_lock_unlock() {
    let lock = BackoffLock::new();
    assert!(!lock.is_held());
    RawLock::lock(&lock);
    assert!(lock.is_held());
    assert!(!RawLock::try_lock(&lock), "held: try_lock must fail");
    // SAFETY: taken above by this context.
    unsafe { RawLock::unlock(&lock) };
    assert!(!lock.is_held());
    assert!(RawLock::try_lock(&lock), "free: try_lock must succeed");
    // SAFETY: taken by the `try_lock` above.
    unsafe { RawLock::unlock(&lock) };
    assert!(!BackoffLock::default().is_held());
}

/// Four threads increment a plain counter under the lock; a lost update would show as a
/// smaller total (the loom model proves the same property exhaustively for two threads).
#[test]
fn excludes_concurrent_threads() {
    extern crate std;
    use core::cell::UnsafeCell;

    struct Shared {
        lock: BackoffLock,
        count: UnsafeCell<u64>,
    }
    // SAFETY: `count` is only touched with `lock` held.
    unsafe impl Sync for Shared {}

    const THREADS: u64 = 4;
    const ROUNDS: u64 = if cfg!(miri) { 100 } else { 20_000 };
    let shared = Shared {
        lock: BackoffLock::new(),
        count: UnsafeCell::new(0),
    };
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            // The whole `Shared`, not its fields: edition 2021 closures capture fields.
            let shared = &shared;
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    RawLock::lock(&shared.lock);
                    // SAFETY: the lock is held, so no other thread touches `count`.
                    let count = unsafe { &mut *shared.count.get() };
                    // A read, a pause, a write: a window for a lost update without the lock.
                    let seen = *count;
                    core::hint::spin_loop();
                    *count = seen + 1;
                    // SAFETY: taken above by this thread.
                    unsafe { RawLock::unlock(&shared.lock) };
                }
            });
        }
    });
    assert_eq!(shared.count.into_inner(), THREADS * ROUNDS);
}
