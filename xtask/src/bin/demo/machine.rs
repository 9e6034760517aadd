//! The simulated machine: one region of "physical memory", the page-frame arena that
//! manages it, and the memory source through which the kernel heap grows from it.

use kalloc_core::{Align, Error, MemorySource, Source, Span};
use kalloc_sync::Locked;
use kalloc_vmem::{Arena, Constraints, Policy, Tag};
use std::alloc::{GlobalAlloc, Layout, System};
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Page size of the simulated machine: the quantum of the frame arena.
pub(crate) const PAGE: usize = 4096;

/// The page-frame arena: every page of the region, as addresses, with a quantum of a page.
/// The kernel heap imports from it under its lock, so it lives in a static.
pub(crate) static FRAMES: Locked<Arena<'static>> = Locked::new(match Arena::new("frames", PAGE) {
    Ok(arena) => arena,
    Err(_) => panic!("a page is a power of two"),
});

/// Firmware's gift: a small heap that exists before the frame arena is online, so the
/// kernel (and Rust's runtime) can allocate before `main` has set anything up.
const BOOT_POOL_SIZE: usize = 128 * 1024;

#[repr(C, align(4096))]
struct BootPool([u8; BOOT_POOL_SIZE]);

static mut BOOT_POOL: BootPool = BootPool([0; BOOT_POOL_SIZE]);

/// Where the kernel heap grows from: first the boot pool, then page frames.
///
/// Spans are real addresses; pointers are derived from the boot pool's or the region's own
/// pointer, never guessed from integers.
pub(crate) struct FrameMemory {
    boot_taken: AtomicBool,
    region: AtomicPtr<u8>,
}

pub(crate) static FRAME_MEMORY: FrameMemory = FrameMemory {
    boot_taken: AtomicBool::new(false),
    region: AtomicPtr::new(std::ptr::null_mut()),
};

/// Boundary tags for the frame arena beyond its inline reserve: one per segment, so enough
/// for a few hundred allocations of frames. A kernel would carve these from early memory.
const FRAME_TAGS: usize = 1024;

static mut FRAME_TAG_MEMORY: [MaybeUninit<Tag>; FRAME_TAGS] =
    [const { MaybeUninit::uninit() }; FRAME_TAGS];

fn boot_pool() -> (NonNull<u8>, Span) {
    let ptr = NonNull::new((&raw mut BOOT_POOL).cast::<u8>()).expect("statics are not null");
    (ptr, Span::new(ptr.as_ptr().addr(), BOOT_POOL_SIZE))
}

impl FrameMemory {
    /// Brings the frame arena online over `bytes` bytes of host memory (page aligned).
    /// Returns the region's span.
    pub(crate) fn online(&self, bytes: usize) -> Result<Span, Error> {
        let layout = Layout::from_size_align(bytes, PAGE).map_err(|_| Error::Overflow)?;
        // SAFETY: `layout` has a non-zero size (the demo asks for at least 16 KiB).
        let raw = unsafe { System.alloc_zeroed(layout) };
        let region = NonNull::new(raw).ok_or(Error::Exhausted)?;
        let span = Span::try_new(region.as_ptr().addr(), bytes)?;
        if !self.region.load(Ordering::Acquire).is_null() {
            return Err(Error::Overlap);
        }
        self.region.store(region.as_ptr(), Ordering::Release);
        // SAFETY: this runs once (the region pointer was null above and is set now), so this
        // is the only reference ever made to the static tag memory.
        let tags = unsafe { (&raw mut FRAME_TAG_MEMORY).as_mut() }.expect("a static is not null");
        let mut frames = FRAMES.lock();
        frames.add_tag_memory(tags)?;
        frames.add(span)?;
        Ok(span)
    }

    /// Imports frames with constraints (a DMA window, say), returning their span.
    pub(crate) fn xalloc(&self, size: usize, constraints: &Constraints) -> Result<Span, Error> {
        let base = FRAMES
            .lock()
            .xalloc(size, constraints, Policy::InstantFit)?;
        Span::try_new(base, size)
    }
}

impl Source for FrameMemory {
    fn import(&self, size: usize, align: Align) -> Result<Span, Error> {
        let (_, boot) = boot_pool();
        if size <= boot.len()
            && align.is_aligned(boot.base())
            && !self.boot_taken.swap(true, Ordering::AcqRel)
        {
            return Ok(boot);
        }
        let size = Align::new(PAGE).align_up(size).ok_or(Error::Overflow)?;
        let constraints = Constraints::new().align(align.get().max(PAGE));
        let base = FRAMES
            .lock()
            .xalloc(size, &constraints, Policy::InstantFit)?;
        Span::try_new(base, size)
    }

    fn release(&self, span: Span) -> Result<(), Error> {
        if span == boot_pool().1 {
            return if self.boot_taken.swap(false, Ordering::AcqRel) {
                Ok(())
            } else {
                Err(Error::DoubleFree)
            };
        }
        FRAMES.lock().xfree(span.base(), span.len())
    }
}

// SAFETY: the boot pool is a static used by nothing else, handed out at most once at a time
// (`boot_taken`); frames come from the arena, which never hands out a page twice, over a
// region this struct allocated and never touches. `ptr` derives every pointer from the boot
// pool's or the region's own pointer, valid for their whole length (promise 1).
unsafe impl MemorySource for FrameMemory {
    fn ptr(&self, span: Span) -> Result<NonNull<u8>, Error> {
        let (boot_ptr, boot) = boot_pool();
        if boot.contains_span(span) {
            // SAFETY: `span` lies inside the boot pool, so the offset stays inside it.
            return Ok(unsafe { boot_ptr.add(span.base() - boot.base()) });
        }
        let region =
            NonNull::new(self.region.load(Ordering::Acquire)).ok_or(Error::ForeignPointer)?;
        let offset = span
            .base()
            .checked_sub(region.as_ptr().addr())
            .ok_or(Error::ForeignPointer)?;
        if !FRAMES.lock().contains(span.base()) {
            return Err(Error::ForeignPointer);
        }
        // SAFETY: the frame arena manages only the region, and `span` starts inside it, so
        // the offset stays inside the region's allocation.
        Ok(unsafe { region.add(offset) })
    }
}
