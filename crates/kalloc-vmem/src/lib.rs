#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(test)]
extern crate std;

mod arena;
mod constraints;
mod freelist;
mod hash;
mod qcache;
mod tag;

pub use arena::{Arena, CheckError, Counters, Segment, SegmentState, Segments, Spans};
pub use constraints::{Constraints, Policy};
pub use hash::Bucket;
pub use tag::Tag;
