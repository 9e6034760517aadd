#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(test)]
extern crate std;

mod arena;
mod block;
mod check;
mod history;
mod mark;
mod resize;
mod stats;
#[cfg(test)]
mod test_support;

#[cfg(feature = "allocator-api2")]
mod api2;

pub use arena::BlockBumpArena;
pub use block::{BLOCK_ALIGN, BLOCK_SIZE, MAX_ALIGN, MAX_REQUEST};
pub use history::HISTORY_LEN;
pub use mark::Mark;
pub use stats::ArenaStats;
