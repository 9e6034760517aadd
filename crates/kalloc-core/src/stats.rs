//! [`Stats`]: one snapshot of an allocator's usage, the same shape for every allocator.

/// How much of an allocator's resource is in use, free and spent on bookkeeping.
///
/// Every kalloc allocator reports this in O(1). Units are the allocator's own: bytes for
/// memory heaps and arenas, units of the resource (pages, PIDs, ...) for vmem arenas.
/// `in_use + free <= total`; the difference is [`overhead`](Stats::overhead) (headers, tails
/// lost to alignment, metadata kept inside the managed memory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Everything the allocator manages right now, including space it imported from a source.
    pub total: usize,
    /// Handed out to callers and not yet given back (as requested, after rounding).
    pub in_use: usize,
    /// Available for future requests.
    pub free: usize,
    /// Number of live allocations.
    pub allocations: usize,
    /// A size that one request is guaranteed to get without importing more (a lower bound
    /// when the allocator cannot know the exact largest free piece in O(1)).
    pub largest_free: usize,
}

impl Stats {
    /// `total - in_use - free`: what bookkeeping and alignment cost.
    #[must_use]
    pub const fn overhead(&self) -> usize {
        self.total
            .saturating_sub(self.in_use)
            .saturating_sub(self.free)
    }
}
