//! compare (`make bench-python`) on a few pairs with a short delay, over real services,
//! real Python servers from the pinned venv, real nginx and PostgreSQL.
//!
//! `make test` prepares the venv first (`make python-env`), so these tests need it and
//! fail rather than skip without it; one test checks on purpose what a run without
//! Python does (its Python rows say why they were skipped, the Rust rows still run).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

mod support;
use support::{by_id, read_json, run_watched, runner, scratch, survivors, wait_for, Watcher};

fn compare(results: &Path, args: &[&str]) -> Command {
    runner("compare", results, args)
}

fn pair<'a>(json: &'a Value, id: &str) -> &'a Value {
    by_id(json, "pairs", id)
}

const QUICK: &[&str] = &[
    "devserver-flask",
    "sync-workers-gunicorn",
    "nginx-uwsgi-gevent",
    "pg-blocking-psycopg2",
    "slow-api-aiohttp",
    "async-pywsgi-c1000",
];

#[test]
fn quick_compare_writes_every_field_and_leaves_nothing_running() {
    let results = scratch("compare-quick");
    let mut args = vec!["--delay", "0.1", "--scale", "10", "--name", "quick"];
    for id in QUICK {
        args.extend(["-p", id]);
    }
    let (output, seen) = run_watched(compare(&results, &args));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "compare failed: {stderr}\n{stdout}"
    );
    assert!(stderr.contains("[ 1/6] devserver-flask Rust"), "{stderr}");
    assert!(stderr.contains("left)"), "{stderr}");

    let md = std::fs::read_to_string(results.join("quick.md")).expect("quick.md");
    for text in [stdout.as_ref(), md.as_str()] {
        assert!(text.contains("| pair | load | ceiling |"), "{text}");
        for id in QUICK {
            assert!(text.contains(&format!("| {id} |")), "{id}: {text}");
        }
    }
    assert!(md.contains("quick.svg") && md.contains("gunicorn --workers 4 --threads 50"));
    let svg = std::fs::read_to_string(results.join("quick.svg")).expect("quick.svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("nginx-uwsgi-gevent") && svg.contains("ceiling"));

    let json = read_json(&results.join("quick.json"));
    assert!(json["started_at"].is_string() && json["wall_time_s"].is_number());
    assert!(json["machine"]["cpus"]
        .as_u64()
        .is_some_and(|cpus| cpus >= 1));
    let python = &json["python"];
    assert!(
        python["skipped"].is_null(),
        "no Python venv: {}",
        python["skipped"]
    );
    assert!(python["version"]
        .as_str()
        .is_some_and(|v| v.starts_with("Python 3")));
    assert_eq!(python["lock_file"], "python/requirements.lock");
    let packages = python["packages"].as_array().expect("packages");
    assert!(packages
        .iter()
        .any(|p| p.as_str().is_some_and(|p| p.starts_with("gevent=="))));

    let pairs = json["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), QUICK.len());
    for pair in pairs {
        let id = pair["id"].as_str().expect("id");
        for field in ["rust_scenario", "python_server", "python_command"] {
            assert!(pair[field].is_string(), "{id}: {field}");
        }
        assert!(pair["extra"].is_boolean(), "{id}: extra");
        for side in ["rust", "python"] {
            let row = &pair[side];
            assert!(row["skipped"].is_null(), "{id} {side}: {}", row["skipped"]);
            assert!(row["error"].is_null(), "{id} {side}: {}", row["error"]);
            for field in [
                "complete",
                "failed",
                "requests_per_second",
                "ceiling_rps",
                "efficiency",
                "cpu_ms_per_request",
                "peak_rss_mb",
                "peak_threads",
                "syn_retransmits",
            ] {
                assert!(
                    row[field].is_number(),
                    "{id} {side}: {field} = {}",
                    row[field]
                );
            }
            for field in ["p50", "p90", "p99", "max"] {
                assert!(row["latency_ms"][field].is_number(), "{id} {side}: {field}");
            }
            let requested = row["load"]["requests"].as_u64().expect("requests");
            let complete = row["complete"].as_u64().expect("complete");
            let failed = row["failed"].as_u64().expect("failed");
            assert_eq!(complete + failed, requested, "{id} {side}");
            assert!(complete > 0, "{id} {side}");
            assert!(
                row["peak_rss_mb"].as_f64().expect("rss") > 0.0,
                "{id} {side}"
            );
        }
        // The same load on both sides.
        assert_eq!(pair["rust"]["load"], pair["python"]["load"], "{id}");
        let ratios = &pair["ratios"];
        for field in [
            "throughput_rust_over_python",
            "cpu_python_over_rust",
            "p99_python_over_rust",
            "rss_python_over_rust",
        ] {
            assert!(
                ratios[field].is_number() || ratios[field].is_null(),
                "{id}: {field}"
            );
        }
        assert!(ratios["throughput_rust_over_python"].is_number(), "{id}");
    }
    // Python's servers really ran: a Python interpreter's memory, the article's commands.
    let gunicorn = pair(&json, "sync-workers-gunicorn");
    assert!(gunicorn["python_command"]
        .as_str()
        .is_some_and(|line| line.starts_with("gunicorn --workers 4 --threads 50")));
    assert!(gunicorn["python"]["peak_rss_mb"].as_f64().expect("rss") > 15.0);
    assert_eq!(pair(&json, "slow-api-aiohttp")["rust_scenario"], "slow-api");

    let left = survivors(&seen);
    assert!(seen.len() >= 3, "the watcher saw only {seen:?}");
    assert!(left.is_empty(), "still running after compare: {left:?}");
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
fn without_python_the_python_rows_are_skipped_and_the_rust_rows_run() {
    let results = scratch("compare-no-python");
    let venv = scratch("compare-no-venv");
    let mut command = compare(
        &results,
        &[
            "--delay",
            "0.05",
            "--scale",
            "20",
            "-p",
            "async-pywsgi",
            "--name",
            "nopy",
        ],
    );
    command
        .env("LAB_PYTHON", "/nonexistent/python3")
        .env("LAB_VENV", venv.join("venv"));
    let output = command.output().expect("run compare");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let json = read_json(&results.join("nopy.json"));
    let reason = json["python"]["skipped"].as_str().expect("python skipped");
    assert!(reason.contains("/nonexistent/python3"), "{reason}");
    assert!(reason.contains("apt-get install -y python3"), "{reason}");
    let row = pair(&json, "async-pywsgi");
    assert!(row["rust"]["skipped"].is_null());
    assert!(row["rust"]["complete"].as_u64().expect("complete") > 0);
    assert_eq!(row["python"]["skipped"].as_str(), Some(reason));
    assert!(row["ratios"]["throughput_rust_over_python"].is_null());
    let md = std::fs::read_to_string(results.join("nopy.md")).expect("nopy.md");
    assert!(
        md.contains("skipped") && md.contains("/nonexistent/python3"),
        "{md}"
    );
    assert!(
        !venv.join("venv").exists(),
        "a venv was made without Python"
    );
    let _ = std::fs::remove_dir_all(&results);
    let _ = std::fs::remove_dir_all(&venv);
}

#[test]
fn interrupted_compare_stops_nginx_and_every_uwsgi_process() {
    let results = scratch("compare-interrupted");
    let mut child = compare(
        &results,
        &[
            "--delay",
            "0.5",
            "--scale",
            "10",
            "-p",
            "nginx-uwsgi-gevent",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start compare");
    let runner = child.id();
    let watcher = Watcher::start(runner);
    let started = wait_for(Duration::from_secs(90), || watcher.saw_command("uwsgi"));
    // Let uWSGI fork its worker, nginx start, and the load begin.
    std::thread::sleep(Duration::from_millis(1500));
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
    let status = child.wait().expect("compare status");
    let seen = watcher.finish();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(started, "uwsgi never started: {stderr}");
    assert!(exited, "compare did not exit after SIGINT: {stderr}");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left = survivors(&seen);
    assert!(left.is_empty(), "still running after SIGINT: {left:?}");
    assert!(!results.join("compare.json").exists());
    let _ = std::fs::remove_dir_all(&results);
}
