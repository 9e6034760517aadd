//! [`Arena`]: the vmem arena and its public operations.

mod inspect;
mod refill;
mod search;
mod segments;

pub use inspect::{CheckError, Counters, Segment, SegmentState, Segments, Spans};

use crate::constraints::{Constraints, Fit, Policy};
use crate::freelist::FreeLists;
use crate::hash::{Bucket, SegmentHash};
use crate::qcache::QCache;
use crate::tag::{Kind, Tag, TagId, TagPool};
use core::mem::MaybeUninit;
use kalloc_core::{Align, Error, MemorySource, NoSource, Source, SourceMut, Span};

/// Tags one operation may need at most: an import creates a span marker and its free
/// segment (2), and carving an allocation out of a free segment leaves up to two free
/// remainders beside it (2). Every operation reserves this many before it changes anything.
pub(crate) const TAGS_PER_OP: usize = 4;

/// A vmem arena: hands out segments of an integer resource (addresses, page frames, PIDs,
/// IRQ numbers) in multiples of its quantum.
///
/// * `S`: where the arena imports more of its resource when it runs out (a parent arena
///   behind a [`SourceCell`](kalloc_core::SourceCell), any [`Source`]); [`NoSource`] for an
///   arena that only serves the spans [`add`](Arena::add)ed to it.
/// * `TAGS`: boundary tags stored inline, enough for the first `TAGS / 2` or so segments;
///   more come from [`add_tag_memory`](Arena::add_tag_memory) or the tag source. One of
///   them is a sentinel that is never handed out, so `TAGS` is at least `TAGS_PER_OP + 1`
///   (five), and the first operation can always complete.
/// * `QCACHES`: how many quantum caches (sizes `quantum..=QCACHES × quantum`) the arena can
///   run; [`with_qcache_max`](Arena::with_qcache_max) turns them on.
/// * `QCAP`: segments each quantum cache holds.
/// * `M`: where the arena draws memory for more boundary tags when its free tags run low
///   ([`with_tag_source`](Arena::with_tag_source)); [`NoSource`] when only the inline tags
///   and [`add_tag_memory`](Arena::add_tag_memory) provide them.
///
/// The arena never touches a heap and never fails half-way: every operation either
/// completes or returns an error with the arena exactly as before.
pub struct Arena<
    'a,
    S: Source = NoSource,
    const TAGS: usize = 64,
    const QCACHES: usize = 8,
    const QCAP: usize = 32,
    M: MemorySource = NoSource,
> {
    name: &'a str,
    /// The grain of the resource: a power of two.
    quantum: usize,
    source: Option<S>,
    /// Imports are rounded up to a multiple of this (itself a multiple of the quantum).
    import_quantum: usize,
    pool: TagPool<'a, TAGS>,
    hash: SegmentHash<'a>,
    free: FreeLists,
    /// The address-ordered list of span markers and segments.
    first: TagId,
    last: TagId,
    /// The span markers in address order (through `link_*`).
    first_span: TagId,
    last_span: TagId,
    /// Next fit resumes its walk at this tag and its search at `cursor`.
    rotor: TagId,
    cursor: usize,
    /// Largest size the quantum caches serve (0: caches off).
    qcache_max: usize,
    caches: [QCache<QCAP>; QCACHES],
    units: Units,
    counters: Counters,
    /// Where more boundary tags come from when the pool runs low.
    tag_source: M,
    /// Bytes of tag memory drawn from `tag_source` (never given back).
    tag_memory_drawn: usize,
}

/// Running totals, so `stats` is O(1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Units {
    /// Units in all spans.
    pub(crate) total: usize,
    /// Units in allocated segments, cached ones included.
    pub(crate) allocated: usize,
    /// Units in segments sitting in quantum caches.
    pub(crate) cached: usize,
    /// Allocated segments, cached ones included.
    pub(crate) segments: usize,
    /// Segments sitting in quantum caches.
    pub(crate) cached_segments: usize,
    /// Spans (added and imported).
    pub(crate) spans: usize,
}

impl<'a> Arena<'a> {
    /// An empty arena of `quantum` (a power of two) with no source and the default
    /// parameters: it serves only the spans [`add`](Arena::add)ed to it.
    ///
    /// Errors: [`Error::BadAlign`] when `quantum` is not a power of two.
    pub const fn new(name: &'a str, quantum: usize) -> Result<Self, Error> {
        Arena::create(name, quantum)
    }
}

impl<'a, const TAGS: usize, const QCACHES: usize, const QCAP: usize>
    Arena<'a, NoSource, TAGS, QCACHES, QCAP>
{
    /// As [`new`](Arena::new), for any `TAGS`, `QCACHES` and `QCAP` (name them in the
    /// type: `let arena: Arena<'_, NoSource, 256> = Arena::create("ids", 1)?`).
    ///
    /// Errors: [`Error::BadAlign`] when `quantum` is not a power of two.
    pub const fn create(name: &'a str, quantum: usize) -> Result<Self, Error> {
        if !quantum.is_power_of_two() {
            return Err(Error::BadAlign);
        }
        Ok(Arena::empty(name, quantum, None, quantum, NoSource))
    }
}

impl<'a, S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize>
    Arena<'a, S, TAGS, QCACHES, QCAP>
{
    /// An empty arena of `quantum` that imports from `source` whenever it cannot serve a
    /// request, in spans of a multiple of `import_quantum` units, and releases each imported
    /// span back once it is wholly free.
    ///
    /// Errors: [`Error::BadAlign`] when `quantum` is not a power of two,
    /// [`Error::Misaligned`] when `import_quantum` is not a non-zero multiple of it.
    pub fn with_source(
        name: &'a str,
        quantum: usize,
        source: S,
        import_quantum: usize,
    ) -> Result<Self, Error> {
        if !quantum.is_power_of_two() {
            return Err(Error::BadAlign);
        }
        if import_quantum == 0 || import_quantum % quantum != 0 {
            return Err(Error::Misaligned);
        }
        Ok(Arena::empty(
            name,
            quantum,
            Some(source),
            import_quantum,
            NoSource,
        ))
    }
}

impl<'a, S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize, M: MemorySource>
    Arena<'a, S, TAGS, QCACHES, QCAP, M>
{
    const fn empty(
        name: &'a str,
        quantum: usize,
        source: Option<S>,
        import_quantum: usize,
        tag_source: M,
    ) -> Self {
        const {
            assert!(
                TAGS > TAGS_PER_OP,
                "an arena needs TAGS_PER_OP inline tags besides the NIL sentinel"
            )
        };
        Arena {
            name,
            quantum,
            source,
            import_quantum,
            pool: TagPool::new(),
            hash: SegmentHash::new(),
            free: FreeLists::new(),
            first: TagId::NIL,
            last: TagId::NIL,
            first_span: TagId::NIL,
            last_span: TagId::NIL,
            rotor: TagId::NIL,
            cursor: 0,
            qcache_max: 0,
            caches: [QCache::EMPTY; QCACHES],
            units: Units {
                total: 0,
                allocated: 0,
                cached: 0,
                segments: 0,
                cached_segments: 0,
                spans: 0,
            },
            counters: Counters {
                allocs: 0,
                frees: 0,
                imports: 0,
                releases: 0,
                failures: 0,
                cache_hits: 0,
                tag_refills: 0,
            },
            tag_source,
            tag_memory_drawn: 0,
        }
    }

    /// Turns on the quantum caches for every size up to `qcache_max` (a multiple of the
    /// quantum, at most `QCACHES` quanta; 0 turns them off).
    ///
    /// Errors: [`Error::Misaligned`] for a size not a multiple of the quantum,
    /// [`Error::TooLarge`] above `QCACHES` quanta, [`Error::Busy`] while any cache holds
    /// segments (call [`drain_caches`](Arena::drain_caches) first).
    pub fn with_qcache_max(mut self, qcache_max: usize) -> Result<Self, Error> {
        self.set_qcache_max(qcache_max)?;
        Ok(self)
    }

    /// The arena with `span` [`add`](Arena::add)ed: the paper's optional initial span.
    ///
    /// Errors: as [`add`](Arena::add).
    pub fn with_span(mut self, span: Span) -> Result<Self, Error> {
        self.add(span)?;
        Ok(self)
    }

    /// As [`with_qcache_max`](Arena::with_qcache_max), in place.
    pub fn set_qcache_max(&mut self, qcache_max: usize) -> Result<(), Error> {
        if qcache_max % self.quantum != 0 {
            return Err(Error::Misaligned);
        }
        if qcache_max / self.quantum > QCACHES {
            return Err(Error::TooLarge);
        }
        if self.units.cached_segments != 0 {
            return Err(Error::Busy);
        }
        self.qcache_max = qcache_max;
        Ok(())
    }

    /// The arena's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The arena's quantum.
    pub fn quantum(&self) -> usize {
        self.quantum
    }

    /// The largest size its quantum caches serve (0: none).
    pub fn qcache_max(&self) -> usize {
        self.qcache_max
    }

    /// Gives the arena `memory` for more boundary tags and returns how many it holds.
    ///
    /// Each segment and each span needs one tag. The arena starts with `TAGS` inline; add
    /// memory before [`free_tags`](Arena::free_tags) runs low, or give the arena a
    /// [tag source](Arena::with_tag_source) that refills it by itself (an operation refused
    /// for lack of tags fails with [`Error::Exhausted`] and changes nothing).
    ///
    /// Errors: [`Error::TooSmall`] for an empty slice, [`Error::TooLarge`] once 31 chunks
    /// have been added, by this call or by refills from the tag source (add fewer, larger
    /// chunks).
    pub fn add_tag_memory(&mut self, memory: &'a mut [MaybeUninit<Tag>]) -> Result<usize, Error> {
        self.pool.add_memory(memory)
    }

    /// Unused boundary tags.
    pub fn free_tags(&self) -> usize {
        self.pool.free_count()
    }

    /// Moves the allocated-segment hash table into `memory` (its length rounded down to a
    /// power of two), rehashing every entry at once, and returns the memory of the previous
    /// table, if it was caller memory.
    ///
    /// The table starts with 32 inline buckets; once the arena holds more allocated
    /// segments than buckets, [`wants_hash_memory`](Arena::wants_hash_memory) says
    /// how many buckets to provide to keep lookups O(1).
    ///
    /// Errors: [`Error::TooSmall`] unless `memory` holds more buckets than the table has.
    pub fn add_hash_memory(
        &mut self,
        memory: &'a mut [MaybeUninit<Bucket>],
    ) -> Result<Option<&'a mut [MaybeUninit<Bucket>]>, Error> {
        self.hash.install(&mut self.pool, memory)
    }

    /// The number of buckets to give [`add_hash_memory`](Arena::add_hash_memory) (twice the
    /// current table) when the table holds more segments than buckets.
    pub fn wants_hash_memory(&self) -> Option<usize> {
        self.hash.wants_growth().then(|| 2 * self.hash.buckets())
    }

    /// Buckets in the hash table.
    pub fn hash_buckets(&self) -> usize {
        self.hash.buckets()
    }

    /// Adds `span` to the arena. Added spans are never released to the source.
    ///
    /// Errors: [`Error::ZeroSize`] for an empty span, [`Error::Misaligned`] when its base or
    /// length is not a multiple of the quantum, [`Error::Overlap`] when it overlaps a span
    /// the arena has, [`Error::Exhausted`] without two free tags.
    pub fn add(&mut self, span: Span) -> Result<(), Error> {
        self.replenish_tags();
        let result = self.add_span(span, false).map(|_| ());
        if result.is_err() {
            self.counters.failures += 1;
        }
        result
    }

    /// Allocates `size` units (rounded up to the quantum) and returns the base.
    ///
    /// Sizes up to [`qcache_max`](Arena::qcache_max) come from the quantum caches (except
    /// under [`Policy::NextFit`], which must follow its cursor).
    ///
    /// Errors: [`Error::ZeroSize`], [`Error::Overflow`] when rounding overflows,
    /// [`Error::Exhausted`] when neither the arena nor its source can serve it (or tags
    /// ran out), or the source's own error.
    pub fn alloc(&mut self, size: usize, policy: Policy) -> Result<usize, Error> {
        let result = self.round(size).and_then(|size| {
            if policy != Policy::NextFit && size <= self.qcache_max {
                self.cache_alloc(size)
            } else {
                let id = self.alloc_fit(&Fit::plain(size, self.quantum), policy)?;
                Ok(self.pool.get(id).base)
            }
        });
        self.tally(result)
    }

    /// Allocates `size` units placed as `constraints` demand; never served by the quantum
    /// caches. `[min, max)` bounds the whole segment.
    ///
    /// Errors: as [`alloc`](Arena::alloc), plus those of invalid constraints:
    /// [`Error::BadAlign`] (align or nocross not a power of two), [`Error::Misaligned`]
    /// (phase not a multiple of the quantum), [`Error::BadConstraint`] (phase ≥ align,
    /// nocross < size, min ≥ max, or a window smaller than the size).
    pub fn xalloc(
        &mut self,
        size: usize,
        constraints: &Constraints,
        policy: Policy,
    ) -> Result<usize, Error> {
        let result = self.round(size).and_then(|size| {
            let fit = constraints.normalize(size, self.quantum)?;
            let id = self.alloc_fit(&fit, policy)?;
            Ok(self.pool.get(id).base)
        });
        self.tally(result)
    }

    /// [`xalloc`](Arena::xalloc) with the paper's arguments: `align` and `nocross` 0 mean
    /// none, `maxaddr` 0 means no upper bound.
    #[allow(clippy::too_many_arguments)]
    pub fn vmem_xalloc(
        &mut self,
        size: usize,
        align: usize,
        phase: usize,
        nocross: usize,
        minaddr: usize,
        maxaddr: usize,
        policy: Policy,
    ) -> Result<usize, Error> {
        let constraints = Constraints::new()
            .align(if align == 0 { 1 } else { align })
            .phase(phase)
            .nocross(nocross)
            .min(minaddr)
            .max(if maxaddr == 0 { usize::MAX } else { maxaddr });
        self.xalloc(size, &constraints, policy)
    }

    /// Frees the segment of `size` units (rounded up to the quantum) at `base`. Sizes up to
    /// [`qcache_max`](Arena::qcache_max) go back to the quantum caches.
    ///
    /// Errors, each leaving the arena unchanged: [`Error::ZeroSize`]; [`Error::WrongSize`]
    /// when the segment at `base` has another size; [`Error::DoubleFree`] when `base` lies
    /// in free or cached space; [`Error::ForeignPointer`] when it is not the base of an
    /// allocated segment.
    pub fn free(&mut self, base: usize, size: usize) -> Result<(), Error> {
        let result = self.round(size).and_then(|size| {
            let id = self.find_allocated(base, size)?;
            if size <= self.qcache_max {
                self.cache_free(id, size);
            } else {
                self.free_segment(id);
            }
            Ok(())
        });
        self.tally_free(result)
    }

    /// Frees a segment straight to the arena, bypassing the quantum caches (the
    /// counterpart of [`xalloc`](Arena::xalloc); either free works for either allocation).
    ///
    /// Errors: as [`free`](Arena::free).
    pub fn xfree(&mut self, base: usize, size: usize) -> Result<(), Error> {
        let result = self.round(size).and_then(|size| {
            let id = self.find_allocated(base, size)?;
            self.free_segment(id);
            Ok(())
        });
        self.tally_free(result)
    }

    /// Returns every cached segment to the arena (coalescing, and releasing imported spans
    /// that become wholly free).
    pub fn drain_caches(&mut self) {
        for index in 0..QCACHES {
            while let Some(id) = self.caches[index].pop() {
                self.uncache(id);
                self.free_segment(id);
            }
        }
    }

    /// `size` rounded up to the quantum, refusing zero and overflow.
    fn round(&self, size: usize) -> Result<usize, Error> {
        if size == 0 {
            return Err(Error::ZeroSize);
        }
        size.checked_next_multiple_of(self.quantum)
            .ok_or(Error::Overflow)
    }

    fn tally(&mut self, result: Result<usize, Error>) -> Result<usize, Error> {
        match result {
            Ok(_) => self.counters.allocs += 1,
            Err(_) => self.counters.failures += 1,
        }
        result
    }

    fn tally_free(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        match result {
            Ok(()) => self.counters.frees += 1,
            Err(_) => self.counters.failures += 1,
        }
        result
    }

    /// The allocated, uncached segment of `size` at `base`, or the error that explains why
    /// there is none.
    fn find_allocated(&self, base: usize, size: usize) -> Result<TagId, Error> {
        let id = self.hash.find(&self.pool, base);
        if id.is_nil() {
            return Err(self.diagnose_free(base));
        }
        let tag = self.pool.get(id);
        if tag.flag {
            return Err(Error::DoubleFree);
        }
        if tag.size != size {
            return Err(Error::WrongSize);
        }
        Ok(id)
    }

    /// Why `base` is not the base of an allocated segment: it lies in free space (a double
    /// free) or nowhere the arena hands out. O(segments), on the error path only.
    fn diagnose_free(&self, base: usize) -> Error {
        let mut id = self.first;
        while !id.is_nil() {
            let tag = self.pool.get(id);
            if tag.kind == Kind::Free && tag.base <= base && base < tag.end() {
                return Error::DoubleFree;
            }
            id = tag.next;
        }
        Error::ForeignPointer
    }

    fn cache_alloc(&mut self, size: usize) -> Result<usize, Error> {
        let index = size / self.quantum - 1;
        let id = match self.caches[index].pop() {
            Some(id) => {
                self.counters.cache_hits += 1;
                id
            }
            None => {
                self.refill_cache(index, size)?;
                self.caches[index].pop().ok_or(Error::Exhausted)?
            }
        };
        self.uncache(id);
        Ok(self.pool.get(id).base)
    }

    /// Fills cache `index` to half its capacity from the arena; fails only when not even
    /// one segment could be had.
    fn refill_cache(&mut self, index: usize, size: usize) -> Result<(), Error> {
        let fit = Fit::plain(size, self.quantum);
        for filled in 0..QCAP.div_ceil(2) {
            match self.alloc_fit(&fit, Policy::InstantFit) {
                Ok(id) => {
                    self.cache(id);
                    let pushed = self.caches[index].push(id);
                    debug_assert!(pushed, "refilling a cache that was not empty");
                }
                Err(error) if filled == 0 => return Err(error),
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn cache_free(&mut self, id: TagId, size: usize) {
        let index = size / self.quantum - 1;
        if self.caches[index].is_full() {
            // Drain half, oldest last, so the cache keeps its most recent segments warm.
            for _ in 0..QCAP.div_ceil(2) {
                if let Some(old) = self.caches[index].pop() {
                    self.uncache(old);
                    self.free_segment(old);
                }
            }
        }
        self.cache(id);
        let pushed = self.caches[index].push(id);
        debug_assert!(pushed, "a drained cache has room");
    }

    fn cache(&mut self, id: TagId) {
        let tag = self.pool.get_mut(id);
        debug_assert!(tag.kind == Kind::Allocated && !tag.flag);
        tag.flag = true;
        self.units.cached += tag.size;
        self.units.cached_segments += 1;
    }

    fn uncache(&mut self, id: TagId) {
        let tag = self.pool.get_mut(id);
        debug_assert!(tag.kind == Kind::Allocated && tag.flag);
        tag.flag = false;
        self.units.cached -= tag.size;
        self.units.cached_segments -= 1;
    }

    /// Whether any quantum cache holds a segment.
    fn caches_hold_segments(&self) -> bool {
        self.units.cached_segments != 0
    }
}

/// The arena as a source for child arenas: wrap it in a
/// [`SourceCell`](kalloc_core::SourceCell) (or kalloc-sync's lock) to share it through `&`.
/// Imports are instant-fit `xalloc`s aligned as asked; releases are `xfree`s.
impl<S: Source, const TAGS: usize, const QCACHES: usize, const QCAP: usize, M: MemorySource>
    SourceMut for Arena<'_, S, TAGS, QCACHES, QCAP, M>
{
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        let size = self.round(size)?;
        let constraints = Constraints::new().align(align.get());
        let base = self.xalloc(size, &constraints, Policy::InstantFit)?;
        Span::try_new(base, size)
    }

    fn release(&mut self, span: Span) -> Result<(), Error> {
        self.xfree(span.base(), span.len())
    }
}

#[cfg(test)]
mod tests;
