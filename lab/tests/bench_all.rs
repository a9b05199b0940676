//! `lab bench` on a shortened scenario set, over real services on loopback ports.
//!
//! The runner is started as the real binary; a watcher thread records every process it
//! starts (from /proc), so the tests can check that none outlives a run, finished or
//! interrupted.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kit::testing::services_bin_dir;
use serde_json::Value;

mod support;
use support::{by_id, read_json, run_watched, runner, scratch, survivors, wait_for, Watcher};

fn bench_all(results: &Path, args: &[&str]) -> Command {
    runner("bench", results, args)
}

fn row<'a>(json: &'a Value, id: &str) -> &'a Value {
    by_id(json, "scenarios", id)
}

#[test]
fn quick_run_writes_table_json_and_chart_and_leaves_nothing_running() {
    let results = scratch("quick");
    let mut command = bench_all(&results, &["--delay", "0.1", "--scale", "10"]);
    command.args(["--name", "quick"]);
    let (output, seen) = run_watched(command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench-all failed: {stderr}\n{stdout}"
    );

    // Progress: which scenario, out of how many, and the time left.
    let first = format!("[ 1/{}] devserver", lab::scenarios::SCENARIOS.len());
    assert!(stderr.contains(&first), "{stderr}");
    assert!(stderr.contains("left)"), "{stderr}");

    // The table on stdout, one line per scenario, and the same in the .md file.
    assert!(stdout.contains("| scenario |"), "{stdout}");
    for scenario in lab::scenarios::SCENARIOS {
        assert!(stdout.contains(&format!("| {} |", scenario.id)), "{stdout}");
    }
    let md = std::fs::read_to_string(results.join("quick.md")).expect("quick.md");
    assert!(md.contains("| async |") && md.contains("quick.svg"));

    let svg = std::fs::read_to_string(results.join("quick.svg")).expect("quick.svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("sync-workers") && svg.contains("ceiling"));

    let json = read_json(&results.join("quick.json"));
    let machine = &json["machine"];
    assert!(machine["cpus"].as_u64().is_some_and(|cpus| cpus >= 1));
    assert!(machine["os"].is_string());
    assert!(machine["versions"]["loadgen"].is_string());
    let rows = json["scenarios"].as_array().expect("scenarios");
    assert_eq!(rows.len(), lab::scenarios::SCENARIOS.len());
    for row in rows {
        let id = row["id"].as_str().expect("id");
        for field in [
            "complete",
            "failed",
            "requests_per_second",
            "time_taken_s",
            "ceiling_rps",
            "efficiency",
            "cpu_ms_per_request",
            "peak_rss_mb",
        ] {
            assert!(row[field].is_number(), "{id}: {field} = {}", row[field]);
        }
        for field in ["p50", "p90", "p99", "max"] {
            assert!(
                row["latency_ms"][field].is_number(),
                "{id}: latency {field}"
            );
        }
        assert!(row["article_rps"].is_number() || row["article_rps"].is_null());
        assert!(row["skipped"].is_string() || row["skipped"].is_null());
        if row["skipped"].is_null() {
            assert!(row["error"].is_null(), "{id}: {}", row["error"]);
            // Counts add up: every request is complete or failed.
            let requested = row["load"]["requests"].as_u64().expect("requests");
            let complete = row["complete"].as_u64().expect("complete");
            let failed = row["failed"].as_u64().expect("failed");
            assert_eq!(complete + failed, requested, "{id}");
            assert!(complete > 0, "{id}");
            assert!(row["peak_rss_mb"].as_f64().expect("rss") > 0.0, "{id}");
            // Read from /proc/net/netstat, which Linux always has.
            assert!(row["syn_retransmits"].is_u64(), "{id}: syn_retransmits");
            // Its timeline: the chart and the data beside the results, the client's and
            // the app's figures in it (every row's server has /metrics).
            let timeline = &row["timeline"];
            let chart = timeline["chart"].as_str().expect("timeline chart");
            assert_eq!(chart, format!("timeline-{id}.svg"));
            let chart = std::fs::read_to_string(results.join(chart)).expect("timeline svg");
            assert!(
                chart.starts_with("<svg") && chart.ends_with("</svg>\n"),
                "{id}"
            );
            let csv_name = timeline["csv"].as_str().expect("timeline csv");
            let csv = std::fs::read_to_string(results.join(csv_name)).expect("timeline csv");
            assert!(csv.starts_with("start_s,completed_rps,"), "{id}");
            assert!(csv.lines().count() > 2, "{id}: {csv}");
            for field in [
                "client_in_flight",
                "server_in_flight",
                "client_littles_ratio",
            ] {
                assert!(
                    timeline[field].as_f64().is_some_and(|v| v > 0.0),
                    "{id}: {field}"
                );
            }
            assert!(svg.contains(&format!("href=\"timeline-{id}.svg\"")), "{id}");
        }
    }
    // What only the timeline shows: the blocked loop holds one request while the client
    // has five in flight; the others wait where the app cannot see them.
    let in_flight = |id: &str, side: &str| {
        row(&json, id)["timeline"][side]
            .as_f64()
            .expect("in flight")
    };
    assert!(in_flight("async-blocking", "server_in_flight") <= 1.01);
    assert!(in_flight("async-blocking", "client_in_flight") > 2.0);
    assert!(md.contains("## Timelines") && md.contains("(timeline-async.svg)"));
    // Article figures where the article gives one.
    assert_eq!(row(&json, "sync-workers")["article_rps"], 157.67);
    assert!(row(&json, "nginx-sync")["article_rps"].is_null());

    // The lesson, with generous bounds: a blocked event loop serves one request at a
    // time, its async twin serves them all at once.
    let rps = |id: &str| row(&json, id)["requests_per_second"].as_f64().expect("rps");
    assert!(
        rps("async-blocking") * 2.0 < rps("async"),
        "async-blocking {} vs async {}",
        rps("async-blocking"),
        rps("async")
    );
    if row(&json, "devserver")["skipped"].is_null() {
        assert!(rps("devserver") * 2.0 < rps("devserver-threaded"));
    }

    let left = survivors(&seen);
    assert!(seen.len() >= 3, "the watcher saw only {seen:?}");
    assert!(left.is_empty(), "still running after bench-all: {left:?}");
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
fn missing_nginx_and_postgres_are_skipped_rows_not_failures() {
    let results = scratch("skipped");
    let mut command = bench_all(
        &results,
        &[
            "--delay",
            "0.05",
            "--scale",
            "20",
            "-s",
            "async",
            "-s",
            "nginx-async",
            "-s",
            "pg-async",
            "--name",
            "skipped",
        ],
    );
    command
        .env("NGINX", "/nonexistent/nginx")
        .env("PG_BIN", "/nonexistent");
    let output = command.output().expect("run bench-all");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let json = read_json(&results.join("skipped.json"));
    assert!(row(&json, "async")["skipped"].is_null());
    assert!(row(&json, "async")["complete"].as_u64().expect("complete") > 0);
    let nginx = row(&json, "nginx-async")["skipped"]
        .as_str()
        .expect("nginx-async skipped");
    assert!(nginx.contains("apt-get install -y nginx-light"), "{nginx}");
    let pg = row(&json, "pg-async")["skipped"]
        .as_str()
        .expect("pg-async skipped");
    assert!(pg.contains("postgresql"), "{pg}");
    let md = std::fs::read_to_string(results.join("skipped.md")).expect("skipped.md");
    assert!(md.contains("skipped: nginx not found"), "{md}");
    let _ = std::fs::remove_dir_all(&results);
}

fn interrupt_mid_load(scenario: &str, wait_for_command: &str, extra_env: &[(&str, &str)]) {
    let results = scratch(&format!("interrupted-{scenario}"));
    let mut command = bench_all(&results, &["--delay", "2", "--scale", "10", "-s", scenario]);
    command.envs(extra_env.iter().copied());
    let mut child: Child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bench-all");
    let runner = child.id();
    let watcher = Watcher::start(runner);
    let started = wait_for(Duration::from_secs(60), || {
        watcher.saw_command(wait_for_command) && watcher.count() >= 3
    });
    // Let the load begin.
    std::thread::sleep(Duration::from_millis(800));
    let pid = i32::try_from(runner).expect("pid fits");
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let exited = wait_for(Duration::from_secs(20), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let status = child.wait().expect("bench-all status");
    let seen = watcher.finish();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(started, "{wait_for_command} never started: {stderr}");
    assert!(exited, "bench-all did not exit after SIGINT: {stderr}");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left = survivors(&seen);
    assert!(left.is_empty(), "still running after SIGINT: {left:?}");
    // The scratch directories (logs, configuration, database files) are gone too.
    let prefix = format!("lab-{runner}-");
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!results.join("bench-nginx-async.json").exists());
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
fn interrupted_run_stops_nginx_and_the_app() {
    interrupt_mid_load("nginx-async", "nginx", &[]);
}

#[test]
fn interrupted_run_stops_postgres() {
    assert!(
        kit::postgres::find_bin_dir().is_some(),
        "{}",
        kit::postgres::PACKAGE_HINT
    );
    interrupt_mid_load("pg-async", "postgres", &[]);
}

#[test]
fn sweep_writes_its_files_and_says_how_its_clients_started() {
    let results = scratch("sweep");
    let (output, seen) = run_watched({
        let mut command = Command::new(env!("CARGO_BIN_EXE_lab"));
        command
            .arg("sweep")
            .args(["--scenarios", "sync-workers,async"])
            .args(["--concurrency", "1,8"])
            .args(["--delay", "0.2", "--duration", "1.5", "--ramp-up", "0.2"])
            .arg("--results")
            .arg(&results)
            .arg("--bin-dir")
            .arg(services_bin_dir())
            .stdin(Stdio::null());
        command
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("[ 4/4] async c=8"), "{stderr}");

    let json = read_json(&results.join("sweep.json"));
    assert_eq!(json["ramp_up_s"], 0.2);
    let series = json["series"].as_array().expect("series");
    assert_eq!(series.len(), 2);
    for line in series {
        let points = line["points"].as_array().expect("points");
        assert_eq!(points.len(), 2, "{line}");
        for point in points {
            assert!(point["error"].is_null(), "{point}");
            assert_eq!(point["failed"], 0, "{point}");
            assert!(point["syn_retransmits"].is_u64(), "{point}");
            // 8 clients at 0.2 s: 40 requests/s offered. How much of it a point serves
            // is a measurement (a busy machine serves less); that it served some, and never
            // more than was offered, is behaviour.
            let fraction = point["fraction_of_load"].as_f64().expect("fraction");
            assert!(fraction > 0.0 && fraction < 1.2, "{point}");
        }
    }
    let md = std::fs::read_to_string(results.join("sweep.md")).expect("sweep.md");
    assert!(md.contains("clients started over 0.2 s") && md.contains("SYN resent"));
    let svg = std::fs::read_to_string(results.join("sweep.svg")).expect("sweep.svg");
    assert!(svg.contains("started over 0.2 s"), "chart subtitle");

    let left = survivors(&seen);
    assert!(left.is_empty(), "still running after the sweep: {left:?}");
    let _ = std::fs::remove_dir_all(&results);
}
