//! Fuzz harness for kalloc-tlsf: random alloc / free / realloc / add-pool / growth from a
//! source, bad inputs included, checked against the shadow model.
//!
//! The heap starts with one pool and grows from a `FixedRegion` source; a reserve buffer
//! is cut into further pools front to back, so consecutive pools touch and merge. All three
//! buffers are page-aligned, so an input lands its aligned requests at the same offsets, and
//! does the same thing, on every run. After
//! every step the harness runs `Tlsf::check` and compares counts with the model; at the end
//! it frees everything and expects every pool to be one free block again.

use crate::memory::AlignedMemory;
use crate::shadow::{Shadow, fill, verify};
use arbitrary::{Arbitrary, Unstructured};
use kalloc_core::{Error, FixedRegion, Span};
use kalloc_tlsf::Tlsf;
use std::alloc::Layout;
use std::ptr::NonNull;

/// Bytes of the initial pool.
const INITIAL: usize = 64 * 1024;
/// Bytes the source can hand out.
const SOURCE: usize = 1024 * 1024;
/// Bytes cut into explicitly added pools.
const RESERVE: usize = 64 * 1024;
/// Bytes of a buffer the heap never manages (for foreign frees).
const FOREIGN: usize = 4096;

/// One step. `pick` values choose a live allocation (modulo the count).
#[derive(Arbitrary, Debug)]
enum Op {
    /// A mostly small allocation (`size % 2048`, zero included) at `2^(shift % 13)`.
    Alloc { size: u16, shift: u8 },
    /// A large allocation of `kib` KiB (up to 255 KiB): exercises growth.
    AllocLarge { kib: u8, shift: u8 },
    /// Free a live allocation; with `twice`, free it again and expect a double free.
    Free { pick: u16, twice: bool },
    /// Resize a live allocation to `size` bytes (`size % 8192`), `shift` as its alignment.
    Realloc { pick: u16, size: u16, shift: u8 },
    /// Free a pointer `offset % 7 + 1` bytes into a live allocation (never word-aligned):
    /// foreign.
    FreeMisaligned { pick: u16, offset: u8 },
    /// Free a live allocation with a size larger than its block.
    FreeWrongSize { pick: u16 },
    /// Free a word-aligned pointer `offset % 4096` bytes into memory no pool holds: foreign.
    FreeForeign { offset: u16 },
    /// Allocate with an alignment above the maximum.
    AllocBadAlign,
    /// Add the next `len % 4096` bytes of the reserve (after skipping `gap % 4` words).
    AddPool { len: u16, gap: u8 },
    /// Release every entirely free imported pool.
    ReleaseFree,
}

/// One live allocation.
#[derive(Clone, Copy, Debug)]
struct Live {
    ptr: NonNull<u8>,
    layout: Layout,
    tag: u64,
}

/// Checks the heap against the model after a step.
fn agree(heap: &Tlsf<'_, &FixedRegion<'_>>, live: &[Live], shadow: &Shadow) {
    if let Err(corruption) = heap.check() {
        panic!("checker: {corruption}");
    }
    let stats = heap.stats();
    assert_eq!(stats.allocations, shadow.len(), "allocation count");
    assert!(
        stats.in_use >= shadow.bytes(),
        "in-use bytes below the model's"
    );
    assert!(stats.in_use + stats.free <= stats.total);
    for entry in live.iter().filter(|l| l.layout.size() > 0) {
        // Every payload is granule-aligned, whatever the request asked.
        let align = entry.layout.align().max(<Tlsf<'_>>::GRANULE);
        assert_eq!(entry.ptr.as_ptr().addr() % align, 0);
    }
}

/// Records and fills a new allocation.
fn record(live: &mut Vec<Live>, shadow: &mut Shadow, ptr: NonNull<u8>, layout: Layout, tag: u64) {
    assert_eq!(
        ptr.as_ptr().addr() % layout.align(),
        0,
        "misaligned allocation"
    );
    if layout.size() > 0 {
        shadow.insert(Span::new(ptr.as_ptr().addr(), layout.size()), tag);
        // SAFETY: the heap handed out `layout.size()` bytes at `ptr`.
        unsafe { fill(ptr.as_ptr(), layout.size(), tag) };
    }
    live.push(Live { ptr, layout, tag });
}

/// Verifies the fill pattern of `entry`'s first `len` bytes.
fn intact(entry: &Live, len: usize) {
    // SAFETY: `entry` is live with at least `len` bytes.
    let checked = unsafe { verify(entry.ptr.as_ptr(), len, entry.tag) };
    assert_eq!(checked, Ok(()), "allocation {entry:?} lost its contents");
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut initial = AlignedMemory::page_aligned(INITIAL);
    let mut source_memory = AlignedMemory::page_aligned(SOURCE);
    let mut reserve = AlignedMemory::page_aligned(RESERVE);
    let region = FixedRegion::from_slice(source_memory.bytes());
    let reserve_base = NonNull::new(reserve.as_mut_ptr()).expect("buffer");
    let mut foreign = AlignedMemory::page_aligned(FOREIGN);
    let foreign_base = NonNull::new(foreign.as_mut_ptr()).expect("buffer");
    let mut heap: Tlsf<'_, &FixedRegion<'_>> = Tlsf::with_source(&region);
    heap.set_min_import(32 * 1024);
    // SAFETY: `initial` outlives the heap and is used by nothing else.
    unsafe {
        let base = NonNull::new(initial.as_mut_ptr()).expect("buffer");
        heap.add_pool(base, INITIAL).expect("initial pool");
    }
    let mut cursor = 0usize;
    let mut added = 0usize;
    let mut live: Vec<Live> = Vec::new();
    let mut shadow = Shadow::new();
    let mut next_tag = 1u64;

    while !u.is_empty() {
        let Ok(op) = Op::arbitrary(&mut u) else {
            break;
        };
        match op {
            Op::Alloc { size, shift } => {
                let layout = Layout::from_size_align(usize::from(size) % 2048, 1 << (shift % 13))
                    .expect("layout");
                match heap.alloc(layout) {
                    Ok(ptr) => record(&mut live, &mut shadow, ptr, layout, next_tag),
                    Err(error) => assert_eq!(error, Error::Exhausted, "{layout:?}"),
                }
                next_tag += 1;
            }
            Op::AllocLarge { kib, shift } => {
                let layout =
                    Layout::from_size_align(usize::from(kib) * 1024 + 1, 1 << (shift % 13))
                        .expect("layout");
                match heap.alloc(layout) {
                    Ok(ptr) => record(&mut live, &mut shadow, ptr, layout, next_tag),
                    Err(error) => assert_eq!(error, Error::Exhausted, "{layout:?}"),
                }
                next_tag += 1;
            }
            Op::Free { pick, twice } if !live.is_empty() => {
                let entry = live.swap_remove(usize::from(pick) % live.len());
                intact(&entry, entry.layout.size());
                shadow.remove(entry.ptr.as_ptr().addr());
                // SAFETY: a live allocation of this heap with its layout, freed once.
                unsafe { heap.free(entry.ptr, entry.layout) }.expect("free");
                let addr = entry.ptr.as_ptr().addr();
                // A second free is only meaningful while the block's pool is still in the
                // heap (an emptied imported pool may have gone back to the source).
                let pooled = heap.pools().any(|pool| pool.span.contains(addr));
                if twice && pooled && entry.layout.size() > 0 {
                    agree(&heap, &live, &shadow);
                    let before = heap.stats();
                    // SAFETY: the block was just freed and nothing allocated since, so its
                    // header is still the heap's (the heap must report the double free).
                    let again = unsafe { heap.free(entry.ptr, entry.layout) };
                    assert_eq!(again, Err(Error::DoubleFree));
                    assert_eq!(heap.stats(), before);
                }
            }
            Op::Realloc { pick, size, shift } if !live.is_empty() => {
                let index = usize::from(pick) % live.len();
                let entry = live[index];
                let new = Layout::from_size_align(usize::from(size) % 8192, 1 << (shift % 13))
                    .expect("layout");
                // SAFETY: a live allocation of this heap with its layout.
                match unsafe { heap.realloc(entry.ptr, entry.layout, new) } {
                    Ok(ptr) => {
                        let moved = Live {
                            ptr,
                            layout: new,
                            tag: entry.tag,
                        };
                        shadow.remove(entry.ptr.as_ptr().addr());
                        intact(&moved, entry.layout.size().min(new.size()));
                        live.swap_remove(index);
                        record(&mut live, &mut shadow, ptr, new, entry.tag);
                    }
                    Err(error) => {
                        assert_eq!(error, Error::Exhausted, "{new:?}");
                        intact(&entry, entry.layout.size());
                    }
                }
            }
            Op::FreeMisaligned { pick, offset } if !live.is_empty() => {
                let entry = live[usize::from(pick) % live.len()];
                if entry.layout.size() > 0 {
                    let before = heap.stats();
                    let skew = usize::from(offset) % 7 + 1;
                    // SAFETY: the skewed pointer lies inside a live allocation; the heap
                    // must refuse it before touching anything.
                    let refused = unsafe { heap.free(entry.ptr.add(skew), entry.layout) };
                    assert_eq!(refused, Err(Error::ForeignPointer));
                    assert_eq!(heap.stats(), before);
                }
            }
            Op::FreeWrongSize { pick } if !live.is_empty() => {
                let entry = live[usize::from(pick) % live.len()];
                if entry.layout.size() > 0 {
                    let before = heap.stats();
                    // SAFETY: a live allocation.
                    let usable = unsafe { heap.usable_size(entry.ptr) }.expect("in use");
                    let wrong =
                        Layout::from_size_align(usable + 1, entry.layout.align()).expect("layout");
                    // SAFETY: a live allocation passed back with a wrong size; the heap
                    // must refuse it.
                    let refused = unsafe { heap.free(entry.ptr, wrong) };
                    assert_eq!(refused, Err(Error::WrongSize));
                    assert_eq!(heap.stats(), before);
                }
            }
            Op::FreeForeign { offset } => {
                let before = heap.stats();
                let offset = (usize::from(offset) % FOREIGN) & !7;
                // SAFETY: the pointer lies in a buffer no pool covers; the heap must find no
                // pool for it and refuse it before touching memory.
                let refused = unsafe { heap.free(foreign_base.add(offset), Layout::new::<u64>()) };
                assert_eq!(refused, Err(Error::ForeignPointer));
                assert_eq!(heap.stats(), before);
            }
            Op::AllocBadAlign => {
                let align = <Tlsf<'_>>::MAX_ALIGN * 2;
                let layout = Layout::from_size_align(8, align).expect("layout");
                assert_eq!(heap.alloc(layout), Err(Error::BadAlign));
            }
            Op::AddPool { len, gap } => {
                let start = cursor + (usize::from(gap) % 4) * 8;
                let len = (usize::from(len) % 4096) & !7;
                if start + len <= RESERVE {
                    let before = heap.stats();
                    // SAFETY: pieces of the reserve are disjoint and derived from one
                    // base pointer; the reserve outlives the heap.
                    let outcome = unsafe { heap.add_pool(reserve_base.add(start), len) };
                    match outcome {
                        Ok(()) => {
                            cursor = start + len;
                            added += len;
                            assert_eq!(heap.stats().total, before.total + len);
                        }
                        Err(error) => {
                            assert_eq!(error, Error::TooSmall, "pool of {len} bytes");
                            assert_eq!(heap.stats(), before);
                        }
                    }
                }
            }
            Op::ReleaseFree => {
                heap.release_free_pools();
            }
            Op::Free { .. }
            | Op::Realloc { .. }
            | Op::FreeMisaligned { .. }
            | Op::FreeWrongSize { .. } => {}
        }
        agree(&heap, &live, &shadow);
    }

    for entry in live.drain(..) {
        intact(&entry, entry.layout.size());
        // SAFETY: every remaining allocation is live with its layout.
        unsafe { heap.free(entry.ptr, entry.layout) }.expect("final free");
    }
    shadow.drain();
    agree(&heap, &live, &shadow);
    heap.release_free_pools();
    let stats = heap.stats();
    assert_eq!((stats.allocations, stats.in_use), (0, 0));
    assert_eq!(
        heap.blocks().count(),
        heap.pools().count(),
        "every pool is one free block again"
    );
    assert!(
        heap.pools()
            .all(|p| p.kind != kalloc_tlsf::PoolKind::Imported)
    );
    assert_eq!(stats.total, INITIAL + added);
    drop(heap);
    assert_eq!(
        region.stats().in_use,
        0,
        "every import went back to the source"
    );
}
