//! kalloc-tlsf: O(1) two-level segregated fit heap with in-place realloc and growth from a Source.
//!
//! This crate is being built; see the workspace README for its place in kalloc.
#![no_std]
