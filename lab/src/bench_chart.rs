//! The chart of a `lab bench` run: one row per scenario, requests per second on a log
//! scale: the ceiling Little's law allows (a pale bar), what was measured (a solid bar),
//! and the article's Python figure (a red diamond) beside the best `ab` could do (a red
//! tick). Drawn with [`crate::chart`]'s pieces.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use crate::chart::{esc, rps, LogAxis, ARTICLE, ASYNC, BLOCKING, FONT, GRID, MUTED, PALE, TEXT};
use crate::results::{Results, Row};

/// Whether a row's topology is bounded by threads or a blocked loop (orange) or by the
/// load alone (blue).
fn is_blocking(row: &Row) -> bool {
    let topology = row.topology.to_lowercase();
    topology.contains("app_sync") && !topology.contains("per connection")
        || topology.contains("blocking")
}

/// The chart of a `bench-all` run.
pub fn bench_chart(results: &Results) -> String {
    let rows = &results.scenarios;
    let width = 1180.0;
    let top = 140.0;
    let row_h = 50.0;
    let extra_gap = 26.0;
    let beyond = |row: &Row| row.load.concurrency >= 1000;
    let has_extra = rows.iter().any(beyond);
    let height = top + row_h * rows.len() as f64 + if has_extra { extra_gap } else { 0.0 } + 70.0;
    let values = rows.iter().flat_map(|row| {
        [
            row.ceiling_rps,
            row.requests_per_second,
            row.article_rps.unwrap_or(0.0),
            row.ab_ceiling_rps,
        ]
    });
    let axis = LogAxis::requests_per_second(values.fold(1.0f64, f64::max), 370.0, 950.0);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="30" font-size="20" font-weight="bold" fill="{TEXT}">Requests per second: measured (Rust) vs what Little's law allows vs the article (Python)</text>
<text x="20" y="52" fill="{MUTED}">Log scale. Ceiling = requests the topology can hold in flight / delay. The article used ab, whose lone first request lowers its own ceiling (181.8 for -n 2000 -c 200).</text>
"#
    );
    // Legend.
    let legend_y = 76.0;
    let _ = write!(
        svg,
        r#"<rect x="20" y="{y0}" width="30" height="16" fill="{PALE}" stroke="{GRID}"/><text x="56" y="{ty}" fill="{TEXT}">ceiling (Little's law)</text>
<rect x="210" y="{y1}" width="30" height="10" fill="{BLOCKING}"/><text x="246" y="{ty}" fill="{TEXT}">measured, capped by threads or a blocked loop</text>
<rect x="590" y="{y1}" width="30" height="10" fill="{ASYNC}"/><text x="626" y="{ty}" fill="{TEXT}">measured, event loop: capped by the load</text>
<path d="M 940 {dy} l 6 -6 l 6 6 l -6 6 z" fill="{ARTICLE}"/><text x="958" y="{ty}" fill="{TEXT}">article</text>
<line x1="1030" y1="{ly0}" x2="1030" y2="{ly1}" stroke="{ARTICLE}" stroke-width="2"/><text x="1038" y="{ty}" fill="{TEXT}">ab's ceiling</text>
<line x1="1030" y1="{cy0}" x2="1030" y2="{cy1}" stroke="{TEXT}" stroke-width="2" stroke-dasharray="3 2"/><text x="1038" y="{cty}" fill="{TEXT}">CPU ceiling</text>
"#,
        cy0 = legend_y + 7.0,
        cy1 = legend_y + 23.0,
        cty = legend_y + 20.0,
        y0 = legend_y - 12.0,
        y1 = legend_y - 9.0,
        ty = legend_y,
        dy = legend_y - 4.0,
        ly0 = legend_y - 13.0,
        ly1 = legend_y + 3.0,
    );
    // Column headings.
    let _ = write!(
        svg,
        r#"<text x="20" y="{y}" font-weight="bold" fill="{TEXT}">scenario</text>
<text x="{x0}" y="{y}" font-weight="bold" fill="{TEXT}">2xx responses per second</text>
<text x="{r1}" y="{y0}" font-weight="bold" fill="{TEXT}" text-anchor="middle">Rust</text>
<text x="{r1}" y="{y}" font-size="11" fill="{MUTED}" text-anchor="middle">of ceiling</text>
<text x="{r2}" y="{y0}" font-weight="bold" fill="{TEXT}" text-anchor="middle">article</text>
<text x="{r2}" y="{y}" font-size="11" fill="{MUTED}" text-anchor="middle">of ab's ceiling</text>
"#,
        y0 = top - 20.0,
        y = top - 6.0,
        r1 = 1025.0,
        r2 = 1120.0,
        x0 = axis.p0,
    );

    axis.draw_below(
        &mut svg,
        top,
        height - 56.0,
        "requests per second (log scale)",
    );

    let mut y = top;
    let mut extra_started = false;
    for row in rows {
        if beyond(row) && !extra_started {
            extra_started = true;
            let _ = write!(
                svg,
                r#"<text x="20" y="{ty}" font-style="italic" fill="{MUTED}">Beyond the article: 1,000 and 5,000 clients at once, and the reference rows (no app; nginx as the proxy)</text>
"#,
                ty = y + 17.0,
            );
            y += extra_gap;
        }
        draw_row(&mut svg, row, &axis, y, row_h);
        y += row_h;
    }
    svg.push_str("</svg>\n");
    svg
}

fn draw_row(svg: &mut String, row: &Row, axis: &LogAxis, y: f64, row_h: f64) {
    let mid = y + row_h / 2.0;
    // The scenario's name links to its timeline, where it has one.
    let id = match &row.timeline {
        Some(timeline) => format!(
            r#"<a href="{chart}" xlink:href="{chart}"><title>{title}</title>{id}</a>"#,
            chart = esc(&timeline.chart),
            title = esc(&format!("{}: the run over time", row.id)),
            id = esc(&row.id),
        ),
        None => esc(&row.id),
    };
    let _ = write!(
        svg,
        r#"<text x="20" y="{t1}" font-weight="bold" fill="{TEXT}">{id}</text>
<text x="20" y="{t2}" font-size="11" fill="{MUTED}">{topology}</text>
<text x="20" y="{t3}" font-size="11" fill="{MUTED}">ab {k}-n {n} -c {c}, delay {delay} s</text>
"#,
        t1 = mid - 8.0,
        t2 = mid + 6.0,
        t3 = mid + 19.0,
        delay = row.load.delay_s,
        topology = esc(&row.topology),
        n = row.load.requests,
        c = row.load.concurrency,
        k = if row.load.keep_alive { "-k " } else { "" },
    );
    // Ceiling: the room the topology has.
    let x0 = axis.p0;
    let xc = axis.map(row.ceiling_rps);
    let _ = write!(
        svg,
        r#"<rect x="{x0}" y="{by:.1}" width="{w:.1}" height="20" fill="{PALE}" stroke="{GRID}"/>
<text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="{MUTED}">ceiling {ceiling}</text>
"#,
        by = mid - 16.0,
        w = (xc - x0).max(1.0),
        tx = xc + 4.0,
        ty = mid - 8.0,
        ceiling = rps(row.ceiling_rps),
    );
    // The CPU's ceiling (cores / CPU time per request of everything), where it is on the
    // axis; "binds" where it is below Little's.
    if let Some(cpu) = row.cpu.cpu_ceiling_rps.filter(|cpu| *cpu < axis.hi) {
        let xp = axis.map(cpu);
        let binds = row.cpu.binds.as_deref() == Some("cpu");
        let _ = write!(
            svg,
            r#"<line x1="{xp:.1}" y1="{t0:.1}" x2="{xp:.1}" y2="{t1:.1}" stroke="{TEXT}" stroke-width="2" stroke-dasharray="3 2"/>
"#,
            t0 = mid - 20.0,
            t1 = mid + 8.0,
        );
        if binds {
            let _ = write!(
                svg,
                r#"<text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="{TEXT}">CPU binds: {cpu}</text>
"#,
                tx = xp + 4.0,
                ty = mid + 18.0,
                cpu = rps(cpu),
            );
        }
    }
    if let Some((word, reason)) = row.outcome.why() {
        let reason: String = reason.chars().take(95).collect();
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{ty:.1}" font-size="11" font-style="italic" fill="{ARTICLE}">{word}: {reason}</text>
"#,
            x = x0 + 4.0,
            ty = mid + 16.0,
            reason = esc(&reason),
        );
    } else {
        // The bar is what was served right: 2xx responses per second.
        let served = row.efficiency * row.ceiling_rps;
        let xm = axis.map(served.max(axis.lo));
        let color = if is_blocking(row) { BLOCKING } else { ASYNC };
        let errors = row.failed + row.non_2xx;
        // Beside the ceiling's end when the bar reaches it, else just after the bar.
        let tx = if xm >= xc - 45.0 { xm.max(xc) } else { xm } + 4.0;
        let _ = write!(
            svg,
            r#"<rect x="{x0}" y="{by:.1}" width="{w:.1}" height="12" fill="{color}"/>
<text x="{tx:.1}" y="{ty:.1}" font-size="11" font-weight="bold" fill="{color}">{measured}</text>
<text x="1025" y="{cy:.1}" font-weight="bold" fill="{color}" text-anchor="middle">{eff:.0}%</text>
"#,
            by = mid - 12.0,
            w = (xm - x0).max(1.0),
            ty = mid + 2.0,
            measured = rps(served),
            cy = mid + 4.0,
            eff = row.efficiency * 100.0,
        );
        if errors > 0 {
            let _ = write!(
                svg,
                r#"<text x="{tx:.1}" y="{ty:.1}" font-size="11" font-weight="bold" fill="{ARTICLE}">+ {errors} error(s) of {total}</text>
"#,
                tx = tx + 34.0,
                ty = mid + 2.0,
                total = row.complete + row.failed,
            );
        }
    }
    // The article: its figure against ab's ceiling.
    if let (Some(article), Some(_)) = (row.article_rps, row.article_efficiency) {
        let xa = axis.map(article);
        let xab = axis.map(row.ab_ceiling_rps);
        let ay = mid + 11.0;
        let _ = write!(
            svg,
            r#"<line x1="{x0}" y1="{ay:.1}" x2="{xab:.1}" y2="{ay:.1}" stroke="{ARTICLE}" stroke-width="1" stroke-dasharray="2 3"/>
<line x1="{xab:.1}" y1="{t0:.1}" x2="{xab:.1}" y2="{t1:.1}" stroke="{ARTICLE}" stroke-width="2"/>
<path d="M {xa:.1} {d0:.1} l 6 6 l -6 6 l -6 -6 z" fill="{ARTICLE}"/>
<text x="{tx:.1}" y="{ty:.1}" font-size="11" fill="{ARTICLE}">{text}</text>
<text x="1120" y="{cy:.1}" fill="{ARTICLE}" text-anchor="middle">{eff}</text>
"#,
            t0 = ay - 6.0,
            t1 = ay + 6.0,
            d0 = ay - 6.0,
            tx = xab.max(xa) + 8.0,
            ty = ay + 4.0,
            text = esc(&format!("article {}", row.article_text)),
            cy = mid + 4.0,
            eff = row
                .article_efficiency
                .map(|eff| format!("{:.0}%", eff * 100.0))
                .unwrap_or_default(),
        );
    } else {
        let _ = write!(
            svg,
            r#"<text x="1120" y="{cy:.1}" fill="{MUTED}" text-anchor="middle" font-size="11">{text}</text>
"#,
            cy = mid + 4.0,
            text = esc(if row.article_rps.is_some() {
                "other load"
            } else {
                short_article(&row.article_text)
            }),
        );
    }
}

fn short_article(text: &str) -> &str {
    if text.starts_with("none") {
        "none"
    } else {
        text
    }
}
