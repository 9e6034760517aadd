//! Boundary tags and the pool they live in.
//!
//! A [`Tag`] describes one piece of the arena's address list: a span marker, a free segment
//! or an allocated segment. Tags never live on a heap: the pool starts with a reserve of
//! `N` tags stored inline in the arena and grows by chunks of caller-provided memory
//! ([`TagPool::add_memory`]). Tags name each other by [`TagId`], a (chunk, slot) pair packed
//! into a `u32`, so the arena can move freely while its inline reserve is in use.
//!
//! Looking a tag up is the arena's most frequent operation, so it is not bounds-checked:
//! ids are minted only by the pool, for slots it holds and never gives up, and
//! [`TagId::NIL`] names a sentinel slot of the reserve, so even a lookup of NIL (a bug
//! elsewhere) stays inside the pool; [`TagPool::check`] reports a sentinel that was
//! written.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kalloc_core::Error;

/// Bits of a [`TagId`] that hold the slot inside its chunk; the bits above hold the chunk.
const SLOT_BITS: u32 = 27;
/// Mask of the slot bits of a [`TagId`].
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
/// Number of chunks a pool can hold: chunk 0 is the inline reserve, chunks `1..` are
/// caller memory. `2^(32 - SLOT_BITS)` so every chunk number fits above the slot bits.
pub(crate) const MAX_CHUNKS: usize = 1 << (32 - SLOT_BITS);
/// The most tags one chunk can hold: every slot number fits in `SLOT_BITS`.
pub(crate) const MAX_CHUNK_TAGS: usize = 1 << SLOT_BITS;
/// The reserve slot [`TagId::NIL`] names: a tag that is never handed out.
const SENTINEL_SLOT: usize = 0;

/// The name of a tag inside its pool: `chunk << SLOT_BITS | slot`, or [`TagId::NIL`].
///
/// Invariant the unchecked lookups rely on: an id is NIL or was minted by the pool it is
/// used with (`TagId::new` is private to this module) for a slot that pool holds. The arena
/// keeps its ids to itself, and a pool never gives a chunk up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TagId(u32);

impl TagId {
    /// No tag: the end of a list. It names the sentinel slot 0 of the reserve, so it is a
    /// valid index that no real tag ever has.
    pub(crate) const NIL: TagId = TagId::new(0, SENTINEL_SLOT);

    const fn new(chunk: usize, slot: usize) -> TagId {
        debug_assert!(chunk < MAX_CHUNKS && slot < MAX_CHUNK_TAGS);
        TagId(((chunk as u32) << SLOT_BITS) | slot as u32)
    }

    pub(crate) const fn is_nil(self) -> bool {
        self.0 == TagId::NIL.0
    }

    const fn chunk(self) -> usize {
        (self.0 >> SLOT_BITS) as usize
    }

    const fn slot(self) -> usize {
        (self.0 & SLOT_MASK) as usize
    }
}

/// What a tag currently describes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// In the pool's free-tag list, describing nothing.
    Unused,
    /// The start of a span: `[base, base + size)` was added or imported as one piece.
    /// Its `link_*` fields thread the span list (spans in address order).
    Span,
    /// A free segment; `link_*` thread its power-of-two freelist.
    Free,
    /// An allocated segment; `link_next` threads its hash chain.
    Allocated,
}

/// One boundary tag: a segment or span of the arena, linked into the address-ordered list
/// (`prev`/`next`) and into one other list chosen by its kind (`link_prev`/`link_next`).
///
/// The type is public only so callers can hand the arena memory for more tags
/// (`Arena::add_tag_memory`); its fields are private.
#[derive(Clone, Copy, Debug)]
pub struct Tag {
    pub(crate) base: usize,
    pub(crate) size: usize,
    pub(crate) prev: TagId,
    pub(crate) next: TagId,
    pub(crate) link_prev: TagId,
    pub(crate) link_next: TagId,
    pub(crate) kind: Kind,
    /// Span markers: the span was imported from the arena's source (and goes back to it
    /// once wholly free). Allocated segments: the segment sits in a quantum cache.
    pub(crate) flag: bool,
}

impl Tag {
    const UNUSED: Tag = Tag {
        base: 0,
        size: 0,
        prev: TagId::NIL,
        next: TagId::NIL,
        link_prev: TagId::NIL,
        link_next: TagId::NIL,
        kind: Kind::Unused,
        flag: false,
    };

    /// One past the last value of the segment. Never overflows: segments lie inside
    /// spans, whose end fits in a `usize`.
    pub(crate) const fn end(&self) -> usize {
        self.base + self.size
    }
}

/// One chunk of caller memory holding tags.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    tags: NonNull<Tag>,
    len: usize,
}

impl Chunk {
    const EMPTY: Chunk = Chunk {
        tags: NonNull::dangling(),
        len: 0,
    };
}

/// Where every tag of an arena lives: an inline reserve of `N` tags (the first of them the
/// sentinel NIL names, the other `N - 1` usable) plus up to `MAX_CHUNKS - 1` chunks of
/// caller memory borrowed for `'a`.
///
/// Unused tags form a singly linked free list through `next`.
pub(crate) struct TagPool<'a, const N: usize> {
    reserve: [Tag; N],
    chunks: [Chunk; MAX_CHUNKS],
    /// Chunks in use, counting the reserve as chunk 0.
    chunk_count: usize,
    free: TagId,
    free_count: usize,
    capacity: usize,
    _memory: PhantomData<&'a mut [Tag]>,
}

// SAFETY: the chunks are `&'a mut` borrows the pool owns exclusively (the raw pointers are
// only a representation of them), and `Tag` is plain data, so moving the pool to another
// thread moves sole access to the memory with it.
unsafe impl<const N: usize> Send for TagPool<'_, N> {}
// SAFETY: the pool has no interior mutability: `&TagPool` only reads tags.
unsafe impl<const N: usize> Sync for TagPool<'_, N> {}

impl<'a, const N: usize> TagPool<'a, N> {
    /// A pool whose `N - 1` usable reserve tags are all unused.
    pub(crate) const fn new() -> TagPool<'a, N> {
        assert!(
            N > SENTINEL_SLOT && N <= MAX_CHUNK_TAGS,
            "the tag reserve holds the sentinel and fits in a chunk"
        );
        let mut reserve = [Tag::UNUSED; N];
        let mut slot = SENTINEL_SLOT + 1;
        while slot < N {
            reserve[slot].next = if slot + 1 < N {
                TagId::new(0, slot + 1)
            } else {
                TagId::NIL
            };
            slot += 1;
        }
        TagPool {
            reserve,
            chunks: [Chunk::EMPTY; MAX_CHUNKS],
            chunk_count: 1,
            free: if N > 1 { TagId::new(0, 1) } else { TagId::NIL },
            free_count: N - 1,
            capacity: N - 1,
            _memory: PhantomData,
        }
    }

    /// Unused tags ready to be handed out.
    pub(crate) const fn free_count(&self) -> usize {
        self.free_count
    }

    /// All usable tags the pool holds, used or not (the sentinel is not counted).
    pub(crate) const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds `memory` as a new chunk of unused tags and returns how many it holds.
    ///
    /// Errors: [`Error::TooSmall`] for an empty slice, [`Error::TooLarge`] when the pool
    /// already holds its maximum number of chunks. A slice longer than one chunk can index
    /// contributes its first `MAX_CHUNK_TAGS` tags.
    pub(crate) fn add_memory(
        &mut self,
        memory: &'a mut [MaybeUninit<Tag>],
    ) -> Result<usize, Error> {
        let len = memory.len();
        let tags = NonNull::from(memory).cast::<MaybeUninit<Tag>>();
        // SAFETY: `tags` comes from a `&'a mut` slice of `len` tags, which the pool now owns
        // for `'a`: valid for reads and writes, and nothing else accesses it.
        unsafe { self.add_raw(tags, len) }
    }

    /// Whether the pool can take another chunk.
    pub(crate) const fn has_room_for_chunk(&self) -> bool {
        self.chunk_count < MAX_CHUNKS
    }

    /// Adds the `len` tags at `tags` as a new chunk of unused tags and returns how many it
    /// took (at most `MAX_CHUNK_TAGS`).
    ///
    /// Errors: as [`add_memory`](TagPool::add_memory).
    ///
    /// # Safety
    /// `tags` must be valid for reads and writes of `len` tags, and accessed by nothing but
    /// this pool, for as long as the pool is used.
    pub(crate) unsafe fn add_raw(
        &mut self,
        tags: NonNull<MaybeUninit<Tag>>,
        len: usize,
    ) -> Result<usize, Error> {
        if len == 0 {
            return Err(Error::TooSmall);
        }
        if !self.has_room_for_chunk() {
            return Err(Error::TooLarge);
        }
        let len = len.min(MAX_CHUNK_TAGS);
        let chunk = self.chunk_count;
        // SAFETY: the caller's promise: `len` tags at `tags`, this pool's alone.
        let memory = unsafe { core::slice::from_raw_parts_mut(tags.as_ptr(), len) };
        // Thread the new tags onto the free list, last one first, so they come out in order.
        for (slot, tag) in memory.iter_mut().enumerate().rev() {
            tag.write(Tag {
                next: self.free,
                ..Tag::UNUSED
            });
            self.free = TagId::new(chunk, slot);
        }
        self.chunks[chunk] = Chunk {
            tags: tags.cast(),
            len,
        };
        self.chunk_count += 1;
        self.free_count += len;
        self.capacity += len;
        Ok(len)
    }

    /// The tag named `id` (the sentinel for NIL).
    #[inline]
    pub(crate) fn get(&self, id: TagId) -> &Tag {
        let (chunk, slot) = (id.chunk(), id.slot());
        debug_assert!(chunk < self.chunk_count, "tag id outside the pool");
        if chunk == 0 {
            debug_assert!(slot < N, "tag id outside the pool");
            // SAFETY: ids of chunk 0 are minted for reserve slots `< N` only (`TagId`'s
            // invariant; NIL is slot 0).
            return unsafe { self.reserve.get_unchecked(slot) };
        }
        let memory = self.chunks[chunk];
        debug_assert!(slot < memory.len, "tag id outside the pool");
        // SAFETY: by `TagId`'s invariant `slot < len` of chunk `chunk`, which this pool
        // holds: `len` tags valid for `'a` (`add_raw`'s contract), every one initialised
        // there; `&self` prevents any `&mut` to the same tag.
        unsafe { memory.tags.add(slot).as_ref() }
    }

    /// The tag named `id`, mutably (the sentinel for NIL, which `check` then reports).
    #[inline]
    pub(crate) fn get_mut(&mut self, id: TagId) -> &mut Tag {
        let (chunk, slot) = (id.chunk(), id.slot());
        debug_assert!(chunk < self.chunk_count, "tag id outside the pool");
        if chunk == 0 {
            debug_assert!(slot < N, "tag id outside the pool");
            // SAFETY: as in `get`.
            return unsafe { self.reserve.get_unchecked_mut(slot) };
        }
        let memory = self.chunks[chunk];
        debug_assert!(slot < memory.len, "tag id outside the pool");
        // SAFETY: as in `get`; `&mut self` makes this the only reference to the tag.
        unsafe { memory.tags.add(slot).as_mut() }
    }

    /// Takes an unused tag, initialised to `tag`, or `None` when the pool is empty.
    pub(crate) fn take(&mut self, tag: Tag) -> Option<TagId> {
        let id = self.free;
        if id.is_nil() {
            return None;
        }
        let slot = self.get_mut(id);
        debug_assert_eq!(slot.kind, Kind::Unused);
        let next = slot.next;
        *slot = tag;
        self.free = next;
        self.free_count -= 1;
        Some(id)
    }

    /// Gives a tag back to the pool.
    pub(crate) fn give_back(&mut self, id: TagId) {
        let free = self.free;
        let slot = self.get_mut(id);
        debug_assert_ne!(slot.kind, Kind::Unused, "tag given back twice");
        *slot = Tag {
            next: free,
            ..Tag::UNUSED
        };
        self.free = id;
        self.free_count += 1;
    }

    /// Walks the free-tag list and checks its length and that every entry is unused, and
    /// that nothing wrote to the sentinel.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        let sentinel = &self.reserve[SENTINEL_SLOT];
        let pristine = sentinel.kind == Kind::Unused
            && (sentinel.base, sentinel.size, sentinel.flag) == (0, 0, false)
            && [
                sentinel.prev,
                sentinel.next,
                sentinel.link_prev,
                sentinel.link_next,
            ]
            .iter()
            .all(|id| id.is_nil());
        if !pristine {
            return Err("the NIL sentinel tag was written");
        }
        let mut count = 0;
        let mut id = self.free;
        while !id.is_nil() {
            let tag = self.get(id);
            if tag.kind != Kind::Unused {
                return Err("a tag on the free-tag list is in use");
            }
            count += 1;
            if count > self.capacity {
                return Err("the free-tag list loops");
            }
            id = tag.next;
        }
        if count != self.free_count {
            return Err("free-tag count disagrees with the free-tag list");
        }
        Ok(())
    }
}

/// A fresh tag describing `[base, base + size)` as `kind`, unlinked.
pub(crate) const fn tag(kind: Kind, base: usize, size: usize, flag: bool) -> Tag {
    Tag {
        base,
        size,
        kind,
        flag,
        ..Tag::UNUSED
    }
}

#[cfg(test)]
mod tests;
