//! Fuzz target: kalloc-sync's locked, growing TLSF heap through GlobalAlloc and the fallible API, against the shadow model and the lock-free counters.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kalloc_fuzz::sync::run(data));
