//! kalloc-sync never touches a heap: every check below runs with the heap forbidden.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use kalloc_core::{Align, ByteHeap, Error, Source, SourceMut, Span, Stats};
use kalloc_fuzz::no_heap::{NoHeap, run};
use kalloc_sync::{BackoffLock, Locked, RawLock};

#[global_allocator]
static GUARD: NoHeap = NoHeap;

/// A heap that serves one 64-byte block out of a static buffer, enough to drive the
/// wrapper's allocation paths.
struct OneBlock {
    block: NonNull<u8>,
    taken: bool,
}

// SAFETY: the block is owned by the heap.
unsafe impl Send for OneBlock {}

// SAFETY: the one block is handed out only while not taken; it is 64 bytes, 64-aligned.
unsafe impl ByteHeap for OneBlock {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        if layout.size() > 64 || layout.align() > 64 || self.taken {
            return Err(Error::Exhausted);
        }
        self.taken = true;
        Ok(self.block)
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, _layout: Layout) -> Result<(), Error> {
        if ptr != self.block {
            return Err(Error::ForeignPointer);
        }
        if !self.taken {
            return Err(Error::DoubleFree);
        }
        self.taken = false;
        Ok(())
    }

    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        _old: Layout,
        new: Layout,
    ) -> Result<NonNull<u8>, Error> {
        if new.size() > 64 || new.align() > 64 {
            return Err(Error::Exhausted);
        }
        Ok(ptr)
    }

    fn stats(&self) -> Stats {
        let in_use = if self.taken { 64 } else { 0 };
        Stats {
            total: 64,
            in_use,
            free: 64 - in_use,
            allocations: usize::from(self.taken),
            largest_free: 64 - in_use,
        }
    }
}

#[repr(align(64))]
struct Block([u8; 64]);

fn locks() {
    let lock = BackoffLock::new();
    RawLock::lock(&lock);
    assert!(!RawLock::try_lock(&lock));
    // SAFETY: taken above.
    unsafe { RawLock::unlock(&lock) };
    let locked: Locked<u32> = Locked::new(1);
    *locked.lock() += 1;
    assert_eq!(*locked.try_lock().unwrap(), 2);
}

fn global_alloc_paths() {
    let mut memory = Block([0; 64]);
    let heap: Locked<OneBlock, BackoffLock> = Locked::new(OneBlock {
        block: NonNull::from(&mut memory.0).cast(),
        taken: false,
    });
    let layout = Layout::from_size_align(16, 8).unwrap();
    // SAFETY: non-zero layouts; the block is freed once (the second free is a deliberate,
    // detected double free).
    unsafe {
        let block = heap.alloc_zeroed(layout);
        assert!(!block.is_null() && block.read() == 0);
        assert!(heap.alloc(layout).is_null());
        let block = heap.realloc(block, layout, 32);
        assert!(!block.is_null());
        heap.dealloc(block, Layout::from_size_align(32, 8).unwrap());
        heap.dealloc(block, Layout::from_size_align(32, 8).unwrap());
    }
    let counters = heap.counters();
    assert_eq!(counters.allocations, 0);
    assert_eq!(counters.failures, 1);
    assert_eq!(counters.rejected_frees, 1);
    assert_eq!(heap.heap_stats().allocations, 0);
}

struct Counter(usize);

impl SourceMut for Counter {
    fn import(&mut self, size: usize, _align: Align) -> Result<Span, Error> {
        let span = Span::try_new(self.0, size)?;
        self.0 = span.end();
        Ok(span)
    }
    fn release(&mut self, _span: Span) -> Result<(), Error> {
        Ok(())
    }
}

fn shared_source() {
    let source: Locked<Counter> = Locked::new(Counter(0));
    let (a, b) = (&source, &source);
    assert_eq!(a.import(4, Align::ONE), Ok(Span::new(0, 4)));
    assert_eq!(b.import(4, Align::ONE), Ok(Span::new(4, 4)));
    assert_eq!(source.into_inner().0, 8);
}

fn main() {
    run(&[
        ("locks", locks),
        ("GlobalAlloc paths of a locked heap", global_alloc_paths),
        ("a locked source shared through &", shared_source),
    ]);
}
