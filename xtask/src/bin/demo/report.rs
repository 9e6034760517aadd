//! Printing helpers shared by the stages.

use kalloc_core::{Source, Stats};
use kalloc_vmem::{Arena, SegmentState};

/// What a stage returns: kalloc's `Error`, a checker's finding, or a message.
pub(crate) type Outcome = Result<(), Box<dyn std::error::Error>>;

pub(crate) fn heading(title: &str) {
    println!(
        "\n== {title} {}",
        "=".repeat(78usize.saturating_sub(title.len() + 4))
    );
}

pub(crate) fn kib(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

pub(crate) fn show_stats(label: &str, stats: &Stats) {
    println!(
        "  {label}: total {}, in use {} in {} allocations, free {}, overhead {}, largest free >= {}",
        kib(stats.total),
        kib(stats.in_use),
        stats.allocations,
        kib(stats.free),
        kib(stats.overhead()),
        kib(stats.largest_free)
    );
}

/// The segments of a vmem arena in address order, one line each.
pub(crate) fn show_vmem<S: Source, const T: usize, const Q: usize, const C: usize>(
    arena: &Arena<'_, S, T, Q, C>,
) {
    println!("  arena `{}` segments:", arena.name());
    for segment in arena.walk() {
        let state = match segment.state {
            SegmentState::Free => "free",
            SegmentState::Allocated => "allocated",
            SegmentState::Cached => "cached",
        };
        println!(
            "    {:<24} {:>10}  {state}",
            segment.span.to_string(),
            kib(segment.span.len())
        );
    }
}
