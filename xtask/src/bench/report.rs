//! Turning measurements into `docs/benchmarks.md`: a table and an SVG chart per job.

use super::results::Measurement;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Measurements of one criterion group, by case, in first-seen order.
pub(crate) struct Job<'a> {
    pub(crate) name: &'a str,
    pub(crate) cases: Vec<(&'a str, Vec<&'a Measurement>)>,
}

/// Groups the (sorted) measurements into jobs.
pub(crate) fn jobs(measurements: &[Measurement]) -> Vec<Job<'_>> {
    let mut by_group: BTreeMap<&str, BTreeMap<&str, Vec<&Measurement>>> = BTreeMap::new();
    for m in measurements {
        by_group
            .entry(&m.group)
            .or_default()
            .entry(&m.case)
            .or_default()
            .push(m);
    }
    by_group
        .into_iter()
        .map(|(name, cases)| {
            let mut cases: Vec<_> = cases.into_iter().collect();
            // Numeric cases (scaling) sort by value, others alphabetically.
            cases.sort_by(|a, b| match (case_number(a.0), case_number(b.0)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.0.cmp(b.0),
            });
            Job { name, cases }
        })
        .collect()
}

/// The leading number of a case label, with k/M suffixes (`4k live` is 4000).
pub(crate) fn case_number(case: &str) -> Option<f64> {
    let digits: String = case
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let value: f64 = digits.parse().ok()?;
    let scale = match case[digits.len()..].chars().next() {
        Some('k' | 'K') => 1e3,
        Some('M') => 1e6,
        _ => 1.0,
    };
    Some(value * scale)
}

/// Whether a job shows cost against a growing parameter (drawn as lines, not bars).
pub(crate) fn is_scaling(job: &Job<'_>) -> bool {
    job.name.contains("scaling")
        && job
            .cases
            .iter()
            .all(|(case, _)| case_number(case).is_some())
}

/// The fastest peer (non-kalloc) in one case.
fn best_peer<'a>(rows: &[&'a Measurement]) -> Option<&'a Measurement> {
    rows.iter()
        .copied()
        .filter(|m| !m.is_kalloc())
        .min_by(|a, b| a.ns_per_op().total_cmp(&b.ns_per_op()))
}

fn format_ns(ns: f64) -> String {
    match ns {
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n if n >= 10.0 => format!("{n:.1} ns"),
        n => format!("{n:.2} ns"),
    }
}

fn ratio_text(ours: f64, peer: f64) -> String {
    let ratio = ours / peer;
    if ratio <= 1.0 {
        format!("{:.2}x faster", 1.0 / ratio)
    } else {
        format!("{ratio:.2}x slower")
    }
}

/// The markdown table of one job.
pub(crate) fn table(job: &Job<'_>) -> String {
    let mut out =
        String::from("| case | allocator | median per op | vs best peer |\n|---|---|---:|---:|\n");
    for (case, rows) in &job.cases {
        let peer = best_peer(rows);
        let mut rows = rows.clone();
        rows.sort_by(|a, b| a.ns_per_op().total_cmp(&b.ns_per_op()));
        for m in rows {
            let versus = match peer {
                Some(peer) if std::ptr::eq(peer, m) => "best peer".to_string(),
                Some(peer) => ratio_text(m.ns_per_op(), peer.ns_per_op()),
                None => "-".to_string(),
            };
            let name = if m.is_kalloc() {
                format!("**{}**", m.allocator)
            } else {
                m.allocator.clone()
            };
            let _ = writeln!(
                out,
                "| {case} | {name} | {} | {versus} |",
                format_ns(m.ns_per_op())
            );
        }
    }
    out
}

/// For a scaling job, each allocator's cost at the smallest and the largest case it ran,
/// and the factor between them: how far from flat its line is.
pub(crate) fn growth(job: &Job<'_>) -> String {
    let mut out = String::from(
        "| allocator | smallest case | largest case | growth |\n|---|---:|---:|---:|\n",
    );
    for name in allocators(job) {
        let mut points = job.cases.iter().filter_map(|(case, rows)| {
            rows.iter()
                .find(|m| m.allocator == name)
                .map(|m| (*case, m.ns_per_op()))
        });
        let Some(first) = points.next() else {
            continue;
        };
        let last = points.next_back().unwrap_or(first);
        let name = if name.starts_with("kalloc") {
            format!("**{name}**")
        } else {
            name.to_string()
        };
        let _ = writeln!(
            out,
            "| {name} | {} at {} | {} at {} | {:.2}x |",
            format_ns(first.1),
            first.0,
            format_ns(last.1),
            last.0,
            last.1 / first.1
        );
    }
    out
}

const PALETTE: &[&str] = &[
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
];

fn color(allocator: &str, allocators: &[&str]) -> &'static str {
    let index = allocators.iter().position(|a| *a == allocator).unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

fn allocators<'a>(job: &Job<'a>) -> Vec<&'a str> {
    let mut names: Vec<&str> = job
        .cases
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|m| m.allocator.as_str()))
        .collect();
    names.sort_by_key(|name| (!name.starts_with("kalloc"), *name));
    names.dedup();
    names
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart (log scale when values span more than 20x): one bar per
/// allocator and case.
pub(crate) fn bar_chart(job: &Job<'_>) -> String {
    let names = allocators(job);
    let values: Vec<f64> = job
        .cases
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|m| m.ns_per_op()))
        .collect();
    let (low, high) = values
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let log = high / low.max(1e-9) > 20.0;
    let (left, width, bar, gap) = (240.0, 460.0, 16.0, 10.0);
    let rows: usize = job.cases.iter().map(|(_, rows)| rows.len()).sum();
    let height = 40.0 + rows as f64 * (bar + 4.0) + job.cases.len() as f64 * gap + 20.0;
    let scale = |v: f64| {
        if log {
            let (lo, hi) = ((low / 2.0).log10(), high.log10());
            (v.log10() - lo) / (hi - lo) * width
        } else {
            v / high * width
        }
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"8\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{} — median time per operation{} (shorter is better)</text>\n",
        left + width + 110.0,
        escape(job.name),
        if log { ", log scale" } else { "" }
    );
    let mut y = 34.0;
    for (case, rows) in &job.cases {
        let mut rows = rows.clone();
        rows.sort_by(|a, b| a.ns_per_op().total_cmp(&b.ns_per_op()));
        for m in rows {
            let w = scale(m.ns_per_op()).max(1.0);
            let label = if case.is_empty() {
                m.allocator.clone()
            } else {
                format!("{case} · {}", m.allocator)
            };
            let weight = if m.is_kalloc() {
                " font-weight=\"bold\""
            } else {
                ""
            };
            let _ = writeln!(
                svg,
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\"{weight}>{}</text>\
                 <rect x=\"{left}\" y=\"{y:.0}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\">{}</text>",
                left - 6.0,
                y + 12.0,
                escape(&label),
                color(&m.allocator, &names),
                left + w + 4.0,
                y + 12.0,
                escape(&format_ns(m.ns_per_op()))
            );
            y += bar + 4.0;
        }
        y += gap;
    }
    svg.push_str("</svg>\n");
    svg
}

/// A line chart of cost per operation against the case value (log-log), one line per
/// allocator.
pub(crate) fn line_chart(job: &Job<'_>) -> String {
    let names = allocators(job);
    let points: Vec<(f64, f64)> = job
        .cases
        .iter()
        .flat_map(|(case, rows)| {
            rows.iter()
                .map(move |m| (case_number(case).unwrap_or(1.0), m.ns_per_op()))
        })
        .collect();
    let (x_lo, x_hi) = points
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let (y_lo, y_hi) = points
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (left, top, width, height) = (70.0, 30.0, 520.0, 260.0);
    let span = |lo: f64, hi: f64| {
        if hi > lo {
            (lo.log10(), hi.log10())
        } else {
            (lo.log10() - 0.5, lo.log10() + 0.5)
        }
    };
    let ((xl, xh), (yl, yh)) = (span(x_lo, x_hi), span(y_lo / 1.5, y_hi * 1.5));
    let px = |x: f64| left + (x.log10() - xl) / (xh - xl) * width;
    let py = |y: f64| top + height - (y.log10() - yl) / (yh - yl) * height;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"8\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{} — time per operation vs live allocations (log-log, lower is better)</text>\n\
         <line x1=\"{left}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"black\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{:.0}\" stroke=\"black\"/>\n",
        left + width + 180.0,
        top + height + 40.0,
        escape(job.name),
        top + height,
        left + width,
        top + height,
        top + height
    );
    for (case, _) in &job.cases {
        let x = px(case_number(case).unwrap_or(1.0));
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>",
            top + height + 16.0,
            escape(case)
        );
    }
    for exponent in (yl.ceil() as i32)..=(yh.floor() as i32) {
        let value = 10f64.powi(exponent);
        let _ = writeln!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            py(value) + 4.0,
            escape(&format_ns(value))
        );
    }
    for (index, name) in names.iter().enumerate() {
        let mut line: Vec<(f64, f64)> = job
            .cases
            .iter()
            .filter_map(|(case, rows)| {
                rows.iter()
                    .find(|m| m.allocator == *name)
                    .map(|m| (case_number(case).unwrap_or(1.0), m.ns_per_op()))
            })
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path: Vec<String> = line
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let stroke = color(name, &names);
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for (x, y) in &line {
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{stroke}\"/>",
                px(*x),
                py(*y)
            );
        }
        let ly = top + 10.0 + index as f64 * 16.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"12\" height=\"4\" fill=\"{stroke}\"/><text x=\"{:.0}\" y=\"{:.0}\">{}</text>",
            left + width + 16.0,
            ly - 4.0,
            left + width + 32.0,
            ly + 1.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, allocator: &str, case: &str, median_ns: f64) -> Measurement {
        Measurement {
            group: group.into(),
            allocator: allocator.into(),
            case: case.into(),
            median_ns,
            ops: 10.0,
        }
    }

    #[test]
    fn ratios_are_against_the_fastest_peer_per_case() {
        let data = vec![
            m("heaps", "kalloc-tlsf", "4k live", 50.0),
            m("heaps", "rlsf", "4k live", 100.0),
            m("heaps", "talc", "4k live", 80.0),
            m("heaps", "kalloc-tlsf", "32k live", 120.0),
            m("heaps", "talc", "32k live", 100.0),
        ];
        let jobs = jobs(&data);
        assert_eq!(jobs.len(), 1);
        let table = table(&jobs[0]);
        assert!(
            table.contains("| 4k live | **kalloc-tlsf** | 5.00 ns | 1.60x faster |"),
            "{table}"
        );
        assert!(
            table.contains("| 4k live | talc | 8.00 ns | best peer |"),
            "{table}"
        );
        assert!(
            table.contains("| 4k live | rlsf | 10.0 ns | 1.25x slower |"),
            "{table}"
        );
        assert!(
            table.contains("| 32k live | **kalloc-tlsf** | 12.0 ns | 1.20x slower |"),
            "{table}"
        );
    }

    #[test]
    fn scaling_jobs_sort_numerically_and_draw_lines() {
        let data = vec![
            m("vmem scaling", "kalloc-vmem", "256k", 10.0),
            m("vmem scaling", "kalloc-vmem", "1k", 10.0),
            m("vmem scaling", "kalloc-vmem", "16k", 10.0),
            m("vmem scaling", "vmem", "1M", 1000.0),
        ];
        let jobs = jobs(&data);
        let cases: Vec<&str> = jobs[0].cases.iter().map(|(case, _)| *case).collect();
        assert_eq!(cases, ["1k", "16k", "256k", "1M"]);
        assert!(is_scaling(&jobs[0]));
        let svg = line_chart(&jobs[0]);
        assert!(
            svg.starts_with("<svg")
                && svg.contains("<polyline")
                && svg.trim_end().ends_with("</svg>")
        );
        let growth = growth(&jobs[0]);
        assert!(
            growth.contains("| **kalloc-vmem** | 1.00 ns at 1k | 1.00 ns at 256k | 1.00x |"),
            "{growth}"
        );
        assert!(
            growth.contains("| vmem | 100.0 ns at 1M | 100.0 ns at 1M | 1.00x |"),
            "{growth}"
        );
        assert_eq!(case_number("4k live"), Some(4000.0));
        assert_eq!(case_number("live"), None);
    }

    #[test]
    fn bar_charts_use_a_log_scale_for_wide_ranges() {
        let data = vec![
            m("heaps", "kalloc-tlsf", "", 10.0),
            m("heaps", "linked_list", "", 10_000.0),
        ];
        let jobs = jobs(&data);
        let svg = bar_chart(&jobs[0]);
        assert!(svg.contains("log scale"));
        assert_eq!(svg.matches("<rect x=").count(), 2);
    }
}
