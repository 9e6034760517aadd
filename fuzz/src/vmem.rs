//! Fuzz harness for kalloc-vmem: random `alloc` / `xalloc` / `free` / `xfree` / `add` /
//! bad-input sequences against one arena (standalone, or a child importing from a parent
//! arena; its boundary tags handed over by the harness, or drawn by the arena itself from a
//! tag source with limited memory), checked against the shadow model and the arena's own
//! checker after every step.
//!
//! vmem hands out numbers, not memory, so the shadow model's overlap check is what catches
//! a value handed out twice; every placement constraint is re-verified independently, every
//! refused call must leave the allocations exactly as they were, and an `Exhausted` from a
//! standalone arena is confirmed by searching every free segment by brute force, unless the
//! arena was out of boundary tags (fewer than the two an allocation needs, with the tag
//! source exhausted).

use crate::shadow::Shadow;
use arbitrary::{Arbitrary, Unstructured};
use core::mem::MaybeUninit;
use kalloc_core::{Error, FixedRegion, MemorySource, Source, SourceCell, Span};
use kalloc_vmem::{Arena, Bucket, Constraints, Policy, SegmentState, Tag};

/// Tags the harness can give the arena, in chunks of [`TAG_CHUNK`] handed over whenever
/// fewer than [`TAG_LOW`] are free: always more than the live, cached and free segments and
/// spans it can create.
const TAG_MEMORY: usize = 4096;
const TAG_CHUNK: usize = 256;
const TAG_LOW: usize = 64;
/// Live allocations at most, so tags handed over by the harness never run out.
const MAX_LIVE: usize = 300;
/// Steps at most per input.
const MAX_STEPS: usize = 3000;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pol {
    Instant,
    Best,
    Next,
}

impl Pol {
    fn policy(self) -> Policy {
        match self {
            Pol::Instant => Policy::InstantFit,
            Pol::Best => Policy::BestFit,
            Pol::Next => Policy::NextFit,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Alloc {
        quanta: u8,
        policy: Pol,
    },
    XAlloc {
        quanta: u8,
        align_log2: u8,
        phase_quanta: u8,
        nocross_log2: u8,
        min_quanta: u16,
        max_quanta: u16,
        policy: Pol,
    },
    Free {
        victim: u16,
        bypass_cache: bool,
    },
    WrongSize {
        victim: u16,
    },
    ZeroFree {
        victim: u16,
    },
    FreeValue {
        value: u32,
    },
    ReFree {
        which: u16,
    },
    Add {
        base_quanta: u16,
        len_quanta: u8,
        skew: u8,
    },
    Drain,
}

/// The arena under test: the default parameters, tags from `M`.
type Under<'a, S, M> = Arena<'a, S, 64, 8, 32, M>;

/// How the arena under test is set up.
#[derive(Arbitrary, Debug)]
struct Setup {
    quantum_log2: u8,
    qcache_quanta: u8,
    child: bool,
    import_quanta: u8,
    /// Tags drawn by the arena from a tag source instead of handed over by the harness.
    tag_source: bool,
    /// The tag source's memory: `16 + 8 × (tag_budget % 64)` tags, often fewer than
    /// [`MAX_LIVE`] allocations need.
    tag_budget: u8,
}

/// Where the arena's boundary tags come from.
enum Tags<'a, 'm> {
    /// Chunks the harness hands over whenever the arena runs low.
    Given(core::slice::ChunksMut<'a, MaybeUninit<Tag>>),
    /// The arena's own tag source, with this much memory.
    Drawn(&'m FixedRegion<'m>),
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut input) else {
        return;
    };
    let quantum = 1usize << (setup.quantum_log2 % 7);
    let qcache_max = usize::from(setup.qcache_quanta % 9) * quantum;
    let mut tags = vec![MaybeUninit::<Tag>::uninit(); TAG_MEMORY];
    let mut tables: Vec<Vec<MaybeUninit<Bucket>>> = (6..12)
        .map(|bits| vec![MaybeUninit::uninit(); 1 << bits])
        .collect();
    let budget = 16 + 8 * usize::from(setup.tag_budget % 64);
    let mut tag_memory = vec![0u8; budget * core::mem::size_of::<Tag>()];
    let region = FixedRegion::from_slice(&mut tag_memory);
    if setup.child {
        let mut parent = Arena::new("parent", quantum).unwrap();
        parent.add(Span::new(1 << 24, 1 << 24)).unwrap();
        let parent = SourceCell::new(parent);
        let import = usize::from(setup.import_quanta % 64 + 1) * quantum;
        let arena: Arena<'_, &SourceCell<Arena<'_>>> =
            Arena::with_source("child", quantum, &parent, import).unwrap();
        let arena = arena.with_qcache_max(qcache_max).unwrap();
        if setup.tag_source {
            let arena = arena.with_tag_source(&region);
            drive(arena, &mut input, Tags::Drawn(&region), &mut tables, false);
        } else {
            let given = Tags::Given(tags.chunks_mut(TAG_CHUNK));
            drive(arena, &mut input, given, &mut tables, false);
        }
        parent
            .with(|parent| {
                parent.check().unwrap();
                assert_eq!(parent.stats().in_use, 0, "child kept imported spans");
            })
            .unwrap();
    } else {
        let mut arena = Arena::new("solo", quantum).unwrap();
        arena
            .add(Span::new(1 << 20, (1 << 14) << (setup.quantum_log2 % 7)))
            .unwrap();
        let arena = arena.with_qcache_max(qcache_max).unwrap();
        if setup.tag_source {
            let arena = arena.with_tag_source(&region);
            drive(arena, &mut input, Tags::Drawn(&region), &mut tables, true);
        } else {
            let given = Tags::Given(tags.chunks_mut(TAG_CHUNK));
            drive(arena, &mut input, given, &mut tables, true);
        }
    }
    assert_eq!(region.stats().in_use % core::mem::size_of::<Tag>(), 0);
}

struct Model {
    shadow: Shadow,
    /// Bases freed at some point, for double frees.
    freed: Vec<usize>,
    /// Spans added by the harness (never released).
    added: usize,
    next_tag: u64,
}

fn drive<'a, S: Source, M: MemorySource>(
    mut arena: Under<'a, S, M>,
    input: &mut Unstructured<'_>,
    mut tags: Tags<'a, '_>,
    tables: &'a mut [Vec<MaybeUninit<Bucket>>],
    standalone: bool,
) {
    let mut tables = tables.iter_mut();
    let initial_total = arena.total_size();
    let mut model = Model {
        shadow: Shadow::new(),
        freed: Vec::new(),
        added: initial_total,
        next_tag: 0,
    };
    for _ in 0..MAX_STEPS {
        // Exhausted input would decode as an endless run of default operations.
        if input.is_empty() {
            break;
        }
        let Ok(op) = Op::arbitrary(input) else {
            break;
        };
        match &mut tags {
            Tags::Given(chunks) if arena.free_tags() < TAG_LOW => {
                let chunk = chunks.next().expect("the harness ran out of tag memory");
                assert_eq!(arena.add_tag_memory(chunk), Ok(TAG_CHUNK));
            }
            Tags::Given(_) => {}
            Tags::Drawn(region) => {
                // Everything drawn is kept, in whole tags.
                assert_eq!(arena.tag_memory_drawn(), region.stats().in_use);
            }
        }
        step(&mut arena, &mut model, op, standalone);
        arena.check().unwrap_or_else(|e| panic!("checker: {e}"));
        let stats = arena.stats();
        assert_eq!(stats.in_use, model.shadow.bytes(), "in-use units");
        assert_eq!(stats.allocations, model.shadow.len(), "live allocations");
        if arena.wants_hash_memory().is_some() {
            if let Some(table) = tables.next() {
                if table.len() > arena.hash_buckets() {
                    arena.add_hash_memory(table).unwrap();
                }
            }
        }
    }
    for live in model.shadow.drain() {
        arena.free(live.span.base(), live.span.len()).unwrap();
        arena.check().unwrap();
    }
    arena.drain_caches();
    arena.check().unwrap();
    let stats = arena.stats();
    assert_eq!((stats.in_use, stats.allocations), (0, 0));
    assert_eq!(stats.total, model.added, "imported spans not released");
    assert_eq!(stats.free, stats.total);
    assert!(arena.walk().all(|s| s.state == SegmentState::Free));
}

/// The allocated (non-cached) segments: what a refused call must not change.
fn allocated<S: Source, M: MemorySource>(arena: &Under<'_, S, M>) -> Vec<Span> {
    arena
        .walk()
        .filter(|s| s.state == SegmentState::Allocated)
        .map(|s| s.span)
        .collect()
}

fn step<S: Source, M: MemorySource>(
    arena: &mut Under<'_, S, M>,
    model: &mut Model,
    op: Op,
    standalone: bool,
) {
    let quantum = arena.quantum();
    let before = allocated(arena);
    let refused = |arena: &Under<'_, S, M>, result: Result<(), Error>, expected: Error| {
        assert_eq!(result, Err(expected));
        assert_eq!(
            allocated(arena),
            before,
            "a refused call changed allocations"
        );
    };
    match op {
        Op::Alloc { quanta, policy } => {
            if model.shadow.len() >= MAX_LIVE {
                return;
            }
            let size = usize::from(quanta % 64) * quantum;
            let result = arena.alloc(size, policy.policy());
            let plain = Want {
                size,
                align: 1,
                phase: 0,
                nocross: 0,
                min: 0,
                max: usize::MAX,
            };
            placed(arena, model, result, &plain, standalone, &before);
        }
        Op::XAlloc {
            quanta,
            align_log2,
            phase_quanta,
            nocross_log2,
            min_quanta,
            max_quanta,
            policy,
        } => {
            if model.shadow.len() >= MAX_LIVE {
                return;
            }
            let size = usize::from(quanta % 64) * quantum;
            let align = match align_log2 % 24 {
                // Not a power of two.
                23 => 3 * quantum,
                bits => 1 << (bits % 18),
            };
            let nocross = match nocross_log2 % 24 {
                0..=8 => 0,
                23 => 5 * quantum,
                bits => 1 << bits,
            };
            let phase = usize::from(phase_quanta) * quantum / 4;
            let window = 1usize << 20;
            let min = window + usize::from(min_quanta) * quantum;
            let max = if max_quanta == u16::MAX {
                usize::MAX
            } else {
                window + usize::from(max_quanta) * quantum * 4
            };
            let constraints = Constraints::new()
                .align(align)
                .phase(phase)
                .nocross(nocross)
                .min(min)
                .max(max);
            let result = arena.xalloc(size, &constraints, policy.policy());
            let want = Want {
                size,
                align,
                phase,
                nocross,
                min,
                max,
            };
            if let Some(expected) = want.invalid(quantum) {
                return refused(arena, result.map(|_| ()), expected);
            }
            placed(arena, model, result, &want, standalone, &before);
        }
        Op::Free {
            victim,
            bypass_cache,
        } => {
            let Some(live) = pick(model, victim) else {
                return;
            };
            let (base, len) = (live.span.base(), live.span.len());
            if bypass_cache {
                arena.xfree(base, len).unwrap();
            } else {
                arena.free(base, len).unwrap();
            }
            model.shadow.remove(base);
            model.freed.push(base);
        }
        Op::WrongSize { victim } => {
            if let Some(live) = pick(model, victim) {
                let wrong = live.span.len() + quantum;
                let result = arena.free(live.span.base(), wrong);
                refused(arena, result, Error::WrongSize);
            }
        }
        Op::ZeroFree { victim } => {
            let base = pick(model, victim).map_or(1 << 20, |live| live.span.base());
            let result = arena.free(base, 0);
            refused(arena, result, Error::ZeroSize);
        }
        Op::FreeValue { value } => {
            let value = (1 << 20) + value as usize % (1 << 26);
            bad_free(arena, model, value, refused);
        }
        Op::ReFree { which } => {
            if !model.freed.is_empty() {
                let base = model.freed[usize::from(which) % model.freed.len()];
                bad_free(arena, model, base, refused);
            }
        }
        Op::Add {
            base_quanta,
            len_quanta,
            skew,
        } => {
            // Below the parent's span [2^24, 2^25), so added and imported spans never meet.
            let offset = (usize::from(base_quanta) * quantum * 8) % (1 << 23);
            let base = (1 << 22) + offset + usize::from(skew % 2);
            let len = usize::from(len_quanta) * quantum;
            let span = Span::new(base, len);
            let expected = if len == 0 {
                Some(Error::ZeroSize)
            } else if base % quantum != 0 {
                Some(Error::Misaligned)
            } else if arena.spans().any(|(other, _)| other.overlaps(span)) {
                Some(Error::Overlap)
            } else {
                None
            };
            let result = arena.add(span);
            match expected {
                Some(error) => refused(arena, result, error),
                // A span needs two tags; only a tag source can run dry.
                None if result == Err(Error::Exhausted) && arena.free_tags() < 2 => {
                    refused(arena, result, Error::Exhausted);
                }
                None => {
                    result.unwrap();
                    model.added += len;
                }
            }
        }
        Op::Drain => arena.drain_caches(),
    }
}

fn pick(model: &Model, victim: u16) -> Option<crate::shadow::Live> {
    if model.shadow.is_empty() {
        return None;
    }
    model.shadow.nth(usize::from(victim) % model.shadow.len())
}

/// Frees `value` with the size it would have, expecting the error the model predicts.
fn bad_free<S: Source, M: MemorySource>(
    arena: &mut Under<'_, S, M>,
    model: &Model,
    value: usize,
    refused: impl Fn(&Under<'_, S, M>, Result<(), Error>, Error),
) {
    if model.shadow.get(value).is_some() {
        return; // live again: a legitimate free
    }
    let quantum = arena.quantum();
    let expected = if model.shadow.overlapping(Span::new(value, 1)).is_some() {
        Error::ForeignPointer
    } else if value % quantum == 0 && arena.contains(value) {
        // In free or cached space (cached segments start at quantum multiples).
        Error::DoubleFree
    } else if arena.contains(value) && in_free_segment(arena, value) {
        Error::DoubleFree
    } else {
        Error::ForeignPointer
    };
    let result = arena.free(value, quantum);
    if expected == Error::DoubleFree && result == Err(Error::ForeignPointer) {
        // A value inside a cached segment but not its base is foreign.
        assert!(
            !in_free_segment(arena, value),
            "{value:#x} is free but was called foreign"
        );
        return;
    }
    refused(arena, result, expected);
}

fn in_free_segment<S: Source, M: MemorySource>(arena: &Under<'_, S, M>, value: usize) -> bool {
    arena
        .walk()
        .any(|s| s.state == SegmentState::Free && s.span.contains(value))
}

/// One request as the harness made it: the model's copy of the constraints.
struct Want {
    size: usize,
    align: usize,
    phase: usize,
    nocross: usize,
    min: usize,
    max: usize,
}

impl Want {
    /// The error invalid constraints must produce, worked out independently of the arena.
    fn invalid(&self, quantum: usize) -> Option<Error> {
        if self.size == 0 {
            return Some(Error::ZeroSize);
        }
        let nocross_ok = self.nocross == 0 || self.nocross.is_power_of_two();
        if !self.align.is_power_of_two() || !nocross_ok {
            return Some(Error::BadAlign);
        }
        if self.phase >= self.align.max(quantum) {
            return Some(Error::BadConstraint);
        }
        if self.phase % quantum != 0 {
            return Some(Error::Misaligned);
        }
        if self.nocross != 0 && self.nocross < self.size {
            return Some(Error::BadConstraint);
        }
        let low = self.min.next_multiple_of(quantum);
        let high = self.max - self.max % quantum;
        if self.min >= self.max || high < low || high - low < self.size {
            return Some(Error::BadConstraint);
        }
        None
    }

    /// Whether some start in the segment fits, searched candidate by candidate (in 128-bit
    /// arithmetic, so nothing here can wrap). Whether a candidate crosses a `nocross`
    /// boundary depends only on its offset inside its window, which is the same in every
    /// window after the first (align and nocross are powers of two), so three candidates
    /// settle it.
    fn fits_in(&self, segment: Span, quantum: usize) -> Option<usize> {
        let align = self.align.max(quantum) as u128;
        let low = segment.base().max(self.min) as u128;
        let high = segment.end().min(self.max) as u128;
        let (size, phase, nocross) = (self.size as u128, self.phase as u128, self.nocross as u128);
        let first_at = |from: u128| from + (phase + align - from % align) % align;
        let mut start = first_at(low);
        for _ in 0..3 {
            if start + size > high {
                return None;
            }
            if nocross == 0 || start / nocross == (start + size - 1) / nocross {
                return Some(start as usize);
            }
            start = first_at((start / nocross + 1) * nocross);
        }
        None
    }
}

/// Checks a successful allocation against every constraint and records it; checks a
/// refusal is `Exhausted` and (standalone) that no free segment could have served.
fn placed<S: Source, M: MemorySource>(
    arena: &mut Under<'_, S, M>,
    model: &mut Model,
    result: Result<usize, Error>,
    want: &Want,
    standalone: bool,
    before: &[Span],
) {
    let quantum = arena.quantum();
    let size = want.size;
    if size == 0 {
        assert_eq!(result, Err(Error::ZeroSize));
        return;
    }
    match result {
        Ok(base) => {
            let align = want.align.max(quantum);
            assert_eq!(base % align, want.phase, "{base:#x}: alignment/phase");
            let end = base + size;
            let (min, max) = (want.min, want.max);
            assert!(
                base >= min && end <= max,
                "{base:#x}+{size:#x} outside [{min:#x}, {max:#x})"
            );
            if want.nocross != 0 {
                let nocross = want.nocross;
                assert_eq!(
                    base / nocross,
                    (end - 1) / nocross,
                    "{base:#x} crosses {nocross:#x}"
                );
            }
            assert!(arena.contains(base) && arena.contains(end - 1));
            model.shadow.insert(Span::new(base, size), model.next_tag);
            model.next_tag += 1;
        }
        Err(error) => {
            assert_eq!(error, Error::Exhausted, "unexpected refusal");
            assert_eq!(
                allocated(arena),
                before,
                "a refused call changed allocations"
            );
            if arena.free_tags() < 2 {
                // Refused up front for want of the two tags carving needs, so nothing else
                // is known about the arena (only a tag source can run dry).
                return;
            }
            if standalone {
                // The failure drained the caches: every free segment is searched.
                for segment in arena.walk().filter(|s| s.state == SegmentState::Free) {
                    if let Some(start) = want.fits_in(segment.span, quantum) {
                        panic!("{start:#x} in {:?} fits but was refused", segment.span);
                    }
                }
            }
        }
    }
}
