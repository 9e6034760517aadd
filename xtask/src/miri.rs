//! `cargo xtask miri`: the unit and integration tests of every library crate, and of the
//! shared harness (corpus replay included), under Miri with strict provenance — on a 64-bit
//! and on a 32-bit target, since size arithmetic breaks differently on 32-bit kernels.
//!
//! Property tests scale themselves down under Miri (`kalloc_fuzz::rng::scale`), so they run
//! here rather than being skipped. Doc tests are left out: each is a separate crate Miri
//! would compile and start on its own, for examples the unit tests already cover.

use crate::ci::library_crates;
use crate::cmd::{self, Lane, Steps};
use crate::toolchain::{self, Failure, Skipped};
use std::fs;
use std::path::Path;

/// What Miri needs from the nightly toolchain: itself, and the standard library's source
/// to build its own sysroot for each target (so no `rustup target add` is needed, and
/// no C toolchain either).
const COMPONENTS: &[&str] = &["miri", "rust-src"];

/// The targets Miri runs the tests on: 64-bit and 32-bit.
pub(crate) const TARGETS: &[&str] = &["x86_64-unknown-linux-gnu", "i686-unknown-linux-gnu"];

/// Always on: no integer ever turns into a pointer (the kernel-facing contract of every
/// crate), and Miri checks it.
///
/// Leaks are not checked: the crates never touch a heap (their no-heap tests prove it), so
/// the only heap memory left at exit is test scaffolding leaked on purpose to get `'static`
/// backing memory. Memory an allocator loses inside its own region is no heap leak either;
/// the checkers and the shadow model's final stats catch that.
const MIRIFLAGS: &str = "-Zmiri-strict-provenance -Zmiri-ignore-leaks";

/// The shared harness package: its corpus replay reads the committed inputs from disk, which
/// Miri's isolation forbids, so it runs with isolation off (nothing else there needs it on).
const HARNESS: &str = "kalloc-fuzz";

/// Integration tests Miri cannot run, with the reason.
const NOT_UNDER_MIRI: &[(&str, &str, &str)] = &[
    (
        HARNESS,
        "no_heap_guard",
        "it proves the guard aborts by spawning child processes, which Miri does not support",
    ),
    (
        "kalloc-sync",
        "loom",
        "its models exist only under `--cfg loom` (`cargo xtask loom`); here it is empty",
    ),
];

/// `cargo xtask miri [--target TRIPLE] [CRATE...]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut targets: Vec<&str> = Vec::new();
    let mut packages: Vec<String> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => targets.push(args.next().ok_or("--target needs a triple")?),
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            package => packages.push(package.to_string()),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    if packages.is_empty() {
        packages = all_packages()?;
    }
    toolchain::ensure_nightly(COMPONENTS).map_err(Failure::into_message)?;
    let mut steps = Steps::default();
    for target in targets {
        add_steps(&mut steps, target, &packages);
    }
    steps.finish("miri")
}

/// The Miri steps of `cargo xtask ci`: every package on every target, or a loud skip when
/// Miri cannot be installed.
pub(crate) fn ci_steps(steps: &mut Steps, skipped: &mut Skipped) {
    match toolchain::ensure_nightly(COMPONENTS) {
        Ok(()) => match all_packages() {
            Ok(packages) => {
                let lanes = TARGETS.iter().map(|target| lane(target, &packages));
                steps.parallel(lanes.collect());
            }
            Err(message) => steps.step("miri", || Err(message)),
        },
        Err(Failure::Unavailable(why)) => skipped.add("Miri (all targets)", &why),
        Err(Failure::Failed(message)) => steps.step("miri", || Err(message)),
    }
}

/// `cargo xtask miri --target TARGET PACKAGES...` as a lane of its own: Miri interprets on
/// one core, so the two targets run side by side. Each lane builds into its own directory
/// (two cargos would otherwise wait on one build lock) and its own log.
fn lane(target: &str, packages: &[String]) -> Lane {
    let mut command = cmd::xtask();
    command
        .env(
            "CARGO_TARGET_DIR",
            toolchain::target_dir().join(format!("miri-{target}")),
        )
        .args(["miri", "--target", target])
        .args(packages);
    Lane {
        name: format!("miri on {target} ({} packages)", packages.len()),
        command,
    }
}

/// The library crates and the shared harness.
fn all_packages() -> Result<Vec<String>, String> {
    let mut packages = library_crates()?;
    packages.push(HARNESS.to_string());
    Ok(packages)
}

/// One step to build Miri's sysroot for `target` (timed on its own), then one per package.
fn add_steps(steps: &mut Steps, target: &str, packages: &[String]) {
    steps.step(&format!("miri sysroot for {target}"), || {
        cmd::run(toolchain::nightly_cargo().args(["miri", "setup", "--target", target]))
    });
    for package in packages {
        steps.step(&format!("miri {package} on {target}"), || {
            test_package(package, target)
        });
    }
}

fn test_package(package: &str, target: &str) -> Result<(), String> {
    let dir = package_dir(package)?;
    let mut flags = MIRIFLAGS.to_string();
    if package == HARNESS {
        flags += " -Zmiri-disable-isolation";
    }
    // Flags the caller set (a `-Zmiri-seed`, say) come last, so they win.
    if let Some(extra) = std::env::var_os("MIRIFLAGS") {
        flags += " ";
        flags += &extra.to_string_lossy();
    }
    let mut command = toolchain::nightly_cargo();
    command.env("MIRIFLAGS", flags).args([
        "miri",
        "test",
        "--package",
        package,
        "--target",
        target,
        "--lib",
    ]);
    for test in integration_tests(&dir)? {
        match NOT_UNDER_MIRI
            .iter()
            .find(|&&(p, t, _)| p == package && t == test)
        {
            Some((_, _, why)) => println!("(not under Miri: {package} test `{test}`: {why})"),
            None => {
                command.args(["--test", &test]);
            }
        }
    }
    cmd::run(&mut command)
}

/// Where a package's manifest lives: `crates/NAME` for the library crates, `fuzz` for the
/// harness.
fn package_dir(package: &str) -> Result<std::path::PathBuf, String> {
    let root = cmd::root();
    let dir = if package == HARNESS {
        root.join("fuzz")
    } else {
        root.join("crates").join(package)
    };
    if dir.join("Cargo.toml").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no package `{package}` (expected {})",
            dir.display()
        ))
    }
}

/// The integration tests cargo discovers in `dir/tests`: `NAME.rs` and `NAME/main.rs`.
fn integration_tests(dir: &Path) -> Result<Vec<String>, String> {
    let tests = dir.join("tests");
    let entries = match fs::read_dir(&tests) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot list {}: {error}", tests.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter_map(|path| {
            let is_test = if path.is_dir() {
                path.join("main.rs").is_file()
            } else {
                path.extension().is_some_and(|ext| ext == "rs")
            };
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            is_test.then_some(stem)
        })
        .collect();
    names.sort();
    Ok(names)
}
