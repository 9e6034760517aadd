//! kalloc-vmem: Bonwick/Adams vmem resource allocator: arenas of any integer resource, quantum caches.
//!
//! This crate is being built; see the workspace README for its place in kalloc.
#![no_std]
