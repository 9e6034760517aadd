//! The consistency checker: every invariant of the arena, verified in O(blocks held).

use crate::arena::BlockBumpArena;
use crate::block::{BLOCK_ALIGN, HEADER_OFFSET, Link};
use kalloc_core::MemorySource;

#[cfg(test)]
mod tests;

impl<S: MemorySource> BlockBumpArena<S> {
    /// Verifies every invariant of the arena: the block chain (count, alignment, serials
    /// strictly falling from newest to oldest), the cursors and the reclaim floor inside
    /// the current block, the byte accounting, and the rewind history. `Err` names the first
    /// broken invariant. O(blocks held); for tests and fuzzing.
    pub fn check(&self) -> Result<(), &'static str> {
        self.history.check()?;
        if self.clock.get() < self.reset_clock {
            return Err("reset clock ahead of the clock");
        }
        if self.history.records().iter().any(|record| {
            record.time > self.clock.get() || record.target.serial > self.serial.get()
        }) {
            return Err("history record from the future");
        }
        self.check_cursors()?;
        self.check_chain()?;
        self.check_accounting()
    }

    fn check_cursors(&self) -> Result<(), &'static str> {
        let (lo, hi) = (self.lo.get(), self.hi.get());
        let (floor_lo, floor_hi) = (self.floor_lo.get(), self.floor_hi.get());
        let Some(base) = self.current.get() else {
            if !lo.is_null() || !hi.is_null() || self.serial.get() != 0 {
                return Err("cursors or serial set without a block");
            }
            return Ok(());
        };
        let (base, top) = (base.addr().get(), base.addr().get() + HEADER_OFFSET);
        if !BLOCK_ALIGN.is_aligned(base) {
            return Err("current block misaligned");
        }
        if !(base <= floor_lo.addr()
            && floor_lo <= lo
            && lo <= hi
            && hi <= floor_hi
            && floor_hi.addr() <= top)
        {
            return Err("cursors out of order or outside the current block");
        }
        if self.serial.get() == 0 || self.serial.get() >= self.next_serial.get() {
            return Err("current serial out of range");
        }
        Ok(())
    }

    fn check_chain(&self) -> Result<(), &'static str> {
        let mut count = 0;
        let mut above = self.next_serial.get();
        let mut block = self.current.get();
        while let Some(base) = block {
            if count == self.blocks.get() {
                return Err("more blocks on the chain than counted");
            }
            if !BLOCK_ALIGN.is_aligned(base.addr().get()) {
                return Err("block on the chain misaligned");
            }
            // SAFETY: the chain holds only blocks the arena holds, links written on import;
            // the loop stops after `blocks` steps, so a corrupt chain cannot run away.
            let link = unsafe { Link::read(base) };
            if link.serial == 0 || link.serial >= above {
                return Err("serials not strictly falling along the chain");
            }
            if count == 0 && link.serial != self.serial.get() {
                return Err("current serial differs from the current block's link");
            }
            above = link.serial;
            block = link.prev;
            count += 1;
        }
        if count != self.blocks.get() {
            return Err("fewer blocks on the chain than counted");
        }
        Ok(())
    }

    fn check_accounting(&self) -> Result<(), &'static str> {
        let blocks = self.blocks.get();
        // Blocks left behind hold at most their whole allocatable part as waste; the
        // current block's middle is the free part. Together they never exceed what the
        // blocks hold, so `in_use` is a true difference.
        let unused = self.wasted.get().checked_add(self.free_bytes());
        if unused.is_none_or(|unused| unused > blocks * HEADER_OFFSET) {
            return Err("wasted and free exceed the blocks held");
        }
        if self.wasted.get() > blocks.saturating_sub(1) * HEADER_OFFSET {
            return Err("more wasted than the blocks left behind could hold");
        }
        if self.allocations.get() > self.in_use() {
            return Err("more allocations than bytes in use");
        }
        Ok(())
    }
}
