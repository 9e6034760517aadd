//! Checkpoints: [`Mark`], [`BlockBumpArena::checkpoint`], [`BlockBumpArena::rewind`] and
//! [`BlockBumpArena::reset`].

use crate::arena::BlockBumpArena;
use crate::block::{HEADER_OFFSET, Link};
use crate::history::Pos;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use kalloc_core::{Error, MemorySource};

#[cfg(test)]
mod tests;

/// Identities for arenas that take checkpoints; 0 means "none drawn yet".
static NEXT_ARENA_ID: AtomicUsize = AtomicUsize::new(1);

/// A point in an arena's life to [`rewind`](BlockBumpArena::rewind) to.
///
/// A mark is only good for the arena that made it ([`Error::WrongOwner`] otherwise) and
/// only while it is not *stale* ([`Error::DoubleFree`]): a [`reset`](BlockBumpArena::reset)
/// makes every earlier mark stale, and a rewind to a mark makes every mark taken after
/// that one stale (the mark itself and older ones stay good, so one mark can be rewound to
/// again and again, and nested checkpoints work as a stack). The arena tells stale marks
/// apart exactly as long as at most [`HISTORY_LEN`](crate::HISTORY_LEN) nested levels have
/// been rewound; deeper, it may also refuse an old good mark (see
/// [`history_merges`](BlockBumpArena::history_merges)), never accept a stale one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    arena: usize,
    time: u64,
    pos: Pos,
    allocations: usize,
    wasted: usize,
}

impl<S: MemorySource> BlockBumpArena<S> {
    /// A mark of the arena as it is now, to [`rewind`](Self::rewind) to later. O(1).
    pub fn checkpoint(&self) -> Mark {
        // The most recent allocation can no longer be reclaimed below this point.
        self.set_floor();
        // 2^64 checkpoints cannot happen; saturating keeps the clock from going back.
        let time = self.clock.get().saturating_add(1);
        self.clock.set(time);
        Mark {
            arena: self.identity(),
            time,
            pos: self.pos(),
            allocations: self.allocations.get(),
            wasted: self.wasted.get(),
        }
    }

    /// Frees everything allocated since `mark` was taken, giving back to the source every
    /// block imported since. O(blocks given back).
    ///
    /// Errors, with the arena unchanged: [`Error::WrongOwner`] for a mark of another arena,
    /// [`Error::DoubleFree`] for a stale mark (see [`Mark`]), [`Error::Overflow`] when the
    /// clock is exhausted (after 2^64 checkpoints and rewinds).
    pub fn rewind(&mut self, mark: Mark) -> Result<(), Error> {
        if mark.arena == 0 || mark.arena != self.id.get() {
            return Err(Error::WrongOwner);
        }
        if mark.time < self.reset_clock || !self.history.allows(mark.time, mark.pos) {
            return Err(Error::DoubleFree);
        }
        let target = self.find_block(mark.pos.serial)?;
        if target == self.current.get() && !mark.pos.is_at_or_before(self.pos()) {
            // Only possible for a mark the history could no longer judge exactly.
            return Err(Error::DoubleFree);
        }
        let time = self.clock.get().checked_add(1).ok_or(Error::Overflow)?;
        self.release_newer_than(target);
        match target {
            Some(base) => {
                self.serial.set(mark.pos.serial);
                self.set_cursors(base, usize::from(mark.pos.lo), usize::from(mark.pos.hi));
            }
            None => self.clear_cursors(),
        }
        self.allocations.set(mark.allocations);
        self.wasted.set(mark.wasted);
        self.set_floor();
        self.clock.set(time);
        self.history.push(time, mark.pos, mark.time);
        Ok(())
    }

    /// Frees everything, keeps the oldest block (if any) for the next allocations and gives
    /// the others back to the source, newest first. Every mark taken so far becomes stale.
    /// O(blocks held).
    pub fn reset(&mut self) {
        let oldest = self.oldest_block();
        self.release_newer_than(oldest);
        let fresh = self.next_serial.get();
        match (oldest, fresh.checked_add(1)) {
            (Some(base), Some(next)) => {
                // A new serial for the kept block: marks into its old life cannot match it.
                self.next_serial.set(next);
                self.serial.set(fresh);
                let link = Link {
                    prev: None,
                    serial: fresh,
                };
                // SAFETY: `base` is the oldest block held, so its link is ours to rewrite.
                unsafe { link.write(base) };
                self.set_cursors(base, 0, HEADER_OFFSET);
            }
            _ => {
                // No block, or (after 2^64 imports) no serial left: hold nothing.
                self.release_newer_than(None);
                self.clear_cursors();
            }
        }
        self.allocations.set(0);
        self.wasted.set(0);
        self.set_floor();
        // 2^64 resets cannot happen; saturating keeps every earlier mark stale regardless.
        self.clock.set(self.clock.get().saturating_add(1));
        self.reset_clock = self.clock.get();
        self.history.clear();
    }

    /// How many times the rewind history was full and merged two records, which can make
    /// a deeply nested older mark look stale (see [`Mark`]). 0 unless more than
    /// [`HISTORY_LEN`](crate::HISTORY_LEN) nested checkpoints were each rewound.
    pub fn history_merges(&self) -> usize {
        self.history.merges()
    }

    /// This arena's identity, drawn on first use.
    fn identity(&self) -> usize {
        if self.id.get() == 0 {
            // After usize::MAX - 1 identities (only conceivable on 32-bit targets) the last
            // one is shared; marks of other arenas are then told apart by block serials only.
            let drawn = NEXT_ARENA_ID
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| id.checked_add(1))
                .unwrap_or(usize::MAX);
            self.id.set(drawn);
        }
        self.id.get()
    }

    /// The held block with `serial` (`None` for serial 0, "no block"), found by walking from
    /// the newest block over the blocks a rewind to it would give back, or
    /// [`Error::DoubleFree`] when no held block has that serial.
    fn find_block(&self, serial: u64) -> Result<Option<NonNull<u8>>, Error> {
        let mut block = self.current.get();
        let mut block_serial = self.serial.get();
        while block_serial > serial {
            let Some(base) = block else { break };
            // SAFETY: every block on the chain is held and had its link written on import.
            block = unsafe { Link::read(base) }.prev;
            block_serial = match block {
                // SAFETY: as above.
                Some(prev) => unsafe { Link::read(prev) }.serial,
                None => 0,
            };
        }
        if block_serial == serial {
            Ok(block)
        } else {
            Err(Error::DoubleFree)
        }
    }

    /// The oldest block held, found by walking the chain.
    fn oldest_block(&self) -> Option<NonNull<u8>> {
        let mut oldest = self.current.get()?;
        // SAFETY: every block on the chain is held and had its link written on import.
        while let Some(prev) = unsafe { Link::read(oldest) }.prev {
            oldest = prev;
        }
        Some(oldest)
    }

    /// No block: both cursors null, serial 0.
    fn clear_cursors(&self) {
        self.current.set(None);
        self.serial.set(0);
        self.lo.set(core::ptr::null_mut());
        self.hi.set(core::ptr::null_mut());
    }
}
