//! The shadow model: what a correct allocator must have handed out, kept in a `BTreeMap`.
//!
//! Every harness records each successful allocation here and removes it on free. The model
//! asserts the properties all kalloc allocators share: live allocations never overlap, and
//! their contents survive everything but their own free (checked with a per-allocation fill
//! pattern).

use kalloc_core::Span;
use std::collections::BTreeMap;

/// One live allocation as the model remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live {
    /// Where it is.
    pub span: Span,
    /// A caller-chosen value: the owner, the fill seed, a request id...
    pub tag: u64,
}

/// The set of live allocations, ordered by base.
#[derive(Clone, Debug, Default)]
pub struct Shadow {
    live: BTreeMap<usize, Live>,
    bytes: usize,
}

impl Shadow {
    /// An empty model.
    #[must_use]
    pub fn new() -> Shadow {
        Shadow::default()
    }

    /// Records a new allocation.
    ///
    /// # Panics
    /// When `span` overlaps a live allocation: the allocator handed the same resource out
    /// twice. Empty spans (zero-size allocations) are not recorded as occupying anything,
    /// but are tracked so they can be freed.
    pub fn insert(&mut self, span: Span, tag: u64) {
        if let Some(other) = self.overlapping(span) {
            panic!(
                "allocator handed out {span:?}, which overlaps live {:?}",
                other.span
            );
        }
        if !span.is_empty() {
            let previous = self.live.insert(span.base(), Live { span, tag });
            assert!(
                previous.is_none(),
                "two live allocations at {:#x}",
                span.base()
            );
            self.bytes += span.len();
        }
    }

    /// The live allocation overlapping `span`, if any.
    #[must_use]
    pub fn overlapping(&self, span: Span) -> Option<Live> {
        if span.is_empty() {
            return None;
        }
        self.live
            .range(..span.end())
            .next_back()
            .map(|(_, live)| *live)
            .filter(|live| live.span.overlaps(span))
    }

    /// The allocation starting at `base`.
    #[must_use]
    pub fn get(&self, base: usize) -> Option<Live> {
        self.live.get(&base).copied()
    }

    /// Forgets the allocation starting at `base`, returning it.
    pub fn remove(&mut self, base: usize) -> Option<Live> {
        let live = self.live.remove(&base)?;
        self.bytes -= live.span.len();
        Some(live)
    }

    /// Changes the recorded span of the allocation at `base` (a resize in place or a move),
    /// checking the new span overlaps nothing else.
    ///
    /// # Panics
    /// When no allocation starts at `base`, or the new span overlaps another allocation.
    pub fn resize(&mut self, base: usize, span: Span) {
        let live = self
            .remove(base)
            .expect("resize of an allocation the model does not know");
        self.insert(span, live.tag);
    }

    /// The `n`-th live allocation in address order (`n < len()`), for picking a victim.
    #[must_use]
    pub fn nth(&self, n: usize) -> Option<Live> {
        self.live.values().nth(n).copied()
    }

    /// Number of live (non-empty) allocations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether nothing is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Sum of the lengths of live allocations.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Live allocations in address order.
    pub fn iter(&self) -> impl Iterator<Item = Live> + '_ {
        self.live.values().copied()
    }

    /// Removes and returns every live allocation.
    pub fn drain(&mut self) -> Vec<Live> {
        self.bytes = 0;
        std::mem::take(&mut self.live).into_values().collect()
    }
}

/// The byte a fill pattern puts at offset `index` of an allocation tagged `tag`.
#[must_use]
pub fn pattern(tag: u64, index: usize) -> u8 {
    let mixed = tag.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ index as u64;
    (mixed ^ (mixed >> 8) ^ (mixed >> 24)) as u8
}

/// Writes the fill pattern of `tag` over `len` bytes at `ptr`.
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
pub unsafe fn fill(ptr: *mut u8, len: usize, tag: u64) {
    for i in 0..len {
        // SAFETY: `i < len` and `ptr` is valid for `len` bytes (caller).
        unsafe { ptr.add(i).write(pattern(tag, i)) };
    }
}

/// Checks the first `len` bytes at `ptr` still hold the fill pattern of `tag`; `Err` holds
/// the offset of the first byte that does not.
///
/// # Safety
/// `ptr` must be valid for reads of `len` bytes.
pub unsafe fn verify(ptr: *const u8, len: usize, tag: u64) -> Result<(), usize> {
    for i in 0..len {
        // SAFETY: `i < len` and `ptr` is valid for `len` bytes (caller).
        if unsafe { ptr.add(i).read() } != pattern(tag, i) {
            return Err(i);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_accounting() {
        let mut shadow = Shadow::new();
        shadow.insert(Span::new(0, 10), 1);
        shadow.insert(Span::new(10, 5), 2);
        shadow.insert(Span::empty(3), 3);
        assert_eq!(shadow.len(), 2);
        assert_eq!(shadow.bytes(), 15);
        assert_eq!(shadow.overlapping(Span::new(9, 2)).map(|l| l.tag), Some(2));
        assert_eq!(shadow.overlapping(Span::new(15, 2)), None);
        assert_eq!(shadow.remove(0).map(|l| l.tag), Some(1));
        assert_eq!(shadow.remove(0), None);
        shadow.resize(10, Span::new(10, 20));
        assert_eq!(shadow.bytes(), 20);
        assert_eq!(shadow.nth(0).map(|l| l.span), Some(Span::new(10, 20)));
        assert_eq!(shadow.drain().len(), 1);
        assert!(shadow.is_empty());
        assert_eq!(shadow.bytes(), 0);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlap_is_caught() {
        let mut shadow = Shadow::new();
        shadow.insert(Span::new(0, 10), 1);
        shadow.insert(Span::new(5, 10), 2);
    }

    #[test]
    fn patterns_detect_a_changed_byte() {
        let mut buffer = [0u8; 64];
        // SAFETY: `buffer` is valid for 64 bytes.
        unsafe { fill(buffer.as_mut_ptr(), 64, 42) };
        // SAFETY: as above.
        assert_eq!(unsafe { verify(buffer.as_ptr(), 64, 42) }, Ok(()));
        buffer[17] ^= 1;
        // SAFETY: as above.
        assert_eq!(unsafe { verify(buffer.as_ptr(), 64, 42) }, Err(17));
        // SAFETY: as above.
        let other_tag = unsafe { verify(buffer.as_ptr(), 16, 43) };
        assert!(other_tag.is_err(), "tags differ");
    }
}
