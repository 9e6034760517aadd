//! kalloc-block against buddy_system_allocator's `FrameAllocator` and a plain `Vec` free
//! stack: random single-block alloc/free with up to 255 live blocks.
//!
//! Sixteen traces (a `Rotation`), generated once from fixed seeds and replayed identically
//! by every subject: 255 slots, each step picks a random slot and frees its block if it
//! holds one, or allocates one into it if not (so the live count wanders around half, up to
//! 255); a trace ends by freeing what is left. One measured iteration replays the next
//! trace in turn.
//!
//! The traces are long (65 536 random steps each, a million in the rotation) because the
//! branch predictor learns shorter ones: with 4 096-step traces (67 thousand steps in the
//! rotation) the `Vec` stack's one unpredictable branch, alloc or free, was partly
//! memorised over criterion's seconds of replays, and its time per step fell by a third,
//! kalloc-block's by a fifth. A step is two bytes, so the rotation (2 MiB) streams from
//! cache without costing the subjects much.
//!
//! Every subject runs the same `replay` loop with the same `black_box` use; kalloc-block
//! and the `Vec` stack both hand out block pointers (`FrameAllocator` hands out frame
//! numbers, its own API), so their slot tables are identical. A second baseline, the same
//! stack of block indexes, shows how much the handle type alone moves the baseline.
//!
//! The `Vec` stacks validate nothing: no range or alignment check of a freed pointer, no
//! double-free or ownership check, no per-owner count. They are the bare cost of a free
//! stack (push and pop, with `Vec`'s own capacity and emptiness tests), the floor that
//! kalloc-block's checked, owner-linked alloc and free are compared against.

use buddy_system_allocator::FrameAllocator;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kalloc_benches::trace::Rotation;
use kalloc_block::{BLOCK_SIZE, BlockAllocator, Owner};
use kalloc_fuzz::memory::AlignedMemory;
use kalloc_fuzz::rng::Rng;
use std::hint::black_box;
use std::ptr::NonNull;

/// Blocks managed: the most an 8-bit index names.
const BLOCKS: usize = 255;
/// Random steps per trace (before the final frees): long enough that the rotation is not
/// memorised (see the module comment).
const STEPS: usize = 1 << 16;

/// One step: allocate into an empty slot, or free a full one. Slots are below
/// `BLOCKS <= 256`, so a step is two bytes.
#[derive(Clone, Copy)]
enum Step {
    Alloc(u8),
    Free(u8),
}

/// The step's slot as a `u8` (slots are below `BLOCKS`, which fits).
fn slot_byte(slot: usize) -> u8 {
    u8::try_from(slot).expect("slots fit a byte")
}

fn trace(seed: u64) -> Vec<Step> {
    let mut rng = Rng::new(seed);
    let mut full = [false; BLOCKS];
    let mut steps = Vec::with_capacity(STEPS + BLOCKS);
    for _ in 0..STEPS {
        let slot = rng.below(BLOCKS);
        steps.push(if full[slot] {
            Step::Free(slot_byte(slot))
        } else {
            Step::Alloc(slot_byte(slot))
        });
        full[slot] = !full[slot];
    }
    steps.extend(
        (0..BLOCKS)
            .filter(|&slot| full[slot])
            .map(|slot| Step::Free(slot_byte(slot))),
    );
    steps
}

/// What a benchmark needs from a block allocator; `Handle` is what it hands out.
trait Subject {
    type Handle: Copy;
    fn alloc(&mut self) -> Self::Handle;
    fn free(&mut self, handle: Self::Handle);
}

/// Replays `steps` once, with `table` as the slot table.
#[inline(always)]
fn replay<S: Subject>(subject: &mut S, steps: &[Step], table: &mut [Option<S::Handle>]) {
    for &step in steps {
        match step {
            Step::Alloc(slot) => table[usize::from(slot)] = Some(subject.alloc()),
            Step::Free(slot) => {
                subject.free(table[usize::from(slot)].take().expect("a full slot"));
            }
        }
    }
}

struct KallocBlock<'mem> {
    allocator: BlockAllocator<'mem>,
    owner: Owner,
}

impl Subject for KallocBlock<'_> {
    type Handle = NonNull<u8>;
    #[inline]
    fn alloc(&mut self) -> NonNull<u8> {
        self.allocator.alloc(&mut self.owner).expect("a free block")
    }
    #[inline]
    fn free(&mut self, block: NonNull<u8>) {
        self.allocator
            .free(&mut self.owner, block)
            .expect("a block of this owner");
    }
}

struct Frames(FrameAllocator);

impl Subject for Frames {
    type Handle = usize;
    #[inline]
    fn alloc(&mut self) -> usize {
        self.0.alloc(1).expect("a free frame")
    }
    #[inline]
    fn free(&mut self, frame: usize) {
        self.0.dealloc(frame, 1);
    }
}

/// The baseline: a stack of free block pointers, no checks, no ownership. It hands out
/// the same handle as kalloc-block (a block pointer), so both fill the same slot table.
struct FreeStack(Vec<NonNull<u8>>);

impl FreeStack {
    /// Every block of `memory` free, the lowest address on top (as kalloc-block starts).
    fn new(memory: &mut AlignedMemory) -> FreeStack {
        let base = memory.bytes().as_mut_ptr();
        let blocks = (0..BLOCKS)
            .rev()
            .map(|block| NonNull::new(base.wrapping_add(block * BLOCK_SIZE)).expect("in memory"))
            .collect();
        FreeStack(blocks)
    }
}

impl Subject for FreeStack {
    type Handle = NonNull<u8>;
    #[inline]
    fn alloc(&mut self) -> NonNull<u8> {
        self.0.pop().expect("a free block")
    }
    #[inline]
    fn free(&mut self, block: NonNull<u8>) {
        self.0.push(block);
    }
}

/// The same baseline handing out block indexes instead of pointers (16-byte slot entries
/// rather than 8): kept beside [`FreeStack`] because the two measure differently on some
/// machines, so the README can quote both.
struct IndexStack(Vec<usize>);

impl Subject for IndexStack {
    type Handle = usize;
    #[inline]
    fn alloc(&mut self) -> usize {
        self.0.pop().expect("a free block")
    }
    #[inline]
    fn free(&mut self, block: usize) {
        self.0.push(block);
    }
}

fn bench<S: Subject>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut subject: S,
    rotation: &mut Rotation<Step>,
) {
    let mut table = vec![None; BLOCKS];
    c.bench_function(name, |b| {
        b.iter(|| {
            replay(&mut subject, black_box(rotation.next_trace()), &mut table);
            black_box(&table);
        });
    });
}

fn block_churn(c: &mut Criterion) {
    // Distinct traces in turn, so the branch predictor cannot learn the sequence of
    // allocations and frees (see `kalloc_benches::trace::Rotation`).
    let mut rotation = Rotation::generate(0xB10C, trace);
    let mut group = c.benchmark_group("block/churn-255");
    group.throughput(Throughput::Elements(rotation.mean_len() as u64));

    let mut memory = AlignedMemory::new(BLOCKS * BLOCK_SIZE, BLOCK_SIZE);
    let allocator = BlockAllocator::new(memory.bytes()).expect("255 blocks");
    let kalloc = KallocBlock {
        allocator,
        owner: Owner::new(),
    };
    bench(&mut group, "kalloc-block", kalloc, &mut rotation);

    let mut frames = FrameAllocator::new();
    frames.add_frame(0, BLOCKS);
    bench(
        &mut group,
        "buddy_system_allocator::FrameAllocator",
        Frames(frames),
        &mut rotation,
    );

    let mut stack_memory = AlignedMemory::new(BLOCKS * BLOCK_SIZE, BLOCK_SIZE);
    bench(
        &mut group,
        "Vec free stack",
        FreeStack::new(&mut stack_memory),
        &mut rotation,
    );
    let indexes = IndexStack((0..BLOCKS).rev().collect());
    bench(&mut group, "Vec index stack", indexes, &mut rotation);
    group.finish();
}

criterion_group!(benches, block_churn);
criterion_main!(benches);
