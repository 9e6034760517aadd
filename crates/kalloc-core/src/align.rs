//! [`Align`]: a power-of-two alignment, and the rounding arithmetic every allocator needs.

use crate::Error;
use core::alloc::Layout;
use core::fmt;

/// A power-of-two alignment in `1..=2^(usize::BITS - 1)`.
///
/// The invariant is carried by the type: an `Align` is always a power of two, so the masks
/// below are always correct and rounding can only fail by overflowing `usize`, which every
/// method reports instead of wrapping.
///
/// ```
/// use kalloc_core::Align;
///
/// let page = Align::new(4096);
/// assert_eq!(page.align_up(4097), Some(8192));
/// assert_eq!(page.align_down(4097), 4096);
/// assert_eq!(page.align_up(usize::MAX), None); // would wrap: refused
/// assert!(Align::try_new(24).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Align(usize);

impl Align {
    /// Alignment 1: any address.
    pub const ONE: Align = Align(1);
    /// The largest alignment a `usize` can express, `2^(usize::BITS - 1)`.
    pub const MAX: Align = Align(1 << (usize::BITS - 1));

    /// `align` as an `Align`.
    ///
    /// # Panics
    /// If `align` is not a power of two (a `const` context turns this into a compile error).
    #[must_use]
    pub const fn new(align: usize) -> Align {
        match Align::try_new(align) {
            Ok(align) => align,
            Err(_) => panic!("alignment must be a power of two"),
        }
    }

    /// `align` as an `Align`, or [`Error::BadAlign`] when it is not a power of two.
    pub const fn try_new(align: usize) -> Result<Align, Error> {
        if align.is_power_of_two() {
            Ok(Align(align))
        } else {
            Err(Error::BadAlign)
        }
    }

    /// `align` as an `Align` without checking.
    ///
    /// # Safety
    /// `align` must be a power of two.
    #[must_use]
    pub const unsafe fn new_unchecked(align: usize) -> Align {
        debug_assert!(align.is_power_of_two());
        Align(align)
    }

    /// The alignment of `T`.
    #[must_use]
    pub const fn of<T>() -> Align {
        Align(align_of::<T>())
    }

    /// The alignment of `layout` (always a power of two).
    #[must_use]
    pub const fn of_layout(layout: Layout) -> Align {
        Align(layout.align())
    }

    /// `2^shift`, or [`Error::BadAlign`] when `shift >= usize::BITS`.
    pub const fn from_log2(shift: u32) -> Result<Align, Error> {
        if shift < usize::BITS {
            Ok(Align(1 << shift))
        } else {
            Err(Error::BadAlign)
        }
    }

    /// The alignment as a number.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0
    }

    /// `log2` of the alignment: the number of low bits an aligned value has clear.
    #[must_use]
    pub const fn log2(self) -> u32 {
        self.0.trailing_zeros()
    }

    /// The low bits an aligned value has clear: `align - 1`.
    #[must_use]
    pub const fn mask(self) -> usize {
        self.0 - 1
    }

    /// Whether `value` is a multiple of this alignment.
    #[must_use]
    pub const fn is_aligned(self, value: usize) -> bool {
        value & self.mask() == 0
    }

    /// The largest multiple of the alignment that is `<= value`. Never fails.
    #[must_use]
    pub const fn align_down(self, value: usize) -> usize {
        value & !self.mask()
    }

    /// The smallest multiple of the alignment that is `>= value`, or `None` when that
    /// multiple does not fit in a `usize`.
    #[must_use]
    pub const fn align_up(self, value: usize) -> Option<usize> {
        match value.checked_add(self.mask()) {
            Some(bumped) => Some(self.align_down(bumped)),
            None => None,
        }
    }

    /// How far `value` is above the previous multiple of the alignment.
    #[must_use]
    pub const fn offset_of(self, value: usize) -> usize {
        value & self.mask()
    }

    /// The larger of two alignments (the one that satisfies both).
    #[must_use]
    pub const fn max(self, other: Align) -> Align {
        if self.0 >= other.0 { self } else { other }
    }
}

impl fmt::Debug for Align {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Align({})", self.0)
    }
}

impl TryFrom<usize> for Align {
    type Error = Error;
    fn try_from(align: usize) -> Result<Align, Error> {
        Align::try_new(align)
    }
}

impl From<Align> for usize {
    fn from(align: Align) -> usize {
        align.0
    }
}

#[cfg(test)]
mod tests;
