//! The `sync` facade: every atomic and every busy-wait of this crate goes through here.
//!
//! Normally this is `core`; built with `RUSTFLAGS="--cfg loom"` it is `loom`, so the loom
//! models check this crate's own lock and counters, not a copy of them. A spin loop must
//! call [`spin_loop`] so loom knows the thread waits and schedules another one.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One round of a busy-wait: a CPU pause hint, or under loom a yield to another thread.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::hint::spin_loop();
}

/// Defines a function that is `const` except under `cfg(loom)`, where atomics are built at
/// run time (loom registers each one with the model being checked).
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $($rest)*

        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $($rest)*
    };
}
pub(crate) use const_fn_unless_loom;
