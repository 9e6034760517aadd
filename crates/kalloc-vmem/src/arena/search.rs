//! Finding a free segment for a request under each policy, importing when none fits.

use super::Arena;
use crate::constraints::{Fit, Policy};
use crate::freelist::{class_of, guaranteed_class};
use crate::tag::{Kind, TagId};
use kalloc_core::{Error, MemorySource, Source};

impl<S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize, M: MemorySource>
    Arena<'_, S, TAGS, QCACHES, QCAP, M>
{
    /// Allocates a segment for `fit` under `policy`: from free space, else from a fresh
    /// import, else after draining the quantum caches. Nothing changes on failure.
    pub(super) fn alloc_fit(&mut self, fit: &Fit, policy: Policy) -> Result<TagId, Error> {
        // Carving needs up to two tags, an import two more: top the pool up, then refuse
        // before touching anything if even carving is not covered.
        self.replenish_tags();
        if self.pool.free_count() < 2 {
            return Err(Error::Exhausted);
        }
        if let Some((id, start)) = self.search(fit, policy) {
            return Ok(self.take(id, start, fit, policy));
        }
        let mut error = Error::Exhausted;
        match self.import(fit.size, fit.align_mask + 1, fit.phase) {
            Ok(marker) => {
                if let Some((id, start)) = self.search(fit, policy) {
                    return Ok(self.take(id, start, fit, policy));
                }
                // Window or boundary constraints the source could not honour.
                self.unimport(marker);
            }
            Err(cause) => error = cause,
        }
        if self.caches_hold_segments() {
            self.drain_caches();
            if let Some((id, start)) = self.search(fit, policy) {
                return Ok(self.take(id, start, fit, policy));
            }
        }
        Err(error)
    }

    fn take(&mut self, id: TagId, start: usize, fit: &Fit, policy: Policy) -> TagId {
        let allocated = self.carve(id, start, fit.size);
        if policy == Policy::NextFit {
            self.rotor = allocated;
            self.cursor = start + fit.size;
        }
        allocated
    }

    /// A free segment and the base inside it where `fit` goes, chosen by `policy`.
    pub(super) fn search(&self, fit: &Fit, policy: Policy) -> Option<(TagId, usize)> {
        match policy {
            Policy::InstantFit => self.instant_fit(fit),
            Policy::BestFit => self.best_fit(fit),
            Policy::NextFit => self.next_fit(fit),
        }
    }

    /// O(1) when a list guarantees the fit: the head of the first non-empty list whose
    /// every segment holds the size plus the worst alignment padding. Otherwise (no such
    /// list, or a window or boundary the size classes know nothing about) the first fit
    /// over the lists that may still hold one, smallest class first.
    fn instant_fit(&self, fit: &Fit) -> Option<(TagId, usize)> {
        if fit.is_simple() {
            if let Some(need) = fit.worst_case(self.quantum - 1) {
                if let Some(class) = self.free.first_at_or_above(guaranteed_class(need)) {
                    let id = self.free.head(class);
                    let tag = self.pool.get(id);
                    let start = fit.place(tag.base, tag.end(), 0);
                    debug_assert!(start.is_some(), "a guaranteed list failed to fit");
                    if let Some(start) = start {
                        return Some((id, start));
                    }
                }
            }
        }
        let mut class = self.free.first_at_or_above(class_of(fit.size));
        while let Some(list) = class {
            let mut id = self.free.head(list);
            while !id.is_nil() {
                let tag = self.pool.get(id);
                if let Some(start) = fit.place(tag.base, tag.end(), 0) {
                    return Some((id, start));
                }
                id = tag.link_next;
            }
            class = self.free.first_at_or_above(list + 1);
        }
        None
    }

    /// The smallest free segment that fits. Every segment of list `i` is smaller than any
    /// of list `i + 1`, so the first list holding a fit holds the best one.
    fn best_fit(&self, fit: &Fit) -> Option<(TagId, usize)> {
        let mut class = self.free.first_at_or_above(class_of(fit.size));
        while let Some(list) = class {
            let mut best: Option<(TagId, usize, usize)> = None;
            let mut id = self.free.head(list);
            while !id.is_nil() {
                let tag = self.pool.get(id);
                if let Some(start) = fit.place(tag.base, tag.end(), 0) {
                    let better = match best {
                        Some((_, _, size)) => tag.size < size,
                        None => true,
                    };
                    if better {
                        best = Some((id, start, tag.size));
                        if tag.size == fit.size {
                            break;
                        }
                    }
                }
                id = tag.link_next;
            }
            if let Some((id, start, _)) = best {
                return Some((id, start));
            }
            class = self.free.first_at_or_above(list + 1);
        }
        None
    }

    /// The lowest fit at or above the cursor, walking the address list from the rotor (the
    /// last next-fit allocation, or where it merged into); failing that, the lowest fit
    /// anywhere (the wrap-around).
    fn next_fit(&self, fit: &Fit) -> Option<(TagId, usize)> {
        let start_at = if self.rotor.is_nil() {
            self.first
        } else {
            self.rotor
        };
        self.first_fit_from(start_at, fit, self.cursor)
            .or_else(|| self.first_fit_from(self.first, fit, 0))
    }

    /// The first free segment from `id` onwards in address order where `fit` goes at or
    /// above `from`.
    fn first_fit_from(&self, mut id: TagId, fit: &Fit, from: usize) -> Option<(TagId, usize)> {
        while !id.is_nil() {
            let tag = self.pool.get(id);
            if tag.kind == Kind::Free {
                if let Some(start) = fit.place(tag.base, tag.end(), from) {
                    return Some((id, start));
                }
            }
            id = tag.next;
        }
        None
    }
}
