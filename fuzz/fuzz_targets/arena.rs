//! Fuzz target: kalloc-arena's BlockBumpArena (both ends, resizes, checkpoints, stale and foreign marks, reset).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kalloc_fuzz::arena::run(data));
