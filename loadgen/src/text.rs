//! ab's summary, with ab's labels and layout, plus the lines ab does not have.

use std::fmt::Write;

use crate::report::{Latency, Phase, Report};

/// The summary ab prints after a run (from "Server Software:" to the percentage
/// table), followed by loadgen's own lines: length mismatches, HDR percentiles,
/// the ramp or the rate stages, the Little's-law check and, with `--rate` (or
/// `--rate-stages`), corrected and raw latency.
pub fn ab_summary(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, report);
    out
}

fn write_summary(out: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(
        out,
        "Server Software:        {}",
        r.server_software.as_deref().unwrap_or("")
    )?;
    writeln!(out, "Server Hostname:        {}", r.server_hostname)?;
    writeln!(out, "Server Port:            {}", r.server_port)?;
    writeln!(out)?;
    writeln!(out, "Document Path:          {}", r.document_path)?;
    writeln!(
        out,
        "Document Length:        {} bytes",
        r.document_length.unwrap_or(0)
    )?;
    writeln!(out)?;
    writeln!(out, "Concurrency Level:      {}", r.concurrency)?;
    writeln!(out, "Time taken for tests:   {:.3} seconds", r.time_taken_s)?;
    writeln!(out, "Complete requests:      {}", r.complete)?;
    writeln!(out, "Failed requests:        {}", r.failed)?;
    if r.failed > 0 {
        let f = &r.failures;
        writeln!(
            out,
            "   (Connect: {}, Receive: {}, Timeout: {}, Exceptions: {})",
            f.connect, f.receive, f.timeout, f.exceptions
        )?;
    }
    if r.length_mismatches > 0 {
        writeln!(
            out,
            "Length mismatches:      {} (body length differs from the first response; \
             not failures here, ab would count them as \"Length\" failures)",
            r.length_mismatches
        )?;
    }
    if r.unfinished > 0 {
        writeln!(
            out,
            "Unfinished requests:    {} (in flight when the test stopped; not counted)",
            r.unfinished
        )?;
    }
    if r.non_2xx > 0 {
        writeln!(out, "Non-2xx responses:      {}", r.non_2xx)?;
    }
    if r.keep_alive {
        writeln!(out, "Keep-Alive requests:    {}", r.keep_alive_requests)?;
    }
    writeln!(
        out,
        "Total transferred:      {} bytes",
        r.total_transferred_bytes
    )?;
    writeln!(
        out,
        "HTML transferred:       {} bytes",
        r.html_transferred_bytes
    )?;
    if r.time_taken_s > 0.0 && r.complete > 0 {
        writeln!(
            out,
            "Requests per second:    {:.2} [#/sec] (mean)",
            r.requests_per_second
        )?;
        writeln!(
            out,
            "Time per request:       {:.3} [ms] (mean)",
            r.time_per_request_ms
        )?;
        writeln!(
            out,
            "Time per request:       {:.3} [ms] (mean, across all concurrent requests)",
            r.time_per_request_all_ms
        )?;
        writeln!(
            out,
            "Transfer rate:          {:.2} [Kbytes/sec] received",
            r.transfer_rate_kbps
        )?;
    }
    writeln!(out)?;
    if r.complete > 0 {
        let t = &r.connection_times_ms;
        writeln!(out, "Connection Times (ms)")?;
        writeln!(out, "              min  mean[+/-sd] median   max")?;
        phase_row(out, "Connect:    ", &t.connect)?;
        phase_row(out, "Processing: ", &t.processing)?;
        phase_row(out, "Waiting:    ", &t.waiting)?;
        phase_row(out, "Total:      ", &t.total)?;
        writeln!(out)?;
        writeln!(
            out,
            "Percentage of the requests served within a certain time (ms)"
        )?;
        for p in &r.percentiles_ms {
            let longest = if p.percent >= 100.0 {
                " (longest request)"
            } else {
                ""
            };
            writeln!(out, " {:3}%  {:5.0}{longest}", p.percent, p.ms)?;
        }
        writeln!(out)?;
    }

    // What ab does not print.
    if let Some(ramp) = &r.ramp {
        writeln!(
            out,
            "Ramp:                   {} -> {} clients over {} s",
            ramp.from,
            ramp.to,
            number(ramp.over_s)
        )?;
    }
    if let Some(stages) = &r.rate_stages {
        let stages: Vec<String> = stages
            .iter()
            .map(|s| format!("{}/s for {} s", number(s.target_rps), number(s.duration_s)))
            .collect();
        writeln!(out, "Rate stages:            {}", stages.join(", "))?;
    }
    match &r.rate {
        Some(rate) => {
            let mean = if r.rate_stages.is_some() {
                " (the stages' mean)"
            } else {
                ""
            };
            writeln!(
                out,
                "Target rate:            {:.2} [#/sec]{mean}, {} requests sent more than 1 ms late",
                rate.target_rps, rate.sent_late
            )?;
            latency_line(out, "Latency (corrected, from due time)", &r.latency_ms)?;
            latency_line(
                out,
                "Latency (raw, from actual send)   ",
                &rate.raw_latency_ms,
            )?;
        }
        None => latency_line(out, "Latency (HDR histogram)", &r.latency_ms)?,
    }
    let ll = &r.littles_law;
    writeln!(
        out,
        "Little's law check:     {:.1} requests in flight on average \
         (throughput x mean latency) for concurrency {}: {:.1}%",
        ll.in_flight,
        ll.concurrency,
        ll.ratio * 100.0
    )?;
    if r.rate.is_none() && r.complete > 0 && ll.ratio < 0.9 {
        let ramp = match (r.ramp_up_s, &r.ramp) {
            (Some(seconds), _) => format!(", or the {seconds} s --ramp-up"),
            (None, Some(ramp)) => {
                format!(", or the ramp from {} to {} clients", ramp.from, ramp.to)
            }
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "                        (under 90%: something held fewer requests in flight \
             than -c; the generator, a client limit, or connection setup{ramp})"
        )?;
    }
    writeln!(out, "Connections opened:     {}", r.connections_opened)?;
    if let Some(reason) = &r.aborted {
        writeln!(out, "Aborted:                {reason}")?;
    }
    Ok(())
}

/// A figure with at most 3 decimals and no trailing zeros: 100, 0.5, 33.333.
fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

fn phase_row(out: &mut String, label: &str, p: &Phase) -> std::fmt::Result {
    writeln!(
        out,
        "{label}{:5.0} {:4.0} {:5.1} {:6.0} {:7.0}",
        p.min, p.mean, p.sd, p.median, p.max
    )
}

fn latency_line(out: &mut String, label: &str, l: &Latency) -> std::fmt::Result {
    writeln!(
        out,
        "{label}: p50 {:.3}, p90 {:.3}, p99 {:.3}, p99.9 {:.3}, max {:.3}, mean {:.3} ms",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    )
}
