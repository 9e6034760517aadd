//! A tiny [`ByteHeap`] for the unit tests: pools cut into 64-byte slots, one bit per slot.
//!
//! Just enough heap to exercise the wrappers (every error path, growth by pools, a panic on
//! demand) with bookkeeping simple enough to trust by reading.

extern crate std;

use core::alloc::Layout;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kalloc_core::{Align, ByteHeap, Error, GrowableHeap, Stats};

/// Bytes in a slot; also the largest alignment served and the pool alignment.
pub(crate) const SLOT: usize = 64;
/// Pools the heap can hold.
const MAX_POOLS: usize = 2;
/// Slots a pool can have (one `u64` of used bits each).
const MAX_SLOTS: usize = 64;
/// A request of exactly this many bytes makes the heap panic (for the unwind tests).
pub(crate) const PANIC_SIZE: usize = 13;

/// Memory for the test heap, aligned like its slots.
#[repr(align(64))]
pub(crate) struct Memory<const N: usize>(pub(crate) [u8; N]);

impl<const N: usize> Memory<N> {
    pub(crate) fn new() -> Memory<N> {
        Memory([0; N])
    }
}

#[derive(Clone, Copy, Debug)]
struct Pool {
    base: NonNull<u8>,
    slots: usize,
    /// Bit `i` set: slot `i` is allocated.
    used: u64,
}

/// The slot heap. `'m` is the borrow of the memory its pools live in.
#[derive(Debug)]
pub(crate) struct SlotHeap<'m> {
    pools: [Option<Pool>; MAX_POOLS],
    _memory: PhantomData<&'m mut [u8]>,
}

// SAFETY: the heap only holds pointers into memory it exclusively borrows.
unsafe impl Send for SlotHeap<'_> {}

impl<'m> SlotHeap<'m> {
    /// A heap with no pools.
    pub(crate) fn empty() -> SlotHeap<'m> {
        SlotHeap {
            pools: [None; MAX_POOLS],
            _memory: PhantomData,
        }
    }

    /// A heap with one pool over `memory`.
    pub(crate) fn new<const N: usize>(memory: &'m mut Memory<N>) -> SlotHeap<'m> {
        let mut heap = SlotHeap::empty();
        let base = NonNull::from(&mut memory.0).cast::<u8>();
        // SAFETY: `memory` is borrowed for `'m`, valid and used by nothing else.
        unsafe { heap.add_pool(base, N) }.expect("a fresh heap takes its first pool");
        heap
    }

    /// The pool and slot index of `ptr`.
    fn find(&self, ptr: NonNull<u8>) -> Result<(usize, usize), Error> {
        for (index, pool) in self.pools.iter().enumerate() {
            let Some(pool) = pool else { continue };
            let offset = ptr.as_ptr().addr().wrapping_sub(pool.base.as_ptr().addr());
            if offset < pool.slots * SLOT {
                if offset % SLOT != 0 {
                    return Err(Error::Misaligned);
                }
                return Ok((index, offset / SLOT));
            }
        }
        Err(Error::ForeignPointer)
    }

    /// The pool and slot of a live block at `ptr`.
    fn find_live(&self, ptr: NonNull<u8>) -> Result<(usize, usize), Error> {
        let (pool, slot) = self.find(ptr)?;
        let live = self.pools[pool].is_some_and(|p| p.used & (1 << slot) != 0);
        if live {
            Ok((pool, slot))
        } else {
            Err(Error::DoubleFree)
        }
    }

    fn fits(layout: Layout) -> Result<(), Error> {
        if layout.size() == 0 {
            Err(Error::ZeroSize)
        } else if layout.align() > SLOT {
            Err(Error::BadAlign)
        } else if layout.size() > SLOT {
            Err(Error::TooLarge)
        } else {
            Ok(())
        }
    }

    /// Used bits only name existing slots.
    pub(crate) fn check(&self) -> Result<(), Error> {
        for pool in self.pools.iter().flatten() {
            if pool.slots < MAX_SLOTS && pool.used >> pool.slots != 0 {
                return Err(Error::Overflow);
            }
        }
        Ok(())
    }
}

// SAFETY: a slot is handed out only while its bit is clear and is then marked used until
// freed, so live blocks never overlap; each is SLOT bytes inside a pool the heap owns and
// SLOT-aligned (pools are), which covers every layout `fits` accepts; in-place resizes keep
// the block where it is.
unsafe impl ByteHeap for SlotHeap<'_> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        assert_ne!(layout.size(), PANIC_SIZE, "the test heap was told to panic");
        SlotHeap::fits(layout)?;
        for pool in self.pools.iter_mut().flatten() {
            let free = !pool.used;
            let slot = free.trailing_zeros() as usize;
            if slot < pool.slots {
                pool.used |= 1 << slot;
                // SAFETY: `slot < slots`, so the offset stays inside the pool.
                return Ok(unsafe { pool.base.add(slot * SLOT) });
            }
        }
        Err(Error::Exhausted)
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) -> Result<(), Error> {
        let (pool, slot) = self.find_live(ptr)?;
        if let Some(pool) = &mut self.pools[pool] {
            pool.used &= !(1 << slot);
        }
        Ok(())
    }

    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        _old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        self.find_live(ptr)?;
        SlotHeap::fits(new)?;
        Ok(ptr)
    }

    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        _old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        self.find_live(ptr)?;
        SlotHeap::fits(new)?;
        Ok(ptr)
    }

    fn stats(&self) -> Stats {
        let (mut total, mut in_use, mut allocations) = (0, 0, 0);
        for pool in self.pools.iter().flatten() {
            total += pool.slots * SLOT;
            allocations += pool.used.count_ones() as usize;
            in_use += pool.used.count_ones() as usize * SLOT;
        }
        let free = total - in_use;
        Stats {
            total,
            in_use,
            free,
            allocations,
            largest_free: if free > 0 { SLOT } else { 0 },
        }
    }
}

// SAFETY: `pool_size_for` returns one slot for any layout `fits` accepts, and a pool of one
// slot with SLOT alignment serves it; pools are only used for slots.
unsafe impl GrowableHeap for SlotHeap<'_> {
    fn pool_align(&self) -> Align {
        Align::new(SLOT)
    }

    fn pool_size_for(&self, layout: Layout) -> Result<usize, Error> {
        SlotHeap::fits(layout)?;
        Ok(SLOT)
    }

    unsafe fn add_pool(&mut self, base: NonNull<u8>, len: usize) -> Result<(), Error> {
        if len < SLOT {
            return Err(Error::TooSmall);
        }
        if !self.pool_align().is_aligned(base.as_ptr().addr()) {
            return Err(Error::Misaligned);
        }
        let free = self
            .pools
            .iter_mut()
            .find(|pool| pool.is_none())
            .ok_or(Error::TooLarge)?;
        *free = Some(Pool {
            base,
            slots: (len / SLOT).min(MAX_SLOTS),
            used: 0,
        });
        Ok(())
    }
}
