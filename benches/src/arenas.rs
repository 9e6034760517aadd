//! Resource arenas behind one small trait, so the scaling benchmark drives kalloc-vmem and
//! the `vmem` crate through identical code, plus [`SteadyArena`], which holds an arena at a
//! constant number of live segments.
//!
//! The arenas hand out numbers, not memory: spans start at [`BASE`] and nothing is ever
//! dereferenced, so a million live segments cost only the arenas' own boundary tags.

use crate::trace::Steady;
use kalloc_core::Span;
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// The arenas' quantum: sizes in a [`Steady`] trace count these units.
pub const QUANTUM: usize = 4096;

/// Where the arenas' span starts (any quantum-aligned number far from zero).
pub const BASE: usize = 1 << 40;

/// An arena under test.
pub trait Arena: Sized {
    /// The name benchmark groups print.
    const NAME: &'static str;

    /// A fresh arena holding `span`, with boundary tags for at least `segments` live
    /// segments.
    fn over(span: Span, segments: usize) -> Self;

    /// Allocates `size` (a multiple of [`QUANTUM`]); `None` only when the arena is out of
    /// space.
    fn alloc(&mut self, size: usize) -> Option<usize>;

    /// Frees the segment at `base` of `size`.
    fn free(&mut self, base: usize, size: usize);
}

/// A leaked slice of `len` copies of `value`: arena memory that lives as long as the
/// benchmark process (a kernel would hand over pages instead).
fn leak<T: Clone>(value: T, len: usize) -> &'static mut [T] {
    Box::leak(vec![value; len].into_boxed_slice())
}

/// kalloc-vmem, instant fit, no quantum caches; boundary tags and hash buckets come from
/// leaked vectors, the hash table grows whenever the arena asks.
pub struct KallocVmem(kalloc_vmem::Arena<'static>);

impl Arena for KallocVmem {
    const NAME: &'static str = "kalloc-vmem";

    fn over(span: Span, segments: usize) -> KallocVmem {
        let mut arena = kalloc_vmem::Arena::new("bench", QUANTUM).expect("arena");
        // A segment needs a tag, and so may the free segment after it.
        let tags = leak(MaybeUninit::<kalloc_vmem::Tag>::uninit(), 2 * segments + 64);
        arena.add_tag_memory(tags).expect("tag memory");
        arena.add(span).expect("the span");
        KallocVmem(arena)
    }

    #[inline]
    fn alloc(&mut self, size: usize) -> Option<usize> {
        let base = match self.0.alloc(size, kalloc_vmem::Policy::InstantFit) {
            Ok(base) => base,
            Err(kalloc_core::Error::Exhausted) => return None,
            Err(error) => panic!("kalloc-vmem: {size:#x}: {error:?}"),
        };
        if let Some(buckets) = self.0.wants_hash_memory() {
            let table = leak(MaybeUninit::<kalloc_vmem::Bucket>::uninit(), buckets);
            self.0.add_hash_memory(table).expect("hash memory");
        }
        Some(base)
    }

    #[inline]
    fn free(&mut self, base: usize, size: usize) {
        self.0.free(base, size).expect("a live segment");
    }
}

/// The `vmem` crate's lock for one thread: refuses re-entry, costs a flag.
#[derive(Default)]
pub struct OneThread(Cell<bool>);

/// The guard of [`OneThread`].
pub struct Held<'l>(&'l Cell<bool>);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

// SAFETY: the flag refuses a second guard while one is alive, so access is unique; `Cell`
// keeps the arena on one thread.
unsafe impl vmem::Lock for OneThread {
    type Guard<'a> = Held<'a>;
    fn lock(&self) -> Held<'_> {
        assert!(!self.0.replace(true), "re-entered");
        Held(&self.0)
    }
}

/// Boundary tags for the `vmem` crate from the system allocator.
pub struct SystemTags;

// SAFETY: each tag is a fresh system allocation of `Bt`'s layout, freed with the same one.
unsafe impl vmem::Allocator for SystemTags {
    fn allocate(&self) -> Option<NonNull<vmem::Bt>> {
        let layout = std::alloc::Layout::new::<vmem::Bt>();
        // SAFETY: `Bt` has a non-zero size.
        let tag = unsafe { std::alloc::alloc(layout) };
        NonNull::new(tag.cast())
    }
    unsafe fn deallocate(&self, ptr: NonNull<vmem::Bt>) {
        let layout = std::alloc::Layout::new::<vmem::Bt>();
        // SAFETY: `ptr` came from `allocate` with this layout (the caller's contract).
        unsafe { std::alloc::dealloc(ptr.as_ptr().cast(), layout) }
    }
}

/// The `vmem` crate, instant fit.
pub struct VmemCrate(vmem::Arena<'static, 'static, SystemTags, OneThread>);

impl Arena for VmemCrate {
    const NAME: &'static str = "vmem";

    fn over(span: Span, _segments: usize) -> VmemCrate {
        let arena = vmem::Arena::create("peer", QUANTUM, None, SystemTags).expect("arena");
        arena.add_span(span.base(), span.len()).expect("the span");
        VmemCrate(arena)
    }

    #[inline]
    fn alloc(&mut self, size: usize) -> Option<usize> {
        match self.0.alloc(size, vmem::AllocPolicy::InstantFit) {
            Ok(base) => Some(base),
            Err(vmem::Error::Empty) => None,
            Err(error) => panic!("vmem: {size:#x}: {error:?}"),
        }
    }

    #[inline]
    fn free(&mut self, base: usize, _size: usize) {
        self.0.free(base).expect("a live segment");
    }
}

/// An arena held at a constant number of live segments by a [`Steady`] trace (sizes in
/// quanta), over a span of twice the trace's peak.
///
/// An arena that runs out of space although the trace never holds more than half of it
/// (the `vmem` crate can: free space it fails to coalesce fragments without bound) is
/// rebuilt and refilled with the clock stopped; [`rebuilds`](SteadyArena::rebuilds) says
/// how often.
pub struct SteadyArena<A: Arena> {
    arena: A,
    /// `(base, size)` of each slot's segment.
    table: Vec<(usize, usize)>,
    /// The next churn step (the trace is cycled).
    next: usize,
    span: Span,
    rebuilds: usize,
}

impl<A: Arena> SteadyArena<A> {
    /// A fresh arena with every slot of `trace` allocated.
    ///
    /// # Panics
    /// When the fill does not fit (it always should: the span is twice the peak).
    pub fn new(trace: &Steady) -> SteadyArena<A> {
        let span = Span::new(BASE, 2 * trace.peak() * QUANTUM);
        let (arena, table) = Self::filled(span, trace);
        SteadyArena {
            arena,
            table,
            next: 0,
            span,
            rebuilds: 0,
        }
    }

    fn filled(span: Span, trace: &Steady) -> (A, Vec<(usize, usize)>) {
        let mut arena = A::over(span, trace.live());
        let table = trace
            .fill
            .iter()
            .map(|&quanta| {
                let size = quanta * QUANTUM;
                let base = arena.alloc(size);
                (base.expect("the fill fits in an empty arena"), size)
            })
            .collect();
        (arena, table)
    }

    /// Runs `steps` churn steps of `trace` (the one this arena was filled from), each one
    /// free and one allocation, continuing where the previous call stopped; returns the
    /// time they took, rebuilds excluded.
    pub fn churn(&mut self, trace: &Steady, steps: u64) -> Duration {
        let mut excluded = Duration::ZERO;
        let start = Instant::now();
        for _ in 0..steps {
            let (slot, quanta) = trace.churn[self.next];
            self.next = (self.next + 1) % trace.churn.len();
            let (base, size) = self.table[slot];
            self.arena.free(base, size);
            let size = quanta * QUANTUM;
            match self.arena.alloc(size) {
                Some(base) => self.table[slot] = (base, size),
                None => {
                    let pause = Instant::now();
                    (self.arena, self.table) = Self::filled(self.span, trace);
                    self.rebuilds += 1;
                    excluded += pause.elapsed();
                }
            }
        }
        start.elapsed() - excluded
    }

    /// How often the arena ran out of space and was rebuilt.
    #[must_use]
    pub fn rebuilds(&self) -> usize {
        self.rebuilds
    }

    /// The live segments `(base, size)`, by trace slot.
    #[must_use]
    pub fn live(&self) -> &[(usize, usize)] {
        &self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kalloc_fuzz::shadow::Shadow;

    /// A steady arena keeps the trace's live count in distinct, quantum-aligned segments
    /// inside its span.
    fn holds_steady<A: Arena>() {
        let trace = Steady::new(9, 200, 500, 1, 64);
        let mut steady = SteadyArena::<A>::new(&trace);
        let _ = steady.churn(&trace, 1200);
        let mut shadow = Shadow::new();
        for (slot, &(base, size)) in steady.live().iter().enumerate() {
            assert!(size % QUANTUM == 0 && (1..=64).contains(&(size / QUANTUM)));
            assert_eq!(base % QUANTUM, 0, "{}", A::NAME);
            assert!(
                steady.span.contains_span(Span::new(base, size)),
                "{}",
                A::NAME
            );
            shadow.insert(Span::new(base, size), slot as u64);
        }
        assert_eq!(shadow.len(), trace.live());
    }

    #[test]
    fn both_arenas_hold_a_steady_count() {
        holds_steady::<KallocVmem>();
        holds_steady::<VmemCrate>();
    }
}
