//! Heap efficiency report: how full each heap gets before it first refuses a request.
//!
//! Every heap gets the same 16 MiB and the same endless request stream (sizes 8 B to
//! 256 KiB, log-uniform; 90% of alignments 8, the rest 16 to 4096). A round allocates from
//! the stream until the first refusal and records live bytes / heap size at that moment;
//! then it frees half of the live allocations (chosen by a per-request coin, so the same
//! requests go for every heap) and the next round retries the refused request. Rounds after
//! the first measure the fragmented steady state; the report gives their mean, median and
//! worst value over all seeds.
//!
//! `--quick`: fewer seeds and rounds. Prints a markdown table.

use kalloc_benches::heaps::{Buddy, Heap, KallocTlsf, LinkedList, Memory, Rlsf, Talc};
use kalloc_benches::trace::log_uniform;
use kalloc_fuzz::rng::Rng;
use std::alloc::Layout;
use std::fmt::Write;
use std::ptr::NonNull;

/// Heap size every allocator gets.
const HEAP: usize = 16 << 20;

/// One request of the stream.
#[derive(Clone, Copy)]
struct Request {
    layout: Layout,
    /// Whether the free-half step of `round` frees it: a per-request coin per round.
    coin: u64,
}

/// The `n`-th request of the stream of `seed` (the stream is generated lazily and shared).
fn stream(seed: u64, len: usize) -> Vec<Request> {
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|_| {
            let size = log_uniform(&mut rng, 8, 256 * 1024);
            let align = if rng.chance(90) {
                8
            } else {
                1 << rng.between(4, 12)
            };
            Request {
                layout: Layout::from_size_align(size, align).expect("layout"),
                coin: rng.next_u64(),
            }
        })
        .collect()
}

/// Efficiency of each round for heap `H`: live bytes / heap size at the first refusal.
fn rounds<H: Heap>(memory: &mut Memory, requests: &[Request], count: usize) -> Vec<f64> {
    let mut heap: H = memory.heap();
    let mut live: Vec<(NonNull<u8>, usize)> = Vec::new();
    let mut live_bytes = 0usize;
    let mut next = 0usize;
    let mut result = Vec::with_capacity(count);
    for round in 0..count {
        loop {
            let request = requests[next];
            match heap.alloc(request.layout) {
                Some(ptr) => {
                    live.push((ptr, next));
                    live_bytes += request.layout.size();
                    next += 1;
                }
                None => break,
            }
        }
        result.push(live_bytes as f64 / HEAP as f64);
        live.retain(|&(ptr, index)| {
            let request = requests[index];
            if (request.coin >> (round % 64)) & 1 == 1 {
                // SAFETY: a live allocation of this heap with its layout, freed once.
                unsafe { heap.free(ptr, request.layout) };
                live_bytes -= request.layout.size();
                false
            } else {
                true
            }
        });
    }
    for (ptr, index) in live {
        // SAFETY: the remaining live allocations, freed once.
        unsafe { heap.free(ptr, requests[index].layout) };
    }
    result
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Efficiency samples of every round after the first (the first fills an empty heap), over
/// all seeds: their mean, median and minimum.
fn measure<H: Heap>(memory: &mut Memory, streams: &[Vec<Request>], count: usize) -> [f64; 3] {
    let samples: Vec<f64> = streams
        .iter()
        .flat_map(|requests| rounds::<H>(memory, requests, count).split_off(1))
        .collect();
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let worst = samples.iter().copied().fold(f64::INFINITY, f64::min);
    [mean, median(samples), worst]
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (seeds, count) = if quick { (5, 8) } else { (31, 24) };
    // Each round allocates at most what fits, and frees half: a stream this long never
    // runs out (a request is at least 8 bytes, so HEAP / 8 per round is a hard bound).
    let streams: Vec<Vec<Request>> = (0..seeds)
        .map(|seed| stream(0xEFF1_C1E5 + seed, count * (HEAP / 1024).max(4096)))
        .collect();
    let mut memory = Memory::new(HEAP);
    let rows = [
        (
            KallocTlsf::NAME,
            measure::<KallocTlsf>(&mut memory, &streams, count),
        ),
        (Rlsf::NAME, measure::<Rlsf>(&mut memory, &streams, count)),
        (Talc::NAME, measure::<Talc>(&mut memory, &streams, count)),
        (
            LinkedList::NAME,
            measure::<LinkedList>(&mut memory, &streams, count),
        ),
        (Buddy::NAME, measure::<Buddy>(&mut memory, &streams, count)),
    ];
    let mut table = String::new();
    let _ = writeln!(
        table,
        "Live bytes / heap size at the first refused request; 16 MiB heap, sizes 8 B–256 KiB \
         (log-uniform), 10% of requests aligned 16–4096; rounds 2–{count} of fill / free-half \
         over {seeds} seeds (higher is better).\n"
    );
    let _ = writeln!(
        table,
        "| allocator | mean | median | worst |\n|---|---:|---:|---:|"
    );
    for (name, [mean, middle, worst]) in rows {
        let _ = writeln!(
            table,
            "| {name} | {:.1}% | {:.1}% | {:.1}% |",
            mean * 100.0,
            middle * 100.0,
            worst * 100.0
        );
    }
    print!("{table}");
}
