//! [`Tlsf::check`]: validates the whole heap state and names the first inconsistency.

use crate::Tlsf;
use crate::block::{BackLink, Before, Block, PREV_FREE, USED, size_of_header};
use crate::class::{Classes, GRANULE, MIN_BLOCK, WORD};
use crate::pool::{self, MIN_POOL, PoolKind, Trailer, kind_of};
use core::fmt;
use core::ptr::NonNull;
use kalloc_core::MemorySource;

/// What [`Tlsf::check`] found wrong, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Corruption {
    /// Which invariant does not hold.
    pub what: &'static str,
    /// The address (block header, trailer, or 0 for heap-wide totals) where it fails.
    pub at: usize,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "heap corruption at {:#x}: {}", self.at, self.what)
    }
}

impl core::error::Error for Corruption {}

/// Fails with `what` at `at` unless `ok`.
fn ensure(ok: bool, what: &'static str, at: usize) -> Result<(), Corruption> {
    if ok {
        Ok(())
    } else {
        Err(Corruption { what, at })
    }
}

/// Running totals of one walk.
#[derive(Default)]
struct Tally {
    used_bytes: usize,
    used_count: usize,
    free_bytes: usize,
    free_count: usize,
    /// Free blocks met that are the wilderness (one, or none).
    wild_count: usize,
    total: usize,
}

impl<S: MemorySource, const FL: usize, const SL: usize> Tlsf<'_, S, FL, SL> {
    /// Validates every invariant of the heap, reading every block once and every free-list
    /// node once (O(blocks + pools²)):
    ///
    /// * the pool list is doubly linked, pools are well-formed and disjoint, their lengths
    ///   sum to `Stats::total`;
    /// * every pool is tiled by blocks from its base to its trailer: sizes are multiples of
    ///   `usize`, at least the minimum block, and stay in the pool;
    /// * every `PREV_FREE` flag (and the sentinel's) agrees with the block before it, and
    ///   every free block's footer repeats its size; no two free blocks are neighbours;
    /// * every free block but the wilderness is linked into the list of its size class
    ///   (its neighbours in the list point back to it), every listed block is free and in
    ///   the right class, and the number of listed blocks equals the number of free blocks
    ///   less the wilderness; the wilderness, if any, is a free block of a pool and its
    ///   recorded size is its header's;
    /// * the bitmaps mark exactly the non-empty lists;
    /// * the O(1) counters behind [`stats`](Tlsf::stats) match the walk.
    ///
    /// A heap that only this crate has written always passes; a failure means memory was
    /// corrupted from outside (a write past an allocation, a wild free).
    pub fn check(&self) -> Result<(), Corruption> {
        let mut tally = Tally::default();
        self.check_pool_list()?;
        let mut pool = self.pools;
        while let Some(trailer) = pool {
            // SAFETY: `check_pool_list` validated every listed trailer.
            let info = unsafe { pool::read(trailer) };
            self.check_pool(trailer, &info, &mut tally)?;
            pool = info.next;
        }
        ensure(
            tally.total == self.total,
            "pool lengths do not sum to the total",
            0,
        )?;
        ensure(
            tally.used_bytes == self.used_bytes && tally.used_count == self.used_count,
            "used-block counters disagree with the walk",
            0,
        )?;
        ensure(
            tally.free_bytes + tally.used_bytes + self.reserved == self.total,
            "free, used and reserved bytes do not sum to the total",
            0,
        )?;
        if let Some((block, _)) = self.wilderness.get() {
            ensure(
                tally.wild_count == 1,
                "the wilderness is not a free block of any pool",
                block.addr(),
            )?;
        }
        self.check_lists(tally.free_count - tally.wild_count)?;
        if let Some(spare) = self.spare {
            let mut pool = self.pools;
            let mut listed = false;
            while let Some(trailer) = pool {
                listed |= trailer == spare;
                // SAFETY: validated trailers.
                pool = unsafe { pool::read(trailer) }.next;
            }
            ensure(
                listed,
                "the spare pool is not in the pool list",
                spare.as_ptr().addr(),
            )?;
            // SAFETY: validated trailer.
            let kind = unsafe { pool::read(spare) }.kind;
            ensure(
                kind_of(kind) == Some(PoolKind::Imported),
                "the spare pool is not imported",
                spare.as_ptr().addr(),
            )?;
        }
        Ok(())
    }

    /// Validates the pool list's links and each trailer's own fields.
    fn check_pool_list(&self) -> Result<(), Corruption> {
        let most = self.total / MIN_POOL;
        let mut count = 0;
        let mut prev: Option<NonNull<Trailer>> = None;
        let mut pool = self.pools;
        while let Some(trailer) = pool {
            let at = trailer.as_ptr().addr();
            ensure(
                count < most,
                "pool list longer than the total allows (a cycle?)",
                at,
            )?;
            ensure(at % GRANULE == WORD, "trailer off its granule position", at)?;
            // SAFETY: a trailer reached from the heap's list head by links validated so far.
            let info = unsafe { pool::read(trailer) };
            ensure(info.prev == prev, "pool list back link broken", at)?;
            ensure(kind_of(info.kind).is_some(), "unknown pool kind", at)?;
            let span = kalloc_core::Span::try_new(info.base.as_ptr().addr(), info.len);
            ensure(span.is_ok(), "pool span wraps the address space", at)?;
            ensure(info.len >= MIN_POOL, "pool smaller than the minimum", at)?;
            ensure(
                pool::trailer_at(info.base.as_ptr().addr() + info.len) == at,
                "trailer not at the end of its pool",
                at,
            )?;
            ensure(
                info.sentinel & USED != 0 && size_of_header(info.sentinel) == 0,
                "sentinel is not a zero-size used header",
                at,
            )?;
            let mut other = info.next;
            while let Some(next) = other {
                // SAFETY: a later list element; its fields are validated in its turn, the
                // span check only needs its base and len.
                let later = unsafe { pool::read(next) };
                ensure(!later.span().overlaps(info.span()), "two pools overlap", at)?;
                other = later.next;
            }
            prev = Some(trailer);
            pool = info.next;
            count += 1;
        }
        Ok(())
    }

    /// Walks one pool's blocks, validating tags and list membership.
    fn check_pool(
        &self,
        trailer: NonNull<Trailer>,
        info: &Trailer,
        tally: &mut Tally,
    ) -> Result<(), Corruption> {
        let end = trailer.as_ptr().addr();
        let mut block = pool::first_block(info);
        let mut prev_free = false;
        loop {
            let at = block.addr();
            // SAFETY: `block` starts inside the pool (checked below before advancing).
            let header = unsafe { block.header() };
            ensure(
                (header & PREV_FREE != 0) == prev_free,
                "PREV_FREE flag disagrees with the previous block",
                at,
            )?;
            if at == end {
                break;
            }
            let size = size_of_header(header);
            ensure(size >= MIN_BLOCK, "block smaller than the minimum", at)?;
            ensure(size % GRANULE == 0, "block size not whole granules", at)?;
            ensure(size <= end - at, "block runs past its pool's trailer", at)?;
            ensure(
                size <= Classes::<FL, SL>::MAX_BLOCK,
                "block larger than the top class",
                at,
            )?;
            if header & USED != 0 {
                tally.used_bytes += size;
                tally.used_count += 1;
                prev_free = false;
            } else {
                ensure(!prev_free, "two free blocks are neighbours", at)?;
                // SAFETY: a free block of `size >= MIN_BLOCK` bytes inside the pool.
                let footer = unsafe { block.offset(size).prev_footer() };
                ensure(
                    footer == size,
                    "free block's footer disagrees with its header",
                    at,
                )?;
                if self.wilderness.is(block) {
                    ensure(
                        self.wilderness.size() == size,
                        "the wilderness's recorded size disagrees with its header",
                        at,
                    )?;
                    ensure(
                        size <= Classes::<FL, SL>::MAX_BLOCK
                            && self.wilderness.class() == Classes::<FL, SL>::index(size),
                        "the wilderness's recorded class disagrees with its size",
                        at,
                    )?;
                    tally.wild_count += 1;
                } else {
                    self.check_listed(block, size)?;
                }
                tally.free_bytes += size;
                tally.free_count += 1;
                prev_free = true;
            }
            // SAFETY: `size <= end - at`: the successor is in the pool or its sentinel.
            block = unsafe { block.offset(size) };
        }
        tally.total += info.len;
        Ok(())
    }

    /// Whether `addr` may be a block header: one word past a granule boundary, in a pool, a
    /// minimum block before its trailer.
    fn is_block_address(&self, addr: usize) -> bool {
        addr % GRANULE == WORD && self.pool_window(addr + crate::class::HEADER).is_some() && {
            let mut pool = self.pools;
            let mut room = false;
            while let Some(trailer) = pool {
                // SAFETY: validated trailers.
                let info = unsafe { pool::read(trailer) };
                let base = info.base.as_ptr().addr();
                room |= base <= addr && addr + MIN_BLOCK <= trailer.as_ptr().addr();
                pool = info.next;
            }
            room
        }
    }

    /// Checks that the free block `block` is linked where its list says.
    fn check_listed(&self, block: Block, size: usize) -> Result<(), Corruption> {
        let at = block.addr();
        let (fl, sl) = Classes::<FL, SL>::floor(size);
        // SAFETY: `block` is a free block of at least MIN_BLOCK bytes in a pool.
        let (back, next) = unsafe { (block.back_link(), block.next_free()) };
        match back.get() {
            Before::List(index) => ensure(
                index == Classes::<FL, SL>::join(fl, sl) && self.lists.head(fl, sl) == Some(block),
                "free block is not in its class list",
                at,
            )?,
            Before::Block(prev) => {
                ensure(
                    self.is_block_address(prev.addr()),
                    "free-list link leaves the pools",
                    at,
                )?;
                // SAFETY: `prev` lies in a pool with room for a free block's links.
                let forward = unsafe { prev.next_free() };
                ensure(
                    forward == Some(block),
                    "free-list neighbour does not link back",
                    at,
                )?;
            }
        }
        if let Some(next) = next {
            ensure(
                self.is_block_address(next.addr()),
                "free-list link leaves the pools",
                at,
            )?;
            // SAFETY: as above.
            let back = unsafe { next.back_link() };
            ensure(
                back == BackLink::to_block(block),
                "free-list neighbour does not link back",
                at,
            )?;
        }
        Ok(())
    }

    /// Validates bitmaps and walks every list, bounded by the number of free blocks that
    /// should be listed.
    fn check_lists(&self, free_count: usize) -> Result<(), Corruption> {
        let fl_mask = if FL == usize::BITS as usize {
            usize::MAX
        } else {
            (1 << FL) - 1
        };
        ensure(
            self.lists.fl_bitmap() & !fl_mask == 0,
            "first-level bitmap bit out of range",
            0,
        )?;
        let sl_mask = if SL == usize::BITS as usize {
            usize::MAX
        } else {
            (1 << SL) - 1
        };
        let mut listed = 0;
        for fl in 0..FL {
            let row = self.lists.sl_bitmap(fl);
            ensure(
                row & !sl_mask == 0,
                "second-level bitmap bit out of range",
                0,
            )?;
            ensure(
                (row != 0) == (self.lists.fl_bitmap() & (1 << fl) != 0),
                "first-level bitmap disagrees with the second level",
                0,
            )?;
            for sl in 0..SL {
                let head = self.lists.head(fl, sl);
                ensure(
                    head.is_some() == (row & (1 << sl) != 0),
                    "bitmap disagrees with its list",
                    head.map_or(0, Block::addr),
                )?;
                let mut expected = BackLink::to_list(Classes::<FL, SL>::join(fl, sl));
                let mut node = head;
                while let Some(block) = node {
                    let at = block.addr();
                    ensure(
                        listed < free_count,
                        "more listed blocks than free blocks",
                        at,
                    )?;
                    ensure(
                        self.is_block_address(at),
                        "listed block outside the pools",
                        at,
                    )?;
                    // SAFETY: `at` lies in a pool with room for a free block's links.
                    let (header, back, next) =
                        unsafe { (block.header(), block.back_link(), block.next_free()) };
                    ensure(header & USED == 0, "listed block is in use", at)?;
                    let size = size_of_header(header);
                    ensure(
                        (MIN_BLOCK..=Classes::<FL, SL>::MAX_BLOCK).contains(&size)
                            && Classes::<FL, SL>::floor(size & !(GRANULE - 1)) == (fl, sl),
                        "listed block is in the wrong class",
                        at,
                    )?;
                    ensure(back == expected, "free-list back link broken", at)?;
                    listed += 1;
                    expected = BackLink::to_block(block);
                    node = next;
                }
            }
        }
        ensure(
            listed == free_count,
            "free blocks missing from the lists",
            0,
        )
    }
}

#[cfg(test)]
mod tests;
