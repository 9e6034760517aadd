extern crate std;

use crate::testing::Memory;
use crate::{BLOCK_SIZE, BlockAllocator, Owner};
use core::ptr::NonNull;
use kalloc_core::{Error, Stats};
use std::vec::Vec;

/// Asserts `result` is `error`, that the refused call changed nothing, and that the
/// checker still passes.
macro_rules! refused {
    ($allocator:expr, $call:expr, $error:expr) => {{
        let before = $allocator.snapshot();
        assert_eq!($call, Err($error));
        assert_eq!(
            $allocator.snapshot(),
            before,
            "a refused call changed the state"
        );
        $allocator.check().unwrap();
    }};
}

fn offset(block: NonNull<u8>, bytes: usize) -> NonNull<u8> {
    block.map_addr(|addr| addr.checked_add(bytes).unwrap())
}

fn back(block: NonNull<u8>, bytes: usize) -> NonNull<u8> {
    block.map_addr(|addr| (addr.get() - bytes).try_into().unwrap())
}

#[test]
fn new_counts_whole_aligned_blocks() {
    let mut memory = Memory::new(3);
    let allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    assert_eq!(allocator.block_count(), 3);
    assert_eq!(allocator.free_blocks(), 3);
    assert_eq!(allocator.used_blocks(), 0);
    assert_eq!(allocator.region().len(), 3 * BLOCK_SIZE);
    assert_eq!(
        allocator.stats(),
        Stats {
            total: 3 * BLOCK_SIZE,
            in_use: 0,
            free: 3 * BLOCK_SIZE,
            allocations: 0,
            largest_free: BLOCK_SIZE,
        }
    );
    allocator.check().unwrap();
}

#[test]
fn new_trims_unaligned_ends_inward() {
    let mut memory = Memory::new(4);
    let bytes = memory.bytes();
    let region_start = bytes.as_ptr().addr() + BLOCK_SIZE;
    let allocator = BlockAllocator::<u8>::new(&mut bytes[100..4 * BLOCK_SIZE - 1]).unwrap();
    assert_eq!(
        allocator.block_count(),
        2,
        "the first and last blocks are partial"
    );
    assert_eq!(allocator.region().base(), region_start);
    allocator.check().unwrap();
}

#[test]
fn regions_without_a_whole_block_are_too_small() {
    let mut memory = Memory::new(2);
    let bytes = memory.bytes();
    assert_eq!(
        BlockAllocator::<u8>::new(&mut bytes[..BLOCK_SIZE - 1]).err(),
        Some(Error::TooSmall)
    );
    assert_eq!(
        BlockAllocator::<u8>::new(&mut bytes[1..2 * BLOCK_SIZE - 1]).err(),
        Some(Error::TooSmall)
    );
    assert_eq!(
        BlockAllocator::<u8>::new(&mut bytes[..0]).err(),
        Some(Error::TooSmall)
    );
    assert_eq!(
        BlockAllocator::<u8>::new(&mut bytes[..BLOCK_SIZE]).map(|a| a.block_count()),
        Ok(1)
    );
}

#[test]
fn more_blocks_than_the_capacity_are_refused_or_truncated() {
    let mut memory = Memory::new(5);
    assert_eq!(
        BlockAllocator::<u8, 4>::new(memory.bytes()).err(),
        Some(Error::TooLarge)
    );
    let allocator = BlockAllocator::<u8, 4>::new_truncating(memory.bytes()).unwrap();
    assert_eq!(allocator.block_count(), 4);
    allocator.check().unwrap();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a 1 MiB region is slow under Miri; the 4-block case covers the logic"
)]
fn an_8_bit_allocator_manages_at_most_255_blocks() {
    let mut memory = Memory::new(256);
    assert_eq!(
        BlockAllocator::<u8>::new(memory.bytes()).err(),
        Some(Error::TooLarge)
    );
    let mut allocator = BlockAllocator::<u8>::new_truncating(memory.bytes()).unwrap();
    assert_eq!(allocator.block_count(), 255);
    let mut owner = Owner::new();
    for _ in 0..255 {
        allocator.alloc(&mut owner).unwrap();
    }
    refused!(allocator, allocator.alloc(&mut owner), Error::Exhausted);
    assert_eq!(allocator.free_all(&mut owner), Ok(255));
    allocator.check().unwrap();
}

#[test]
fn raw_constructor_rejects_bad_spans() {
    let mut memory = Memory::new(3);
    let base = NonNull::from(memory.bytes()).cast::<u8>();
    // SAFETY: (all calls below) `memory` is valid and exclusively ours for this test; the
    // refused calls return before any byte is accessed.
    unsafe {
        assert_eq!(
            BlockAllocator::<u8>::from_raw(offset(base, 8), 2 * BLOCK_SIZE).err(),
            Some(Error::Misaligned)
        );
        assert_eq!(
            BlockAllocator::<u8>::from_raw(base, BLOCK_SIZE - 1).err(),
            Some(Error::TooSmall)
        );
        assert_eq!(
            BlockAllocator::<u8, 2>::from_raw(base, 3 * BLOCK_SIZE).err(),
            Some(Error::TooLarge)
        );
        let allocator = BlockAllocator::<u8>::from_raw(base, 3 * BLOCK_SIZE - 1).unwrap();
        assert_eq!(
            allocator.block_count(),
            2,
            "a trailing partial block is ignored"
        );
    }
    let top = NonNull::new(core::ptr::without_provenance_mut::<u8>(usize::MAX - 4095)).unwrap();
    // SAFETY: the span wraps the address space, so the constructor refuses it before
    // anything could be accessed.
    let wrapping = unsafe { BlockAllocator::<u8>::from_raw(top, 2 * BLOCK_SIZE) };
    assert_eq!(wrapping.err(), Some(Error::Overflow));
}

#[test]
fn alloc_hands_out_distinct_blocks_until_exhausted() {
    let mut memory = Memory::new(4);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let region = allocator.region();
    let mut owner = Owner::new();
    let mut blocks = Vec::new();
    for round in 0..4 {
        let block = allocator.alloc(&mut owner).unwrap();
        let addr = block.as_ptr().addr();
        assert!(region.contains(addr) && (addr - region.base()) % BLOCK_SIZE == 0);
        assert!(!blocks.contains(&addr));
        blocks.push(addr);
        assert_eq!(allocator.owned_blocks(&owner), Ok(round + 1));
        allocator.check().unwrap();
    }
    assert_eq!(allocator.stats().in_use, 4 * BLOCK_SIZE);
    assert_eq!(allocator.stats().largest_free, 0);
    refused!(allocator, allocator.alloc(&mut owner), Error::Exhausted);
    let mut other = Owner::new();
    refused!(allocator, allocator.alloc(&mut other), Error::Exhausted);
    assert!(other.is_empty());
}

#[test]
fn every_byte_of_a_block_is_usable_and_blocks_do_not_overlap() {
    let mut memory = Memory::new(3);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let mut owner = Owner::new();
    let blocks: Vec<_> = (0..3)
        .map(|_| allocator.alloc(&mut owner).unwrap())
        .collect();
    for (tag, block) in blocks.iter().enumerate() {
        // SAFETY: an allocated block is valid for BLOCK_SIZE bytes until freed.
        unsafe { block.as_ptr().write_bytes(tag as u8 + 1, BLOCK_SIZE) };
    }
    allocator.check().unwrap();
    for (tag, block) in blocks.iter().enumerate() {
        // SAFETY: as above; nothing else wrote the block.
        let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), BLOCK_SIZE) };
        assert!(bytes.iter().all(|&byte| byte == tag as u8 + 1));
    }
}

#[test]
fn free_unlinks_head_middle_tail_and_only_block() {
    let mut memory = Memory::new(4);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let mut owner = Owner::new();
    // The list is newest first: [d, c, b, a].
    let [a, b, c, d] = [(); 4].map(|()| allocator.alloc(&mut owner).unwrap());
    allocator.free(&mut owner, b).unwrap(); // middle
    allocator.check().unwrap();
    allocator.free(&mut owner, a).unwrap(); // tail
    allocator.check().unwrap();
    allocator.free(&mut owner, d).unwrap(); // head
    allocator.check().unwrap();
    assert_eq!(allocator.owned_blocks(&owner), Ok(1));
    assert_eq!(allocator.blocks(&owner).unwrap().collect::<Vec<_>>(), [c]);
    allocator.free(&mut owner, c).unwrap(); // the only block
    allocator.check().unwrap();
    assert!(owner.is_empty());
    assert_eq!(allocator.free_blocks(), 4);
    // The most recently freed block is reused first.
    assert_eq!(allocator.alloc(&mut owner), Ok(c));
    allocator.check().unwrap();
}

#[test]
fn foreign_and_misaligned_pointers_are_refused() {
    let mut memory = Memory::new(4);
    let bytes = memory.bytes();
    let mut allocator = BlockAllocator::<u8>::new(&mut bytes[BLOCK_SIZE..3 * BLOCK_SIZE]).unwrap();
    let mut owner = Owner::new();
    let first = allocator.alloc(&mut owner).unwrap();
    let second = allocator.alloc(&mut owner).unwrap();
    let (low, high) = if first < second {
        (first, second)
    } else {
        (second, first)
    };
    refused!(
        allocator,
        allocator.free(&mut owner, back(low, BLOCK_SIZE)),
        Error::ForeignPointer
    );
    refused!(
        allocator,
        allocator.free(&mut owner, back(low, 1)),
        Error::ForeignPointer
    );
    refused!(
        allocator,
        allocator.free(&mut owner, offset(high, BLOCK_SIZE)),
        Error::ForeignPointer
    );
    refused!(
        allocator,
        allocator.free(&mut owner, offset(high, 2 * BLOCK_SIZE)),
        Error::ForeignPointer
    );
    // A block boundary past the region but below the capacity names an always-free node,
    // which an empty owner's id matches: still foreign.
    let mut empty = Owner::new();
    refused!(
        allocator,
        allocator.free(&mut empty, offset(high, BLOCK_SIZE)),
        Error::ForeignPointer
    );
    refused!(
        allocator,
        allocator.free(&mut owner, offset(low, 1)),
        Error::Misaligned
    );
    refused!(
        allocator,
        allocator.free(&mut owner, offset(high, BLOCK_SIZE - 1)),
        Error::Misaligned
    );
    assert_eq!(allocator.owned_blocks(&owner), Ok(2));
}

#[test]
fn index_of_classifies_every_address_with_its_single_comparison() {
    let mut memory = Memory::new(3);
    let allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let (base, len) = (allocator.region().base(), allocator.region().len());
    assert_eq!(len, 3 * BLOCK_SIZE);
    for (addr, expected) in [
        (base, Ok(0)),
        (base + BLOCK_SIZE, Ok(1)),
        (base + 2 * BLOCK_SIZE, Ok(2)),
        (base + len, Err(Error::ForeignPointer)),
        (base + len + 1, Err(Error::ForeignPointer)),
        (base - 1, Err(Error::ForeignPointer)),
        (base - BLOCK_SIZE, Err(Error::ForeignPointer)),
        (0, Err(Error::ForeignPointer)),
        (usize::MAX, Err(Error::ForeignPointer)),
        (usize::MAX & !(BLOCK_SIZE - 1), Err(Error::ForeignPointer)),
        (base + 1, Err(Error::Misaligned)),
        (base + BLOCK_SIZE / 2, Err(Error::Misaligned)),
        (base + len - 1, Err(Error::Misaligned)),
    ] {
        assert_eq!(allocator.index_of(addr), expected, "address {addr:#x}");
    }
}

#[test]
fn double_free_is_refused_in_every_position() {
    let mut memory = Memory::new(4);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let mut owner = Owner::new();
    let [a, b, c] = [(); 3].map(|()| allocator.alloc(&mut owner).unwrap());
    allocator.free(&mut owner, b).unwrap();
    refused!(allocator, allocator.free(&mut owner, b), Error::DoubleFree);
    allocator.free(&mut owner, c).unwrap();
    refused!(allocator, allocator.free(&mut owner, c), Error::DoubleFree);
    allocator.free(&mut owner, a).unwrap();
    // The owner is now empty; a free block is still reported as a double free.
    refused!(allocator, allocator.free(&mut owner, a), Error::DoubleFree);
    let never_allocated = allocator.block_ptr(3);
    refused!(
        allocator,
        allocator.free(&mut owner, never_allocated),
        Error::DoubleFree
    );
}

#[test]
fn wrong_owner_is_refused_in_every_position() {
    let mut memory = Memory::new(6);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let (mut alice, mut bob, mut empty) = (Owner::new(), Owner::new(), Owner::new());
    let [a0, a1, a2] = [(); 3].map(|()| allocator.alloc(&mut alice).unwrap());
    let b0 = allocator.alloc(&mut bob).unwrap();
    for block in [a0, a1, a2] {
        refused!(
            allocator,
            allocator.free(&mut bob, block),
            Error::WrongOwner
        );
        refused!(
            allocator,
            allocator.free(&mut empty, block),
            Error::WrongOwner
        );
    }
    refused!(allocator, allocator.free(&mut alice, b0), Error::WrongOwner);
    assert_eq!(allocator.owned_blocks(&alice), Ok(3));
    assert_eq!(allocator.owned_blocks(&bob), Ok(1));
    assert!(empty.is_empty());
}

#[test]
fn an_owner_from_another_allocator_is_refused() {
    let (mut small, mut large) = (Memory::new(2), Memory::new(8));
    let mut first = BlockAllocator::<u8>::new(small.bytes()).unwrap();
    let mut second = BlockAllocator::<u8>::new(large.bytes()).unwrap();
    let (mut a, mut b, mut stranger) = (Owner::new(), Owner::new(), Owner::new());
    second.alloc(&mut a).unwrap();
    second.alloc(&mut b).unwrap();
    for _ in 0..6 {
        second.alloc(&mut stranger).unwrap();
    }
    // `stranger` names list id 2, beyond `first`'s two ids.
    assert_eq!(stranger.id, 2);
    let mut owner = Owner::new();
    let block = first.alloc(&mut owner).unwrap();
    refused!(first, first.alloc(&mut stranger), Error::WrongOwner);
    refused!(first, first.free(&mut stranger, block), Error::WrongOwner);
    refused!(first, first.free_all(&mut stranger), Error::WrongOwner);
    assert_eq!(first.owned_blocks(&stranger), Err(Error::WrongOwner));
    assert!(first.blocks(&stranger).is_err());
    // An id of this allocator that no list uses is refused too.
    let mut unused = Owner { id: 1 };
    refused!(first, first.alloc(&mut unused), Error::WrongOwner);
    refused!(first, first.free(&mut unused, block), Error::WrongOwner);
    refused!(first, first.free_all(&mut unused), Error::WrongOwner);
    assert_eq!(first.owned_blocks(&unused), Err(Error::WrongOwner));
    assert_eq!(second.free_all(&mut stranger), Ok(6));
    second.check().unwrap();
}

#[test]
fn owner_ids_beyond_the_capacity_are_refused() {
    let mut memory = Memory::new(4);
    let mut allocator = BlockAllocator::<u16, 4>::new(memory.bytes()).unwrap();
    let mut owner = Owner::<u16>::new();
    let block = allocator.alloc(&mut owner).unwrap();
    for id in [4, 600, u16::MAX - 1] {
        let mut stranger = Owner::<u16> { id };
        refused!(allocator, allocator.alloc(&mut stranger), Error::WrongOwner);
        refused!(
            allocator,
            allocator.free(&mut stranger, block),
            Error::WrongOwner
        );
        refused!(
            allocator,
            allocator.free_all(&mut stranger),
            Error::WrongOwner
        );
        assert_eq!(allocator.owned_blocks(&stranger), Err(Error::WrongOwner));
    }
}

#[test]
fn free_all_returns_every_block_and_leaves_others_alone() {
    let mut memory = Memory::new(8);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let (mut module, mut other, mut empty) = (Owner::new(), Owner::new(), Owner::new());
    let mut kept = Vec::new();
    for round in 0..5 {
        allocator.alloc(&mut module).unwrap();
        if round % 2 == 0 {
            kept.push(allocator.alloc(&mut other).unwrap());
        }
    }
    assert_eq!(allocator.free_blocks(), 0);
    assert_eq!(allocator.free_all(&mut empty), Ok(0));
    assert_eq!(allocator.free_all(&mut module), Ok(5));
    assert!(module.is_empty());
    allocator.check().unwrap();
    assert_eq!(allocator.free_blocks(), 5);
    assert_eq!(allocator.owned_blocks(&other), Ok(3));
    kept.reverse(); // the list is newest first
    assert_eq!(allocator.blocks(&other).unwrap().collect::<Vec<_>>(), kept);
    for _ in 0..5 {
        allocator.alloc(&mut empty).unwrap();
    }
    allocator.check().unwrap();
    assert_eq!(allocator.free_all(&mut other), Ok(3));
    assert_eq!(allocator.free_all(&mut empty), Ok(5));
    assert_eq!(allocator.free_blocks(), 8);
    allocator.check().unwrap();
}

#[test]
fn many_owners_coexist_and_list_ids_are_recycled() {
    let mut memory = Memory::new(6);
    let mut allocator = BlockAllocator::<u8>::new(memory.bytes()).unwrap();
    let mut owners: [Owner; 6] = Default::default();
    for _ in 0..3 {
        for owner in &mut owners {
            let block = allocator.alloc(owner).unwrap();
            allocator.check().unwrap();
            allocator.free(owner, block).unwrap();
            allocator.check().unwrap();
        }
        for owner in &mut owners {
            allocator.alloc(owner).unwrap();
        }
        allocator.check().unwrap();
        for (index, owner) in owners.iter().enumerate() {
            assert_eq!(allocator.owned_blocks(owner), Ok(1), "owner {index}");
        }
        for owner in owners.iter_mut().rev() {
            assert_eq!(allocator.free_all(owner), Ok(1));
        }
    }
    allocator.check().unwrap();
}

#[test]
fn sixteen_bit_indexes_manage_more_than_255_blocks() {
    let blocks = if cfg!(miri) { 260 } else { 600 };
    let mut memory = Memory::new(blocks);
    let mut allocator = BlockAllocator::<u16, 600>::new(memory.bytes()).unwrap();
    assert_eq!(allocator.block_count(), blocks);
    let (mut even, mut odd) = (Owner::<u16>::new(), Owner::<u16>::new());
    let mut seen = Vec::new();
    for round in 0..blocks {
        let owner = if round % 2 == 0 { &mut even } else { &mut odd };
        seen.push(allocator.alloc(owner).unwrap().as_ptr().addr());
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), blocks);
    allocator.check().unwrap();
    assert_eq!(allocator.alloc(&mut even), Err(Error::Exhausted));
    let last = allocator.blocks(&odd).unwrap().last().unwrap();
    refused!(
        allocator,
        allocator.free(&mut even, last),
        Error::WrongOwner
    );
    allocator.free(&mut odd, last).unwrap();
    assert_eq!(allocator.free_all(&mut even), Ok(blocks / 2));
    assert_eq!(allocator.free_all(&mut odd), Ok(blocks / 2 - 1));
    allocator.check().unwrap();
    assert_eq!(allocator.free_blocks(), blocks);
}

#[test]
fn allocators_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BlockAllocator<'static>>();
    assert_send_sync::<BlockAllocator<'static, u16, 1024>>();
    assert_send_sync::<Owner>();
}
