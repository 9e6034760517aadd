//! kalloc-block: O(1) allocator of 4 KiB blocks with 8-bit (or 16-bit) indexes and per-owner lists.
//!
//! This crate is being built; see the workspace README for its place in kalloc.
#![no_std]
