#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(any(feature = "allocator-api2", feature = "nightly"))]
mod allocator;
mod backoff;
mod counters;
mod global;
mod growing;
mod heap;
mod lock;
mod locked;
mod padded;
mod source;
mod sync;

#[cfg(test)]
mod test_heap;

pub use backoff::BackoffLock;
pub use counters::Counters;
pub use growing::Growing;
pub use lock::RawLock;
pub use locked::{DefaultRawLock, Guard, Locked};
