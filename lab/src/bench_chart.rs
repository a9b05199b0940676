//! The chart of a `lab bench` run: one row per scenario, requests per second on a log
//! scale: the ceiling Little's law allows (a pale bar), what was measured (a solid bar),
//! and the article's Python figure (a red diamond) beside the best `ab` could do (a red
//! tick). Drawn with [`crate::chart`]'s pieces.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use crate::chart::{
    self, esc, legend, rps, topology_color, Entry, Kind, LogAxis, Scale, Swatch, ARTICLE, GRID,
    MUTED, PALE, TEXT,
};
use crate::results::{Results, Row};

/// What a kind's bars mean in the legend.
fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Blocking => "measured, capped by threads or a blocked loop",
        Kind::LoadBound => "measured, capped by the load (event loop, thread per connection)",
        Kind::Reference => "measured, no app (slow_api alone, nginx as the proxy)",
    }
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

    let mut svg = chart::document(width, height, 13);
    chart::title(
        &mut svg,
        20.0,
        30.0,
        "Requests per second: measured (Rust) vs what Little's law allows vs the article (Python)",
    );
    chart::note(&mut svg, 20.0, 52.0, "Log scale. Ceiling = requests the topology can hold in flight / delay. The article used ab, whose lone first request lowers its own ceiling (181.8 for -n 2000 -c 200).");
    // One bar swatch per kind of topology drawn: each row's bar is its topology's shade.
    let mut entries = vec![Entry::new(Swatch::Ceiling, "ceiling (Little's law)")];
    for kind in [Kind::Blocking, Kind::LoadBound, Kind::Reference] {
        if rows.iter().any(|row| Kind::of(&row.id) == Some(kind)) {
            entries.push(Entry::new(Swatch::Bar(kind.color()), kind_label(kind)));
        }
    }
    entries.extend([
        Entry::new(Swatch::Diamond(ARTICLE), "article"),
        Entry::new(Swatch::Mark(ARTICLE, false), "ab's ceiling"),
        Entry::new(Swatch::Mark(TEXT, true), "CPU ceiling"),
    ]);
    legend(&mut svg, 20.0, 78.0, width - 20.0, &entries);
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
            chart::aside(&mut svg, 20.0, y + 17.0, "Beyond the article: 1,000 and 5,000 clients at once, and the reference rows (no app; nginx as the proxy)");
            y += extra_gap;
        }
        draw_row(&mut svg, row, &axis, y, row_h);
        y += row_h;
    }
    chart::end(svg)
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
        let color = topology_color(&row.id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_bar_ends_where_its_rate_lands_on_the_log_axis() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/bench-all.json");
        let mut results: Results =
            crate::results::read_json(&file, "the committed bench-all").expect("bench-all.json");
        results.scenarios.retain(|row| row.id == "sync-workers");
        let row = &results.scenarios[0];
        let served = row.efficiency * row.ceiling_rps;
        // The axis: 0.5 to 500 (the first 1-2-5 step over 1.6 x the ceiling of 200),
        // on 370..950 px.
        assert_eq!(row.ceiling_rps, 200.0);
        let expected = 580.0 * (served / 0.5).log10() / (500.0f64 / 0.5).log10();
        let svg = bench_chart(&results);
        let bar = svg
            .lines()
            .find(|line| line.contains(r#"height="12""#))
            .expect("the bar");
        let width: f64 = bar
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("width");
        assert!((width - expected).abs() < 0.06, "{width} vs {expected}");
        assert!(bar.contains(r#"x="370""#), "{bar}");
        // One legend entry per kind drawn: here only the blocking one.
        assert_eq!(svg.matches(kind_label(Kind::Blocking)).count(), 1);
        assert!(!svg.contains(kind_label(Kind::LoadBound)));
    }
}
