//! [`BlockAllocator`]: 4 KiB blocks, O(1) alloc and free, lists threaded through
//! out-of-band nodes of 8- or 16-bit indexes.

use crate::{BlockIndex, Owner};
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kalloc_core::{Align, Error, Span, Stats};

/// Size of every block in bytes.
pub const BLOCK_SIZE: usize = 1 << BLOCK_SHIFT;

/// `log2(BLOCK_SIZE)`: a block's index is its byte offset in the region shifted right by this.
const BLOCK_SHIFT: u32 = 12;

/// Alignment of every block: the region's first block starts on a 4 KiB boundary.
pub const BLOCK_ALIGN: Align = Align::new(BLOCK_SIZE);

/// The out-of-band links of one block.
///
/// Every field holds a block index or list id below the region's block count, or
/// [`BlockIndex::END`]. A free block's node is [`Node::FREE`] (all three `END`), and so is
/// every node from the block count up to the capacity. Aligned to four bytes so that for
/// `u8` indexes a node is one 32-bit word: indexing is a shift, and marking a block free is
/// a single store (the fourth byte is padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub(crate) struct Node<I> {
    /// The block before this one on its owner's list; `END` at a list's front and on every
    /// free block.
    pub(crate) prev: I,
    /// The block after this one on its owner's list; `END` at the tail and on every free
    /// block.
    pub(crate) next: I,
    /// Id of the owner list holding this block, or `END` when the block is free.
    pub(crate) list: I,
}

impl<I: BlockIndex> Node<I> {
    /// The node of a free block (and of every node past the region).
    pub(crate) const FREE: Node<I> = Node {
        prev: I::END,
        next: I::END,
        list: I::END,
    };
}

/// An allocator of 4 KiB blocks over caller-provided memory, with O(1) alloc and free.
///
/// * `I` is the index width ([`BlockIndex`]): `u8` (default) or `u16`.
/// * `N` is the capacity in blocks, the length of the out-of-band arrays held inside the
///   allocator; `N <= I::MAX_BLOCKS` (checked at compile time). The default, 255, is the
///   most an 8-bit index can name: just under 1 MiB. For `u16`, pick `N` to fit the region.
///   Metadata costs seven indexes' worth per block of capacity (a four-index node, a list
///   head, a list count and a free-stack entry): 7 bytes for `u8`, 14 for `u16`.
///
/// Every block is either on the free stack or on exactly one [`Owner`]'s list. An owner
/// names its list by a small *list id*; the allocator keeps each live list's front block
/// and length under that id, and records the id in every node of the list, which makes
/// wrong-owner frees detectable in O(1) and per-owner counts available in O(1).
/// See `docs/block.md` for the layout and invariants.
pub struct BlockAllocator<'mem, I: BlockIndex = u8, const N: usize = 255> {
    /// Pointer to the first block, carrying provenance for the whole region.
    pub(crate) base: NonNull<u8>,
    /// The managed bytes: `blocks * BLOCK_SIZE` bytes from `base`, 4 KiB aligned.
    pub(crate) region: Span,
    /// Number of blocks in the region, `1..=N`.
    pub(crate) blocks: usize,
    /// Number of free blocks: the height of `free_stack`.
    pub(crate) free_blocks: usize,
    /// One node per block; entries at and above `blocks` are [`Node::FREE`] forever.
    ///
    /// Hot paths index `nodes`, `heads`, `counts` and `free_stack` without bounds checks:
    /// every index they use is either caller input checked on entry (a list id against
    /// `N`, a pointer against the region) or read from these arrays, and every link, list
    /// id, head and chain entry stored there is below `blocks` or `END` (which the hot
    /// paths test before following). `check` re-validates all of it with checked indexing.
    pub(crate) nodes: [Node<I>; N],
    /// For each live list id, its front block (the most recently allocated); `END` for
    /// every unused id and every id from `blocks` to `N`.
    pub(crate) heads: [I; N],
    /// For list id `i`, two meanings that never overlap in time:
    /// * while the id is live (an owner list uses it): the number of blocks on that list;
    /// * while the id is unused: the next unused id (`END` at the end of the chain).
    pub(crate) counts: [I; N],
    /// The free blocks: `free_stack[..free_blocks]`, the most recently freed on top (so a
    /// block freed is the next one handed out, while it is likely still in cache). A stack
    /// rather than a list threaded through the nodes: popping it does not wait for a load
    /// from the popped block's node.
    pub(crate) free_stack: [I; N],
    /// First unused list id, or `END` when every id is live.
    pub(crate) unused_ids: I,
    /// The list of blocks handed out through [`SourceMut`](kalloc_core::SourceMut).
    pub(crate) source: Owner<I>,
    _region: PhantomData<&'mem mut [u8]>,
}

// SAFETY: the allocator is the only user of its region for `'mem` (it holds the region's
// `&'mem mut` borrow, or the raw constructor's caller promised exclusivity), so moving it to
// another thread moves that exclusive access with it, like sending a `&mut [u8]`.
unsafe impl<I: BlockIndex, const N: usize> Send for BlockAllocator<'_, I, N> {}

// SAFETY: `&self` methods only read the out-of-band metadata and compute pointers; they
// never read or write block memory, so sharing `&BlockAllocator` between threads is as
// safe as sharing its plain-data fields.
unsafe impl<I: BlockIndex, const N: usize> Sync for BlockAllocator<'_, I, N> {}

impl<'mem, I: BlockIndex, const N: usize> BlockAllocator<'mem, I, N> {
    /// Post-monomorphisation check that the capacity fits the index width.
    const CAPACITY_FITS: () = assert!(
        N >= 1 && N <= I::MAX_BLOCKS,
        "BlockAllocator capacity N must be in 1..=I::MAX_BLOCKS (255 for u8, 65535 for u16)"
    );

    /// Post-monomorphisation check behind [`index_of`](Self::index_of)'s single comparison:
    /// a block offset rotated right by `BLOCK_SHIFT` with any of its low `BLOCK_SHIFT` bits
    /// set is at least `2^(usize::BITS - BLOCK_SHIFT)`, so it must exceed every block
    /// index (`< N`). Holds on 32- and 64-bit targets for both index widths.
    const ROTATION_SEPARATES: () = assert!(
        N < 1 << (usize::BITS - BLOCK_SHIFT),
        "BlockAllocator capacity N too large for this target's address width"
    );

    /// An allocator over the whole 4 KiB blocks inside `region` (its ends are trimmed
    /// inward to block boundaries).
    ///
    /// Errors: [`Error::TooSmall`] when no whole aligned block fits, [`Error::TooLarge`]
    /// when more than `N` blocks fit (use [`new_truncating`](Self::new_truncating) to
    /// manage only the first `N`).
    pub fn new(region: &'mem mut [u8]) -> Result<Self, Error> {
        let (base, blocks) = Self::whole_blocks(region)?;
        if blocks > N {
            return Err(Error::TooLarge);
        }
        Ok(Self::with_blocks(base, blocks))
    }

    /// As [`new`](Self::new), but a region with more than `N` blocks is accepted and only
    /// its first `N` blocks are managed.
    pub fn new_truncating(region: &'mem mut [u8]) -> Result<Self, Error> {
        let (base, blocks) = Self::whole_blocks(region)?;
        Ok(Self::with_blocks(base, blocks.min(N)))
    }

    /// An allocator over `len` bytes at `base`; a trailing partial block is ignored.
    ///
    /// Errors: [`Error::Misaligned`] when `base` is not 4 KiB aligned, [`Error::Overflow`]
    /// when the bytes would wrap the address space, [`Error::TooSmall`] for less than one
    /// block, [`Error::TooLarge`] for more than `N` blocks.
    ///
    /// # Safety
    /// 1. The `len` bytes at `base` must be valid for reads and writes for `'mem`.
    /// 2. Nothing else may access them during `'mem` except through the pointers this
    ///    allocator hands out, and only while the block is allocated.
    pub unsafe fn from_raw(base: NonNull<u8>, len: usize) -> Result<Self, Error> {
        if !BLOCK_ALIGN.is_aligned(base.as_ptr().addr()) {
            return Err(Error::Misaligned);
        }
        Span::try_new(base.as_ptr().addr(), len)?;
        match len / BLOCK_SIZE {
            0 => Err(Error::TooSmall),
            blocks if blocks > N => Err(Error::TooLarge),
            blocks => Ok(Self::with_blocks(base, blocks)),
        }
    }

    /// The first aligned block inside `region` and how many whole blocks follow it.
    fn whole_blocks(region: &'mem mut [u8]) -> Result<(NonNull<u8>, usize), Error> {
        let start = NonNull::from(region);
        let bytes = Span::try_new(start.as_ptr().addr(), start.len())?;
        let aligned = bytes.align_inward(BLOCK_ALIGN).ok_or(Error::TooSmall)?;
        let blocks = aligned.len() / BLOCK_SIZE;
        if blocks == 0 {
            return Err(Error::TooSmall);
        }
        // SAFETY: `aligned` lies inside `bytes`, so the offset stays within the slice.
        let base = unsafe { start.cast::<u8>().add(aligned.base() - bytes.base()) };
        Ok((base, blocks))
    }

    /// The allocator with all `blocks` free, in address order, and every list id unused.
    fn with_blocks(base: NonNull<u8>, blocks: usize) -> Self {
        let () = Self::CAPACITY_FITS;
        let () = Self::ROTATION_SEPARATES;
        debug_assert!((1..=N).contains(&blocks));
        // Every id is unused, chained in order through `counts`.
        let mut counts = [I::END; N];
        for (id, next_unused) in counts[..blocks - 1].iter_mut().enumerate() {
            *next_unused = I::from_usize(id + 1);
        }
        // Block 0 on top: blocks are handed out in address order at first.
        let mut free_stack = [I::END; N];
        for (height, entry) in free_stack[..blocks].iter_mut().enumerate() {
            *entry = I::from_usize(blocks - 1 - height);
        }
        let region = Span::new(base.as_ptr().addr(), blocks * BLOCK_SIZE);
        BlockAllocator {
            base,
            region,
            blocks,
            free_blocks: blocks,
            nodes: [Node::FREE; N],
            heads: [I::END; N],
            counts,
            free_stack,
            unused_ids: I::from_usize(0),
            source: Owner::new(),
            _region: PhantomData,
        }
    }

    /// Takes a free block onto `owner`'s list and returns a pointer to its 4096 bytes, valid
    /// until the block is freed. O(1).
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator
    /// (it was used with another one); [`Error::Exhausted`] when no block is free.
    #[inline]
    pub fn alloc(&mut self, owner: &mut Owner<I>) -> Result<NonNull<u8>, Error> {
        let index = self.alloc_index(owner)?;
        Ok(self.block_ptr(index))
    }

    /// Gives the block at `block` back from `owner`'s list. O(1).
    ///
    /// Errors, checked in this order (each leaves everything unchanged):
    /// [`Error::ForeignPointer`] when `block` lies outside the region;
    /// [`Error::Misaligned`] when it is inside but not at the start of a block;
    /// [`Error::DoubleFree`] when the block is already free;
    /// [`Error::WrongOwner`] when the block belongs to another owner (including when
    /// `owner` holds nothing at all).
    #[inline]
    pub fn free(&mut self, owner: &mut Owner<I>, block: NonNull<u8>) -> Result<(), Error> {
        // Against the capacity `N`, a constant, rather than `blocks`: one load less. An
        // index from `blocks` to `N` names a node that is always free (`list == END`,
        // `prev == END`), so it takes the general path, which refuses it.
        let index = self.rotated_offset(block.as_ptr().addr());
        if index >= N {
            return Err(self.address_error(index));
        }
        // The common case takes two tests: the block is on `owner`'s list, and it has a
        // predecessor. A block with a predecessor is owned (free nodes have none), so its
        // list id is live and, being `owner`'s, proves the ownership. Everything else (a
        // free block, another owner's, the front of a list) takes the general path.
        //
        // Fields are read one by one, not as a whole node: `alloc` and `unlink` store
        // single fields, and a wider load of recently stored bytes stalls store forwarding.
        let id = owner.id;
        if self.node(index).list != id {
            return self.free_general(owner, index);
        }
        let prev = self.node(index).prev;
        if prev == I::END {
            return self.free_general(owner, index);
        }
        // `id`, equal to the node's list id, indexes the count: that address is known
        // before the node load returns, which keeps the count's update chain short.
        self.unlink_behind_front(index, prev, id);
        self.push_free(index);
        Ok(())
    }

    /// [`free`](Self::free) of a block that is free, another owner's, or at the front of
    /// its list.
    #[inline(never)]
    fn free_general(&mut self, owner: &mut Owner<I>, index: usize) -> Result<(), Error> {
        if index >= self.blocks {
            return Err(self.address_error(index));
        }
        self.verify_owned(owner, index)?;
        self.unlink(owner, index);
        Ok(())
    }

    /// Gives back every block `owner` holds and returns how many that was. O(blocks owned).
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator.
    pub fn free_all(&mut self, owner: &mut Owner<I>) -> Result<usize, Error> {
        if owner.id == I::END {
            return Ok(0);
        }
        let id = self.live_id(owner)?;
        let owned = self.counts[id].to_usize();
        let free_before = self.free_blocks;
        let mut block = self.heads[id];
        while block != I::END {
            let index = block.to_usize();
            block = self.node(index).next;
            *self.node_mut(index) = Node::FREE;
            self.push_free(index);
        }
        debug_assert_eq!(
            self.free_blocks - free_before,
            owned,
            "list length disagrees with its count"
        );
        self.release_list_id(owner);
        Ok(owned)
    }

    /// How many blocks `owner` holds. O(1).
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator.
    pub fn owned_blocks(&self, owner: &Owner<I>) -> Result<usize, Error> {
        if owner.id == I::END {
            return Ok(0);
        }
        let id = self.live_id(owner)?;
        Ok(self.counts[id].to_usize())
    }

    /// The blocks `owner` holds, most recently allocated first.
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator.
    pub fn blocks<'a>(&'a self, owner: &Owner<I>) -> Result<Blocks<'a, 'mem, I, N>, Error> {
        let next = if owner.id == I::END {
            I::END
        } else {
            self.heads[self.live_id(owner)?]
        };
        Ok(Blocks {
            allocator: self,
            next,
        })
    }

    /// Usage in bytes, in O(1): `total` is the region, `allocations` the blocks in use.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let used = self.used_blocks();
        Stats {
            total: self.region.len(),
            in_use: used * BLOCK_SIZE,
            free: self.free_blocks * BLOCK_SIZE,
            allocations: used,
            largest_free: if self.free_blocks > 0 { BLOCK_SIZE } else { 0 },
        }
    }

    /// The bytes managed: `block_count()` blocks from a 4 KiB-aligned base.
    #[must_use]
    pub fn region(&self) -> Span {
        self.region
    }

    /// Number of blocks managed.
    #[must_use]
    pub fn block_count(&self) -> usize {
        self.blocks
    }

    /// Number of free blocks.
    #[must_use]
    pub fn free_blocks(&self) -> usize {
        self.free_blocks
    }

    /// Number of blocks held by owners (including the internal source list).
    #[must_use]
    pub fn used_blocks(&self) -> usize {
        self.blocks - self.free_blocks
    }

    /// The block starting at `addr`, or [`Error::ForeignPointer`] outside the region and
    /// [`Error::Misaligned`] inside it but off a block boundary.
    #[inline]
    pub(crate) fn index_of(&self, addr: usize) -> Result<usize, Error> {
        // One unsigned comparison refuses every bad address. Rotating the offset right by
        // `BLOCK_SHIFT` moves the bits below a block boundary to the top, so an offset off
        // a boundary becomes at least `2^(usize::BITS - BLOCK_SHIFT)`, above any block count
        // (`ROTATION_SEPARATES`); a boundary offset becomes its block number, which is
        // below `blocks` exactly when the offset is inside the region. An address below the
        // region wraps to an offset above it (the region does not wrap).
        let index = self.rotated_offset(addr);
        if index < self.blocks {
            Ok(index)
        } else {
            Err(self.address_error(index))
        }
    }

    /// `addr`'s offset in the region rotated right by `BLOCK_SHIFT`: the block index for
    /// a block boundary, a value of at least `N` for anything else (see
    /// [`index_of`](Self::index_of)).
    #[inline(always)]
    fn rotated_offset(&self, addr: usize) -> usize {
        addr.wrapping_sub(self.base.as_ptr().addr())
            .rotate_right(BLOCK_SHIFT)
    }

    /// Why [`index_of`](Self::index_of) refused the address whose rotated offset is
    /// `rotated`, out of the hot path. Taking the rotated value rather than the address
    /// spares the hot path a register copy of the address.
    #[cold]
    #[inline(never)]
    fn address_error(&self, rotated: usize) -> Error {
        if rotated.rotate_left(BLOCK_SHIFT) >= self.region.len() {
            Error::ForeignPointer
        } else {
            Error::Misaligned
        }
    }

    /// Pointer to the first byte of block `index` (`index < blocks`).
    #[inline]
    pub(crate) fn block_ptr(&self, index: usize) -> NonNull<u8> {
        debug_assert!(index < self.blocks);
        // SAFETY: `index < blocks`, so the offset stays within the region, which `base` is
        // valid for (constructors' contract).
        unsafe { self.base.add(index << BLOCK_SHIFT) }
    }

    /// The bytes of block `index` (`index < blocks`).
    pub(crate) fn block_span(&self, index: usize) -> Span {
        debug_assert!(index < self.blocks);
        // Cannot overflow: the block lies inside `region`, a valid span.
        Span::new(self.region.base() + index * BLOCK_SIZE, BLOCK_SIZE)
    }

    /// Node `index` without a bounds check.
    ///
    /// Callers pass `index < N`: a block index below `blocks <= N` (checked caller input
    /// or a link read from a node or the free stack; see the `nodes` field).
    #[inline(always)]
    fn node(&self, index: usize) -> &Node<I> {
        debug_assert!(index < N, "node {index} out of range");
        // SAFETY: `index < N` (caller), so it is in bounds of `nodes`.
        unsafe { self.nodes.get_unchecked(index) }
    }

    /// As [`node`](Self::node), mutable.
    #[inline(always)]
    fn node_mut(&mut self, index: usize) -> &mut Node<I> {
        debug_assert!(index < N, "node {index} out of range");
        // SAFETY: `index < N` (caller), so it is in bounds of `nodes`.
        unsafe { self.nodes.get_unchecked_mut(index) }
    }

    /// The head entry of list id `id` (`id < N`) without a bounds check.
    #[inline(always)]
    fn head_mut(&mut self, id: usize) -> &mut I {
        debug_assert!(id < N, "list id {id} out of range");
        // SAFETY: `id < N` (caller), so it is in bounds of `heads`.
        unsafe { self.heads.get_unchecked_mut(id) }
    }

    /// The count entry of list id `id` (`id < N`) without a bounds check.
    #[inline(always)]
    fn count_mut(&mut self, id: usize) -> &mut I {
        debug_assert!(id < N, "list id {id} out of range");
        // SAFETY: `id < N` (caller), so it is in bounds of `counts`.
        unsafe { self.counts.get_unchecked_mut(id) }
    }

    /// The id of `owner`'s list, or [`Error::WrongOwner`] when `owner` names no live list
    /// here (an `Owner` from another allocator, or an empty one).
    pub(crate) fn live_id(&self, owner: &Owner<I>) -> Result<usize, Error> {
        let id = owner.id.to_usize();
        // Ids from `blocks` to `N` and unused ids have no head; `END >= N`.
        match self.heads.get(id) {
            Some(&head) if head != I::END => Ok(id),
            _ => Err(Error::WrongOwner),
        }
    }

    /// Pops a free block onto `owner`'s list and returns its index.
    #[inline]
    pub(crate) fn alloc_index(&mut self, owner: &mut Owner<I>) -> Result<usize, Error> {
        let id = owner.id.to_usize();
        if id >= N {
            // An empty owner (`END >= N`), or one that names no list here.
            return self.alloc_first(owner);
        }
        let head = *self.head_mut(id);
        // One predictable branch for both refusals: an unused id (or one past the region)
        // has no head; `alloc_error` tells them apart.
        if head == I::END || self.free_blocks == 0 {
            return Err(self.alloc_error(owner));
        }
        let block = self.pop_free();
        let node = self.node_mut(block);
        debug_assert!(*node == Node::FREE, "free block was owned");
        node.next = head;
        node.list = owner.id;
        let block = I::from_usize(block);
        self.node_mut(head.to_usize()).prev = block;
        *self.head_mut(id) = block;
        let count = self.count_mut(id);
        *count = I::from_usize(count.to_usize() + 1);
        Ok(block.to_usize())
    }

    /// [`alloc_index`](Self::alloc_index) for an owner holding nothing: the block starts
    /// a new list under an unused id.
    #[inline(never)]
    fn alloc_first(&mut self, owner: &mut Owner<I>) -> Result<usize, Error> {
        if owner.id != I::END || self.free_blocks == 0 {
            return Err(self.alloc_error(owner));
        }
        let block = self.pop_free();
        let id = self.take_list_id(block);
        debug_assert!(*self.node(block) == Node::FREE, "free block was owned");
        self.node_mut(block).list = id;
        owner.id = id;
        Ok(block)
    }

    /// Why [`alloc_index`](Self::alloc_index) refused `owner`, out of the hot path:
    /// [`Error::WrongOwner`] first, then [`Error::Exhausted`].
    #[cold]
    #[inline(never)]
    fn alloc_error(&self, owner: &Owner<I>) -> Error {
        if owner.id != I::END && self.live_id(owner).is_err() {
            Error::WrongOwner
        } else {
            debug_assert_eq!(self.free_blocks, 0);
            Error::Exhausted
        }
    }

    /// Checks that block `index` (`< blocks`) is on `owner`'s list, without changing
    /// anything: [`Error::DoubleFree`] when it is free, [`Error::WrongOwner`] when another
    /// list holds it (or `owner` holds nothing, or is not an owner of this allocator).
    #[inline]
    pub(crate) fn verify_owned(&self, owner: &Owner<I>, index: usize) -> Result<(), Error> {
        // The block's list id is `owner`'s: each live id belongs to exactly one list. A
        // free block's id is `END`, like an empty owner's, hence the second test.
        let list = self.node(index).list;
        if list == owner.id && list != I::END {
            Ok(())
        } else {
            Err(self.ownership_error(index))
        }
    }

    /// Why [`verify_owned`](Self::verify_owned) refused block `index`, out of the hot path.
    #[cold]
    #[inline(never)]
    fn ownership_error(&self, index: usize) -> Error {
        if self.node(index).list == I::END {
            Error::DoubleFree
        } else {
            Error::WrongOwner
        }
    }

    /// Moves block `index` from `owner`'s list to the free stack. The caller has checked
    /// [`verify_owned`](Self::verify_owned).
    pub(crate) fn unlink(&mut self, owner: &mut Owner<I>, index: usize) {
        let node = *self.node(index);
        debug_assert!(node.list == owner.id && node.list != I::END);
        if node.prev != I::END {
            self.unlink_behind_front(index, node.prev, node.list);
        } else {
            let id = node.list.to_usize();
            debug_assert_eq!(self.heads[id].to_usize(), index, "front is not the head");
            *self.head_mut(id) = node.next;
            if node.next == I::END {
                // The only block: the list ends and its id becomes unused.
                self.release_list_id(owner);
            } else {
                self.node_mut(node.next.to_usize()).prev = I::END;
                let count = self.count_mut(id);
                *count = I::from_usize(count.to_usize() - 1);
            }
            *self.node_mut(index) = Node::FREE;
        }
        self.push_free(index);
    }

    /// Takes block `index`, whose node has predecessor `prev` and list id `list`, off its
    /// list (which keeps its front and at least one block) and marks it free. The caller
    /// pushes it on the free stack.
    #[inline(always)]
    fn unlink_behind_front(&mut self, index: usize, prev: I, list: I) {
        debug_assert!(prev != I::END && list != I::END);
        let next = self.node(index).next;
        self.node_mut(prev.to_usize()).next = next;
        if next != I::END {
            self.node_mut(next.to_usize()).prev = prev;
        }
        let count = self.count_mut(list.to_usize());
        debug_assert!(count.to_usize() >= 2, "a list with a front and this block");
        *count = I::from_usize(count.to_usize() - 1);
        *self.node_mut(index) = Node::FREE;
    }

    /// Takes the block on top of the free stack (`free_blocks > 0`).
    #[inline(always)]
    fn pop_free(&mut self) -> usize {
        debug_assert!(self.free_blocks > 0, "free stack underflow");
        let height = self.free_blocks - 1;
        self.free_blocks = height;
        // SAFETY: `height < free_blocks <= blocks <= N`.
        let block = unsafe { *self.free_stack.get_unchecked(height) };
        block.to_usize()
    }

    /// Puts block `index` (just marked free) on top of the free stack.
    #[inline(always)]
    fn push_free(&mut self, index: usize) {
        debug_assert!(self.free_blocks < self.blocks, "free stack overflow");
        // SAFETY: the stack holds only free blocks, each once, and block `index` was not
        // free, so `free_blocks < blocks <= N`.
        let entry = unsafe { self.free_stack.get_unchecked_mut(self.free_blocks) };
        *entry = I::from_usize(index);
        self.free_blocks += 1;
    }

    /// Takes an unused list id for a new list whose only block is `block`. An id is always
    /// available while a block is free: live lists hold at least one block each.
    fn take_list_id(&mut self, block: usize) -> I {
        let id = self.unused_ids;
        debug_assert!(id != I::END, "no unused list id while a block is free");
        let index = id.to_usize();
        self.unused_ids = self.counts[index];
        self.counts[index] = I::from_usize(1);
        self.heads[index] = I::from_usize(block);
        id
    }

    /// Puts the id of `owner`'s list, which just became empty, back on the unused chain,
    /// and empties `owner`.
    fn release_list_id(&mut self, owner: &mut Owner<I>) {
        let index = owner.id.to_usize();
        self.heads[index] = I::END;
        self.counts[index] = self.unused_ids;
        self.unused_ids = owner.id;
        owner.id = I::END;
    }
}

impl<I: BlockIndex, const N: usize> fmt::Debug for BlockAllocator<'_, I, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockAllocator")
            .field("region", &self.region)
            .field("blocks", &self.blocks)
            .field("free_blocks", &self.free_blocks)
            .field("capacity", &N)
            .finish_non_exhaustive()
    }
}

/// The blocks of one owner, most recently allocated first: see
/// [`BlockAllocator::blocks`].
#[derive(Debug)]
pub struct Blocks<'a, 'mem, I: BlockIndex, const N: usize> {
    allocator: &'a BlockAllocator<'mem, I, N>,
    next: I,
}

impl<I: BlockIndex, const N: usize> Iterator for Blocks<'_, '_, I, N> {
    type Item = NonNull<u8>;

    fn next(&mut self) -> Option<NonNull<u8>> {
        if self.next == I::END {
            return None;
        }
        let index = self.next.to_usize();
        self.next = self.allocator.node(index).next;
        Some(self.allocator.block_ptr(index))
    }
}

#[cfg(test)]
mod tests;
