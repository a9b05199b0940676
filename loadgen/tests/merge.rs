//! Loads from several hosts: `--shard I/K` runs against the test server, added by
//! `loadgen merge`, give the counts of one run and percentiles recomputed from the
//! added histograms; bad `--shard`, `--start-at` and merge inputs exit 2.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use support::{json, loadgen, write, TestServer};

fn decode(text: &serde_json::Value) -> hdrhistogram::Histogram<u64> {
    loadgen::decode_histogram(text.as_str().expect("a histogram string")).expect("decodes")
}

/// K shards of `-n 60 -c 6` against `/status`, merged, against one whole run.
fn merged_equals_one_run(shards: u64, concurrently: bool) {
    let dir = support::temp_dir("merge", &format!("k{shards}-{concurrently}"));
    let whole_server = TestServer::start();
    let whole = json(&loadgen(&[
        "-n",
        "60",
        "-c",
        "6",
        "--json",
        &whole_server.url("/status"),
    ]));

    let server = TestServer::start();
    let url = server.url("/status");
    // Concurrent shards start together, half a second from now.
    let start_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        + 0.5;
    let start_at = format!("{start_at:.3}");
    let children: Vec<_> = (1..=shards)
        .map(|index| {
            let shard = format!("{index}/{shards}");
            let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
            command.args(["-n", "60", "-c", "6", "--json", "--shard", &shard]);
            if concurrently {
                command.args(["--start-at", &start_at]);
            }
            command
                .arg(&url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let child = command.spawn().expect("start a shard");
            // One after another unless concurrent.
            if concurrently {
                Err(child)
            } else {
                Ok(child.wait_with_output().expect("run a shard"))
            }
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|child| child.unwrap_or_else(|c| c.wait_with_output().expect("run a shard")))
        .collect();
    let files: Vec<String> = outputs
        .iter()
        .enumerate()
        .map(|(n, output)| write(&dir, &format!("shard{n}.json"), output))
        .collect();
    let shard_reports: Vec<serde_json::Value> = outputs.iter().map(json).collect();
    let requests: Vec<u64> = shard_reports
        .iter()
        .filter_map(|r| r["requested"].as_u64())
        .collect();
    assert_eq!(requests.iter().sum::<u64>(), 60, "{requests:?}");
    let clients: u64 = shard_reports
        .iter()
        .filter_map(|r| r["concurrency"].as_u64())
        .sum();
    assert_eq!(clients, 6);

    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    let merged = json(&loadgen(&args));
    for field in [
        "complete",
        "failed",
        "non_2xx",
        "status_codes",
        "failures",
        "length_mismatches",
        "unfinished",
        "connections_opened",
        "keep_alive_requests",
        "total_transferred_bytes",
        "html_transferred_bytes",
        "concurrency",
        "requested",
        "document_length",
    ] {
        assert_eq!(merged[field], whole[field], "{field}");
    }
    assert_eq!(merged["complete"], 60);
    assert_eq!(merged["non_2xx"], 15, "every 4th answer of the one server");
    assert_eq!(server.requests(), 60);

    // Percentiles recomputed from the added histograms, never averaged.
    let mut added = decode(&shard_reports[0]["histogram"]);
    for report in &shard_reports[1..] {
        added
            .add(decode(&report["histogram"]))
            .expect("same precision");
    }
    assert_eq!(added.len(), 60);
    assert_eq!(decode(&merged["histogram"]).len(), 60);
    let ms = |q: f64| added.value_at_quantile(q) as f64 / 1000.0;
    assert_eq!(merged["latency_ms"]["p50"].as_f64(), Some(ms(0.5)));
    assert_eq!(merged["latency_ms"]["p99"].as_f64(), Some(ms(0.99)));
    assert_eq!(
        merged["latency_ms"]["max"].as_f64(),
        Some(added.max() as f64 / 1000.0)
    );

    // The rate is over the union of the windows.
    let started = shard_reports
        .iter()
        .filter_map(|r| r["started_at_unix_s"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let ended = shard_reports
        .iter()
        .filter_map(|r| r["ended_at_unix_s"].as_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let time = merged["time_taken_s"].as_f64().expect("time");
    assert!(
        (time - (ended - started)).abs() < 1e-6,
        "{time} vs {started}..{ended}"
    );
    let rps = merged["requests_per_second"].as_f64().expect("rps");
    assert!((rps - 60.0 / time).abs() < 1e-6 * rps);

    // The timelines, aligned and added, still sum to the counts.
    let intervals = merged["timeline"]["intervals"]
        .as_array()
        .expect("intervals");
    let sum = |field: &str| -> u64 { intervals.iter().filter_map(|i| i[field].as_u64()).sum() };
    assert_eq!(sum("started"), 60);
    assert_eq!(sum("completed"), 60);
    assert_eq!(sum("errors"), 15);
    assert_eq!(intervals.last().map(|i| &i["in_flight"]), Some(&0.into()));

    // And the text form prints ab's summary of the whole.
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let output = loadgen(&args);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Complete requests:      60"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_shards_one_after_another_add_up_to_one_run() {
    merged_equals_one_run(2, false);
}

#[test]
fn three_concurrent_shards_add_up_to_one_run() {
    merged_equals_one_run(3, true);
}

#[test]
fn bad_shards_and_start_times_exit_2() {
    let url = "http://127.0.0.1:1/";
    for args in [
        &["--shard", "0/2", url][..],
        &["--shard", "3/2", url],
        &["--shard", "x", url],
        &["--shard", "1/0", url],
        &["-c", "2", "-n", "10", "--shard", "3/3", url],
        &["-c", "1", "-n", "2", "--shard", "2/2", url],
        &["--start-at", "1000000000", url],
        &["--start-at", "2001-01-01T00:00:00Z", url],
        &["--start-at", "tomorrow", url],
    ] {
        let output = loadgen(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.is_empty(), "{args:?} explains itself");
    }
    let output = loadgen(&["-c", "2", "-n", "10", "--shard", "3/3", url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--shard 3/3 gets no client"), "{stderr}");
    let output = loadgen(&["--start-at", "1000000000", url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in the past"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn bad_merge_inputs_exit_2_naming_the_file() {
    let dir = support::temp_dir("merge", "bad");
    let server = TestServer::start();
    let good = write(
        &dir,
        "good.json",
        &loadgen(&["-n", "4", "--json", &server.url("/")]),
    );
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).expect("read")).expect("JSON");
    report["histogram"] = serde_json::Value::Null;
    let no_histogram = dir.join("no-histogram.json");
    std::fs::write(&no_histogram, report.to_string()).expect("write");
    let no_histogram = no_histogram.to_string_lossy().into_owned();
    let not_json = dir.join("not.json");
    std::fs::write(&not_json, "hello").expect("write");
    let not_json = not_json.to_string_lossy().into_owned();
    let keep_alive = write(
        &dir,
        "keep-alive.json",
        &loadgen(&["-k", "-n", "4", "--json", &server.url("/")]),
    );
    for (args, names) in [
        (vec!["merge", &good, &no_histogram], &no_histogram),
        (vec!["merge", &not_json], &not_json),
        (vec!["merge", &good, "/nonexistent/report.json"], &good),
        (vec!["merge", &good, &keep_alive], &keep_alive),
        (vec!["merge"], &good),
    ] {
        let output = loadgen(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if args.len() > 1 && !args.contains(&"/nonexistent/report.json") {
            assert!(stderr.contains(names.as_str()), "{args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
    // A single report merges into itself.
    let merged = json(&loadgen(&["merge", "--json", &good]));
    assert_eq!(merged["complete"], 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reports that are not every shard of one load exactly once: each refused with one
/// line and exit 2, never merged into a report of a load that did not happen.
#[test]
fn shards_of_no_one_load_are_refused() {
    let dir = support::temp_dir("merge", "not-one-load");
    let server = TestServer::start();
    let status = server.url("/status");
    let run = |file: &str, args: &[&str], url: &str| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        all.push(url);
        write(&dir, file, &loadgen(&all))
    };
    let one_of_two = run(
        "1of2.json",
        &["-n", "4", "-c", "2", "--shard", "1/2"],
        &status,
    );
    let two_of_two = run(
        "2of2.json",
        &["-n", "4", "-c", "2", "--shard", "2/2"],
        &status,
    );
    let one_of_three = run(
        "1of3.json",
        &["-n", "6", "-c", "3", "--shard", "1/3"],
        &status,
    );
    let two_of_three = run(
        "2of3.json",
        &["-n", "6", "-c", "3", "--shard", "2/3"],
        &status,
    );
    let other_url = run(
        "other-url.json",
        &["-n", "4", "-c", "2", "--shard", "2/2"],
        &server.url("/"),
    );
    let head = run(
        "head.json",
        &["-m", "HEAD", "-n", "4", "-c", "2", "--shard", "2/2"],
        &status,
    );
    let other_load = run(
        "other-load.json",
        &["-n", "8", "-c", "4", "--shard", "2/2"],
        &status,
    );
    let whole = run("whole.json", &["-n", "4", "-c", "2"], &status);

    // The shards of one load merge.
    let merged = json(&loadgen(&["merge", "--json", &one_of_two, &two_of_two]));
    assert_eq!(merged["complete"], 4);
    assert_eq!(merged["url"], status.as_str());
    assert_eq!(merged["method"], "GET");
    assert_eq!(merged["shard"], "1/2,2/2");
    // A merged report holds every shard: it merges into itself, and with none again.
    let merged_file = write(
        &dir,
        "merged.json",
        &loadgen(&["merge", "--json", &one_of_two, &two_of_two]),
    );
    assert_eq!(
        json(&loadgen(&["merge", "--json", &merged_file]))["complete"],
        4
    );
    let again = loadgen(&["merge", &merged_file, &two_of_two]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");

    for (files, says) in [
        (
            vec![&one_of_two, &one_of_two, &two_of_two],
            "shard 1/2 is given twice",
        ),
        (vec![&one_of_three, &two_of_three], "shard 3/3 missing"),
        (vec![&one_of_two], "shard 2/2 missing"),
        (vec![&one_of_two, &other_url], "url "),
        (vec![&one_of_two, &head], "method HEAD but GET"),
        (
            vec![&one_of_two, &two_of_three],
            "is one of 3 but the others are of 2",
        ),
        (
            vec![&one_of_two, &other_load],
            "-c 1 is not shard 1/2's share of -c 3",
        ),
        (vec![&whole, &two_of_two], "not a --shard report"),
    ] {
        let mut args = vec!["merge"];
        args.extend(files.iter().map(|f| f.as_str()));
        let output = loadgen(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(output.stdout.is_empty(), "nothing merged: {output:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
