//! kalloc-arena: Dual-ended bump arena drawing 4 KiB blocks from any kalloc Source.
//!
//! This crate is being built; see the workspace README for its place in kalloc.
#![no_std]
