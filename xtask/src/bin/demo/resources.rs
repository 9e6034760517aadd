//! Stage: the page-frame arena at work — a DMA window carved below an address limit, DMA
//! buffers that must not cross a boundary, and a PID allocator that avoids quick reuse.

use crate::machine::{FRAME_MEMORY, FRAMES, PAGE};
use crate::report::Outcome;
use crate::report::{heading, kib, show_vmem};
use kalloc_core::Span;
use kalloc_vmem::{Arena, Constraints, Policy};

/// DMA buffers may not cross a 64 KiB boundary (an old controller's counter width).
const DMA_BOUNDARY: usize = 64 * 1024;

pub(crate) fn dma_window(region: Span) -> Outcome {
    heading("3. A DMA window: xalloc with maxaddr and nocross");
    // The device can only address the first quarter of memory.
    let limit = region.base() + region.len() / 4;
    let window = FRAME_MEMORY.xalloc(16 * PAGE, &Constraints::new().max(limit))?;
    println!("device reaches addresses below {limit:#x}; frames gave the DMA window {window}");
    let mut dma: Arena<'_> = Arena::new("dma", PAGE)?;
    dma.add(window)?;
    let buffer_constraints = Constraints::new().nocross(DMA_BOUNDARY);
    let mut buffers = Vec::new();
    for pages in [3, 5, 2, 6] {
        let size = pages * PAGE;
        let base = dma.xalloc(size, &buffer_constraints, Policy::BestFit)?;
        let crosses = base / DMA_BOUNDARY != (base + size - 1) / DMA_BOUNDARY;
        println!(
            "  buffer of {pages} pages at {:#x}  (crosses a 64 KiB line: {crosses})",
            base
        );
        assert!(!crosses, "nocross violated");
        buffers.push((base, size));
    }
    show_vmem(&dma);
    println!(
        "a buffer larger than the boundary cannot satisfy nocross: {}",
        dma.xalloc(DMA_BOUNDARY + PAGE, &buffer_constraints, Policy::BestFit)
            .unwrap_err()
    );
    println!(
        "freeing a buffer with the wrong size is refused: {}",
        dma.free(buffers[0].0, PAGE).unwrap_err()
    );
    for (base, size) in buffers {
        dma.xfree(base, size)?;
    }
    dma.check()
        .map_err(|e| format!("dma arena inconsistent: {e:?}"))?;
    FRAMES.lock().xfree(window.base(), window.len())?;
    println!("window returned to the frame arena");
    Ok(())
}

pub(crate) fn pids() -> Outcome {
    heading("4. Process IDs: next fit never hands a just-freed PID straight back");
    let mut pids: Arena<'_> = Arena::new("pids", 1)?;
    pids.add(Span::new(1, 32_767))?;
    let first: Vec<usize> = (0..4)
        .map(|_| pids.alloc(1, Policy::NextFit))
        .collect::<Result<_, _>>()?;
    println!("spawned init and three daemons: PIDs {first:?}");
    pids.free(first[1], 1)?;
    println!("PID {} exits", first[1]);
    let next = pids.alloc(1, Policy::NextFit)?;
    println!(
        "the next process gets PID {next} (not {}: a stale kill() cannot hit it)",
        first[1]
    );
    let instant = pids.alloc(1, Policy::InstantFit)?;
    println!("instant fit, by contrast, may reuse it at once: PID {instant}");
    println!(
        "freeing PID 40000, which was never allocated: {}",
        pids.free(40_000, 1).unwrap_err()
    );
    let counters = pids.counters();
    println!(
        "pid arena: {} allocations, {} frees, {} failures so far; {} in use",
        counters.allocs,
        counters.frees,
        counters.failures,
        pids.in_use_size()
    );
    println!(
        "(region for comparison: {} of frames)",
        kib(FRAMES.lock().total_size())
    );
    Ok(())
}
