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
