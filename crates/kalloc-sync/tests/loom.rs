//! loom models of kalloc-sync's lock and of allocation through the locked wrapper.
//!
//! Run (release, two contending threads per model):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p kalloc-sync --release --test loom
//! ```
//!
//! Without `--cfg loom` this file compiles to nothing, so `cargo test` skips it.
#![cfg(loom)]

use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_core::{ByteHeap, Error, Stats};
use kalloc_sync::{BackoffLock, Locked, RawLock};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

/// Two threads increment a plain (loom-tracked) cell under `BackoffLock`. loom fails the
/// model if the two critical sections ever overlap (concurrent access to the cell) or an
/// increment is lost.
#[test]
fn backoff_lock_excludes() {
    loom::model(|| {
        let shared = Arc::new((BackoffLock::new(), UnsafeCell::new(0usize)));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    let (lock, count) = &*shared;
                    lock.lock();
                    // SAFETY (test): the lock is held; loom checks that claim.
                    count.with_mut(|count| unsafe { *count += 1 });
                    // SAFETY: taken above by this thread.
                    unsafe { lock.unlock() };
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        let (lock, count) = &*shared;
        assert!(!lock.is_held());
        assert_eq!(count.with(|count| unsafe { *count }), 2);
    });
}

/// `try_lock` while another thread holds or takes the lock: it succeeds only when the lock
/// is free, so the two critical sections still never overlap.
#[test]
fn backoff_try_lock_excludes() {
    loom::model(|| {
        let shared = Arc::new((BackoffLock::new(), UnsafeCell::new(0usize)));
        let other = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let (lock, count) = &*shared;
                lock.lock();
                // SAFETY (test): the lock is held; loom checks that claim.
                count.with_mut(|count| unsafe { *count += 1 });
                // SAFETY: taken above by this thread.
                unsafe { lock.unlock() };
            })
        };
        let (lock, count) = &*shared;
        let mine = lock.try_lock();
        if mine {
            // SAFETY (test): `try_lock` succeeded; loom checks that claim.
            count.with_mut(|count| unsafe { *count += 1 });
            // SAFETY: taken by the `try_lock` above.
            unsafe { lock.unlock() };
        }
        other.join().unwrap();
        assert_eq!(count.with(|count| unsafe { *count }), 1 + usize::from(mine));
    });
}

/// Slots of the model heap: fewer than the two threads' four requests, so some fail.
const SLOTS: usize = 3;
/// Bytes of a slot.
const SLOT: usize = 8;

/// A heap of `SLOTS` slots whose bookkeeping lives in a loom cell: loom fails the model if
/// two threads ever run heap code at the same time, i.e. if the wrapper's lock fails.
struct ModelHeap {
    base: NonNull<u64>,
    used: UnsafeCell<[bool; SLOTS]>,
}

// SAFETY (test): the heap owns the slots `base` points to; moving it to another thread is
// what the wrapper does and what it must make safe.
unsafe impl Send for ModelHeap {}

// SAFETY: a slot is handed out only while marked free and stays marked until freed, so
// live blocks are disjoint; each is one aligned `u64` of the heap's memory.
unsafe impl ByteHeap for ModelHeap {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        assert!(layout.size() <= SLOT && layout.align() <= SLOT);
        // SAFETY (test): `&mut self`; loom checks it is really exclusive.
        let slot = self.used.with_mut(|used| unsafe {
            let slot = (*used).iter().position(|used| !used)?;
            (*used)[slot] = true;
            Some(slot)
        });
        let slot = slot.ok_or(Error::Exhausted)?;
        // SAFETY: `slot < SLOTS`: inside the heap's memory.
        Ok(unsafe { self.base.add(slot) }.cast())
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) -> Result<(), Error> {
        let slot = (ptr.as_ptr().addr() - self.base.as_ptr().addr()) / SLOT;
        // SAFETY (test): `&mut self`; loom checks it is really exclusive.
        self.used.with_mut(|used| unsafe {
            if !(*used)[slot] {
                return Err(Error::DoubleFree);
            }
            (*used)[slot] = false;
            Ok(())
        })
    }

    fn stats(&self) -> Stats {
        // SAFETY (test): `&self` under the lock or after the threads joined.
        let live = self
            .used
            .with(|used| unsafe { (*used).iter().filter(|u| **u).count() });
        Stats {
            total: SLOTS * SLOT,
            in_use: live * SLOT,
            free: (SLOTS - live) * SLOT,
            allocations: live,
            largest_free: if live < SLOTS { SLOT } else { 0 },
        }
    }
}

/// The shared state of the wrapper model.
struct Model {
    heap: Locked<ModelHeap, BackoffLock>,
    /// Per slot, the id of the thread that owns it (0: nobody): a second owner is caught.
    owners: [AtomicUsize; SLOTS],
    base: NonNull<u64>,
}

// SAFETY (test): `base` is only used to compute slot indexes.
unsafe impl Send for Model {}
// SAFETY (test): as above.
unsafe impl Sync for Model {}

impl Model {
    fn slot(&self, block: NonNull<u8>) -> usize {
        (block.as_ptr().addr() - self.base.as_ptr().addr()) / SLOT
    }

    /// Allocates, claims, writes `me`, reads it back: returns the block, or `None` when the
    /// heap was exhausted.
    fn take(&self, me: usize) -> Option<NonNull<u8>> {
        let block = self.heap.allocate(Layout::new::<u64>()).ok()?;
        let previous = self.owners[self.slot(block)].swap(me, Ordering::Relaxed);
        assert_eq!(
            previous, 0,
            "block handed to thread {me} while thread {previous} owns it"
        );
        // SAFETY: the block is this thread's alone (just checked) and one `u64`.
        unsafe { block.cast::<u64>().write(me as u64) };
        Some(block)
    }

    fn give_back(&self, me: usize, block: NonNull<u8>) {
        // SAFETY: the block is still this thread's.
        assert_eq!(
            unsafe { block.cast::<u64>().read() },
            me as u64,
            "someone wrote my block"
        );
        let owner = self.owners[self.slot(block)].swap(0, Ordering::Relaxed);
        assert_eq!(owner, me);
        // SAFETY: allocated above for this layout, freed once.
        unsafe { self.heap.deallocate(block, Layout::new::<u64>()) }.unwrap();
    }
}

/// Two threads each take two blocks and free them through the locked wrapper, while the
/// main thread reads the counters without the lock. No block is ever owned twice, the heap
/// code never runs concurrently (the loom cell), the counters agree with what happened, and
/// afterwards every slot can be allocated again: nothing was lost.
#[test]
fn locked_heap_alloc_free() {
    loom::model(|| {
        let memory = Box::into_raw(Box::new([0u64; SLOTS]));
        let base = NonNull::new(memory).unwrap().cast::<u64>();
        let heap = ModelHeap {
            base,
            used: UnsafeCell::new([false; SLOTS]),
        };
        let model = Arc::new(Model {
            heap: Locked::with_lock(heap, BackoffLock::new()),
            owners: core::array::from_fn(|_| AtomicUsize::new(0)),
            base,
        });
        let workers: Vec<_> = (1..=2)
            .map(|me| {
                let model = Arc::clone(&model);
                thread::spawn(move || {
                    let first = model.take(me);
                    let second = model.take(me);
                    let failed = usize::from(first.is_none()) + usize::from(second.is_none());
                    for block in [first, second].into_iter().flatten() {
                        model.give_back(me, block);
                    }
                    failed
                })
            })
            .collect();
        let seen = model.heap.counters();
        assert!(seen.allocations <= SLOTS && seen.in_use <= SLOTS * SLOT);
        let failed: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();

        let counters = model.heap.counters();
        assert_eq!(counters.allocations, 0);
        assert_eq!(counters.in_use, 0);
        assert_eq!(counters.failures, failed);
        assert!(
            failed <= 1,
            "at most one of four requests can miss three slots"
        );
        assert_eq!(counters.rejected_frees, 0);
        assert_eq!(model.heap.heap_stats().allocations, 0);
        let all: Vec<_> = (0..SLOTS)
            .map(|_| model.take(9).expect("no slot lost"))
            .collect();
        for block in all {
            model.give_back(9, block);
        }
        drop(model);
        // SAFETY: allocated above with `Box`, no pointer into it is used any more.
        drop(unsafe { Box::from_raw(memory) });
    });
}
