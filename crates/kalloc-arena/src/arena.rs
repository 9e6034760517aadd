//! [`BlockBumpArena`]: the arena itself, its hot path and how it takes blocks.

use crate::block::{BLOCK_ALIGN, BLOCK_SIZE, HEADER_OFFSET, Link, MAX_ALIGN, MAX_REQUEST};
use crate::history::{History, Pos};
use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};
use kalloc_core::{Error, MemorySource, Span};

#[cfg(test)]
mod tests;

/// A dual-ended bump arena over 4 KiB blocks imported from a [`MemorySource`].
///
/// * Requests with alignment 1 grow **up** from the bottom of the current block; requests
///   with any larger power-of-two alignment (up to [`MAX_ALIGN`]) grow **down** from its
///   top. Byte strings pack tightly at one end; aligned objects pay at most their own
///   alignment padding at the other.
/// * A request that does not fit starts a new block from the source. The space left
///   between the cursors of the old block is counted in
///   [`ArenaStats::wasted`](crate::ArenaStats::wasted), never silently lost.
/// * Requests of up to [`MAX_REQUEST`] bytes are served at any alignment up to
///   [`MAX_ALIGN`]; larger ones are [`Error::TooLarge`], larger alignments
///   [`Error::BadAlign`]. Zero-size requests get a dangling, well-aligned pointer and use no
///   memory.
/// * Dropping the arena gives every block back to the source; [`reset`](Self::reset) keeps
///   one; [`checkpoint`](Self::checkpoint) / [`rewind`](Self::rewind) free everything
///   allocated after a mark.
/// * Destructors of values placed in the arena never run.
///
/// The arena holds its source by value; to share one source among several arenas, give
/// each `&source` (every `&S` of a [`MemorySource`] is one).
///
/// ```
/// use core::alloc::Layout;
/// use kalloc_arena::BlockBumpArena;
/// use kalloc_core::FixedRegion;
///
/// let mut memory = vec![0u8; 64 * 1024];
/// let blocks = FixedRegion::from_slice(&mut memory);
/// let (module_a, module_b) = (BlockBumpArena::new(&blocks), BlockBumpArena::new(&blocks));
/// let name = module_a.alloc_slice_copy(b"init_module").unwrap();
/// let counter = module_b.alloc_value(0u64).unwrap();
/// *counter += 1;
/// assert_eq!(name, b"init_module");
/// assert_eq!(module_a.stats().in_use, 11);
/// drop(module_a); // its block goes back to `blocks`
/// assert_eq!(*counter, 1);
/// ```
pub struct BlockBumpArena<S: MemorySource> {
    /// Low cursor: the next byte for an align-1 request. Null when no block is held.
    ///
    /// Invariant (with `hi`): `base <= lo <= hi <= base + HEADER_OFFSET` for the current
    /// block's `base`; everything in `[base, lo)` and `[hi, base + HEADER_OFFSET)` is handed
    /// out or padding, `[lo, hi)` is free.
    pub(crate) lo: Cell<*mut u8>,
    /// High cursor: the lowest byte handed out from the top. Null when no block is held.
    pub(crate) hi: Cell<*mut u8>,
    /// The lowest `lo` and highest `hi` that reclaiming the most recent allocation may move
    /// the cursors back to: the position of the latest checkpoint, rewind or block start.
    /// Keeps a reclaim from undoing memory a mark covers.
    pub(crate) floor_lo: Cell<*mut u8>,
    /// See `floor_lo`.
    pub(crate) floor_hi: Cell<*mut u8>,
    /// Base of the newest block (the chain of older ones runs through their links).
    pub(crate) current: Cell<Option<NonNull<u8>>>,
    /// Serial of the newest block, 0 when none is held.
    pub(crate) serial: Cell<u64>,
    /// Serial the next imported block gets (serials are never reused).
    pub(crate) next_serial: Cell<u64>,
    /// Blocks held.
    pub(crate) blocks: Cell<usize>,
    /// Allocations handed out and not reclaimed (zero-size ones are not counted).
    pub(crate) allocations: Cell<usize>,
    /// Bytes left between the cursors of blocks the arena moved on from. Every other byte
    /// below the links of those blocks is in use, so this one counter also gives `in_use`.
    pub(crate) wasted: Cell<usize>,
    /// Set while the source is importing, so a source that re-enters this arena gets
    /// [`Error::Busy`] instead of interleaving two block changes.
    pub(crate) importing: Cell<bool>,
    /// Identity for marks; 0 until the first checkpoint draws one.
    pub(crate) id: Cell<usize>,
    /// Number of checkpoints, rewinds and resets so far: the time marks and history records
    /// carry.
    pub(crate) clock: Cell<u64>,
    /// Clock value at the last reset: marks from before it are stale.
    pub(crate) reset_clock: u64,
    /// Rewinds that can still make a mark stale.
    pub(crate) history: History,
    pub(crate) source: S,
}

impl<S: MemorySource> BlockBumpArena<S> {
    /// An empty arena drawing blocks from `source`. Takes no block until the first request.
    pub const fn new(source: S) -> BlockBumpArena<S> {
        BlockBumpArena {
            lo: Cell::new(ptr::null_mut()),
            hi: Cell::new(ptr::null_mut()),
            floor_lo: Cell::new(ptr::null_mut()),
            floor_hi: Cell::new(ptr::null_mut()),
            current: Cell::new(None),
            serial: Cell::new(0),
            next_serial: Cell::new(1),
            blocks: Cell::new(0),
            allocations: Cell::new(0),
            wasted: Cell::new(0),
            importing: Cell::new(false),
            id: Cell::new(0),
            clock: Cell::new(0),
            reset_clock: 0,
            history: History::new(),
            source,
        }
    }

    /// The source the arena draws from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Memory for `layout`.
    ///
    /// Errors: [`Error::BadAlign`] for an alignment over [`MAX_ALIGN`], [`Error::TooLarge`]
    /// for a size over [`MAX_REQUEST`], the source's error (typically
    /// [`Error::Exhausted`]) when a new block is needed and cannot be had, [`Error::Busy`]
    /// when the source re-enters this arena, [`Error::Misaligned`] when the source hands out
    /// a span that is not one aligned block. After an error the arena is unchanged.
    #[inline]
    pub fn alloc(&self, layout: Layout) -> Result<NonNull<u8>, Error> {
        match self.bump(layout) {
            Some(ptr) => Ok(ptr),
            None => self.alloc_slow(layout),
        }
    }

    /// Moves `value` into the arena. Its destructor will never run. On error the value
    /// comes back with the cause.
    // Each call returns fresh memory no other reference reaches: the `&mut` is unique even
    // though the arena is shared.
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_value<T>(&self, value: T) -> Result<&mut T, (Error, T)> {
        match self.alloc(Layout::new::<T>()) {
            Ok(ptr) => {
                let ptr = ptr.cast::<T>();
                // SAFETY: `ptr` is aligned and valid for a `T` (or dangling and aligned for a
                // zero-size `T`), and the arena hands these bytes to nobody else; the `&self`
                // borrow keeps `rewind`, `reset` and drop away while the reference lives.
                Ok(unsafe {
                    ptr.write(value);
                    &mut *ptr.as_ptr()
                })
            }
            Err(error) => Err((error, value)),
        }
    }

    /// Copies `items` into the arena.
    ///
    /// Errors: as [`alloc`](Self::alloc).
    #[allow(clippy::mut_from_ref)] // fresh memory, as in `alloc_value`
    pub fn alloc_slice_copy<T: Copy>(&self, items: &[T]) -> Result<&mut [T], Error> {
        let ptr = self.alloc(Layout::for_value(items))?.cast::<T>();
        // SAFETY: `ptr` is aligned and valid for `items.len()` values of `T` (dangling and
        // aligned for an empty or zero-size slice), fresh so it cannot overlap `items`, and
        // ours alone while `&self` is borrowed (see `alloc_value`).
        Ok(unsafe {
            ptr.as_ptr()
                .copy_from_nonoverlapping(items.as_ptr(), items.len());
            core::slice::from_raw_parts_mut(ptr.as_ptr(), items.len())
        })
    }

    /// The hot path: bumps a cursor of the current block, or `None` when the request does
    /// not fit there (or is zero-size, or its alignment is too large).
    ///
    /// Each end moves only its own cursor, so back-to-back requests at one end form a
    /// dependency chain through that cursor alone; usage counters other than `allocations`
    /// derive from the cursors instead of being updated here.
    #[inline(always)]
    pub(crate) fn bump(&self, layout: Layout) -> Option<NonNull<u8>> {
        let (size, align) = (layout.size(), layout.align());
        let start = if align == 1 {
            let lo = self.lo.get();
            // `lo <= hi` always (both null without a block), so the room cannot wrap. One
            // comparison refuses both a zero size (wraps to usize::MAX) and one over the room.
            if size.wrapping_sub(1) >= self.hi.get().addr() - lo.addr() {
                return None;
            }
            // `size <= hi - lo`: stays inside the block.
            self.lo.set(lo.wrapping_add(size));
            lo
        } else {
            if align > MAX_ALIGN {
                return None;
            }
            let hi = self.hi.get();
            let below = hi.addr().wrapping_sub(size);
            // One comparison refuses both a zero size (`below == hi`) and a size over `hi`
            // (wraps above it); null `hi` (no block) refuses every size.
            if below >= hi.addr() {
                return None;
            }
            let new_hi = below & !(align - 1);
            if new_hi < self.lo.get().addr() {
                return None;
            }
            let new_hi = hi.with_addr(new_hi);
            self.hi.set(new_hi);
            new_hi
        };
        // Cannot overflow: each allocation takes at least one byte of a block held.
        self.allocations.set(self.allocations.get() + 1);
        // SAFETY: `start` lies inside a block the arena holds, so it is not null.
        Some(unsafe { NonNull::new_unchecked(start) })
    }

    /// Everything `bump` refuses: zero sizes, errors, and starting a new block.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout) -> Result<NonNull<u8>, Error> {
        if layout.align() > MAX_ALIGN {
            return Err(Error::BadAlign);
        }
        if layout.size() == 0 {
            return Ok(dangling(layout));
        }
        if layout.size() > MAX_REQUEST {
            return Err(Error::TooLarge);
        }
        self.start_block()?;
        let ptr = self.bump(layout);
        debug_assert!(
            ptr.is_some(),
            "a fresh block fits every request up to MAX_REQUEST"
        );
        ptr.ok_or(Error::Exhausted)
    }

    /// Imports a block and makes it the current one; the old block's free middle becomes
    /// wasted. On error nothing changes.
    fn start_block(&self) -> Result<(), Error> {
        if self.importing.replace(true) {
            return Err(Error::Busy);
        }
        let imported = self.import_block();
        self.importing.set(false);
        let (base, serial) = imported?;
        // Read the cursors only now: a source that allocated from this arena's fast path
        // while importing moved them.
        let tail = self.hi.get().addr() - self.lo.get().addr();
        let link = Link {
            prev: self.current.get(),
            serial,
        };
        // SAFETY: `base` is a fresh block of BLOCK_SIZE bytes aligned to BLOCK_ALIGN that the
        // source handed to this arena alone (checked in `import_block`).
        unsafe { link.write(base) };
        self.wasted.set(self.wasted.get() + tail);
        self.blocks.set(self.blocks.get() + 1);
        self.current.set(Some(base));
        self.serial.set(serial);
        self.set_cursors(base, 0, HEADER_OFFSET);
        self.set_floor();
        Ok(())
    }

    /// One block from the source, checked to be what the arena needs, with its serial.
    fn import_block(&self) -> Result<(NonNull<u8>, u64), Error> {
        let serial = self.next_serial.get();
        let next = serial.checked_add(1).ok_or(Error::Overflow)?;
        let span = self.source.import(BLOCK_SIZE, BLOCK_ALIGN)?;
        let base = match self.source.ptr(span) {
            Ok(base)
                if span.len() == BLOCK_SIZE
                    && BLOCK_ALIGN.is_aligned(span.base())
                    && base.addr().get() == span.base() =>
            {
                base
            }
            refused => {
                let released = self.source.release(span);
                debug_assert!(released.is_ok(), "the source refused its own span back");
                return Err(refused.err().unwrap_or(Error::Misaligned));
            }
        };
        self.next_serial.set(next);
        Ok((base, serial))
    }

    /// Points the cursors at offsets `lo` and `hi` of the block at `base`.
    pub(crate) fn set_cursors(&self, base: NonNull<u8>, lo: usize, hi: usize) {
        debug_assert!(lo <= hi && hi <= HEADER_OFFSET);
        let base = base.as_ptr();
        self.lo.set(base.wrapping_add(lo));
        self.hi.set(base.wrapping_add(hi));
    }

    /// Makes the current cursors the floor that reclaiming cannot go below.
    pub(crate) fn set_floor(&self) {
        self.floor_lo.set(self.lo.get());
        self.floor_hi.set(self.hi.get());
    }

    /// Where the cursors stand, as offsets in the current block.
    pub(crate) fn pos(&self) -> Pos {
        match self.current.get() {
            None => Pos::default(),
            Some(base) => Pos {
                serial: self.serial.get(),
                // Offsets are below BLOCK_SIZE <= u16::MAX (asserted in `block`).
                lo: (self.lo.get().addr() - base.addr().get()) as u16,
                hi: (self.hi.get().addr() - base.addr().get()) as u16,
            },
        }
    }

    /// Gives back to the source every block newer than `keep` (all blocks for `None`),
    /// newest first, and returns how many. Leaves `current` at `keep`; the caller sets the
    /// cursors and counters.
    ///
    /// `keep` must be `None` or a block on the chain.
    pub(crate) fn release_newer_than(&self, keep: Option<NonNull<u8>>) -> usize {
        let mut released = 0;
        let mut block = self.current.get();
        while block != keep {
            let Some(base) = block else {
                debug_assert!(false, "`keep` is not on the chain");
                break;
            };
            // SAFETY: every block on the chain is held and had its link written on import.
            let link = unsafe { Link::read(base) };
            // The source handed out exactly this span (checked on import), so it does not wrap.
            let span = Span::new(base.addr().get(), BLOCK_SIZE);
            let result = self.source.release(span);
            debug_assert!(result.is_ok(), "the source refused a block it handed out");
            block = link.prev;
            released += 1;
        }
        self.current.set(keep);
        self.blocks.set(self.blocks.get() - released);
        released
    }
}

/// A dangling pointer aligned for `layout`, for zero-size requests.
pub(crate) fn dangling(layout: Layout) -> NonNull<u8> {
    // `layout.align()` is a non-zero power of two, so `new` never fails here.
    NonNull::new(ptr::without_provenance_mut(layout.align())).unwrap_or(NonNull::dangling())
}

impl<S: MemorySource> Drop for BlockBumpArena<S> {
    fn drop(&mut self) {
        self.release_newer_than(None);
    }
}

// SAFETY: the arena owns its blocks exclusively (nothing else holds pointers into them
// except callers' allocations, which are theirs to synchronise), and its cells are only
// touched through `&self`/`&mut self` of one thread at a time because the arena is not
// `Sync`. Moving it to another thread is sound when its source can move too.
unsafe impl<S: MemorySource + Send> Send for BlockBumpArena<S> {}

impl<S: MemorySource> core::fmt::Debug for BlockBumpArena<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlockBumpArena")
            .field("blocks", &self.blocks.get())
            .field("in_use", &self.in_use())
            .field("free", &(self.hi.get().addr() - self.lo.get().addr()))
            .field("wasted", &self.wasted.get())
            .finish_non_exhaustive()
    }
}
