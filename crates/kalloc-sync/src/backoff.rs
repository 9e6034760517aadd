//! [`BackoffLock`]: this crate's own spin lock, test-and-test-and-set with exponential
//! backoff, built on the [`sync`](crate::sync) facade so loom checks it.

use crate::sync::{AtomicBool, Ordering, const_fn_unless_loom, spin_loop};

/// The longest pause, in [`spin_loop`] rounds, between two looks at a held lock. Doubling
/// from 1 up to this keeps waiters off the lock's cache line under contention while a
/// released lock is still noticed within about this many pauses. Under loom each round is
/// a scheduling point, so one round keeps the explored state space small.
const MAX_BACKOFF: u32 = if cfg!(loom) { 1 } else { 64 };

/// A spin lock: one flag, taken with an atomic swap, waited on with reads only and an
/// exponentially growing pause between reads.
///
/// Unfair (a releasing thread may take it straight back) but cheap when uncontended, which
/// is the common case for a heap lock: one atomic read-modify-write to lock, one store to
/// unlock. It implements [`lock_api::RawMutex`] (and so [`RawLock`](crate::RawLock)); under
/// `cfg(loom)` it implements only `RawLock`, since loom atomics cannot be built in a
/// `const INIT`.
///
/// ```
/// use kalloc_sync::BackoffLock;
/// use lock_api::RawMutex;
///
/// let lock = BackoffLock::new();
/// lock.lock();
/// assert!(!lock.try_lock());
/// // SAFETY: this context holds the lock.
/// unsafe { lock.unlock() };
/// assert!(!lock.is_locked());
/// ```
#[derive(Debug)]
pub struct BackoffLock {
    /// `true` while some context holds the lock.
    held: AtomicBool,
}

impl BackoffLock {
    const_fn_unless_loom! {
        /// An unlocked lock (a `const fn` except under `cfg(loom)`).
        #[must_use]
        pub fn new() -> BackoffLock {
            BackoffLock {
                held: AtomicBool::new(false),
            }
        }
    }

    /// Takes the lock, spinning with backoff while another context holds it.
    #[inline]
    fn acquire(&self) {
        while !self.try_acquire() {
            self.wait_until_free();
        }
    }

    /// Reads (never writes) the flag until it is clear, pausing longer after each look.
    #[cold]
    fn wait_until_free(&self) {
        let mut pause = 1;
        while self.held.load(Ordering::Relaxed) {
            for _ in 0..pause {
                spin_loop();
            }
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }

    /// Takes the lock if it is free; `Acquire` pairs with the `Release` in [`release`].
    ///
    /// [`release`]: BackoffLock::release
    #[inline]
    fn try_acquire(&self) -> bool {
        self.held
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases the lock, publishing everything written while it was held.
    #[inline]
    fn release(&self) {
        debug_assert!(self.held.load(Ordering::Relaxed), "unlock of a free lock");
        self.held.store(false, Ordering::Release);
    }

    /// Whether some context holds the lock right now (a hint: it may change at once).
    #[must_use]
    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }
}

impl Default for BackoffLock {
    fn default() -> BackoffLock {
        BackoffLock::new()
    }
}

// SAFETY: `try_acquire` flips the flag from false to true atomically, so only one context
// at a time gets past it until `release` clears the flag; the Acquire exchange and the
// Release store order the critical sections.
#[cfg(not(loom))]
unsafe impl lock_api::RawMutex for BackoffLock {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's INIT pattern"
    )]
    const INIT: BackoffLock = BackoffLock::new();

    type GuardMarker = lock_api::GuardSend;

    fn lock(&self) {
        self.acquire();
    }

    fn try_lock(&self) -> bool {
        self.try_acquire()
    }

    unsafe fn unlock(&self) {
        self.release();
    }

    fn is_locked(&self) -> bool {
        self.is_held()
    }
}

// SAFETY: as for the `RawMutex` impl above: the same three methods.
#[cfg(loom)]
unsafe impl crate::RawLock for BackoffLock {
    fn lock(&self) {
        self.acquire();
    }

    fn try_lock(&self) -> bool {
        self.try_acquire()
    }

    unsafe fn unlock(&self) {
        self.release();
    }
}

#[cfg(test)]
mod tests;
