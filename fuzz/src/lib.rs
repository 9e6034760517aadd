//! kalloc's shared test harness: what the property tests, the fuzz targets and the corpus
//! replay of every crate have in common, so each model exists once.
//!
//! * [`rng`]: a small deterministic generator for property tests (no dependency, Miri-fast).
//! * [`shadow`]: the shadow model of live allocations: no overlap, fill patterns.
//! * [`memory`]: zeroed, aligned buffers for allocators under test to manage.
//! * [`no_heap`]: a `#[global_allocator]` guard proving code under test never uses a heap.

pub mod arena;
pub mod block;
pub mod memory;
pub mod no_heap;
pub mod rng;
pub mod shadow;
pub mod sync;
pub mod tlsf;
pub mod vmem;

/// Every fuzz harness by target name: `fuzz/fuzz_targets/NAME.rs` runs `TARGETS[NAME]`, and
/// the corpus replay test feeds each committed input in `fuzz/corpus/NAME/` to the same
/// function on stable, so regressions stay caught without nightly.
pub const TARGETS: &[(&str, Harness)] = &[
    ("arena", arena::run),
    ("block", block::run),
    ("sync", sync::run),
    ("tlsf", tlsf::run),
    ("vmem", vmem::run),
];

/// A fuzz harness: decodes an operation sequence from the bytes and checks every result
/// against the shadow model, panicking on the first disagreement.
pub type Harness = fn(&[u8]);
