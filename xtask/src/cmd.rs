//! Running commands: echo them, run them from the workspace root, turn failure into `Err`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The workspace root (xtask lives one level below it).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// `cargo` — the same one that runs xtask, so toolchain overrides carry through.
pub(crate) fn cargo() -> Command {
    program(&std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Any other program, run from the workspace root with no standard input: nothing a task
/// runs is interactive, and cargo's `rustc -` target probe must not read whatever an
/// inherited standard input happens to carry.
pub(crate) fn program(name: &str) -> Command {
    let mut command = Command::new(name);
    command.current_dir(root()).stdin(Stdio::null());
    command
}

/// Prints the command, runs it with inherited output, and fails unless it exits with 0.
pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    let shown = show(command);
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs the command quietly and returns its standard output, or `Err` when it fails.
pub(crate) fn output(command: &mut Command) -> Result<String, String> {
    let shown = show(command);
    let out = command
        .output()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn show(command: &Command) -> String {
    let mut shown = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            shown += &format!("{}={} ", key.to_string_lossy(), value.to_string_lossy());
        }
    }
    shown += &command.get_program().to_string_lossy();
    for arg in command.get_args() {
        shown += " ";
        shown += &arg.to_string_lossy();
    }
    shown
}

/// A list of named steps run in order; all run even after a failure, and the summary says
/// which failed and how long each took.
#[derive(Default)]
pub(crate) struct Steps {
    results: Vec<(String, Result<(), String>, f64)>,
}

impl Steps {
    /// Runs one step and records its outcome.
    pub(crate) fn step(&mut self, name: &str, body: impl FnOnce() -> Result<(), String>) {
        println!("\n==> {name}");
        let start = Instant::now();
        let outcome = body();
        if let Err(message) = &outcome {
            println!("==> {name}: FAILED: {message}");
        }
        self.results
            .push((name.to_string(), outcome, start.elapsed().as_secs_f64()));
    }

    /// Prints the summary; `Err` when any step failed.
    pub(crate) fn finish(self, what: &str) -> Result<(), String> {
        println!("\n{what} summary:");
        for (name, outcome, seconds) in &self.results {
            let mark = if outcome.is_ok() { "ok  " } else { "FAIL" };
            println!("  {mark} {seconds:>7.1}s  {name}");
        }
        let failed = self
            .results
            .iter()
            .filter(|(_, outcome, _)| outcome.is_err())
            .count();
        println!(
            "{what}: {} passed, {failed} failed",
            self.results.len() - failed
        );
        if failed == 0 {
            Ok(())
        } else {
            Err(format!("{failed} step(s) failed"))
        }
    }
}
