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
    /// The free stack holds a block outside the region, a block marked as owned or still
    /// linked to a list, or a block twice.
    FreeStackEntry {
        /// The offending block.
        block: usize,
    },
    /// The number of blocks marked free differs from the height of the free stack.
    FreeCount {
        /// Blocks marked free.
        counted: usize,
        /// The height of the free stack.
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
            Inconsistency::FreeStackEntry { block } => write!(
                f,
                "free stack holds block {block}, which is out of range, owned, linked or repeated"
            ),
            Inconsistency::FreeCount { counted, expected } => {
                write!(
                    f,
                    "{counted} blocks marked free, {expected} on the free stack"
                )
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
    /// Clears every bit.
    fn clear(&mut self) {
        self.0.fill(0);
    }

    /// Sets bit `index` and reports whether it was already set.
    fn test_and_set(&mut self, index: usize) -> bool {
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        let was_set = self.0[word] & bit != 0;
        self.0[word] |= bit;
        was_set
    }
}

impl<I: BlockIndex, const N: usize> BlockAllocator<'_, I, N> {
    /// Validates the whole state in O(blocks): the free stack holds exactly the free blocks;
    /// every owned block lies on exactly one owner list, reached from its head; `prev` and
    /// `next` agree; every list is acyclic, carries one id in all its nodes, and is as long
    /// as its count; ids are either live (exactly one list) or on the unused chain.
    ///
    /// Uses a bitmap on the stack: 32 bytes for `u8` indexes, 8 KiB for `u16`.
    pub fn check(&self) -> Result<(), Inconsistency> {
        let mut storage = I::CLEAR_MARKS;
        let mut marks = Marks(storage.as_mut());
        self.check_free_stack(&mut marks)?;
        marks.clear();
        let unused = self.check_unused_ids(&mut marks)?;
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
            id = self.nodes[index].info;
        }
        Ok(unused)
    }

    /// The free stack holds distinct, unlinked, free-marked blocks, and no other block is
    /// marked free.
    fn check_free_stack(&self, marks: &mut Marks<'_>) -> Result<(), Inconsistency> {
        let expected = self.free_blocks;
        if expected > self.blocks {
            return Err(Inconsistency::FreeCount {
                counted: self.blocks,
                expected,
            });
        }
        for &block in &self.free_stack[..expected] {
            let index = block.to_usize();
            let unlinked = index < self.blocks && {
                let node = self.nodes[index];
                node.list == I::END && node.prev == I::END && node.next == I::END
            };
            if !unlinked || marks.test_and_set(index) {
                return Err(Inconsistency::FreeStackEntry { block: index });
            }
        }
        let counted = self.nodes[..self.blocks]
            .iter()
            .filter(|node| node.list == I::END)
            .count();
        if counted != expected {
            return Err(Inconsistency::FreeCount { counted, expected });
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
            let expected = self.nodes[id].info.to_usize();
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
