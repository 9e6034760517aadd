use super::RawLock;
use lock_api::RawMutex;

/// `spin`'s lock, the default, is a `RawLock` through the blanket impl.
#[test]
fn every_raw_mutex_is_a_raw_lock() {
    let lock = <spin::mutex::SpinMutex<()> as RawMutex>::INIT;
    RawLock::lock(&lock);
    assert!(
        !RawLock::try_lock(&lock),
        "a held lock cannot be taken again"
    );
    // SAFETY: this context took the lock just above.
    unsafe { RawLock::unlock(&lock) };
    assert!(RawLock::try_lock(&lock), "a released lock can be taken");
    // SAFETY: taken by the `try_lock` above.
    unsafe { RawLock::unlock(&lock) };
    assert!(!lock.is_locked());
}
