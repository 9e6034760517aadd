//! Positions in an arena and the rewind history that tells a live mark from a stale one.
//!
//! A position is where the arena's cursors stand: which block (by its never-reused import
//! serial) and the two cursor offsets inside it. Along one history, positions only grow:
//! the low cursor rises, the high cursor falls, blocks get newer serials.
//!
//! Every checkpoint and rewind ticks the arena's clock, so marks and rewinds are ordered in
//! time. A mark `X` taken at time `t` and position `p` is *stale* when a rewind after `t`
//! went to a mark `M` taken before `X`: the memory `X` covered may have been given back and
//! handed out again, so `p` alone no longer tells. For the check, a rewind at time `T` to
//! `M` (taken at `t_M`, position `q`) refuses `X` when `T > t` and either `p` is not at or
//! before `q`, or `p == q` and `X` came after `M` (`t > t_M`).
//!
//! [`History`] keeps the records that still matter. A later rewind to a target before `q`
//! (or to `q` itself by a mark no younger than `M`) refuses everything an earlier record
//! refuses, making it redundant. What is left is a staircase, increasing in time and in
//! `(target, mark time)`. It is bounded ([`HISTORY_LEN`] records); when full, the two oldest
//! records merge conservatively, which can make a mark older than both look stale (refused,
//! never wrongly accepted). [`History::merges`] counts such merges.

#[cfg(test)]
mod tests;

/// How many rewind records the history keeps before it merges: the depth of nested
/// checkpoints (each rewound at least once) that is tracked exactly.
pub const HISTORY_LEN: usize = 8;

/// Where an arena's cursors stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    /// Serial of the current block; 0 when the arena holds no block.
    pub(crate) serial: u64,
    /// Offset of the low cursor from the block base (everything below is handed out).
    pub(crate) lo: u16,
    /// Offset of the high cursor from the block base (everything from it up to the link is
    /// handed out).
    pub(crate) hi: u16,
}

impl Pos {
    /// Whether the arena, standing at `later`, has passed through `self` without going
    /// back below it: an older block, or the same block with both cursors at least as far.
    pub(crate) const fn is_at_or_before(self, later: Pos) -> bool {
        self.serial < later.serial
            || (self.serial == later.serial && self.lo <= later.lo && self.hi >= later.hi)
    }
}

/// One rewind that may make marks stale: at clock `time` the arena went back to `target`,
/// the position of a mark taken at clock `mark_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Record {
    pub(crate) time: u64,
    pub(crate) target: Pos,
    pub(crate) mark_time: u64,
}

impl Record {
    /// Whether this rewind leaves a mark taken at `time` and `pos` good.
    const fn spares(&self, time: u64, pos: Pos) -> bool {
        self.time <= time
            || (pos.is_at_or_before(self.target)
                && !(pos.serial == self.target.serial
                    && pos.lo == self.target.lo
                    && pos.hi == self.target.hi
                    && time > self.mark_time))
    }

    /// Whether `later`, a rewind after this one, refuses every mark this one refuses.
    fn is_covered_by(&self, later: &Record) -> bool {
        later.target.is_at_or_before(self.target)
            && (later.target != self.target || later.mark_time <= self.mark_time)
    }
}

/// The rewinds that can still make a mark stale, oldest first.
///
/// Invariant: `records[..len]` strictly increase in `time`; targets never decrease, and
/// equal targets come with strictly increasing `mark_time`, so no record is redundant.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    records: [Record; HISTORY_LEN],
    len: usize,
    merges: usize,
}

impl History {
    /// An empty history: no rewind since the arena started (or was reset).
    pub(crate) const fn new() -> History {
        History {
            records: [Record {
                time: 0,
                target: Pos {
                    serial: 0,
                    lo: 0,
                    hi: 0,
                },
                mark_time: 0,
            }; HISTORY_LEN],
            len: 0,
            merges: 0,
        }
    }

    /// The records, oldest first.
    pub(crate) fn records(&self) -> &[Record] {
        &self.records[..self.len]
    }

    /// How many times two records merged because the history was full.
    pub(crate) const fn merges(&self) -> usize {
        self.merges
    }

    /// Whether a mark taken at `time` and `pos` survived every recorded rewind.
    pub(crate) fn allows(&self, time: u64, pos: Pos) -> bool {
        self.records().iter().all(|record| record.spares(time, pos))
    }

    /// Records a rewind at `time` (later than every recorded time) to `target`, the
    /// position of a mark taken at `mark_time`.
    pub(crate) fn push(&mut self, time: u64, target: Pos, mark_time: u64) {
        debug_assert!(self.records().iter().all(|record| record.time < time));
        let record = Record {
            time,
            target,
            mark_time,
        };
        // Records this one covers are redundant; they sit at the end of the staircase.
        while self.len > 0 && self.records[self.len - 1].is_covered_by(&record) {
            self.len -= 1;
        }
        if self.len == HISTORY_LEN {
            // Full: fold the oldest two into one that refuses everything either refused
            // (the later time with the older target and mark), and maybe a little more.
            self.records[1] = Record {
                time: self.records[1].time,
                ..self.records[0]
            };
            self.records.copy_within(1.., 0);
            self.len -= 1;
            self.merges += 1;
        }
        self.records[self.len] = record;
        self.len += 1;
    }

    /// Forgets every record (after a reset, which refuses older marks by time alone).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Checks the staircase invariant.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.len > HISTORY_LEN {
            return Err("history length over capacity");
        }
        for pair in self.records().windows(2) {
            if pair[0].time >= pair[1].time {
                return Err("history times not increasing");
            }
            if !pair[0].target.is_at_or_before(pair[1].target)
                || (pair[0].target == pair[1].target && pair[0].mark_time >= pair[1].mark_time)
            {
                return Err("history targets not increasing");
            }
        }
        Ok(())
    }
}
