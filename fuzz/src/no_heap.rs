//! Proof that code never touches a heap: a `#[global_allocator]` that aborts the process
//! when anything allocates while [`forbid_heap`] runs.
//!
//! Every crate has a `tests/no_heap.rs` integration test (`harness = false`, so no test
//! threads allocate beside it) that installs [`NoHeap`] and runs its checks through
//! [`run`]. A kernel allocator that quietly used `alloc` would abort there.
//!
//! ```ignore
//! #[global_allocator]
//! static GUARD: kalloc_fuzz::no_heap::NoHeap = kalloc_fuzz::no_heap::NoHeap;
//!
//! fn main() {
//!     kalloc_fuzz::no_heap::run(&[("spans split without a heap", || { /* ... */ })]);
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static ARMED: AtomicBool = AtomicBool::new(false);

/// The guard allocator: the system allocator, except while [`forbid_heap`] runs.
#[derive(Debug)]
pub struct NoHeap;

fn caught(what: &[u8]) -> ! {
    ARMED.store(false, Ordering::SeqCst);
    // Unwinding out of a global allocator is undefined behaviour, so report and abort.
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(b"no-heap guard: the code under test tried to ");
    let _ = stderr.write_all(what);
    let _ = stderr.write_all(b" heap memory\n");
    std::process::abort();
}

// SAFETY: every call is forwarded unchanged to `System` (or the process aborts first), so
// `System`'s guarantees are ours.
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::SeqCst) {
            caught(b"allocate");
        }
        // SAFETY: the caller's `GlobalAlloc::alloc` contract is forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            caught(b"free");
        }
        // SAFETY: `ptr` came from `System` through `alloc` above (caller's contract).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.load(Ordering::SeqCst) {
            caught(b"reallocate");
        }
        // SAFETY: the caller's `GlobalAlloc::realloc` contract is forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` with the heap forbidden: any allocation, free or reallocation aborts the
/// process with a message naming the cause.
pub fn forbid_heap<R>(f: impl FnOnce() -> R) -> R {
    ARMED.store(true, Ordering::SeqCst);
    let result = f();
    ARMED.store(false, Ordering::SeqCst);
    result
}

/// Runs each named check under [`forbid_heap`] and prints a libtest-style summary.
/// A check fails by panicking (its `assert!`s); the panic message is built after the guard
/// is disarmed, so it never trips the guard itself.
pub fn run(checks: &[(&str, fn())]) {
    // A failing assert panics; the panic machinery allocates its message. Disarm first so
    // the report is the assertion, not the guard.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ARMED.store(false, Ordering::SeqCst);
        report(info);
    }));
    println!("\nrunning {} no-heap checks", checks.len());
    for (name, check) in checks {
        let outcome = std::panic::catch_unwind(|| forbid_heap(check));
        ARMED.store(false, Ordering::SeqCst);
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                std::process::exit(101);
            }
        }
    }
    println!(
        "\ntest result: ok. {} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n",
        checks.len()
    );
}
