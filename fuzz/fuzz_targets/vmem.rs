//! Fuzz target: kalloc-vmem arenas (policies, constraints, imports, quantum caches, bad frees).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kalloc_fuzz::vmem::run(data));
