//! `cargo xtask fuzz [TARGET] [--time SECONDS] [--jobs N]`: time-boxed libFuzzer campaigns
//! on the cargo-fuzz targets in `fuzz/fuzz_targets/`, with debug assertions on.
//!
//! Corpus layout per target `T`:
//! * `fuzz/corpus/T/` — the committed seeds, read but never written by a campaign;
//! * `fuzz/corpus/T/.work/` — what libFuzzer learns (it writes new inputs into its first
//!   corpus directory), kept between campaigns and ignored by git; libFuzzer does not
//!   descend into dot-directories, so the seeds directory never reads it twice;
//! * `fuzz/regressions/T/` — minimised crashes, committed and replayed by
//!   `cargo test -p kalloc-fuzz --test replay` on stable.
//!
//! A crash is minimised with `cargo fuzz tmin`, saved to `fuzz/regressions/T/`, and fails
//! the campaign.

use crate::cmd::{self, Steps};
use crate::toolchain::{self, Failure, Skipped};
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A campaign's length per target unless `--time` says otherwise: the length the project
/// asks of a campaign that "finds nothing".
const DEFAULT_SECONDS: u64 = 600;

/// The length of each target's smoke run in `cargo xtask ci`.
const SMOKE_SECONDS: u64 = 30;

/// libFuzzer's limit for one input. Every harness runs an input in milliseconds, so an
/// input this slow is a hang worth a regression file (libFuzzer's default is 20 minutes).
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// The cargo feature that links libFuzzer into the target binaries.
const FEATURE: &str = "libfuzzer";

/// `cargo xtask fuzz [TARGET] [--time SECONDS] [--jobs N]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut only: Option<&str> = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut jobs: u32 = 1;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |flag: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{flag} needs a number"))?;
            match value.parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{flag} needs a positive number, got `{value}`")),
            }
        };
        match arg.as_str() {
            "--time" => seconds = number("--time")?,
            "--jobs" => {
                jobs = u32::try_from(number("--jobs")?).map_err(|_| "--jobs is too large")?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            target if only.is_none() => only = Some(target),
            extra => return Err(format!("one target at most, got a second: `{extra}`")),
        }
    }
    let mut targets = targets()?;
    if let Some(target) = only {
        if !targets.iter().any(|t| t == target) {
            return Err(format!(
                "no fuzz target `{target}`; the targets are {targets:?}"
            ));
        }
        targets = vec![target.to_string()];
    }
    if targets.is_empty() {
        return Err("fuzz/fuzz_targets/ holds no target yet".into());
    }
    toolchain::ensure_cargo_fuzz().map_err(Failure::into_message)?;
    let mut steps = Steps::default();
    add_steps(&mut steps, &targets, seconds, jobs);
    steps.finish("fuzz")
}

/// The fuzz smoke runs of `cargo xtask ci`: every target for [`SMOKE_SECONDS`] on one
/// core, or a loud skip when cargo-fuzz cannot be installed or no target exists.
pub(crate) fn ci_steps(steps: &mut Steps, skipped: &mut Skipped) {
    let targets = match targets() {
        Ok(targets) if targets.is_empty() => {
            skipped.add("fuzz smoke runs", "fuzz/fuzz_targets/ holds no target yet");
            return;
        }
        Ok(targets) => targets,
        Err(message) => return steps.step("fuzz smoke runs", || Err(message)),
    };
    match toolchain::ensure_cargo_fuzz() {
        Ok(()) => add_steps(steps, &targets, SMOKE_SECONDS, 1),
        Err(Failure::Unavailable(why)) => skipped.add("fuzz smoke runs", &why),
        Err(Failure::Failed(message)) => steps.step("fuzz smoke runs", || Err(message)),
    }
}

/// The targets: the stems of `fuzz/fuzz_targets/*.rs`, sorted.
fn targets() -> Result<Vec<String>, String> {
    let dir = cmd::root().join("fuzz").join("fuzz_targets");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot list {}: {error}", dir.display())),
    };
    let mut targets: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    Ok(targets)
}

/// One step building every target (timed on its own), then one campaign step per target.
fn add_steps(steps: &mut Steps, targets: &[String], seconds: u64, jobs: u32) {
    steps.step(
        "fuzz targets build (nightly, ASan, debug assertions)",
        || {
            cmd::run(toolchain::nightly_cargo().args([
                "fuzz",
                "build",
                "--features",
                FEATURE,
                "-a",
            ]))
        },
    );
    for target in targets {
        steps.step(&format!("fuzz {target} for {seconds} s"), || {
            campaign(target, seconds, jobs)
        });
    }
}

/// The directories of one target, relative to the workspace root (commands run there).
struct Dirs {
    work: PathBuf,
    seeds: PathBuf,
    regressions: PathBuf,
    artifacts: PathBuf,
}

impl Dirs {
    fn of(target: &str) -> Dirs {
        let fuzz = Path::new("fuzz");
        Dirs {
            work: fuzz.join("corpus").join(target).join(".work"),
            seeds: fuzz.join("corpus").join(target),
            regressions: fuzz.join("regressions").join(target),
            artifacts: fuzz.join("artifacts").join(target),
        }
    }
}

fn campaign(target: &str, seconds: u64, jobs: u32) -> Result<(), String> {
    let root = cmd::root();
    let dirs = Dirs::of(target);
    fs::create_dir_all(root.join(&dirs.work))
        .map_err(|e| format!("cannot create {}: {e}", dirs.work.display()))?;
    let before = files_in(&root.join(&dirs.artifacts));

    let mut command = toolchain::nightly_cargo();
    command.args(["fuzz", "run", "--features", FEATURE, "-a"]);
    if jobs > 1 {
        command.args(["--jobs", &jobs.to_string()]);
    }
    // libFuzzer writes what it learns into the first directory only.
    command.arg(target).arg(&dirs.work).arg(&dirs.seeds);
    if root.join(&dirs.regressions).is_dir() {
        command.arg(&dirs.regressions);
    }
    command.args([
        "--".to_string(),
        format!("-max_total_time={seconds}"),
        format!("-timeout={INPUT_TIMEOUT_SECONDS}"),
        "-print_final_stats=1".to_string(),
    ]);
    let (succeeded, executions) = run_counting(&mut command)?;
    let executions = executions.map_or("an unknown number of".to_string(), |n| n.to_string());
    if succeeded {
        println!("fuzz {target}: {executions} executions in {seconds} s, no failure");
        return Ok(());
    }

    let found: Vec<PathBuf> = files_in(&root.join(&dirs.artifacts))
        .difference(&before)
        .cloned()
        .collect();
    if found.is_empty() {
        return Err(format!(
            "fuzzing {target} failed without leaving a failing input (see the output above)"
        ));
    }
    let mut saved = Vec::new();
    for artifact in &found {
        saved.push(save_regression(target, artifact, &dirs)?);
    }
    let saved: Vec<String> = saved.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "{target} failed after {executions} executions; minimised input(s) saved as \
         regressions:\n  {}\nreproduce with `cargo test -p kalloc-fuzz --test replay` (stable) \
         or `cargo +nightly fuzz run --features {FEATURE} -a {target} FILE`; commit the file \
         with the fix",
        saved.join("\n  ")
    ))
}

/// Runs the campaign, echoing libFuzzer's output while picking out how many inputs it ran.
/// Returns whether it succeeded and the execution count, if libFuzzer printed one.
fn run_counting(command: &mut std::process::Command) -> Result<(bool, Option<u64>), String> {
    println!("$ {command:?}");
    let mut child = command
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start cargo fuzz: {e}"))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut executions = None;
    let mut echo = std::io::stderr().lock();
    for line in BufReader::new(stderr).lines() {
        let line = line.map_err(|e| format!("cannot read cargo fuzz's output: {e}"))?;
        let _ = writeln!(echo, "{line}");
        if let Some(n) = executions_in(&line) {
            executions = Some(n);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for cargo fuzz: {e}"))?;
    Ok((status.success(), executions))
}

/// The execution count in one line of libFuzzer output: the final statistics
/// (`stat::number_of_executed_units: N`) or a progress line (`#N ...`, `#N: ...` when
/// forking), whichever comes last.
fn executions_in(line: &str) -> Option<u64> {
    if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
        return rest.trim().parse().ok();
    }
    let rest = line.strip_prefix('#')?;
    let digits: &str = &rest[..rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())];
    digits.parse().ok()
}

/// Minimises `artifact` (keeping the original when libFuzzer cannot shrink it) and copies
/// it to `fuzz/regressions/TARGET/` under the artifact's name.
fn save_regression(target: &str, artifact: &Path, dirs: &Dirs) -> Result<PathBuf, String> {
    let root = cmd::root();
    let before = files_in(&root.join(&dirs.artifacts));
    let minimised = cmd::run(
        toolchain::nightly_cargo()
            .args(["fuzz", "tmin", "--features", FEATURE, "-a", target])
            .arg(artifact)
            .args(["--", &format!("-timeout={INPUT_TIMEOUT_SECONDS}")]),
    )
    .ok()
    .and_then(|()| {
        files_in(&root.join(&dirs.artifacts))
            .difference(&before)
            .max_by_key(|path| fs::metadata(path).and_then(|m| m.modified()).ok())
            .cloned()
    });
    let source = match minimised {
        Some(path) => path,
        None => {
            println!(
                "(libFuzzer could not minimise {}; saving it as it is)",
                artifact.display()
            );
            artifact.to_path_buf()
        }
    };
    let name = artifact.file_name().ok_or("artifact without a file name")?;
    let dest = dirs.regressions.join(name);
    fs::create_dir_all(root.join(&dirs.regressions))
        .map_err(|e| format!("cannot create {}: {e}", dirs.regressions.display()))?;
    fs::copy(&source, root.join(&dest)).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            source.display(),
            dest.display()
        )
    })?;
    Ok(dest)
}

/// The files in `dir` (none when it does not exist), as paths under it.
fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::executions_in;

    #[test]
    fn reads_execution_counts_from_libfuzzer_output() {
        assert_eq!(
            executions_in("stat::number_of_executed_units: 123456"),
            Some(123456)
        );
        assert_eq!(
            executions_in("#2048\tpulse  cov: 512 ft: 900 corp: 40/2Kb exec/s: 1024 rss: 60Mb"),
            Some(2048)
        );
        assert_eq!(
            executions_in("#81920: cov: 1357 ft: 3860 corp: 444 exec/s: 3500 time: 31s"),
            Some(81920)
        );
        assert_eq!(executions_in("INFO: Seed: 1234"), None);
        assert_eq!(executions_in("#\tno number"), None);
    }
}
