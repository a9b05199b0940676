//! `lab live`'s API over real services: a run streams its samples to every listener and
//! ends with the row, bad input is a 400 with a reason, a second run while one holds
//! the bench lock is a 409, Stop ends a run early, and Ctrl-C leaves nothing behind.

mod support;

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use kit::testing::{get, services_bin_dir, Service};
use serde_json::{json, Value};

/// `lab live` on a free port, with its own bench lock (a benchmark running beside the
/// tests must not make them fail with 409).
fn live(lock: &Path, bin_dir: &Path) -> Service {
    let lock = lock.display().to_string();
    let bin_dir = bin_dir.display().to_string();
    Service::start(
        env!("CARGO_BIN_EXE_lab"),
        "--port",
        &["live", "--bench-lock", &lock, "--bin-dir", &bin_dir],
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build(),
    )
}

/// `METHOD url` with a JSON body (or none): the status and the JSON answer.
fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let agent = agent();
    let response = match (method, body) {
        ("POST", Some(body)) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
        ("POST", None) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send("{not json"),
        ("DELETE", _) => agent.delete(url).call(),
        _ => agent.get(url).call(),
    };
    let mut response = response.unwrap_or_else(|err| panic!("{method} {url}: {err}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("a body");
    let value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    (status, value)
}

/// One event of the stream: its name (`None` for a sample) and its data.
type Event = (Option<String>, Value);

/// Reads `GET /api/runs/{id}/events` to its end.
fn events(live: &Service, id: u64) -> Vec<Event> {
    let url = live.url(&format!("/api/runs/{id}/events"));
    let mut response = agent().get(&url).call().expect("the stream");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "text/event-stream");
    let reader = std::io::BufReader::new(response.body_mut().as_reader());
    let mut events = Vec::new();
    let mut name = None;
    for line in reader.lines() {
        let line = line.expect("a line");
        if let Some(event) = line.strip_prefix("event: ") {
            name = Some(event.to_owned());
        } else if let Some(data) = line.strip_prefix("data: ") {
            let data: Value = serde_json::from_str(data).expect("JSON data");
            events.push((name.take(), data));
        }
    }
    events
}

fn start(live: &Service, body: Value) -> u64 {
    let (status, reply) = call("POST", &live.url("/api/runs"), Some(body));
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_u64().expect("an id")
}

fn summary(events: &[Event]) -> &Value {
    let (name, row) = events.last().expect("events");
    assert_eq!(
        name.as_deref(),
        Some("summary"),
        "the stream ends with the row"
    );
    row
}

fn samples(events: &[Event]) -> Vec<&Value> {
    events
        .iter()
        .filter(|(name, _)| name.is_none())
        .map(|(_, data)| data)
        .collect()
}

#[test]
fn bad_runs_are_400_with_a_one_line_reason() {
    let dir = support::scratch("live-400");
    let live = live(&dir.join("bench.lock"), &services_bin_dir());
    let url = live.url("/api/runs");
    for (body, says) in [
        (
            json!({"scenario": "nope", "clients": 10, "delay": 1, "seconds": 5}),
            "unknown scenario",
        ),
        (
            json!({"scenario": "async", "clients": 0, "delay": 1, "seconds": 5}),
            "clients",
        ),
        (
            json!({"scenario": "async", "clients": 10_001, "delay": 1, "seconds": 5}),
            "clients",
        ),
        (
            json!({"scenario": "async", "clients": 10, "delay": -1, "seconds": 5}),
            "delay",
        ),
        (
            json!({"scenario": "async", "clients": 10, "delay": 61, "seconds": 5}),
            "delay",
        ),
        (
            json!({"scenario": "async", "clients": 10, "delay": 1, "seconds": 0}),
            "seconds",
        ),
        (
            json!({"scenario": "async", "clients": 10, "delay": 1, "seconds": 601}),
            "seconds",
        ),
        (json!({"scenario": "async"}), "missing field"),
        (
            json!({"scenario": "async", "clients": 10, "delay": 1, "seconds": 5, "speed": 9}),
            "unknown field",
        ),
    ] {
        let (status, reply) = call("POST", &url, Some(body.clone()));
        assert_eq!(status, 400, "{body}: {reply}");
        let reason = reply["error"].as_str().expect("a reason");
        assert!(
            reason.contains(says) && !reason.contains('\n'),
            "{body}: {reason}"
        );
    }
    let (status, reply) = call("POST", &url, None);
    assert_eq!(status, 400, "{reply}");
    assert!(reply["error"].is_string());
    let (status, reply) = call("GET", &live.url("/api/runs/99"), None);
    assert_eq!(status, 404, "{reply}");
    let (status, scenarios) = call("GET", &live.url("/api/scenarios"), None);
    assert_eq!(status, 200);
    let workers = support::by_id(&json!({ "rows": scenarios }), "rows", "sync-workers").clone();
    assert_eq!(workers["capacity"], 200);
    assert_eq!(workers["ceiling_rps"], 200.0);
    assert_eq!(get(&live.url("/")).status, 200);
}

#[test]
fn a_run_streams_to_every_listener_and_ends_with_the_row() {
    let dir = support::scratch("live-run");
    let live = live(&dir.join("bench.lock"), &services_bin_dir());
    let id = start(
        &live,
        json!({"scenario": "async", "clients": 100, "delay": 0.2, "seconds": 2}),
    );
    // The bench lock is the run's: another run waits its turn.
    let (status, reply) = call(
        "POST",
        &live.url("/api/runs"),
        Some(json!({"scenario": "async", "clients": 1, "delay": 0.2, "seconds": 1})),
    );
    assert_eq!(status, 409, "{reply}");
    assert!(reply["error"]
        .as_str()
        .unwrap_or_default()
        .contains("bench lock"));

    // Two listeners, one from the start and one joining later, see the same stream.
    let first = std::thread::scope(|scope| {
        let early = scope.spawn(|| events(&live, id));
        std::thread::sleep(Duration::from_millis(700));
        let late = events(&live, id);
        let early = early.join().expect("the early listener");
        assert_eq!(early, late);
        early
    });
    assert_eq!(first[0].0.as_deref(), Some("start"));
    assert_eq!(first[0].1["scenario"]["id"], "async");
    let samples = samples(&first);
    assert!(samples.len() >= 10, "{} samples", samples.len());
    let most = |field: &str| {
        samples
            .iter()
            .filter_map(|sample| sample[field].as_f64())
            .fold(0.0, f64::max)
    };
    // Every client waits on the slow API at once: the event loop holds them all.
    assert_eq!(most("clients_in_flight"), 100.0);
    assert!(
        most("server_in_flight") >= 50.0,
        "{}",
        most("server_in_flight")
    );
    assert!(most("requests_per_second") > 0.0);
    for sample in &samples {
        for field in [
            "t_s",
            "completed",
            "errors",
            "ceiling",
            "requests_per_second",
        ] {
            assert!(sample[field].is_number(), "{field}: {sample}");
        }
        assert_eq!(sample["ceiling"], 500.0, "100 clients / 0.2 s");
    }
    let row = summary(&first);
    assert_eq!(row["id"], "async");
    assert!(row["error"].is_null(), "{row}");
    let complete = row["complete"].as_u64().expect("complete");
    assert!(complete > 0);
    assert_eq!(
        row["load"]["requests"].as_u64(),
        Some(complete + row["failed"].as_u64().expect("failed"))
    );

    let (status, run) = call("GET", &live.url(&format!("/api/runs/{id}")), None);
    assert_eq!(status, 200);
    assert_eq!(run["state"], "finished");
    assert!(run["table"]
        .as_str()
        .expect("a table")
        .contains("| async |"));
    // The lock is free again.
    let again = start(
        &live,
        json!({"scenario": "async", "clients": 2, "delay": 0.1, "seconds": 1}),
    );
    assert!(summary(&events(&live, again))["error"].is_null());
}

#[test]
fn stop_ends_a_run_early_and_ctrl_c_leaves_nothing_behind() {
    let dir = support::scratch("live-stop");
    let mut live = live(&dir.join("bench.lock"), &services_bin_dir());
    let watcher = support::Watcher::start(live.pid());
    let id = start(
        &live,
        json!({"scenario": "sync-workers", "clients": 20, "delay": 0.2, "seconds": 120}),
    );
    let listener = std::thread::scope(|scope| {
        let listener = scope.spawn(|| events(&live, id));
        // Stopped once its topology runs (the load starts as soon as it answers).
        assert!(support::wait_for(Duration::from_secs(30), || {
            watcher.saw_command("app_sync")
        }));
        let (status, _) = call("DELETE", &live.url(&format!("/api/runs/{id}")), None);
        assert_eq!(status, 200);
        listener.join().expect("the listener")
    });
    let row = summary(&listener);
    assert!(row["error"].is_null(), "{row}");
    assert!(
        row["time_taken_s"].as_f64().expect("time") < 60.0,
        "stopped early: {row}"
    );

    // A run under way, then Ctrl-C: the lab stops what it started and exits.
    start(
        &live,
        json!({"scenario": "nginx-sync", "clients": 20, "delay": 0.2, "seconds": 120}),
    );
    // Its topology up (nginx in front of app_sync): then Ctrl-C has something to stop.
    assert!(
        support::wait_for(Duration::from_secs(30), || {
            watcher.saw_command("nginx") && watcher.saw_command("app_sync")
        }),
        "nginx-sync never started"
    );
    live.signal(libc::SIGINT);
    assert!(
        live.wait_exit(Duration::from_secs(30)).is_some(),
        "lab live exited"
    );
    let seen = watcher.finish();
    let left = support::survivors(&seen);
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn a_topology_that_cannot_start_says_why_and_frees_the_lock() {
    let dir = support::scratch("live-missing");
    let empty = dir.join("no-binaries");
    std::fs::create_dir_all(&empty).expect("dir");
    let live = live(&dir.join("bench.lock"), &empty);
    let id = start(
        &live,
        json!({"scenario": "async", "clients": 10, "delay": 0.1, "seconds": 1}),
    );
    let events = events(&live, id);
    let row = summary(&events);
    let reason = row["error"].as_str().or(row["skipped"].as_str());
    assert!(
        reason.is_some_and(|reason| reason.contains("slow_api") || reason.contains("app_async")),
        "{row}"
    );
    start(
        &live,
        json!({"scenario": "async", "clients": 10, "delay": 0.1, "seconds": 1}),
    );
}

#[test]
fn a_run_ends_by_its_duration_with_nobody_watching() {
    let dir = support::scratch("live-unwatched");
    let live = live(&dir.join("bench.lock"), &services_bin_dir());
    let id = start(
        &live,
        json!({"scenario": "devserver", "clients": 2, "delay": 0.1, "seconds": 1}),
    );
    let url = live.url(&format!("/api/runs/{id}"));
    assert!(support::wait_for(Duration::from_secs(60), || {
        call("GET", &url, None).1["state"] == "finished"
    }));
    let (_, run) = call("GET", &url, None);
    assert!(
        run["row"]["complete"].as_u64().expect("complete") > 0,
        "{run}"
    );
    // Its events are all still there for a late listener.
    assert!(summary(&events(&live, id))["error"].is_null());
}

/// Two topologies side by side under one load: the event loop holds what the thread
/// cap cannot, and the summary holds both rows.
#[test]
fn side_by_side_the_thread_cap_shows_beside_the_event_loop() {
    let dir = support::scratch("live-beside");
    let live = live(&dir.join("bench.lock"), &services_bin_dir());
    let id = start(
        &live,
        json!({"scenario": "async", "beside": "sync-workers", "clients": 300, "delay": 0.2, "seconds": 2}),
    );
    let events = events(&live, id);
    let most = |scenario: &str, field: &str| {
        samples(&events)
            .iter()
            .filter(|sample| sample["scenario"] == scenario)
            .filter_map(|sample| sample[field].as_f64())
            .fold(0.0, f64::max)
    };
    for scenario in ["async", "sync-workers"] {
        let count = samples(&events)
            .iter()
            .filter(|sample| sample["scenario"] == scenario)
            .count();
        assert!(count >= 10, "{scenario}: {count} samples");
        assert_eq!(most(scenario, "clients_in_flight"), 300.0, "{scenario}");
    }
    assert!(most("sync-workers", "server_in_flight") <= 200.0);
    assert!(most("async", "server_in_flight") > 200.0);
    let rows = summary(&events).as_array().expect("two rows");
    let ids: Vec<&str> = rows.iter().filter_map(|row| row["id"].as_str()).collect();
    assert_eq!(ids, ["async", "sync-workers"]);
    assert!(rows.iter().all(|row| row["error"].is_null()), "{rows:?}");
}
