use crate::testing::Memory;
use crate::{BlockAllocator, Inconsistency, Owner};

/// Four blocks: `owner` holds blocks [2, 1] (newest first) under list id 0, blocks 3 and 0
/// are free (free stack [3, 0], 0 on top), ids 1, 2, 3 are unused (chain 1 -> 2 -> 3).
fn two_owned(memory: &mut Memory) -> (BlockAllocator<'_, u8, 4>, Owner) {
    let mut allocator = BlockAllocator::<u8, 4>::new(memory.bytes()).unwrap();
    let mut owner = Owner::new();
    let [first, _, _] = [(); 3].map(|()| allocator.alloc(&mut owner).unwrap());
    allocator.free(&mut owner, first).unwrap();
    assert_eq!(owner.id, 0);
    assert_eq!((allocator.heads[0], allocator.counts[0]), (2, 2));
    assert_eq!(allocator.unused_ids, 1);
    allocator.check().unwrap();
    (allocator, owner)
}

#[test]
fn a_consistent_allocator_passes() {
    let mut memory = Memory::new(4);
    let (mut allocator, mut owner) = two_owned(&mut memory);
    allocator.free_all(&mut owner).unwrap();
    assert_eq!(allocator.check(), Ok(()));
}

#[test]
fn broken_unused_id_chains_are_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    let good = allocator.snapshot();
    allocator.counts[3] = 1; // 1 -> 2 -> 3 -> 1
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::UnusedIdChain { id: 1 })
    );
    allocator.counts[3] = 9;
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::UnusedIdChain { id: 9 })
    );
    allocator.counts[3] = u8::MAX;
    allocator.heads[2] = 3; // an unused id that records a head
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::UnusedIdChain { id: 2 })
    );
    allocator.heads[2] = u8::MAX;
    assert_eq!(allocator.snapshot(), good);
    allocator.check().unwrap();
}

#[test]
fn broken_free_stacks_are_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    let good = allocator.snapshot();
    assert_eq!(allocator.free_stack[..2], [3, 0]);
    for (entry, block) in [(3, 3), (1, 1), (7, 7)] {
        // A repeated, an owned and an out-of-range block.
        allocator.free_stack[1] = entry;
        assert_eq!(
            allocator.check(),
            Err(Inconsistency::FreeStackEntry { block })
        );
    }
    allocator.free_stack[1] = 0;
    allocator.nodes[0].next = 3; // a free block still linked
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::FreeStackEntry { block: 0 })
    );
    allocator.nodes[0].next = u8::MAX;
    assert_eq!(allocator.snapshot(), good);
    allocator.check().unwrap();
}

#[test]
fn free_counts_that_disagree_are_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    allocator.free_blocks = 1; // block 0 stays marked free but is off the stack
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::FreeCount {
            counted: 2,
            expected: 1
        })
    );
    allocator.free_blocks = 5; // higher than the region
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::FreeCount {
            counted: 4,
            expected: 5
        })
    );
}

#[test]
fn broken_owner_lists_are_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    allocator.nodes[1].prev = 3; // does not link back to 2
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::BrokenLink { block: 2 })
    );
    allocator.nodes[1].prev = 2;
    allocator.nodes[1].list = 1; // carries another id than its head
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::BrokenLink { block: 2 })
    );
    allocator.nodes[1].list = 0;
    allocator.nodes[2].next = 9; // leaves the region
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::BrokenLink { block: 2 })
    );
    allocator.nodes[2].next = 1;
    allocator.counts[0] = 3;
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::ListLength {
            head: 2,
            counted: 2,
            expected: 3
        })
    );
    allocator.counts[0] = 1;
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::ListLength {
            head: 2,
            counted: 2,
            expected: 1
        })
    );
    allocator.counts[0] = 2;
    allocator.check().unwrap();
}

#[test]
fn bad_list_heads_and_lost_ids_are_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    let good = allocator.snapshot();
    allocator.nodes[2].list = 1; // the head carries another id
    assert_eq!(allocator.check(), Err(Inconsistency::ListHead { id: 0 }));
    allocator.nodes[2].list = 0;
    // A head with a predecessor, a free block, and one outside the region.
    for head in [1, 3, 9] {
        allocator.heads[0] = head;
        assert_eq!(allocator.check(), Err(Inconsistency::ListHead { id: 0 }));
    }
    allocator.heads[0] = 2;
    allocator.unused_ids = 2; // id 1 is now neither unused nor live
    assert_eq!(allocator.check(), Err(Inconsistency::ListHead { id: 1 }));
    allocator.unused_ids = 1;
    assert_eq!(allocator.snapshot(), good);
    allocator.check().unwrap();
}

#[test]
fn owned_blocks_no_head_reaches_are_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    // Block 1 points back at block 0, which is free: no head reaches block 1.
    allocator.nodes[2].next = u8::MAX;
    allocator.counts[0] = 1;
    allocator.nodes[1].prev = 0;
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::Unreachable {
            reached: 1,
            owned: 2
        })
    );
}

#[test]
fn a_broken_source_root_is_found() {
    let mut memory = Memory::new(4);
    let (mut allocator, _owner) = two_owned(&mut memory);
    allocator.source.id = 1; // an unused id
    assert_eq!(allocator.check(), Err(Inconsistency::SourceList));
    allocator.source.id = 7; // no id of this allocator
    assert_eq!(allocator.check(), Err(Inconsistency::SourceList));
}

#[test]
fn used_entries_past_the_region_are_found() {
    let mut memory = Memory::new(4);
    let mut allocator = BlockAllocator::<u8, 6>::new(memory.bytes()).unwrap();
    allocator.check().unwrap();
    allocator.nodes[5].list = 0;
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::PastRegion { index: 5 })
    );
    allocator.nodes[5].list = u8::MAX;
    allocator.heads[4] = 0;
    assert_eq!(
        allocator.check(),
        Err(Inconsistency::PastRegion { index: 4 })
    );
}

#[test]
fn inconsistencies_describe_themselves() {
    extern crate std;
    use std::string::ToString;
    let text = Inconsistency::ListLength {
        head: 2,
        counted: 2,
        expected: 3,
    }
    .to_string();
    assert_eq!(text, "list at block 2 has 2 blocks, 3 counted");
    assert!(Inconsistency::SourceList.to_string().contains("source"));
    assert!(
        Inconsistency::ListHead { id: 4 }
            .to_string()
            .contains("list id 4")
    );
    assert!(
        Inconsistency::PastRegion { index: 9 }
            .to_string()
            .contains("entry 9")
    );
}
