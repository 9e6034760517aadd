//! [`Error`]: why an allocator refused a request.

use core::fmt;

/// Why a kalloc allocator or source refused an operation.
///
/// Every fallible kalloc API returns this one type, so a kernel can log or match a cause the
/// same way whichever allocator produced it. Each variant names one cause; when an operation
/// is refused with an error, the allocator's state is exactly as it was before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// No free resource can satisfy the request, and no source could supply more.
    Exhausted,
    /// The request was for zero bytes or zero units where the API needs a positive size.
    ZeroSize,
    /// Size or address arithmetic would wrap around `usize`.
    Overflow,
    /// An alignment that is not a power of two, or larger than the allocator supports.
    BadAlign,
    /// An address or size that is not a multiple of the granularity the allocator requires
    /// (a block boundary, the quantum, a pool's alignment).
    Misaligned,
    /// The resource was already free.
    DoubleFree,
    /// The pointer or span was never handed out by this allocator or lies outside it.
    ForeignPointer,
    /// The resource is allocated, but not to the owner that tried to free it.
    WrongOwner,
    /// The resource is allocated, but with a different size than the one given back.
    WrongSize,
    /// A span overlaps one the allocator already manages.
    Overlap,
    /// A region or pool is too small to hold even the allocator's own bookkeeping.
    TooSmall,
    /// A request or region larger than this allocator can ever serve (for example more
    /// blocks than its index width can name, or more than one block from a block arena).
    TooLarge,
    /// Constraints that no allocation can meet (phase not below alignment, a boundary
    /// smaller than the size, an empty address window).
    BadConstraint,
    /// A shared source was already in use by its own caller (a re-entrant call).
    Busy,
}

impl Error {
    /// A one-line description of the cause, the same text `Display` prints.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Error::Exhausted => "resource exhausted",
            Error::ZeroSize => "zero-size request",
            Error::Overflow => "size or address arithmetic overflows",
            Error::BadAlign => "alignment is not a supported power of two",
            Error::Misaligned => "address or size not on the required boundary",
            Error::DoubleFree => "resource is already free",
            Error::ForeignPointer => "pointer or span does not belong to this allocator",
            Error::WrongOwner => "resource belongs to a different owner",
            Error::WrongSize => "resource was allocated with a different size",
            Error::Overlap => "span overlaps a span already managed",
            Error::TooSmall => "region too small for the allocator's bookkeeping",
            Error::TooLarge => "request or region larger than the allocator can serve",
            Error::BadConstraint => "constraints cannot be satisfied by any allocation",
            Error::Busy => "source is already in use (re-entrant call)",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Error {}
