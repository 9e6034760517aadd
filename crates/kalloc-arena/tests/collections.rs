//! `allocator_api2` collections living in an arena (the crate's `allocator-api2` feature,
//! which this package's dev-dependency on itself turns on for tests).

use allocator_api2::vec::Vec;
use hashbrown::HashMap;
use kalloc_arena::BlockBumpArena;
use kalloc_core::FixedRegion;

fn memory(blocks: usize) -> std::vec::Vec<u8> {
    vec![0u8; (blocks + 1) * 4096]
}

fn inside(region: &FixedRegion<'_>, addr: usize) -> bool {
    region.span().contains(addr)
}

#[test]
fn a_vec_grows_inside_the_arena() {
    let mut mem = memory(8);
    let region = FixedRegion::from_slice(&mut mem);
    let arena = BlockBumpArena::new(&region);
    let mut numbers: Vec<u64, _> = Vec::new_in(&arena);
    for n in 0..250u64 {
        numbers.push(n * n);
    }
    assert!(inside(&region, numbers.as_ptr().addr()));
    assert!(
        numbers
            .iter()
            .enumerate()
            .all(|(i, &v)| v == (i * i) as u64)
    );
    let mut bytes: Vec<u8, _> = Vec::new_in(&arena);
    bytes.extend_from_slice(b"grown in place at the low end ");
    let before = bytes.as_ptr();
    bytes.extend_from_slice(b"while it is the most recent allocation");
    assert_eq!(bytes.as_ptr(), before, "align-1 growth stayed in place");
    numbers.truncate(10);
    numbers.shrink_to_fit();
    assert_eq!(numbers.len(), 10);
    drop((numbers, bytes));
    arena.check().unwrap();
}

/// One allocation is at most `MAX_REQUEST` bytes, so collections stay below that: 200
/// `(u32, u32)` entries need 256 buckets.
#[test]
fn a_hash_map_lives_in_the_arena() {
    let mut mem = memory(16);
    let region = FixedRegion::from_slice(&mut mem);
    let arena = BlockBumpArena::new(&region);
    let mut map = HashMap::new_in(&arena);
    for key in 0..200u32 {
        map.insert(key, key.wrapping_mul(2_654_435_761));
    }
    for key in 0..200u32 {
        assert_eq!(map.get(&key), Some(&key.wrapping_mul(2_654_435_761)));
    }
    map.retain(|key, _| key % 3 == 0);
    assert_eq!(map.len(), 67);
    assert!(arena.stats().in_use > 200 * 8);
    arena.check().unwrap();
}

#[test]
fn an_exhausted_arena_fails_the_collection_cleanly() {
    let mut mem = memory(1);
    let region = FixedRegion::from_slice(&mut mem);
    let arena = BlockBumpArena::new(&region);
    let mut numbers: Vec<u64, _> = Vec::new_in(&arena);
    assert!(numbers.try_reserve(10_000).is_err(), "more than a block");
    numbers.try_reserve(100).unwrap();
    numbers.extend(0..100);
    assert_eq!(numbers.iter().sum::<u64>(), 4950);
    arena.check().unwrap();
}

#[test]
fn zeroed_growth_is_zero() {
    use allocator_api2::alloc::Allocator;
    use core::alloc::Layout;
    let mut mem = memory(1);
    let region = FixedRegion::from_slice(&mut mem);
    let arena = BlockBumpArena::new(&region);
    let old = Layout::from_size_align(16, 8).unwrap();
    let new = Layout::from_size_align(64, 8).unwrap();
    let first = (&arena).allocate(old).unwrap().cast::<u8>();
    // SAFETY: `first` is live with `old`, and `new` is larger.
    let grown = unsafe {
        first.as_ptr().write_bytes(0xFF, 16);
        (&arena).grow_zeroed(first, old, new).unwrap()
    };
    // SAFETY: `grown` is valid for 64 bytes.
    let bytes = unsafe { grown.as_ref() };
    assert!(bytes[..16].iter().all(|&b| b == 0xFF));
    assert!(bytes[16..].iter().all(|&b| b == 0));
    // SAFETY: live with `new`.
    unsafe { (&arena).deallocate(grown.cast(), new) };
    assert_eq!(arena.stats().in_use, 0);
}
