//! `cargo xtask demo`: builds and runs the demo binary (`src/bin/demo.rs`) in release mode.

use crate::cmd;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    cmd::run(
        cmd::cargo()
            .args([
                "run",
                "--quiet",
                "--release",
                "--package",
                "xtask",
                "--bin",
                "demo",
                "--",
            ])
            .args(args),
    )
}
