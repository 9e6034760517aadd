//! [`BlockAllocator::check`]: validates every list and count, and names what is broken.

use crate::{BlockAllocator, BlockIndex};
use core::fmt;

/// What [`BlockAllocator::check`] found broken. Indexes are block indexes (or list ids)
/// in the allocator's region; any of these means memory corruption or a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Inconsistency {
    /// The chain of unused list ids names an id outside `0..blocks`, or names one twice
    /// (a cycle).
    UnusedIdChain {
        /// The offending id.
        id: usize,
    },
    /// The free list names a block outside the region, a block marked as owned, or a
    /// block with a `prev` link.
    FreeListNode {
        /// The offending block.
        block: usize,
    },
    /// The free list's length differs from the free-block count (a cycle makes it endless),
    /// or the number of blocks marked free does.
    FreeCount {
        /// Blocks found.
        counted: usize,
        /// The allocator's free-block count.
        expected: usize,
    },
    /// A list head carries an id outside `0..blocks`, an unused id, or the id of another
    /// list that already has a head.
    ListId {
        /// The head block.
        block: usize,
    },
    /// A `next` link leaves the region, or the block it names does not link back (`prev`)
    /// or carries a different list id than its head.
    BrokenLink {
        /// The block whose `next` link is wrong.
        block: usize,
    },
    /// A list is longer or shorter than the count kept for its id.
    ListLength {
        /// The list's head block.
        head: usize,
        /// Blocks found on the list (counting stops one past `expected`).
        counted: usize,
        /// The count kept for the list's id.
        expected: usize,
    },
    /// Owned blocks exist that no list reaches, or live ids have no list.
    Unreachable {
        /// Owned blocks reached from a list head.
        reached: usize,
        /// Blocks not free.
        owned: usize,
    },
    /// The allocator's own source list root does not name a list head.
    SourceList,
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Inconsistency::UnusedIdChain { id } => {
                write!(f, "unused list-id chain broken at id {id}")
            }
            Inconsistency::FreeListNode { block } => {
                write!(
                    f,
                    "free list holds block {block}, which is out of range or owned"
                )
            }
            Inconsistency::FreeCount { counted, expected } => {
                write!(f, "{counted} free blocks found, {expected} counted")
            }
            Inconsistency::ListId { block } => {
                write!(
                    f,
                    "list head {block} carries an unused or duplicate list id"
                )
            }
            Inconsistency::BrokenLink { block } => {
                write!(f, "next link of block {block} is broken")
            }
            Inconsistency::ListLength {
                head,
                counted,
                expected,
            } => write!(
                f,
                "list at block {head} has {counted} blocks, {expected} counted"
            ),
            Inconsistency::Unreachable { reached, owned } => {
                write!(f, "{reached} owned blocks on lists, {owned} owned in total")
            }
            Inconsistency::SourceList => f.write_str("source list root names no list head"),
        }
    }
}

impl core::error::Error for Inconsistency {}

/// One bit per block index or list id, on the stack.
struct Marks<'a>(&'a mut [u64]);

impl Marks<'_> {
    /// Sets bit `index` and reports whether it was already set.
    fn test_and_set(&mut self, index: usize) -> bool {
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        let was_set = self.0[word] & bit != 0;
        self.0[word] |= bit;
        was_set
    }
}

impl<I: BlockIndex, const N: usize> BlockAllocator<'_, I, N> {
    /// Validates the whole state in O(blocks): the free list holds exactly the free blocks;
    /// every owned block lies on exactly one owner list, reached from its head; `prev` and
    /// `next` agree; every list is acyclic, carries one id in all its nodes, and is as long
    /// as its count; ids are either live (exactly one list) or on the unused chain.
    ///
    /// Uses a bitmap on the stack: 32 bytes for `u8` indexes, 8 KiB for `u16`.
    pub fn check(&self) -> Result<(), Inconsistency> {
        let mut storage = I::CLEAR_MARKS;
        let mut marks = Marks(storage.as_mut());
        let unused = self.check_unused_ids(&mut marks)?;
        self.check_free_list()?;
        let (heads, reached) = self.check_owner_lists(&mut marks)?;
        let owned = self.used_blocks();
        if reached != owned || unused + heads != self.blocks {
            return Err(Inconsistency::Unreachable { reached, owned });
        }
        if self.source.head != I::END && self.list_of_head(self.source.head).is_err() {
            return Err(Inconsistency::SourceList);
        }
        Ok(())
    }

    /// Walks the unused-id chain, marking each id; returns its length.
    fn check_unused_ids(&self, marks: &mut Marks<'_>) -> Result<usize, Inconsistency> {
        let mut unused = 0;
        let mut id = self.unused_ids;
        while id != I::END {
            let index = id.to_usize();
            if index >= self.blocks || marks.test_and_set(index) {
                return Err(Inconsistency::UnusedIdChain { id: index });
            }
            unused += 1;
            id = self.list_info[index];
        }
        Ok(unused)
    }

    /// Walks the free list: only free-marked, unlinked-backwards blocks, exactly
    /// `free_blocks` of them, and no other block marked free.
    fn check_free_list(&self) -> Result<(), Inconsistency> {
        let expected = self.free_blocks;
        let mut counted = 0;
        let mut block = self.free_head;
        while block != I::END {
            let index = block.to_usize();
            if index >= self.blocks {
                return Err(Inconsistency::FreeListNode { block: index });
            }
            let node = self.nodes[index];
            if node.list != I::END || node.prev != I::END {
                return Err(Inconsistency::FreeListNode { block: index });
            }
            counted += 1;
            if counted > expected {
                return Err(Inconsistency::FreeCount { counted, expected });
            }
            block = node.next;
        }
        // A walk that ends visits distinct blocks, so equal counts mean the free list is
        // exactly the set of blocks marked free.
        let marked = self.nodes[..self.blocks]
            .iter()
            .filter(|node| node.list == I::END)
            .count();
        if counted != expected || marked != expected {
            return Err(Inconsistency::FreeCount {
                counted: if counted == expected { marked } else { counted },
                expected,
            });
        }
        Ok(())
    }

    /// Finds every list head (an owned block without `prev`), marks its id, and walks its
    /// list. Returns the number of heads and of blocks reached.
    ///
    /// Requiring `prev` of each reached block to name the block it was reached from makes
    /// walks acyclic and pairwise disjoint: the first block reached twice would need two
    /// different `prev` values.
    fn check_owner_lists(&self, marks: &mut Marks<'_>) -> Result<(usize, usize), Inconsistency> {
        let (mut heads, mut reached) = (0, 0);
        for (head, node) in self.nodes[..self.blocks].iter().enumerate() {
            if node.list == I::END || node.prev != I::END {
                continue;
            }
            let id = node.list.to_usize();
            if id >= self.blocks || marks.test_and_set(id) {
                return Err(Inconsistency::ListId { block: head });
            }
            heads += 1;
            let expected = self.list_info[id].to_usize();
            let (mut from, mut next, mut counted) = (head, node.next, 1);
            while next != I::END {
                let index = next.to_usize();
                let linked = index < self.blocks && {
                    let member = self.nodes[index];
                    member.prev.to_usize() == from && member.list == node.list
                };
                if !linked {
                    return Err(Inconsistency::BrokenLink { block: from });
                }
                counted += 1;
                if counted > expected {
                    break;
                }
                (from, next) = (index, self.nodes[index].next);
            }
            if counted != expected {
                return Err(Inconsistency::ListLength {
                    head,
                    counted,
                    expected,
                });
            }
            reached += counted;
        }
        Ok((heads, reached))
    }
}

#[cfg(test)]
mod tests;
