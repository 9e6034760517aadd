//! Introspection: statistics, walks in address order, and the consistency checker.

use super::{Arena, Units};
use crate::tag::{Kind, TagId, TagPool};
use core::fmt;
use kalloc_core::{MemorySource, Source, Span, Stats};

/// Event counters of an arena (they only grow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// Successful `alloc` / `xalloc` calls.
    pub allocs: u64,
    /// Successful `free` / `xfree` calls.
    pub frees: u64,
    /// Spans imported from the source.
    pub imports: u64,
    /// Spans released back to the source.
    pub releases: u64,
    /// Refused calls (any error), and releases the source refused.
    pub failures: u64,
    /// Allocations served straight from a quantum cache.
    pub cache_hits: u64,
    /// Chunks of boundary-tag memory drawn from the tag source.
    pub tag_refills: u64,
}

/// What a segment is being used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentState {
    /// Available.
    Free,
    /// Handed out to a caller.
    Allocated,
    /// Allocated from the arena but held by a quantum cache, ready to hand out.
    Cached,
}

/// One segment of the arena, as [`Arena::walk`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Where it is.
    pub span: Span,
    /// Whether it is free, allocated or cached.
    pub state: SegmentState,
}

/// Iterator over the segments of an arena in address order.
pub struct Segments<'r, 'a, const TAGS: usize> {
    pool: &'r TagPool<'a, TAGS>,
    next: TagId,
}

impl<const TAGS: usize> Iterator for Segments<'_, '_, TAGS> {
    type Item = Segment;
    fn next(&mut self) -> Option<Segment> {
        loop {
            if self.next.is_nil() {
                return None;
            }
            let tag = self.pool.get(self.next);
            self.next = tag.next;
            let state = match tag.kind {
                Kind::Free => SegmentState::Free,
                Kind::Allocated if tag.flag => SegmentState::Cached,
                Kind::Allocated => SegmentState::Allocated,
                Kind::Span | Kind::Unused => continue,
            };
            return Some(Segment {
                span: Span::new(tag.base, tag.size),
                state,
            });
        }
    }
}

/// Iterator over the spans of an arena in address order: each span and whether it was
/// imported from the source (`true`) or added (`false`).
pub struct Spans<'r, 'a, const TAGS: usize> {
    pool: &'r TagPool<'a, TAGS>,
    next: TagId,
}

impl<const TAGS: usize> Iterator for Spans<'_, '_, TAGS> {
    type Item = (Span, bool);
    fn next(&mut self) -> Option<(Span, bool)> {
        if self.next.is_nil() {
            return None;
        }
        let marker = self.pool.get(self.next);
        self.next = marker.link_next;
        Some((Span::new(marker.base, marker.size), marker.flag))
    }
}

/// What [`Arena::check`] found broken: a description of the first violated invariant and
/// the value (usually an address) where it was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// The invariant that does not hold.
    pub what: &'static str,
    /// Where: the base of the segment or span involved, or 0.
    pub at: usize,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {:#x})", self.what, self.at)
    }
}

impl core::error::Error for CheckError {}

fn broken(what: &'static str, at: usize) -> CheckError {
    CheckError { what, at }
}

impl<'a, S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize, M: MemorySource>
    Arena<'a, S, TAGS, QCACHES, QCAP, M>
{
    /// Usage in O(1), in units of the resource. Cached segments count as free (any caller
    /// can have them); `largest_free` is a lower bound (the smallest size of the largest
    /// non-empty freelist).
    pub fn stats(&self) -> Stats {
        let units = &self.units;
        Stats {
            total: units.total,
            in_use: units.allocated - units.cached,
            free: units.total - units.allocated + units.cached,
            allocations: units.segments - units.cached_segments,
            largest_free: self.free.largest_lower_bound(),
        }
    }

    /// The event counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Units in all spans.
    pub fn total_size(&self) -> usize {
        self.units.total
    }

    /// Units handed out to callers (not counting quantum-cached segments).
    pub fn in_use_size(&self) -> usize {
        self.units.allocated - self.units.cached
    }

    /// Units not handed out to callers (free segments and quantum-cached ones).
    pub fn free_size(&self) -> usize {
        self.units.total - self.in_use_size()
    }

    /// Every segment, free, allocated and cached, in address order.
    pub fn walk(&self) -> Segments<'_, 'a, TAGS> {
        Segments {
            pool: &self.pool,
            next: self.first,
        }
    }

    /// Every span in address order, with whether it was imported.
    pub fn spans(&self) -> Spans<'_, 'a, TAGS> {
        Spans {
            pool: &self.pool,
            next: self.first_span,
        }
    }

    /// Whether `value` lies in one of the arena's spans. O(spans).
    pub fn contains(&self, value: usize) -> bool {
        self.spans().any(|(span, _)| span.contains(value))
    }

    /// Validates the whole state of the arena: address and span lists linked both ways and
    /// sorted, spans disjoint and exactly tiled by their segments, every segment
    /// quantum-aligned and non-empty, no two adjacent free segments in a span, freelists and
    /// bitmap matching the free segments, the hash table holding exactly the allocated
    /// segments, the quantum caches holding exactly the cached ones, the tag pool and every
    /// running total. O(tags + buckets).
    pub fn check(&self) -> Result<(), CheckError> {
        let fail = |what| broken(what, 0);
        self.pool.check().map_err(fail)?;
        let mut seen = Units::default();
        let (mut free_segments, mut free_units, mut tags, mut rotor_found) = (0, 0, 0, false);
        let (mut prev, mut id) = (TagId::NIL, self.first);
        let mut span_marker = self.first_span;
        // Within the current span: where the next segment must start, and where it ends.
        let (mut cursor, mut span_end, mut prev_free) = (0usize, 0usize, false);
        let mut last_span_end: Option<usize> = None;
        while !id.is_nil() {
            let tag = self.pool.get(id);
            tags += 1;
            if tags > self.pool.capacity() {
                return Err(fail("the address list loops"));
            }
            if tag.prev != prev {
                return Err(broken("address list back link broken", tag.base));
            }
            rotor_found |= id == self.rotor;
            if tag.base % self.quantum != 0 || tag.size % self.quantum != 0 || tag.size == 0 {
                return Err(broken(
                    "segment not a non-empty multiple of the quantum",
                    tag.base,
                ));
            }
            match tag.kind {
                Kind::Span => {
                    if cursor != span_end {
                        return Err(broken("span not tiled by its segments", cursor));
                    }
                    if id != span_marker {
                        return Err(broken(
                            "span list out of step with the address list",
                            tag.base,
                        ));
                    }
                    if last_span_end.is_some_and(|end| end > tag.base) {
                        return Err(broken("spans overlap or are out of order", tag.base));
                    }
                    span_marker = tag.link_next;
                    if !span_marker.is_nil() && self.pool.get(span_marker).link_prev != id {
                        return Err(broken("span list back link broken", tag.base));
                    }
                    (cursor, span_end, prev_free) = (tag.base, tag.end(), false);
                    last_span_end = Some(span_end);
                    seen.total += tag.size;
                    seen.spans += 1;
                }
                Kind::Free | Kind::Allocated => {
                    if last_span_end.is_none() || tag.base != cursor || tag.end() > span_end {
                        return Err(broken("segment outside or misplaced in its span", tag.base));
                    }
                    cursor = tag.end();
                    if tag.kind == Kind::Free {
                        if prev_free {
                            return Err(broken("two adjacent free segments", tag.base));
                        }
                        free_segments += 1;
                        free_units += tag.size;
                    } else {
                        if self.hash.find(&self.pool, tag.base) != id {
                            return Err(broken(
                                "allocated segment missing from the hash",
                                tag.base,
                            ));
                        }
                        seen.allocated += tag.size;
                        seen.segments += 1;
                        if tag.flag {
                            seen.cached += tag.size;
                            seen.cached_segments += 1;
                        }
                    }
                    prev_free = tag.kind == Kind::Free;
                }
                Kind::Unused => return Err(broken("an unused tag in the address list", tag.base)),
            }
            (prev, id) = (id, tag.next);
        }
        if cursor != span_end {
            return Err(broken("span not tiled by its segments", cursor));
        }
        if prev != self.last {
            return Err(fail("address list tail is wrong"));
        }
        if !span_marker.is_nil() {
            return Err(fail("span list longer than the address list's spans"));
        }
        if self.last_span != self.pool_last_span() {
            return Err(fail("span list tail is wrong"));
        }
        if !self.rotor.is_nil() && !rotor_found {
            return Err(fail("next-fit rotor is not in the address list"));
        }
        if tags + self.pool.free_count() != self.pool.capacity() {
            return Err(fail("tags leaked: neither listed nor free"));
        }
        let (listed, listed_units) = self.free.check(&self.pool).map_err(fail)?;
        if (listed, listed_units) != (free_segments, free_units) {
            return Err(fail("freelists disagree with the free segments"));
        }
        if self.hash.check(&self.pool).map_err(fail)? != seen.segments {
            return Err(fail("hash table holds other than the allocated segments"));
        }
        self.check_caches(&seen)?;
        if seen != self.units {
            return Err(fail("running totals disagree with the segments"));
        }
        if free_units + seen.allocated != seen.total {
            return Err(fail("segments do not add up to the spans"));
        }
        Ok(())
    }

    /// The last marker reached by following the span list from its head.
    fn pool_last_span(&self) -> TagId {
        let (mut last, mut id) = (TagId::NIL, self.first_span);
        while !id.is_nil() {
            last = id;
            id = self.pool.get(id).link_next;
        }
        last
    }

    fn check_caches(&self, seen: &Units) -> Result<(), CheckError> {
        let mut cached = 0;
        for (index, cache) in self.caches.iter().enumerate() {
            let size = (index + 1) * self.quantum;
            if cache.len() != 0 && size > self.qcache_max {
                return Err(broken(
                    "a quantum cache beyond qcache_max holds segments",
                    size,
                ));
            }
            for &id in cache.items() {
                let tag = self.pool.get(id);
                if tag.kind != Kind::Allocated || !tag.flag || tag.size != size {
                    return Err(broken("a quantum cache holds a wrong segment", tag.base));
                }
                cached += 1;
            }
        }
        if cached != seen.cached_segments {
            return Err(broken("cached segments disagree with the caches", cached));
        }
        Ok(())
    }
}
