//! Ramps: a client ramp (`--ramp A:B:T`) grows what is in flight, rate stages
//! (`--rate-stages`) send each stage's rate and end with the last one, shards of both
//! merge into the whole, and bad flags exit 2. Bounds are generous: the machine is a
//! noisy 2-core box shared with other builds.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use loadgen::{
    run_blocking, ClientRamp, LoadSpec, RampReport, RateSchedule, RateStage, RateStageReport,
    Report, Timeline,
};
use support::{check_sums, json, loadgen, run, write, TestServer};

fn stage(rate: f64, seconds: f64) -> RateStage {
    RateStage {
        rate,
        duration: Duration::from_secs_f64(seconds),
    }
}

/// Requests started in the intervals that begin in `from..to` seconds.
fn started_between(timeline: &Timeline, from: f64, to: f64) -> u64 {
    timeline
        .intervals
        .iter()
        .filter(|i| i.start_s >= from - 1e-9 && i.start_s < to - 1e-9)
        .map(|i| i.started)
        .sum()
}

/// The timeline's invariants hold ([`check_sums`]: every request started is complete,
/// failed or unfinished, ...); returns the requests started.
fn started_adds_up(timeline: &Timeline, report: &Report) -> u64 {
    check_sums(timeline, report);
    timeline.intervals.iter().map(|i| i.started).sum()
}

#[test]
fn a_client_ramp_grows_what_is_in_flight() {
    let server = TestServer::start();
    // 2 clients at once, then one every 1/8 s until 10 run at 1 s; each request
    // takes 100 ms, so each client holds one in flight almost all the time.
    let report = run(LoadSpec {
        requests: None,
        time_limit: Some(Duration::from_secs(2)),
        concurrency: 10,
        keep_alive: true,
        ramp: Some(ClientRamp {
            from: 2,
            over: Duration::from_secs(1),
        }),
        ..LoadSpec::new(server.url("/sleep?ms=100"))
    });
    assert_eq!(
        report.ramp,
        Some(RampReport {
            from: 2,
            to: 10,
            over_s: 1.0
        })
    );
    assert_eq!(report.concurrency, 10);
    assert_eq!(report.ramp_up_s, None, "--ramp-up was not given");
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    let timeline = report.timeline.as_ref().expect("a timeline");
    started_adds_up(timeline, &report);
    let intervals = &timeline.intervals;
    assert!(intervals.len() >= 19, "{intervals:?}");
    // The third client starts at 0.125 s: in the first 0.1 s only the first two send.
    assert!(
        (1..=2).contains(&intervals[0].started),
        "{:?}",
        intervals[0]
    );
    assert!(intervals[0].in_flight <= 2, "{:?}", intervals[0]);
    assert!(intervals.iter().all(|i| i.in_flight <= 10), "{intervals:?}");
    // By 0.3 s at most four clients have started; from 1 s on, all ten.
    let early = intervals[..3].iter().map(|i| i.in_flight).max();
    assert!(early.is_some_and(|most| most <= 4), "{intervals:?}");
    let late = &intervals[11..19];
    let late_mean = late.iter().map(|i| i.in_flight).sum::<u64>() as f64 / late.len() as f64;
    assert!(late_mean >= 7.0, "in flight after the ramp: {intervals:?}");
    // About 2 x 20 requests from the first two, 115 from the eight that join.
    assert!(
        (60..=160).contains(&report.complete),
        "{} complete",
        report.complete
    );
}

#[test]
fn rate_stages_send_each_stages_rate_and_end_with_the_last() {
    let server = TestServer::start();
    let stages = vec![stage(50.0, 1.0), stage(150.0, 1.0)];
    let report = run(LoadSpec {
        requests: None,
        concurrency: 10,
        keep_alive: true,
        rate_stages: stages.clone(),
        ..LoadSpec::new(server.url("/"))
    });
    let timeline = report.timeline.as_ref().expect("a timeline");
    let started = started_adds_up(timeline, &report);
    // 50 then 150: every due time is before the end at 2 s.
    assert!((190..=200).contains(&started), "{started} started");
    let first = started_between(timeline, 0.0, 1.0);
    let second = started_between(timeline, 1.0, 2.1);
    assert!((40..=60).contains(&first), "first stage: {first}");
    assert!((130..=160).contains(&second), "second stage: {second}");
    // The stages' end is the time limit.
    assert!(
        (1.9..=2.001).contains(&report.time_taken_s),
        "time taken {}",
        report.time_taken_s
    );
    assert_eq!(report.requested, None);
    assert_eq!(
        report.rate_stages,
        Some(vec![
            RateStageReport {
                target_rps: 50.0,
                duration_s: 1.0
            },
            RateStageReport {
                target_rps: 150.0,
                duration_s: 1.0
            },
        ])
    );
    let rate = report.rate.expect("an open loop reports its rate");
    assert_eq!(rate.target_rps, 100.0, "the stages' mean");
    assert!(report.latency_ms.p50 > 0.0);

    // -n and -t end the stages earlier.
    let report = run(LoadSpec {
        requests: Some(30),
        concurrency: 5,
        keep_alive: true,
        rate_stages: stages.clone(),
        ..LoadSpec::new(server.url("/"))
    });
    assert_eq!(report.complete, 30);
    assert!(report.time_taken_s < 1.0, "{}", report.time_taken_s);
    let report = run(LoadSpec {
        requests: None,
        time_limit: Some(Duration::from_millis(500)),
        concurrency: 5,
        keep_alive: true,
        rate_stages: stages,
        ..LoadSpec::new(server.url("/"))
    });
    let started = started_adds_up(report.timeline.as_ref().expect("a timeline"), &report);
    assert!((20..=25).contains(&started), "{started} started in 0.5 s");
    assert!(report.time_taken_s <= 0.501, "{}", report.time_taken_s);
}

#[test]
fn bad_ramps_and_stages_are_usage_errors() {
    let url = "http://127.0.0.1/";
    let ramp = |from, seconds| {
        Some(ClientRamp {
            from,
            over: Duration::from_secs_f64(seconds),
        })
    };
    let closed = LoadSpec {
        requests: None,
        time_limit: Some(Duration::from_secs(1)),
        concurrency: 4,
        ..LoadSpec::new(url)
    };
    for spec in [
        LoadSpec {
            ramp: ramp(4, 1.0),
            ..closed.clone()
        },
        LoadSpec {
            ramp: ramp(5, 1.0),
            ..closed.clone()
        },
        LoadSpec {
            ramp: ramp(1, 0.0),
            ..closed.clone()
        },
        LoadSpec {
            ramp: ramp(1, 1.0),
            ramp_up: Some(Duration::from_secs(1)),
            ..closed.clone()
        },
        LoadSpec {
            ramp: ramp(1, 1.0),
            rate: Some(10.0),
            ..closed.clone()
        },
        LoadSpec {
            ramp: ramp(1, 1.0),
            rate_stages: vec![stage(10.0, 1.0)],
            ..closed.clone()
        },
        LoadSpec {
            rate: Some(10.0),
            rate_stages: vec![stage(10.0, 1.0)],
            ..closed.clone()
        },
        LoadSpec {
            ramp_up: Some(Duration::from_secs(1)),
            rate_stages: vec![stage(10.0, 1.0)],
            ..closed.clone()
        },
        LoadSpec {
            rate_stages: vec![stage(10.0, 1.0), stage(0.0, 1.0)],
            ..closed.clone()
        },
        LoadSpec {
            rate_stages: vec![stage(10.0, 0.0)],
            ..closed.clone()
        },
    ] {
        let err = run_blocking(spec.clone()).expect_err("invalid spec");
        assert!(err.is_usage(), "{spec:?}: {err}");
        assert_eq!(err.to_string().lines().count(), 1, "{err}");
    }
    // Stages alone need neither -n nor -t: they end the load.
    let server = TestServer::start();
    let report = run_blocking(LoadSpec {
        requests: None,
        time_limit: None,
        concurrency: 2,
        rate_stages: vec![stage(10.0, 0.3)],
        ..LoadSpec::new(server.url("/"))
    })
    .expect("stages alone are a valid spec");
    // Three requests are due; one due just before the end may be cut off by it.
    assert_eq!(report.complete + report.failed + report.unfinished, 3);
    assert!(report.complete >= 2, "{}", report.complete);
}

#[test]
fn the_cli_reports_a_ramp_and_stages() {
    let server = TestServer::start();
    let ramp = ["-k", "-n", "12", "--ramp", "1:4:0.3"];
    let report = json(&loadgen(
        &[&ramp[..], &["--json", &server.url("/")]].concat(),
    ));
    assert_eq!(report["concurrency"], 4, "B sets -c");
    assert_eq!(report["complete"], 12);
    assert_eq!(
        report["ramp"],
        serde_json::json!({"from": 1, "to": 4, "over_s": 0.3})
    );
    assert_eq!(report["ramp_up_s"], serde_json::Value::Null);
    assert_eq!(report["rate_stages"], serde_json::Value::Null);
    // A -c equal to B agrees with it.
    let same_c = ["-c", "4", "-q"];
    let output = loadgen(&[&ramp[..], &same_c, &[&server.url("/")]].concat());
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\nRamp:                   1 -> 4 clients over 0.3 s\n"),
        "{text}"
    );
    assert!(text.contains("Concurrency Level:      4"), "{text}");

    let stages = ["-k", "-c", "2", "--rate-stages", "40:0.5,80:0.5"];
    let report = json(&loadgen(
        &[&stages[..], &["--json", &server.url("/")]].concat(),
    ));
    assert_eq!(
        report["rate_stages"],
        serde_json::json!([
            {"target_rps": 40.0, "duration_s": 0.5},
            {"target_rps": 80.0, "duration_s": 0.5},
        ])
    );
    assert_eq!(report["rate"]["target_rps"], 60.0);
    assert_eq!(report["requested"], serde_json::Value::Null, "not -n 1");
    let done = ["complete", "failed", "unfinished"]
        .iter()
        .filter_map(|field| report[field].as_u64())
        .sum::<u64>();
    assert!((55..=60).contains(&done), "20 + 40 due: {report}");
    let output = loadgen(&[&stages[..], &["-q", &server.url("/")]].concat());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\nRate stages:            40/s for 0.5 s, 80/s for 0.5 s\n"),
        "{text}"
    );
    assert!(
        text.contains("Target rate:            60.00 [#/sec] (the stages' mean), "),
        "{text}"
    );
}

#[test]
fn bad_ramp_and_stage_flags_exit_2() {
    let url = "http://127.0.0.1:1/";
    for args in [
        &["--ramp", "5:2:1", url][..],
        &["--ramp", "2:2:1", url],
        &["--ramp", "1:4", url],
        &["--ramp", "1:4:0", url],
        &["--ramp", "a:4:1", url],
        &["--ramp", "1:4:1:1", url],
        &["--ramp", "", url],
        &["-c", "3", "--ramp", "1:4:1", url],
        &["-t", "1", "--ramp", "1:4:1", "--ramp-up", "1", url],
        &["-t", "1", "--ramp", "1:4:1", "--rate", "10", url],
        &["-t", "1", "--ramp", "1:4:1", "--rate-stages", "10:1", url],
        &["--rate-stages", "", url],
        &["--rate-stages", "100", url],
        &["--rate-stages", "0:5", url],
        &["--rate-stages", "100:0", url],
        &["--rate-stages", "100:5,", url],
        &["--rate-stages", "100:5;200:5", url],
        &["--rate", "10", "--rate-stages", "10:1", url],
        &["--rate-stages", "10:1", "--ramp-up", "1", url],
        &["-n", "2", "-c", "4", "--rate-stages", "10:1", url],
    ] {
        let output = loadgen(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.is_empty(), "{args:?} explains itself");
        assert!(output.stdout.is_empty(), "{args:?}: nothing ran");
    }
    let output = loadgen(&["-c", "3", "--ramp", "1:4:1", url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr, "loadgen: --ramp 1:4:1 sets -c 4, but -c 3 was given: drop -c\n",
        "one line"
    );
    let output = loadgen(&["--ramp", "5:2:1", url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("A (5) must be below B (2)"), "{stderr}");
    let output = loadgen(&["--rate-stages", "100:5,0:5", url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stage 2: rate \"0\""), "{stderr}");
}

/// Runs the shards `1/K..K/K` of `args` at once (one common start) and writes their
/// reports as `{prefix}-I.json`.
fn run_shards(dir: &Path, prefix: &str, count: u64, args: &[&str], url: &str) -> Vec<String> {
    let start_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        + 0.5;
    let start_at = format!("{start_at:.3}");
    let children: Vec<_> = (1..=count)
        .map(|index| {
            Command::new(env!("CARGO_BIN_EXE_loadgen"))
                .args(args)
                .args(["--json", "--start-at", &start_at, "--shard"])
                .arg(format!("{index}/{count}"))
                .arg(url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a shard")
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(n, child)| {
            let output = child.wait_with_output().expect("run a shard");
            write(dir, &format!("{prefix}-{}.json", n + 1), &output)
        })
        .collect()
}

fn read(file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON")
}

fn timeline_started(report: &serde_json::Value) -> u64 {
    report["timeline"]["intervals"]
        .as_array()
        .expect("intervals")
        .iter()
        .filter_map(|i| i["started"].as_u64())
        .sum()
}

#[test]
fn sharded_stages_merge_into_the_unsharded_schedule() {
    let dir = support::temp_dir("ramps", "stages");
    let server = TestServer::start();
    // The last request is due 25 ms before the end: a shard late by a moment still
    // sends it.
    let stages = "100:0.5,40:0.5";
    let schedule =
        RateSchedule::new(&loadgen::parse_rate_stages(stages).expect("valid")).expect("valid");
    assert_eq!(schedule.requests(), 50 + 20);
    let files = run_shards(
        &dir,
        "stages",
        2,
        &["-k", "-c", "4", "--rate-stages", stages],
        &server.url("/"),
    );
    // Each shard sends every other request of the whole schedule, at half its rates.
    for file in &files {
        let report = read(file);
        assert_eq!(timeline_started(&report), 35, "{file}: {report}");
        assert_eq!(
            report["rate_stages"],
            serde_json::json!([
                {"target_rps": 50.0, "duration_s": 0.5},
                {"target_rps": 20.0, "duration_s": 0.5},
            ])
        );
        assert_eq!(report["concurrency"], 2);
    }
    let merged = json(&loadgen(&["merge", "--json", &files[0], &files[1]]));
    assert_eq!(merged["shard"], "1/2,2/2");
    assert_eq!(
        merged["rate_stages"],
        serde_json::json!([
            {"target_rps": 100.0, "duration_s": 0.5},
            {"target_rps": 40.0, "duration_s": 0.5},
        ])
    );
    assert_eq!(merged["rate"]["target_rps"], 70.0);
    assert_eq!(timeline_started(&merged), schedule.requests());
    let done = ["complete", "failed", "unfinished"]
        .iter()
        .filter_map(|field| merged[*field].as_u64())
        .sum::<u64>();
    assert_eq!(done, schedule.requests(), "{merged}");
    let output = loadgen(&["merge", &files[0], &files[1]]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\nRate stages:            100/s for 0.5 s, 40/s for 0.5 s\n"),
        "{text}"
    );

    // Shards of other stages are not shards of this load.
    let other_durations = run_shards(
        &dir,
        "durations",
        2,
        &["-k", "-c", "4", "--rate-stages", "100:0.5,40:0.25"],
        &server.url("/"),
    );
    let other_rates = run_shards(
        &dir,
        "rates",
        2,
        &["-k", "-c", "4", "--rate-stages", "100:0.5,20:0.5"],
        &server.url("/"),
    );
    let constant = run_shards(
        &dir,
        "constant",
        2,
        &["-k", "-c", "4", "-t", "0.3", "--rate", "100"],
        &server.url("/"),
    );
    for (second, says) in [
        (
            &other_durations[1],
            "--rate-stages has stages of 0.5 s, 0.25 s but stages of 0.5 s, 0.5 s",
        ),
        (
            &other_rates[1],
            "stage 2 at 20/s is not shard 1/2's share of 30/s",
        ),
        (&constant[1], "--rate-stages has off but stages of"),
    ] {
        let output = loadgen(&["merge", &files[0], second]);
        assert_eq!(output.status.code(), Some(2), "{second}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{second}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sharded_ramps_share_a_and_b_and_merge() {
    let dir = support::temp_dir("ramps", "ramp");
    let server = TestServer::start();
    let args = ["-k", "-n", "12", "--ramp", "1:4:0.3"];
    let files = run_shards(&dir, "ramp", 2, &args, &server.url("/"));
    let shards: Vec<serde_json::Value> = files.iter().map(|f| read(f)).collect();
    // A = 1 goes to the first shard; B = 4 is 2 + 2; both ramp over 0.3 s.
    assert_eq!(
        shards[0]["ramp"],
        serde_json::json!({"from": 1, "to": 2, "over_s": 0.3})
    );
    assert_eq!(
        shards[1]["ramp"],
        serde_json::json!({"from": 0, "to": 2, "over_s": 0.3})
    );
    let merged = json(&loadgen(&["merge", "--json", &files[0], &files[1]]));
    assert_eq!(
        merged["ramp"],
        serde_json::json!({"from": 1, "to": 4, "over_s": 0.3})
    );
    assert_eq!(merged["complete"], 12);
    assert_eq!(merged["concurrency"], 4);
    let output = loadgen(&["merge", &files[0], &files[1]]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\nRamp:                   1 -> 4 clients over 0.3 s\n"),
        "{text}"
    );

    // A shard may get all of its clients at once: A = 3 of B = 4 gives shard 1/2 2 of 2.
    let all_at_once = run_shards(
        &dir,
        "all-at-once",
        2,
        &["-k", "-n", "12", "--ramp", "3:4:0.3"],
        &server.url("/"),
    );
    assert_eq!(
        read(&all_at_once[0])["ramp"],
        serde_json::json!({"from": 2, "to": 2, "over_s": 0.3})
    );
    let other_over = run_shards(
        &dir,
        "other-over",
        2,
        &["-k", "-n", "12", "--ramp", "1:4:0.2"],
        &server.url("/"),
    );
    let no_ramp = run_shards(
        &dir,
        "no-ramp",
        2,
        &["-k", "-n", "12", "-c", "4"],
        &server.url("/"),
    );
    let from_zero = run_shards(
        &dir,
        "from-zero",
        2,
        &["-k", "-n", "12", "--ramp", "0:4:0.3"],
        &server.url("/"),
    );
    for (first, second, says) in [
        (
            &files[0],
            &other_over[1],
            "--ramp is over 0.2 s but over 0.3 s",
        ),
        (&files[0], &no_ramp[1], "--ramp is off but over 0.3 s"),
        (
            &all_at_once[0],
            &from_zero[1],
            "--ramp from 2 clients is not shard 1/2's share of 2",
        ),
    ] {
        let output = loadgen(&["merge", first, second]);
        assert_eq!(output.status.code(), Some(2), "{second}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{second}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
