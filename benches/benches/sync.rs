//! kalloc-sync: what the lock costs, and how the locked TLSF heap holds up with two threads
//! against talc's `TalcLock` with the same spin lock.
//!
//! * `sync single-thread`: one thread replays an alloc/free/realloc trace on the bare TLSF
//!   heap (through `ByteHeap`, no lock), then through `GlobalAlloc` on `Locked<Tlsf>` with
//!   spin's lock (the default) and with `BackoffLock`. The gap is the wrapper's overhead:
//!   a lock round-trip and the counters.
//! * `sync two-threads`: two threads each replay their own trace at the same time through
//!   one shared `GlobalAlloc`: `Locked<Tlsf>` (spin lock, then `BackoffLock`) against
//!   `TalcLock<SpinMutex<()>>` (and, to separate lock from heap, talc with `BackoffLock`).
//!   One iteration is both traces, start to finish; the threads are spawned before the
//!   clock starts and released together, so each sample measures the two contending.
//!
//! Traces come from `kalloc_benches::trace::churn` (sizes 8 B to 4 KiB, log-uniform;
//! alignments mostly 8, up to 64; 10% reallocs), generated once per seed and replayed
//! identically by every allocator: a `Rotation` of distinct traces, one per iteration in
//! turn, so the branch predictor cannot learn the sequence (see `Rotation`). Every trace
//! frees everything, so each allocator is built once and replays trace after trace.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kalloc_benches::trace::{Mix, Op, Rotation};
use kalloc_core::ByteHeap;
use kalloc_sync::{BackoffLock, DefaultRawLock, Locked};
use kalloc_tlsf::Tlsf;
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::Barrier;
use std::time::{Duration, Instant};
use talc::TalcLock;
use talc::source::Manual;

/// Live allocations each trace keeps.
const LIVE: usize = 1_000;
/// Churn steps after the fill.
const STEPS: usize = 10_000;
/// Bytes of memory each allocator manages (far above the traces' peak).
const MEMORY: usize = 16 << 20;

const MIX: Mix = Mix {
    min_size: 8,
    max_size: 4096,
    max_align: 64,
    realloc_percent: 10,
};

/// Slot table of a replay: what each trace slot holds.
struct Table(Vec<Option<(NonNull<u8>, Layout)>>);

// SAFETY: a table's pointers are only used by the one thread replaying with it, and the
// blocks they point to belong to that replay.
unsafe impl Send for Table {}

impl Table {
    fn new() -> Table {
        Table(vec![None; LIVE])
    }
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("trace layouts are valid")
}

/// Replays `ops` through `GlobalAlloc`; returns the number of refused requests.
fn replay_global<A: GlobalAlloc>(heap: &A, ops: &[Op], table: &mut Table) -> usize {
    let mut refused = 0;
    for op in ops {
        match *op {
            Op::Alloc { slot, size, align } => {
                let layout = layout(size, align);
                // SAFETY: trace sizes are not zero.
                match NonNull::new(unsafe { heap.alloc(layout) }) {
                    Some(ptr) => table.0[slot] = Some((ptr, layout)),
                    None => refused += 1,
                }
            }
            Op::Free { slot } => {
                if let Some((ptr, layout)) = table.0[slot].take() {
                    // SAFETY: allocated by `heap` for `layout`, freed once.
                    unsafe { heap.dealloc(ptr.as_ptr(), layout) };
                }
            }
            Op::Realloc { slot, size } => {
                if let Some((ptr, old)) = table.0[slot] {
                    // SAFETY: allocated by `heap` for `old`; `size` is not zero.
                    match NonNull::new(unsafe { heap.realloc(ptr.as_ptr(), old, size) }) {
                        Some(moved) => table.0[slot] = Some((moved, layout(size, old.align()))),
                        None => refused += 1,
                    }
                }
            }
        }
    }
    refused
}

/// Replays `ops` on a bare heap through `ByteHeap`; returns the number of refused requests.
fn replay_bare<H: ByteHeap>(heap: &mut H, ops: &[Op], table: &mut Table) -> usize {
    let mut refused = 0;
    for op in ops {
        match *op {
            Op::Alloc { slot, size, align } => {
                let layout = layout(size, align);
                match heap.allocate(layout) {
                    Ok(ptr) => table.0[slot] = Some((ptr, layout)),
                    Err(_) => refused += 1,
                }
            }
            Op::Free { slot } => {
                if let Some((ptr, layout)) = table.0[slot].take() {
                    // SAFETY: allocated by `heap` for `layout`, freed once.
                    let _ = unsafe { heap.deallocate(ptr, layout) };
                }
            }
            Op::Realloc { slot, size } => {
                if let Some((ptr, old)) = table.0[slot] {
                    let new = layout(size, old.align());
                    // SAFETY: allocated by `heap` for `old`.
                    let moved = unsafe {
                        if size >= old.size() {
                            heap.grow(ptr, old, new)
                        } else {
                            heap.shrink(ptr, old, new)
                        }
                    };
                    match moved {
                        Ok(moved) => table.0[slot] = Some((moved, new)),
                        Err(_) => refused += 1,
                    }
                }
            }
        }
    }
    refused
}

/// A TLSF heap over `memory`.
fn tlsf(memory: &mut [u8]) -> Tlsf<'_> {
    let mut heap = Tlsf::new();
    heap.add_pool_slice(memory).expect("the pool fits");
    heap
}

/// talc behind its own lock (`R`: spin's, or kalloc-sync's `BackoffLock`), over `memory`.
fn talc<R: talc::lock_api::RawMutex>(memory: &mut [u8]) -> TalcLock<R, Manual> {
    let heap = TalcLock::new(Manual);
    // SAFETY: `memory` is borrowed for as long as the benchmark uses the heap (the caller
    // keeps it alive and untouched until the heap is dropped).
    unsafe { heap.lock().claim(memory.as_mut_ptr(), memory.len()) }.expect("talc claims");
    heap
}

/// Replays every trace of `rotation` once on `heap` through `replay`, checking that none
/// is refused (the benchmark then measures successes only).
fn replays_cleanly(rotation: &Rotation, mut replay: impl FnMut(&[Op]) -> usize) {
    for ops in rotation.traces() {
        assert_eq!(replay(ops), 0, "a request was refused");
    }
}

fn single_thread(c: &mut Criterion) {
    let mut rotation = Rotation::churn(0x5_1ac, LIVE, STEPS, MIX);
    let mut table = Table::new();
    let mut memory = vec![0u8; MEMORY];
    let mut group = c.benchmark_group("sync single-thread");
    group.throughput(Throughput::Elements(rotation.mean_len() as u64));
    group.warm_up_time(Duration::from_secs(1));
    let case = format!("{}k live", LIVE / 1000);

    {
        let mut heap = tlsf(&mut memory);
        replays_cleanly(&rotation, |ops| replay_bare(&mut heap, ops, &mut table));
        group.bench_function(BenchmarkId::new("kalloc-tlsf bare", &case), |b| {
            b.iter(|| black_box(replay_bare(&mut heap, rotation.next_trace(), &mut table)));
        });
    }
    {
        let heap: Locked<Tlsf<'_>> = Locked::new(tlsf(&mut memory));
        replays_cleanly(&rotation, |ops| replay_global(&heap, ops, &mut table));
        group.bench_function(BenchmarkId::new("kalloc-sync spin", &case), |b| {
            b.iter(|| black_box(replay_global(&heap, rotation.next_trace(), &mut table)));
        });
    }
    {
        let heap: Locked<Tlsf<'_>, BackoffLock> = Locked::new(tlsf(&mut memory));
        replays_cleanly(&rotation, |ops| replay_global(&heap, ops, &mut table));
        group.bench_function(BenchmarkId::new("kalloc-sync backoff", &case), |b| {
            b.iter(|| black_box(replay_global(&heap, rotation.next_trace(), &mut table)));
        });
    }
    {
        let heap = talc::<DefaultRawLock>(&mut memory);
        replays_cleanly(&rotation, |ops| replay_global(&heap, ops, &mut table));
        group.bench_function(BenchmarkId::new("talc TalcLock spin", &case), |b| {
            b.iter(|| black_box(replay_global(&heap, rotation.next_trace(), &mut table)));
        });
    }
    {
        let heap = talc::<BackoffLock>(&mut memory);
        replays_cleanly(&rotation, |ops| replay_global(&heap, ops, &mut table));
        group.bench_function(BenchmarkId::new("talc TalcLock backoff", &case), |b| {
            b.iter(|| black_box(replay_global(&heap, rotation.next_trace(), &mut table)));
        });
    }
    group.finish();
}

/// Times two threads that each replay `iters` traces of their own rotation on `heap`, started
/// together at a barrier: from the earlier start to the later finish. Spawning the helper
/// thread happens before the clock starts, and neither thread gets a head start while the
/// other is still being created, so the two really do contend for the lock.
fn two_threads<A: GlobalAlloc + Sync>(
    heap: &A,
    rotations: &mut [Rotation; 2],
    tables: &mut [Table; 2],
    iters: u64,
) -> Duration {
    let [left, right] = tables;
    let [first, second] = rotations;
    let start_line = Barrier::new(2);
    let replay = |rotation: &mut Rotation, table: &mut Table| {
        start_line.wait();
        let start = Instant::now();
        for _ in 0..iters {
            assert_eq!(replay_global(heap, rotation.next_trace(), table), 0);
        }
        (start, Instant::now())
    };
    let ((other_start, other_end), (my_start, my_end)) = std::thread::scope(|scope| {
        let other = scope.spawn(|| replay(first, left));
        let mine = replay(second, right);
        (other.join().expect("replay thread"), mine)
    });
    other_end.max(my_end) - other_start.min(my_start)
}

fn contended(c: &mut Criterion) {
    // Seeds far apart: the two threads' rotations share no trace.
    let mut rotations = [
        Rotation::churn(0x5_1ac, LIVE, STEPS, MIX),
        Rotation::churn(0x6_1ac, LIVE, STEPS, MIX),
    ];
    let mut tables = [Table::new(), Table::new()];
    let mut memory = vec![0u8; MEMORY];
    let mut group = c.benchmark_group("sync two-threads");
    group.throughput(Throughput::Elements(
        (rotations[0].mean_len() + rotations[1].mean_len()) as u64,
    ));
    group.warm_up_time(Duration::from_secs(1));
    let case = format!("2x{}k live", LIVE / 1000);

    {
        let heap: Locked<Tlsf<'_>> = Locked::new(tlsf(&mut memory));
        group.bench_function(BenchmarkId::new("kalloc-sync spin", &case), |b| {
            b.iter_custom(|iters| two_threads(&heap, &mut rotations, &mut tables, iters));
        });
        assert_eq!(heap.counters().failures, 0);
    }
    {
        let heap: Locked<Tlsf<'_>, BackoffLock> = Locked::new(tlsf(&mut memory));
        group.bench_function(BenchmarkId::new("kalloc-sync backoff", &case), |b| {
            b.iter_custom(|iters| two_threads(&heap, &mut rotations, &mut tables, iters));
        });
        assert_eq!(heap.counters().failures, 0);
    }
    {
        let heap = talc::<DefaultRawLock>(&mut memory);
        group.bench_function(BenchmarkId::new("talc TalcLock spin", &case), |b| {
            b.iter_custom(|iters| two_threads(&heap, &mut rotations, &mut tables, iters));
        });
    }
    {
        let heap = talc::<BackoffLock>(&mut memory);
        group.bench_function(BenchmarkId::new("talc TalcLock backoff", &case), |b| {
            b.iter_custom(|iters| two_threads(&heap, &mut rotations, &mut tables, iters));
        });
    }
    group.finish();
}

criterion_group!(benches, single_thread, contended);
criterion_main!(benches);
