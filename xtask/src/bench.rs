//! `cargo xtask bench [--quick] [--report-only] [FILTER]`: runs the criterion benchmarks in `benches/` and
//! the heap-efficiency report, then writes `docs/benchmarks.md` with a table of median time
//! per operation and the ratio to the best peer for every job, plus SVG charts in
//! `docs/benchmarks/`. The numbers come from criterion's own result files, so the page and
//! criterion's output agree. `--report-only` rewrites the page from the last results
//! without running criterion again.
//!
//! `--quick` is for a look in a few minutes: it builds with the `bench-quick` profile (no
//! LTO, parallel codegen), takes short criterion samples, and the scaling groups measure
//! three live counts instead of six. The full run keeps the `bench` profile and criterion's
//! defaults. Both print how long the build, the measurements and the efficiency report took.

mod json;
mod notes;
mod report;
mod results;

use crate::{cmd, toolchain};
use std::fmt::Write;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Criterion settings for `--quick`: enough samples for a stable median, a few minutes in all.
const QUICK: &[&str] = &[
    "--warm-up-time",
    "0.5",
    "--measurement-time",
    "1.5",
    "--sample-size",
    "10",
];

/// The cargo profile of a full run (the workspace's `[profile.bench]`: LTO, one codegen unit).
const FULL_PROFILE: &str = "bench";

/// The cargo profile of a `--quick` run (`[profile.bench-quick]`: the bench profile without
/// LTO and with parallel codegen, which builds several times faster).
const QUICK_PROFILE: &str = "bench-quick";

/// Set for the benchmarks in a `--quick` run (`kalloc_benches::QUICK_ENV`): groups that
/// sweep a parameter (the scaling groups) measure fewer points.
const QUICK_ENV: &str = "KALLOC_BENCH_QUICK";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    let mut report_only = false;
    let mut filter = None;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            "--report-only" => report_only = true,
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown flag `{flag}` (usage: bench [--quick] [--report-only] [FILTER])"
                ));
            }
            name => filter = Some(name.to_string()),
        }
    }
    // Criterion writes under the cargo target directory, wherever CARGO_TARGET_DIR puts it.
    let criterion_dir = toolchain::target_dir().join("criterion");
    let mut timings = Vec::new();
    if !report_only {
        run_criterion(&criterion_dir, quick, filter.as_deref(), &mut timings)?;
    }

    let started = Instant::now();
    let efficiency = efficiency_report(quick)?;
    timings.push(("efficiency report (build and run)", started.elapsed()));
    for (what, took) in &timings {
        println!("{:>8.1}s  {what}", took.as_secs_f64());
    }
    let measurements = results::collect(&criterion_dir)?;
    if measurements.is_empty() {
        return Err(format!(
            "no criterion results under {}",
            criterion_dir.display()
        ));
    }
    write_page(&measurements, efficiency.as_deref(), quick)
}

/// `cargo bench` of the criterion targets in the run's profile. `--bench *`: only the
/// criterion targets (the library's own unit tests use libtest, which rejects criterion's
/// flags).
fn cargo_bench(quick: bool) -> Command {
    let mut bench = cmd::cargo();
    bench.args([
        "bench",
        "--package",
        "kalloc-benches",
        "--bench",
        "*",
        "--profile",
        profile(quick),
    ]);
    bench
}

fn profile(quick: bool) -> &'static str {
    if quick { QUICK_PROFILE } else { FULL_PROFILE }
}

/// Builds, then runs the criterion targets (timing each part into `timings`), replacing
/// earlier results unless `filter` picks a subset.
fn run_criterion(
    criterion_dir: &std::path::Path,
    quick: bool,
    filter: Option<&str>,
    timings: &mut Vec<(&'static str, Duration)>,
) -> Result<(), String> {
    if filter.is_none() {
        // A full run replaces every result: stale groups from renamed benchmarks must not linger.
        let _ = fs::remove_dir_all(criterion_dir);
    }
    let started = Instant::now();
    cmd::run(cargo_bench(quick).arg("--no-run"))?;
    timings.push(("build of the benchmarks", started.elapsed()));

    let started = Instant::now();
    let mut bench = cargo_bench(quick);
    bench.args(["--", "--noplot"]);
    if quick {
        bench.args(QUICK).env(QUICK_ENV, "1");
    }
    if let Some(filter) = filter {
        bench.arg(filter);
    }
    cmd::run(&mut bench)?;
    timings.push(("criterion measurements", started.elapsed()));
    Ok(())
}

/// The heap-efficiency report (`benches/src/bin/efficiency.rs`, plain Rust, prints
/// markdown), when the workspace has one.
fn efficiency_report(quick: bool) -> Result<Option<String>, String> {
    if !cmd::root().join("benches/src/bin/efficiency.rs").is_file() {
        return Ok(None);
    }
    let mut command = cmd::cargo();
    // The benchmarks' profile, so the two builds share every dependency they have in common.
    command.args([
        "run",
        "--quiet",
        "--profile",
        profile(quick),
        "--package",
        "kalloc-benches",
        "--bin",
        "efficiency",
        "--",
    ]);
    if quick {
        command.arg("--quick");
    }
    println!(
        "$ cargo run --profile {} -p kalloc-benches --bin efficiency",
        profile(quick)
    );
    cmd::output(&mut command).map(Some)
}

fn slug(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn write_page(
    measurements: &[results::Measurement],
    efficiency: Option<&str>,
    quick: bool,
) -> Result<(), String> {
    let docs = cmd::root().join("docs");
    let charts = docs.join("benchmarks");
    let _ = fs::remove_dir_all(&charts);
    fs::create_dir_all(&charts).map_err(|e| format!("{}: {e}", charts.display()))?;

    let mut page = String::from("# Benchmarks\n\n");
    let _ = writeln!(
        page,
        "Generated by `cargo xtask bench{}` on {} — {}.\n",
        if quick { " --quick" } else { "" },
        today(),
        machine()
    );
    page.push_str(
        "Every job is one criterion group: kalloc and its peers replay the same deterministic \
         traces in the same run, so compare ratios, not absolute times (the machine is shared \
         and noisy). The random alloc/free workloads (block, sync, tlsf) cycle through 16 \
         distinct traces, one per iteration, so the branch predictor cannot memorise a \
         sequence (see `kalloc_benches::trace::Rotation`). \"median per op\" is criterion's \
         median time per iteration divided by the operations in one iteration; \"vs best \
         peer\" compares with the fastest non-kalloc allocator in the same case.\n\n",
    );
    if quick {
        page.push_str("This is a `--quick` run: few, short samples. Run `cargo xtask bench` for the full measurement.\n\n");
    }
    for job in report::jobs(measurements) {
        let file = format!("{}.svg", slug(job.name));
        let scaling = report::is_scaling(&job);
        let svg = if scaling {
            report::line_chart(&job)
        } else {
            report::bar_chart(&job)
        };
        fs::write(charts.join(&file), svg).map_err(|e| format!("{file}: {e}"))?;
        let _ = writeln!(page, "## {}\n", job.name);
        if let Some(note) = notes::note(job.name) {
            let _ = writeln!(page, "{note}\n");
        }
        let _ = writeln!(
            page,
            "![{}](benchmarks/{file})\n\n{}",
            job.name,
            report::table(&job)
        );
        if scaling {
            let _ = writeln!(page, "{}", report::growth(&job));
        }
    }
    if let Some(efficiency) = efficiency {
        let _ = writeln!(page, "## Heap efficiency\n\n{}", efficiency.trim());
    }
    let path = docs.join("benchmarks.md");
    fs::write(&path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `YYYY-MM-DD` (UTC) from the system clock, without a date library.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// CPU model and core count, as this machine reports them.
fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("heaps: 4k live/realloc"), "heaps--4k-live-realloc");
    }
}
