//! The tools beyond stable Rust that the verification ladder needs — the nightly toolchain,
//! its Miri and rust-src components, cargo-fuzz — found, installed when missing, or
//! reported loudly when they cannot be had.

use crate::cmd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The toolchain Miri and cargo-fuzz run on.
pub(crate) const NIGHTLY: &str = "nightly";

/// Why a task did not pass: a tool that cannot be installed here, or a real failure.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A tool is missing and cannot be installed on this machine; the message says which
    /// and how to get it.
    Unavailable(String),
    /// The task ran and failed (or a command could not run for another reason).
    Failed(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Failed(message)
    }
}

impl Failure {
    /// The message for a task run on its own, where a missing tool is an error too.
    pub(crate) fn into_message(self) -> String {
        match self {
            Failure::Unavailable(why) => {
                shout(&why);
                why
            }
            Failure::Failed(message) => message,
        }
    }
}

/// Prints `message` so that nobody scrolling a CI log can miss it.
pub(crate) fn shout(message: &str) {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}\n!!! {message}\n{bar}\n");
}

/// `cargo +nightly ...`: through the rustup proxy on `PATH` (the `cargo` that runs xtask
/// belongs to one toolchain and does not understand `+nightly`).
pub(crate) fn nightly_cargo() -> Command {
    let mut command = cmd::program("cargo");
    // Nothing here reads input; a stray terminal or pipe must not reach rustc's probes.
    command.arg(format!("+{NIGHTLY}")).stdin(Stdio::null());
    command
}

/// The directory cargo builds into (`CARGO_TARGET_DIR` or the workspace's `target`); tasks
/// that build with other flags use subdirectories of it.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_relative() {
                cmd::root().join(dir)
            } else {
                dir
            }
        })
        .unwrap_or_else(|| cmd::root().join("target"))
}

/// Makes sure the nightly toolchain with `components` is installed, installing what is
/// missing through rustup.
pub(crate) fn ensure_nightly(components: &[&str]) -> Result<(), Failure> {
    let unavailable = |what: &str, error: String| {
        Failure::Unavailable(format!(
            "{what} cannot be installed on this machine, so the steps that need it do NOT \
             run: {error}"
        ))
    };
    let toolchains = cmd::output(cmd::program("rustup").args(["toolchain", "list"]))
        .map_err(|error| unavailable("rustup (needed for the nightly toolchain)", error))?;
    // `nightly-HOST` is what `+nightly` selects; dated ones (`nightly-2025-01-01-HOST`) not.
    let have_nightly = toolchains
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .any(|name| {
            name == NIGHTLY
                || name
                    .strip_prefix("nightly-")
                    .is_some_and(|host| !host.starts_with(|c: char| c.is_ascii_digit()))
        });
    if !have_nightly {
        cmd::run(cmd::program("rustup").args([
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
        ]))
        .map_err(|error| unavailable("the nightly toolchain", error))?;
    }
    let installed = cmd::output(cmd::program("rustup").args([
        &format!("+{NIGHTLY}"),
        "component",
        "list",
        "--installed",
    ]))
    .map_err(|error| unavailable("the nightly toolchain", error))?;
    // Installed components are listed with their host suffix (`miri-x86_64-...`), except
    // target-independent ones (`rust-src`).
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|component| {
            !installed.lines().any(|line| {
                let line = line.trim();
                line == *component || line.starts_with(&format!("{component}-"))
            })
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    cmd::run(
        cmd::program("rustup")
            .args([&format!("+{NIGHTLY}"), "component", "add"])
            .args(&missing),
    )
    .map_err(|error| unavailable(&format!("the nightly component(s) {missing:?}"), error))
}

/// Makes sure cargo-fuzz (and the nightly toolchain it builds with) is installed.
pub(crate) fn ensure_cargo_fuzz() -> Result<(), Failure> {
    ensure_nightly(&[])?;
    if cmd::output(nightly_cargo().args(["fuzz", "--version"])).is_ok() {
        return Ok(());
    }
    cmd::run(cmd::cargo().args(["install", "cargo-fuzz", "--locked"])).map_err(|error| {
        Failure::Unavailable(format!(
            "cargo-fuzz cannot be installed on this machine, so NO fuzzing runs: {error}"
        ))
    })
}

/// Steps of `cargo xtask ci` that did not run for want of a tool, reported once more after
/// the summary so they cannot go unnoticed.
#[derive(Default)]
pub(crate) struct Skipped(Vec<String>);

impl Skipped {
    /// Records and announces a skipped step.
    pub(crate) fn add(&mut self, what: &str, why: &str) {
        shout(&format!("SKIPPED {what}: {why}"));
        self.0.push(format!("{what}: {why}"));
    }

    /// Prints the skipped steps, if any, loudly.
    pub(crate) fn report(&self) {
        if self.0.is_empty() {
            return;
        }
        let list: Vec<String> = self.0.iter().map(|s| format!("  - {s}")).collect();
        shout(&format!(
            "{} verification step(s) were SKIPPED for want of a tool:\n{}",
            self.0.len(),
            list.join("\n")
        ));
    }
}
