//! Fuzz harness for kalloc-arena: allocations of every size and alignment (bad ones
//! included), frees, grows, shrinks, checkpoints, rewinds to good, stale and foreign marks,
//! and resets, on an arena that shares its block source with a second arena. Every result
//! is checked against the shadow model and fill patterns, and the arena's checker runs
//! after every step. At the end both arenas are dropped and the source must have every
//! block back.
//!
//! The first byte picks the number of blocks in the source; the rest decode into `Op`s.

use crate::memory::AlignedMemory;
use crate::shadow::{Shadow, fill, verify};
use arbitrary::{Arbitrary, Unstructured};
use kalloc_arena::{BLOCK_SIZE, BlockBumpArena, MAX_ALIGN, MAX_REQUEST, Mark};
use kalloc_core::{Error, FixedRegion, Span, Stats};
use std::alloc::Layout;
use std::ptr::NonNull;

/// Tag bit of the second arena's allocations in the shared shadow.
const OTHER: u64 = 1 << 63;

/// How many marks the model remembers (older ones are forgotten).
const MARKS: usize = 24;

/// One step. `pick` values choose among what the model offers (modulo its count).
#[derive(Arbitrary, Debug)]
enum Op {
    /// Allocate; sizes reach past `MAX_REQUEST`, alignments past `MAX_ALIGN`.
    Alloc { size: u16, align_log2: u8 },
    /// A small allocation, the common case.
    Small { size: u8, aligned: bool },
    /// A zero-size allocation.
    Zero { align_log2: u8 },
    /// Free a live allocation.
    Free { pick: u16 },
    /// Free the most recent live allocation (the one the arena can reclaim).
    FreeLatest,
    /// Grow a live allocation by `extra` bytes to a new alignment.
    Grow {
        pick: u16,
        extra: u16,
        align_log2: u8,
    },
    /// Shrink a live allocation by `less` bytes to a new alignment.
    Shrink {
        pick: u16,
        less: u16,
        align_log2: u8,
    },
    /// Take a mark.
    Checkpoint,
    /// Rewind to a remembered mark, good or stale.
    Rewind { pick: u8 },
    /// Rewind to a mark of the other arena.
    RewindForeign,
    /// Reset the arena.
    Reset,
    /// Allocate from the other arena, which shares the block source.
    Other { size: u16 },
}

/// A mark as the model knows it.
struct ModelMark {
    mark: Mark,
    /// Allocations with a larger serial came after the mark.
    serial: u64,
    /// What the arena reported when the mark was taken; a rewind brings it back.
    stats: Stats,
    /// Whether a rewind or reset has made the mark stale.
    live: bool,
}

/// A live allocation of the arena under test: pointer (with provenance), layout, tag.
#[derive(Clone, Copy)]
struct Allocation {
    ptr: NonNull<u8>,
    layout: Layout,
    tag: u64,
}

/// What one input exercised, so property tests can prove they reach every path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Successful allocations of at least one byte.
    pub allocations: usize,
    /// Requests refused with an error (bad alignment, too large, exhausted).
    pub refusals: usize,
    /// Frees that gave the space back.
    pub reclaims: usize,
    /// Rewinds to good marks.
    pub rewinds: usize,
    /// Stale marks refused.
    pub stale_refused: usize,
    /// Good marks refused after a history merge.
    pub merged_refused: usize,
    /// Resets.
    pub resets: usize,
}

impl std::ops::AddAssign for Coverage {
    fn add_assign(&mut self, other: Coverage) {
        self.allocations += other.allocations;
        self.refusals += other.refusals;
        self.reclaims += other.reclaims;
        self.rewinds += other.rewinds;
        self.stale_refused += other.stale_refused;
        self.merged_refused += other.merged_refused;
        self.resets += other.resets;
    }
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    run_with_coverage(data);
}

/// Runs one fuzz input and reports what it exercised.
pub fn run_with_coverage(data: &[u8]) -> Coverage {
    let mut u = Unstructured::new(data);
    let Ok(size) = u.arbitrary::<u8>() else {
        return Coverage::default();
    };
    let blocks = 1 + usize::from(size) % 12;
    let mut memory = AlignedMemory::new(blocks * BLOCK_SIZE, BLOCK_SIZE);
    let region = FixedRegion::from_slice(memory.bytes());
    let initial = region.stats();
    let coverage = {
        let mut harness = Harness {
            arena: BlockBumpArena::new(&region),
            other: BlockBumpArena::new(&region),
            region: &region,
            shadow: Shadow::new(),
            live: Vec::new(),
            marks: Vec::new(),
            serial: 0,
            coverage: Coverage::default(),
        };
        let mut steps = 0u32;
        while !u.is_empty() {
            let Ok(op) = u.arbitrary::<Op>() else { break };
            harness.step(op);
            harness.agree(steps % 32 == 0);
            steps += 1;
        }
        harness.agree(true);
        harness.coverage
    };
    assert_eq!(
        region.stats(),
        initial,
        "dropping the arenas gave every block back"
    );
    coverage
}

struct Harness<'r, 'mem> {
    arena: BlockBumpArena<&'r FixedRegion<'mem>>,
    other: BlockBumpArena<&'r FixedRegion<'mem>>,
    region: &'r FixedRegion<'mem>,
    /// Both arenas' live allocations; the other arena's tags carry `OTHER`.
    shadow: Shadow,
    /// The arena under test's live allocations, in allocation order.
    live: Vec<Allocation>,
    marks: Vec<ModelMark>,
    /// Allocation counter: fill-pattern tags and the order marks compare against.
    serial: u64,
    coverage: Coverage,
}

fn layout(size: usize, align_log2: u8) -> Option<Layout> {
    Layout::from_size_align(size, 1 << (align_log2 % 15)).ok()
}

impl Harness<'_, '_> {
    fn step(&mut self, op: Op) {
        match op {
            Op::Alloc { size, align_log2 } => {
                if let Some(layout) = layout(usize::from(size) % (MAX_REQUEST + 200), align_log2) {
                    self.alloc(layout);
                }
            }
            Op::Small { size, aligned } => {
                let align = if aligned { 8 } else { 1 };
                let layout = Layout::from_size_align(usize::from(size) % 121 + 8, align);
                self.alloc(layout.expect("small layout"));
            }
            Op::Zero { align_log2 } => self.zero(align_log2),
            Op::Free { pick } => {
                if !self.live.is_empty() {
                    let index = usize::from(pick) % self.live.len();
                    self.free(index);
                }
            }
            Op::FreeLatest => {
                if !self.live.is_empty() {
                    self.free(self.live.len() - 1);
                }
            }
            Op::Grow {
                pick,
                extra,
                align_log2,
            } => self.grow(pick, extra, align_log2),
            Op::Shrink {
                pick,
                less,
                align_log2,
            } => self.shrink(pick, less, align_log2),
            Op::Checkpoint => self.checkpoint(),
            Op::Rewind { pick } => self.rewind(pick),
            Op::RewindForeign => self.rewind_foreign(),
            Op::Reset => self.reset(),
            Op::Other { size } => self.other_alloc(usize::from(size) % (MAX_REQUEST + 1)),
        }
    }

    /// The checker passes, the counts bound the model, every live allocation lies in the
    /// region and (when `contents`) still holds its pattern.
    fn agree(&self, contents: bool) {
        if let Err(broken) = self.arena.check() {
            panic!("checker: {broken}");
        }
        if let Err(broken) = self.other.check() {
            panic!("checker (other arena): {broken}");
        }
        let stats = self.arena.stats();
        let mine: Vec<&Allocation> = self.live.iter().filter(|a| a.layout.size() > 0).collect();
        assert!(stats.allocations >= mine.len(), "{stats:?}");
        assert!(
            stats.in_use >= mine.iter().map(|a| a.layout.size()).sum::<usize>(),
            "{stats:?}"
        );
        assert_eq!(stats.total, self.arena.arena_stats().blocks * BLOCK_SIZE);
        let region = self.region.span();
        for allocation in &mine {
            let span = span_of(allocation);
            assert!(region.contains_span(span), "{span:?} outside the source");
            if contents {
                check_pattern(allocation);
            }
        }
    }

    fn next_tag(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn record(&mut self, ptr: NonNull<u8>, layout: Layout) {
        assert_eq!(
            ptr.addr().get() % layout.align(),
            0,
            "misaligned for {layout:?}"
        );
        let tag = self.next_tag();
        let allocation = Allocation { ptr, layout, tag };
        self.shadow.insert(span_of(&allocation), tag);
        self.coverage.allocations += 1;
        // SAFETY: the arena handed out `ptr` for `layout.size()` bytes.
        unsafe { fill(ptr.as_ptr(), layout.size(), tag) };
        self.live.push(allocation);
    }

    fn forget(&mut self, index: usize) -> Allocation {
        let allocation = self.live.remove(index);
        if allocation.layout.size() > 0 {
            self.shadow.remove(allocation.ptr.addr().get());
        }
        allocation
    }

    /// The error a refused request must carry, given what the arena looked like.
    fn expect_refusal(&mut self, layout: Layout, error: Error, before: Stats) {
        self.coverage.refusals += 1;
        let expected = if layout.align() > MAX_ALIGN {
            Error::BadAlign
        } else if layout.size() > MAX_REQUEST {
            Error::TooLarge
        } else {
            assert!(
                self.region.stats().free < BLOCK_SIZE,
                "{layout:?} refused with {error:?} while the source had a block"
            );
            Error::Exhausted
        };
        assert_eq!(error, expected, "{layout:?}");
        assert_eq!(
            self.arena.stats(),
            before,
            "a refused request changed the arena"
        );
    }

    fn alloc(&mut self, layout: Layout) {
        let before = self.arena.stats();
        match self.arena.alloc(layout) {
            Ok(ptr) if layout.size() == 0 => self.zero_result(ptr, layout, before),
            Ok(ptr) => self.record(ptr, layout),
            Err(error) => self.expect_refusal(layout, error, before),
        }
    }

    fn zero(&mut self, align_log2: u8) {
        let Some(layout) = layout(0, align_log2) else {
            return;
        };
        let before = self.arena.stats();
        match self.arena.alloc(layout) {
            Ok(ptr) => self.zero_result(ptr, layout, before),
            Err(error) => self.expect_refusal(layout, error, before),
        }
    }

    fn zero_result(&mut self, ptr: NonNull<u8>, layout: Layout, before: Stats) {
        assert_eq!(
            ptr.addr().get(),
            layout.align(),
            "zero-size: dangling at the alignment"
        );
        assert_eq!(self.arena.stats(), before, "zero-size requests use nothing");
    }

    fn free(&mut self, index: usize) {
        let allocation = self.forget(index);
        check_pattern(&allocation);
        let before = self.arena.stats();
        // SAFETY: a live allocation of this arena with its layout, freed once.
        unsafe { self.arena.dealloc(allocation.ptr, allocation.layout) };
        let after = self.arena.stats();
        let reclaimed = before.in_use - after.in_use;
        assert!(
            reclaimed == 0 || reclaimed == allocation.layout.size(),
            "free reclaims all or nothing"
        );
        if reclaimed > 0 {
            self.coverage.reclaims += 1;
        }
    }

    fn grow(&mut self, pick: u16, extra: u16, align_log2: u8) {
        if self.live.is_empty() {
            return;
        }
        let index = usize::from(pick) % self.live.len();
        let old = self.live[index];
        let Some(new) = layout(old.layout.size() + usize::from(extra) % 600, align_log2) else {
            return;
        };
        let before = self.arena.stats();
        // SAFETY: a live allocation of this arena with its layout; `new` is not smaller.
        match unsafe { self.arena.grow(old.ptr, old.layout, new) } {
            Ok(ptr) => self.resized(index, ptr, new),
            Err(error) => {
                self.expect_refusal(new, error, before);
                check_pattern(&old);
            }
        }
    }

    fn shrink(&mut self, pick: u16, less: u16, align_log2: u8) {
        if self.live.is_empty() {
            return;
        }
        let index = usize::from(pick) % self.live.len();
        let old = self.live[index];
        let size = old.layout.size().saturating_sub(usize::from(less));
        let Some(new) = layout(size, align_log2) else {
            return;
        };
        let before = self.arena.stats();
        // SAFETY: a live allocation of this arena with its layout; `new` is not larger.
        match unsafe { self.arena.shrink(old.ptr, old.layout, new) } {
            Ok(ptr) => self.resized(index, ptr, new),
            Err(error) => {
                self.expect_refusal(new, error, before);
                check_pattern(&old);
            }
        }
    }

    /// The allocation at `index` now lives at `ptr` with `layout`: its old contents must
    /// have come along.
    fn resized(&mut self, index: usize, ptr: NonNull<u8>, layout: Layout) {
        let old = self.forget(index);
        let kept = old.layout.size().min(layout.size());
        // SAFETY: `ptr` is valid for `layout.size() >= kept` bytes.
        let moved = unsafe { verify(ptr.as_ptr(), kept, old.tag) };
        assert_eq!(
            moved,
            Ok(()),
            "resize lost contents ({old:?} -> {layout:?})"
        );
        if layout.size() == 0 {
            assert_eq!(ptr.addr().get(), layout.align());
            return;
        }
        self.record(ptr, layout);
    }

    fn checkpoint(&mut self) {
        let mark = self.arena.checkpoint();
        if self.marks.len() == MARKS {
            self.marks.remove(0);
        }
        self.marks.push(ModelMark {
            mark,
            serial: self.serial,
            stats: self.arena.stats(),
            live: true,
        });
    }

    fn rewind(&mut self, pick: u8) {
        if self.marks.is_empty() {
            return;
        }
        let index = usize::from(pick) % self.marks.len();
        let (mark, serial, stats, live) = {
            let m = &self.marks[index];
            (m.mark, m.serial, m.stats, m.live)
        };
        let before = self.arena.stats();
        let merges = self.arena.history_merges();
        match self.arena.rewind(mark) {
            Ok(()) => {
                assert!(live, "a stale mark was accepted");
                self.coverage.rewinds += 1;
                assert_eq!(
                    self.arena.stats(),
                    stats,
                    "rewind restores the mark's usage"
                );
                let mut kept = Vec::new();
                for allocation in std::mem::take(&mut self.live) {
                    if allocation.tag > serial {
                        if allocation.layout.size() > 0 {
                            self.shadow.remove(allocation.ptr.addr().get());
                        }
                    } else {
                        kept.push(allocation);
                    }
                }
                self.live = kept;
                for later in &mut self.marks[index + 1..] {
                    later.live = false;
                }
            }
            Err(Error::DoubleFree) => {
                assert!(
                    !live || merges > 0,
                    "a good mark was refused without a history merge"
                );
                assert_eq!(
                    self.arena.stats(),
                    before,
                    "a refused rewind changed the arena"
                );
                if live {
                    self.coverage.merged_refused += 1;
                } else {
                    self.coverage.stale_refused += 1;
                }
            }
            Err(other) => panic!("rewind failed with {other:?}"),
        }
    }

    fn rewind_foreign(&mut self) {
        let foreign = self.other.checkpoint();
        let before = self.arena.stats();
        assert_eq!(self.arena.rewind(foreign), Err(Error::WrongOwner));
        assert_eq!(self.arena.stats(), before);
    }

    fn reset(&mut self) {
        self.arena.reset();
        self.coverage.resets += 1;
        for allocation in std::mem::take(&mut self.live) {
            if allocation.layout.size() > 0 {
                self.shadow.remove(allocation.ptr.addr().get());
            }
        }
        for mark in &mut self.marks {
            mark.live = false;
        }
        let stats = self.arena.arena_stats();
        assert!(stats.blocks <= 1, "reset keeps at most one block");
        assert_eq!((stats.in_use, stats.allocations, stats.wasted), (0, 0, 0));
    }

    fn other_alloc(&mut self, size: usize) {
        let layout = Layout::from_size_align(size.max(1), 16).expect("layout");
        if let Ok(ptr) = self.other.alloc(layout) {
            let tag = OTHER | self.next_tag();
            self.shadow
                .insert(Span::new(ptr.addr().get(), layout.size()), tag);
        }
    }
}

fn span_of(allocation: &Allocation) -> Span {
    Span::new(allocation.ptr.addr().get(), allocation.layout.size())
}

fn check_pattern(allocation: &Allocation) {
    // SAFETY: a live allocation, valid for its size.
    let intact = unsafe {
        verify(
            allocation.ptr.as_ptr(),
            allocation.layout.size(),
            allocation.tag,
        )
    };
    assert_eq!(
        intact,
        Ok(()),
        "contents of {:?} changed",
        span_of(allocation)
    );
}

impl std::fmt::Debug for Allocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {:?}", span_of(self), self.layout)
    }
}
