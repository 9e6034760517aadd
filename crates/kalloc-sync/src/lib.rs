//! kalloc-sync: Locked wrappers that make any kalloc heap a global allocator, model-checked by loom.
//!
//! This crate is being built; see the workspace README for its place in kalloc.
#![no_std]
