//! Quantum caches: per-size stacks of ready-made segments in front of the arena.
//!
//! Cache `i` holds segments of exactly `(i + 1) × quantum` units. They are allocated in the
//! arena (marked cached in their tag) but belong to no caller, so a cached `alloc` is a pop
//! and a cached `free` a hash lookup plus a push. An empty cache is refilled with half its
//! capacity in one go, and a full one drained by half, so the arena's costlier path runs
//! once per `CAP / 2` operations.

use crate::tag::TagId;

/// A fixed-capacity stack of cached segments of one size.
pub(crate) struct QCache<const CAP: usize> {
    items: [TagId; CAP],
    len: usize,
}

impl<const CAP: usize> QCache<CAP> {
    pub(crate) const EMPTY: QCache<CAP> = QCache {
        items: [TagId::NIL; CAP],
        len: 0,
    };

    /// How many segments the cache holds.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// Whether no more segment fits.
    pub(crate) const fn is_full(&self) -> bool {
        self.len == CAP
    }

    /// Takes the most recently cached segment.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<TagId> {
        self.len = self.len.checked_sub(1)?;
        Some(self.items[self.len])
    }

    /// Caches `id`; `false` (and nothing cached) when full.
    #[inline]
    pub(crate) fn push(&mut self, id: TagId) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The cached segments, oldest first.
    pub(crate) fn items(&self) -> &[TagId] {
        &self.items[..self.len]
    }
}

#[cfg(test)]
mod tests;
