//! [`RawLock`]: what a [`Locked`](crate::Locked) needs from its lock.

/// A raw mutual-exclusion lock, the interface [`Locked`](crate::Locked) takes.
///
/// Every [`lock_api::RawMutex`] is one (`spin`'s locks, `parking_lot`'s, this crate's
/// [`BackoffLock`](crate::BackoffLock)), so there is normally nothing to implement. The
/// trait exists beside `RawMutex` because `RawMutex` demands a `const INIT`, which a lock
/// made of loom atomics cannot have: under `cfg(loom)` `BackoffLock` implements only this.
///
/// # Safety
///
/// Implementors promise mutual exclusion: between a `lock` (or a `try_lock` that returned
/// `true`) and the matching `unlock`, no other `lock` returns and no other `try_lock`
/// returns `true`; and everything written before an `unlock` is visible after the next
/// successful `lock` or `try_lock` (release/acquire ordering).
pub unsafe trait RawLock {
    /// Waits until the lock is free and takes it.
    fn lock(&self);

    /// Takes the lock if it is free right now; returns whether it did.
    fn try_lock(&self) -> bool;

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller's context must hold the lock (a `lock` or successful `try_lock` not yet
    /// matched by an `unlock`).
    unsafe fn unlock(&self);
}

// SAFETY: `lock_api::RawMutex` is an unsafe trait whose implementors make exactly the
// mutual-exclusion and ordering promises `RawLock` asks for; each method forwards.
unsafe impl<R: lock_api::RawMutex> RawLock for R {
    #[inline]
    fn lock(&self) {
        lock_api::RawMutex::lock(self);
    }

    #[inline]
    fn try_lock(&self) -> bool {
        lock_api::RawMutex::try_lock(self)
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock, which is what `RawMutex::unlock` requires.
        unsafe { lock_api::RawMutex::unlock(self) }
    }
}

#[cfg(test)]
mod tests;
