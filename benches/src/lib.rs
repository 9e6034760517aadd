//! kalloc's benchmarks: one criterion group per job, with the peer crates in the same group
//! so their ratios come from one run on one machine.
//!
//! The benchmarks live in `benches/benches/`, one file per job; this library holds what
//! they share: deterministic traces, generated once and replayed identically for every
//! allocator in a group ([`trace`]), and the allocators behind one trait per kind
//! ([`heaps`], [`arenas`]).

pub mod arenas;
pub mod heaps;
pub mod trace;

/// The environment variable `cargo xtask bench --quick` sets for the benchmarks.
pub const QUICK_ENV: &str = "KALLOC_BENCH_QUICK";

/// Whether this is a `--quick` run: benchmarks that sweep a parameter, or measure a point
/// that takes minutes, measure less (and say so in their docs).
#[must_use]
pub fn quick() -> bool {
    std::env::var_os(QUICK_ENV).is_some()
}
