//! Fuzz target: kalloc-tlsf alloc / free / realloc / add-pool / growth against the shadow model.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kalloc_fuzz::tlsf::run(data));
