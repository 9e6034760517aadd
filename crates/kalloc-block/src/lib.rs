#![doc = include_str!("../README.md")]
#![no_std]

mod allocator;
mod check;
mod index;
mod owner;
mod source;
#[cfg(test)]
mod testing;

pub use allocator::{BLOCK_ALIGN, BLOCK_SIZE, BlockAllocator, Blocks};
pub use check::Inconsistency;
pub use index::BlockIndex;
pub use owner::Owner;
