//! Size classes: how a block size maps to one of the `FL × SL` segregated free lists.
//!
//! Sizes are in bytes and always multiples of [`GRANULE`]. Class `(0, sl)` covers the sizes
//! `[sl·GRANULE, (sl+1)·GRANULE)`: below `2^SHIFT` every class holds exactly one size. Class
//! `(fl ≥ 1, sl)` covers `[2^(SHIFT+fl-1) + sl·step, ... + step)` with
//! `step = 2^(SHIFT+fl-1-log2 SL)`: each power-of-two range is cut into `SL` equal parts.
//!
//! ```text
//!  fl=0  |16|16|16| ... |16|        sizes 0 .. 2^SHIFT, one size per class
//!  fl=1  |16|16|16| ... |16|        2^SHIFT .. 2^(SHIFT+1)
//!  fl=2  |32|32|32| ... |32|        2^(SHIFT+1) .. 2^(SHIFT+2)
//!  ...                              (64-bit, SL = 32: SHIFT = 9)
//! ```

use core::mem::size_of;

/// One `usize`: the size of a block header, a free-list link and a footer. Block sizes are
/// multiples of [`GRANULE`], two words, so a header's low bits are free for flags.
pub(crate) const WORD: usize = size_of::<usize>();

/// Bytes a used block spends on bookkeeping: its header.
pub(crate) const HEADER: usize = WORD;

/// The block granule: two words. Every block size is a multiple of it and every header
/// sits one word past a multiple of it, so every payload is aligned to `GRANULE` (16 bytes
/// on 64-bit targets, as C's `malloc` promises). Requests aligned up to it need no
/// alignment search, and a `realloc` that moves copies between co-aligned payloads, which
/// `memcpy` does faster than between payloads eight bytes apart.
pub(crate) const GRANULE: usize = 2 * WORD;

/// `log2(GRANULE)`.
pub(crate) const GRANULE_LOG2: u32 = GRANULE.trailing_zeros();

/// The smallest block: a free block must hold its header, two free-list links and a footer
/// (two granules).
pub(crate) const MIN_BLOCK: usize = 4 * WORD;

const _: () = assert!(MIN_BLOCK % GRANULE == 0);

/// The size-class geometry of a heap with `FL` first-level and `SL` second-level classes.
pub(crate) struct Classes<const FL: usize, const SL: usize>;

impl<const FL: usize, const SL: usize> Classes<FL, SL> {
    /// Compile-time validation of the parameters; referenced by every constructor.
    pub(crate) const VALID: () = {
        assert!(
            SL.is_power_of_two() && SL >= 2 && SL <= usize::BITS as usize,
            "SL must be a power of two in 2..=usize::BITS"
        );
        assert!(
            FL >= 2 && FL <= usize::BITS as usize,
            "FL must be in 2..=usize::BITS"
        );
        // The top class ends at 2^(SHIFT + FL - 1), which must be a valid usize shift.
        assert!(
            (SL.trailing_zeros() + GRANULE_LOG2) as usize + FL <= usize::BITS as usize,
            "FL too large: the top class would not fit in a usize"
        );
    };

    /// `log2(SL)`.
    const SL_LOG2: u32 = SL.trailing_zeros();

    /// Sizes below `2^SHIFT` live in first-level class 0, one size per class.
    const SHIFT: u32 = Self::SL_LOG2 + GRANULE_LOG2;

    /// The largest block: the top class's upper bound minus one granule.
    pub(crate) const MAX_BLOCK: usize = (1usize << (Self::SHIFT as usize + FL - 1)) - GRANULE;

    /// The largest alignment a request may ask for: a quarter of the largest block, so the
    /// padding an aligned search adds always leaves room for the request itself.
    pub(crate) const MAX_ALIGN: usize = 1usize << (Self::SHIFT as usize + FL - 3);

    /// The class holding blocks of `size` bytes (`GRANULE <= size <= MAX_BLOCK`, a
    /// multiple of `GRANULE`).
    ///
    /// `sl < SL` always (masked). `fl < FL` for every size up to `MAX_BLOCK`, which every
    /// block of a heap is (pools are capped when added, merges stay inside a pool); the
    /// free lists rely on that to index without a bounds check. A larger size gives
    /// `fl >= FL`: callers outside the lists check the size first or index checked.
    #[inline(always)]
    pub(crate) fn floor(size: usize) -> (usize, usize) {
        Self::split(Self::index(size))
    }

    /// [`floor`](Self::floor) as one index `fl·SL + sl`, the position of the class's list
    /// in a flat table of `FL × SL` heads.
    #[inline(always)]
    pub(crate) fn index(size: usize) -> usize {
        debug_assert!(size <= Self::MAX_BLOCK && size % GRANULE == 0);
        if size < 1 << Self::SHIFT {
            size >> GRANULE_LOG2
        } else {
            // The shifted size is `SL + sl` (the top bit and `log2 SL` bits below it): its
            // `SL` is the first level's first class past `(log - SHIFT)·SL`.
            let log = size.ilog2();
            (((log - Self::SHIFT) as usize) << Self::SL_LOG2) + (size >> (log - Self::SL_LOG2))
        }
    }

    /// `(fl, sl)` of a class index `fl·SL + sl`.
    #[inline(always)]
    pub(crate) const fn split(index: usize) -> (usize, usize) {
        (index >> Self::SL_LOG2, index & (SL - 1))
    }

    /// The class index `fl·SL + sl` of `(fl, sl)` (`sl < SL`): [`split`](Self::split)'s
    /// inverse, and what a list head's back link holds.
    #[inline(always)]
    pub(crate) const fn join(fl: usize, sl: usize) -> usize {
        (fl << Self::SL_LOG2) | sl
    }

    /// The first class whose every block holds at least `size` bytes (a whole number of
    /// granules, at least `GRANULE`), or `None` when that class would lie above the top
    /// one, as it does for every size above `MAX_BLOCK`.
    #[inline(always)]
    pub(crate) fn ceil(size: usize) -> Option<(usize, usize)> {
        debug_assert!(size >= GRANULE && size % GRANULE == 0);
        if size < 1 << Self::SHIFT {
            return Some((0, size >> GRANULE_LOG2));
        }
        // The class after the one holding `size - 1`: its lower bound is the first class
        // boundary at or above `size`. As one index `fl·SL + sl`, "after" is `+ 1`, which
        // carries into the next first level by itself. `size - 1` is at least
        // `2^SHIFT - 1`, whose bit scan says `SHIFT - 1`: the formula below still holds
        // there (its first term is then `-SL`, taken back by the shifted size, `2·SL - 1`),
        // which spares a branch on where `size - 1` lies.
        let below = size - 1;
        let log = below.ilog2();
        let index = ((log as usize).wrapping_sub(Self::SHIFT as usize) << Self::SL_LOG2)
            .wrapping_add(below >> (log - Self::SL_LOG2))
            + 1;
        if index >= FL * SL {
            return None;
        }
        Some(Self::split(index))
    }

    /// The smallest size class `(fl, sl)` holds.
    #[cfg(test)]
    pub(crate) fn lower_bound(fl: usize, sl: usize) -> usize {
        if fl == 0 {
            sl << GRANULE_LOG2
        } else {
            let base = 1usize << (Self::SHIFT as usize + fl - 1);
            base + (sl << (Self::SHIFT as usize + fl - 1 - Self::SL_LOG2 as usize))
        }
    }
}

#[cfg(test)]
mod tests;
