use super::*;
use crate::{Constraints, Policy, Segment};
use core::cell::Cell;
use kalloc_core::{FixedRegion, NoSource, SourceCell};
use std::vec;
use std::vec::Vec;

/// 16 inline tags, so a few dozen segments already need a refill.
type Small<'a, M = NoSource> = Arena<'a, NoSource, 16, 4, 8, M>;

/// Allocations in the longer tests: fewer under Miri, where the checker after every step
/// costs thousands of times more (still several refills deep).
const ROUNDS: usize = if cfg!(miri) { 200 } else { 1000 };

/// Bytes for `tags` boundary tags.
fn bytes_for(tags: usize) -> Vec<u8> {
    vec![0; tags * size_of::<Tag>()]
}

fn segments<S: Source, const T: usize, const Q: usize, const C: usize, M: MemorySource>(
    arena: &Arena<'_, S, T, Q, C, M>,
) -> Vec<Segment> {
    arena.walk().collect()
}

/// Allocates one unit above everything allocated so far, so each allocation leaves a free
/// gap behind it and needs two tags.
fn scattered<S: Source, const T: usize, const Q: usize, const C: usize, M: MemorySource>(
    arena: &mut Arena<'_, S, T, Q, C, M>,
    live: &[usize],
) -> Result<usize, Error> {
    let min = live.last().map_or(1, |last| last + 2);
    arena.xalloc(1, &Constraints::new().min(min), Policy::InstantFit)
}

/// Allocates scattered segments until the arena refuses, checking it after every step;
/// asserts the refusal is `Exhausted` and changed nothing, and returns the live bases.
fn fill_until_refused<
    S: Source,
    const T: usize,
    const Q: usize,
    const C: usize,
    M: MemorySource,
>(
    arena: &mut Arena<'_, S, T, Q, C, M>,
) -> Vec<usize> {
    let mut live = Vec::new();
    loop {
        let (before, stats, free_tags) = (segments(arena), arena.stats(), arena.free_tags());
        match scattered(arena, &live) {
            Ok(base) => live.push(base),
            Err(error) => {
                assert_eq!(error, Error::Exhausted);
                assert_eq!(
                    segments(arena),
                    before,
                    "a refused allocation changed segments"
                );
                assert_eq!(arena.stats(), stats);
                assert_eq!(arena.free_tags(), free_tags);
                arena.check().unwrap();
                return live;
            }
        }
        arena.check().unwrap();
    }
}

/// Frees `live` and asserts the arena is back to one free segment over `span`.
fn free_all<S: Source, const T: usize, const Q: usize, const C: usize, M: MemorySource>(
    arena: &mut Arena<'_, S, T, Q, C, M>,
    live: Vec<usize>,
    span: Span,
) {
    for base in live {
        arena.free(base, 1).unwrap();
        arena.check().unwrap();
    }
    let whole = Segment {
        span,
        state: crate::SegmentState::Free,
    };
    assert_eq!(segments(arena), [whole]);
}

#[test]
fn without_a_tag_source_the_inline_tags_run_out_cleanly() {
    let span = Span::new(0, 10_000);
    let mut arena = Small::create("inline", 1).unwrap();
    arena.add(span).unwrap();
    let live = fill_until_refused(&mut arena);
    assert!(live.len() < 16 / 2, "16 tags serve fewer than 8 gaps");
    assert_eq!(arena.counters().tag_refills, 0);
    assert_eq!(arena.add(Span::new(20_000, 10)), Err(Error::Exhausted));
    arena.check().unwrap();
    free_all(&mut arena, live, span);
}

#[test]
fn a_tag_source_refills_the_pool_before_it_runs_out() {
    let mut memory = bytes_for(4096);
    let region = FixedRegion::from_slice(&mut memory);
    let span = Span::new(0, 10_000);
    let mut arena = Small::create("refilled", 1)
        .unwrap()
        .with_tag_source(&region);
    arena.add(span).unwrap();
    let mut live = Vec::new();
    for _ in 0..ROUNDS {
        live.push(scattered(&mut arena, &live).unwrap());
        assert!(
            arena.free_tags() >= 2,
            "the pool ran low before an operation"
        );
        arena.check().unwrap();
    }
    // Two tags per allocation; 16 inline, then chunks of 64, 80, 160, 320, ...: capacity
    // doubles, so 2 × ROUNDS tags take a handful of refills.
    let refills = arena.counters().tag_refills;
    assert!((4..=7).contains(&refills), "{refills} refills");
    assert_eq!(region.stats().in_use, arena.tag_memory_drawn());
    free_all(&mut arena, live, span);
    // Tag memory stays with the arena, ready for the next burst.
    assert_eq!(arena.counters().tag_refills, refills);
    assert!(arena.free_tags() >= 2 * ROUNDS);
}

#[test]
fn a_failing_tag_source_leaves_the_arena_unchanged() {
    // Room for the first refill (64 tags) and no more.
    let mut memory = bytes_for(100);
    let region = FixedRegion::from_slice(&mut memory);
    let span = Span::new(0, 10_000);
    let mut arena = Small::create("limited", 1)
        .unwrap()
        .with_tag_source(&region);
    arena.add(span).unwrap();
    let live = fill_until_refused(&mut arena);
    assert_eq!(arena.counters().tag_refills, 1);
    assert!(arena.free_tags() < TAGS_PER_OP);
    let free_tags = arena.free_tags();
    // Adding a span needs two tags the pool does not have, and the source has none.
    let failures = arena.counters().failures;
    assert_eq!(arena.add(Span::new(20_000, 10)), Err(Error::Exhausted));
    assert_eq!(arena.counters().failures, failures + 1);
    assert_eq!(arena.free_tags(), free_tags);
    assert_eq!(region.stats().in_use, 64 * size_of::<Tag>());
    arena.check().unwrap();
    free_all(&mut arena, live, span);
}

#[test]
fn a_refused_large_refill_falls_back_to_the_minimum() {
    // Enough for the first refill (64 tags) and a second minimum one, never for a doubling
    // (80 tags).
    let mut memory = bytes_for(64 + 64 + 10);
    let region = FixedRegion::from_slice(&mut memory);
    let mut arena = Small::create("fallback", 1)
        .unwrap()
        .with_tag_source(&region);
    arena.add(Span::new(0, 10_000)).unwrap();
    let live = fill_until_refused(&mut arena);
    assert_eq!(arena.counters().tag_refills, 2);
    assert_eq!(region.stats().in_use, 128 * size_of::<Tag>());
    assert!(live.len() > (16 + 128) / 2 - 4);
}

/// A memory source that hands out spans the pool cannot use, and records releases.
struct Unusable<'m> {
    region: FixedRegion<'m>,
    /// Hand out spans shorter than one tag (a broken source).
    short: bool,
    /// Report a pointer one byte off the span (misaligned for tags).
    skew: bool,
    released: Cell<usize>,
}

impl Source for Unusable<'_> {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        let span = self.region.import(size, align)?;
        if self.short {
            self.region.release(span)?;
            return self.region.import(1, align);
        }
        Ok(span)
    }
    fn release(&self, span: Span) -> Result<(), Error> {
        self.released.set(self.released.get() + 1);
        self.region.release(span)
    }
}

// SAFETY: forwards to `FixedRegion`; the skewed pointer stays inside the span's memory
// only as far as the test reads it: the arena refuses it before writing anything.
unsafe impl MemorySource for Unusable<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        let ptr = self.region.ptr(span)?;
        if self.skew {
            // SAFETY: the spans handed out are at least one tag long, so one byte in is
            // still inside them.
            return Ok(unsafe { ptr.add(1) });
        }
        Ok(ptr)
    }
}

#[test]
fn unusable_tag_memory_goes_back_and_changes_nothing() {
    for (short, skew) in [(true, false), (false, true)] {
        let mut memory = bytes_for(1024);
        let source = Unusable {
            region: FixedRegion::from_slice(&mut memory),
            short,
            skew,
            released: Cell::new(0),
        };
        let mut arena = Small::create("unusable", 1)
            .unwrap()
            .with_tag_source(&source);
        arena.add(Span::new(0, 10_000)).unwrap();
        let live = fill_until_refused(&mut arena);
        assert_eq!(arena.counters().tag_refills, 0);
        assert!(
            source.released.get() >= 2,
            "a big and a fallback span given back"
        );
        assert_eq!(source.region.stats().in_use, 0, "tag memory kept");
        free_all(&mut arena, live, Span::new(0, 10_000));
    }
}

/// The paper's recursion: boundary tags carved out of memory that a vmem arena hands out.
/// The arena manages the byte addresses of `memory`; its own tags come from its inline
/// reserve and, when those run low, from `reserve`.
struct VmemMemory<'m> {
    arena: SourceCell<Small<'m, &'m FixedRegion<'m>>>,
    base: NonNull<u8>,
}

impl<'m> VmemMemory<'m> {
    fn new(memory: &'m mut [u8], reserve: &'m FixedRegion<'m>) -> VmemMemory<'m> {
        let base = NonNull::from(&mut *memory).cast::<u8>();
        let span = Span::new(base.as_ptr().addr(), memory.len());
        let quantum = align_of::<Tag>();
        let mut arena = Small::create("tag memory", quantum)
            .unwrap()
            .with_tag_source(reserve);
        arena
            .add(span.align_inward(Align::new(quantum)).unwrap())
            .unwrap();
        VmemMemory {
            arena: SourceCell::new(arena),
            base,
        }
    }
}

impl Source for VmemMemory<'_> {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        self.arena.import(size, align)
    }
    fn release(&self, span: Span) -> Result<(), Error> {
        self.arena.release(span)
    }
}

// SAFETY: the arena hands out disjoint pieces of the addresses of the memory `base` points
// to (borrowed mutably for `'m`), and `ptr` derives each piece's pointer from `base`.
unsafe impl MemorySource for VmemMemory<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        let offset = span
            .base()
            .checked_sub(self.base.as_ptr().addr())
            .ok_or(Error::ForeignPointer)?;
        // SAFETY: `span` was handed out by the arena, so it lies inside the memory.
        Ok(unsafe { self.base.add(offset) })
    }
}

#[test]
fn tags_from_a_vmem_arena_whose_tags_come_from_its_own_source() {
    let mut reserve_memory = bytes_for(256);
    let reserve = FixedRegion::from_slice(&mut reserve_memory);
    let mut tag_memory = bytes_for(8192);
    let parent = VmemMemory::new(&mut tag_memory, &reserve);
    let span = Span::new(0, 100_000);
    let mut child = Small::create("child", 1).unwrap().with_tag_source(&parent);
    child.add(span).unwrap();
    let mut live = Vec::new();
    for _ in 0..ROUNDS {
        live.push(scattered(&mut child, &live).unwrap());
        child.check().unwrap();
    }
    let drawn = parent.arena.with(|p| {
        p.check().unwrap();
        (p.stats().in_use, p.counters().tag_refills)
    });
    let (in_use, parent_refills) = drawn.unwrap();
    assert!(child.counters().tag_refills >= 4);
    assert_eq!(in_use, child.tag_memory_drawn());
    // The parent's own pool stayed within its inline reserve.
    assert_eq!(parent_refills, 0);
    free_all(&mut child, live, span);
}

#[test]
fn one_parent_serves_both_the_resource_and_the_tag_memory() {
    // A kernel heap importing its addresses and its tag memory from the same parent,
    // through the same lock: the refill and the import are made one after the other,
    // never nested, so neither finds the parent busy.
    let mut reserve_memory = bytes_for(1024);
    let reserve = FixedRegion::from_slice(&mut reserve_memory);
    let mut memory = bytes_for(8192);
    let parent = VmemMemory::new(&mut memory, &reserve);
    let mut heap: Arena<'_, &VmemMemory<'_>, 16, 4, 8, &VmemMemory<'_>> =
        Arena::with_source("heap", 8, &parent, 64)
            .unwrap()
            .with_tag_source(&parent);
    let mut live = Vec::new();
    for round in 0..ROUNDS / 4 {
        // One 8-byte piece out of each 64-byte import, so every import is a new span.
        let base = heap
            .xalloc(8, &Constraints::new().align(64), Policy::InstantFit)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        live.push(base);
        heap.check().unwrap();
    }
    // Three tags per round (a span marker, the piece and the rest of the span): at least
    // 150 tags, beyond the 15 inline and the first refill's 64.
    assert!(heap.counters().tag_refills >= 2);
    assert!(heap.counters().imports >= (ROUNDS / 4) as u64);
    for base in live {
        heap.free(base, 8).unwrap();
        heap.check().unwrap();
    }
    assert_eq!(heap.stats().total, 0, "imported spans released");
    let (in_use, parent_refills) = parent
        .arena
        .with(|p| (p.stats().in_use, p.counters().tag_refills))
        .unwrap();
    assert_eq!(in_use, heap.tag_memory_drawn());
    // A parent segment per import: the parent refilled its own pool from its reserve on
    // the way.
    assert!(parent_refills >= 1);
}
