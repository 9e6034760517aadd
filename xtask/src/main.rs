//! `cargo xtask <task>`: kalloc's development tasks as plain Rust (matklad's xtask
//! convention). Each task is one module; [`TASKS`] is the only list to extend.

mod bench;
mod ci;
mod cmd;
mod demo;
mod fuzz;
mod loom;
mod miri;
mod toolchain;

use std::process::ExitCode;

/// A named task: what `cargo xtask NAME ARGS...` runs.
struct Task {
    name: &'static str,
    usage: &'static str,
    about: &'static str,
    run: fn(&[String]) -> Result<(), String>,
}

const TASKS: &[Task] = &[
    Task {
        name: "ci",
        usage: "ci",
        about: "everything CI checks: fmt, clippy, tests, docs, bare-metal, Miri, loom, fuzz",
        run: ci::run,
    },
    Task {
        name: "test",
        usage: "test [CARGO TEST ARGS...]",
        about: "cargo test over the whole workspace",
        run: ci::test,
    },
    Task {
        name: "fuzz",
        usage: "fuzz [TARGET] [OPTIONS]",
        about: "libFuzzer campaigns, all targets: --time S (600 each), --jobs N; crashes saved",
        run: fuzz::run,
    },
    Task {
        name: "miri",
        usage: "miri [--target T] [CRATE...]",
        about: "tests under Miri (strict provenance) on x86_64 and 32-bit i686",
        run: miri::run,
    },
    Task {
        name: "loom",
        usage: "loom [CARGO TEST ARGS...]",
        about: "kalloc-sync's loom models (LOOM_MAX_PREEMPTIONS=3)",
        run: loom::run,
    },
    Task {
        name: "bench",
        usage: "bench [--quick] [--report-only] [FILTER]",
        about: "criterion benchmarks against peers -> docs/benchmarks.md with charts",
        run: bench::run,
    },
    Task {
        name: "demo",
        usage: "demo [--help | DEMO ARGS...]",
        about: "a guided tour of kalloc at work on one region of memory",
        run: demo::run,
    },
];

fn help() {
    println!("usage: cargo xtask <task> [args...]\n\ntasks:");
    for task in TASKS {
        println!("  {:<28} {}", task.usage, task.about);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        help();
        return ExitCode::FAILURE;
    };
    if matches!(name.as_str(), "-h" | "--help" | "help") {
        help();
        return ExitCode::SUCCESS;
    }
    let Some(task) = TASKS.iter().find(|task| task.name == name) else {
        eprintln!("xtask: unknown task `{name}`\n");
        help();
        return ExitCode::FAILURE;
    };
    match (task.run)(&args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {}: {message}", task.name);
            ExitCode::FAILURE
        }
    }
}
