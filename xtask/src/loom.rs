//! `cargo xtask loom`: kalloc-sync's loom models, which explore every interleaving of two
//! contending threads (up to a preemption bound) through the wrappers' real lock code.

use crate::cmd::{self, Steps};
use crate::toolchain::{self, Failure, Skipped};

/// The crate whose lock and atomics go through the `sync` facade that maps to loom.
const PACKAGE: &str = "kalloc-sync";

/// The integration test holding the models (`crates/kalloc-sync/tests/loom.rs`).
const TEST: &str = "loom";

/// Preemptions loom explores per execution unless the caller sets `LOOM_MAX_PREEMPTIONS`:
/// 3 finds the bugs that need a thread to be interrupted up to three times, and keeps the
/// state space small enough for CI.
const MAX_PREEMPTIONS: &str = "3";

/// `cargo xtask loom [CARGO TEST ARGS...]`. Without the models (not written yet) it says so
/// loudly and succeeds.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match models(args) {
        Ok(()) => Ok(()),
        Err(Failure::Unavailable(why)) => {
            toolchain::shout(&why);
            Ok(())
        }
        Err(Failure::Failed(message)) => Err(message),
    }
}

/// The loom step of `cargo xtask ci`: the models, or a loud skip while they do not exist.
pub(crate) fn ci_steps(steps: &mut Steps, skipped: &mut Skipped) {
    match missing_models() {
        Some(why) => skipped.add("loom models", &why),
        None => steps.step("loom models of kalloc-sync", || {
            models(&[]).map_err(Failure::into_message)
        }),
    }
}

/// Why the models cannot run, if they cannot.
fn missing_models() -> Option<String> {
    let file = cmd::root()
        .join("crates")
        .join(PACKAGE)
        .join("tests")
        .join(format!("{TEST}.rs"));
    (!file.is_file()).then(|| {
        format!(
            "{} does not exist, so NO loom model runs",
            file.strip_prefix(cmd::root()).unwrap_or(&file).display()
        )
    })
}

fn models(args: &[String]) -> Result<(), Failure> {
    if let Some(why) = missing_models() {
        return Err(Failure::Unavailable(why));
    }
    // `--cfg loom` changes every crate's build, so it gets its own target directory rather
    // than invalidating the normal one.
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    rustflags += " --cfg loom";
    let preemptions =
        std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| MAX_PREEMPTIONS.to_string());
    let mut command = cmd::cargo();
    command
        .env("RUSTFLAGS", rustflags.trim())
        .env("LOOM_MAX_PREEMPTIONS", preemptions)
        .env("CARGO_TARGET_DIR", toolchain::target_dir().join("loom"))
        // loom explores far more executions optimised than in a debug build.
        .args(["test", "--package", PACKAGE, "--release", "--test", TEST])
        .args(args);
    cmd::run(&mut command).map_err(Failure::Failed)
}
