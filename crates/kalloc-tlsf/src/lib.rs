#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod testing;

mod block;
mod check;
mod class;
mod heap;
mod lists;
mod pool;
mod walk;
mod wilderness;
mod window;

pub use check::Corruption;
pub use heap::{DEFAULT_FL, DEFAULT_MIN_IMPORT, DEFAULT_SL, Tlsf};
pub use pool::{PoolInfo, PoolKind, Pools};
pub use walk::{BlockInfo, Blocks};
