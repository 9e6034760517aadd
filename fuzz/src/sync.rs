//! Fuzz harness of kalloc-sync: a TLSF heap behind [`Locked`], growing through [`Growing`]
//! from a memory region that is itself shared behind a `Locked`, driven through
//! `GlobalAlloc` and the wrapper's fallible methods. After every step the heap's checker
//! must pass and the lock-free [`Counters`] must agree with the shadow model.

use crate::memory::AlignedMemory;
use crate::shadow::{Shadow, fill, verify};
use arbitrary::{Arbitrary, Unstructured};
use kalloc_core::{Align, Error, FixedRegion, MemorySourceMut, SourceMut, Span};
use kalloc_sync::{BackoffLock, Counters, Growing, Locked};
use kalloc_tlsf::Tlsf;
use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::ptr::NonNull;

/// Bytes of the region the heap grows from.
const REGION: usize = 256 * 1024;
/// Alignment of the region: the largest alignment an `Op::Alloc` asks for (`2^12`).
const REGION_ALIGN: usize = 1 << 12;

/// One step.
#[derive(Arbitrary, Debug)]
enum Op {
    /// Allocate `size + 1` bytes aligned to `2^(align_log2 % 13)`.
    Alloc {
        size: u16,
        align_log2: u8,
        zeroed: bool,
        fallible: bool,
    },
    /// Free the `index`-th live allocation.
    Free { index: u16, fallible: bool },
    /// Resize the `index`-th live allocation to `size + 1` bytes.
    Realloc {
        index: u16,
        size: u16,
        fallible: bool,
    },
    /// An alignment of 1 GiB: over TLSF's maximum, or more than the region can ever
    /// supply; refused either way.
    OverAligned,
    /// `realloc` to a size no `Layout` can have: null, before the lock.
    ImpossibleRealloc { index: u16 },
    /// `dealloc(null)`: ignored.
    NullFree,
    /// More than the region can ever hold: the growth hook fails and says why.
    Huge,
}

/// The region as a `SourceMut`, so a `Locked` can share it.
struct Region<'m>(FixedRegion<'m>);

impl SourceMut for Region<'_> {
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        kalloc_core::Source::import(&self.0, size, align)
    }

    fn release(&mut self, span: Span) -> Result<(), Error> {
        kalloc_core::Source::release(&self.0, span)
    }
}

// SAFETY: forwards to `FixedRegion`, a `MemorySource`.
unsafe impl MemorySourceMut for Region<'_> {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        kalloc_core::MemorySource::ptr(&self.0, span)
    }
}

/// The heap under test: `'r` borrows the shared region, `'m` its memory.
type Heap<'r, 'm> = Locked<Growing<Tlsf<'r>, &'r Locked<Region<'m>, BackoffLock>>, BackoffLock>;

/// What the harness expects the counters to say.
#[derive(Default)]
struct Expected {
    failures: usize,
}

struct Run<'h, 'r, 'm> {
    heap: &'h Heap<'r, 'm>,
    shadow: Shadow,
    /// Pointer (with its provenance: the shadow keeps only addresses) and layout of each
    /// live allocation, by address.
    blocks: BTreeMap<usize, (NonNull<u8>, Layout)>,
    expected: Expected,
    next_tag: u64,
}

impl Run<'_, '_, '_> {
    fn check(&self) {
        if let Err(corruption) = self.heap.lock().heap().check() {
            panic!("heap checker: {corruption:?}");
        }
        let counters = self.heap.counters();
        assert_eq!(
            counters,
            Counters {
                allocations: self.shadow.len(),
                in_use: self.shadow.bytes(),
                peak_in_use: counters.peak_in_use.max(self.shadow.bytes()),
                failures: self.expected.failures,
                rejected_frees: 0,
            },
            "counters disagree with the model"
        );
        assert!(counters.peak_in_use >= counters.in_use);
    }

    /// The `index`-th live allocation (modulo their number): pointer, layout, fill tag.
    fn nth(&self, index: u16) -> Option<(NonNull<u8>, Layout, u64)> {
        if self.shadow.is_empty() {
            return None;
        }
        let live = self.shadow.nth(usize::from(index) % self.shadow.len())?;
        let (ptr, layout) = self.blocks[&live.span.base()];
        Some((ptr, layout, live.tag))
    }

    fn record(&mut self, ptr: NonNull<u8>, layout: Layout, tag: u64) {
        let addr = ptr.as_ptr().addr();
        assert!(
            Align::of_layout(layout).is_aligned(addr),
            "misaligned block {ptr:p} for {layout:?}"
        );
        self.shadow.insert(Span::new(addr, layout.size()), tag);
        self.blocks.insert(addr, (ptr, layout));
    }

    fn forget(&mut self, ptr: NonNull<u8>) {
        let addr = ptr.as_ptr().addr();
        self.shadow.remove(addr).expect("a live allocation");
        self.blocks.remove(&addr);
    }

    fn alloc(&mut self, layout: Layout, zeroed: bool, fallible: bool) {
        let block = if fallible {
            self.heap.allocate(layout).ok()
        } else if zeroed {
            // SAFETY: `layout` has a non-zero size.
            NonNull::new(unsafe { self.heap.alloc_zeroed(layout) })
        } else {
            // SAFETY: `layout` has a non-zero size.
            NonNull::new(unsafe { self.heap.alloc(layout) })
        };
        let Some(block) = block else {
            self.expected.failures += 1;
            return;
        };
        if zeroed && !fallible {
            // SAFETY: the block is valid for `layout.size()` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(block.as_ptr(), layout.size()) };
            assert!(
                bytes.iter().all(|b| *b == 0),
                "alloc_zeroed left a byte set"
            );
        }
        let tag = self.next_tag;
        self.next_tag += 1;
        // SAFETY: the block is valid for `layout.size()` bytes and ours alone.
        unsafe { fill(block.as_ptr(), layout.size(), tag) };
        self.record(block, layout, tag);
    }

    fn free(&mut self, index: u16, fallible: bool) {
        let Some((ptr, layout, tag)) = self.nth(index) else {
            return;
        };
        // SAFETY: live for `layout`.
        let intact = unsafe { verify(ptr.as_ptr(), layout.size(), tag) };
        assert_eq!(intact, Ok(()), "contents of {ptr:p} changed");
        self.forget(ptr);
        if fallible {
            // SAFETY: live for `layout`, freed once.
            let freed = unsafe { self.heap.deallocate(ptr, layout) };
            assert_eq!(freed, Ok(()));
        } else {
            // SAFETY: live for `layout`, freed once.
            unsafe { self.heap.dealloc(ptr.as_ptr(), layout) };
        }
    }

    fn realloc(&mut self, index: u16, size: usize, fallible: bool) {
        let Some((ptr, old, tag)) = self.nth(index) else {
            return;
        };
        let new = Layout::from_size_align(size, old.align()).expect("small sizes");
        let moved = if fallible {
            // SAFETY: live for `old`.
            unsafe { self.heap.resize(ptr, old, new) }.ok()
        } else {
            // SAFETY: live for `old`; `size` is not zero.
            NonNull::new(unsafe { self.heap.realloc(ptr.as_ptr(), old, size) })
        };
        let kept = old.size().min(size);
        let Some(moved) = moved else {
            self.expected.failures += 1;
            // SAFETY: a failed resize leaves the block live for `old`.
            let intact = unsafe { verify(ptr.as_ptr(), old.size(), tag) };
            assert_eq!(intact, Ok(()), "a failed realloc changed the block");
            return;
        };
        // SAFETY: the block is valid for `size` bytes, the first `kept` preserved.
        let intact = unsafe { verify(moved.as_ptr(), kept, tag) };
        assert_eq!(intact, Ok(()), "realloc lost contents");
        self.forget(ptr);
        // SAFETY: the block is valid for `size` bytes and ours alone.
        unsafe { fill(moved.as_ptr(), size, tag) };
        self.record(moved, new, tag);
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
                fallible,
            } => {
                let align = 1usize << (align_log2 % 13);
                let layout = Layout::from_size_align(usize::from(size) + 1, align).unwrap();
                self.alloc(layout, zeroed, fallible);
            }
            Op::Free { index, fallible } => self.free(index, fallible),
            Op::Realloc {
                index,
                size,
                fallible,
            } => self.realloc(index, usize::from(size) + 1, fallible),
            Op::OverAligned => {
                let layout = Layout::from_size_align(8, 1 << 30).unwrap();
                match self.heap.allocate(layout) {
                    // Served when the heap's memory happens to straddle a 1 GiB boundary
                    // with room after it: TLSF tries its wilderness at its actual address.
                    Ok(ptr) => {
                        assert!(
                            Align::of_layout(layout).is_aligned(ptr.as_ptr().addr()),
                            "misaligned block {ptr:p} for {layout:?}"
                        );
                        // SAFETY: just allocated for `layout`, freed once.
                        let freed = unsafe { self.heap.deallocate(ptr, layout) };
                        assert_eq!(freed, Ok(()));
                    }
                    Err(error) => {
                        assert!(
                            matches!(error, Error::BadAlign | Error::Exhausted),
                            "{error:?}"
                        );
                        self.expected.failures += 1;
                    }
                }
            }
            Op::ImpossibleRealloc { index } => {
                if let Some((ptr, old, _)) = self.nth(index) {
                    // SAFETY: live for `old`; the size is refused before the heap is asked.
                    let moved = unsafe { self.heap.realloc(ptr.as_ptr(), old, usize::MAX) };
                    assert!(moved.is_null());
                }
            }
            Op::NullFree => {
                // SAFETY: `dealloc(null)` is ignored by the wrapper.
                unsafe {
                    self.heap
                        .dealloc(std::ptr::null_mut(), Layout::new::<u64>())
                };
            }
            Op::Huge => {
                let layout = Layout::from_size_align(2 * REGION, 8).unwrap();
                assert!(self.heap.allocate(layout).is_err());
                self.expected.failures += 1;
            }
        }
    }
}

/// What one run did, for tests that want to know their input reached the interesting paths.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// Operations decoded and run.
    pub steps: usize,
    /// Pools the out-of-memory hook imported.
    pub pools_added: usize,
    /// The counters' peak of live bytes.
    pub peak_in_use: usize,
}

/// Decodes operations from `data` and runs them against the locked, growing TLSF heap.
///
/// # Panics
/// On any disagreement with the model: a block handed out twice, changed contents, a
/// counter that does not add up, a heap checker failure.
pub fn run(data: &[u8]) {
    run_outcome(data);
}

/// [`run`], telling what the run did.
///
/// # Panics
/// As [`run`].
pub fn run_outcome(data: &[u8]) -> Outcome {
    // Page-aligned, so the pools the region hands out, and so every block's address modulo
    // any alignment the operations ask for (at most 4 KiB), are the same on every run: one
    // input always takes the same paths.
    let mut memory = AlignedMemory::new(REGION, REGION_ALIGN);
    // `with_lock`, not `new`: this crate is also built under `cfg(loom)` (as a dependency of
    // kalloc-sync's tests), where `Locked::new` does not exist.
    let region = Locked::with_lock(
        Region(FixedRegion::from_slice(memory.bytes())),
        BackoffLock::new(),
    );
    let heap: Heap<'_, '_> =
        Locked::with_lock(Growing::new(Tlsf::new(), &region), BackoffLock::new());
    let mut run = Run {
        heap: &heap,
        shadow: Shadow::new(),
        blocks: BTreeMap::new(),
        expected: Expected::default(),
        next_tag: 1,
    };
    let mut input = Unstructured::new(data);
    let mut steps = 0;
    // `arbitrary` decodes from an exhausted input too (as zeros): stop when it is used up.
    while !input.is_empty() {
        let Ok(op) = Op::arbitrary(&mut input) else {
            break;
        };
        run.step(op);
        run.check();
        steps += 1;
    }
    while !run.shadow.is_empty() {
        run.free(0, false);
        run.check();
    }
    let counters = heap.counters();
    assert_eq!((counters.allocations, counters.in_use), (0, 0));
    let stats = heap.heap_stats();
    assert_eq!(
        (stats.in_use, stats.allocations),
        (0, 0),
        "everything freed"
    );
    Outcome {
        steps,
        pools_added: heap.lock().pools_added(),
        peak_in_use: counters.peak_in_use,
    }
}
