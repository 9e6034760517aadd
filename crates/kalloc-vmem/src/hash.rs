//! The allocated-segment hash table: `free(base, size)` finds its segment in O(1).
//!
//! Chained hashing keyed by the segment base, chains threaded through the tags'
//! `link_next`. The table starts with [`INLINE_BUCKETS`] buckets stored inline and moves to a
//! larger, caller-provided bucket array when one is installed
//! ([`SegmentHash::install`]): every entry is rehashed in bulk at that moment, which is O(n)
//! once per doubling and so O(1) amortised per allocation. The arena asks for a larger table
//! when the load passes [`MAX_LOAD`] entries per bucket.

use crate::tag::{Kind, TagId, TagPool};
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kalloc_core::Error;

/// Buckets in the inline table every arena starts with (a power of two).
pub(crate) const INLINE_BUCKETS: usize = 32;
/// Average chain length above which the arena wants a table twice as large: 1, so a
/// lookup touches about one tag besides the bucket.
pub(crate) const MAX_LOAD: usize = 1;
/// The largest table: bucket indexes come from the top bits of a 64-bit hash.
const MAX_BUCKETS: usize = 1 << 31;

/// One bucket of the hash table: the head of a chain of allocated segments.
///
/// Public only so callers can hand the arena memory for a larger table
/// (`Arena::add_hash_memory`); it has no public API.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct Bucket(TagId);

/// Fibonacci hashing: the top `bits` bits of `key × 2^64/φ`.
#[inline]
const fn bucket_of(key: usize, bits: u32) -> usize {
    ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

pub(crate) struct SegmentHash<'a> {
    inline: [Bucket; INLINE_BUCKETS],
    /// The caller-provided table in use and the length of the slice it came in, if any
    /// (then `inline` is unused).
    external: Option<(NonNull<Bucket>, usize)>,
    /// `log2` of the number of buckets in use.
    bits: u32,
    /// Entries in the table.
    count: usize,
    _memory: core::marker::PhantomData<&'a mut [Bucket]>,
}

// SAFETY: `external` is a `&'a mut` borrow the table owns exclusively; buckets are plain
// data, so moving the table to another thread moves sole access with it.
unsafe impl Send for SegmentHash<'_> {}
// SAFETY: no interior mutability: `&SegmentHash` only reads.
unsafe impl Sync for SegmentHash<'_> {}

impl<'a> SegmentHash<'a> {
    pub(crate) const fn new() -> SegmentHash<'a> {
        SegmentHash {
            inline: [Bucket(TagId::NIL); INLINE_BUCKETS],
            external: None,
            bits: INLINE_BUCKETS.trailing_zeros(),
            count: 0,
            _memory: core::marker::PhantomData,
        }
    }

    /// Number of buckets in use.
    pub(crate) const fn buckets(&self) -> usize {
        1 << self.bits
    }

    /// Whether the load is above [`MAX_LOAD`], so a larger table would help.
    pub(crate) const fn wants_growth(&self) -> bool {
        self.count > MAX_LOAD * self.buckets()
    }

    #[inline]
    fn table(&self) -> &[Bucket] {
        match self.external {
            // SAFETY: `external` is the start of a live `&'a mut` borrow of at least
            // `buckets()` initialised buckets (`install`), aliased by nothing else.
            Some((table, _)) => unsafe {
                core::slice::from_raw_parts(table.as_ptr(), self.buckets())
            },
            None => &self.inline,
        }
    }

    #[inline]
    fn table_mut(&mut self) -> &mut [Bucket] {
        let len = self.buckets();
        match self.external {
            // SAFETY: as in `table`; `&mut self` makes this the only reference.
            Some((table, _)) => unsafe { core::slice::from_raw_parts_mut(table.as_ptr(), len) },
            None => &mut self.inline,
        }
    }

    /// Adds allocated segment `id` (keyed by its base, which no other entry has).
    #[inline]
    pub(crate) fn insert<const N: usize>(&mut self, pool: &mut TagPool<'_, N>, id: TagId) {
        let bucket = bucket_of(pool.get(id).base, self.bits);
        let table = self.table_mut();
        let head = table[bucket].0;
        table[bucket] = Bucket(id);
        let tag = pool.get_mut(id);
        debug_assert_eq!(tag.kind, Kind::Allocated);
        tag.link_next = head;
        self.count += 1;
    }

    /// The allocated segment starting at `base`, or NIL.
    #[inline]
    pub(crate) fn find<const N: usize>(&self, pool: &TagPool<'_, N>, base: usize) -> TagId {
        let mut id = self.table()[bucket_of(base, self.bits)].0;
        while !id.is_nil() {
            let tag = pool.get(id);
            if tag.base == base {
                return id;
            }
            id = tag.link_next;
        }
        TagId::NIL
    }

    /// Removes the entry `id` (which must be in the table).
    #[inline]
    pub(crate) fn remove<const N: usize>(&mut self, pool: &mut TagPool<'_, N>, id: TagId) {
        let bits = self.bits;
        let (base, next) = {
            let tag = pool.get(id);
            (tag.base, tag.link_next)
        };
        let bucket = bucket_of(base, bits);
        let head = self.table()[bucket].0;
        if head == id {
            self.table_mut()[bucket] = Bucket(next);
        } else {
            let mut prev = head;
            loop {
                debug_assert!(!prev.is_nil(), "hash entry not in its chain");
                let after = pool.get(prev).link_next;
                if after == id {
                    pool.get_mut(prev).link_next = next;
                    break;
                }
                prev = after;
            }
        }
        pool.get_mut(id).link_next = TagId::NIL;
        self.count -= 1;
    }

    /// Moves the table into `memory` (its length rounded down to a power of two, at most
    /// 2^31 buckets), rehashing every entry, and gives back the caller memory it used before
    /// (none while the inline table was in use).
    ///
    /// Errors: [`Error::TooSmall`] when `memory` would not hold more buckets than the table
    /// has now (the table is unchanged).
    pub(crate) fn install<const N: usize>(
        &mut self,
        pool: &mut TagPool<'_, N>,
        memory: &'a mut [MaybeUninit<Bucket>],
    ) -> Result<Option<&'a mut [MaybeUninit<Bucket>]>, Error> {
        let usable = memory.len().min(MAX_BUCKETS);
        if usable <= self.buckets() {
            return Err(Error::TooSmall);
        }
        let (bits, given) = (usable.ilog2(), memory.len());
        let new_len = 1usize << bits;
        for bucket in &mut memory[..new_len] {
            bucket.write(Bucket(TagId::NIL));
        }
        let new_table = NonNull::from(memory).cast::<Bucket>();
        let (old_table, old_len) = (self.external, self.buckets());
        // Rehash: unlink each chain from the old table and push its entries into the new.
        for bucket in 0..old_len {
            let mut id = self.table()[bucket].0;
            while !id.is_nil() {
                let tag = pool.get_mut(id);
                let next = tag.link_next;
                let target = bucket_of(tag.base, bits);
                // SAFETY: `target < new_len` (a `bits`-bit hash) and the first `new_len`
                // buckets of `memory` were initialised above; nothing else refers to them.
                let slot = unsafe { &mut *new_table.as_ptr().add(target) };
                tag.link_next = slot.0;
                *slot = Bucket(id);
                id = next;
            }
        }
        self.inline = [Bucket(TagId::NIL); INLINE_BUCKETS];
        self.external = Some((new_table, given));
        self.bits = bits;
        Ok(old_table.map(|(table, given)| {
            // SAFETY: `table` and `given` describe the `&'a mut [MaybeUninit<Bucket>]` a
            // previous `install` received; the table no longer uses it, so handing the
            // borrow back is the only access left.
            unsafe { core::slice::from_raw_parts_mut(table.as_ptr().cast(), given) }
        }))
    }

    /// Checks every chain holds allocated segments hashed to it, and returns the count.
    pub(crate) fn check<const N: usize>(
        &self,
        pool: &TagPool<'_, N>,
    ) -> Result<usize, &'static str> {
        let mut count = 0;
        for (bucket, head) in self.table().iter().enumerate() {
            let mut id = head.0;
            while !id.is_nil() {
                let tag = pool.get(id);
                if tag.kind != Kind::Allocated {
                    return Err("the hash table holds a segment that is not allocated");
                }
                if bucket_of(tag.base, self.bits) != bucket {
                    return Err("a hash entry sits in the wrong bucket");
                }
                count += 1;
                if count > pool.capacity() {
                    return Err("a hash chain loops");
                }
                id = tag.link_next;
            }
        }
        if count != self.count {
            return Err("hash entry count disagrees with the chains");
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests;
