//! Deterministic operation traces: generated once from a seed, replayed identically for
//! every allocator in a benchmark group.

use kalloc_fuzz::rng::Rng;

/// One step of a trace. `slot` names a live allocation by its index in the replayer's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Allocate `size` bytes aligned to `align` into `slot` (which is empty).
    Alloc {
        /// Table index that will hold the allocation.
        slot: usize,
        /// Bytes requested.
        size: usize,
        /// Alignment requested (a power of two).
        align: usize,
    },
    /// Free what `slot` holds.
    Free {
        /// Table index of the allocation.
        slot: usize,
    },
    /// Resize what `slot` holds to `size` bytes, keeping its alignment.
    Realloc {
        /// Table index of the allocation.
        slot: usize,
        /// New size in bytes.
        size: usize,
    },
}

/// Sizes and alignments a trace draws from.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// Smallest request.
    pub min_size: usize,
    /// Largest request (reached rarely: sizes are log-uniform).
    pub max_size: usize,
    /// Largest alignment (alignments are powers of two from 8, mostly small).
    pub max_align: usize,
    /// Percent of steps that resize instead of allocating or freeing.
    pub realloc_percent: u32,
}

/// A log-uniform size in `min..=max`: as many requests between 8 and 16 bytes as between
/// 64 KiB and 128 KiB, which makes small requests dominate the count as in real programs.
pub fn log_uniform(rng: &mut Rng, min: usize, max: usize) -> usize {
    let (low, high) = (min.max(1).ilog2(), max.ilog2());
    let bits = rng.between(low as usize, high as usize) as u32;
    let base = 1usize << bits;
    (base + rng.below(base)).clamp(min, max)
}

/// A trace that first fills `live` slots, then churns `steps` operations around that many
/// live allocations, then frees everything.
pub fn churn(seed: u64, live: usize, steps: usize, mix: Mix) -> Vec<Op> {
    let mut rng = Rng::new(seed);
    let mut used = vec![false; live];
    let mut ops = Vec::with_capacity(2 * live + steps);
    let alloc = |rng: &mut Rng, slot: usize| {
        let size = log_uniform(rng, mix.min_size, mix.max_size);
        let align = if rng.chance(90) {
            8
        } else {
            1 << rng.between(3, mix.max_align.ilog2() as usize)
        };
        Op::Alloc { slot, size, align }
    };
    ops.extend((0..live).map(|slot| alloc(&mut rng, slot)));
    used.fill(true);
    for _ in 0..steps {
        let slot = rng.below(live);
        if used[slot] && rng.chance(mix.realloc_percent) {
            ops.push(Op::Realloc {
                slot,
                size: log_uniform(&mut rng, mix.min_size, mix.max_size),
            });
        } else if used[slot] {
            ops.push(Op::Free { slot });
            used[slot] = false;
        } else {
            ops.push(alloc(&mut rng, slot));
            used[slot] = true;
        }
    }
    ops.extend(
        used.iter()
            .enumerate()
            .filter(|(_, u)| **u)
            .map(|(slot, _)| Op::Free { slot }),
    );
    ops
}

/// How many distinct traces a [`Rotation`] holds. Sixteen is enough only when the traces are
/// long: no sequence of requests may come back before some hundred thousand operations
/// later. The block benchmark's 16 traces of 4 thousand steps (67 thousand in all) were
/// still partly memorised over criterion's replays, and 64 of them (270 thousand) were not;
/// its traces are now 65 536 steps long.
pub const ROTATION: usize = 16;

/// [`ROTATION`] distinct traces of one workload (of [`churn`] operations, or of a bench's
/// own step type), replayed in turn.
///
/// Why not one trace, replayed over and over? Because the CPU learns it. A trace of ten
/// thousand operations repeated for seconds lets the branch predictor memorise the
/// allocator's data-dependent branches (small or large request, neighbour free or not,
/// list empty or not) for that exact sequence, and an allocator's time then measures how
/// well its branches can be memorised rather than what it costs on requests it has not
/// seen. On this machine one repeated 11.5 thousand-operation trace ran talc 2.4 times and
/// kalloc-tlsf 1.7 times faster than the same workload with a fresh trace each time (and
/// reversed the verdict on a branchless rewrite). A kernel heap never sees its requests
/// twice, so benchmarks that replay random workloads cycle through a rotation.
#[derive(Clone, Debug)]
pub struct Rotation<T = Op> {
    traces: Vec<Vec<T>>,
    next: usize,
}

impl Rotation {
    /// [`ROTATION`] traces of `churn(seed + i, live, steps, mix)`.
    #[must_use]
    pub fn churn(seed: u64, live: usize, steps: usize, mix: Mix) -> Rotation {
        Rotation::generate(seed, |seed| churn(seed, live, steps, mix))
    }
}

impl<T> Rotation<T> {
    /// [`ROTATION`] traces made by `trace(seed + i)`.
    pub fn generate(seed: u64, trace: impl FnMut(u64) -> Vec<T>) -> Rotation<T> {
        let traces = (0..ROTATION as u64)
            .map(|i| seed.wrapping_add(i))
            .map(trace)
            .collect();
        Rotation { traces, next: 0 }
    }

    /// The next trace in turn (the first after the last).
    pub fn next_trace(&mut self) -> &[T] {
        let trace = &self.traces[self.next];
        self.next = (self.next + 1) % self.traces.len();
        trace
    }

    /// Every trace, in turn order.
    #[must_use]
    pub fn traces(&self) -> &[Vec<T>] {
        &self.traces
    }

    /// The mean number of operations per trace (they differ by the final frees).
    #[must_use]
    pub fn mean_len(&self) -> usize {
        self.traces.iter().map(Vec::len).sum::<usize>() / self.traces.len()
    }
}

/// A workload held at a constant live count, for measuring cost per operation as that
/// count grows: `fill` allocates slot `i` with `fill[i]` units, then each `churn` step frees
/// one slot and allocates a new size into it, so every step leaves the count unchanged.
/// Replayers cycle through `churn` for as long as the measurement runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Steady {
    /// Size of each slot's first allocation; its length is the live count.
    pub fill: Vec<usize>,
    /// `(slot, size)`: free `slot`, then allocate `size` into it.
    pub churn: Vec<(usize, usize)>,
}

impl Steady {
    /// `live` slots and `steps` churn steps; sizes log-uniform in `min..=max`, slots
    /// uniformly random (so every step touches a random live allocation).
    ///
    /// # Panics
    /// When `live` is zero or `min > max`.
    #[must_use]
    pub fn new(seed: u64, live: usize, steps: usize, min: usize, max: usize) -> Steady {
        assert!(
            live > 0 && min <= max,
            "a steady trace needs slots and sizes"
        );
        let mut rng = Rng::new(seed);
        let fill = (0..live).map(|_| log_uniform(&mut rng, min, max)).collect();
        let churn = (0..steps)
            .map(|_| (rng.below(live), log_uniform(&mut rng, min, max)))
            .collect();
        Steady { fill, churn }
    }

    /// The live count.
    #[must_use]
    pub fn live(&self) -> usize {
        self.fill.len()
    }

    /// The most units live at once over one pass of the fill and the churn.
    #[must_use]
    pub fn peak(&self) -> usize {
        let mut sizes = self.fill.clone();
        let mut live: usize = sizes.iter().sum();
        let mut peak = live;
        for &(slot, size) in &self.churn {
            live = live - sizes[slot] + size;
            sizes[slot] = size;
            peak = peak.max(live);
        }
        peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_is_deterministic_and_balanced() {
        let mix = Mix {
            min_size: 8,
            max_size: 4096,
            max_align: 64,
            realloc_percent: 10,
        };
        let a = churn(1, 50, 500, mix);
        assert_eq!(a, churn(1, 50, 500, mix));
        let mut live = [false; 50];
        for op in &a {
            match *op {
                Op::Alloc { slot, size, align } => {
                    assert!(!live[slot]);
                    assert!((8..=4096).contains(&size) && align.is_power_of_two() && align <= 64);
                    live[slot] = true;
                }
                Op::Free { slot } => {
                    assert!(live[slot]);
                    live[slot] = false;
                }
                Op::Realloc { slot, .. } => assert!(live[slot]),
            }
        }
        assert!(live.iter().all(|l| !l), "the trace frees everything");
    }

    #[test]
    fn a_rotation_holds_distinct_traces_and_cycles_through_them() {
        let mix = Mix {
            min_size: 8,
            max_size: 4096,
            max_align: 64,
            realloc_percent: 10,
        };
        let mut rotation = Rotation::churn(3, 20, 100, mix);
        assert_eq!(rotation.traces().len(), ROTATION);
        for (i, trace) in rotation.traces().iter().enumerate() {
            assert_eq!(*trace, churn(3 + i as u64, 20, 100, mix));
            assert!(
                rotation.traces()[..i]
                    .iter()
                    .all(|earlier| earlier != trace)
            );
        }
        let turns: Vec<Vec<Op>> = (0..2 * ROTATION)
            .map(|_| rotation.next_trace().to_vec())
            .collect();
        assert_eq!(turns[..ROTATION], rotation.traces()[..]);
        assert_eq!(turns[ROTATION..], rotation.traces()[..]);
        let total: usize = rotation.traces().iter().map(Vec::len).sum();
        assert_eq!(rotation.mean_len(), total / ROTATION);
    }

    #[test]
    fn steady_is_deterministic_and_in_range() {
        let a = Steady::new(7, 100, 1000, 16, 256);
        assert_eq!(a, Steady::new(7, 100, 1000, 16, 256));
        assert_ne!(a, Steady::new(8, 100, 1000, 16, 256));
        assert_eq!(a.live(), 100);
        assert_eq!(a.churn.len(), 1000);
        assert!(a.fill.iter().all(|size| (16..=256).contains(size)));
        assert!(
            a.churn
                .iter()
                .all(|&(slot, size)| slot < 100 && (16..=256).contains(&size))
        );
        let filled: usize = a.fill.iter().sum();
        assert!(a.peak() >= filled && a.peak() <= 100 * 256);
    }
}
