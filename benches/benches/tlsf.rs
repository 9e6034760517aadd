//! kalloc-tlsf against rlsf, talc, linked_list_allocator and buddy_system_allocator on
//! random alloc/free traces, with and without realloc, at 4 and 32 thousand live
//! allocations.
//!
//! Traces come from `kalloc_benches::trace::churn` (sizes 8 B to 256 KiB, log-uniform so
//! small requests dominate; 90% of alignments 8, the rest 16 to 4096): fill the live
//! slots, churn twice as many steps, free everything. One iteration replays a whole trace
//! on a fresh heap over the same memory (twice the largest peak of live bytes, rounded up
//! to a power of two), the next trace of a `Rotation` each time so the branch predictor
//! cannot learn the sequence (see `Rotation`); every heap replays the identical traces.
//! buddy_system_allocator and linked_list_allocator run the 4 thousand case only: at 32
//! thousand a single replay takes them over 10 seconds.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kalloc_benches::heaps::{
    Buddy, Heap, KallocTlsf, LinkedList, Memory, Replay, Rlsf, Talc, replay,
};
use kalloc_benches::trace::{Mix, Op, Rotation};
use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Duration;

/// The peak of live bytes over a trace.
fn peak_bytes(ops: &[Op], slots: usize) -> usize {
    let mut sizes = vec![0usize; slots];
    let (mut live, mut peak) = (0usize, 0usize);
    for op in ops {
        match *op {
            Op::Alloc { slot, size, .. } => {
                sizes[slot] = size;
                live += size;
            }
            Op::Free { slot } => live -= std::mem::take(&mut sizes[slot]),
            Op::Realloc { slot, size } => {
                live = live - sizes[slot] + size;
                sizes[slot] = size;
            }
        }
        peak = peak.max(live);
    }
    peak
}

/// Benchmarks heap `H` on the traces of `rotation`, after noting any it refuses.
fn bench_heap<H: Heap>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    case: &str,
    rotation: &mut Rotation,
    slots: usize,
    memory: &mut Memory,
) {
    let mut table: Vec<Option<(NonNull<u8>, Layout)>> = vec![None; slots];
    for ops in rotation.traces() {
        let mut heap: H = memory.heap();
        let outcome = replay(&mut heap, ops, &mut table);
        if outcome != Replay::default() {
            eprintln!(
                "note: {} refused {} requests on {case}",
                H::NAME,
                outcome.failures
            );
        }
    }
    group.bench_function(BenchmarkId::new(H::NAME, case), |b| {
        b.iter_batched_ref(
            // Every trace frees everything, so the table is empty again after each replay.
            || memory.heap::<H>(),
            |heap| black_box(replay(heap, rotation.next_trace(), &mut table)),
            BatchSize::PerIteration,
        );
    });
}

fn traces(c: &mut Criterion) {
    for realloc_percent in [0, 20] {
        let job = if realloc_percent == 0 {
            "tlsf alloc-free"
        } else {
            "tlsf alloc-free-realloc"
        };
        let mut group = c.benchmark_group(job);
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        for live in [4_000, 32_000] {
            let mix = Mix {
                min_size: 8,
                max_size: 256 * 1024,
                max_align: 4096,
                realloc_percent,
            };
            let mut rotation = Rotation::churn(0x71_5f, live, 2 * live, mix);
            let peak = rotation
                .traces()
                .iter()
                .map(|ops| peak_bytes(ops, live))
                .max()
                .unwrap_or(0);
            let mut memory = Memory::new((2 * peak).next_power_of_two());
            let case = format!("{}k live", live / 1000);
            group.throughput(Throughput::Elements(rotation.mean_len() as u64));
            let rotation = &mut rotation;
            bench_heap::<KallocTlsf>(&mut group, &case, rotation, live, &mut memory);
            bench_heap::<Rlsf>(&mut group, &case, rotation, live, &mut memory);
            bench_heap::<Talc>(&mut group, &case, rotation, live, &mut memory);
            if live <= 4_000 {
                // At 32 thousand live allocations one replay takes these two 10 s and more
                // (they are not O(1)); they are measured at 4 thousand only.
                bench_heap::<Buddy>(&mut group, &case, rotation, live, &mut memory);
                bench_heap::<LinkedList>(&mut group, &case, rotation, live, &mut memory);
            }
        }
        group.finish();
    }
}

criterion_group!(benches, traces);
criterion_main!(benches);
