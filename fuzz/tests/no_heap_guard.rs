//! The guard must be able to fail: a child process that allocates under it has to abort,
//! and one that does not has to pass.

use kalloc_fuzz::no_heap::{NoHeap, forbid_heap};
use std::process::Command;

#[global_allocator]
static GUARD: NoHeap = NoHeap;

const ROLE: &str = "KALLOC_NO_HEAP_ROLE";

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("allocates") => {
            let v = forbid_heap(|| std::hint::black_box(Vec::<u8>::with_capacity(16)));
            drop(v);
        }
        Ok("clean") => {
            let sum = forbid_heap(|| (0..100u32).sum::<u32>());
            assert_eq!(sum, 4950);
        }
        _ => parent(),
    }
}

fn child(role: &str) -> std::process::Output {
    let exe = std::env::current_exe().expect("own path");
    Command::new(exe)
        .env(ROLE, role)
        .output()
        .expect("spawn child")
}

fn parent() {
    println!("\nrunning 2 tests");
    let caught = child("allocates");
    let stderr = String::from_utf8_lossy(&caught.stderr);
    assert!(
        !caught.status.success(),
        "an allocation under the guard must kill the process"
    );
    assert!(
        stderr.contains("tried to allocate heap memory"),
        "stderr: {stderr}"
    );
    println!("test guard_catches_an_allocation ... ok");

    let clean = child("clean");
    assert!(
        clean.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&clean.stderr)
    );
    println!("test guard_lets_heapless_code_run ... ok");
    println!("\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n");
}
