//! Byte heaps behind one small trait, so every benchmark and the efficiency report drive
//! kalloc-tlsf and its peers (rlsf, talc, linked_list_allocator, buddy_system_allocator)
//! through identical code.
//!
//! Each adapter uses the peer's own best entry points: in-place realloc where the peer has
//! one (rlsf `reallocate`, talc `try_realloc_in_place`), allocate-copy-free otherwise.

use crate::trace::{Op, Steady};
use core::alloc::Layout;
use core::ptr::NonNull;
use kalloc_fuzz::memory::AlignedMemory;

/// A heap under test.
pub trait Heap {
    /// The name benchmark groups and reports print.
    const NAME: &'static str;

    /// A heap managing the `len` bytes at `base`.
    ///
    /// # Safety
    /// The bytes must be valid, unused by anything else, and outlive the heap.
    unsafe fn over(base: NonNull<u8>, len: usize) -> Self;

    /// Allocates `layout` (non-zero size), or `None` when the heap cannot.
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>>;

    /// Frees an allocation.
    ///
    /// # Safety
    /// `ptr` must be a live allocation of this heap for `layout`.
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// Resizes an allocation to `size` bytes (same alignment), keeping its contents; `None`
    /// leaves it untouched.
    ///
    /// # Safety
    /// `ptr` must be a live allocation of this heap for `layout`.
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        size: usize,
    ) -> Option<NonNull<u8>>;
}

/// Allocate, copy, free: the realloc of heaps without one.
///
/// # Safety
/// As [`Heap::realloc`].
unsafe fn moving_realloc<H: Heap>(
    heap: &mut H,
    ptr: NonNull<u8>,
    layout: Layout,
    size: usize,
) -> Option<NonNull<u8>> {
    let new = Layout::from_size_align(size, layout.align()).ok()?;
    let moved = heap.alloc(new)?;
    // SAFETY: both blocks are live, distinct, and hold at least the copied bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), size.min(layout.size()));
        heap.free(ptr, layout);
    }
    Some(moved)
}

/// kalloc-tlsf with its default geometry.
pub struct KallocTlsf(kalloc_tlsf::Tlsf<'static>);

impl Heap for KallocTlsf {
    const NAME: &'static str = "kalloc-tlsf";
    unsafe fn over(base: NonNull<u8>, len: usize) -> Self {
        let mut heap = kalloc_tlsf::Tlsf::new();
        // SAFETY: forwarded from the caller.
        unsafe { heap.add_pool(base, len) }.expect("pool");
        KallocTlsf(heap)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        let freed = unsafe { self.0.free(ptr, layout) };
        debug_assert!(freed.is_ok());
    }
    #[inline]
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        size: usize,
    ) -> Option<NonNull<u8>> {
        let new = Layout::from_size_align(size, layout.align()).ok()?;
        // SAFETY: forwarded from the caller.
        unsafe { self.0.realloc(ptr, layout, new) }.ok()
    }
}

/// rlsf with 24 first-level and 32 second-level classes (blocks up to 512 MiB on 64-bit).
pub struct Rlsf(rlsf::Tlsf<'static, u32, u32, 24, 32>);

impl Heap for Rlsf {
    const NAME: &'static str = "rlsf";
    unsafe fn over(base: NonNull<u8>, len: usize) -> Self {
        let mut heap = rlsf::Tlsf::new();
        let block = NonNull::slice_from_raw_parts(base, len);
        // SAFETY: forwarded from the caller.
        unsafe { heap.insert_free_block_ptr(block) }.expect("pool");
        Rlsf(heap)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate(layout)
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr, layout.align()) }
    }
    #[inline]
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        size: usize,
    ) -> Option<NonNull<u8>> {
        let new = Layout::from_size_align(size, layout.align()).ok()?;
        // SAFETY: forwarded from the caller.
        unsafe { self.0.reallocate(ptr, new) }
    }
}

/// talc with its default binning and no source.
pub struct Talc(talc::base::Talc<talc::source::Manual, talc::DefaultBinning>);

impl Heap for Talc {
    const NAME: &'static str = "talc";
    unsafe fn over(base: NonNull<u8>, len: usize) -> Self {
        let mut heap = talc::base::Talc::new(talc::source::Manual);
        // SAFETY: forwarded from the caller.
        unsafe { heap.claim(base.as_ptr(), len) }.expect("pool");
        Talc(heap)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: traces never ask for zero bytes.
        unsafe { self.0.allocate(layout) }
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr.as_ptr(), layout) }
    }
    #[inline]
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller; `size` is non-zero in every trace.
        if unsafe { self.0.try_realloc_in_place(ptr.as_ptr(), layout, size) } {
            return Some(ptr);
        }
        // SAFETY: forwarded from the caller.
        unsafe { moving_realloc(self, ptr, layout, size) }
    }
}

/// linked_list_allocator's first-fit heap.
pub struct LinkedList(linked_list_allocator::Heap);

impl Heap for LinkedList {
    const NAME: &'static str = "linked_list_allocator";
    unsafe fn over(base: NonNull<u8>, len: usize) -> Self {
        // SAFETY: forwarded from the caller.
        LinkedList(unsafe { linked_list_allocator::Heap::new(base.as_ptr(), len) })
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate_first_fit(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.deallocate(ptr, layout) }
    }
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { moving_realloc(self, ptr, layout, size) }
    }
}

/// buddy_system_allocator with orders up to 2^32 bytes.
pub struct Buddy(buddy_system_allocator::Heap<33>);

impl Heap for Buddy {
    const NAME: &'static str = "buddy_system_allocator";
    unsafe fn over(base: NonNull<u8>, len: usize) -> Self {
        let mut heap = buddy_system_allocator::Heap::<33>::new();
        let start = base.as_ptr().addr();
        // SAFETY: forwarded from the caller (the crate takes addresses, not pointers).
        unsafe { heap.add_to_heap(start, start + len) };
        Buddy(heap)
    }
    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc(layout).ok()
    }
    #[inline]
    unsafe fn free(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr, layout) }
    }
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        size: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { moving_realloc(self, ptr, layout, size) }
    }
}

/// Page-aligned memory from the process heap with every page already faulted in, given to
/// one heap at a time.
#[derive(Debug)]
pub struct Memory {
    buffer: AlignedMemory,
    len: usize,
}

/// The byte [`Memory::new`] writes over the whole buffer. Not zero: the buffer comes from
/// `alloc_zeroed`, which the compiler knows returns zeroes, so storing zeroes could be
/// optimised away and leave the pages unfaulted.
const PREFAULT: u8 = 0xA5;

impl Memory {
    /// `len` bytes aligned to 4 KiB, every page written once, so no heap pays the operating
    /// system's first-touch cost during a measurement.
    ///
    /// # Panics
    /// When `len` is zero or the process cannot allocate it.
    #[must_use]
    pub fn new(len: usize) -> Memory {
        let mut buffer = AlignedMemory::page_aligned(len);
        buffer.bytes().fill(PREFAULT);
        Memory { buffer, len }
    }

    /// A fresh heap of type `H` over all of this memory. The heap borrows the memory.
    pub fn heap<H: Heap>(&mut self) -> H {
        let base = NonNull::new(self.buffer.as_mut_ptr()).expect("a live buffer");
        // SAFETY: the memory lives as long as `self`; `&mut self` ensures no other heap
        // built by this method is still used (callers drop the previous one first).
        unsafe { H::over(base, self.len) }
    }

    /// Its size in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: `new` refuses zero bytes).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What one replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// Requests the heap refused (allocations and reallocations).
    pub failures: usize,
}

/// Replays `ops` on `heap`, one table slot per live allocation. A refused allocation leaves
/// its slot empty (later frees of that slot are skipped); a refused realloc keeps the block.
///
/// # Panics
/// When `slots` is shorter than the trace's slot numbers.
pub fn replay<H: Heap>(
    heap: &mut H,
    ops: &[Op],
    slots: &mut [Option<(NonNull<u8>, Layout)>],
) -> Replay {
    let mut result = Replay::default();
    for op in ops {
        match *op {
            Op::Alloc { slot, size, align } => {
                let layout = Layout::from_size_align(size, align).expect("trace layout");
                match heap.alloc(layout) {
                    Some(ptr) => slots[slot] = Some((ptr, layout)),
                    None => result.failures += 1,
                }
            }
            Op::Free { slot } => {
                if let Some((ptr, layout)) = slots[slot].take() {
                    // SAFETY: the slot held a live allocation of this heap.
                    unsafe { heap.free(ptr, layout) };
                }
            }
            Op::Realloc { slot, size } => {
                if let Some((ptr, layout)) = slots[slot] {
                    // SAFETY: the slot holds a live allocation of this heap.
                    match unsafe { heap.realloc(ptr, layout, size) } {
                        Some(moved) => {
                            let layout = Layout::from_size_align(size, layout.align())
                                .expect("trace layout");
                            slots[slot] = Some((moved, layout));
                        }
                        None => result.failures += 1,
                    }
                }
            }
        }
    }
    result
}

/// Alignment of every request a [`SteadyHeap`] makes.
pub const STEADY_ALIGN: usize = 8;

/// A heap held at a constant live count by a [`Steady`] trace (sizes in bytes, every
/// request aligned to [`STEADY_ALIGN`]). Dropping it frees every live allocation.
pub struct SteadyHeap<H: Heap> {
    heap: H,
    /// What each slot of the trace holds.
    table: Vec<(NonNull<u8>, Layout)>,
    /// The next churn step (the trace is cycled).
    next: usize,
}

/// The layout of a steady request of `size` bytes.
#[inline]
fn steady_layout(size: usize) -> Layout {
    Layout::from_size_align(size, STEADY_ALIGN).expect("trace layout")
}

impl<H: Heap> SteadyHeap<H> {
    /// Allocates every slot of `trace` from `heap`.
    ///
    /// # Panics
    /// When the heap refuses a request.
    pub fn new(mut heap: H, trace: &Steady) -> SteadyHeap<H> {
        let table = trace
            .fill
            .iter()
            .map(|&size| {
                let layout = steady_layout(size);
                let ptr = heap.alloc(layout);
                (
                    ptr.unwrap_or_else(|| panic!("{} refused the fill", H::NAME)),
                    layout,
                )
            })
            .collect();
        SteadyHeap {
            heap,
            table,
            next: 0,
        }
    }

    /// Runs `steps` churn steps of `trace` (the one this heap was filled from), each one
    /// free and one allocation, continuing where the previous call stopped.
    ///
    /// # Panics
    /// When the heap refuses a request.
    #[inline]
    pub fn churn(&mut self, trace: &Steady, steps: u64) {
        for _ in 0..steps {
            let (slot, size) = trace.churn[self.next];
            self.next = (self.next + 1) % trace.churn.len();
            let (ptr, layout) = self.table[slot];
            // SAFETY: the slot holds a live allocation of this heap for `layout`.
            unsafe { self.heap.free(ptr, layout) };
            let layout = steady_layout(size);
            let ptr = self.heap.alloc(layout);
            self.table[slot] = (
                ptr.unwrap_or_else(|| panic!("{} refused a churn request", H::NAME)),
                layout,
            );
        }
    }

    /// The live allocations, by trace slot.
    #[must_use]
    pub fn live(&self) -> &[(NonNull<u8>, Layout)] {
        &self.table
    }
}

impl<H: Heap> Drop for SteadyHeap<H> {
    fn drop(&mut self) {
        for &(ptr, layout) in &self.table {
            // SAFETY: every slot holds a live allocation of this heap, freed once here.
            unsafe { self.heap.free(ptr, layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Mix, churn};
    use kalloc_core::Span;
    use kalloc_fuzz::shadow::{Shadow, fill, verify};

    fn replays_cleanly<H: Heap>() {
        let mix = Mix {
            min_size: 8,
            max_size: 4096,
            max_align: 256,
            realloc_percent: 20,
        };
        let ops = churn(3, 200, 2000, mix);
        let mut memory = Memory::new(4 << 20);
        let mut heap: H = memory.heap();
        let mut slots = vec![None; 200];
        assert_eq!(
            replay(&mut heap, &ops, &mut slots),
            Replay::default(),
            "{}",
            H::NAME
        );
        assert!(slots.iter().all(Option::is_none));
    }

    /// Replays `ops` on `heap` with every allocation filled with its own pattern, checked
    /// before it is freed and after it is resized, and recorded in a shadow that refuses
    /// overlapping allocations: the adapters (realloc's copy above all) keep contents.
    fn replays_faithfully<H: Heap>(heap: &mut H, ops: &[Op], slots: usize) {
        let mut shadow = Shadow::new();
        let mut table: Vec<Option<(NonNull<u8>, Layout, u64)>> = vec![None; slots];
        let mut tags = 0u64..;
        let mut record = |shadow: &mut Shadow, ptr: NonNull<u8>, layout: Layout| {
            assert_eq!(
                ptr.addr().get() % layout.align(),
                0,
                "{}: misaligned",
                H::NAME
            );
            let tag = tags.next().expect("tags");
            shadow.insert(Span::new(ptr.addr().get(), layout.size()), tag);
            // SAFETY: a live allocation of `layout.size()` bytes.
            unsafe { fill(ptr.as_ptr(), layout.size(), tag) };
            tag
        };
        for op in ops {
            match *op {
                Op::Alloc { slot, size, align } => {
                    let layout = Layout::from_size_align(size, align).expect("layout");
                    let ptr = heap.alloc(layout).expect("the heap is large enough");
                    table[slot] = Some((ptr, layout, record(&mut shadow, ptr, layout)));
                }
                Op::Free { slot } => {
                    let (ptr, layout, tag) = table[slot].take().expect("a live slot");
                    // SAFETY: a live allocation of `layout.size()` bytes.
                    let intact = unsafe { verify(ptr.as_ptr(), layout.size(), tag) };
                    assert_eq!(intact, Ok(()), "{}: contents changed", H::NAME);
                    shadow.remove(ptr.addr().get()).expect("in the shadow");
                    // SAFETY: a live allocation of this heap for `layout`, freed once.
                    unsafe { heap.free(ptr, layout) };
                }
                Op::Realloc { slot, size } => {
                    let (ptr, layout, tag) = table[slot].expect("a live slot");
                    // SAFETY: a live allocation of this heap for `layout`.
                    let moved = unsafe { heap.realloc(ptr, layout, size) }.expect("room");
                    let kept = size.min(layout.size());
                    // SAFETY: `moved` holds at least `kept` bytes.
                    let intact = unsafe { verify(moved.as_ptr(), kept, tag) };
                    assert_eq!(intact, Ok(()), "{}: realloc lost contents", H::NAME);
                    shadow.remove(ptr.addr().get()).expect("in the shadow");
                    let layout = Layout::from_size_align(size, layout.align()).expect("layout");
                    table[slot] = Some((moved, layout, record(&mut shadow, moved, layout)));
                }
            }
        }
        assert!(shadow.is_empty(), "{}: the trace frees everything", H::NAME);
    }

    fn keeps_contents<H: Heap>() {
        let mix = Mix {
            min_size: 8,
            max_size: 2048,
            max_align: 128,
            realloc_percent: 30,
        };
        let ops = churn(4, 100, 1000, mix);
        let mut memory = Memory::new(1 << 20);
        replays_faithfully(&mut memory.heap::<H>(), &ops, 100);
    }

    /// A steady heap holds the trace's live count in distinct, aligned allocations through
    /// the churn.
    fn holds_steady<H: Heap>() {
        let trace = Steady::new(5, 300, 1000, 16, 256);
        let mut memory = Memory::new(1 << 20);
        let mut steady = SteadyHeap::new(memory.heap::<H>(), &trace);
        steady.churn(&trace, 2500);
        let mut shadow = Shadow::new();
        for (slot, &(ptr, layout)) in steady.live().iter().enumerate() {
            assert_eq!(layout.align(), STEADY_ALIGN);
            assert_eq!(ptr.addr().get() % STEADY_ALIGN, 0, "{}", H::NAME);
            shadow.insert(Span::new(ptr.addr().get(), layout.size()), slot as u64);
        }
        assert_eq!(shadow.len(), trace.live());
    }

    #[test]
    fn every_heap_replays_a_trace() {
        replays_cleanly::<KallocTlsf>();
        replays_cleanly::<Rlsf>();
        replays_cleanly::<Talc>();
        replays_cleanly::<LinkedList>();
        replays_cleanly::<Buddy>();
    }

    #[test]
    fn every_heap_keeps_contents() {
        keeps_contents::<KallocTlsf>();
        keeps_contents::<Rlsf>();
        keeps_contents::<Talc>();
        keeps_contents::<LinkedList>();
        keeps_contents::<Buddy>();
    }

    #[test]
    fn every_heap_holds_a_steady_count() {
        holds_steady::<KallocTlsf>();
        holds_steady::<Rlsf>();
        holds_steady::<Talc>();
        holds_steady::<LinkedList>();
        holds_steady::<Buddy>();
    }
}
