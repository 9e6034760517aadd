//! Fuzz target: kalloc-block's BlockAllocator (owners, bad frees, the Source interface).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kalloc_fuzz::block::run(data));
