//! Allocation policies and `xalloc` constraints, and the arithmetic that fits a constrained
//! segment into a free one without ever wrapping.

use kalloc_core::Error;

/// How the arena chooses among free segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// O(1): take the first segment of the smallest non-empty freelist that guarantees a
    /// fit. When no such list exists, or constraints defeat the guarantee, it searches the
    /// lists that might still fit instead of failing.
    InstantFit,
    /// The smallest free segment that fits (least fragmentation; searches one size class).
    BestFit,
    /// The first fit at or after the end of the previous next-fit allocation, wrapping
    /// around once: recently freed values are reused last, as PID and ID allocators want.
    NextFit,
}

/// Constraints on where `xalloc` may place a segment, built like
/// `Constraints::new().align(4096).max(1 << 32)`.
///
/// | field | meaning | default |
/// |---|---|---|
/// | `align` | the segment's base is `≡ phase (mod align)`; a power of two | the quantum |
/// | `phase` | offset from an `align` boundary, `< align` | 0 |
/// | `nocross` | the segment may not cross a multiple of `nocross` (a power of two), 0 = none | 0 |
/// | `min` | the whole segment lies at or above `min` (rounded up to the quantum) | 0 |
/// | `max` | the whole segment lies below `max` (rounded down to the quantum) | `usize::MAX` |
///
/// A window `[min, max)` partly outside the arena is clamped to it, not refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Constraints {
    pub(crate) align: usize,
    pub(crate) phase: usize,
    pub(crate) nocross: usize,
    pub(crate) min: usize,
    pub(crate) max: usize,
}

impl Default for Constraints {
    fn default() -> Constraints {
        Constraints::new()
    }
}

impl Constraints {
    /// No constraint at all.
    #[must_use]
    pub const fn new() -> Constraints {
        Constraints {
            align: 1,
            phase: 0,
            nocross: 0,
            min: 0,
            max: usize::MAX,
        }
    }

    /// Base aligned to `align` (a power of two; values below the quantum mean the quantum).
    #[must_use]
    pub const fn align(mut self, align: usize) -> Constraints {
        self.align = align;
        self
    }

    /// Base `phase` units above an `align` boundary.
    #[must_use]
    pub const fn phase(mut self, phase: usize) -> Constraints {
        self.phase = phase;
        self
    }

    /// The segment does not cross a multiple of `nocross` (a power of two; 0 for none).
    #[must_use]
    pub const fn nocross(mut self, nocross: usize) -> Constraints {
        self.nocross = nocross;
        self
    }

    /// The segment lies at or above `min`.
    #[must_use]
    pub const fn min(mut self, min: usize) -> Constraints {
        self.min = min;
        self
    }

    /// The segment ends at or below `max`.
    #[must_use]
    pub const fn max(mut self, max: usize) -> Constraints {
        self.max = max;
        self
    }

    /// Validates the constraints for a `size`-unit request (`size` already a non-zero
    /// multiple of `quantum`) in an arena of `quantum`, and puts them in the form `fit`
    /// uses.
    ///
    /// Errors: [`Error::BadAlign`] for an `align` or `nocross` that is not a power of two;
    /// [`Error::Misaligned`] for a `phase` that is not a multiple of the quantum;
    /// [`Error::BadConstraint`] for `phase >= align`, `nocross < size`, an empty window
    /// (`min >= max`, also after rounding to the quantum) or one smaller than `size`.
    pub(crate) fn normalize(&self, size: usize, quantum: usize) -> Result<Fit, Error> {
        if !self.align.is_power_of_two() {
            return Err(Error::BadAlign);
        }
        if self.nocross != 0 && !self.nocross.is_power_of_two() {
            return Err(Error::BadAlign);
        }
        if self.phase >= self.align.max(quantum) {
            return Err(Error::BadConstraint);
        }
        if self.phase % quantum != 0 {
            return Err(Error::Misaligned);
        }
        if self.nocross != 0 && self.nocross < size {
            return Err(Error::BadConstraint);
        }
        if self.min >= self.max {
            return Err(Error::BadConstraint);
        }
        // Clamp the window to the quantum grid: round `min` up and `max` down.
        let min = self
            .min
            .checked_next_multiple_of(quantum)
            .ok_or(Error::BadConstraint)?;
        let max = self.max - self.max % quantum;
        match max.checked_sub(min) {
            Some(window) if window >= size => {}
            _ => return Err(Error::BadConstraint),
        }
        Ok(Fit {
            size,
            align_mask: self.align.max(quantum) - 1,
            phase: self.phase,
            nocross: self.nocross,
            min,
            max,
        })
    }
}

/// Validated constraints for one request: where a segment of `size` may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fit {
    pub(crate) size: usize,
    /// `align - 1`, with `align >= quantum` a power of two.
    pub(crate) align_mask: usize,
    /// `< align`, a multiple of the quantum.
    pub(crate) phase: usize,
    /// 0 or a power of two `>= size`.
    pub(crate) nocross: usize,
    pub(crate) min: usize,
    pub(crate) max: usize,
}

impl Fit {
    /// An unconstrained request of `size` in an arena of `quantum`.
    pub(crate) const fn plain(size: usize, quantum: usize) -> Fit {
        Fit {
            size,
            align_mask: quantum - 1,
            phase: 0,
            nocross: 0,
            min: 0,
            max: usize::MAX,
        }
    }

    /// Whether only size and alignment matter (no window, no boundary): then any free
    /// segment of at least [`worst_case`](Fit::worst_case) units fits.
    pub(crate) const fn is_simple(&self) -> bool {
        self.nocross == 0 && self.min == 0 && self.max == usize::MAX
    }

    /// A size every free segment at least this large can serve, alignment padding
    /// included: `size + align - quantum`, or `None` when that overflows. Valid for simple
    /// requests only; `quantum_mask` is `quantum - 1`.
    pub(crate) const fn worst_case(&self, quantum_mask: usize) -> Option<usize> {
        self.size.checked_add(self.align_mask - quantum_mask)
    }

    /// The lowest base `>= from` inside `[base, end)` where the constrained segment fits,
    /// or `None`.
    #[inline]
    pub(crate) fn place(&self, base: usize, end: usize, from: usize) -> Option<usize> {
        let low = base.max(self.min).max(from);
        let high = end.min(self.max);
        // The distance from `low` up to the next value `≡ phase (mod align)`. Computed
        // modulo `align` (a power of two dividing 2^BITS), so the wrapping subtraction is
        // exact modular arithmetic, not an overflow; the addition after it is checked.
        let mut start = low.checked_add(self.phase.wrapping_sub(low) & self.align_mask)?;
        let mut last = start.checked_add(self.size - 1)?;
        if self.nocross != 0 && (start ^ last) >= self.nocross {
            // Crosses a boundary: retry from the boundary itself, the only place left
            // between here and the next one.
            let boundary = (last & !(self.nocross - 1)).max(start);
            start = boundary.checked_add(self.phase.wrapping_sub(boundary) & self.align_mask)?;
            last = start.checked_add(self.size - 1)?;
            if (start ^ last) >= self.nocross {
                return None;
            }
        }
        // `last < high`, written so that `high == 0` cannot underflow.
        (last < high).then_some(start)
    }
}

#[cfg(test)]
mod tests;
