//! kalloc-vmem against the `vmem` crate: random alloc/free of 1–64 quanta around 1 thousand
//! and 256 thousand live segments, and quantum-cached sizes with and without the caches.
//!
//! Every arena replays the same trace: fill the arena to half with `2 × live` segments,
//! free a random half of them (scattered holes), then churn: free a random live segment
//! and allocate a new random size in its place. One measured iteration is one free plus
//! one allocation; the live count stays constant while criterion runs.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use kalloc_benches::arenas::{Arena, BASE, QUANTUM, VmemCrate};
use kalloc_core::Span;
use kalloc_fuzz::rng::Rng;
use kalloc_vmem::{Bucket, Policy, Tag};
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

/// The largest live count at which a `--quick` run measures the `vmem` crate.
const QUICK_PEER_MAX: usize = 16 * 1024;
/// Churn steps generated (and cycled through while measuring): at least this many, and at
/// least two per live segment, so a large live count is not measured on a small, cached
/// subset of its segments.
const MIN_CHURN: usize = 1 << 14;

/// One benchmark workload, generated once and replayed identically by every arena.
struct Trace {
    /// Sizes (in units) of the fill allocations.
    fill: Vec<usize>,
    /// Fill slots freed to punch holes.
    punch: Vec<usize>,
    /// Churn steps: (index into the live table, new size).
    churn: Vec<(usize, usize)>,
    /// The arena span: twice the fill volume.
    span: Span,
}

impl Trace {
    fn new(seed: u64, live: usize, max_quanta: usize) -> Trace {
        let mut rng = Rng::new(seed);
        let size = |rng: &mut Rng| rng.between(1, max_quanta) * QUANTUM;
        let fill: Vec<usize> = (0..2 * live).map(|_| size(&mut rng)).collect();
        let mut order: Vec<usize> = (0..fill.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let punch = order[..live].to_vec();
        let churn = (0..MIN_CHURN.max(2 * live))
            .map(|_| (rng.below(live), size(&mut rng)))
            .collect();
        let volume: usize = fill.iter().sum();
        Trace {
            fill,
            punch,
            churn,
            span: Span::new(BASE, 2 * volume),
        }
    }
}

/// What a benchmark needs from an arena.
trait Subject {
    /// A fresh arena holding the trace's span.
    fn new(trace: &Trace) -> Self;
    /// `None` only when the arena is out of space.
    fn alloc(&mut self, size: usize) -> Option<usize>;
    fn free(&mut self, base: usize, size: usize);
}

/// Fills and punches `trace` into `arena`, returning the live table `(base, size)`.
fn prepare(arena: &mut impl Subject, trace: &Trace) -> Vec<(usize, usize)> {
    let mut table: Vec<(usize, usize)> = trace
        .fill
        .iter()
        .map(|&size| (arena.alloc(size).expect("the fill fits"), size))
        .collect();
    let mut punched = vec![false; table.len()];
    for &slot in &trace.punch {
        let (base, size) = table[slot];
        arena.free(base, size);
        punched[slot] = true;
    }
    let mut kept = punched.iter().map(|p| !p);
    table.retain(|_| kept.next().unwrap());
    table
}

/// Asks the CPU to start loading `value`'s cache line (a hint: nothing on other targets).
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults and changes no state; `value` is a live reference.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Times `iters` churn steps (one free and one allocation each), resuming the trace where
/// the previous call stopped.
///
/// The live table is the harness's own data: at 256 thousand live segments it is 4 MiB
/// read at random, a cache miss per step that every arena would pay in series with its own
/// work. The next step's entry is prefetched while this step runs, so the time measured is
/// the arena's.
///
/// An arena that runs out of space although the trace never holds more than half of it
/// (the `vmem` crate does: its free path stops coalescing with the next neighbour once it
/// has merged with the previous one, so free space fragments without bound) is rebuilt
/// with the clock stopped, so only the steps it completes are timed.
fn churn<A: Subject>(
    arena: &mut A,
    table: &mut Vec<(usize, usize)>,
    trace: &Trace,
    step: &mut usize,
    iters: u64,
) -> Duration {
    let mut excluded = Duration::ZERO;
    let start = Instant::now();
    for _ in 0..iters {
        let (slot, size) = trace.churn[*step];
        *step = (*step + 1) % trace.churn.len();
        prefetch(&table[trace.churn[*step].0]);
        let (base, old) = table[slot];
        arena.free(base, old);
        match arena.alloc(size) {
            Some(base) => table[slot] = (black_box(base), size),
            None => {
                let pause = Instant::now();
                *arena = A::new(trace);
                *table = prepare(arena, trace);
                excluded += pause.elapsed();
            }
        }
    }
    start.elapsed() - excluded
}

fn leak<T: Clone>(value: T, len: usize) -> &'static mut [T] {
    Box::leak(vec![value; len].into_boxed_slice())
}

/// Ours: instant fit, tags and hash buckets from leaked vectors (a kernel would hand over
/// pages), growing the hash table whenever it asks.
struct Ours(kalloc_vmem::Arena<'static>);

impl Ours {
    fn with_qcache_max(trace: &Trace, qcache_max: usize) -> Ours {
        let mut arena = kalloc_vmem::Arena::new("bench", QUANTUM)
            .unwrap()
            .with_qcache_max(qcache_max)
            .unwrap();
        let tags = leak(MaybeUninit::<Tag>::uninit(), 3 * trace.fill.len() + 1024);
        arena.add_tag_memory(tags).unwrap();
        arena.add(trace.span).unwrap();
        Ours(arena)
    }
}

impl Subject for Ours {
    fn new(trace: &Trace) -> Ours {
        Ours::with_qcache_max(trace, 0)
    }
    fn alloc(&mut self, size: usize) -> Option<usize> {
        let base = self
            .0
            .alloc(size, Policy::InstantFit)
            .expect("kalloc-vmem ran out");
        if let Some(buckets) = self.0.wants_hash_memory() {
            let table = leak(MaybeUninit::<Bucket>::uninit(), buckets);
            self.0.add_hash_memory(table).unwrap();
        }
        Some(base)
    }
    fn free(&mut self, base: usize, size: usize) {
        self.0.free(base, size).unwrap();
    }
}

/// Ours with quantum caches for every size up to 8 quanta.
struct Cached(Ours);

impl Subject for Cached {
    fn new(trace: &Trace) -> Cached {
        Cached(Ours::with_qcache_max(trace, 8 * QUANTUM))
    }
    fn alloc(&mut self, size: usize) -> Option<usize> {
        self.0.alloc(size)
    }
    fn free(&mut self, base: usize, size: usize) {
        self.0.free(base, size);
    }
}

/// The `vmem` crate, instant fit (the adapter the scaling benchmark uses too).
impl Subject for VmemCrate {
    fn new(trace: &Trace) -> VmemCrate {
        VmemCrate::over(trace.span, trace.fill.len())
    }
    fn alloc(&mut self, size: usize) -> Option<usize> {
        Arena::alloc(self, size)
    }
    fn free(&mut self, base: usize, size: usize) {
        Arena::free(self, base, size);
    }
}

/// Benchmarks arena `A` churning `trace`, filled once (outside the measurement, and only
/// when the benchmark is selected).
fn bench<A: Subject>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    trace: &Trace,
    live: usize,
) {
    let mut state = None;
    group.bench_function(BenchmarkId::new(name, live), |b| {
        let (arena, table, step) = state.get_or_insert_with(|| {
            let mut arena = A::new(trace);
            let table = prepare(&mut arena, trace);
            (arena, table, 0)
        });
        b.iter_custom(|iters| churn(arena, table, trace, step, iters));
    });
}

/// One group: every arena churns the same trace at each live count.
fn group(c: &mut Criterion, name: &str, lives: &[usize], max_quanta: usize, qcache: bool) {
    let mut group = c.benchmark_group(name);
    for &live in lives {
        let trace = Trace::new(0x7e3d ^ live as u64, live, max_quanta);
        bench::<Ours>(&mut group, "kalloc-vmem", &trace, live);
        if qcache {
            bench::<Cached>(&mut group, "kalloc-vmem-qcache", &trace, live);
        }
        // The `vmem` crate needs minutes to set up 256 thousand live segments (and to rebuild
        // when it fragments); a quick run leaves that point to the full run, and the
        // scaling benchmark shows its curve up to 16 thousand.
        if !(kalloc_benches::quick() && live > QUICK_PEER_MAX) {
            bench::<VmemCrate>(&mut group, "vmem", &trace, live);
        }
    }
    group.finish();
}

/// 1–64 quanta at 1 thousand and 256 thousand live segments.
fn vmem_churn(c: &mut Criterion) {
    group(c, "vmem_churn", &[1_000, 256 * 1_024], 64, false);
}

/// 1–8 quanta at 1 thousand live: the quantum caches' sizes, cached and not.
fn vmem_qcache(c: &mut Criterion) {
    group(c, "vmem_qcache", &[1_000], 8, true);
}

criterion_group!(benches, vmem_churn, vmem_qcache);
criterion_main!(benches);
