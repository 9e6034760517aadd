//! Property test: many seeds of random bytes through the fuzz harness (`kalloc_fuzz::arena`),
//! which checks every step against the shadow model, the fill patterns and the arena's
//! checker, and knows which marks are stale. The summed coverage proves the inputs reach
//! every path, stale and merged marks included.

use kalloc_fuzz::arena::{Coverage, run_with_coverage};
use kalloc_fuzz::rng::{Rng, scale};

/// Runs the harness on `seeds` inputs made by `input`, naming the seed of a failure.
fn drive(seeds: usize, salt: u64, input: impl Fn(&mut Rng) -> Vec<u8>) -> Coverage {
    let mut total = Coverage::default();
    for seed in 0..seeds as u64 {
        let bytes = input(&mut Rng::new(seed ^ salt));
        match std::panic::catch_unwind(|| run_with_coverage(&bytes)) {
            Ok(coverage) => total += coverage,
            Err(_) => panic!("seed {seed} (salt {salt:#x}, {} bytes) failed", bytes.len()),
        }
    }
    total
}

#[test]
fn random_operation_sequences_agree_with_the_model() {
    let total = drive(scale(600), 0, |rng| {
        let len = rng.between(16, scale(4096).max(64));
        rng.bytes(len)
    });
    assert!(
        total.allocations > 0 && total.refusals > 0 && total.reclaims > 0,
        "{total:?}"
    );
    assert!(total.rewinds > 0 && total.resets > 0, "{total:?}");
    if !cfg!(miri) {
        assert!(total.stale_refused > 0, "{total:?}");
    }
}

#[test]
fn byte_patterns_that_favour_checkpoints_agree_with_the_model() {
    // Inputs built from a few byte values repeat checkpoint / allocate / rewind shapes far
    // more often than uniform bytes do, reaching deep histories and merges.
    let total = drive(scale(300), 0xA5A5, |rng| {
        let len = rng.between(64, scale(8192).max(128));
        let palette: Vec<u8> = (0..4).map(|_| rng.next_u64() as u8).collect();
        (0..len)
            .map(|_| palette[rng.below(palette.len())])
            .collect()
    });
    assert!(total.rewinds > 0, "{total:?}");
    if !cfg!(miri) {
        assert!(total.stale_refused > 0, "{total:?}");
    }
    println!("{total:?}");
}

/// Nested checkpoint scopes, deeper than the history keeps exactly: good marks rewind (or,
/// only after a history merge, are refused), stale marks are always refused, and every
/// rewind restores the usage of its mark.
#[test]
fn deep_nested_scopes_keep_good_marks_and_refuse_stale_ones() {
    use core::alloc::Layout;
    use kalloc_arena::{BlockBumpArena, Mark};
    use kalloc_core::{Error, FixedRegion, Stats};

    let mut merges = 0;
    let mut stale_refused = 0;
    for seed in 0..scale(200) as u64 {
        let mut rng = Rng::new(seed);
        let mut memory = vec![0u8; 17 * 4096];
        let skip = memory.as_ptr().align_offset(4096);
        let region = FixedRegion::from_slice(&mut memory[skip..skip + 16 * 4096]);
        let mut arena = BlockBumpArena::new(&region);
        let mut good: Vec<(Mark, Stats)> = Vec::new();
        let mut stale: Vec<Mark> = Vec::new();
        // Under Miri the walk stays long enough to make and refuse stale marks.
        for step in 0..scale(2000).max(300) {
            match rng.below(12) {
                0..=4 => {
                    let align = if rng.chance(50) { 1 } else { 1 << rng.below(5) };
                    let layout = Layout::from_size_align(rng.between(1, 300), align).unwrap();
                    match arena.alloc(layout) {
                        Ok(_) | Err(Error::Exhausted) => {}
                        Err(other) => panic!("seed {seed} step {step}: {other:?}"),
                    }
                }
                5..=6 if good.len() < 16 => good.push((arena.checkpoint(), arena.stats())),
                5..=8 if !good.is_empty() => {
                    let depth = good.len() - 1 - rng.below(good.len().min(4));
                    let (mark, stats) = good[depth];
                    match arena.rewind(mark) {
                        Ok(()) => {
                            assert_eq!(arena.stats(), stats, "seed {seed} step {step}");
                            stale.extend(good.drain(depth + 1..).map(|(mark, _)| mark));
                        }
                        Err(Error::DoubleFree) => assert!(
                            arena.history_merges() > 0,
                            "seed {seed} step {step}: good mark refused without a merge"
                        ),
                        Err(other) => panic!("seed {seed} step {step}: {other:?}"),
                    }
                }
                9 if !stale.is_empty() => {
                    let mark = stale[rng.below(stale.len())];
                    let before = arena.stats();
                    assert_eq!(arena.rewind(mark), Err(Error::DoubleFree), "seed {seed}");
                    assert_eq!(arena.stats(), before, "seed {seed} step {step}");
                    stale_refused += 1;
                }
                10 if rng.chance(10) => {
                    arena.reset();
                    stale.extend(good.drain(..).map(|(mark, _)| mark));
                }
                _ => {}
            }
            if let Err(broken) = arena.check() {
                panic!("seed {seed} step {step}: {broken}");
            }
        }
        merges += arena.history_merges();
    }
    assert!(stale_refused > 0);
    if !cfg!(miri) {
        assert!(merges > 0, "the scopes never got deeper than the history");
    }
}
