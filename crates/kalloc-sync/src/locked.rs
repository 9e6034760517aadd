//! [`Locked`]: a value (a heap, a source) behind a raw lock, and its [`Guard`].

use crate::RawLock;
use crate::counters::{AtomicCounters, Counters};
use crate::padded::CacheAligned;
use crate::sync::const_fn_unless_loom;
use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

/// The lock [`Locked`] uses unless told otherwise: `spin`'s test-and-set spin lock.
pub type DefaultRawLock = spin::mutex::SpinMutex<()>;

/// A heap (or a source) behind a lock, shareable between threads through `&`.
///
/// * For a [`ByteHeap`](kalloc_core::ByteHeap) `T`: [`GlobalAlloc`](core::alloc::GlobalAlloc)
///   (so a `static Locked<..>` can be the `#[global_allocator]`), the `Allocator` trait for
///   `&Locked` (features `allocator-api2` and `nightly`), and fallible
///   [`allocate`](Locked::allocate) / [`deallocate`](Locked::deallocate) /
///   [`resize`](Locked::resize) that report the heap's
///   [`Error`](kalloc_core::Error). All of them keep lock-free [`Counters`].
/// * For a [`SourceMut`](kalloc_core::SourceMut) `T`: [`Source`](kalloc_core::Source)
///   (and [`MemorySource`](kalloc_core::MemorySource)), so consumers on several threads
///   share one provider.
///
/// `R` is any [`lock_api::RawMutex`] (see [`RawLock`]); the default is `spin`'s, and
/// [`BackoffLock`](crate::BackoffLock) is this crate's loom-checked one.
///
/// The lock is released when a [`Guard`] drops, also while a panic unwinds through it, so
/// a panicking heap never leaves the lock held forever (the heap itself is in whatever
/// state the panic left it; run its checker).
///
/// The lock has its cache line(s) to itself (64 or 128 bytes, by target; 32 on small
/// cores), so a thread waiting for it does not keep stealing the line the holder writes its
/// heap's bookkeeping and the counters to; this costs up to one padded line of memory.
// `repr(C)`: the lock first, then what its holder writes, in the order the docs draw.
#[repr(C)]
pub struct Locked<T, R = DefaultRawLock> {
    lock: CacheAligned<R>,
    counters: AtomicCounters,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out the `&mut T` to one thread at a time (the `RawLock` promise),
// which is what `T: Send` allows; the counters are atomics.
unsafe impl<T: Send, R: RawLock + Sync> Sync for Locked<T, R> {}

#[cfg(not(loom))]
impl<T, R: lock_api::RawMutex> Locked<T, R> {
    /// Puts `value` behind a new, unlocked `R`. A `const fn`, for statics:
    ///
    /// ```
    /// # struct MyHeap;
    /// use kalloc_sync::Locked;
    /// static HEAP: Locked<MyHeap> = Locked::new(MyHeap);
    /// ```
    ///
    /// (Not available under `cfg(loom)`, where locks are built at run time: use
    /// [`with_lock`](Locked::with_lock).)
    pub const fn new(value: T) -> Locked<T, R> {
        Locked::with_lock(value, R::INIT)
    }
}

impl<T, R> Locked<T, R> {
    const_fn_unless_loom! {
        /// Puts `value` behind `lock`, which must be unlocked. A `const fn` except under
        /// `cfg(loom)`.
        pub fn with_lock(value: T, lock: R) -> Locked<T, R> {
            Locked {
                lock: CacheAligned(lock),
                counters: AtomicCounters::new(),
                value: UnsafeCell::new(value),
            }
        }
    }

    /// The wrapped value, without locking: `&mut self` proves no one else has it.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// The usage counters, read without taking the lock (see [`Counters`] for what a
    /// snapshot taken while other threads allocate means).
    pub fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    /// The counters, for updates by the holder of the lock.
    pub(crate) fn live_counters(&self) -> &AtomicCounters {
        &self.counters
    }
}

impl<T, R: RawLock> Locked<T, R> {
    /// Waits for the lock and gives exclusive access to the value until the guard drops.
    pub fn lock(&self) -> Guard<'_, T, R> {
        self.lock.lock();
        Guard::new(self)
    }

    /// Exclusive access if the lock is free right now.
    pub fn try_lock(&self) -> Option<Guard<'_, T, R>> {
        self.lock.try_lock().then(|| Guard::new(self))
    }
}

impl<T, R> fmt::Debug for Locked<T, R> {
    /// Shows the counters only: printing the value would need the lock, and a `Debug` that
    /// can block (or deadlock inside an allocator) is worse than a terse one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked")
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

/// Exclusive access to a [`Locked`] value; dropping it (or unwinding through it) unlocks.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct Guard<'a, T, R: RawLock> {
    locked: &'a Locked<T, R>,
    /// Not `Send`: some raw locks must be released by the thread that took them.
    _not_send: PhantomData<*const ()>,
}

impl<'a, T, R: RawLock> Guard<'a, T, R> {
    /// A guard for a lock the caller has just taken.
    fn new(locked: &'a Locked<T, R>) -> Guard<'a, T, R> {
        Guard {
            locked,
            _not_send: PhantomData,
        }
    }

    /// The counters of the wrapper, which the holder of the lock may update.
    pub(crate) fn counters(&self) -> &'a AtomicCounters {
        self.locked.live_counters()
    }
}

impl<T, R: RawLock> Deref for Guard<'_, T, R> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its lock is held, so no `&mut T` exists
        // elsewhere (the `RawLock` promise).
        unsafe { &*self.locked.value.get() }
    }
}

impl<T, R: RawLock> DerefMut for Guard<'_, T, R> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the only reference
        // derived from it.
        unsafe { &mut *self.locked.value.get() }
    }
}

impl<T, R: RawLock> Drop for Guard<'_, T, R> {
    fn drop(&mut self) {
        // SAFETY: a guard is created only right after this context took the lock, and is
        // dropped once, so the lock is still held here.
        unsafe { self.locked.lock.unlock() };
    }
}

impl<T: fmt::Debug, R: RawLock> fmt::Debug for Guard<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests;
