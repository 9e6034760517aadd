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

/// The out-of-band bookkeeping of one block, and of the list id with the same number.
///
/// Block indexes and list ids share the range `0..blocks` (a live list holds at least one
/// block, so there are never more live lists than blocks), so one array serves both: the
/// first three fields describe block `i`, `info` describes list id `i`. Every field holds
/// a value below the region's block count, or [`BlockIndex::END`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Node<I> {
    /// The block before this one on its owner's list; `END` at a list's head and on every
    /// free block.
    pub(crate) prev: I,
    /// The block after this one on its owner's list; `END` at the tail and on every free
    /// block.
    pub(crate) next: I,
    /// Id of the owner list holding this block, or `END` when the block is free.
    pub(crate) list: I,
    /// For list id `i`, two meanings that never overlap in time:
    /// * while the id is live (an owner list uses it): the number of blocks on that list;
    /// * while the id is unused: the next unused id (`END` at the end of the chain).
    pub(crate) info: I,
}

impl<I: BlockIndex> Node<I> {
    /// A node whose every field is `END`.
    const UNUSED: Node<I> = Node {
        prev: I::END,
        next: I::END,
        list: I::END,
        info: I::END,
    };
}

/// An allocator of 4 KiB blocks over caller-provided memory, with O(1) alloc and free.
///
/// * `I` is the index width ([`BlockIndex`]): `u8` (default) or `u16`.
/// * `N` is the capacity in blocks, the length of the out-of-band node arrays held inside
///   the allocator; `N <= I::MAX_BLOCKS` (checked at compile time). The default, 255, is
///   the most an 8-bit index can name: just under 1 MiB. For `u16`, pick `N` to fit the
///   region. Metadata costs five indexes per block of capacity (a node and a free-stack
///   entry): 5 bytes for `u8`, 10 for `u16`.
///
/// Every block is either on the free stack or on exactly one [`Owner`]'s list. Each
/// owner list carries a small *list id*, recorded in each of its blocks' nodes, which
/// makes wrong-owner frees detectable in O(1) and per-owner counts available in O(1).
/// See `docs/block.md` for the layout and invariants.
pub struct BlockAllocator<'mem, I: BlockIndex = u8, const N: usize = 255> {
    /// Pointer to the first block, carrying provenance for the whole region.
    pub(crate) base: NonNull<u8>,
    /// The managed bytes: `blocks * BLOCK_SIZE` bytes from `base`, 4 KiB aligned.
    pub(crate) region: Span,
    /// Number of blocks in the region, `1..=N`.
    pub(crate) blocks: usize,
    /// One node per block (and list id); entries at and above `blocks` are unused.
    ///
    /// Hot paths index it without bounds checks: every index they use is either caller
    /// input checked on entry (an owner's head against `N`, a pointer against the region)
    /// or read from a node or the free stack, and every link, list id and `info` chain
    /// entry stored there is below `blocks` or `END` (which the hot paths test before
    /// following). `check` re-validates all of it with checked indexing.
    pub(crate) nodes: [Node<I>; N],
    /// The free blocks: `free_stack[..free_blocks]`, the most recently freed on top (so a
    /// block freed is the next one handed out, while it is likely still in cache). A stack
    /// rather than a list threaded through the nodes: popping it does not wait for a load
    /// from the popped block's node.
    pub(crate) free_stack: [I; N],
    /// First unused list id, or `END` when every id is live.
    pub(crate) unused_ids: I,
    /// Number of free blocks: the height of `free_stack`.
    pub(crate) free_blocks: usize,
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
        let mut nodes = [Node::UNUSED; N];
        for (id, node) in nodes[..blocks].iter_mut().enumerate() {
            // Every id is unused, chained in order.
            node.info = if id + 1 < blocks {
                I::from_usize(id + 1)
            } else {
                I::END
            };
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
            nodes,
            free_stack,
            unused_ids: I::from_usize(0),
            free_blocks: blocks,
            source: Owner::new(),
            _region: PhantomData,
        }
    }

    /// Takes a free block onto `owner`'s list and returns a pointer to its 4096 bytes, valid
    /// until the block is freed. O(1).
    ///
    /// Errors: [`Error::Exhausted`] when no block is free; [`Error::WrongOwner`] when
    /// `owner` does not name a list of this allocator (it was used with another one).
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
        let index = self.index_of(block.as_ptr().addr())?;
        self.verify_owned(owner, index)?;
        self.unlink(owner, index);
        Ok(())
    }

    /// Gives back every block `owner` holds and returns how many that was. O(blocks owned).
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator.
    pub fn free_all(&mut self, owner: &mut Owner<I>) -> Result<usize, Error> {
        if owner.head == I::END {
            return Ok(0);
        }
        let list = self.list_of_head(owner.head)?;
        let owned = self.node(list.to_usize()).info.to_usize();
        let head = owner.head;
        let free_before = self.free_blocks;
        let mut block = head;
        while block != I::END {
            let node = self.node_mut(block.to_usize());
            let next = node.next;
            node.prev = I::END;
            node.next = I::END;
            node.list = I::END;
            self.push_free(block);
            block = next;
        }
        debug_assert_eq!(
            self.free_blocks - free_before,
            owned,
            "list length disagrees with its count"
        );
        self.release_list_id(list);
        owner.head = I::END;
        Ok(owned)
    }

    /// How many blocks `owner` holds. O(1).
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator.
    pub fn owned_blocks(&self, owner: &Owner<I>) -> Result<usize, Error> {
        if owner.head == I::END {
            return Ok(0);
        }
        let list = self.list_of_head(owner.head)?;
        Ok(self.node(list.to_usize()).info.to_usize())
    }

    /// The blocks `owner` holds, most recently allocated first.
    ///
    /// Errors: [`Error::WrongOwner`] when `owner` does not name a list of this allocator.
    pub fn blocks<'a>(&'a self, owner: &Owner<I>) -> Result<Blocks<'a, 'mem, I, N>, Error> {
        if owner.head != I::END {
            self.list_of_head(owner.head)?;
        }
        Ok(Blocks {
            allocator: self,
            next: owner.head,
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
        let index = addr
            .wrapping_sub(self.region.base())
            .rotate_right(BLOCK_SHIFT);
        if index < self.blocks {
            Ok(index)
        } else {
            Err(self.address_error(addr))
        }
    }

    /// Why [`index_of`](Self::index_of) refused `addr`: out of the hot path.
    #[cold]
    #[inline(never)]
    fn address_error(&self, addr: usize) -> Error {
        if addr.wrapping_sub(self.region.base()) >= self.region.len() {
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
        unsafe { self.base.add(index * BLOCK_SIZE) }
    }

    /// The bytes of block `index` (`index < blocks`).
    pub(crate) fn block_span(&self, index: usize) -> Span {
        debug_assert!(index < self.blocks);
        // Cannot overflow: the block lies inside `region`, a valid span.
        Span::new(self.region.base() + index * BLOCK_SIZE, BLOCK_SIZE)
    }

    /// Node `index` without a bounds check.
    ///
    /// Callers pass `index < N`: a caller-supplied index checked against `N`, or a link,
    /// list id or block index below `blocks <= N` (see the `nodes` field).
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

    /// The list id of the list that `head` starts, or [`Error::WrongOwner`] when `head` is
    /// not the head of any owner list here (an `Owner` from another allocator, or `END`).
    pub(crate) fn list_of_head(&self, head: I) -> Result<I, Error> {
        match self.head_list(head) {
            list if list == I::END => Err(Error::WrongOwner),
            list => Ok(list),
        }
    }

    /// The list id of the list that `head` starts, or `END` when `head` starts none (it is
    /// `END`, a free block, a block inside a list, or out of range).
    #[inline(always)]
    fn head_list(&self, head: I) -> I {
        let index = head.to_usize();
        // Checking against the constant `N` rather than `blocks` keeps the hot path free of
        // a load: nodes from `blocks` to `N` are unused (`list == END`). `END >= N`, so an
        // empty owner's head is refused here too.
        if index >= N {
            return I::END;
        }
        let node = self.node(index);
        if node.prev == I::END {
            node.list
        } else {
            I::END
        }
    }

    /// Pops a free block onto `owner`'s list and returns its index.
    #[inline]
    pub(crate) fn alloc_index(&mut self, owner: &mut Owner<I>) -> Result<usize, Error> {
        let head = owner.head;
        let list = self.head_list(head);
        // One predictable branch for both refusals; `alloc_error` tells them apart.
        if (list == I::END && head != I::END) || self.free_blocks == 0 {
            return Err(self.alloc_error(head));
        }
        let height = self.free_blocks - 1;
        // SAFETY: `height < free_blocks <= blocks <= N`.
        let block = unsafe { *self.free_stack.get_unchecked(height) };
        self.free_blocks = height;
        let list = if head == I::END {
            self.take_list_id()
        } else {
            self.node_mut(head.to_usize()).prev = block;
            let count = &mut self.node_mut(list.to_usize()).info;
            *count = I::from_usize(count.to_usize() + 1);
            list
        };
        let index = block.to_usize();
        let node = self.node_mut(index);
        debug_assert!(
            node.list == I::END && node.prev == I::END && node.next == I::END,
            "free block was owned"
        );
        node.next = head;
        node.list = list;
        owner.head = block;
        Ok(index)
    }

    /// Why [`alloc_index`](Self::alloc_index) refused an owner whose root is `head`, out of
    /// the hot path: [`Error::WrongOwner`] first, then [`Error::Exhausted`].
    #[cold]
    #[inline(never)]
    fn alloc_error(&self, head: I) -> Error {
        if head != I::END && self.head_list(head) == I::END {
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
        let list = self.node(index).list;
        // The owner's head carries the block's list id and starts its list: the owner is
        // that list's root, since each live id belongs to exactly one list. An empty or
        // foreign owner's head starts no list here (`head_list` is `END`), nor does a free
        // block's (`list == END`) match a live one.
        if list != I::END && self.head_list(owner.head) == list {
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
    #[inline]
    pub(crate) fn unlink(&mut self, owner: &mut Owner<I>, index: usize) {
        let Node {
            prev, next, list, ..
        } = *self.node(index);
        debug_assert!(list != I::END, "unlink of a free block");
        if prev == I::END {
            debug_assert_eq!(
                owner.head.to_usize(),
                index,
                "a head that is not the owner's"
            );
            owner.head = next;
        } else {
            self.node_mut(prev.to_usize()).next = next;
        }
        if next != I::END {
            self.node_mut(next.to_usize()).prev = prev;
        }
        let info = &mut self.node_mut(list.to_usize()).info;
        let remaining = info.to_usize() - 1;
        if remaining == 0 {
            debug_assert!(owner.head == I::END);
            self.release_list_id(list);
        } else {
            *info = I::from_usize(remaining);
        }
        let node = self.node_mut(index);
        node.prev = I::END;
        node.next = I::END;
        node.list = I::END;
        self.push_free(I::from_usize(index));
    }

    /// Puts `block` (just marked free) on top of the free stack.
    #[inline(always)]
    fn push_free(&mut self, block: I) {
        debug_assert!(self.free_blocks < self.blocks, "free stack overflow");
        // SAFETY: the stack holds only free blocks, each once, and `block` was not free, so
        // `free_blocks < blocks <= N`.
        let entry = unsafe { self.free_stack.get_unchecked_mut(self.free_blocks) };
        *entry = block;
        self.free_blocks += 1;
    }

    /// Takes an unused list id for a list that is getting its first block (its count
    /// starts at one). An id is always available while a block is free.
    #[inline]
    fn take_list_id(&mut self) -> I {
        let id = self.unused_ids;
        debug_assert!(id != I::END, "no unused list id while a block is free");
        let info = &mut self.node_mut(id.to_usize()).info;
        let next_unused = *info;
        *info = I::from_usize(1);
        self.unused_ids = next_unused;
        id
    }

    /// Puts the id of a list that just became empty back on the unused chain.
    #[inline]
    fn release_list_id(&mut self, id: I) {
        let unused = self.unused_ids;
        self.node_mut(id.to_usize()).info = unused;
        self.unused_ids = id;
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
