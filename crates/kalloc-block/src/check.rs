//! [`BlockAllocator::check`]: validates every list and count, and names what is broken.

use crate::allocator::Node;
use crate::{BlockAllocator, BlockIndex};
use core::fmt;

/// What [`BlockAllocator::check`] found broken. Indexes are block indexes (or list ids)
/// in the allocator's region; any of these means memory corruption or a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Inconsistency {
    /// The chain of unused list ids names an id outside `0..blocks`, names one twice (a
    /// cycle), or names one that still records a list head.
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
    /// A list id is neither on the unused chain nor live, or the head recorded for a live
    /// id is outside the region, has a predecessor, or carries another list id.
    ListHead {
        /// The list id.
        id: usize,
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
    /// Owned blocks exist that no list reaches.
    Unreachable {
        /// Owned blocks reached from a list head.
        reached: usize,
        /// Blocks not free.
        owned: usize,
    },
    /// The allocator's own source list root does not name a live list.
    SourceList,
    /// A node or list head past the region's last block (kept for the capacity `N`) is
    /// not empty.
    PastRegion {
        /// The index of the entry.
        index: usize,
    },
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
            Inconsistency::ListHead { id } => {
                write!(f, "list id {id} is lost or its head is not a list front")
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
            Inconsistency::SourceList => f.write_str("source list root names no live list"),
            Inconsistency::PastRegion { index } => {
                write!(f, "entry {index} past the region is in use")
            }
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

    /// Whether bit `index` is set.
    fn is_set(&self, index: usize) -> bool {
        self.0[index / 64] & (1u64 << (index % 64)) != 0
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
    /// Validates the whole state in O(N): the free stack holds exactly the free blocks;
    /// every list id is either unused or live; every live id's head is the front of a
    /// list whose blocks link back, carry the id and number as many as its count; the
    /// lists reach every owned block; the entries past the region are empty.
    ///
    /// Uses a bitmap on the stack: 32 bytes for `u8` indexes, 8 KiB for `u16`.
    pub fn check(&self) -> Result<(), Inconsistency> {
        let mut storage = I::CLEAR_MARKS;
        let mut marks = Marks(storage.as_mut());
        self.check_past_region()?;
        self.check_free_stack(&mut marks)?;
        marks.clear();
        self.check_unused_ids(&mut marks)?;
        let reached = self.check_lists(&marks)?;
        let owned = self.used_blocks();
        if reached != owned {
            return Err(Inconsistency::Unreachable { reached, owned });
        }
        if self.source.id != I::END && self.live_id(&self.source).is_err() {
            return Err(Inconsistency::SourceList);
        }
        Ok(())
    }

    /// Nodes and heads from `blocks` to `N` are never used: the hot paths rely on it.
    fn check_past_region(&self) -> Result<(), Inconsistency> {
        let unused = |index: usize| self.nodes[index] == Node::FREE && self.heads[index] == I::END;
        match (self.blocks..N).find(|&index| !unused(index)) {
            Some(index) => Err(Inconsistency::PastRegion { index }),
            None => Ok(()),
        }
    }

    /// Walks the unused-id chain, marking each id; each has no head.
    fn check_unused_ids(&self, marks: &mut Marks<'_>) -> Result<(), Inconsistency> {
        let mut id = self.unused_ids;
        while id != I::END {
            let index = id.to_usize();
            if index >= self.blocks || marks.test_and_set(index) || self.heads[index] != I::END {
                return Err(Inconsistency::UnusedIdChain { id: index });
            }
            id = self.counts[index];
        }
        Ok(())
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
            let unlinked = index < self.blocks && self.nodes[index] == Node::FREE;
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

    /// Walks the list of every live id (every id below `blocks` not marked unused) from
    /// its head. Returns the number of blocks reached.
    ///
    /// Requiring each head to have no predecessor and `prev` of each reached block to
    /// name the block it was reached from makes walks acyclic and pairwise disjoint: the
    /// first block reached twice would need two different `prev` values, and a head
    /// carries the one id whose head it is.
    fn check_lists(&self, unused: &Marks<'_>) -> Result<usize, Inconsistency> {
        let mut reached = 0;
        for id in (0..self.blocks).filter(|&id| !unused.is_set(id)) {
            let head = self.heads[id].to_usize();
            let front = head < self.blocks && {
                let node = self.nodes[head];
                node.prev == I::END && node.list.to_usize() == id
            };
            if !front {
                return Err(Inconsistency::ListHead { id });
            }
            let expected = self.counts[id].to_usize();
            let (mut from, mut next, mut counted) = (head, self.nodes[head].next, 1);
            while next != I::END {
                let index = next.to_usize();
                let linked = index < self.blocks && {
                    let member = self.nodes[index];
                    member.prev.to_usize() == from && member.list.to_usize() == id
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
        Ok(reached)
    }
}

#[cfg(test)]
mod tests;
