//! Pools: the memory regions a heap manages, each closed by a [`Trailer`].
//!
//! ```text
//!  base                                                          base + len
//!  |lead| block | block | ... | block | Trailer (sentinel, links, span) |slack|
//!                                     ^ the sentinel is a zero-size used block header:
//!                                       the last block's successor, never coalesced
//! ```
//!
//! Every header, the sentinel included, sits one word past a multiple of [`GRANULE`], so
//! that payloads are granule-aligned: a pool whose base is on a granule boundary skips one
//! word at its start (the lead), and the bytes past the trailer's last possible position
//! (the slack, less than a granule) stay unused. When pools merge, both become block bytes.
//!
//! Trailers form a doubly linked list of every pool (for the walk, the checker, overlap
//! checks and O(1) release). A pool added with [`Tlsf::add_pool`] that touches another such
//! pool is merged with it: the trailer between them becomes free memory. Borrowed (slice)
//! and imported pools never merge, so an imported pool can go back to its source exactly
//! as it came.

use crate::Tlsf;
use crate::block::{Block, PREV_FREE, USED, size_of_header};
use crate::class::{Classes, GRANULE, MIN_BLOCK, WORD};
use crate::window::Window;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;
use kalloc_core::{Error, MemorySource, Span};

/// Where a pool's memory came from; decides whether it merges and whether it is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Added with [`Tlsf::add_pool`]: merges with adjacent pools added the same way.
    Added,
    /// Added with [`Tlsf::add_pool_slice`]: never merges.
    Borrowed,
    /// Imported from the heap's source: never merges, and is released back to the source
    /// when it becomes entirely free (see [`Tlsf`]'s release policy).
    Imported,
}

/// One pool as the heap sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolInfo {
    /// The bytes the pool was made of (merged pools: the union).
    pub span: Span,
    /// Where it came from.
    pub kind: PoolKind,
}

/// The record at the end of every pool. Its first word is the sentinel header.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Trailer {
    /// Header of the zero-size end block: [`USED`], plus [`PREV_FREE`] when the last block
    /// is free.
    pub(crate) sentinel: usize,
    /// Neighbours in the pool list.
    pub(crate) prev: Option<NonNull<Trailer>>,
    pub(crate) next: Option<NonNull<Trailer>>,
    /// The pool's first byte (its first block follows the lead, see [`lead`]).
    pub(crate) base: NonNull<u8>,
    /// The pool's length as given (imported pools: the span the source returned).
    pub(crate) len: usize,
    /// The [`PoolKind`], as `kind_code`.
    pub(crate) kind: usize,
}

/// The bytes a trailer takes at the end of a pool.
pub(crate) const TRAILER: usize = size_of::<Trailer>();

/// The smallest pool: one minimum block, a trailer, and the worst lead and slack (a word
/// each).
pub(crate) const MIN_POOL: usize = MIN_BLOCK + TRAILER + GRANULE;

// The sentinel, one word past a granule boundary as every header, keeps the trailer's end
// there too.
const _: () = assert!(TRAILER % GRANULE == 0 && align_of::<Trailer>() <= WORD);

/// The bytes skipped at the start of a pool at the word-aligned address `base` so that its
/// first header lies one word past a granule boundary: zero or one word.
pub(crate) const fn lead(base: usize) -> usize {
    WORD.wrapping_sub(base) & (GRANULE - 1)
}

/// Where the trailer of a pool ending at the address `end` starts: the last position one
/// word past a granule boundary that leaves room for it. `end` must be at least
/// `TRAILER + WORD`.
pub(crate) const fn trailer_at(end: usize) -> usize {
    ((end - TRAILER - WORD) & !(GRANULE - 1)) + WORD
}

/// The bytes between the first header and the trailer of a pool spanning `base..end`
/// (`base` word-aligned, at least `MIN_POOL` bytes): the size of a block filling the pool.
pub(crate) const fn block_bytes(base: usize, end: usize) -> usize {
    trailer_at(end) - (base + lead(base))
}

/// The code a trailer stores for `kind`.
pub(crate) const fn kind_code(kind: PoolKind) -> usize {
    match kind {
        PoolKind::Added => 1,
        PoolKind::Borrowed => 2,
        PoolKind::Imported => 3,
    }
}

/// The kind a trailer code stands for, `None` for a corrupted code.
pub(crate) const fn kind_of(code: usize) -> Option<PoolKind> {
    match code {
        1 => Some(PoolKind::Added),
        2 => Some(PoolKind::Borrowed),
        3 => Some(PoolKind::Imported),
        _ => None,
    }
}

impl Trailer {
    /// The pool's span.
    pub(crate) fn span(&self) -> Span {
        // The span was validated (Span::try_new) when the pool was added or merged.
        Span::new(self.base.as_ptr().addr(), self.len)
    }

    /// The size of a block filling the pool: from its first header to its trailer.
    pub(crate) fn whole(&self) -> usize {
        let span = self.span();
        block_bytes(span.base(), span.end())
    }
}

/// Reads a trailer.
///
/// # Safety
/// `trailer` must be a trailer of a pool of the heap.
pub(crate) unsafe fn read(trailer: NonNull<Trailer>) -> Trailer {
    // SAFETY: trailers are aligned, initialised records in pool memory (caller).
    unsafe { trailer.read() }
}

/// The pool's first block, past the lead.
pub(crate) fn first_block(trailer: &Trailer) -> Block {
    let lead = lead(trailer.base.as_ptr().addr());
    // SAFETY: the lead is at most a word, inside a pool of at least MIN_POOL bytes.
    Block::at(unsafe { trailer.base.add(lead) })
}

impl<'mem, S: MemorySource, const FL: usize, const SL: usize> Tlsf<'mem, S, FL, SL> {
    /// Adds `len` bytes at `base` as a pool.
    ///
    /// The pool merges with any pool added by this method that it touches (the trailer
    /// between them becomes free memory). Up to a word at each end may stay unused, so that
    /// every payload is aligned to two words.
    ///
    /// Errors, each leaving the heap unchanged: [`Error::Misaligned`] when `base` is not
    /// aligned to `usize`, [`Error::Overflow`] when the range wraps the address space,
    /// [`Error::TooSmall`] below [`Tlsf::MIN_POOL`] bytes, [`Error::TooLarge`] for a pool
    /// whose free block would exceed the largest size class, [`Error::Overlap`] with a pool
    /// already managed.
    ///
    /// # Safety
    /// The bytes must be valid for reads and writes, used by nothing else, and stay so for
    /// as long as the heap lives (`'mem`). When the pool touches a pool added earlier with
    /// `add_pool`, the heap accesses the merged range through either pointer: both must be
    /// derived from one pointer valid for the whole merged range (as pointers into one
    /// memory region are).
    pub unsafe fn add_pool(&mut self, base: NonNull<u8>, len: usize) -> Result<(), Error> {
        // SAFETY: forwarded from the caller.
        unsafe { self.insert_pool(base, len, PoolKind::Added) }
    }

    /// Adds a borrowed buffer as a pool, first rounding its start up to `usize` alignment.
    /// Such pools never merge with others.
    ///
    /// Errors as [`add_pool`](Tlsf::add_pool), except that it cannot be misaligned.
    pub fn add_pool_slice(&mut self, memory: &'mem mut [u8]) -> Result<(), Error> {
        let len = memory.len();
        let base = NonNull::from(memory).cast::<u8>();
        let skip = base.as_ptr().addr().wrapping_neg() % WORD;
        if len < skip {
            return Err(Error::TooSmall);
        }
        // SAFETY: `skip <= len`, so the pointer stays inside the slice.
        let aligned = unsafe { base.add(skip) };
        // SAFETY: a `&mut` slice is valid, exclusive memory; the lifetime bound below keeps
        // it so for `'mem`.
        unsafe { self.insert_pool(aligned, len - skip, PoolKind::Borrowed) }
    }

    /// Adds a pool of `kind`; see [`add_pool`](Tlsf::add_pool).
    ///
    /// # Safety
    /// As [`add_pool`](Tlsf::add_pool).
    pub(crate) unsafe fn insert_pool(
        &mut self,
        base: NonNull<u8>,
        len: usize,
        kind: PoolKind,
    ) -> Result<(), Error> {
        let addr = base.as_ptr().addr();
        if addr % WORD != 0 {
            return Err(Error::Misaligned);
        }
        let span = Span::try_new(addr, len)?;
        if len < MIN_POOL {
            return Err(Error::TooSmall);
        }
        if block_bytes(addr, span.end()) > Classes::<FL, SL>::MAX_BLOCK {
            return Err(Error::TooLarge);
        }
        let (mut before, mut after) = (None, None);
        // An imported span overlaps nothing the heap manages (the MemorySource promise) and
        // never merges, so growth skips the O(pools) walk.
        let mut pool = if kind == PoolKind::Imported {
            None
        } else {
            self.pools
        };
        while let Some(trailer) = pool {
            // SAFETY: every listed trailer is a live pool's record.
            let info = unsafe { read(trailer) };
            if info.span().overlaps(span) {
                return Err(Error::Overlap);
            }
            if kind == PoolKind::Added && info.kind == kind_code(PoolKind::Added) {
                if info.span().end() == addr {
                    before = Some(trailer);
                } else if span.end() == info.span().base() {
                    after = Some(trailer);
                }
            }
            pool = info.next;
        }
        // Merging must not create a pool whose one free block exceeds the largest class.
        let fits = |before: Option<NonNull<Trailer>>, after: Option<NonNull<Trailer>>| {
            // SAFETY: `before` and `after` are listed trailers.
            let low = before.map_or(addr, |t| unsafe { read(t) }.span().base());
            // SAFETY: as above.
            let high = after.map_or(span.end(), |t| unsafe { read(t) }.span().end());
            block_bytes(low, high) <= Classes::<FL, SL>::MAX_BLOCK
        };
        if !fits(before, after) {
            if fits(before, None) {
                after = None;
            } else if fits(None, after) {
                before = None;
            } else {
                (before, after) = (None, None);
            }
        }
        // SAFETY: the memory is valid and exclusive (caller); `before`/`after` are listed
        // pools that touch it, and the caller allows access across the joint.
        unsafe { self.join_pool(base, len, kind, before, after) };
        Ok(())
    }

    /// Turns the validated pool into free memory, merged with `before` / `after`.
    ///
    /// # Safety
    /// As [`insert_pool`](Tlsf::insert_pool), after its checks passed.
    unsafe fn join_pool(
        &mut self,
        base: NonNull<u8>,
        len: usize,
        kind: PoolKind,
        before: Option<NonNull<Trailer>>,
        after: Option<NonNull<Trailer>>,
    ) {
        // Read and unlink `before` first: its trailer is about to become free memory.
        // SAFETY: `before` is a listed trailer.
        let low = before.map(|trailer| unsafe { read(trailer) });
        if let Some(trailer) = before {
            // SAFETY: as above.
            unsafe { self.unlink_pool(trailer) };
        }
        // The new free block runs from the old trailer of `before` (or the new pool's
        // first header) to the first block of `after` (or the new trailer): both one word
        // past a granule boundary, so its size is whole granules.
        let addr = base.as_ptr().addr();
        let mut start = match before {
            Some(trailer) => Block::at(trailer.cast()),
            // SAFETY: the lead is at most a word of the new pool.
            None => Block::at(unsafe { base.add(lead(addr)) }),
        };
        let end = match after {
            // SAFETY: `after` is a listed trailer.
            Some(trailer) => first_block(&unsafe { read(trailer) }).addr(),
            None => trailer_at(addr + len),
        };
        // Block bytes gained: everything from `start` to `end`, which takes in `before`'s
        // old trailer and slack and `after`'s lead; the rest of `len` (the new pool's own
        // lead, slack and trailer, where there are any) is reserved.
        let gained = end - start.addr();
        let mut size = gained;
        // Whether the new block takes in the wilderness.
        let mut absorbed = false;
        // SAFETY: all blocks touched below are in `before`, the new memory or `after`,
        // which the caller lets us access through these pointers.
        unsafe {
            if let (Some(low), Some(trailer)) = (low, before) {
                if low.sentinel & PREV_FREE != 0 {
                    let sentinel = Block::at(trailer.cast());
                    let last_size = sentinel.prev_footer();
                    let last = sentinel.back(last_size);
                    absorbed |= self.unfile(last);
                    (start, size) = (last, size + last_size);
                }
            }
            if let Some(trailer) = after {
                let first = first_block(&read(trailer));
                let header = first.header();
                if header & USED == 0 {
                    let first_size = size_of_header(header);
                    absorbed |= self.unfile(first);
                    size += first_size;
                }
            }
            start.set_header(size);
            start.set_footer(size);
            let next = start.offset(size);
            self.file_new_memory(start, size, absorbed);
            self.reserved = self.reserved + len - gained;
            match after {
                Some(trailer) => {
                    next.set_header(next.header() | PREV_FREE);
                    let record = trailer.as_ptr();
                    (*record).base = low.map_or(base, |low| low.base);
                    (*record).len += len + low.map_or(0, |low| low.len);
                }
                None => {
                    if kind == PoolKind::Imported {
                        self.imported += 1;
                    }
                    let trailer = next.ptr().cast::<Trailer>();
                    trailer.write(Trailer {
                        sentinel: USED | PREV_FREE,
                        prev: None,
                        next: None,
                        base: low.map_or(base, |low| low.base),
                        len: len + low.map_or(0, |low| low.len),
                        kind: kind_code(kind),
                    });
                    self.link_pool(trailer);
                }
            }
            // The pool just added is the likeliest to be freed into next. Its base pointer
            // may access the whole merged pool (the merge contract).
            let trailer = after.unwrap_or(next.ptr().cast::<Trailer>());
            self.window = Window::of(trailer, &read(trailer));
        }
        self.total += len;
    }

    /// Puts `trailer` at the front of the pool list.
    ///
    /// # Safety
    /// `trailer` must be an initialised trailer not in the list.
    pub(crate) unsafe fn link_pool(&mut self, trailer: NonNull<Trailer>) {
        // SAFETY: `trailer` and the old head are trailers of pools of this heap.
        unsafe {
            (*trailer.as_ptr()).prev = None;
            (*trailer.as_ptr()).next = self.pools;
            if let Some(head) = self.pools {
                (*head.as_ptr()).prev = Some(trailer);
            }
        }
        self.pools = Some(trailer);
    }

    /// Takes `trailer` out of the pool list.
    ///
    /// # Safety
    /// `trailer` must be in the list.
    pub(crate) unsafe fn unlink_pool(&mut self, trailer: NonNull<Trailer>) {
        // SAFETY: `trailer` and its neighbours are listed trailers.
        unsafe {
            let Trailer { prev, next, .. } = read(trailer);
            if let Some(next) = next {
                (*next.as_ptr()).prev = prev;
            }
            match prev {
                Some(prev) => (*prev.as_ptr()).next = next,
                None => self.pools = next,
            }
        }
        if self.spare == Some(trailer) {
            self.spare = None;
        }
        // SAFETY: as above.
        let first = first_block(&unsafe { read(trailer) });
        if self.window.is_over(first.ptr()) {
            // The pool may go back to its source: forget its pointer.
            self.window = Window::EMPTY;
        }
    }

    /// Whether the pool of `trailer` is one free block.
    ///
    /// # Safety
    /// `trailer` must be in the list.
    pub(crate) unsafe fn pool_is_free(&self, trailer: NonNull<Trailer>) -> bool {
        // SAFETY: a listed trailer's first block is a block of this heap.
        unsafe {
            let info = read(trailer);
            let header = first_block(&info).header();
            header & USED == 0 && size_of_header(header) == info.whole()
        }
    }

    /// Called when a free block became the whole pool of `trailer`: applies the release
    /// policy (keep one entirely free imported pool as a spare, release the others).
    ///
    /// # Safety
    /// `trailer` must be in the list, and its pool entirely free.
    pub(crate) unsafe fn pool_emptied(&mut self, trailer: NonNull<Trailer>) {
        // SAFETY: listed trailer (caller).
        if unsafe { read(trailer) }.kind != kind_code(PoolKind::Imported) {
            return;
        }
        match self.spare {
            // SAFETY: the spare is a listed trailer (unlinking clears it).
            Some(spare) if spare != trailer && unsafe { self.pool_is_free(spare) } => {
                // A refused release keeps the pool; the heap stays consistent either way.
                // SAFETY: `trailer` is listed and entirely free (caller).
                let _ = unsafe { self.release_pool(trailer) };
            }
            _ => self.spare = Some(trailer),
        }
    }

    /// Gives the entirely free pool of `trailer` back to the source. On a refused release
    /// the pool stays in the heap.
    ///
    /// # Safety
    /// `trailer` must be in the list, its pool imported and entirely free.
    pub(crate) unsafe fn release_pool(&mut self, trailer: NonNull<Trailer>) -> Result<(), Error> {
        // SAFETY: a listed trailer and its pool's single free block.
        let info = unsafe { read(trailer) };
        let block = first_block(&info);
        let size = info.whole();
        // SAFETY: the pool is one free block of `size` bytes (caller): listed, or the
        // wilderness.
        let wild = unsafe { self.unfile(block) };
        // SAFETY: listed trailer (caller).
        unsafe { self.unlink_pool(trailer) };
        self.total -= info.len;
        self.reserved -= info.len - size;
        self.imported -= 1;
        if let Err(error) = self.source.release(info.span()) {
            // SAFETY: the pool is still ours: put it back as it was.
            unsafe {
                self.file(block, size, wild);
                self.link_pool(trailer);
            }
            self.total += info.len;
            self.reserved += info.len - size;
            self.imported += 1;
            return Err(error);
        }
        Ok(())
    }

    /// Releases every entirely free imported pool (the kept spare included) back to the
    /// source; returns how many bytes went back. O(number of pools).
    pub fn release_free_pools(&mut self) -> usize {
        let mut released = 0;
        let mut pool = self.pools;
        while let Some(trailer) = pool {
            // SAFETY: listed trailers; `next` is read before the pool may go away.
            let info = unsafe { read(trailer) };
            pool = info.next;
            // SAFETY: as above.
            if info.kind == kind_code(PoolKind::Imported) && unsafe { self.pool_is_free(trailer) } {
                // SAFETY: listed, imported, entirely free.
                if unsafe { self.release_pool(trailer) }.is_ok() {
                    released += info.len;
                }
            }
        }
        released
    }

    /// Imports a pool that makes `need_pool` bytes of pool available, trying the
    /// configured minimum import first.
    #[cold]
    pub(crate) fn import_pool(&mut self, need_pool: usize) -> Result<(), Error> {
        let align = kalloc_core::Align::of::<usize>();
        let wanted = need_pool.max(self.min_import);
        let span = match self.source.import(wanted, align) {
            Ok(span) => span,
            Err(_) if wanted > need_pool => self.source.import(need_pool, align)?,
            Err(error) => return Err(error),
        };
        let added = match self.source.ptr(span) {
            // SAFETY: the source promises the span's bytes are valid, exclusive and ours
            // until we release them (MemorySource), and the pointer carries provenance.
            Ok(base) => unsafe { self.insert_pool(base, span.len(), PoolKind::Imported) },
            Err(error) => Err(error),
        };
        if let Err(error) = added {
            // Nothing of the span was used; hand it straight back.
            let _ = self.source.release(span);
            return Err(error);
        }
        Ok(())
    }

    /// The pools, most recently added first.
    pub fn pools(&self) -> Pools<'_> {
        Pools {
            next: self.pools,
            _heap: core::marker::PhantomData,
        }
    }
}

/// Iterator over a heap's pools; see [`Tlsf::pools`].
#[derive(Debug)]
pub struct Pools<'heap> {
    next: Option<NonNull<Trailer>>,
    _heap: core::marker::PhantomData<&'heap ()>,
}

impl Iterator for Pools<'_> {
    type Item = PoolInfo;
    fn next(&mut self) -> Option<PoolInfo> {
        let trailer = self.next?;
        // SAFETY: the iterator borrows the heap, so its listed trailers stay valid.
        let info = unsafe { read(trailer) };
        self.next = info.next;
        Some(PoolInfo {
            span: info.span(),
            kind: kind_of(info.kind).unwrap_or(PoolKind::Added),
        })
    }
}

#[cfg(test)]
mod tests;
