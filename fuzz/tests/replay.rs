//! Corpus replay on stable: every committed fuzz input goes through its harness again, so
//! a bug the fuzzer once found stays caught by a plain `cargo test`, without nightly.
//!
//! For each `(name, harness)` in [`kalloc_fuzz::TARGETS`] it feeds every file of
//! `fuzz/corpus/NAME/` (the seed corpus) and `fuzz/regressions/NAME/` (minimised crashes
//! saved by `cargo xtask fuzz`) to the harness, and names each file that panics. It also
//! checks that the registry, the target files and the corpora agree, so no target can go
//! unreplayed by being left out of one of them.
//!
//! Under Miri (`cargo xtask miri`) it replays only the smallest input of each directory:
//! every step costs thousands of times more there, and each crate's property test already
//! drives the same harness under Miri with random bytes. Reading the files needs
//! `-Zmiri-disable-isolation`, which `cargo xtask miri` passes for this package.

use kalloc_fuzz::{Harness, TARGETS};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// How many inputs per directory Miri replays (the smallest ones).
const MIRI_INPUTS_PER_DIR: usize = 1;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The committed inputs in `dir`, smallest first. Only regular files count: libFuzzer's
/// working corpus lives in the ignored `.work` subdirectory and is not replayed, and
/// dot-files (editor or OS litter) are skipped. A missing directory has no inputs.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => panic!(
            "cannot list {}: {error}{}",
            dir.display(),
            if cfg!(miri) {
                " (under Miri, reading files needs MIRIFLAGS=-Zmiri-disable-isolation)"
            } else {
                ""
            }
        ),
    };
    let mut files: Vec<(u64, PathBuf)> = entries
        .map(|entry| entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())))
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|entry| {
            let meta = entry.metadata().expect("file metadata");
            meta.is_file().then(|| (meta.len(), entry.path()))
        })
        .collect();
    files.sort();
    if cfg!(miri) {
        files.truncate(MIRI_INPUTS_PER_DIR);
    }
    files.into_iter().map(|(_, path)| path).collect()
}

/// Feeds every file to `harness`; returns how many ran and the ones that panicked.
fn replay(harness: Harness, files: &[PathBuf]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    for file in files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            eprintln!("^ that panic came from {}", file.display());
            failures.push(file.display().to_string());
        }
    }
    (files.len(), failures)
}

#[test]
fn every_committed_input_passes_its_harness() {
    let root = fuzz_dir();
    let mut failures = Vec::new();
    for &(name, harness) in TARGETS {
        let corpus = inputs(&root.join("corpus").join(name));
        let regressions = inputs(&root.join("regressions").join(name));
        let (seeds, mut failed) = replay(harness, &corpus);
        let (saved, failed_regressions) = replay(harness, &regressions);
        failed.extend(failed_regressions);
        println!("{name}: {seeds} corpus inputs, {saved} regression inputs replayed");
        failures.extend(failed);
    }
    assert!(
        failures.is_empty(),
        "{} input(s) failed their harness (the panic messages are above); reproduce one \
         with `cargo +nightly fuzz run --features libfuzzer -a TARGET FILE`:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn every_target_has_a_seed_corpus() {
    let root = fuzz_dir();
    // Miri replays a subset, so count without its truncation: any file at all will do.
    let empty: Vec<&str> = TARGETS
        .iter()
        .map(|&(name, _)| name)
        .filter(|name| {
            fs::read_dir(root.join("corpus").join(name)).map_or(true, |entries| {
                !entries
                    .filter_map(Result::ok)
                    .any(|entry| entry.path().is_file())
            })
        })
        .collect();
    assert!(
        empty.is_empty(),
        "targets without committed seeds in fuzz/corpus/NAME/: {empty:?}"
    );
}

/// The stems of `fuzz/fuzz_targets/*.rs`: the libFuzzer binaries (none yet is no error,
/// and git keeps no empty directory).
fn target_files() -> Vec<String> {
    let dir = fuzz_dir().join("fuzz_targets");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => panic!("cannot list {}: {error}", dir.display()),
    };
    entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            path.file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn registry_and_target_files_agree() {
    let files = target_files();
    let unregistered: Vec<&String> = files
        .iter()
        .filter(|file| !TARGETS.iter().any(|&(name, _)| name == file.as_str()))
        .collect();
    assert!(
        unregistered.is_empty(),
        "fuzz targets missing from kalloc_fuzz::TARGETS (so never replayed): {unregistered:?}"
    );
    let without_binary: Vec<&str> = TARGETS
        .iter()
        .map(|&(name, _)| name)
        .filter(|name| !files.iter().any(|file| file == name))
        .collect();
    assert!(
        without_binary.is_empty(),
        "TARGETS entries without fuzz/fuzz_targets/NAME.rs (so never fuzzed): {without_binary:?}"
    );
}

#[test]
fn target_names_are_unique() {
    for (i, &(name, _)) in TARGETS.iter().enumerate() {
        assert!(
            TARGETS[..i].iter().all(|&(other, _)| other != name),
            "`{name}` is registered twice in kalloc_fuzz::TARGETS"
        );
    }
}
