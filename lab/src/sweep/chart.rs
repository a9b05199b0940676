//! The sweep's chart: throughput, p99 latency, memory and threads against concurrency,
//! one line per topology, log-log, with c / delay dashed.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use super::{markdown_table, SweepPoint, SweepResults};
use crate::chart::{esc, short, LogAxis, ASYNC, BLOCKING, FONT, GRID, MUTED, TEXT};

/// Colours for the sweep's lines, by scenario id.
fn sweep_color(id: &str) -> &'static str {
    match id {
        "sync-workers" => BLOCKING,
        "async" => ASYNC,
        "direct" => "#718096",
        "nginx-proxy" => "#805ad5",
        _ => "#2f855a",
    }
}

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
    let cs: Vec<f64> = sweep
        .series
        .iter()
        .flat_map(|series| series.points.iter().map(|p| f64::from(p.concurrency)))
        .collect();
    let c_lo = cs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
    let c_hi = cs.iter().copied().fold(1.0, f64::max).max(c_lo * 10.0);
    let vals: Vec<f64> = sweep
        .series
        .iter()
        .flat_map(|series| series.points.iter().filter_map(&value))
        .chain(
            sweep
                .series
                .iter()
                .flat_map(|series| series.points.iter())
                .filter_map(|p| ceiling.and_then(|ceiling| ceiling(p))),
        )
        .filter(|v| *v > 0.0)
        .chain(ideal.map(|f| f(c_hi)))
        .collect();
    let v_lo = 10f64.powf(
        vals.iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(1e12)
            .log10()
            .floor(),
    );
    let v_hi = 10f64.powf(vals.iter().copied().fold(1e-9, f64::max).log10().ceil());
    let v_hi = if v_hi <= v_lo { v_lo * 10.0 } else { v_hi };
    let xa = LogAxis {
        lo: c_lo,
        hi: c_hi,
        p0: x + 60.0,
        p1: x + w - 10.0,
    };
    let ya = LogAxis {
        lo: v_lo,
        hi: v_hi,
        p0: y + h - 40.0,
        p1: y + 30.0,
    };
    let _ = write!(
        svg,
        r#"<text x="{tx}" y="{ty}" font-size="15" font-weight="bold" fill="{TEXT}">{title}</text>
<rect x="{px}" y="{py}" width="{pw}" height="{ph}" fill="none" stroke="{GRID}"/>
"#,
        tx = x + 60.0,
        ty = y + 18.0,
        title = esc(title),
        px = xa.p0,
        py = ya.p1,
        pw = xa.p1 - xa.p0,
        ph = ya.p0 - ya.p1,
    );
    for tick in xa.decades() {
        let px = xa.map(tick);
        let _ = write!(
            svg,
            r#"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{y1}" stroke="{GRID}"/><text x="{px:.1}" y="{ly}" font-size="11" fill="{MUTED}" text-anchor="middle">{label}</text>
"#,
            y0 = ya.p1,
            y1 = ya.p0,
            ly = ya.p0 + 14.0,
            label = short(tick),
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{lx}" y="{ly}" font-size="11" fill="{MUTED}" text-anchor="middle">clients (c, log scale)</text>
"#,
        lx = (xa.p0 + xa.p1) / 2.0,
        ly = ya.p0 + 30.0,
    );
    let y_ticks = if (v_hi / v_lo).log10() > 4.0 {
        ya.decades()
    } else {
        ya.ticks()
    };
    for tick in y_ticks {
        let py = ya.map(tick);
        let _ = write!(
            svg,
            r#"<line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="{GRID}"/><text x="{lx}" y="{ty:.1}" font-size="11" fill="{MUTED}" text-anchor="end">{label}</text>
"#,
            x0 = xa.p0,
            x1 = xa.p1,
            lx = xa.p0 - 4.0,
            ty = py + 4.0,
            label = short(tick),
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{lx}" y="{ly}" font-size="11" fill="{MUTED}" transform="rotate(-90 {lx} {ly})" text-anchor="middle">{unit}</text>
"#,
        lx = x + 14.0,
        ly = (ya.p0 + ya.p1) / 2.0,
        unit = esc(unit),
    );
    if let Some(ideal) = ideal {
        let steps = 40;
        let mut d = String::new();
        for i in 0..=steps {
            let c = c_lo * (c_hi / c_lo).powf(f64::from(i) / f64::from(steps));
            let v = ideal(c);
            if v >= ya.lo && v <= ya.hi {
                let _ = write!(
                    d,
                    "{} {:.1} {:.1} ",
                    if d.is_empty() { "M" } else { "L" },
                    xa.map(c),
                    ya.map(v)
                );
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="6 4"/>
"#
        );
    }
    // Each topology's second ceiling, dotted in its colour, where the panel has one.
    for series in sweep.series.iter().filter(|_| ceiling.is_some()) {
        let color = sweep_color(&series.id);
        let mut d = String::new();
        for point in &series.points {
            let cpu = ceiling.and_then(|ceiling| ceiling(point));
            if let Some(v) = cpu.filter(|v| *v > 0.0) {
                let (px, py) = (xa.map(f64::from(point.concurrency)), ya.map(v));
                let _ = write!(
                    d,
                    "{} {px:.1} {py:.1} ",
                    if d.is_empty() { "M" } else { "L" }
                );
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="1.5" stroke-dasharray="2 3"/>
"#
        );
    }
    for series in &sweep.series {
        let color = sweep_color(&series.id);
        let mut d = String::new();
        for point in &series.points {
            if let Some(v) = value(point).filter(|v| *v > 0.0) {
                let (px, py) = (xa.map(f64::from(point.concurrency)), ya.map(v));
                let _ = write!(
                    d,
                    "{} {px:.1} {py:.1} ",
                    if d.is_empty() { "M" } else { "L" }
                );
                let _ = write!(
                    svg,
                    r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{color}"/>
"#
                );
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2.5"/>
"#
        );
    }
}

/// The chart of a sweep: four panels against concurrency.
pub fn sweep_chart(sweep: &SweepResults) -> String {
    // The legend wraps to as many rows as it needs; the panels start below it.
    let width = 1180.0;
    let labels: Vec<(String, &str)> = sweep
        .series
        .iter()
        .map(|series| {
            let label = format!("{} ({})", series.id, series.topology);
            (label, sweep_color(&series.id))
        })
        .collect();
    let mut legend = Vec::with_capacity(labels.len());
    let (mut lx, mut row) = (20.0, 0.0);
    for (label, color) in &labels {
        let label_w = 44.0 + label.len() as f64 * 7.2;
        if lx > 20.0 && lx + label_w > width - 20.0 {
            (lx, row) = (20.0, row + 1.0);
        }
        legend.push((lx, 94.0 + 20.0 * row, label, *color));
        lx += label_w;
    }
    let top = 118.0 + 20.0 * row;
    let height = top + 760.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="30" font-size="20" font-weight="bold" fill="{TEXT}">Throughput and latency as clients grow, delay = {delay} s</text>
<text x="20" y="52" fill="{MUTED}">Each point: c clients started {start}, {per_client} requests each, counted after {rounds} rounds (where threads cap it: {duration} s, counted from {warm} s).</text>
<text x="20" y="70" fill="{MUTED}">Dashed: c / delay (Little's law). Dotted: each topology's CPU ceiling, this machine's cores / the CPU time per request of everything it ran.</text>
"#,
        start = if sweep.ramp_up_s > 0.0 {
            format!("over {} s", sweep.ramp_up_s)
        } else {
            "at once".to_owned()
        },
        per_client = crate::sweep::REQUESTS_PER_CLIENT,
        rounds = crate::sweep::WARMUP_ROUNDS,
        delay = sweep.delay_s,
        duration = sweep.duration_s,
        warm = sweep.warmup_s,
    );
    for (lx, ly, label, color) in legend {
        let _ = write!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{x2}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{tx}" y="{ty}" fill="{TEXT}">{label}</text>
"#,
            x2 = lx + 28.0,
            tx = lx + 34.0,
            ty = ly + 4.0,
            label = esc(label),
        );
    }
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
    svg.push_str("</svg>\n");
    svg
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
        let color = sweep_color(&series.id);
        let first = series.points[0].concurrency;
        let svg = sweep_chart(&sweep);
        let xs = circles(&svg, color);
        assert!(xs.len() >= 2, "{xs:?}");
        assert!(xs[0] < xs[1], "c={first} drawn right of the next: {xs:?}");

        assert_eq!(sweep_color("sync-workers"), BLOCKING);
        assert_eq!(sweep_color("async"), ASYNC);
        let colours: std::collections::HashSet<_> = [
            "sync-workers",
            "async",
            "direct",
            "nginx-proxy",
            "async-workers",
        ]
        .into_iter()
        .map(sweep_color)
        .collect();
        assert_eq!(colours.len(), 5);
    }
}
