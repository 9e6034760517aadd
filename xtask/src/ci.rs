//! `cargo xtask ci` and `cargo xtask test`.

use crate::cmd::{self, Steps};
use crate::toolchain::Skipped;
use crate::{fuzz, loom, miri};
use std::fs;

/// Bare-metal targets every library crate must build for: a 64-bit kernel target and a
/// 32-bit microcontroller one (size arithmetic breaks differently there).
pub(crate) const BARE_METAL_TARGETS: &[&str] = &["x86_64-unknown-none", "thumbv7em-none-eabihf"];

/// The library crates: every directory under `crates/`.
pub(crate) fn library_crates() -> Result<Vec<String>, String> {
    let dir = cmd::root().join("crates");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Installs a rustup target for `toolchain` (`None`: the active one) unless it is there.
pub(crate) fn ensure_target(toolchain: Option<&str>, target: &str) -> Result<(), String> {
    let rustup = |args: &[&str]| {
        let mut command = cmd::program("rustup");
        command.args(toolchain).args(args);
        command
    };
    let installed = cmd::output(&mut rustup(&["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == target) {
        return Ok(());
    }
    cmd::run(&mut rustup(&["target", "add", target]))
}

/// `cargo xtask ci`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err(format!("ci takes no arguments, got {args:?}"));
    }
    let mut steps = Steps::default();
    steps.step("rustfmt", || {
        cmd::run(cmd::cargo().args(["fmt", "--all", "--", "--check"]))
    });
    steps.step("clippy (all targets, warnings denied)", || {
        cmd::run(cmd::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    });
    steps.step("tests", || test(&[]));
    steps.step("rustdoc (warnings denied)", || {
        cmd::run(cmd::cargo().env("RUSTDOCFLAGS", "-D warnings").args([
            "doc",
            "--workspace",
            "--no-deps",
        ]))
    });
    for target in BARE_METAL_TARGETS {
        steps.step(&format!("library crates build for {target}"), || {
            bare_metal(target)
        });
    }
    // The rest of the verification ladder (the corpus replay ran with the tests above).
    // A tool that cannot be installed skips its steps loudly, never silently.
    let mut skipped = Skipped::default();
    miri::ci_steps(&mut steps, &mut skipped);
    loom::ci_steps(&mut steps, &mut skipped);
    fuzz::ci_steps(&mut steps, &mut skipped);
    let outcome = steps.finish("ci");
    skipped.report();
    outcome
}

/// `cargo xtask test`: the whole workspace's tests, doc tests included.
pub(crate) fn test(args: &[String]) -> Result<(), String> {
    cmd::run(cmd::cargo().args(["test", "--workspace"]).args(args))
}

fn bare_metal(target: &str) -> Result<(), String> {
    ensure_target(None, target)?;
    let mut build = cmd::cargo();
    build.args(["build", "--release", "--target", target]);
    for name in library_crates()? {
        build.args(["--package", &name]);
    }
    cmd::run(&mut build)
}
