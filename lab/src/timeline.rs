//! A row over time: what the client saw per interval (loadgen's timeline) beside what
//! the app said it held ([`kit::scrape`]), with Little's law checked window by window.
//!
//! Whole-run averages hide what the lessons are about: the waves of `c` clients that
//! come back together, the blocked loop serving one request per delay, a pool that
//! fills, connections waiting in the kernel's accept queue where the app cannot see
//! them. The timeline shows them: the client's requests in flight against the app's.
//!
//! Little's law (in flight = throughput x latency) holds for any window long enough
//! that the requests it counts mostly start and finish inside it, so it is checked
//! over a rolling window one typical latency (the run's p50) long, in the steady part
//! of the run (after the first responses, before the last request starts): from the
//! client's figures (completions x their mean latency / window, against the client's
//! count in flight) and from the server's (`http_request_duration_seconds_sum`'s growth
//! / window, against `http_requests_in_flight`).

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::chart::{
    self, axis_left, labels_below, legend, topology_color, Entry, LinearAxis, Plot, Scale, Swatch,
    ARTICLE, CLIENT, DASHED, DATABASE, TEXT, UPSTREAM,
};
use kit::scrape::ServerSample;

/// One interval of the client's timeline (loadgen's `timeline.intervals[]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientInterval {
    pub start_s: f64,
    pub started: u64,
    pub completed: u64,
    pub ok: u64,
    pub errors: u64,
    pub in_flight: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl From<&loadgen::Interval> for ClientInterval {
    fn from(interval: &loadgen::Interval) -> Self {
        ClientInterval {
            start_s: interval.start_s,
            started: interval.started,
            completed: interval.completed,
            ok: interval.ok,
            errors: interval.errors,
            in_flight: interval.in_flight,
            mean_ms: interval.mean_ms,
            p50_ms: interval.p50_ms,
            p99_ms: interval.p99_ms,
        }
    }
}

/// One interval of a row's timeline: the client's figures and the server's beside them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub start_s: f64,
    /// Responses and failures per second in this interval.
    pub completed_rps: f64,
    /// 2xx per second.
    pub ok_rps: f64,
    pub errors: u64,
    /// The client's requests in flight at the interval's end.
    pub client_in_flight: u64,
    /// Little's law from the client's figures over the window ending here.
    pub client_littles: Option<f64>,
    /// The app's `http_requests_in_flight` (the last sample in the interval).
    pub server_in_flight: Option<f64>,
    /// Little's law from the app's figures over the window ending here.
    pub server_littles: Option<f64>,
    pub upstream_in_flight: Option<f64>,
    /// app_pg's `db_queries_in_flight`.
    pub db_in_flight: Option<f64>,
    pub pool_in_use: Option<f64>,
    pub pool_waiters: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Little's law over a row, and where its requests waited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineSummary {
    /// The chart, relative to the results directory (`timeline-ID.svg`).
    pub chart: String,
    /// The data, one line per interval (`timeline-ID.csv`).
    pub csv: String,
    pub interval_s: f64,
    /// Throughput x latency / requests in flight over the whole run, from the client's
    /// figures (the latency-seconds of every request / the run's in-flight-seconds):
    /// 1.00 is Little's law holding.
    pub client_littles_ratio: Option<f64>,
    /// The same from the app's `/metrics` (the growth of
    /// `http_request_duration_seconds_sum` / the mean of `http_requests_in_flight`);
    /// null where the app has none.
    pub server_littles_ratio: Option<f64>,
    /// The rolling window of the chart's throughput x latency lines (the run's median
    /// latency), and how many such windows fit the steady part of the run (after the
    /// first window, up to the last request's start).
    pub window_s: f64,
    pub windows_checked: usize,
    /// The medians of the ratios above over those windows (null when none fit).
    pub client_window_ratio: Option<f64>,
    pub server_window_ratio: Option<f64>,
    /// Mean requests in flight over the run: the client's and the app's. Where the app
    /// holds fewer than the client sent, the rest wait in a queue the app does not count
    /// (the kernel's accept queue, or nginx).
    pub client_in_flight: Option<f64>,
    pub server_in_flight: Option<f64>,
    /// Seconds into the run when the app first held every client's request at once
    /// (the first interval whose in-flight gauge reached the load's clients): how long
    /// the first round took to land. Absent where the app has no gauge, never held them
    /// all, or the run predates the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_all_in_flight_s: Option<f64>,
}

/// A row's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub id: String,
    pub title: String,
    pub interval_s: f64,
    pub points: Vec<Point>,
    pub summary: TimelineSummary,
}

impl Timeline {
    /// The start of the first interval in which the app held `clients` requests at once.
    pub fn server_holding(&self, clients: u32) -> Option<f64> {
        self.points
            .iter()
            .find(|point| {
                point
                    .server_in_flight
                    .is_some_and(|held| held >= f64::from(clients))
            })
            .map(|point| point.start_s)
    }
}

/// Puts the client's intervals and the server's samples together and checks Little's
/// law over the steady windows. `id` names the files ([`file_stem`]).
pub fn build(
    id: &str,
    title: &str,
    interval_s: f64,
    client: &[ClientInterval],
    server: &[ServerSample],
) -> Timeline {
    let interval_s = interval_s.max(1e-6);
    // One typical latency, in whole intervals: the rolling window of the chart's lines.
    let p50_s = median(client.iter().filter_map(|i| i.p50_ms)).unwrap_or(0.0) / 1000.0;
    let k = ((p50_s / interval_s).round() as usize).max(1);
    let window_s = k as f64 * interval_s;
    let last_start_s = client
        .iter()
        .rev()
        .find(|i| i.started > 0)
        .map_or(0.0, |i| i.start_s + interval_s);
    // Latency-seconds of the requests that finished in an interval.
    let busy_s = |i: &ClientInterval| i.completed as f64 * i.mean_ms.unwrap_or(0.0) / 1000.0;

    let mut points = Vec::with_capacity(client.len());
    let mut client_ratios = Vec::new();
    let mut server_ratios = Vec::new();
    for (index, interval) in client.iter().enumerate() {
        let end_s = interval.start_s + interval_s;
        let last_sample = server
            .iter()
            .rev()
            .find(|s| s.t_s >= interval.start_s && s.t_s < end_s);
        let mut point = Point {
            start_s: interval.start_s,
            completed_rps: interval.completed as f64 / interval_s,
            ok_rps: interval.ok as f64 / interval_s,
            errors: interval.errors,
            client_in_flight: interval.in_flight,
            client_littles: None,
            server_in_flight: last_sample.map(|s| s.in_flight),
            server_littles: None,
            upstream_in_flight: last_sample.and_then(|s| s.upstream_in_flight),
            db_in_flight: last_sample.and_then(|s| s.db_in_flight),
            pool_in_use: last_sample.and_then(|s| s.pool_in_use),
            pool_waiters: last_sample.and_then(|s| s.pool_waiters),
            p50_ms: interval.p50_ms,
            p99_ms: interval.p99_ms,
        };
        if index + 1 >= k {
            let window = &client[index + 1 - k..=index];
            let window_start_s = window[0].start_s;
            let littles = window.iter().map(busy_s).sum::<f64>() / window_s;
            point.client_littles = Some(littles);
            point.server_littles = server_littles(server, window_start_s, end_s);
            let steady = window_start_s >= window_s && end_s <= last_start_s + 1e-9;
            let client_mean = mean(window.iter().map(|i| i.in_flight as f64));
            if let (true, Some(client_mean)) = (steady, client_mean.filter(|m| *m > 0.0)) {
                client_ratios.push(littles / client_mean);
                let in_window = |s: &&ServerSample| s.t_s >= window_start_s && s.t_s < end_s;
                let server_mean = mean(server.iter().filter(in_window).map(|s| s.in_flight));
                if let (Some(littles), Some(gauge)) =
                    (point.server_littles, server_mean.filter(|m| *m > 0.0))
                {
                    server_ratios.push(littles / gauge);
                }
            }
        }
        points.push(point);
    }

    // The whole run: every request's latency-seconds against the in-flight-seconds.
    let client_in_flight = mean(client.iter().map(|i| i.in_flight as f64));
    let client_busy = client.iter().map(busy_s).sum::<f64>();
    let client_littles_ratio = client_in_flight
        .filter(|m| *m > 0.0)
        .map(|m| client_busy / (m * interval_s * client.len() as f64));
    let server_in_flight = mean(server.iter().map(|s| s.in_flight));
    let server_littles_ratio = match (server.first(), server.last(), server_in_flight) {
        (Some(first), Some(last), Some(gauge)) if last.t_s > first.t_s && gauge > 0.0 => {
            Some((last.duration_sum_s - first.duration_sum_s) / (last.t_s - first.t_s) / gauge)
        }
        _ => None,
    };
    let summary = TimelineSummary {
        chart: format!("{}.svg", file_stem(id)),
        csv: format!("{}.csv", file_stem(id)),
        interval_s,
        client_littles_ratio,
        server_littles_ratio,
        window_s,
        windows_checked: client_ratios.len(),
        client_window_ratio: median(client_ratios.into_iter()),
        server_window_ratio: median(server_ratios.into_iter()),
        client_in_flight,
        server_in_flight,
        server_all_in_flight_s: None,
    };
    Timeline {
        id: id.to_owned(),
        title: title.to_owned(),
        interval_s,
        points,
        summary,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    (count > 0).then(|| sum / count as f64)
}

/// `timeline-ID`: the name of a row's chart and data in the results directory.
pub fn file_stem(id: &str) -> String {
    format!("timeline-{id}")
}

/// The app's seconds of serving finished in `[from, to)` over the window's length, from
/// the samples nearest the window's ends.
fn server_littles(server: &[ServerSample], from: f64, to: f64) -> Option<f64> {
    let first = server.iter().rev().find(|s| s.t_s <= from)?;
    let last = server.iter().rev().find(|s| s.t_s < to)?;
    let span = last.t_s - first.t_s;
    (span > 0.0).then(|| (last.duration_sum_s - first.duration_sum_s) / span)
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

impl Timeline {
    /// One line per interval, every column of [`Point`].
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "start_s,completed_rps,ok_rps,errors,client_in_flight,client_littles,server_in_flight,server_littles,upstream_in_flight,db_in_flight,pool_in_use,pool_waiters,p50_ms,p99_ms\n",
        );
        let opt = |value: Option<f64>| value.map_or_else(String::new, |v| format!("{v:.3}"));
        for p in &self.points {
            let _ = writeln!(
                out,
                "{:.3},{:.3},{:.3},{},{},{},{},{},{},{},{},{},{},{}",
                p.start_s,
                p.completed_rps,
                p.ok_rps,
                p.errors,
                p.client_in_flight,
                opt(p.client_littles),
                opt(p.server_in_flight),
                opt(p.server_littles),
                opt(p.upstream_in_flight),
                opt(p.db_in_flight),
                opt(p.pool_in_use),
                opt(p.pool_waiters),
                opt(p.p50_ms),
                opt(p.p99_ms),
            );
        }
        out
    }

    /// Panels over time: throughput; requests in flight (the client's, the app's, and
    /// Little's law from each); the database pool where the app has one; latency. The
    /// app's series are in its topology's colour; the client's are [`CLIENT`], but for
    /// the p50 latency (black, beside the p99's red).
    pub fn svg(&self) -> String {
        let width = 1000.0;
        let panel_h = 160.0;
        let left = 80.0;
        let right = width - 30.0;
        let top = 132.0;
        let gap = 64.0;
        let app = topology_color(&self.id);
        let has = |value: fn(&Point) -> Option<f64>| self.points.iter().any(|p| value(p).is_some());
        let mut panels: Vec<(&str, Vec<Series>)> = vec![
            (
                "throughput (completed per second)",
                vec![
                    Series::new("completed", Swatch::Line(CLIENT), |p| Some(p.completed_rps)),
                    Series::new("of which errors", Swatch::Line(ARTICLE), |p| {
                        (p.errors > 0).then_some(p.completed_rps - p.ok_rps)
                    }),
                ],
            ),
            (
                "requests in flight",
                vec![
                    Series::new("client", Swatch::Line(CLIENT), |p| {
                        Some(p.client_in_flight as f64)
                    }),
                    Series::new("client (Little)", Swatch::Dashed(CLIENT), |p| {
                        p.client_littles
                    }),
                    Series::new("app", Swatch::Line(app), |p| p.server_in_flight),
                    Series::new("app (Little)", Swatch::Dashed(app), |p| p.server_littles),
                    Series::new("upstream calls", Swatch::Line(UPSTREAM), |p| {
                        p.upstream_in_flight
                    }),
                    Series::new("db queries", Swatch::Line(DATABASE), |p| p.db_in_flight),
                    Series::new("pool waiters", Swatch::Dashed(DATABASE), |p| p.pool_waiters),
                ],
            ),
        ];
        if has(|p| p.pool_in_use) {
            panels.push((
                "database pool: connections in use",
                vec![Series::new("in use", Swatch::Line(DATABASE), |p| {
                    p.pool_in_use
                })],
            ));
        }
        panels.push((
            "latency of the requests completed in the interval (ms)",
            vec![
                Series::new("p50", Swatch::Dot(TEXT), |p| p.p50_ms),
                Series::new("p99", Swatch::Dot(ARTICLE), |p| p.p99_ms),
            ],
        ));
        let count = panels.len() as f64;
        let height = top + count * panel_h + (count - 1.0) * gap + 60.0;
        let t_end = self
            .points
            .last()
            .map_or(1.0, |p| p.start_s + self.interval_s)
            .max(self.interval_s);
        let time = LinearAxis::exact(0.0, t_end, 6, left, right);

        let mut svg = chart::document(width, height, 12);
        let s = &self.summary;
        let ratio = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"));
        let whole = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}"));
        chart::title(
            &mut svg,
            20.0,
            28.0,
            &format!(
                "{}: the run over time ({:.0} ms intervals)",
                self.id,
                self.interval_s * 1000.0
            ),
        );
        chart::note(&mut svg, 20.0, 48.0, &self.title);
        chart::note(
            &mut svg,
            20.0,
            68.0,
            &format!(
                "Little's law, throughput x latency / in flight over the whole run: {} from the client's figures, {} from the app's. Mean in flight: client {}, app {}.",
                ratio(s.client_littles_ratio),
                ratio(s.server_littles_ratio),
                whole(s.client_in_flight),
                whole(s.server_in_flight),
            ),
        );
        chart::note(
            &mut svg,
            20.0,
            86.0,
            &format!(
                "Dashed (Little): throughput x latency over the last {:.1} s (the median latency); {} such windows in the steady part: {} (client), {} (app).",
                s.window_s,
                s.windows_checked,
                ratio(s.client_window_ratio),
                ratio(s.server_window_ratio),
            ),
        );
        let mut plot = None;
        for (index, (name, series)) in panels.iter().enumerate() {
            let y0 = top + index as f64 * (panel_h + gap);
            let panel = Plot {
                left,
                top: y0,
                right,
                bottom: y0 + panel_h,
            };
            self.panel(&mut svg, name, series, &panel, &time);
            plot = Some(panel);
        }
        // The time axis, once, under the last panel.
        if let Some(plot) = plot {
            labels_below(
                &mut svg,
                &plot,
                &time,
                &time.ticks(),
                "seconds since the load began",
            );
        }
        chart::end(svg)
    }

    fn panel(
        &self,
        svg: &mut String,
        name: &str,
        series: &[Series],
        plot: &Plot,
        time: &LinearAxis,
    ) {
        let drawn: Vec<&Series> = series
            .iter()
            .filter(|s| self.points.iter().any(|p| (s.value)(p).is_some()))
            .collect();
        let max = drawn
            .iter()
            .flat_map(|s| self.points.iter().filter_map(|p| (s.value)(p)))
            .fold(0.0f64, f64::max);
        let y = LinearAxis::from_zero(max, 4, plot.bottom, plot.top);
        // The title, then the legend on its own line under it.
        chart::heading(svg, plot.left, plot.top - 28.0, name);
        plot.frame(svg);
        let entries: Vec<Entry> = drawn
            .iter()
            .map(|series| Entry::new(series.swatch, series.name))
            .collect();
        legend(svg, plot.left, plot.top - 8.0, plot.right, &entries);
        axis_left(svg, plot, &y, &y.ticks(), "");
        let at = |point: &Point| time.map(point.start_s + self.interval_s / 2.0);
        for series in drawn {
            let (color, dash) = match series.swatch {
                Swatch::Dot(color) => {
                    for point in &self.points {
                        if let Some(value) = (series.value)(point) {
                            let _ = write!(
                                svg,
                                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="2" fill="{color}"/>
"#,
                                cx = at(point),
                                cy = y.map(value),
                            );
                        }
                    }
                    continue;
                }
                Swatch::Dashed(color) => (color, format!(r#" stroke-dasharray="{DASHED}""#)),
                Swatch::Line(color) => (color, String::new()),
                other => (other.color(), String::new()),
            };
            // Each interval's value at its middle; a missing value breaks the line.
            let mut path = String::new();
            let mut pen_down = false;
            for point in &self.points {
                match (series.value)(point) {
                    Some(value) => {
                        let command = if pen_down { 'L' } else { 'M' };
                        let _ = write!(path, "{command}{:.1} {:.1} ", at(point), y.map(value));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            let _ = write!(
                svg,
                r#"<path d="{path}" fill="none" stroke="{color}" stroke-width="1.5"{dash}/>
"#,
                path = path.trim_end(),
            );
        }
    }
}

/// One series of a panel: its legend's swatch says how it is drawn (latencies exist
/// only where requests completed, so they are dots; counts are lines, dashed for
/// Little's law and for waiters).
struct Series {
    name: &'static str,
    swatch: Swatch,
    value: fn(&Point) -> Option<f64>,
}

impl Series {
    fn new(name: &'static str, swatch: Swatch, value: fn(&Point) -> Option<f64>) -> Series {
        Series {
            name,
            swatch,
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(start_s: f64, started: u64, completed: u64, in_flight: u64) -> ClientInterval {
        ClientInterval {
            start_s,
            started,
            completed,
            ok: completed,
            errors: 0,
            in_flight,
            mean_ms: (completed > 0).then_some(1000.0),
            p50_ms: (completed > 0).then_some(1000.0),
            p99_ms: (completed > 0).then_some(1000.0),
        }
    }

    /// 100 clients, 1 s each, for 5 s: 10 intervals of 0.1 s per second, each finishing
    /// (and starting) 10 requests once the first second is over.
    fn steady_run() -> Vec<ClientInterval> {
        (0..50)
            .map(|i| {
                let start = f64::from(i) * 0.1;
                let first_second = i < 10;
                let last_second = i >= 40;
                let started = if last_second { 0 } else { 10 };
                let completed = if first_second { 0 } else { 10 };
                let in_flight = if last_second {
                    100 - 10 * (i - 39)
                } else {
                    100
                };
                interval(start, started, completed, in_flight.max(0) as u64)
            })
            .collect()
    }

    #[test]
    fn littles_law_holds_in_the_steady_windows_of_a_steady_run() {
        // The app holds 10 of the 100; the rest wait in a queue it cannot see.
        let server: Vec<ServerSample> = (0..50)
            .map(|i| {
                let t_s = f64::from(i) * 0.1 + 0.05;
                ServerSample {
                    t_s,
                    in_flight: 10.0,
                    upstream_in_flight: Some(10.0),
                    db_in_flight: None,
                    // Ten requests in flight accumulate ten seconds of serving a second.
                    duration_sum_s: 10.0 * t_s,
                    pool_in_use: None,
                    pool_waiters: None,
                    cpu_seconds: None,
                    resident_bytes: None,
                    threads: None,
                }
            })
            .collect();
        let timeline = build("t", "a test", 0.1, &steady_run(), &server);
        let summary = &timeline.summary;
        assert_eq!(summary.window_s, 1.0);
        assert!(summary.windows_checked >= 20, "{summary:?}");
        assert_eq!(summary.client_window_ratio, Some(1.0));
        let server_ratio = summary.server_window_ratio.expect("server ratio");
        assert!((server_ratio - 1.0).abs() < 1e-9, "{server_ratio}");
        // The whole run: 4,000 latency-seconds against 100 in flight for 4 s, 10 s
        // of draining (in flight at the intervals' ends, a little under the truth).
        let whole = summary.client_littles_ratio.expect("whole run");
        assert!((whole - 1.0).abs() < 0.15, "{whole}");
        let server_whole = summary.server_littles_ratio.expect("server, whole run");
        assert!((server_whole - 1.0).abs() < 1e-9, "{server_whole}");
        assert_eq!(summary.server_in_flight, Some(10.0));
        assert!(summary.client_in_flight.expect("client mean") > 80.0);
        assert_eq!(timeline.points.len(), 50);
        assert_eq!(timeline.points[20].completed_rps, 100.0);
        assert_eq!(summary.chart, "timeline-t.svg");
        // It holds 10 from its first sample: all 10 clients of a -c 10 load at 0 s,
        // never the 100 of this one.
        assert_eq!(timeline.server_holding(10), Some(0.0));
        assert_eq!(timeline.server_holding(100), None);
    }

    #[test]
    fn csv_and_svg_have_every_interval() {
        let timeline = build("t", "a <test>", 0.1, &steady_run(), &[]);
        let csv = timeline.csv();
        assert_eq!(csv.lines().count(), 51);
        assert!(csv.starts_with("start_s,completed_rps,"));
        assert_eq!(timeline.summary.server_littles_ratio, None);
        let svg = timeline.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;test&gt;"));
        // No server series drawn without samples; latencies are dots.
        assert!(!svg.contains(">app<"));
        assert_eq!(svg.matches("<path").count(), 3, "{svg}");
        assert!(svg.matches("<circle").count() >= 80, "{svg}");
    }

    #[test]
    fn an_empty_run_draws_an_empty_chart() {
        let timeline = build("empty", "", 0.1, &[], &[]);
        assert_eq!(timeline.summary.windows_checked, 0);
        assert!(timeline.svg().ends_with("</svg>\n"));
        assert_eq!(timeline.csv().lines().count(), 1);
    }

    #[test]
    fn a_point_lands_at_its_interval_and_value() {
        let timeline = build("t", "", 0.1, &steady_run(), &[]);
        let svg = timeline.svg();
        // Throughput: 100 a second at interval 20, drawn at its middle (2.05 s of 5 s
        // across 80..970 px) and at the top of an axis from 0 to 100 (132..292 px).
        let x = 80.0 + 2.05 / 5.0 * 890.0;
        let completed = svg
            .lines()
            .find(|line| {
                line.starts_with("<path") && line.contains(&format!(r#"stroke="{CLIENT}""#))
            })
            .expect("the throughput line");
        assert!(
            completed.contains(&format!("L{x:.1} 132.0 ")),
            "{completed}"
        );
        // Its time axis: every second, labelled under the last panel.
        for second in 0..=5 {
            let label = format!(
                r#"<text x="{:.1}" y="#,
                80.0 + f64::from(second) / 5.0 * 890.0
            );
            assert!(svg.contains(&label), "{second} s");
        }
    }
}
