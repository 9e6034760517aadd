#![doc = include_str!("../README.md")]
#![no_std]

mod align;
mod error;
mod heap;
mod region;
mod source;
mod span;
mod stats;

pub use align::Align;
pub use error::Error;
pub use heap::{ByteHeap, GrowableHeap};
pub use region::FixedRegion;
pub use source::{MemorySource, MemorySourceMut, NoSource, Source, SourceCell, SourceMut};
pub use span::Span;
pub use stats::Stats;
