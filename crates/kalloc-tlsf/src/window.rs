//! [`Window`]: how `free`, `realloc` and `usable_size` reach a block's header with the
//! provenance of its pool, never through the caller's pointer.
//!
//! ```text
//!  pool:   first header                                     trailer
//!          | hdr | payload ... | hdr | payload ... | ... |  Trailer |
//!          ^ Window::base          ^ caller's ptr
//!                                  \____/ provenance of a `Box<T>` made from the pointer:
//!                                         the payload only, not the header before it
//! ```
//!
//! A pointer handed out by `alloc` derives from the pool's base pointer. The caller may
//! retag it (a `Box<T>`, a `&mut T`): what comes back to `free` may then only access the
//! payload, while the heap must read the header before it and the neighbours' tags. So
//! the heap keeps a pointer to the pool's first header, derived from the pool's base
//! pointer, and rebuilds the header pointer from it: `first + (payload - first payload)`.
//!
//! Which pool? The heap caches one window (the pool of the last lookup, or the pool added
//! last): a pointer in it is resolved with a subtraction, a rotation and one comparison,
//! O(1). A heap whose memory is one pool (adjacent `add_pool` pools merge into one) always
//! hits. A pointer in another pool walks the pool list once (O(pools)) and moves the
//! window there; a pointer in no pool, or off a granule boundary (where no payload
//! starts), is refused as foreign, in release builds too.

use crate::block::Block;
use crate::class::{GRANULE_LOG2, HEADER, WORD};
use crate::pool::{self, Trailer};
use core::mem::MaybeUninit;
use core::ptr::NonNull;

/// One pool's payload range and a pointer to its first header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// The pool's first header, derived from its base pointer: provenance over the whole
    /// pool.
    base: NonNull<u8>,
    /// Address of the pool's first payload: `base + HEADER`.
    first: usize,
    /// Payloads lie at `first + k·GRANULE` for `k < granules`: each before the trailer.
    /// Zero: an empty window.
    granules: usize,
    /// The size of a block that fills the whole pool: from its first header to its trailer.
    whole: usize,
}

impl Window {
    /// A window over nothing: every lookup misses.
    pub(crate) const EMPTY: Window = Window {
        base: NonNull::dangling(),
        first: 0,
        granules: 0,
        whole: 0,
    };

    /// The window over the pool closed by `trailer`, whose record is `info`.
    pub(crate) fn of(trailer: NonNull<Trailer>, info: &Trailer) -> Window {
        // A pool holds at least MIN_POOL bytes before the end of the address space (its
        // span was validated), so no line wraps. The first header and the trailer are one
        // word past granule boundaries, so `whole` is a whole number of granules.
        let first = pool::first_block(info).ptr();
        let whole = trailer.as_ptr().addr() - first.as_ptr().addr();
        Window {
            base: first,
            first: first.as_ptr().addr() + HEADER,
            granules: whole >> GRANULE_LOG2,
            whole,
        }
    }

    /// Whether this window is over the pool whose first header is `first`.
    pub(crate) fn is_over(&self, first: NonNull<u8>) -> bool {
        self.granules != 0 && self.base == first
    }

    /// Whether a block of `size` bytes at address `start`, which lies in this window's
    /// pool, covers the whole pool. Only the size is compared: a block that lies in the
    /// pool and is as long as the pool's blocks together is all of them. The test fails
    /// for every other block, so its outcome is predictable.
    #[inline(always)]
    pub(crate) fn spans_pool(&self, start: usize, size: usize) -> bool {
        let whole = size == self.whole;
        debug_assert!(
            !whole || start == self.base.as_ptr().addr(),
            "a block as large as its pool does not start at its base"
        );
        whole
    }

    /// The block whose payload is at `payload`, if that address is a granule of this
    /// pool's payload range; its pointer carries the pool's provenance.
    ///
    /// One comparison refuses both an address outside the range and one off a granule
    /// boundary: rotating the offset right by `log2 GRANULE` moves bits below a granule to
    /// the top, so such an offset becomes larger than any granule count, and an address
    /// below `first` wraps to one.
    #[inline(always)]
    pub(crate) fn block(&self, payload: usize) -> Option<Block> {
        let granule = payload.wrapping_sub(self.first).rotate_right(GRANULE_LOG2);
        if granule >= self.granules {
            return None;
        }
        // SAFETY: `granule < granules`: the header `base + granule·GRANULE` (= payload -
        // HEADER) is a word before the trailer of the pool `base` points into.
        Some(Block::at(unsafe { self.base.add(granule << GRANULE_LOG2) }))
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
    /// Reads the word `ahead` bytes past `block`'s header: where the successor starts if
    /// the block is `ahead` bytes long. [`header_of`](Lookahead::header_of) uses the word
    /// only when that guess was right.
    ///
    /// Called after the header's checks, which bound `ahead` by the block's size: the read
    /// stays inside the block or lands on its successor. The processor still issues it
    /// before the header arrives, on the predicted outcome of those checks, so the two
    /// reads overlap.
    ///
    /// # Safety
    /// `block` must be a block of a pool of the heap, and `ahead` a multiple of `WORD`,
    /// from `WORD` up to its size.
    #[inline(always)]
    pub(crate) unsafe fn read(block: Block, ahead: usize) -> Lookahead {
        debug_assert!(
            ahead >= WORD && ahead % WORD == 0,
            "guess {ahead} off a word"
        );
        #[cfg(debug_assertions)]
        {
            // SAFETY: `block` is a block of a pool (caller): its header is readable.
            let size = unsafe { block.size() };
            debug_assert!(
                ahead <= size,
                "guess {ahead} past the block of {size} bytes"
            );
        }
        // SAFETY: `ahead` is at most the block's size (caller), so `at` lies in the block
        // or is its successor's header (a sentinel at worst), in the same pool.
        let at = unsafe { block.offset(ahead) };
        // SAFETY: `at` is an aligned word of pool memory the heap may read (above). Read as
        // `MaybeUninit`: when the guess is wrong it may be uninitialised payload. Volatile,
        // so the compiler neither drops this read nor merges it with the later header read.
        let word = unsafe {
            at.ptr()
                .cast::<MaybeUninit<usize>>()
                .as_ptr()
                .read_volatile()
        };
        Lookahead { at, word }
    }

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

#[cfg(test)]
mod tests;
