//! Fuzz harness for kalloc-block: random alloc / free / free_all across several owners and
//! the `SourceMut` interface, bad inputs included, checked against the shadow model.
//!
//! The first bytes pick the index width (8 or 16 bits) and the number of blocks; the rest
//! decode into `Op`s. After every step the harness runs the allocator's checker and
//! compares its counts with the model; at the end it gives everything back and expects the
//! allocator's initial stats.

use crate::memory::AlignedMemory;
use crate::shadow::{Shadow, fill, verify};
use arbitrary::{Arbitrary, Unstructured};
use kalloc_block::{BLOCK_SIZE, BlockAllocator, BlockIndex, Owner};
use kalloc_core::{Align, Error, MemorySourceMut, SourceMut, Span};
use std::ptr::NonNull;

/// Client owners the harness drives; the allocator's own source list is owner `OWNERS`.
const OWNERS: usize = 4;

/// The model's owner number for blocks imported through `SourceMut`.
const SOURCE: usize = OWNERS;

/// Capacity of the 16-bit allocator: enough to cross the 8-bit limit.
const WIDE_CAPACITY: usize = 300;

/// One step. `pick` values choose among the candidates the model offers (modulo count).
#[derive(Arbitrary, Debug)]
enum Op {
    /// Allocate a block for `owner`.
    Alloc { owner: u8 },
    /// Free one of `owner`'s blocks through `owner`.
    Free { owner: u8, pick: u16 },
    /// Free a live block through an owner that does not hold it.
    FreeWrongOwner { pick: u16, owner: u8 },
    /// Free an address outside the region, `distance` bytes below or beyond it.
    FreeForeign { below: bool, distance: u16 },
    /// Free an address inside a block but off its start.
    FreeMisaligned { pick: u16, offset: u16, owner: u8 },
    /// Free a block that is not allocated.
    FreeFree { pick: u16, owner: u8 },
    /// Give back everything `owner` holds.
    FreeAll { owner: u8 },
    /// Import through the `SourceMut` interface.
    Import { size: u16, align_log2: u8 },
    /// Release an imported block.
    Release { pick: u16 },
    /// Release something the source did not hand out as it is.
    ReleaseBad { pick: u16, kind: u8 },
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(wide), Ok(size)) = (u.arbitrary::<bool>(), u.arbitrary::<u8>()) else {
        return;
    };
    if wide {
        let blocks = 250 + usize::from(size) % (WIDE_CAPACITY - 249);
        Harness::<u16, WIDE_CAPACITY>::run(blocks, &mut u);
    } else {
        let blocks = if size == u8::MAX {
            255
        } else {
            1 + usize::from(size) % 40
        };
        Harness::<u8, 255>::run(blocks, &mut u);
    }
}

/// The allocator under test, its owners and the model.
struct Harness<'mem, I: BlockIndex, const N: usize> {
    allocator: BlockAllocator<'mem, I, N>,
    owners: [Owner<I>; OWNERS],
    shadow: Shadow,
    /// Tags of the fill patterns, unique per allocation; the low byte is the owner.
    serial: u64,
}

impl<'mem, I: BlockIndex, const N: usize> Harness<'mem, I, N> {
    fn run(blocks: usize, u: &mut Unstructured<'_>) {
        let mut memory = AlignedMemory::new(blocks * BLOCK_SIZE, BLOCK_SIZE);
        let allocator = BlockAllocator::<I, N>::new(memory.bytes()).expect("whole blocks");
        assert_eq!(allocator.block_count(), blocks);
        let initial = allocator.stats();
        let mut harness = Harness {
            allocator,
            owners: std::array::from_fn(|_| Owner::new()),
            shadow: Shadow::new(),
            serial: 0,
        };
        // `arbitrary` keeps producing default values once the bytes run out: stop there.
        while !u.is_empty() {
            let Ok(op) = u.arbitrary::<Op>() else { break };
            harness.step(op);
            harness.agree();
        }
        harness.give_everything_back();
        assert_eq!(
            harness.allocator.stats(),
            initial,
            "not back to the initial state"
        );
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Alloc { owner } => self.alloc(usize::from(owner) % OWNERS),
            Op::Free { owner, pick } => self.free(usize::from(owner) % OWNERS, pick),
            Op::FreeWrongOwner { pick, owner } => self.free_wrong_owner(pick, owner),
            Op::FreeForeign { below, distance } => self.free_foreign(below, distance),
            Op::FreeMisaligned {
                pick,
                offset,
                owner,
            } => self.free_misaligned(pick, offset, owner),
            Op::FreeFree { pick, owner } => self.free_free(pick, owner),
            Op::FreeAll { owner } => self.free_all(usize::from(owner) % OWNERS),
            Op::Import { size, align_log2 } => self.import(size, align_log2),
            Op::Release { pick } => self.release(pick),
            Op::ReleaseBad { pick, kind } => self.release_bad(pick, kind),
        }
    }

    /// The allocator's checker passes and its counts match the model.
    fn agree(&self) {
        if let Err(inconsistency) = self.allocator.check() {
            panic!("checker: {inconsistency}");
        }
        assert_eq!(self.allocator.used_blocks(), self.shadow.len());
        for (owner, root) in self.owners.iter().enumerate() {
            assert_eq!(
                self.allocator.owned_blocks(root),
                Ok(self.live_of(owner).len()),
                "blocks of owner {owner}"
            );
        }
    }

    fn region(&self) -> Span {
        self.allocator.region()
    }

    fn live_of(&self, owner: usize) -> Vec<Span> {
        self.shadow
            .iter()
            .filter(|live| live.tag & 0xFF == owner as u64)
            .map(|live| live.span)
            .collect()
    }

    /// Blocks the model says are free.
    fn free_blocks(&self) -> Vec<Span> {
        let region = self.region();
        (0..self.allocator.block_count())
            .map(|index| Span::new(region.base() + index * BLOCK_SIZE, BLOCK_SIZE))
            .filter(|span| self.shadow.get(span.base()).is_none())
            .collect()
    }

    /// A pointer with address `addr` and no provenance: for addresses the allocator must
    /// refuse, which it only compares and never dereferences.
    fn pointer(addr: usize) -> NonNull<u8> {
        NonNull::new(std::ptr::without_provenance_mut(addr)).expect("non-null address")
    }

    /// A pointer to the live block at `addr`, with provenance, from the allocator.
    fn block_pointer(&self, addr: usize) -> NonNull<u8> {
        if let Some(live) = self.shadow.get(addr) {
            if live.tag & 0xFF == SOURCE as u64 {
                return self.allocator.ptr(live.span).expect("imported block");
            }
            let owner = &self.owners[(live.tag & 0xFF) as usize];
            return self
                .allocator
                .blocks(owner)
                .expect("owner")
                .find(|block| block.as_ptr().addr() == addr)
                .expect("the model's block is on its owner's list");
        }
        Self::pointer(addr)
    }

    fn next_tag(&mut self, owner: usize) -> u64 {
        self.serial += 1;
        (self.serial << 8) | owner as u64
    }

    fn record(&mut self, block: NonNull<u8>, owner: usize) {
        let span = Span::new(block.as_ptr().addr(), BLOCK_SIZE);
        assert!(
            self.region().contains_span(span),
            "block outside the region"
        );
        assert_eq!((span.base() - self.region().base()) % BLOCK_SIZE, 0);
        let tag = self.next_tag(owner);
        self.shadow.insert(span, tag);
        // SAFETY: a freshly allocated block is valid for BLOCK_SIZE bytes and ours.
        unsafe { fill(block.as_ptr(), BLOCK_SIZE, tag) };
    }

    /// Removes the model's block at `block`, checking its contents survived.
    fn forget(&mut self, block: NonNull<u8>) {
        let live = self
            .shadow
            .remove(block.as_ptr().addr())
            .expect("model block");
        // SAFETY: the block is still allocated (the caller frees it after this check).
        let intact = unsafe { verify(block.as_ptr(), BLOCK_SIZE, live.tag) };
        assert_eq!(intact, Ok(()), "block {:?} was overwritten", live.span);
    }

    fn alloc(&mut self, owner: usize) {
        let expected_free = self.allocator.free_blocks();
        match self.allocator.alloc(&mut self.owners[owner]) {
            Ok(block) => {
                assert!(expected_free > 0);
                self.record(block, owner);
            }
            Err(error) => {
                assert_eq!(error, Error::Exhausted);
                assert_eq!(self.shadow.len(), self.allocator.block_count());
            }
        }
    }

    fn free(&mut self, owner: usize, pick: u16) {
        let live = self.live_of(owner);
        if live.is_empty() {
            // Nothing to free: any other live block is refused as another owner's, a free
            // block as a double free.
            if let Some(other) = self
                .shadow
                .nth(usize::from(pick) % self.shadow.len().max(1))
            {
                let ptr = self.block_pointer(other.span.base());
                let result = self.allocator.free(&mut self.owners[owner], ptr);
                assert_eq!(result, Err(Error::WrongOwner));
            } else {
                self.free_free(pick, owner as u8);
            }
            return;
        }
        let span = live[usize::from(pick) % live.len()];
        let ptr = self.block_pointer(span.base());
        self.forget(ptr);
        self.allocator
            .free(&mut self.owners[owner], ptr)
            .expect("free of a live block");
    }

    fn free_wrong_owner(&mut self, pick: u16, owner: u8) {
        if self.shadow.is_empty() {
            return;
        }
        let live = self
            .shadow
            .nth(usize::from(pick) % self.shadow.len())
            .expect("live");
        let holder = (live.tag & 0xFF) as usize;
        let mut wrong = usize::from(owner) % OWNERS;
        if wrong == holder {
            wrong = (wrong + 1) % OWNERS;
        }
        let ptr = self.block_pointer(live.span.base());
        let result = self.allocator.free(&mut self.owners[wrong], ptr);
        assert_eq!(result, Err(Error::WrongOwner));
        if holder != SOURCE {
            let result = SourceMut::release(&mut self.allocator, live.span);
            assert_eq!(result, Err(Error::WrongOwner));
        }
    }

    fn free_foreign(&mut self, below: bool, distance: u16) {
        let region = self.region();
        let distance = usize::from(distance);
        let addr = if below {
            match region.base().checked_sub(distance + 1) {
                Some(0) | None => return,
                Some(addr) => addr,
            }
        } else {
            region.end() + distance
        };
        let ptr = Self::pointer(addr);
        let result = self.allocator.free(&mut self.owners[0], ptr);
        assert_eq!(result, Err(Error::ForeignPointer));
        let release = SourceMut::release(&mut self.allocator, Span::new(addr, BLOCK_SIZE));
        assert_eq!(release, Err(Error::ForeignPointer));
    }

    fn free_misaligned(&mut self, pick: u16, offset: u16, owner: u8) {
        let offset = 1 + usize::from(offset) % (BLOCK_SIZE - 1);
        let index = usize::from(pick) % self.allocator.block_count();
        let addr = self.region().base() + index * BLOCK_SIZE + offset;
        let ptr = Self::pointer(addr);
        let owner = usize::from(owner) % OWNERS;
        let result = self.allocator.free(&mut self.owners[owner], ptr);
        assert_eq!(result, Err(Error::Misaligned));
    }

    fn free_free(&mut self, pick: u16, owner: u8) {
        let free = self.free_blocks();
        if free.is_empty() {
            return;
        }
        let span = free[usize::from(pick) % free.len()];
        let ptr = Self::pointer(span.base());
        let owner = usize::from(owner) % OWNERS;
        let result = self.allocator.free(&mut self.owners[owner], ptr);
        assert_eq!(result, Err(Error::DoubleFree));
        let release = SourceMut::release(&mut self.allocator, span);
        assert_eq!(release, Err(Error::DoubleFree));
    }

    fn free_all(&mut self, owner: usize) {
        let live = self.live_of(owner);
        for span in &live {
            let ptr = self.block_pointer(span.base());
            self.forget(ptr);
        }
        let freed = self.allocator.free_all(&mut self.owners[owner]);
        assert_eq!(freed, Ok(live.len()));
        assert!(self.owners[owner].is_empty());
    }

    fn import(&mut self, size: u16, align_log2: u8) {
        let size = usize::from(size) % (BLOCK_SIZE + 64);
        let align = Align::from_log2(u32::from(align_log2 % 16)).expect("small shift");
        let result = SourceMut::import(&mut self.allocator, size, align);
        let expected = if size == 0 {
            Some(Error::ZeroSize)
        } else if size > BLOCK_SIZE {
            Some(Error::TooLarge)
        } else if align.get() > BLOCK_SIZE {
            Some(Error::BadAlign)
        } else if self.shadow.len() == self.allocator.block_count() {
            Some(Error::Exhausted)
        } else {
            None
        };
        match (result, expected) {
            (Ok(span), None) => {
                assert_eq!(span.len(), BLOCK_SIZE);
                let ptr = self.allocator.ptr(span).expect("imported span");
                self.record(ptr, SOURCE);
            }
            (Err(error), Some(expected)) => assert_eq!(error, expected),
            (result, expected) => panic!("import gave {result:?}, model expected {expected:?}"),
        }
    }

    fn release(&mut self, pick: u16) {
        let live = self.live_of(SOURCE);
        if live.is_empty() {
            return;
        }
        let span = live[usize::from(pick) % live.len()];
        let ptr = self.allocator.ptr(span).expect("imported span");
        self.forget(ptr);
        SourceMut::release(&mut self.allocator, span).expect("release of an import");
        assert_eq!(self.allocator.ptr(span), Err(Error::ForeignPointer));
    }

    fn release_bad(&mut self, pick: u16, kind: u8) {
        let live = self.live_of(SOURCE);
        if live.is_empty() {
            return;
        }
        let span = live[usize::from(pick) % live.len()];
        let (bad, expected) = match kind % 3 {
            0 => (
                Span::new(span.base(), 1 + usize::from(pick) % (BLOCK_SIZE - 1)),
                Error::WrongSize,
            ),
            1 => (
                Span::new(span.base() + 1 + usize::from(pick) % (BLOCK_SIZE - 1), 1),
                Error::Misaligned,
            ),
            _ => (Span::new(span.base(), 2 * BLOCK_SIZE), Error::WrongSize),
        };
        assert_eq!(SourceMut::release(&mut self.allocator, bad), Err(expected));
    }

    /// Frees every owner's blocks and releases every import, checking contents.
    fn give_everything_back(&mut self) {
        for owner in 0..OWNERS {
            self.free_all(owner);
            self.agree();
        }
        for span in self.live_of(SOURCE) {
            let ptr = self.allocator.ptr(span).expect("imported span");
            self.forget(ptr);
            SourceMut::release(&mut self.allocator, span).expect("release");
        }
        self.agree();
        assert!(self.shadow.is_empty());
    }
}
