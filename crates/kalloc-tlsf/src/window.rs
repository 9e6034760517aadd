//! [`Window`]: how `free`, `realloc` and `usable_size` reach a block's header with the
//! provenance of its pool, never through the caller's pointer.
//!
//! ```text
//!  pool:   base                                             trailer
//!          | hdr | payload ... | hdr | payload ... | ... |  Trailer |
//!          ^ Window::base          ^ caller's ptr
//!                                  \____/ provenance of a `Box<T>` made from the pointer:
//!                                         the payload only, not the header before it
//! ```
//!
//! A pointer handed out by `alloc` derives from the pool's base pointer. The caller may
//! retag it (a `Box<T>`, a `&mut T`): what comes back to `free` may then only access the
//! payload, while the heap must read the header before it and the neighbours' tags. So
//! the heap keeps the pool's own base pointer and rebuilds the header pointer from it:
//! `base + (payload - first payload)`.
//!
//! Which pool? The heap caches one window (the pool of the last lookup, or the pool added
//! last): a pointer in it is resolved with one subtraction and one comparison, O(1). A
//! heap whose memory is one pool (adjacent `add_pool` pools merge into one) always hits.
//! A pointer in another pool walks the pool list once (O(pools)) and moves the window
//! there; a pointer in no pool is refused as foreign, in release builds too.

use crate::block::Block;
use crate::class::{HEADER, WORD};
use crate::pool::Trailer;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

/// One pool's payload range and its base pointer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// The pool's base pointer: provenance over the whole pool.
    base: NonNull<u8>,
    /// Address of the pool's first payload: `base + HEADER`.
    first: usize,
    /// Payloads lie at `first .. first + len`: up to the trailer. Zero: an empty window.
    len: usize,
}

impl Window {
    /// A window over nothing: every lookup misses.
    pub(crate) const EMPTY: Window = Window {
        base: NonNull::dangling(),
        first: 0,
        len: 0,
    };

    /// The window over the pool closed by `trailer`, whose record is `info`.
    pub(crate) fn of(trailer: NonNull<Trailer>, info: &Trailer) -> Window {
        // A pool holds at least MIN_POOL bytes before the end of the address space (its
        // span was validated), so neither line wraps.
        let first = info.base.as_ptr().addr() + HEADER;
        Window {
            base: info.base,
            first,
            len: trailer.as_ptr().addr() - first,
        }
    }

    /// Whether this window is over the pool starting at `base`.
    pub(crate) fn is_over(&self, base: NonNull<u8>) -> bool {
        self.len != 0 && self.base == base
    }

    /// Whether a block of `size` bytes at address `start`, which lies in this window's
    /// pool, covers the whole pool. Only the size is compared: a block that lies in the
    /// pool and is as long as the pool's blocks together is all of them. The test fails
    /// for every other block, so its outcome is predictable.
    #[inline(always)]
    pub(crate) fn spans_pool(&self, start: usize, size: usize) -> bool {
        let whole = size == self.len + HEADER;
        debug_assert!(
            !whole || start == self.base.as_ptr().addr(),
            "a block as large as its pool does not start at its base"
        );
        whole
    }

    /// The offset from `base` of the header of the block whose payload is at `payload`
    /// (`payload - first`), if that address lies in this pool's payload range: then it is
    /// below `len`, so the header lies before the trailer of the pool `base` points into.
    #[inline(always)]
    fn header_offset(&self, payload: usize) -> Option<usize> {
        let offset = payload.wrapping_sub(self.first);
        (offset < self.len).then_some(offset)
    }

    /// The block whose payload is at `payload`, if that address lies in this pool's
    /// payload range; its pointer carries the pool's provenance.
    #[inline(always)]
    pub(crate) fn block(&self, payload: usize) -> Option<Block> {
        let offset = self.header_offset(payload)?;
        // SAFETY: `header_offset` puts the header `base + offset` (= payload - HEADER)
        // before the trailer of the pool `base` points into.
        Some(Block::at(unsafe { self.base.add(offset) }))
    }
}

/// A word read ahead where a block's successor probably starts, so that `free` need not
/// wait for the block's own header before it asks memory for the successor's: in a large
/// heap both are usually cache misses, and this way they are in flight together.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lookahead {
    /// Where the word was read: the guessed successor.
    at: Block,
    /// The word there; initialised only if `at` really is a header.
    word: MaybeUninit<usize>,
}

impl Lookahead {
    /// The header of `block`: the word read ahead when `block` is where it was read,
    /// otherwise a fresh read.
    ///
    /// # Safety
    /// `block` must be a block (or sentinel) header inside a pool of the heap, and the heap
    /// must not have written the word at the guessed position since the read ahead.
    #[inline(always)]
    pub(crate) unsafe fn header_of(self, block: Block) -> usize {
        if block == self.at {
            // SAFETY: `at` is `block`, a header (caller), so the word read there is an
            // initialised header, and it is current (no write since, caller).
            let header = unsafe { self.word.assume_init() };
            // SAFETY: as above; checks the "no write since" half of the contract.
            debug_assert_eq!(header, unsafe { block.header() }, "stale read-ahead");
            header
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { block.header() }
        }
    }
}

impl Window {
    /// [`block`](Window::block), and the word where the block's successor would start if
    /// the block were `size` bytes (its own header when that position lies past the
    /// pool's last payload). Issued before the header of the block is known, the read
    /// overlaps the two memory accesses; [`Lookahead::header_of`] uses it only when the
    /// guess was right.
    #[inline(always)]
    pub(crate) fn block_looking_ahead(
        &self,
        payload: usize,
        size: usize,
    ) -> Option<(Block, Lookahead)> {
        let offset = self.header_offset(payload)?;
        // `offset + ahead <= len` keeps the guess before the trailer (at `len + HEADER`);
        // rounding down to a word keeps it aligned whatever `size` the caller guessed (the
        // heap's guesses are whole words already, so the mask folds away).
        let ahead = if size <= self.len - offset {
            size & !(WORD - 1)
        } else {
            0
        };
        // SAFETY: `offset < len` (`header_offset`): the header `base + offset` lies in the
        // pool `base` points into, and so does `base + offset + ahead`, at most `base + len`.
        // Both are word-aligned: the header like every payload the window accepts, `ahead`
        // by the mask above.
        let (block, at) = unsafe {
            let block = Block::at(self.base.add(offset));
            (block, block.offset(ahead))
        };
        // SAFETY: `at` is an aligned word of pool memory the heap may read (above). Read as
        // `MaybeUninit`: when the guess is wrong it may be uninitialised payload. Volatile,
        // so the compiler neither drops this read nor merges it with the later header read.
        let word = unsafe {
            at.ptr()
                .cast::<MaybeUninit<usize>>()
                .as_ptr()
                .read_volatile()
        };
        Some((block, Lookahead { at, word }))
    }
}

#[cfg(test)]
mod tests;
