//! [`Counters`]: usage statistics of a [`Locked`](crate::Locked) that readers get without
//! taking its lock.

use crate::sync::{AtomicUsize, Ordering, const_fn_unless_loom};

/// A snapshot of what went through a [`Locked`](crate::Locked) heap's allocation
/// interfaces (`GlobalAlloc`, `Allocator`, and its own `allocate` / `deallocate` /
/// `resize`), read without the lock.
///
/// Each field is exact at some moment, but fields are read one by one while other threads
/// may allocate: the snapshot as a whole can mix moments (for example `in_use` from before
/// an allocation and `allocations` from after it). Work done directly on the heap through
/// [`Locked::lock`](crate::Locked::lock) is not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// Live allocations: successful allocations minus accepted frees.
    pub allocations: usize,
    /// Bytes live, as requested (layout sizes, before the heap's rounding).
    pub in_use: usize,
    /// The largest `in_use` ever reached.
    pub peak_in_use: usize,
    /// Allocations and resizes the heap refused (out of memory, bad alignment, ...).
    pub failures: usize,
    /// Frees the heap refused as wrong (double free, foreign pointer, ...). A
    /// `GlobalAlloc::dealloc` cannot report an error; this is where such frees show up.
    pub rejected_frees: usize,
}

/// The live counters behind [`Counters`].
///
/// Only the holder of the wrapper's lock writes them, so each update is a plain load and
/// store (no read-modify-write is needed) and its arithmetic saturates instead of wrapping:
/// these run while the lock is held, where a panic or a silent wrap is not acceptable.
/// `Relaxed` suffices: the counters order nothing else; the lock orders the writers.
#[derive(Debug)]
pub(crate) struct AtomicCounters {
    allocations: AtomicUsize,
    in_use: AtomicUsize,
    peak_in_use: AtomicUsize,
    failures: AtomicUsize,
    rejected_frees: AtomicUsize,
}

/// `counter = update(counter)`, for the single writer that holds the lock.
fn set(counter: &AtomicUsize, update: impl FnOnce(usize) -> usize) {
    counter.store(update(counter.load(Ordering::Relaxed)), Ordering::Relaxed);
}

impl AtomicCounters {
    const_fn_unless_loom! {
        /// All zero.
        pub(crate) fn new() -> AtomicCounters {
            AtomicCounters {
                allocations: AtomicUsize::new(0),
                in_use: AtomicUsize::new(0),
                peak_in_use: AtomicUsize::new(0),
                failures: AtomicUsize::new(0),
                rejected_frees: AtomicUsize::new(0),
            }
        }
    }

    /// A new allocation of `size` bytes. Lock held.
    pub(crate) fn allocated(&self, size: usize) {
        set(&self.allocations, |n| n.saturating_add(1));
        self.add_in_use(size);
    }

    /// An accepted free of `size` bytes. Lock held.
    pub(crate) fn freed(&self, size: usize) {
        set(&self.allocations, |n| n.saturating_sub(1));
        set(&self.in_use, |n| n.saturating_sub(size));
    }

    /// A live allocation resized from `old` to `new` bytes. Lock held.
    pub(crate) fn resized(&self, old: usize, new: usize) {
        if new >= old {
            self.add_in_use(new - old);
        } else {
            set(&self.in_use, |n| n.saturating_sub(old - new));
        }
    }

    /// A refused allocation or resize. Lock held.
    pub(crate) fn failed(&self) {
        set(&self.failures, |n| n.saturating_add(1));
    }

    /// A refused free. Lock held.
    pub(crate) fn rejected_free(&self) {
        set(&self.rejected_frees, |n| n.saturating_add(1));
    }

    fn add_in_use(&self, bytes: usize) {
        let in_use = self.in_use.load(Ordering::Relaxed).saturating_add(bytes);
        self.in_use.store(in_use, Ordering::Relaxed);
        set(&self.peak_in_use, |peak| peak.max(in_use));
    }

    /// The counters now, without the lock.
    pub(crate) fn snapshot(&self) -> Counters {
        Counters {
            allocations: self.allocations.load(Ordering::Relaxed),
            in_use: self.in_use.load(Ordering::Relaxed),
            peak_in_use: self.peak_in_use.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            rejected_frees: self.rejected_frees.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
