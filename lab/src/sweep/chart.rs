//! The sweep's chart: throughput, p99 latency, memory and threads against concurrency,
//! one line per topology, log-log, with c / delay dashed.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use super::{markdown_table, SweepPoint, SweepResults};
use crate::chart::{
    self, axis_below, axis_left, legend, topology_color, Entry, LogAxis, Plot, Scale, Swatch, MUTED,
};

/// One panel of the sweep chart: `value(point)` against concurrency, log-log.
#[allow(clippy::too_many_arguments)]
fn sweep_panel(
    svg: &mut String,
    sweep: &SweepResults,
    (x, y, w, h): (f64, f64, f64, f64),
    title: &str,
    unit: &str,
    value: impl Fn(&SweepPoint) -> Option<f64>,
    ideal: Option<&dyn Fn(f64) -> f64>,
    ceiling: Option<fn(&SweepPoint) -> Option<f64>>,
) {
    let points = || sweep.series.iter().flat_map(|series| series.points.iter());
    let cs: Vec<f64> = points().map(|p| f64::from(p.concurrency)).collect();
    let c_lo = cs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
    let c_hi = cs.iter().copied().fold(1.0, f64::max).max(c_lo * 10.0);
    let plot = Plot {
        left: x + 60.0,
        top: y + 30.0,
        right: x + w - 10.0,
        bottom: y + h - 40.0,
    };
    let xa = LogAxis {
        lo: c_lo,
        hi: c_hi,
        p0: plot.left,
        p1: plot.right,
    };
    let values = points()
        .filter_map(&value)
        .chain(points().filter_map(|p| ceiling.and_then(|ceiling| ceiling(p))))
        .chain(ideal.map(|f| f(c_hi)));
    let ya = LogAxis::decades_around(values, plot.bottom, plot.top);
    chart::heading(svg, plot.left, y + 18.0, title);
    plot.frame(svg);
    axis_below(svg, &plot, &xa, &xa.decades(), "clients (c, log scale)");
    axis_left(svg, &plot, &ya, &ya.readable_ticks(), unit);
    // A line through `(c, value)` pairs, where the value is on the axis.
    let path = |pairs: &mut dyn Iterator<Item = (f64, f64)>| {
        let mut d = String::new();
        for (c, v) in pairs.filter(|(_, v)| *v > 0.0) {
            let command = if d.is_empty() { "M" } else { "L" };
            let _ = write!(d, "{command} {:.1} {:.1} ", xa.map(c), ya.map(v));
        }
        d
    };
    if let Some(ideal) = ideal {
        let steps = 40;
        let d = path(
            &mut (0..=steps)
                .map(|i| {
                    let c = c_lo * (c_hi / c_lo).powf(f64::from(i) / f64::from(steps));
                    (c, ideal(c))
                })
                .filter(|(_, v)| *v >= ya.lo && *v <= ya.hi),
        );
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="{dashed}"/>
"#,
            dashed = chart::DASHED,
        );
    }
    // Each topology's second ceiling, dotted in its colour, where the panel has one.
    if let Some(ceiling) = ceiling {
        for series in &sweep.series {
            let color = topology_color(&series.id);
            let d = path(
                &mut series
                    .points
                    .iter()
                    .filter_map(|p| Some((f64::from(p.concurrency), ceiling(p)?))),
            );
            let _ = write!(
                svg,
                r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="1.5" stroke-dasharray="{dotted}"/>
"#,
                dotted = chart::DOTTED,
            );
        }
    }
    for series in &sweep.series {
        let color = topology_color(&series.id);
        let pairs: Vec<(f64, f64)> = series
            .points
            .iter()
            .filter_map(|p| Some((f64::from(p.concurrency), value(p)?)))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        for (c, v) in &pairs {
            let _ = write!(
                svg,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3.5" fill="{color}"/>
"#,
                cx = xa.map(*c),
                cy = ya.map(*v),
            );
        }
        let d = path(&mut pairs.into_iter());
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2.5"/>
"#
        );
    }
}

/// The chart of a sweep: four panels against concurrency.
pub fn sweep_chart(sweep: &SweepResults) -> String {
    let width = 1180.0;
    let mut entries: Vec<Entry> = sweep
        .series
        .iter()
        .map(|series| {
            Entry::new(
                Swatch::Line(topology_color(&series.id)),
                format!("{} ({})", series.id, series.topology),
            )
        })
        .collect();
    entries.extend([
        Entry::new(Swatch::Dashed(MUTED), "c / delay"),
        Entry::new(
            Swatch::Dotted(MUTED),
            "CPU ceiling (in the topology's colour)",
        ),
    ]);
    // The legend wraps to as many rows as it needs; the panels start below it. Drawn
    // into its own string first, as the document's height depends on it.
    let mut legend_svg = String::new();
    let last_row = legend(&mut legend_svg, 20.0, 98.0, width - 20.0, &entries);
    let top = last_row + 20.0;
    let height = top + 760.0;
    let mut svg = chart::document(width, height, 13);
    chart::title(
        &mut svg,
        20.0,
        30.0,
        &format!(
            "Throughput and latency as clients grow, delay = {} s",
            sweep.delay_s
        ),
    );
    chart::note(
        &mut svg,
        20.0,
        52.0,
        &format!(
            "Each point: c clients started {start}, {per_client} requests each, counted after {rounds} rounds (where threads cap it: {duration} s, counted from {warm} s).",
            start = if sweep.ramp_up_s > 0.0 {
                format!("over {} s", sweep.ramp_up_s)
            } else {
                "at once".to_owned()
            },
            per_client = crate::sweep::REQUESTS_PER_CLIENT,
            rounds = crate::sweep::WARMUP_ROUNDS,
            duration = sweep.duration_s,
            warm = sweep.warmup_s,
        ),
    );
    chart::note(&mut svg, 20.0, 70.0, "Dashed: c / delay (Little's law). Dotted: each topology's CPU ceiling, this machine's cores / the CPU time per request of everything it ran.");
    svg.push_str(&legend_svg);
    let delay = sweep.delay_s;
    let ideal = move |c: f64| c / delay;
    let (pw, ph) = (580.0, 370.0);
    sweep_panel(
        &mut svg,
        sweep,
        (0.0, top, pw, ph),
        "Requests per second",
        "requests/s",
        |p| Some(p.requests_per_second),
        Some(&ideal),
        Some(|p: &SweepPoint| p.cpu.cpu_ceiling_rps),
    );
    sweep_panel(
        &mut svg,
        sweep,
        (pw, top, pw, ph),
        "p99 latency of completed requests",
        "ms",
        |p| Some(p.latency_ms.p99),
        None,
        None,
    );
    sweep_panel(
        &mut svg,
        sweep,
        (0.0, top + ph + 10.0, pw, ph),
        "Peak resident memory of the app",
        "MiB",
        |p| Some(p.peak_rss_mb),
        None,
        None,
    );
    sweep_panel(
        &mut svg,
        sweep,
        (pw, top + ph + 10.0, pw, ph),
        "Peak threads of the app",
        "threads",
        |p| Some(p.peak_threads as f64),
        None,
        None,
    );
    chart::end(svg)
}

/// `sweep.md`: how the run was shaped, the table and the chart.
pub fn markdown_document(sweep: &SweepResults, chart_file: &str) -> String {
    format!(
        "# sweep results\n\nRun {} on {} CPU(s), {}; delay={} s, clients started over {} s, {} s per point, counted from {} s. Whole run: {:.0} s.\n\n{}\n![sweep]({chart_file})\n",
        sweep.started_at,
        sweep.machine.cpus,
        sweep.machine.os,
        sweep.delay_s,
        sweep.ramp_up_s,
        sweep.duration_s,
        sweep.warmup_s,
        sweep.wall_time_s,
        markdown_table(sweep)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The x of every point drawn in `color`, in the order drawn.
    fn circles(svg: &str, color: &str) -> Vec<f64> {
        svg.lines()
            .filter(|line| line.contains("<circle") && line.contains(&format!("fill=\"{color}\"")))
            .filter_map(|line| {
                let rest = line.split("cx=\"").nth(1)?;
                rest.split('"').next()?.parse().ok()
            })
            .collect()
    }

    #[test]
    fn more_clients_sit_further_right_and_each_topology_has_its_colour() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/sweep.json");
        let mut sweep: SweepResults =
            crate::results::read_json(&file, "the committed sweep").expect("sweep.json");
        sweep.series.truncate(1);
        let series = &mut sweep.series[0];
        series.points.sort_by_key(|point| point.concurrency);
        series.points.truncate(2);
        let color = topology_color(&series.id);
        let first = series.points[0].concurrency;
        let svg = sweep_chart(&sweep);
        let xs = circles(&svg, color);
        assert!(xs.len() >= 2, "{xs:?}");
        assert!(xs[0] < xs[1], "c={first} drawn right of the next: {xs:?}");
    }

    #[test]
    fn each_topology_is_drawn_in_its_colour_with_one_legend_entry() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/sweep.json");
        let sweep: SweepResults =
            crate::results::read_json(&file, "the committed sweep").expect("sweep.json");
        let svg = sweep_chart(&sweep);
        let colours: std::collections::HashSet<_> = sweep
            .series
            .iter()
            .map(|series| topology_color(&series.id))
            .collect();
        assert_eq!(colours.len(), sweep.series.len());
        for series in &sweep.series {
            let color = topology_color(&series.id);
            let label = format!(">{} (", series.id);
            let entries = svg.lines().filter(|line| line.contains(&label)).count();
            assert_eq!(entries, 1, "{}", series.id);
            // Four panels, a point each per concurrency.
            assert_eq!(
                circles(&svg, color).len(),
                4 * series.points.len(),
                "{}",
                series.id
            );
        }
    }
}
