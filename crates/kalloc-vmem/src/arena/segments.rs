//! The address-ordered segment list: spans, carving allocations out of free segments,
//! coalescing on free, and giving imported spans back.

use super::{Arena, TAGS_PER_OP};
use crate::freelist::class_of;
use crate::tag::{Kind, TagId, tag};
use kalloc_core::{Error, MemorySource, Source, Span};

impl<S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize, M: MemorySource>
    Arena<'_, S, TAGS, QCACHES, QCAP, M>
{
    /// Links `id` into the address list right after `after` (at the front for NIL).
    pub(super) fn link_after(&mut self, after: TagId, id: TagId) {
        let next = if after.is_nil() {
            self.first
        } else {
            self.pool.get(after).next
        };
        {
            let tag = self.pool.get_mut(id);
            tag.prev = after;
            tag.next = next;
        }
        if after.is_nil() {
            self.first = id;
        } else {
            self.pool.get_mut(after).next = id;
        }
        if next.is_nil() {
            self.last = id;
        } else {
            self.pool.get_mut(next).prev = id;
        }
    }

    /// Unlinks `id` from the address list; a rotor resting on it moves back one place.
    pub(super) fn unlink(&mut self, id: TagId) {
        let (prev, next) = {
            let tag = self.pool.get(id);
            (tag.prev, tag.next)
        };
        if prev.is_nil() {
            self.first = next;
        } else {
            self.pool.get_mut(prev).next = next;
        }
        if next.is_nil() {
            self.last = prev;
        } else {
            self.pool.get_mut(next).prev = prev;
        }
        if self.rotor == id {
            self.rotor = prev;
        }
    }

    /// Adds `span` (checked) as a span marker followed by one free segment.
    pub(super) fn add_span(&mut self, span: Span, imported: bool) -> Result<TagId, Error> {
        if span.is_empty() {
            return Err(Error::ZeroSize);
        }
        if span.base() % self.quantum != 0 || span.len() % self.quantum != 0 {
            return Err(Error::Misaligned);
        }
        // The first span above the new one; the one before it must end at or below it.
        let mut above = self.first_span;
        let mut below = TagId::NIL;
        while !above.is_nil() {
            let marker = self.pool.get(above);
            if marker.base >= span.end() {
                break;
            }
            if marker.end() > span.base() {
                return Err(Error::Overlap);
            }
            below = above;
            above = marker.link_next;
        }
        if self.pool.free_count() < 2 {
            return Err(Error::Exhausted);
        }
        let marker = self
            .pool
            .take(tag(Kind::Span, span.base(), span.len(), imported))
            .ok_or(Error::Exhausted)?;
        let segment = self
            .pool
            .take(tag(Kind::Free, span.base(), span.len(), false))
            .ok_or(Error::Exhausted)?;
        // Span list: between `below` and `above`.
        {
            let tag = self.pool.get_mut(marker);
            tag.link_prev = below;
            tag.link_next = above;
        }
        if below.is_nil() {
            self.first_span = marker;
        } else {
            self.pool.get_mut(below).link_next = marker;
        }
        if above.is_nil() {
            self.last_span = marker;
        } else {
            self.pool.get_mut(above).link_prev = marker;
        }
        // Address list: right before the marker of `above` (at the end without one).
        let after = if above.is_nil() {
            self.last
        } else {
            self.pool.get(above).prev
        };
        self.link_after(after, marker);
        self.link_after(marker, segment);
        self.free.insert(&mut self.pool, segment);
        self.units.total += span.len();
        self.units.spans += 1;
        Ok(marker)
    }

    /// Removes span `marker`, which holds exactly one free segment `segment`.
    pub(super) fn remove_span(&mut self, marker: TagId, segment: TagId) {
        let (size, below, above) = {
            let tag = self.pool.get(marker);
            (tag.size, tag.link_prev, tag.link_next)
        };
        debug_assert_eq!(self.pool.get(segment).size, size);
        self.free.remove(&mut self.pool, segment);
        self.unlink(segment);
        self.unlink(marker);
        if below.is_nil() {
            self.first_span = above;
        } else {
            self.pool.get_mut(below).link_next = above;
        }
        if above.is_nil() {
            self.last_span = below;
        } else {
            self.pool.get_mut(above).link_prev = below;
        }
        self.pool.give_back(segment);
        self.pool.give_back(marker);
        self.units.total -= size;
        self.units.spans -= 1;
    }

    /// Turns `[start, start + size)` of free segment `id` into an allocated segment and
    /// returns its tag. Needs two free tags (checked by the caller before anything changed).
    pub(super) fn carve(&mut self, id: TagId, start: usize, size: usize) -> TagId {
        debug_assert!(self.pool.free_count() >= 2);
        let (base, end) = {
            let tag = self.pool.get(id);
            (tag.base, tag.end())
        };
        debug_assert!(base <= start && start + size <= end);
        let stop = start + size;
        let allocated = if start == base && stop == end {
            self.free.remove(&mut self.pool, id);
            self.pool.get_mut(id).kind = Kind::Allocated;
            id
        } else {
            // The free tag keeps the lower remainder if there is one, else the upper one; the
            // allocation (and an upper remainder beside a lower one) get new tags.
            let new = self
                .pool
                .take(tag(Kind::Allocated, start, size, false))
                .expect("tags reserved before carving");
            if start == base {
                let prev = self.pool.get(id).prev;
                self.link_after(prev, new);
                self.resize_free(id, stop, end - stop);
            } else {
                self.link_after(id, new);
                self.resize_free(id, base, start - base);
                if stop < end {
                    let upper = self
                        .pool
                        .take(tag(Kind::Free, stop, end - stop, false))
                        .expect("tags reserved before carving");
                    self.link_after(new, upper);
                    self.free.insert(&mut self.pool, upper);
                }
            }
            new
        };
        self.hash.insert(&mut self.pool, allocated);
        self.units.allocated += size;
        self.units.segments += 1;
        allocated
    }

    /// Moves free segment `id` to `[base, base + size)`, changing freelists only when its
    /// size class changes (carving from a large segment usually leaves it in its list).
    fn resize_free(&mut self, id: TagId, base: usize, size: usize) {
        let old = self.pool.get(id).size;
        let moves = class_of(old) != class_of(size);
        if moves {
            self.free.remove(&mut self.pool, id);
        }
        let tag = self.pool.get_mut(id);
        tag.base = base;
        tag.size = size;
        if moves {
            self.free.insert(&mut self.pool, id);
        }
    }

    /// Frees allocated, uncached segment `id`: coalesces it with free neighbours in its span
    /// and releases an imported span that became wholly free.
    ///
    /// A free neighbour's tag survives the merge (the freed tag goes back to the pool), so a
    /// neighbour whose size class does not change stays in its freelist untouched.
    pub(super) fn free_segment(&mut self, id: TagId) {
        self.hash.remove(&mut self.pool, id);
        let (base, size, prev, next) = {
            let tag = self.pool.get_mut(id);
            debug_assert!(tag.kind == Kind::Allocated && !tag.flag);
            tag.kind = Kind::Free;
            (tag.base, tag.size, tag.prev, tag.next)
        };
        self.units.allocated -= size;
        self.units.segments -= 1;
        // Neighbours in the address list are in the same span unless they are markers.
        let prev_free = !prev.is_nil() && self.pool.get(prev).kind == Kind::Free;
        let next_free = !next.is_nil() && self.pool.get(next).kind == Kind::Free;
        let survivor = match (prev_free, next_free) {
            (false, false) => {
                self.free.insert(&mut self.pool, id);
                id
            }
            (false, true) => {
                self.unlink(id);
                self.pool.give_back(id);
                let grown = size + self.pool.get(next).size;
                self.resize_free(next, base, grown);
                next
            }
            (true, _) => {
                self.unlink(id);
                self.pool.give_back(id);
                let mut grown = self.pool.get(prev).size + size;
                if next_free {
                    grown += self.pool.get(next).size;
                    self.free.remove(&mut self.pool, next);
                    self.unlink(next);
                    self.pool.give_back(next);
                }
                let prev_base = self.pool.get(prev).base;
                self.resize_free(prev, prev_base, grown);
                prev
            }
        };
        self.release_if_idle(survivor);
    }

    /// Gives the span of free segment `id` back to the source if the segment is the whole
    /// of an imported span. A refused release leaves the span in the arena (counted as a
    /// failure).
    fn release_if_idle(&mut self, id: TagId) {
        // Without a source no span was imported. Checked first: the tags beside a merged
        // segment are often ones the free has not touched (cache misses at scale).
        if self.source.is_none() {
            return;
        }
        let (prev, next, size) = {
            let tag = self.pool.get(id);
            (tag.prev, tag.next, tag.size)
        };
        let at_span_end = next.is_nil() || self.pool.get(next).kind == Kind::Span;
        let marker = self.pool.get(prev);
        if !(at_span_end && marker.kind == Kind::Span && marker.flag && marker.size == size) {
            return;
        }
        // Read the span from its marker before any tag is given back.
        let span = Span::new(marker.base, marker.size);
        let released = match &self.source {
            Some(source) => source.release(span),
            None => Err(Error::ForeignPointer),
        };
        match released {
            Ok(()) => {
                self.remove_span(prev, id);
                self.counters.releases += 1;
            }
            Err(_) => self.counters.failures += 1,
        }
    }

    /// Imports a span able to serve `size` units aligned to `align` at `phase` from the
    /// source, and returns its marker.
    pub(super) fn import(
        &mut self,
        size: usize,
        align: usize,
        phase: usize,
    ) -> Result<TagId, Error> {
        let Some(source) = &self.source else {
            return Err(Error::Exhausted);
        };
        if self.pool.free_count() < TAGS_PER_OP {
            return Err(Error::Exhausted);
        }
        let wanted = size
            .checked_add(phase)
            .and_then(|units| units.checked_next_multiple_of(self.import_quantum))
            .ok_or(Error::Overflow)?;
        let align = kalloc_core::Align::try_new(align.max(self.quantum))?;
        let span = source.import(wanted, align)?;
        if span.len() < wanted {
            // A source that returns less than asked is broken; give it back untouched.
            let _ = source.release(span);
            return Err(Error::Exhausted);
        }
        match self.add_span(span, true) {
            Ok(marker) => {
                self.counters.imports += 1;
                Ok(marker)
            }
            Err(error) => {
                if let Some(source) = &self.source {
                    let _ = source.release(span);
                }
                Err(error)
            }
        }
    }

    /// Undoes an [`import`](Arena::import) whose span turned out not to serve the request.
    pub(super) fn unimport(&mut self, marker: TagId) {
        let segment = self.pool.get(marker).next;
        let span = {
            let tag = self.pool.get(marker);
            Span::new(tag.base, tag.size)
        };
        let released = match &self.source {
            Some(source) => source.release(span),
            None => Err(Error::ForeignPointer),
        };
        match released {
            Ok(()) => self.remove_span(marker, segment),
            // Kept as an ordinary imported span, released once the source takes it.
            Err(_) => self.counters.failures += 1,
        }
    }
}
