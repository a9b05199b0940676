//! What `make bench-python` writes and the docs show: the side-by-side table, the
//! command lines, the run's provenance line, and the chart.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use super::{served_rps, CompareResults, PairRow};
use crate::chart::{
    self, esc, legend, rps, topology_color, Entry, LogAxis, Scale, Swatch, ARTICLE, GRID, PALE,
    TEXT,
};
use crate::results::{fmt_count, fmt_ms, fmt_rps, Row};

/// Which side of a pair a bar is: both are drawn in the colour of the Rust row's
/// topology (one colour per topology), Rust's bar solid and Python's outlined.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Rust,
    Python,
}

fn side<T>(row: &Row, value: impl Fn(&Row) -> T, show: impl Fn(T) -> String) -> String {
    match row.outcome.why() {
        Some((word, _)) => word.to_owned(),
        None => show(value(row)),
    }
}

fn both<T>(
    pair: &PairRow,
    value: impl Fn(&Row) -> T + Copy,
    show: impl Fn(T) -> String + Copy,
) -> String {
    format!(
        "{} / {}",
        side(&pair.rust, value, show),
        side(&pair.python, value, show)
    )
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(String::new, |value| {
        if value >= 10.0 {
            format!("{value:.0}x")
        } else {
            format!("{value:.2}x")
        }
    })
}

fn load(row: &Row) -> String {
    format!(
        "-n {} -c {} delay={}",
        row.load.requests, row.load.concurrency, row.load.delay_s
    )
}

fn ceiling(pair: &PairRow) -> String {
    let (rust, python) = (pair.rust.ceiling_rps, pair.python.ceiling_rps);
    if (rust - python).abs() < 1e-9 {
        fmt_rps(rust)
    } else {
        format!("{} / {}", fmt_rps(rust), fmt_rps(python))
    }
}

/// The article's figure and its share of ab's ceiling, where this run's load is the
/// article's.
fn article(pair: &PairRow) -> String {
    let row = &pair.rust;
    match (row.article_rps, row.article_efficiency) {
        (Some(_), Some(efficiency)) => format!(
            "{} ({:.0}% of ab's {})",
            row.article_text,
            efficiency * 100.0,
            fmt_rps(row.ab_ceiling_rps)
        ),
        (Some(_), None) => format!("{} (other load)", row.article_text),
        _ => row.article_text.clone(),
    }
}

/// The side-by-side table (stdout, `compare.md`, the `compare-table` block), with a note
/// per row that did not run.
pub fn markdown_table(results: &CompareResults) -> String {
    let mut out = String::from(
        "| pair | load | ceiling | 2xx/s Rust / Python | Rust/Python | of ceiling Rust / Python | CPU ms/req Rust / Python | Python/Rust | p50 ms Rust / Python | p99 ms Rust / Python | p99 Python/Rust | peak RSS MB Rust / Python | RSS Python/Rust | threads Rust / Python | SYN resent Rust / Python | the article (2020, Python, ab) |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
    );
    let mut notes = Vec::new();
    for pair in &results.pairs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            pair.id,
            load(&pair.rust),
            ceiling(pair),
            both(pair, served_rps, fmt_rps),
            ratio(pair.ratios.throughput_rust_over_python),
            both(
                pair,
                |row| row.efficiency,
                |eff| format!("{:.0}%", eff * 100.0)
            ),
            both(pair, |row| row.cpu_ms_per_request, |ms| format!("{ms:.2}")),
            ratio(pair.ratios.cpu_python_over_rust),
            both(pair, |row| row.latency_ms.p50, fmt_ms),
            both(pair, |row| row.latency_ms.p99, fmt_ms),
            ratio(pair.ratios.p99_python_over_rust),
            both(pair, |row| row.peak_rss_mb, |mb| format!("{mb:.1}")),
            ratio(pair.ratios.rss_python_over_rust),
            both(pair, |row| row.peak_threads, |threads| threads.to_string()),
            both(pair, |row| row.syn_retransmits, fmt_count),
            article(pair),
        );
        for (name, row) in [("Rust", &pair.rust), ("Python", &pair.python)] {
            let errors = row.failed + row.non_2xx;
            if row.outcome.skipped().is_some()
                && row.outcome.skipped() == results.python.skipped.as_deref()
            {
                // Said once, below.
            } else if let Some((word, reason)) = row.outcome.why() {
                notes.push(format!("- {} {name}: {word}: {reason}", pair.id));
            } else if errors > 0 {
                notes.push(format!(
                    "- {} {name}: {} failed and {} non-2xx of {} requests",
                    pair.id, row.failed, row.non_2xx, row.load.requests
                ));
            }
        }
    }
    if let Some(reason) = &results.python.skipped {
        notes.insert(0, format!("- every Python row: skipped: {reason}"));
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes.join("\n").replace('|', "/"));
        out.push('\n');
    }
    out
}

/// Which Rust row and which Python command each pair runs (the `compare-commands` block).
pub fn commands_table(results: &CompareResults) -> String {
    let mut out = String::from(
        "| pair | Rust: scenario, topology | Python: server | its command line (in `python/`, from the venv) |\n\
         |---|---|---|---|\n",
    );
    for pair in &results.pairs {
        let _ = writeln!(
            out,
            "| {} | {}: {} | {} | `{}` |",
            pair.id,
            pair.rust_scenario,
            pair.rust.topology,
            pair.python_server,
            pair.python_command
        );
    }
    out
}

/// One line: when, on what, with which Python (the `compare-run` block).
pub fn run_line(results: &CompareResults) -> String {
    let python = match (&results.python.skipped, &results.python.version) {
        (Some(reason), _) => format!("the Python rows were skipped: {reason}"),
        (None, version) => format!(
            "{}, {} packages pinned in `{}`",
            version.as_deref().unwrap_or("Python"),
            results.python.packages.len(),
            results.python.lock_file
        ),
    };
    results.provenance_with("make bench-python", &python)
}

/// `compare.md`: the provenance, the table, the command lines, the chart.
pub fn markdown_document(results: &CompareResults, chart_file: &str) -> String {
    format!(
        "# Rust beside Python, one run\n\n{}\n{}\n![Rust and Python against the ceiling]({chart_file})\n\n\
         ## What ran\n\n{}\n\
         - **ceiling**: Little's law for the load loadgen sends, min(c, what the server holds in \
         flight) / delay; two figures where the Python server caps lower than the Rust one.\n\
         - **2xx/s**: responses served right per second; **of ceiling**: that over the ceiling.\n\
         - **CPU ms/req**, **peak RSS**, **threads**: the app's whole process tree (workers \
         included; nginx, PostgreSQL and the slow API not), from /proc during the load.\n\
         - **SYN resent**: connection attempts the kernel dropped and the clients sent again.\n\
         - **the article**: its Python figure from 2020, on another machine, against what ab \
         could reach at best with the same flags.\n",
        run_line(results),
        markdown_table(results),
        commands_table(results),
    )
}

/// The chart: per pair, Rust's bar and Python's, each on its ceiling (log scale).
pub fn chart(results: &CompareResults) -> String {
    let pairs = &results.pairs;
    let width = 1180.0;
    let top = 120.0;
    let row_h = 54.0;
    let gap = 26.0;
    let has_extra = pairs.iter().any(|pair| pair.extra);
    let height = top + row_h * pairs.len() as f64 + if has_extra { gap } else { 0.0 } + 70.0;
    let max = pairs
        .iter()
        .flat_map(|pair| [pair.rust.ceiling_rps, pair.python.ceiling_rps])
        .fold(1.0f64, f64::max);
    let axis = LogAxis::requests_per_second(max, 330.0, 1010.0);
    let mut svg = chart::document(width, height, 13);
    chart::title(
        &mut svg,
        20.0,
        30.0,
        "Rust beside Python, one run: 2xx responses per second against the ceiling",
    );
    chart::note(&mut svg, 20.0, 52.0, "Log scale. Same load, same upstream (the Rust slow_api), same machine. Ceiling = requests the server holds in flight / delay. Bars in the colour of the pair's topology.");
    // Solid against outlined is what the swatches say; the colour is each pair's.
    let swatch_color = TEXT;
    legend(
        &mut svg,
        20.0,
        78.0,
        width - 20.0,
        &[
            Entry::new(Swatch::Ceiling, "ceiling (Little's law)"),
            Entry::new(Swatch::Bar(swatch_color), "Rust (solid)"),
            Entry::new(
                Swatch::Hollow(swatch_color),
                "Python, the article's server command (outlined)",
            ),
        ],
    );
    let _ = write!(
        svg,
        r#"<text x="1130" y="{hy}" font-weight="bold" fill="{TEXT}" text-anchor="middle">Rust/Python</text>
"#,
        hy = top - 6.0,
    );
    axis.draw_below(
        &mut svg,
        top,
        height - 56.0,
        "2xx responses per second (log scale)",
    );
    let mut y = top;
    let mut extra_started = false;
    for pair in pairs {
        if pair.extra && !extra_started {
            extra_started = true;
            chart::aside(&mut svg, 20.0, y + 17.0, "Beyond the article: 1000 and 3000 clients at once (-n 5 x c), and the slow APIs themselves");
            y += gap;
        }
        let mid = y + row_h / 2.0;
        let color = topology_color(&pair.rust_scenario);
        let _ = write!(
            svg,
            r#"<text x="20" y="{t1}" font-weight="bold" fill="{TEXT}">{id}</text>
<text x="20" y="{t2}" font-size="11" fill="{color}">{rust}</text>
<text x="20" y="{t3}" font-size="11" fill="{color}">{python}</text>
<text x="1130" y="{cy}" font-weight="bold" fill="{TEXT}" text-anchor="middle">{ratio}</text>
"#,
            t1 = mid - 12.0,
            t2 = mid + 2.0,
            t3 = mid + 15.0,
            cy = mid + 4.0,
            id = esc(&format!("{} (-c {})", pair.id, pair.rust.load.concurrency)),
            rust = esc(&format!("Rust: {}", pair.rust.topology)),
            python = esc(&format!("Python: {}", pair.python_server)),
            ratio = esc(&ratio(pair.ratios.throughput_rust_over_python)),
        );
        draw_bar(&mut svg, &pair.rust, &axis, mid - 19.0, (color, Side::Rust));
        draw_bar(
            &mut svg,
            &pair.python,
            &axis,
            mid + 2.0,
            (color, Side::Python),
        );
        y += row_h;
    }
    chart::end(svg)
}

/// One side: its ceiling (pale) and what it served (solid for Rust, outlined for
/// Python), 16 px tall from `y`.
fn draw_bar(svg: &mut String, row: &Row, axis: &LogAxis, y: f64, (color, side): (&str, Side)) {
    let x0 = axis.p0;
    let xc = axis.map(row.ceiling_rps);
    let _ = write!(
        svg,
        r#"<rect x="{x0}" y="{y:.1}" width="{w:.1}" height="16" fill="{PALE}" stroke="{GRID}"/>
"#,
        w = (xc - x0).max(1.0),
    );
    if let Some((word, reason)) = row.outcome.why() {
        let reason: String = reason.chars().take(100).collect();
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{ty:.1}" font-size="11" font-style="italic" fill="{ARTICLE}">{word}: {reason}</text>
"#,
            x = x0 + 4.0,
            ty = y + 12.0,
            reason = esc(&reason),
        );
        return;
    }
    let served = served_rps(row);
    let xm = axis.map(served.max(axis.lo));
    let label = format!(
        "{} of {} ({:.0}%)",
        rps(served),
        rps(row.ceiling_rps),
        row.efficiency * 100.0
    );
    let _ = write!(
        svg,
        r#"<rect x="{x0}" y="{by:.1}" width="{w:.1}" height="10" {paint}/>
<text x="{tx:.1}" y="{ty:.1}" font-size="11" font-weight="bold" fill="{color}">{label}</text>
"#,
        by = y + 3.0,
        w = (xm - x0).max(1.0),
        paint = match side {
            Side::Rust => format!(r#"fill="{color}""#),
            Side::Python => format!(r#"fill="white" stroke="{color}" stroke-width="1.5""#),
        },
        tx = xm.max(xc) + 4.0,
        ty = y + 12.0,
        label = esc(&label),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed() -> CompareResults {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/compare.json");
        crate::results::read_json(&file, "the committed compare result").expect("compare.json")
    }

    #[test]
    fn ratios_read_as_multiples() {
        assert_eq!(ratio(None), "");
        assert_eq!(ratio(Some(1.234)), "1.23x");
        assert_eq!(ratio(Some(12.3)), "12x");
    }

    #[test]
    fn every_pair_has_a_table_line_and_a_bar_pair() {
        let results = committed();
        let table = markdown_table(&results);
        let svg = chart(&results);
        for pair in &results.pairs {
            assert!(table.contains(&format!("| {} ", pair.id)), "{}", pair.id);
            assert!(svg.contains(&esc(&pair.id)), "{}", pair.id);
        }
        // Two bars per pair that ran (Rust, then Python), each a rect on the log axis.
        assert!(svg.matches("<rect").count() >= 2 * results.pairs.len());
    }

    #[test]
    fn a_bar_ends_where_its_rate_lands_rust_solid_python_outlined() {
        let mut results = committed();
        results.pairs.retain(|pair| pair.rust.ceiling_rps == 200.0);
        results.pairs.truncate(1);
        let pair = &results.pairs[0];
        // 0.5 to 500 (the first 1-2-5 step over 1.6 x 200) on 330..1010 px.
        let at = |rps: f64| 330.0 + 680.0 * (rps / 0.5).log10() / 1000f64.log10();
        let svg = chart(&results);
        let bars: Vec<&str> = svg
            .lines()
            .filter(|line| line.starts_with(r#"<rect x="330""#) && line.contains(r#"height="10""#))
            .collect();
        assert_eq!(bars.len(), 2, "{svg}");
        let width = |bar: &str| -> f64 {
            bar.split("width=\"")
                .nth(1)
                .and_then(|w| w.split('"').next())
                .and_then(|w| w.parse().ok())
                .expect("width")
        };
        let rust = at(served_rps(&pair.rust)) - 330.0;
        assert!(
            (width(bars[0]) - rust).abs() < 0.06,
            "{} vs {rust}",
            bars[0]
        );
        let python = at(served_rps(&pair.python)) - 330.0;
        assert!(
            (width(bars[1]) - python).abs() < 0.06,
            "{} vs {python}",
            bars[1]
        );
        let color = topology_color(&pair.rust_scenario);
        assert!(bars[0].contains(&format!(r#"fill="{color}""#)));
        assert!(bars[1].contains(&format!(r#"fill="white" stroke="{color}""#)));
    }
}
