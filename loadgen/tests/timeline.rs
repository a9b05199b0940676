//! The run's timeline: intervals that add up to the run's counts, in flight as the
//! clients hold it, the CSV file, coalescing under the cap, and bad `--interval`s.

mod support;

use std::time::Duration;

use loadgen::{run_blocking, LoadSpec, MAX_INTERVALS};
use support::{check_sums, loadgen, run, TestServer};

#[test]
fn intervals_sum_to_the_runs_counts() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(300),
        concurrency: 6,
        keep_alive: true,
        timeline_interval: Duration::from_millis(10),
        ..LoadSpec::new(server.url("/status"))
    });
    let timeline = report.timeline.as_ref().expect("a timeline");
    assert_eq!(timeline.interval_s, 0.01);
    check_sums(timeline, &report);
    assert_eq!(report.non_2xx, 75);
    let last = timeline.intervals.last().expect("an interval");
    assert_eq!(last.in_flight, 0, "a finished run has nothing in flight");
}

#[test]
fn failures_are_completed_errors() {
    let server = TestServer::start();
    let report = run(LoadSpec {
        requests: Some(12),
        concurrency: 3,
        continue_on_socket_error: true,
        ..LoadSpec::new(server.url("/reset"))
    });
    assert_eq!(report.failed, 12);
    let timeline = report.timeline.as_ref().expect("a timeline");
    check_sums(timeline, &report);
    assert!(timeline.intervals.iter().all(|i| i.p50_ms.is_none()));
}

#[test]
fn in_flight_holds_c_during_a_slow_run() {
    let server = TestServer::start();
    // Four clients, each request 100 ms: at 50 ms interval ends all four are busy,
    // except at the rare instant one has just finished and not yet started again.
    let report = run(LoadSpec {
        requests: Some(24),
        concurrency: 4,
        keep_alive: true,
        timeline_interval: Duration::from_millis(50),
        ..LoadSpec::new(server.url("/sleep?ms=100"))
    });
    let timeline = report.timeline.as_ref().expect("a timeline");
    check_sums(timeline, &report);
    let intervals = &timeline.intervals;
    assert!(intervals.iter().all(|i| i.in_flight <= 4), "{intervals:?}");
    // Every interval but the ones at the tail, where clients run out of requests.
    let steady = &intervals[..intervals.len().saturating_sub(3)];
    let full = steady.iter().filter(|i| i.in_flight == 4).count();
    assert!(!steady.is_empty());
    assert!(
        full * 4 >= steady.len() * 3,
        "in flight mostly 4: {intervals:?}"
    );
    assert_eq!(intervals[0].started, 4, "all four start at once");
    let with_latency = intervals.iter().filter_map(|i| i.p50_ms);
    assert!(with_latency.clone().count() > 0);
    for p50 in with_latency {
        assert!(p50 >= 100.0, "each answer takes 100 ms, p50 {p50}");
    }
}

#[test]
fn tiny_intervals_coalesce_within_the_cap() {
    let server = TestServer::start();
    // 1 ms intervals over about 1.5 s would be some 1,500 intervals: within the cap.
    // -t 3 makes it about 3,000, past the cap: the width doubles once.
    let report = run(LoadSpec {
        requests: None,
        time_limit: Some(Duration::from_secs(3)),
        concurrency: 2,
        keep_alive: true,
        timeline_interval: Duration::from_millis(1),
        ..LoadSpec::new(server.url("/sleep?ms=5"))
    });
    let timeline = report.timeline.as_ref().expect("a timeline");
    assert!(
        timeline.intervals.len() <= MAX_INTERVALS,
        "{}",
        timeline.intervals.len()
    );
    assert!(timeline.intervals.len() > MAX_INTERVALS / 2);
    assert_eq!(timeline.interval_s, 0.002, "1 ms doubled once");
    check_sums(timeline, &report);
}

#[test]
fn json_and_csv_have_the_same_rows() {
    let server = TestServer::start();
    let dir = std::env::temp_dir().join(format!("loadgen-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let csv_path = dir.join("timeline.csv");
    let csv_arg = csv_path.to_string_lossy().into_owned();
    let url = server.url("/status");
    let output = loadgen(&[
        "-n",
        "40",
        "-c",
        "2",
        "--interval",
        "20ms",
        "--timeline",
        &csv_arg,
        "--json",
        &url,
    ]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["timeline"]["interval_s"], 0.02);
    let intervals = json["timeline"]["intervals"].as_array().expect("intervals");
    for field in [
        "start_s",
        "started",
        "completed",
        "ok",
        "errors",
        "in_flight",
        "p50_ms",
        "p99_ms",
        "mean_ms",
    ] {
        assert!(
            intervals[0].get(field).is_some(),
            "{field} in {}",
            intervals[0]
        );
    }
    assert_eq!(intervals[0].as_object().map(|o| o.len()), Some(9));
    let csv = std::fs::read_to_string(&csv_path).expect("the CSV file");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("start_s,started,completed,ok,errors,in_flight,p50_ms,p99_ms,mean_ms")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), intervals.len());
    for (row, interval) in rows.iter().zip(intervals) {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields.len(), 9, "{row}");
        let number = |text: &str| text.parse::<f64>().ok();
        assert_eq!(number(fields[0]), interval["start_s"].as_f64());
        for (n, name) in ["started", "completed", "ok", "errors", "in_flight"]
            .iter()
            .enumerate()
        {
            assert_eq!(number(fields[n + 1]), interval[name].as_f64(), "{name}");
        }
        assert_eq!(number(fields[6]), interval["p50_ms"].as_f64());
        assert_eq!(number(fields[7]), interval["p99_ms"].as_f64());
        assert_eq!(number(fields[8]), interval["mean_ms"].as_f64());
    }

    // The text report says where the timeline went, in one line.
    let output = loadgen(&["-n", "4", "--timeline", &csv_arg, &url]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("written to"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_intervals_exit_2() {
    for interval in ["0", "-1", "0.0005", "500us", "soon", "", "1e20", "ms"] {
        let flag = format!("--interval={interval}");
        let output = loadgen(&[&flag, "http://127.0.0.1:1/"]);
        assert_eq!(output.status.code(), Some(2), "{interval:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("interval"), "{interval:?}: {stderr}");
    }
    let output = loadgen(&[
        "--timeline",
        "/nonexistent-dir/t.csv",
        "http://127.0.0.1:1/",
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn bad_interval_in_a_spec_is_a_usage_error() {
    let err = run_blocking(LoadSpec {
        timeline_interval: Duration::from_micros(10),
        ..LoadSpec::new("http://127.0.0.1:1/")
    })
    .expect_err("too short");
    assert!(err.is_usage(), "{err}");
}
