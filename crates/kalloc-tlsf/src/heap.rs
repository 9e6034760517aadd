//! [`Tlsf`]: the heap. Allocation, free with coalescing, in-place resizing, growth.

use crate::block::{Block, FLAGS, PREV_FREE, USED, size_of_header};
use crate::class::{Classes, GRANULE, HEADER, MIN_BLOCK};
use crate::lists::FreeLists;
use crate::pool::{self, MIN_POOL, TRAILER, Trailer};
use crate::wilderness::Wilderness;
use crate::window::{Lookahead, Window};
use core::alloc::Layout;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kalloc_core::{Align, ByteHeap, Error, GrowableHeap, MemorySource, NoSource, Stats};

/// Default number of first-level classes: blocks up to 512 GiB on 64-bit targets, 2 GiB
/// on 32-bit ones.
#[cfg(target_pointer_width = "64")]
pub const DEFAULT_FL: usize = 31;
/// Default number of second-level classes per power of two.
#[cfg(target_pointer_width = "64")]
pub const DEFAULT_SL: usize = 32;
/// Default number of first-level classes: blocks up to 512 GiB on 64-bit targets, 2 GiB
/// on 32-bit ones.
#[cfg(not(target_pointer_width = "64"))]
pub const DEFAULT_FL: usize = 25;
/// Default number of second-level classes per power of two.
#[cfg(not(target_pointer_width = "64"))]
pub const DEFAULT_SL: usize = 16;

// The defaults must be valid on every target, checked when the library itself builds (a
// bare-metal 32-bit build fails here, not in a user's crate).
const _: () = crate::class::Classes::<DEFAULT_FL, DEFAULT_SL>::VALID;

/// Default minimum import from the source: growth asks for at least this much at once.
pub const DEFAULT_MIN_IMPORT: usize = 64 * 1024;

/// An O(1) two-level segregated fit heap.
///
/// * `'mem`: how long the pools it was given live.
/// * `S`: where it grows from when a request does not fit ([`NoSource`]: it never grows).
/// * `FL`, `SL`: the number of first-level classes (powers of two) and of second-level
///   classes per power of two; they bound the largest block ([`Tlsf::MAX_BLOCK`]) and the
///   size of the heap's own record (`FL × SL` list heads).
///
/// Allocation, free (coalescing with both neighbours) and in-place resizing take a bounded
/// number of steps whatever the heap holds; see the crate docs for the bound. `free` and
/// `realloc` find the pool of a pointer in O(1) when it lies in the pool last used (always,
/// for a heap of one pool), else by one walk of the pool list.
///
/// **Release policy.** A pool imported from the source that becomes entirely free is
/// released back to it, except that one such pool is kept as a spare (so a workload that
/// repeatedly needs one more pool does not import and release it every time).
/// [`release_free_pools`](Tlsf::release_free_pools) releases the spare too. Dropping the
/// heap releases every imported pool, whatever it still holds.
pub struct Tlsf<
    'mem,
    S: MemorySource = NoSource,
    const FL: usize = DEFAULT_FL,
    const SL: usize = DEFAULT_SL,
> {
    pub(crate) lists: FreeLists<FL, SL>,
    /// The free block kept out of the lists, carved without reading the pool (see
    /// [`Wilderness`]).
    pub(crate) wilderness: Wilderness,
    /// The pool `free` looks in first; header pointers derive from its base pointer.
    pub(crate) window: Window,
    /// Head of the pool list (threaded through the trailers).
    pub(crate) pools: Option<NonNull<Trailer>>,
    /// An entirely free imported pool kept instead of being released (may have been used
    /// since: checked before it is relied on).
    pub(crate) spare: Option<NonNull<Trailer>>,
    pub(crate) source: S,
    pub(crate) min_import: usize,
    /// Sum of the lengths of all pools.
    pub(crate) total: usize,
    /// Bytes of the pools that no block covers: trailers and the slack past the last word.
    /// Free block bytes are `total - used_bytes - reserved`, so no counter is kept for them.
    pub(crate) reserved: usize,
    /// Number of imported pools (dropping the heap releases them).
    pub(crate) imported: usize,
    /// Sum of the sizes of used blocks, and their number.
    pub(crate) used_bytes: usize,
    pub(crate) used_count: usize,
    _mem: PhantomData<&'mem mut [u8]>,
}

// SAFETY: the heap owns its pools exclusively (the `add_pool` contract); nothing in it is
// tied to a thread, so moving it moves that ownership. Its source moves along (S: Send).
unsafe impl<S: MemorySource + Send, const FL: usize, const SL: usize> Send for Tlsf<'_, S, FL, SL> {}

impl<'mem> Tlsf<'mem> {
    /// An empty heap with the default geometry and no source; give it memory with
    /// [`add_pool`](Tlsf::add_pool) or [`add_pool_slice`](Tlsf::add_pool_slice).
    #[must_use]
    pub const fn new() -> Self {
        Tlsf::with_source(NoSource)
    }
}

impl Default for Tlsf<'_> {
    fn default() -> Self {
        Tlsf::new()
    }
}

impl<'mem, S: MemorySource, const FL: usize, const SL: usize> Tlsf<'mem, S, FL, SL> {
    /// The largest block the geometry can hold (the largest request is `MAX_BLOCK - HEADER`).
    pub const MAX_BLOCK: usize = Classes::<FL, SL>::MAX_BLOCK;
    /// The largest alignment a request may ask for; larger ones fail with
    /// [`Error::BadAlign`].
    pub const MAX_ALIGN: usize = Classes::<FL, SL>::MAX_ALIGN;
    /// The smallest pool [`add_pool`](Tlsf::add_pool) accepts.
    pub const MIN_POOL: usize = MIN_POOL;
    /// Bytes each live allocation costs beyond its rounded size: one header word.
    pub const OVERHEAD: usize = HEADER;
    /// Every payload is aligned to this, two `usize`s (16 bytes on 64-bit targets), whatever
    /// the request's alignment; blocks are whole multiples of it. Requests aligned up to it
    /// cost no more than word-aligned ones.
    pub const GRANULE: usize = GRANULE;

    /// An empty heap that grows from `source` when a request does not fit.
    #[must_use]
    pub const fn with_source(source: S) -> Self {
        let () = Classes::<FL, SL>::VALID;
        Tlsf {
            lists: FreeLists::new(),
            wilderness: Wilderness::NONE,
            window: Window::EMPTY,
            pools: None,
            spare: None,
            source,
            min_import: DEFAULT_MIN_IMPORT,
            total: 0,
            reserved: 0,
            imported: 0,
            used_bytes: 0,
            used_count: 0,
            _mem: PhantomData,
        }
    }

    /// The source the heap grows from.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Sets the smallest span growth imports at once (default [`DEFAULT_MIN_IMPORT`]); a
    /// request that needs more imports what it needs. If the source refuses the larger
    /// span, the heap retries with just what the request needs.
    pub fn set_min_import(&mut self, bytes: usize) {
        self.min_import = bytes;
    }

    /// The block size that holds `size` payload bytes: header added, rounded up to a
    /// [`GRANULE`], at least [`MIN_BLOCK`].
    #[inline(always)]
    fn block_size(size: usize) -> Result<usize, Error> {
        let rounded = size
            .checked_add(HEADER + GRANULE - 1)
            .ok_or(Error::Overflow)?
            & !(GRANULE - 1);
        let need = if rounded < MIN_BLOCK {
            MIN_BLOCK
        } else {
            rounded
        };
        if need > Classes::<FL, SL>::MAX_BLOCK {
            return Err(Error::TooLarge);
        }
        Ok(need)
    }

    /// [`block_size`](Self::block_size) for a `Layout`'s size, without the limit check: a
    /// size above [`MAX_BLOCK`](Tlsf::MAX_BLOCK) finds no class, and the slow path that
    /// follows reports it. It is also the size `alloc` gives the block, unless the block it
    /// carved from kept a remainder too small to split off, so the look-ahead guesses the
    /// successor with it, and [`used_header`](Self::used_header)'s size check compares
    /// with it.
    #[inline(always)]
    fn layout_block_size(size: usize) -> usize {
        // A `Layout` size is at most isize::MAX: the sum cannot wrap.
        let rounded = (size + (HEADER + GRANULE - 1)) & !(GRANULE - 1);
        rounded.max(MIN_BLOCK)
    }

    /// Validates `layout` and returns the block size it needs (`None` for zero size).
    #[inline(always)]
    fn request(layout: Layout) -> Result<Option<usize>, Error> {
        if layout.align() > GRANULE && layout.align() > Classes::<FL, SL>::MAX_ALIGN {
            return Err(Error::BadAlign);
        }
        if layout.size() == 0 {
            return Ok(None);
        }
        Self::block_size(layout.size()).map(Some)
    }

    /// The well-aligned dangling pointer zero-size requests get.
    fn dangling(align: usize) -> NonNull<u8> {
        // `align` is a non-zero power of two; such a pointer is never dereferenced.
        NonNull::new(core::ptr::without_provenance_mut(align)).unwrap_or(NonNull::dangling())
    }

    /// Takes the good fit for a block of `request` bytes, the first class all of whose
    /// blocks hold them: the lowest such class that has a block, counting the wilderness in
    /// its class; in a tie the listed block goes first, so the wilderness stays whole.
    /// Returns the block, its size and whether it was the wilderness. `None` also for
    /// `request` above `MAX_BLOCK`.
    #[inline(always)]
    fn take_good_fit(&mut self, request: usize) -> Option<(Block, usize, bool)> {
        let (fl, sl) = Classes::<FL, SL>::ceil(request)?;
        let lowest = Classes::<FL, SL>::join(fl, sl);
        // Zero without a wilderness, below every request's class.
        let wild = self.wilderness.class();
        match self.lists.first_at_or_above(fl, sl) {
            Some((fl, sl)) if wild < lowest || Classes::<FL, SL>::join(fl, sl) <= wild => {
                // SAFETY: the search returns a class whose bitmap bit is set, below FL;
                // the lists are consistent (heap invariant).
                let (block, size) = unsafe { self.lists.pop(fl, sl) };
                Some((block, size, false))
            }
            // The wilderness's class is at least `lowest`: it holds `request`.
            _ if lowest <= wild => self
                .wilderness
                .get()
                .map(|(block, size)| (block, size, true)),
            _ => None,
        }
    }

    /// Takes a free block of at least `need` bytes, in the search order: the good fit,
    /// else [`take_second_chance`](Tlsf::take_second_chance). Returns the block, its size
    /// and whether it was the wilderness.
    #[inline(always)]
    fn take_fit(&mut self, need: usize) -> Option<(Block, usize, bool)> {
        self.take_good_fit(need)
            .or_else(|| self.take_second_chance(need))
    }

    /// What may still hold `need` bytes when no class whose blocks all fit has a block:
    /// the wilderness at its exact size, else the head of `need`'s own class if it fits
    /// (this recovers what the round-up leaves idle). Returns the block, its size and
    /// whether it was the wilderness.
    #[inline(always)]
    fn take_second_chance(&mut self, need: usize) -> Option<(Block, usize, bool)> {
        if let Some((block, size)) = self.wilderness.fitting(need) {
            return Some((block, size, true));
        }
        self.take_fit_below(need)
            .map(|(block, size)| (block, size, false))
    }

    /// The head of `need`'s own class, if it holds `need` bytes (the last of
    /// [`take_second_chance`](Tlsf::take_second_chance)). Out of line: it runs only when
    /// the heap is nearly full, and inline its class computation got hoisted into every
    /// allocation.
    #[cold]
    #[inline(never)]
    fn take_fit_below(&mut self, need: usize) -> Option<(Block, usize)> {
        if need > Classes::<FL, SL>::MAX_BLOCK {
            return None;
        }
        let (fl, sl) = Classes::<FL, SL>::floor(need);
        let head = self.lists.head(fl, sl)?;
        // SAFETY: a listed block is a free block of this heap.
        let size = unsafe { head.size() };
        if size < need {
            return None;
        }
        // SAFETY: as above; `head` indexed `(fl, sl)` checked, so `fl < FL`, and the list
        // is not empty.
        Some(unsafe { self.lists.pop(fl, sl) })
    }

    /// Bytes to skip at the front of free block `block` (of `size` bytes) so that its
    /// payload is aligned to `align` and the skipped part is either nothing or a valid
    /// free block; `None` when `need` bytes no longer fit after it.
    #[inline]
    fn aligned_gap(block: Block, size: usize, need: usize, align: Align) -> Option<usize> {
        let payload = block.addr().checked_add(HEADER)?;
        let mut gap = align.align_up(payload)? - payload;
        if gap != 0 && gap < MIN_BLOCK {
            // Step on by whole alignments until the gap can hold a free block.
            gap = gap.checked_add(align.align_up(MIN_BLOCK - gap)?)?;
        }
        (gap.checked_add(need)? <= size).then_some(gap)
    }

    /// As [`take_fit`](Tlsf::take_fit) for `align > GRANULE`: the block, its size, the front
    /// gap and whether it was the wilderness.
    fn take_aligned(
        &mut self,
        need: usize,
        align: Align,
    ) -> Result<Option<(Block, usize, usize, bool)>, Error> {
        // Enough for the payload whatever the block's address: a gap is a whole number of
        // granules (payloads and `align` are granule multiples), either at most
        // `align - GRANULE`, or stepped past MIN_BLOCK by one alignment, so it is at most
        // `align + MIN_BLOCK - GRANULE`.
        let padded = need
            .checked_add(align.get() + MIN_BLOCK - GRANULE)
            .ok_or(Error::Overflow)?;
        if padded > Classes::<FL, SL>::MAX_BLOCK {
            return Err(Error::TooLarge);
        }
        if let Some((block, size, wild)) = self.take_good_fit(padded) {
            let gap = Self::aligned_gap(block, size, need, align);
            debug_assert!(gap.is_some(), "a padded class always fits");
            match gap {
                Some(gap) => return Ok(Some((block, size, gap, wild))),
                // The wilderness stays where it is; a listed block goes back.
                None if wild => {}
                // SAFETY: `block` was just popped: free, unlisted, `size` bytes.
                None => unsafe { self.lists.insert(block, size) },
            }
        }
        // Bounded fallback: the wilderness, then the heads of the classes of `padded` and
        // of `need`, may fit at their actual address.
        if let Some((block, size)) = self.wilderness.get() {
            if let Some(gap) = Self::aligned_gap(block, size, need, align) {
                return Ok(Some((block, size, gap, true)));
            }
        }
        for size in [padded, need] {
            let (fl, sl) = Classes::<FL, SL>::floor(size);
            if let Some(head) = self.lists.head(fl, sl) {
                // SAFETY: a listed block is a free block of this heap.
                let head_size = unsafe { head.size() };
                if let Some(gap) = Self::aligned_gap(head, head_size, need, align) {
                    // SAFETY: `head` is listed with `head_size` bytes.
                    unsafe { self.lists.remove(head) };
                    return Ok(Some((head, head_size, gap, false)));
                }
            }
        }
        Ok(None)
    }

    /// The aligned search (`align > GRANULE`), growing if needed.
    #[inline]
    fn find_aligned(
        &mut self,
        need: usize,
        layout: Layout,
    ) -> Result<(Block, usize, usize, bool), Error> {
        if let Some(found) = self.take_aligned(need, Align::of_layout(layout))? {
            return Ok(found);
        }
        self.find_after_growth(need, layout)
    }

    /// Imports a pool big enough for `layout`, then searches again.
    #[cold]
    #[inline(never)]
    fn find_after_growth(
        &mut self,
        need: usize,
        layout: Layout,
    ) -> Result<(Block, usize, usize, bool), Error> {
        let pool = self.pool_size_for(layout)?;
        self.import_pool(pool)?;
        let found = if layout.align() <= GRANULE {
            self.take_fit(need)
                .map(|(block, size, wild)| (block, size, 0, wild))
        } else {
            self.take_aligned(need, Align::of_layout(layout))?
        };
        // `pool_size_for` guarantees the new pool serves the request.
        found.ok_or(Error::Exhausted)
    }

    /// Turns the unlisted free block `block` of `size` bytes into a used block of `need`
    /// bytes starting `gap` bytes in; the gap goes back to the lists, and so does any tail
    /// of at least [`MIN_BLOCK`], unless `block` is the wilderness (`wild`): then the tail
    /// is the new wilderness. Returns the payload pointer.
    ///
    /// # Safety
    /// `block` must be a free, unlisted block of `size` bytes (or, when `wild`, the
    /// wilderness) with `gap + need <= size`, `gap` zero or at least `MIN_BLOCK`.
    #[inline(always)]
    unsafe fn carve(
        &mut self,
        block: Block,
        size: usize,
        gap: usize,
        need: usize,
        wild: bool,
    ) -> NonNull<u8> {
        debug_assert_eq!(wild, self.wilderness.is(block));
        if wild {
            self.wilderness.clear();
        }
        // Counted apart from `used_bytes` below: adjacent updates of the two counters get
        // merged into a slower vector read-modify-write.
        self.used_count += 1;
        // SAFETY: every block written below lies inside `block` or is its successor.
        unsafe {
            let (block, size, prev_flag) = if gap == 0 {
                // A free block's predecessor is used: no PREV_FREE to keep.
                (block, size, 0)
            } else {
                block.set_header(gap);
                block.set_footer(gap);
                self.lists.insert(block, gap);
                (block.offset(gap), size - gap, PREV_FREE)
            };
            let rest = size - need;
            if rest >= MIN_BLOCK {
                let tail = block.offset(need);
                tail.set_header(rest);
                tail.set_footer(rest);
                self.file(tail, rest, wild);
                block.set_header(need | USED | prev_flag);
                self.used_bytes += need;
            } else {
                block.set_header(size | USED | prev_flag);
                let next = block.offset(size);
                next.set_header(next.header() & !PREV_FREE);
                self.used_bytes += size;
            }
            block.payload()
        }
    }

    /// Allocates a block for `layout`, growing from the source if nothing fits.
    ///
    /// Zero-size layouts get a dangling pointer aligned to `layout.align()` that uses no
    /// memory. Errors: [`Error::BadAlign`] above [`MAX_ALIGN`](Tlsf::MAX_ALIGN),
    /// [`Error::Overflow`] when size plus header wraps, [`Error::TooLarge`] above
    /// [`MAX_BLOCK`](Tlsf::MAX_BLOCK), [`Error::Exhausted`] when nothing fits and the
    /// source has nothing either (or the source's own error). Never panics.
    #[inline(always)]
    pub fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        if layout.align() > GRANULE {
            return self.alloc_aligned(layout);
        }
        // Every payload is granule-aligned, so only the size needs validating here.
        const { assert!(Classes::<FL, SL>::MAX_ALIGN >= GRANULE) };
        if layout.size() == 0 {
            return Ok(Self::dangling(layout.align()));
        }
        // Unchecked: a size above MAX_BLOCK fits nowhere, and growth refuses it
        // (`pool_size_for`) with the error `block_size` would give.
        let need = Self::layout_block_size(layout.size());
        if let Some((block, size, wild)) = self.take_good_fit(need) {
            // SAFETY: an unfiled free block (or the wilderness, as `wild` says) of at
            // least `need` bytes.
            return Ok(unsafe { self.carve(block, size, 0, need, wild) });
        }
        self.alloc_last_chance(need, layout)
    }

    /// [`alloc`](Tlsf::alloc) for `align <= GRANULE` when no class whose blocks all fit has a
    /// block: the second chance, else growth.
    #[cold]
    #[inline(never)]
    fn alloc_last_chance(&mut self, need: usize, layout: Layout) -> Result<NonNull<u8>, Error> {
        let (block, size, gap, wild) = match self.take_second_chance(need) {
            Some((block, size, wild)) => (block, size, 0, wild),
            None => self.find_after_growth(need, layout)?,
        };
        // SAFETY: the search returns an unlisted free block (or the wilderness, as `wild`
        // says) with a valid gap that fits `need`.
        Ok(unsafe { self.carve(block, size, gap, need, wild) })
    }

    /// [`alloc`](Tlsf::alloc) for `align > GRANULE`: kept out of line, so the common
    /// path neither checks the alignment against `MAX_ALIGN` nor carries the gap split.
    #[inline(never)]
    fn alloc_aligned(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        let Some(need) = Self::request(layout)? else {
            return Ok(Self::dangling(layout.align()));
        };
        let (block, size, gap, wild) = self.find_aligned(need, layout)?;
        // SAFETY: the search returns an unlisted free block (or the wilderness, as `wild`
        // says) with a valid gap that fits `need`.
        Ok(unsafe { self.carve(block, size, gap, need, wild) })
    }

    /// The used block behind `ptr` and its header, after the checks release builds make
    /// (alignment, the pointer lies in a pool, the used bit, the size against `layout`),
    /// with the successor's header read ahead (see [`Lookahead::read`]). The block pointer
    /// carries its pool's provenance, not `ptr`'s (see [`Window`]).
    ///
    /// The successor's header is where `alloc` put it unless the block kept a remainder
    /// too small to split: it is asked for together with the block's own, so in a heap
    /// larger than the caches the two misses overlap instead of chaining.
    ///
    /// # Safety
    /// `ptr` must satisfy [`ByteHeap::deallocate`]'s contract, except that the mistakes
    /// this reports are caught instead of corrupting the heap.
    #[inline(always)]
    unsafe fn used_block(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
    ) -> Result<(Block, usize, Lookahead), Error> {
        let block = self.locate(ptr, layout)?;
        // The size `alloc` gave this block unless it kept a remainder too small to split.
        let predicted = Self::layout_block_size(layout.size());
        // SAFETY: forwarded from the caller; the window found the block's position.
        let header = unsafe { Self::used_header(block, predicted) }?;
        // SAFETY: `block` is a block of a pool, and `used_header` checked that its size is
        // at least `predicted`, a whole number of words, at least `MIN_BLOCK`.
        let ahead = unsafe { Lookahead::read(block, predicted) };
        Ok((block, header, ahead))
    }

    /// The header position behind payload `ptr`, with the provenance of its pool: refuses
    /// a pointer misaligned for `layout` or for a word, or outside every pool.
    #[inline(always)]
    fn locate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<Block, Error> {
        let addr = ptr.as_ptr().addr();
        // No payload of this heap is misaligned for its layout. (Off a granule boundary the
        // window refuses it.)
        if addr & (layout.align() - 1) != 0 {
            return Err(Error::ForeignPointer);
        }
        if let Some(block) = self.window.block(addr) {
            return Ok(block);
        }
        self.move_window(addr).ok_or(Error::ForeignPointer)
    }

    /// The header of the block [`locate`](Self::locate) found for a payload, after the
    /// used bit is checked and the size is checked against `need`, the block size its
    /// layout asks for ([`layout_block_size`](Self::layout_block_size)).
    ///
    /// # Safety
    /// `block` must come from [`locate`](Self::locate) for a payload this heap handed out.
    #[inline(always)]
    unsafe fn used_header(block: Block, need: usize) -> Result<usize, Error> {
        // SAFETY: `block` is a word-aligned header position inside a pool of this heap
        // (the window says so); the caller passes a payload this heap handed out.
        let header = unsafe { block.header() };
        if header & USED == 0 {
            return Err(Error::DoubleFree);
        }
        // Every block is whole words and at least `MIN_BLOCK`, so it holds a layout's
        // bytes exactly when it is at least the block size that layout asks for. A size
        // corrupted below that (below one word, say) is refused too: the look-ahead in
        // `used_block` relies on it.
        if size_of_header(header) < need {
            return Err(Error::WrongSize);
        }
        Ok(header)
    }

    /// Points the window at the pool holding payload address `addr` and returns its
    /// block; `None` when no pool holds it. O(pools).
    #[cold]
    #[inline(never)]
    fn move_window(&mut self, addr: usize) -> Option<Block> {
        let window = self.pool_window(addr)?;
        self.window = window;
        window.block(addr)
    }

    /// The window over the pool whose payload range holds `addr` (past its first header,
    /// before its trailer). O(pools).
    pub(crate) fn pool_window(&self, addr: usize) -> Option<Window> {
        let mut pool = self.pools;
        while let Some(trailer) = pool {
            // SAFETY: listed trailers are live records.
            let info = unsafe { pool::read(trailer) };
            let window = Window::of(trailer, &info);
            if window.block(addr).is_some() {
                return Some(window);
            }
            pool = info.next;
        }
        None
    }

    /// Frees the used block `block` whose header is `header`, merging it with free
    /// neighbours, and applies the release policy if its pool became entirely free.
    ///
    /// Reads no header beyond the block's successor: when the block merges with a free
    /// successor, the block after that already has `PREV_FREE` set (a free block's
    /// successor always does) and the window tells whether the merged block fills its
    /// pool. In a heap larger than the caches that header would be one more miss, and one
    /// that waits for the successor's size.
    ///
    /// # Safety
    /// `block` must be a used block of this heap with that header, in the pool the window
    /// is over, and nothing may have been written since `ahead` was read.
    #[inline(always)]
    unsafe fn free_block(&mut self, block: Block, header: usize, ahead: Lookahead) {
        // The release test below (`spans_pool`) relies on it.
        debug_assert_eq!(
            self.window.block(block.addr() + HEADER),
            Some(block),
            "a block freed outside the window's pool"
        );
        let mut size = size_of_header(header);
        // The two counters apart, as in `carve`.
        self.used_count -= 1;
        // SAFETY: `block` and its physical neighbours are blocks of this heap; PREV_FREE
        // says a footer lies below the header; a free successor is listed. Nothing was
        // written since the look-ahead (caller).
        unsafe {
            let mut start = block;
            // Whether the merged block takes in the wilderness, and so becomes it.
            let mut wild = false;
            let next = block.offset(size);
            let next_header = ahead.header_of(next);
            if next_header & USED == 0 {
                let next_size = size_of_header(next_header);
                wild = self.unfile(next);
                size += next_size;
            } else {
                next.set_header(next_header | PREV_FREE);
            }
            if header & PREV_FREE != 0 {
                // This header ends up inside the merged block: clear its used bit so a
                // second free of the same pointer is still caught.
                block.set_header(header & !USED);
                let prev_size = block.prev_footer();
                start = block.back(prev_size);
                wild |= self.unfile(start);
                size += prev_size;
            }
            start.set_header(size);
            start.set_footer(size);
            let after = start.offset(size);
            debug_assert!(
                after.header() & PREV_FREE != 0,
                "the successor of a free block lacks PREV_FREE"
            );
            self.file(start, size, wild);
            self.used_bytes -= size_of_header(header);
            if self.window.spans_pool(start.addr(), size) {
                // The merged block is the whole pool, so `after` is the pool's sentinel,
                // the first word of its trailer, which is listed.
                self.pool_emptied(after.ptr().cast::<Trailer>());
            }
        }
    }

    /// Frees `ptr`, allocated for `layout`.
    ///
    /// Detected and refused, leaving the heap unchanged: a pointer not aligned to `usize`
    /// or to `layout.align()` ([`Error::ForeignPointer`]), a block that is not in use
    /// ([`Error::DoubleFree`]: a second free, as long as the memory was not handed out
    /// again meanwhile), a `layout.size()` larger than the block ([`Error::WrongSize`]).
    /// With debug assertions, a pointer outside every pool is [`Error::ForeignPointer`]
    /// too. Zero-size layouts are a no-op.
    ///
    /// # Safety
    /// `ptr` must have been returned by this heap for `layout` and not freed since.
    #[inline(always)]
    pub unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error> {
        if layout.size() == 0 {
            return Ok(());
        }
        // SAFETY: forwarded from the caller.
        let (block, header, ahead) = unsafe { self.used_block(ptr, layout) }?;
        // SAFETY: a used block with this header, found through the window; nothing was
        // written since the look-ahead.
        unsafe { self.free_block(block, header, ahead) };
        Ok(())
    }

    /// Grows the used `block` (header `header`) in place to `need` bytes by taking from a
    /// free successor; `false` when the successor is not free or not big enough.
    ///
    /// # Safety
    /// `block` must be a used block of this heap with that header, and nothing may have
    /// been written since `ahead` was read.
    unsafe fn grow_in_place(
        &mut self,
        block: Block,
        header: usize,
        ahead: Lookahead,
        need: usize,
    ) -> bool {
        let size = size_of_header(header);
        if need <= size {
            return true;
        }
        // SAFETY: the successor of a block is a block or a sentinel of the same pool;
        // a free one is listed. Nothing was written since the look-ahead (caller).
        unsafe {
            let next = block.offset(size);
            let next_header = ahead.header_of(next);
            let next_size = size_of_header(next_header);
            if next_header & USED != 0 || size + next_size < need {
                return false;
            }
            let wild = self.unfile(next);
            let joined = size + next_size;
            let rest = joined - need;
            let flags = header & FLAGS;
            if rest >= MIN_BLOCK {
                let tail = block.offset(need);
                tail.set_header(rest);
                tail.set_footer(rest);
                self.file(tail, rest, wild);
                block.set_header(need | flags);
                self.used_bytes += need - size;
            } else {
                block.set_header(joined | flags);
                let after = block.offset(joined);
                after.set_header(after.header() & !PREV_FREE);
                self.used_bytes += joined - size;
            }
        }
        true
    }

    /// Shrinks the used `block` (header `header`) in place to `need` bytes; the tail goes
    /// back to the free lists (merged with a free successor) when it can form a block.
    ///
    /// # Safety
    /// `block` must be a used block of this heap with that header, `need <= size`, and
    /// nothing may have been written since `ahead` was read.
    unsafe fn shrink_in_place(
        &mut self,
        block: Block,
        header: usize,
        ahead: Lookahead,
        need: usize,
    ) {
        let size = size_of_header(header);
        let rest = size - need;
        if rest == 0 {
            return;
        }
        // SAFETY: as in `grow_in_place`; the tail lies inside `block`.
        unsafe {
            let next = block.offset(size);
            let next_header = ahead.header_of(next);
            let (tail_size, wild) = if next_header & USED == 0 {
                let next_size = size_of_header(next_header);
                (rest + next_size, self.unfile(next))
            } else if rest >= MIN_BLOCK {
                next.set_header(next_header | PREV_FREE);
                (rest, false)
            } else {
                return;
            };
            let tail = block.offset(need);
            tail.set_header(tail_size);
            tail.set_footer(tail_size);
            self.file(tail, tail_size, wild);
            block.set_header(need | (header & FLAGS));
            self.used_bytes -= rest;
        }
    }

    /// Moves an allocation: allocate for `new`, copy what both layouts hold, free the old
    /// block.
    ///
    /// # Safety
    /// `ptr` must be a live allocation of this heap for `old` (validated by the caller).
    unsafe fn relocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        let moved = self.alloc(new)?;
        // SAFETY: both blocks are live and distinct, each holds at least the smaller of the
        // two sizes (caller and the allocation's size).
        unsafe {
            core::ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                moved.as_ptr(),
                old.size().min(new.size()),
            );
        }
        // Located again: allocating may have imported a pool (which moves the window),
        // taken the free block before this one (which clears its PREV_FREE) or the free
        // block after it (which rewrites its successor's header). It cannot fail, as the
        // caller validated `ptr` and allocating releases no pool; if it did, the old block
        // would stay allocated, which leaks but corrupts nothing.
        // SAFETY: forwarded from the caller.
        let (block, header, ahead) = unsafe { self.used_block(ptr, old) }?;
        // SAFETY: a used block found through the window; nothing written since.
        unsafe { self.free_block(block, header, ahead) };
        Ok(moved)
    }

    /// Resizes an allocation to `new` (larger or smaller): in place when the block is
    /// aligned for `new` and can grow into a free successor or shrink; otherwise by moving.
    /// On error the allocation is untouched.
    ///
    /// # Safety
    /// `ptr` must have been returned by this heap for `old` and not freed since.
    pub unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        if old.size() == 0 {
            return self.alloc(new);
        }
        // SAFETY: forwarded from the caller.
        let (block, header, ahead) = unsafe { self.used_block(ptr, old) }?;
        let Some(need) = Self::request(new)? else {
            // SAFETY: `used_block` validated the block, found through the window; nothing
            // was written since.
            unsafe { self.free_block(block, header, ahead) };
            return Ok(Self::dangling(new.align()));
        };
        // In place, the payload pointer is rebuilt from the block (pool provenance): `ptr`
        // may only cover the old size.
        if ptr.as_ptr().addr() & (new.align() - 1) == 0 {
            if need <= size_of_header(header) {
                // SAFETY: validated block, `need` fits, nothing written since the look-ahead.
                unsafe { self.shrink_in_place(block, header, ahead, need) };
                // SAFETY: a block of the heap.
                return Ok(unsafe { block.payload() });
            }
            // SAFETY: validated block, nothing written since the look-ahead.
            if unsafe { self.grow_in_place(block, header, ahead, need) } {
                // SAFETY: a block of the heap.
                return Ok(unsafe { block.payload() });
            }
        }
        // SAFETY: `used_block` validated the allocation.
        unsafe { self.relocate(ptr, old, new) }
    }

    /// Usage in O(1). `in_use` counts what callers can store in their blocks (block sizes
    /// less one header each); `free` counts the bytes of free blocks (a free block of `n`
    /// bytes serves a request of `n - HEADER`); trailers, pool slack and the headers of used
    /// blocks are the overhead. `largest_free` is the larger of the wilderness and the head
    /// of the highest non-empty class: a request of that size always succeeds without
    /// growing.
    pub fn stats(&self) -> Stats {
        let largest_listed = self
            .lists
            .highest()
            .and_then(|(fl, sl)| self.lists.head(fl, sl))
            // SAFETY: a listed block is a free block of this heap.
            .map_or(0, |head| unsafe { head.size() });
        let largest_free = largest_listed
            .max(self.wilderness.size())
            .saturating_sub(HEADER);
        Stats {
            total: self.total,
            in_use: self.used_bytes - self.used_count * HEADER,
            free: self.total - self.used_bytes - self.reserved,
            allocations: self.used_count,
            largest_free,
        }
    }

    /// The usable size of a live allocation: what its block holds beyond the header (at
    /// least what was asked for). Returns `None` when the block is not in use or `ptr`
    /// lies in no pool.
    ///
    /// # Safety
    /// `ptr` must have been returned by this heap for a non-zero size and not freed since.
    pub unsafe fn usable_size(&self, ptr: NonNull<u8>) -> Option<usize> {
        let addr = ptr.as_ptr().addr();
        let block = match self.window.block(addr) {
            Some(block) => block,
            None => self.pool_window(addr)?.block(addr)?,
        };
        // SAFETY: a header position in a pool; the caller passes a live payload.
        let header = unsafe { block.header() };
        (header & USED != 0).then(|| size_of_header(header) - HEADER)
    }
}

impl<S: MemorySource, const FL: usize, const SL: usize> Drop for Tlsf<'_, S, FL, SL> {
    fn drop(&mut self) {
        if self.imported == 0 {
            // Nothing to give back: do not even read the (borrowed) pools.
            return;
        }
        let mut pool = self.pools;
        while let Some(trailer) = pool {
            // SAFETY: listed trailers are live; `next` is read before the release.
            let info = unsafe { pool::read(trailer) };
            pool = info.next;
            if info.kind == pool::kind_code(crate::PoolKind::Imported) {
                // Nothing can be done about a refusal while dropping.
                let _ = self.source.release(info.span());
            }
        }
    }
}

// SAFETY: `alloc` hands out disjoint blocks of pool memory of at least the requested size
// at aligned payloads; `realloc` keeps the first `min(old, new)` bytes (in place or by
// copying); memory is only reused after `free`.
unsafe impl<S: MemorySource, const FL: usize, const SL: usize> ByteHeap for Tlsf<'_, S, FL, SL> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        self.alloc(layout)
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Error> {
        // SAFETY: forwarded from the caller.
        unsafe { self.free(ptr, layout) }
    }

    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        // SAFETY: forwarded from the caller.
        unsafe { self.realloc(ptr, old, new) }
    }

    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        // SAFETY: forwarded from the caller.
        unsafe { self.realloc(ptr, old, new) }
    }

    fn stats(&self) -> Stats {
        Tlsf::stats(self)
    }
}

// SAFETY: `add_pool` only ever uses the pool to serve allocations; `pool_size_for` adds
// the worst-case alignment gap, and the search's fallback finds the new pool's block at
// the head of its class (see `take_fit` / `take_aligned`).
unsafe impl<S: MemorySource, const FL: usize, const SL: usize> GrowableHeap
    for Tlsf<'_, S, FL, SL>
{
    fn pool_align(&self) -> Align {
        Align::of::<usize>()
    }

    fn pool_size_for(&self, layout: Layout) -> Result<usize, Error> {
        let Some(need) = Self::request(layout)? else {
            return Ok(MIN_POOL);
        };
        let block = if layout.align() <= GRANULE {
            need
        } else {
            need.checked_add(layout.align() + MIN_BLOCK - GRANULE)
                .ok_or(Error::Overflow)?
        };
        if block > Classes::<FL, SL>::MAX_BLOCK {
            return Err(Error::TooLarge);
        }
        // The pool's trailer and, at worst, a word skipped at each end to put its headers
        // one word past a granule boundary.
        block.checked_add(TRAILER + GRANULE).ok_or(Error::Overflow)
    }

    unsafe fn add_pool(&mut self, base: NonNull<u8>, len: usize) -> Result<(), Error> {
        // SAFETY: forwarded from the caller.
        unsafe { Tlsf::add_pool(self, base, len) }
    }
}

#[cfg(test)]
mod tests;
