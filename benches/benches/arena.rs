//! kalloc-arena against bumpalo: bump allocations of 8-128 bytes with alignment 1 or 8
//! (mixed at random), and a reset every 500 allocations.
//!
//! One trace, generated once from a fixed seed and replayed identically by every subject:
//! 5000 requests in 10 rounds of 500; after each round the arena is reset. One measured
//! iteration replays the whole trace, writing one byte into each allocation so that no
//! subject can skip handing out real memory.
//!
//! kalloc-arena runs twice: over a `FixedRegion` (the cheapest block source) and over a
//! kalloc-block `BlockAllocator` shared through a `SourceCell` (the intended kernel setup,
//! where every new block costs an O(1) import and every reset gives blocks back).

use bumpalo::Bump;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use kalloc_arena::BlockBumpArena;
use kalloc_block::{BLOCK_SIZE, BlockAllocator};
use kalloc_core::{FixedRegion, MemorySource, SourceCell};
use kalloc_fuzz::memory::AlignedMemory;
use kalloc_fuzz::rng::Rng;
use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;

/// Requests between resets.
const ROUND: usize = 500;
/// Rounds per trace.
const ROUNDS: usize = 10;
/// Blocks of memory behind the kalloc subjects: far more than one round needs.
const BLOCKS: usize = 64;

fn trace(seed: u64) -> Vec<Layout> {
    let mut rng = Rng::new(seed);
    (0..ROUND * ROUNDS)
        .map(|_| {
            let size = rng.between(8, 128);
            let align = if rng.chance(50) { 1 } else { 8 };
            Layout::from_size_align(size, align).expect("layout")
        })
        .collect()
}

/// What the benchmark needs from an arena.
trait Subject {
    fn alloc(&mut self, layout: Layout) -> NonNull<u8>;
    fn reset(&mut self);
}

impl<S: MemorySource> Subject for BlockBumpArena<S> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        BlockBumpArena::alloc(self, layout).expect("arena memory")
    }
    #[inline]
    fn reset(&mut self) {
        BlockBumpArena::reset(self);
    }
}

impl Subject for Bump {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        self.alloc_layout(layout)
    }
    #[inline]
    fn reset(&mut self) {
        Bump::reset(self);
    }
}

#[inline(always)]
fn replay<S: Subject>(subject: &mut S, trace: &[Layout]) {
    for round in trace.chunks(ROUND) {
        for &layout in round {
            let ptr = subject.alloc(layout);
            // SAFETY: every subject hands out at least 8 writable bytes here.
            unsafe { ptr.as_ptr().write(layout.size() as u8) };
            black_box(ptr);
        }
        subject.reset();
    }
}

fn bench<S: Subject>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    subject: &mut S,
    trace: &[Layout],
) {
    group.bench_function(name, |b| b.iter(|| replay(subject, black_box(trace))));
}

fn bump_small_mixed(c: &mut Criterion) {
    let trace = trace(0xA4E7A);
    let mut group = c.benchmark_group("arena/bump-8-128-mixed-align-reset-500");
    group.throughput(Throughput::Elements(trace.len() as u64));

    let mut memory = AlignedMemory::new(BLOCKS * BLOCK_SIZE, BLOCK_SIZE);
    let region = FixedRegion::from_slice(memory.bytes());
    bench(
        &mut group,
        "kalloc-arena (FixedRegion)",
        &mut BlockBumpArena::new(&region),
        &trace,
    );

    let mut memory = AlignedMemory::new(BLOCKS * BLOCK_SIZE, BLOCK_SIZE);
    let blocks =
        SourceCell::new(BlockAllocator::<u8, 255>::new(memory.bytes()).expect("64 blocks"));
    bench(
        &mut group,
        "kalloc-arena (BlockAllocator)",
        &mut BlockBumpArena::new(&blocks),
        &trace,
    );

    bench(&mut group, "bumpalo", &mut Bump::new(), &trace);
    group.finish();
}

criterion_group!(benches, bump_small_mixed);
criterion_main!(benches);
