//! Cost per operation as the live count grows from 1 thousand to 1 million: the O(1)
//! claims of kalloc-tlsf and kalloc-vmem shown, not asserted.
//!
//! * `scaling heaps`: kalloc-tlsf, rlsf and talc (and, while they finish in reasonable
//!   time, buddy_system_allocator and linked_list_allocator) hold `live` allocations of
//!   16–256 bytes (log-uniform, alignment 8; about 100 MiB live at 1 million) in pre-faulted
//!   memory of twice the trace's peak, so no page fault is measured.
//! * `scaling vmem`: kalloc-vmem (instant fit, no quantum caches) against the `vmem` crate
//!   holding `live` segments of 1–64 quanta (log-uniform).
//!
//! Each point replays one trace, generated once from a fixed seed and identical for every
//! allocator ([`Steady`]): allocate `live` slots, then churn — free a random live slot and
//! allocate a new random size into it — so the live count never changes. The churn is
//! twice as long as the live count (at least 64k steps) and criterion cycles through it,
//! so the measured steps reach most live allocations, not a subset that stays cached.
//! Before the first measurement each allocator churns `live` steps unmeasured to reach its
//! steady state. One iteration is one churn step: a free and an allocation, counted as two
//! operations.
//!
//! Live counts: 1k, 4k, 16k, 64k, 256k and 1M; 1k, 16k and 1M when
//! [`kalloc_benches::quick`] says so (`cargo xtask bench --quick`). The peers whose cost
//! grows with the live count stop early, where one point would take minutes:
//! linked_list_allocator (a first-fit list) at 16k, buddy_system_allocator (its free
//! searches the order's free list for the buddy) at 64k, the `vmem` crate at 16k (the
//! `vmem_churn` group has it at 256k). The `vmem` crate also runs out of space now and
//! then although its span is twice the trace's peak; [`SteadyArena`] rebuilds it with the
//! clock stopped, and the benchmark prints how often.

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use kalloc_benches::arenas::{Arena, KallocVmem, SteadyArena, VmemCrate};
use kalloc_benches::heaps::{Buddy, Heap, KallocTlsf, LinkedList, Memory, Rlsf, SteadyHeap, Talc};
use kalloc_benches::trace::Steady;
use std::time::Instant;

/// Live counts measured.
const LIVE: &[usize] = &[1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000];
/// Live counts measured in quick mode: a subset, so quick and full pages compare.
const QUICK_LIVE: &[usize] = &[1_000, 16_000, 1_000_000];
/// Churn steps per trace (cycled while criterion measures): at least this many, and twice
/// the live count, so one pass frees most live allocations (all but e^-2 of them) rather
/// than cycling through a subset small enough to stay in the caches.
const CHURN: usize = 1 << 16;

/// The churn steps of a trace with `live` allocations.
fn churn_steps(live: usize) -> usize {
    CHURN.max(2 * live)
}
/// The largest live count linked_list_allocator runs.
const LINKED_LIST_MAX: usize = 16_000;
/// The largest live count buddy_system_allocator runs.
const BUDDY_MAX: usize = 64_000;
/// The largest live count the `vmem` crate runs.
const VMEM_CRATE_MAX: usize = 16_000;
/// Bytes of heap bookkeeping allowed per allocation when sizing the memory.
const OVERHEAD: usize = 32;

fn live_counts() -> &'static [usize] {
    if kalloc_benches::quick() {
        QUICK_LIVE
    } else {
        LIVE
    }
}

/// `1k live`, `1M live`: the case label (the report reads the number for the x-axis).
fn label(live: usize) -> String {
    if live >= 1_000_000 {
        format!("{}M live", live / 1_000_000)
    } else {
        format!("{}k live", live / 1_000)
    }
}

/// Measures heap `H` on `trace`, filled and settled once (only when the benchmark is
/// selected), over `memory`.
fn heap_point<H: Heap>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    trace: &Steady,
    memory: &mut Memory,
) {
    let mut state: Option<SteadyHeap<H>> = None;
    group.bench_function(BenchmarkId::new(H::NAME, label(trace.live())), |b| {
        let steady = state.get_or_insert_with(|| {
            let mut steady = SteadyHeap::new(memory.heap::<H>(), trace);
            steady.churn(trace, trace.live() as u64);
            steady
        });
        b.iter_custom(|iters| {
            let start = Instant::now();
            steady.churn(trace, iters);
            start.elapsed()
        });
    });
    // The heap borrows `memory`: it is gone before the next one is built over it.
    drop(state);
}

fn scaling_heaps(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling heaps");
    group.throughput(Throughput::Elements(2));
    for &live in live_counts() {
        let trace = Steady::new(0x5ca1e ^ live as u64, live, churn_steps(live), 16, 256);
        let mut memory = Memory::new((2 * (trace.peak() + OVERHEAD * live)).next_power_of_two());
        heap_point::<KallocTlsf>(&mut group, &trace, &mut memory);
        heap_point::<Rlsf>(&mut group, &trace, &mut memory);
        heap_point::<Talc>(&mut group, &trace, &mut memory);
        if live <= BUDDY_MAX {
            heap_point::<Buddy>(&mut group, &trace, &mut memory);
        }
        if live <= LINKED_LIST_MAX {
            heap_point::<LinkedList>(&mut group, &trace, &mut memory);
        }
    }
    group.finish();
}

/// Measures arena `A` on `trace`, filled and settled once (only when the benchmark is
/// selected).
fn arena_point<A: Arena>(group: &mut BenchmarkGroup<'_, WallTime>, trace: &Steady) {
    let mut state: Option<SteadyArena<A>> = None;
    group.bench_function(BenchmarkId::new(A::NAME, label(trace.live())), |b| {
        let steady = state.get_or_insert_with(|| {
            let mut steady = SteadyArena::new(trace);
            let _ = steady.churn(trace, trace.live() as u64);
            steady
        });
        b.iter_custom(|iters| steady.churn(trace, iters));
    });
    if let Some(steady) = state.filter(|steady| steady.rebuilds() > 0) {
        eprintln!(
            "note: {} ran out of space {} times at {} (rebuilt, not timed)",
            A::NAME,
            steady.rebuilds(),
            label(trace.live())
        );
    }
}

fn scaling_vmem(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaling vmem");
    group.throughput(Throughput::Elements(2));
    for &live in live_counts() {
        let trace = Steady::new(0x7e3d5 ^ live as u64, live, churn_steps(live), 1, 64);
        arena_point::<KallocVmem>(&mut group, &trace);
        if live <= VMEM_CRATE_MAX {
            arena_point::<VmemCrate>(&mut group, &trace);
        }
    }
    group.finish();
}

criterion_group!(benches, scaling_heaps, scaling_vmem);
criterion_main!(benches);
