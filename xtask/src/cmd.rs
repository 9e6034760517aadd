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

/// This xtask binary itself, to run one of its tasks as a child (a lane of [`Steps::parallel`]).
pub(crate) fn xtask() -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("xtask"));
    let mut command = Command::new(exe);
    command.current_dir(root()).stdin(Stdio::null());
    command
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
    succeeded(&shown, status)
}

/// `Ok` when the command shown as `shown` exited with 0.
fn succeeded(shown: &str, status: std::process::ExitStatus) -> Result<(), String> {
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

    /// Runs independent commands side by side, each as one step. Their output goes to one log
    /// file per lane (under the target directory), printed whole when every lane has ended,
    /// so the lanes' output never interleaves.
    pub(crate) fn parallel(&mut self, lanes: Vec<Lane>) {
        let logs = crate::toolchain::target_dir().join("xtask-logs");
        let finished: Vec<_> = std::thread::scope(|scope| {
            let running: Vec<_> = lanes
                .into_iter()
                .map(|mut lane| {
                    println!("\n==> {} (in parallel)", lane.name);
                    let log = logs.join(format!("{}.log", file_name(&lane.name)));
                    let start = Instant::now();
                    let child = lane.start(&log);
                    let waiter = scope.spawn(move || {
                        let outcome = child.and_then(|(mut child, shown)| {
                            let status = child
                                .wait()
                                .map_err(|e| format!("cannot wait for `{shown}`: {e}"))?;
                            succeeded(&shown, status)
                        });
                        (outcome, start.elapsed().as_secs_f64())
                    });
                    (lane.name, log, waiter)
                })
                .collect();
            running
                .into_iter()
                .map(|(name, log, waiter)| {
                    let (outcome, seconds) = waiter.join().expect("a lane's waiter never panics");
                    (name, log, outcome, seconds)
                })
                .collect()
        });
        for (name, log, outcome, seconds) in finished {
            println!("\n==> {name}: output ({})", log.display());
            match std::fs::read_to_string(&log) {
                Ok(text) => print!("{text}"),
                Err(e) => println!("(cannot read {}: {e})", log.display()),
            }
            if let Err(message) = &outcome {
                println!("==> {name}: FAILED: {message}");
            }
            self.results.push((name, outcome, seconds));
        }
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

/// A command run as one step of [`Steps::parallel`].
pub(crate) struct Lane {
    /// The step's name in the summary.
    pub(crate) name: String,
    /// What the lane runs.
    pub(crate) command: Command,
}

impl Lane {
    /// Starts the command with its standard output and error going to `log`.
    fn start(&mut self, log: &Path) -> Result<(std::process::Child, String), String> {
        let shown = show(&self.command);
        println!("$ {shown} > {}", log.display());
        let dir = log.parent().expect("a log lives in a directory");
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let out = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let child = self
            .command
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
        Ok((child, shown))
    }
}

/// A step name as a file name: everything but letters, digits, `-` and `_` becomes `_`.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
