//! Refilling the boundary-tag pool from the arena's tag source before an operation.
//!
//! Every operation that takes tags first makes sure [`TAGS_PER_OP`] are free, drawing a
//! chunk of memory from the tag source when they are not. The refill happens before the
//! operation changes anything, and changes nothing but the pool's supply of unused tags, so
//! a refused or failed refill leaves the arena exactly as it was; the operation then goes
//! ahead with the tags it has, or fails with [`Error::Exhausted`] before touching anything.
//!
//! The tag source may itself be served by a vmem arena (a parent arena behind a lock that
//! hands out memory): that arena refills its own pool, from its own inline reserve or tag
//! source, at the start of the import, before it changes anything either. The chain ends at
//! an arena whose tags come from its inline reserve or from
//! [`add_tag_memory`](Arena::add_tag_memory); it must not lead back to the arena being
//! refilled, which is in the middle of a call (a [`SourceCell`](kalloc_core::SourceCell)
//! answers such a call with [`Error::Busy`], so the refill fails cleanly).

use super::{Arena, TAGS_PER_OP};
use crate::tag::Tag;
use core::mem::{MaybeUninit, align_of, size_of};
use core::ptr::NonNull;
use kalloc_core::{Align, Error, MemorySource, Source, Span};

/// The smallest chunk a refill asks the tag source for, in tags; also the fallback size
/// when a source refuses a larger chunk. 64 tags take 2.5 KiB on 64-bit targets (1.75 KiB
/// on 32-bit ones), less than one 4 KiB page.
pub(crate) const REFILL_MIN_TAGS: usize = 64;

impl<'a, S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize>
    Arena<'a, S, TAGS, QCACHES, QCAP>
{
    /// The arena, drawing memory for more boundary tags from `tags` whenever fewer than an
    /// operation's worst case (four) are free at its start.
    ///
    /// Each refill asks for as many tags as the arena already holds (so capacity doubles and
    /// refills stay rare), at least 64; when the source refuses that much it asks for 64.
    /// Memory drawn for tags stays with the arena for its lifetime: tags of live segments
    /// are scattered over every chunk, so no chunk can be handed back. When neither the free
    /// tags nor a refill can cover an operation, it fails with [`Error::Exhausted`] and
    /// changes nothing. Chunks from the source and from
    /// [`add_tag_memory`](Arena::add_tag_memory) share the arena's 31 chunk slots.
    ///
    /// `tags` must not lead back to this arena (say, through a source that allocates from
    /// it): the arena is mid-call when it refills.
    pub fn with_tag_source<T: MemorySource>(self, tags: T) -> Arena<'a, S, TAGS, QCACHES, QCAP, T> {
        Arena {
            name: self.name,
            quantum: self.quantum,
            source: self.source,
            import_quantum: self.import_quantum,
            pool: self.pool,
            hash: self.hash,
            free: self.free,
            first: self.first,
            last: self.last,
            first_span: self.first_span,
            last_span: self.last_span,
            rotor: self.rotor,
            cursor: self.cursor,
            qcache_max: self.qcache_max,
            caches: self.caches,
            units: self.units,
            counters: self.counters,
            tag_source: tags,
            tag_memory_drawn: self.tag_memory_drawn,
        }
    }
}

impl<S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize, M: MemorySource>
    Arena<'_, S, TAGS, QCACHES, QCAP, M>
{
    /// The source the arena draws boundary-tag memory from.
    pub fn tag_source(&self) -> &M {
        &self.tag_source
    }

    /// Bytes of boundary-tag memory drawn from the tag source so far (the arena keeps them
    /// for its lifetime).
    pub fn tag_memory_drawn(&self) -> usize {
        self.tag_memory_drawn
    }

    /// Tops the pool up from the tag source when fewer than [`TAGS_PER_OP`] tags are free.
    /// Changes nothing else; a failed refill changes nothing at all.
    #[inline]
    pub(super) fn replenish_tags(&mut self) {
        if self.pool.free_count() < TAGS_PER_OP && self.refill_tags().is_ok() {
            self.counters.tag_refills += 1;
        }
    }

    /// Draws one chunk of tags from the tag source: as many as the pool holds (at least
    /// [`REFILL_MIN_TAGS`]), or [`REFILL_MIN_TAGS`] when the source refuses that many.
    #[cold]
    fn refill_tags(&mut self) -> Result<usize, Error> {
        if !self.pool.has_room_for_chunk() {
            return Err(Error::TooLarge);
        }
        let wanted = self.pool.capacity().max(REFILL_MIN_TAGS);
        match self.draw_tags(wanted) {
            Err(_) if wanted > REFILL_MIN_TAGS => self.draw_tags(REFILL_MIN_TAGS),
            drawn => drawn,
        }
    }

    /// Imports memory for `count` tags from the tag source and adds it to the pool. Any
    /// span the pool cannot use (too short, misaligned, no pointer) goes straight back.
    fn draw_tags(&mut self, count: usize) -> Result<usize, Error> {
        let bytes = count.checked_mul(size_of::<Tag>()).ok_or(Error::Overflow)?;
        let span = self.tag_source.import(bytes, Align::of::<Tag>())?;
        match self.adopt_tag_memory(span) {
            Ok(added) => {
                self.tag_memory_drawn += span.len();
                Ok(added)
            }
            Err(error) => {
                // Unusable for tags: nothing refers to it, so it goes back as it came.
                let _ = self.tag_source.release(span);
                Err(error)
            }
        }
    }

    /// Adds the imported `span` of tag memory to the pool.
    fn adopt_tag_memory(&mut self, span: Span) -> Result<usize, Error> {
        let count = span.len() / size_of::<Tag>();
        if count == 0 {
            return Err(Error::TooSmall);
        }
        let bytes = self.tag_source.ptr(span)?;
        if bytes.as_ptr().align_offset(align_of::<Tag>()) != 0 {
            return Err(Error::Misaligned);
        }
        let tags: NonNull<MaybeUninit<Tag>> = bytes.cast();
        // SAFETY: the tag source promises (`MemorySource`) that `ptr(span)` is valid for
        // reads and writes of `span.len()` bytes, which hold `count` tags at this aligned
        // address, and that nothing else touches them until the span is released. The arena
        // never releases it and owns the source for as long as it uses the pool.
        unsafe { self.pool.add_raw(tags, count) }
    }
}

#[cfg(test)]
mod tests;
