//! Reading criterion's results: every `new/benchmark.json` + `new/estimates.json` pair under
//! `target/criterion`, turned into one row per benchmark.

use super::json::{self, Json};
use std::fs;
use std::path::Path;

/// One benchmark's result as criterion recorded it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measurement {
    /// The criterion group: one job with its peers.
    pub(crate) group: String,
    /// The allocator measured (criterion's function id).
    pub(crate) allocator: String,
    /// The case within the job (criterion's parameter), e.g. `4k live`.
    pub(crate) case: String,
    /// Median time of one iteration, in nanoseconds (criterion's median point estimate).
    pub(crate) median_ns: f64,
    /// Operations per iteration, from the benchmark's `Throughput::Elements`.
    pub(crate) ops: f64,
}

impl Measurement {
    /// Median nanoseconds per operation.
    pub(crate) fn ns_per_op(&self) -> f64 {
        self.median_ns / self.ops
    }

    /// Whether this row measures one of ours (allocator ids start with `kalloc`).
    pub(crate) fn is_kalloc(&self) -> bool {
        self.allocator.starts_with("kalloc")
    }
}

/// All measurements under `criterion_dir`, sorted by group, case, then allocator.
pub(crate) fn collect(criterion_dir: &Path) -> Result<Vec<Measurement>, String> {
    let mut found = Vec::new();
    walk(criterion_dir, &mut found)?;
    found.sort_by(|a, b| (&a.group, &a.case, &a.allocator).cmp(&(&b.group, &b.case, &b.allocator)));
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<Measurement>) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "new") {
                if let Some(measurement) = read(&path)? {
                    found.push(measurement);
                }
            } else if path
                .file_name()
                .is_some_and(|name| name != "base" && name != "change" && name != "report")
            {
                walk(&path, found)?;
            }
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Json, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read(new_dir: &Path) -> Result<Option<Measurement>, String> {
    let (bench_path, estimates_path) = (
        new_dir.join("benchmark.json"),
        new_dir.join("estimates.json"),
    );
    if !bench_path.is_file() || !estimates_path.is_file() {
        return Ok(None);
    }
    let bench = read_json(&bench_path)?;
    let estimates = read_json(&estimates_path)?;
    let text = |key: &str| bench.get(key).and_then(Json::as_str).map(str::to_owned);
    let group = text("group_id").ok_or_else(|| format!("{}: no group_id", bench_path.display()))?;
    let allocator = text("function_id").unwrap_or_else(|| group.clone());
    let case = text("value_str").unwrap_or_default();
    let median_ns = estimates
        .at(&["median", "point_estimate"])
        .and_then(Json::as_f64)
        .ok_or_else(|| format!("{}: no median", estimates_path.display()))?;
    let ops = bench
        .at(&["throughput", "Elements"])
        .and_then(Json::as_f64)
        .unwrap_or(1.0)
        .max(1.0);
    Ok(Some(Measurement {
        group,
        allocator,
        case,
        median_ns,
        ops,
    }))
}
