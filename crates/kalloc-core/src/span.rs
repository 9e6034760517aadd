//! [`Span`]: a half-open range `[base, base + len)` of a `usize` resource.

use crate::{Align, Error};
use core::fmt;
use core::ops::Range;

/// A half-open range `[base, base + len)` of addresses, page numbers, PIDs, IRQ numbers...
///
/// Invariant, carried by the type: `base + len` does not overflow, so [`end`](Span::end) is
/// always representable. The consequence is that no span contains the value `usize::MAX`
/// itself; a span may end *at* `usize::MAX`. Every operation that could leave the invariant
/// returns `None` or an [`Error`] instead of wrapping.
///
/// Empty spans are allowed (`len == 0`): they contain nothing and overlap nothing, but they
/// still have a position, which matters for splitting and adjacency.
///
/// ```
/// use kalloc_core::{Align, Span};
///
/// let span = Span::new(0x1000, 0x3000);
/// assert_eq!(span.end(), 0x4000);
/// let (low, high) = span.split_at(0x1000).unwrap();
/// assert_eq!((low, high), (Span::new(0x1000, 0x1000), Span::new(0x2000, 0x2000)));
/// assert!(span.overlaps(high) && !low.overlaps(high));
/// assert_eq!(Span::new(0x1001, 0x2000).align_inward(Align::new(0x1000)), Some(Span::new(0x2000, 0x1000)));
/// assert!(Span::try_new(usize::MAX, 1).is_err()); // would wrap
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    base: usize,
    len: usize,
}

impl Span {
    /// `[base, base + len)`.
    ///
    /// # Panics
    /// If `base + len` overflows (a `const` context makes this a compile error).
    #[must_use]
    pub const fn new(base: usize, len: usize) -> Span {
        match Span::try_new(base, len) {
            Ok(span) => span,
            Err(_) => panic!("span end overflows usize"),
        }
    }

    /// `[base, base + len)`, or [`Error::Overflow`] when `base + len` overflows.
    pub const fn try_new(base: usize, len: usize) -> Result<Span, Error> {
        if base.checked_add(len).is_some() {
            Ok(Span { base, len })
        } else {
            Err(Error::Overflow)
        }
    }

    /// `[base, base + len)` without checking.
    ///
    /// # Safety
    /// `base + len` must not overflow `usize`. Code that trusts a `Span` (pointer arithmetic
    /// from `base` up to `end`) relies on it.
    #[must_use]
    pub const unsafe fn new_unchecked(base: usize, len: usize) -> Span {
        debug_assert!(base.checked_add(len).is_some());
        Span { base, len }
    }

    /// `[start, end)`, or [`Error::Overflow`] when `end < start` (a range that would wrap).
    pub const fn from_bounds(start: usize, end: usize) -> Result<Span, Error> {
        match end.checked_sub(start) {
            Some(len) => Ok(Span { base: start, len }),
            None => Err(Error::Overflow),
        }
    }

    /// The empty span positioned at `base`.
    #[must_use]
    pub const fn empty(base: usize) -> Span {
        Span { base, len: 0 }
    }

    /// First value in the span (its position, even when empty).
    #[must_use]
    pub const fn base(self) -> usize {
        self.base
    }

    /// Number of values in the span.
    #[must_use]
    pub const fn len(self) -> usize {
        self.len
    }

    /// One past the last value: `base + len`, never wrapped.
    #[must_use]
    pub const fn end(self) -> usize {
        // Cannot overflow: every constructor checks `base + len`.
        self.base + self.len
    }

    /// The last value in the span, or `None` when it is empty.
    #[must_use]
    pub const fn last(self) -> Option<usize> {
        if self.len == 0 {
            None
        } else {
            Some(self.end() - 1)
        }
    }

    /// Whether the span holds no value.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.len == 0
    }

    /// Whether `value` lies in `[base, end)`.
    #[must_use]
    pub const fn contains(self, value: usize) -> bool {
        self.base <= value && value < self.end()
    }

    /// Whether every value of `other` lies in `self`. An empty `other` is contained when its
    /// position lies in `[base, end]`.
    #[must_use]
    pub const fn contains_span(self, other: Span) -> bool {
        self.base <= other.base && other.end() <= self.end()
    }

    /// Whether the two spans share at least one value (empty spans share none).
    #[must_use]
    pub const fn overlaps(self, other: Span) -> bool {
        !self.is_empty() && !other.is_empty() && self.base < other.end() && other.base < self.end()
    }

    /// Whether one span ends exactly where the other begins.
    #[must_use]
    pub const fn is_adjacent(self, other: Span) -> bool {
        self.end() == other.base || other.end() == self.base
    }

    /// The values both spans hold, or `None` when they do not overlap.
    #[must_use]
    pub const fn intersection(self, other: Span) -> Option<Span> {
        if !self.overlaps(other) {
            return None;
        }
        let start = if self.base > other.base {
            self.base
        } else {
            other.base
        };
        let end = if self.end() < other.end() {
            self.end()
        } else {
            other.end()
        };
        Some(Span {
            base: start,
            len: end - start,
        })
    }

    /// The union of two adjacent or overlapping spans, or `None` when a gap separates them.
    #[must_use]
    pub const fn merge(self, other: Span) -> Option<Span> {
        if self.base > other.end() || other.base > self.end() {
            return None;
        }
        let start = if self.base < other.base {
            self.base
        } else {
            other.base
        };
        let end = if self.end() > other.end() {
            self.end()
        } else {
            other.end()
        };
        Some(Span {
            base: start,
            len: end - start,
        })
    }

    /// `[base, base + offset)` and `[base + offset, end)`, or `None` when `offset > len`.
    #[must_use]
    pub const fn split_at(self, offset: usize) -> Option<(Span, Span)> {
        if offset > self.len {
            return None;
        }
        Some((
            Span {
                base: self.base,
                len: offset,
            },
            Span {
                base: self.base + offset,
                len: self.len - offset,
            },
        ))
    }

    /// The first `len` values, or `None` when the span is shorter.
    #[must_use]
    pub const fn prefix(self, len: usize) -> Option<Span> {
        match self.split_at(len) {
            Some((front, _)) => Some(front),
            None => None,
        }
    }

    /// The span without its first `offset` values, or `None` when `offset > len`.
    #[must_use]
    pub const fn skip(self, offset: usize) -> Option<Span> {
        match self.split_at(offset) {
            Some((_, back)) => Some(back),
            None => None,
        }
    }

    /// Whether both `base` and `len` are multiples of `align`.
    #[must_use]
    pub const fn is_aligned(self, align: Align) -> bool {
        align.is_aligned(self.base) && align.is_aligned(self.len)
    }

    /// The largest span inside `self` whose base and end are multiples of `align`, or `None`
    /// when no aligned value lies inside (the result may be empty when exactly one boundary
    /// does).
    #[must_use]
    pub const fn align_inward(self, align: Align) -> Option<Span> {
        let start = match align.align_up(self.base) {
            Some(start) => start,
            None => return None,
        };
        let end = align.align_down(self.end());
        if start > end {
            return None;
        }
        Some(Span {
            base: start,
            len: end - start,
        })
    }

    /// The smallest span holding `self` whose base and end are multiples of `align`, or
    /// `None` when its end would not fit in a `usize`.
    #[must_use]
    pub const fn align_outward(self, align: Align) -> Option<Span> {
        let start = align.align_down(self.base);
        match align.align_up(self.end()) {
            Some(end) => Some(Span {
                base: start,
                len: end - start,
            }),
            None => None,
        }
    }

    /// The first `len` values of `self` from the first multiple of `align`: where an
    /// allocation of `len` aligned to `align` would go, or `None` when it does not fit.
    #[must_use]
    pub const fn fit(self, len: usize, align: Align) -> Option<Span> {
        let start = match align.align_up(self.base) {
            Some(start) => start,
            None => return None,
        };
        match Span::try_new(start, len) {
            Ok(fitted) if fitted.end() <= self.end() => Some(fitted),
            _ => None,
        }
    }

    /// The span as a `Range` (`base..end`).
    #[must_use]
    pub const fn range(self) -> Range<usize> {
        self.base..self.end()
    }
}

impl TryFrom<Range<usize>> for Span {
    type Error = Error;
    fn try_from(range: Range<usize>) -> Result<Span, Error> {
        Span::from_bounds(range.start, range.end)
    }
}

impl From<Span> for Range<usize> {
    fn from(span: Span) -> Range<usize> {
        span.range()
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.base, self.end())
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests;
