//! A real program on the locked TLSF heap: this test binary's `#[global_allocator]` is
//! `Locked<Growing<Tlsf, &Locked<StaticPool>>>`, a TLSF heap that starts empty and imports
//! pools from a static region on demand (the out-of-memory hook). Everything std does,
//! from the runtime's start-up on, runs on it: collections, strings, formatting, threads
//! spawning and joining. At the end the heap's checker must pass and the counters must show
//! the work was really done here.

use kalloc_core::{Align, Error, MemorySourceMut, SourceMut, Span};
use kalloc_sync::{Growing, Locked};
use kalloc_tlsf::Tlsf;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// Bytes of the static region the heap grows from.
const POOL_BYTES: usize = 8 << 20;
/// The smallest pool the heap imports at a time.
const MIN_IMPORT: usize = 256 << 10;

static mut POOL: [u8; POOL_BYTES] = [0; POOL_BYTES];

/// A bump source over `POOL`: hands out pieces front to back, takes back only the last.
struct StaticPool {
    next: usize,
}

impl StaticPool {
    fn base() -> NonNull<u8> {
        // SAFETY: a static's address is never null. `&raw mut` makes no reference.
        unsafe { NonNull::new_unchecked((&raw mut POOL).cast::<u8>()) }
    }

    fn whole() -> Span {
        Span::new(StaticPool::base().as_ptr().addr(), POOL_BYTES)
    }
}

impl SourceMut for StaticPool {
    fn import(&mut self, size: usize, align: Align) -> Result<Span, Error> {
        if size == 0 {
            return Err(Error::ZeroSize);
        }
        let start = StaticPool::whole()
            .base()
            .checked_add(self.next)
            .ok_or(Error::Overflow)?;
        let rest = Span::from_bounds(start, StaticPool::whole().end())?;
        let piece = rest.fit(size, align).ok_or(Error::Exhausted)?;
        self.next = piece.end() - StaticPool::whole().base();
        Ok(piece)
    }

    fn release(&mut self, span: Span) -> Result<(), Error> {
        if span.end() != StaticPool::whole().base() + self.next {
            return Err(Error::ForeignPointer);
        }
        self.next = span.base() - StaticPool::whole().base();
        Ok(())
    }
}

// SAFETY: pieces are cut from `POOL` behind a cursor that only moves back over the last
// released piece, so live pieces never overlap and nothing else touches `POOL`; pointers
// derive from `POOL`'s own address, so they carry its provenance.
unsafe impl MemorySourceMut for StaticPool {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        if !StaticPool::whole().contains_span(span) {
            return Err(Error::ForeignPointer);
        }
        // SAFETY: `span` lies inside `POOL`, so the offset stays inside it.
        Ok(unsafe { StaticPool::base().add(span.base() - StaticPool::whole().base()) })
    }
}

// SAFETY: the source only holds a cursor; `POOL` is reached only through it.
unsafe impl Send for StaticPool {}

static POOL_SOURCE: Locked<StaticPool> = Locked::new(StaticPool { next: 0 });

#[global_allocator]
static HEAP: Locked<Growing<Tlsf<'static>, &'static Locked<StaticPool>>> = Locked::new(
    Growing::with_min_pool(Tlsf::new(), &POOL_SOURCE, MIN_IMPORT),
);

/// How much work each part does.
const WORK: usize = 2000;

/// Collections and strings on one thread.
fn collections() -> usize {
    let mut words: Vec<String> = (0..WORK).map(|i| format!("word-{i:05}")).collect();
    words.sort_by(|a, b| b.cmp(a));
    let mut index: HashMap<String, usize> = HashMap::new();
    for (position, word) in words.iter().enumerate() {
        index.insert(word.clone(), position);
    }
    let mut tree: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    for i in 0..WORK / 4 {
        tree.insert(i, vec![i as u8; i % 97 + 1]);
    }
    tree.retain(|k, _| k % 3 != 0);
    let mut queue: VecDeque<Box<[u64]>> = VecDeque::new();
    for i in 0..WORK as u64 / 8 {
        queue.push_back(vec![i; i as usize % 50 + 1].into_boxed_slice());
        if i % 4 == 0 {
            queue.pop_front();
        }
    }
    let mut text = String::new();
    for word in words.iter().take(300) {
        text.push_str(word);
        text.push(' ');
    }
    text.shrink_to_fit();
    assert_eq!(index[&format!("word-{:05}", WORK - 1)], 0);
    index.len() + tree.len() + queue.len() + text.len()
}

/// Threads spawning and joining, sharing data through `Arc<Mutex<..>>`.
fn threads() -> usize {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|id| {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || {
                    let mut local = Vec::new();
                    for round in 0..WORK / 10 {
                        local.push(format!("{id}:{round}").repeat(round % 7 + 1));
                        if round % 3 == 0 {
                            local.swap_remove(0);
                        }
                    }
                    let total: usize = local.iter().map(String::len).sum();
                    shared.lock().unwrap().push(total);
                    total
                })
                .unwrap()
        })
        .collect();
    let totals: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let recorded: usize = shared.lock().unwrap().iter().sum();
    assert_eq!(totals, recorded);
    totals
}

fn main() {
    // Under Miri the threads are left out: std's thread start-up frees a `Box` while it is
    // still a protected argument (`init(self: Box<Self>)`), and the heap's free-list writes
    // into the freed bytes count as foreign writes to that `Box` under Stacked Borrows (the
    // known limit of user global allocators, rust-lang/miri#5284). Everything else runs:
    // TLSF reads headers through its pools' provenance, not through std's retagged pointers.
    let work = if cfg!(miri) {
        collections()
    } else {
        collections() + threads() + collections()
    };
    assert!(work > 0);

    // Every other thread has been joined: take the lock once, check the whole heap.
    let (checked, pools, stats) = {
        let heap = HEAP.lock();
        (heap.heap().check(), heap.pools_added(), heap.heap().stats())
    };
    let counters = HEAP.counters();
    assert_eq!(checked, Ok(()), "TLSF checker after the workload");
    assert!(pools >= 1, "the heap grew from the static pool");
    assert_eq!(counters.failures, 0, "no allocation failed");
    assert_eq!(counters.rejected_frees, 0, "std never freed wrongly");
    assert!(
        counters.peak_in_use > 10 * WORK,
        "the workload ran on this heap"
    );
    assert_eq!(
        stats.allocations, counters.allocations,
        "heap and counters agree"
    );
    println!(
        "global_tlsf: ok ({pools} pools imported, peak {} bytes, {} live at the end)",
        counters.peak_in_use, counters.allocations
    );
}
