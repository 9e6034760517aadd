//! Stage: the kernel heap. The demo's own `Vec`s, `String`s and maps live in a TLSF heap
//! behind kalloc-sync's lock (this program's `#[global_allocator]`), which grows from the
//! page-frame arena when it runs out and gives wholly free pools back.

use crate::HEAP;
use crate::machine::FRAMES;
use crate::report::{Outcome, heading, kib, show_stats};
use kalloc_core::Span;
use kalloc_tlsf::PoolKind;
use std::collections::BTreeMap;

/// Characters per pool in the fragmentation map.
const MAP_WIDTH: usize = 64;
/// Pools the map shows; the rest are counted.
const MAP_POOLS: usize = 8;

/// A picture of the heap, taken under the lock without allocating (the lock is the global
/// allocator's: allocating while holding it would deadlock).
struct HeapMap {
    pools: [(Span, PoolKind); MAP_POOLS],
    used: [[usize; MAP_WIDTH]; MAP_POOLS],
    shown: usize,
    total_pools: usize,
}

impl HeapMap {
    fn take() -> HeapMap {
        let mut map = HeapMap {
            pools: [(Span::empty(0), PoolKind::Added); MAP_POOLS],
            used: [[0; MAP_WIDTH]; MAP_POOLS],
            shown: 0,
            total_pools: 0,
        };
        let heap = HEAP.lock();
        for pool in heap.pools() {
            if map.shown < MAP_POOLS {
                map.pools[map.shown] = (pool.span, pool.kind);
                map.shown += 1;
            }
            map.total_pools += 1;
        }
        for block in heap.blocks().filter(|block| block.used) {
            let Some(index) = map.pools[..map.shown]
                .iter()
                .position(|(span, _)| span.contains(block.start))
            else {
                continue;
            };
            let span = map.pools[index].0;
            let cell = span.len().div_ceil(MAP_WIDTH);
            // Spread the block's bytes over the cells it covers.
            let (mut at, end) = (block.start, block.start + block.size);
            while at < end {
                let column = (at - span.base()) / cell;
                let cell_end = (span.base() + (column + 1) * cell).min(end);
                map.used[index][column.min(MAP_WIDTH - 1)] += cell_end - at;
                at = cell_end;
            }
        }
        map
    }

    fn print(&self, title: &str) {
        println!(
            "  {title}   (# used, + partly used, . free; one character = 1/{MAP_WIDTH} of a pool)"
        );
        for (index, (span, kind)) in self.pools[..self.shown].iter().enumerate() {
            let cell = span.len().div_ceil(MAP_WIDTH).max(1);
            let line: String = self.used[index]
                .iter()
                .map(|&used| match used * 4 / cell {
                    0 if used == 0 => '.',
                    0..=2 => '+',
                    _ => '#',
                })
                .collect();
            let kind = match kind {
                PoolKind::Added => "added",
                PoolKind::Borrowed => "borrowed",
                PoolKind::Imported => "imported",
            };
            println!("  |{line}| {:>9} {kind}", kib(span.len()));
        }
        if self.total_pools > self.shown {
            println!("  ... and {} more pools", self.total_pools - self.shown);
        }
    }
}

fn heap_stats(label: &str) {
    let stats = HEAP.lock().stats();
    show_stats(label, &stats);
}

fn frames_in_use() -> usize {
    FRAMES.lock().in_use_size()
}

pub(crate) fn run(objects: usize) -> Outcome {
    heading("6. The kernel heap: TLSF behind a lock, growing from page frames");
    println!("this program's #[global_allocator] is kalloc-sync's Locked<kalloc_tlsf::Tlsf>;");
    println!(
        "it started on a 128 KiB boot pool and imports 1 MiB of frames when a request cannot be met."
    );
    heap_stats("heap at this point");
    let frames_before = frames_in_use();

    // A process table and a page cache: real collections on the kalloc heap.
    let mut processes: BTreeMap<u32, String> = BTreeMap::new();
    let mut cache: Vec<Vec<u8>> = Vec::new();
    for i in 0..objects {
        processes.insert(
            i as u32,
            format!("process-{i:05} /sbin/daemon --instance {i}"),
        );
        cache.push(vec![(i % 251) as u8; 32 + (i * 37) % 512]);
    }
    println!(
        "\nbuilt a process table of {} entries and a cache of {} buffers",
        processes.len(),
        cache.len()
    );
    heap_stats("heap after the workload");
    println!(
        "  frames in use: {} -> {}",
        kib(frames_before),
        kib(frames_in_use())
    );

    // Two more CPUs join in.
    let workers: Vec<_> = (0..2)
        .map(|cpu| {
            std::thread::spawn(move || {
                let mut local: Vec<String> = (0..objects / 4)
                    .map(|i| format!("cpu{cpu}-task{i}"))
                    .collect();
                local.retain(|name| name.len() % 2 == 0);
                local.len()
            })
        })
        .collect();
    let kept: usize = workers
        .into_iter()
        .map(|w| w.join().expect("worker ran"))
        .sum();
    println!("two worker threads allocated and freed through the same lock ({kept} names kept)");

    HeapMap::take().print("heap map, full");
    // Free every other buffer: holes appear that TLSF coalesces with their neighbours.
    let mut index = 0;
    cache.retain(|_| {
        index += 1;
        index % 2 == 0
    });
    processes.retain(|pid, _| pid % 3 != 0);
    HeapMap::take().print("heap map, after freeing half the buffers and a third of the processes");
    heap_stats("heap");

    drop(cache);
    drop(processes);
    let released = HEAP.lock().release_free_pools();
    println!("\neverything freed; TLSF had already returned emptied pools but one spare, and now");
    println!(
        "  releases the rest: {} back to the frame arena",
        kib(released)
    );
    println!(
        "  frames in use: {} (the block allocator's)",
        kib(frames_in_use())
    );
    heap_stats("heap at the end");
    // Bind the result first: formatting an error must not happen under the allocator's lock.
    let checked = HEAP.lock().check();
    checked.map_err(|e| format!("heap inconsistent: {e:?}"))?;
    let counters = HEAP.counters();
    println!(
        "  heap checker: every tag, list and bitmap consistent; lock-free counters: {} live allocations, peak {} in use, {} failures",
        counters.allocations,
        kib(counters.peak_in_use),
        counters.failures
    );
    Ok(())
}
