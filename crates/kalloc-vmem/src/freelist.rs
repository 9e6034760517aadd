//! Power-of-two freelists with a bitmap: the index behind instant fit.
//!
//! Free segments of size `s` live in list `floor(log2(s))`, so list `i` holds sizes in
//! `[2^i, 2^(i+1))`. Bit `i` of the bitmap is set exactly when list `i` is non-empty, so the
//! first non-empty list at or above any index is one `trailing_zeros` away.

use crate::tag::{Kind, TagId, TagPool};

/// Number of lists: one per bit of `usize`, since a size class is `floor(log2(size))`.
pub(crate) const LISTS: usize = usize::BITS as usize;

/// The list a free segment of `size` (non-zero) belongs to.
#[inline]
pub(crate) const fn class_of(size: usize) -> usize {
    debug_assert!(size > 0);
    size.ilog2() as usize
}

/// The lowest list all of whose segments hold at least `size` units, or `LISTS` when no
/// list can guarantee that (`size > 2^(BITS-1)`).
#[inline]
pub(crate) const fn guaranteed_class(size: usize) -> usize {
    debug_assert!(size > 0);
    if size.is_power_of_two() {
        class_of(size)
    } else {
        class_of(size) + 1
    }
}

/// The heads of the freelists and their occupancy bitmap.
pub(crate) struct FreeLists {
    heads: [TagId; LISTS],
    /// Bit `i` set ⇔ `heads[i]` is not NIL.
    bitmap: usize,
}

impl FreeLists {
    pub(crate) const fn new() -> FreeLists {
        FreeLists {
            heads: [TagId::NIL; LISTS],
            bitmap: 0,
        }
    }

    /// The first segment of list `class`.
    #[inline]
    pub(crate) fn head(&self, class: usize) -> TagId {
        self.heads[class]
    }

    /// The lowest non-empty list at or above `class`.
    #[inline]
    pub(crate) fn first_at_or_above(&self, class: usize) -> Option<usize> {
        if class >= LISTS {
            return None;
        }
        let candidates = self.bitmap & (usize::MAX << class);
        (candidates != 0).then(|| candidates.trailing_zeros() as usize)
    }

    /// A lower bound on the largest free segment: the smallest size of the highest
    /// non-empty list (0 when every list is empty).
    pub(crate) fn largest_lower_bound(&self) -> usize {
        if self.bitmap == 0 {
            0
        } else {
            1 << self.bitmap.ilog2()
        }
    }

    /// Pushes free segment `id` onto the front of its list.
    #[inline]
    pub(crate) fn insert<const N: usize>(&mut self, pool: &mut TagPool<'_, N>, id: TagId) {
        let tag = pool.get_mut(id);
        debug_assert_eq!(tag.kind, Kind::Free);
        let class = class_of(tag.size);
        let head = self.heads[class];
        tag.link_prev = TagId::NIL;
        tag.link_next = head;
        if !head.is_nil() {
            pool.get_mut(head).link_prev = id;
        }
        self.heads[class] = id;
        self.bitmap |= 1 << class;
    }

    /// Unlinks free segment `id`, which sits in the list of its current size.
    #[inline]
    pub(crate) fn remove<const N: usize>(&mut self, pool: &mut TagPool<'_, N>, id: TagId) {
        let tag = pool.get(id);
        debug_assert_eq!(tag.kind, Kind::Free);
        let (class, prev, next) = (class_of(tag.size), tag.link_prev, tag.link_next);
        if prev.is_nil() {
            debug_assert_eq!(self.heads[class], id);
            self.heads[class] = next;
            if next.is_nil() {
                self.bitmap &= !(1 << class);
            }
        } else {
            pool.get_mut(prev).link_next = next;
        }
        if !next.is_nil() {
            pool.get_mut(next).link_prev = prev;
        }
    }

    /// Checks that every list holds only free segments of its class, correctly linked,
    /// that the bitmap matches, and returns how many segments (and units) the lists hold.
    pub(crate) fn check<const N: usize>(
        &self,
        pool: &TagPool<'_, N>,
    ) -> Result<(usize, usize), &'static str> {
        let (mut count, mut units) = (0usize, 0usize);
        for class in 0..LISTS {
            let head = self.heads[class];
            if head.is_nil() == (self.bitmap & (1 << class) != 0) {
                return Err("freelist bitmap disagrees with its lists");
            }
            let (mut prev, mut id) = (TagId::NIL, head);
            while !id.is_nil() {
                let tag = pool.get(id);
                if tag.kind != Kind::Free {
                    return Err("a freelist holds a segment that is not free");
                }
                if tag.size == 0 || class_of(tag.size) != class {
                    return Err("a free segment sits in the wrong freelist");
                }
                if tag.link_prev != prev {
                    return Err("freelist back link broken");
                }
                count += 1;
                units += tag.size;
                if count > pool.capacity() {
                    return Err("a freelist loops");
                }
                (prev, id) = (id, tag.link_next);
            }
        }
        Ok((count, units))
    }
}

#[cfg(test)]
mod tests;
