//! [`CacheAligned`]: a value alone on its cache line(s), so that threads reading it do not
//! slow down threads writing the data next to it (false sharing).

use core::ops::Deref;

/// `T`, aligned to (and so padded to a multiple of) [`CacheAligned::BYTES`]: nothing else
/// shares its cache lines.
///
/// The alignment is the unit in which the target's caches move data between cores:
/// * 128 bytes on `x86_64` (its spatial prefetcher fetches lines in pairs, so two 64-byte
///   lines behave as one), `aarch64` and `powerpc64` (128-byte lines on several cores);
/// * 32 bytes on `arm`, `riscv32` and `mips`: microcontroller-class cores, whose lines (if
///   they have a cache) are 32 bytes and whose RAM is too small to waste on more;
/// * 64 bytes everywhere else.
#[cfg_attr(
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64"
    ),
    repr(align(128))
)]
#[cfg_attr(
    any(target_arch = "arm", target_arch = "riscv32", target_arch = "mips"),
    repr(align(32))
)]
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "arm",
        target_arch = "riscv32",
        target_arch = "mips"
    )),
    repr(align(64))
)]
#[derive(Debug, Default)]
pub(crate) struct CacheAligned<T>(pub(crate) T);

impl<T> CacheAligned<T> {
    /// The alignment, and the unit of the padding, of a `CacheAligned` on this target.
    #[cfg(test)]
    pub(crate) const BYTES: usize = align_of::<CacheAligned<()>>();
}

impl<T> Deref for CacheAligned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(test)]
mod tests;
