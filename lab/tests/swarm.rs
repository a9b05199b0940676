//! The stack files on a real swarm (`make test-swarm`; docs/11-swarm.md): a stack comes
//! up healthy and answers through nginx; scaling, a rolling update and a killed task
//! under load cost what they should; K loadgen shards as a swarm job add up to the
//! whole load; the stack goes and the swarm is as it was.
//!
//! Ignored by `cargo test` / `make test`: they need a Docker engine and the images of
//! `make swarm-images`. `make test-swarm` builds those and runs them (`--ignored`). Each
//! test holds the bench lock (`/tmp/lab-bench.lock`) for its whole run, so they never
//! run at once, nor beside a benchmark; each makes a single-node swarm if the engine is
//! in none, and leaves it again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kit::procs::FileLock;
use lab::swarm::{self, bench, shards, Stack, Topology};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

/// The bench lock, the swarm (made if there was none) and one deployed stack; dropping
/// it removes the stack and leaves a swarm it made, even when the test failed.
struct Fixture {
    stack: Stack,
    created_swarm: bool,
    state_before: String,
    runtime: tokio::runtime::Runtime,
    _lock: FileLock,
}

impl Fixture {
    fn up(topology: Topology, test: &str, replicas: u32) -> Fixture {
        let lock = FileLock::acquire(&kit::procs::bench_lock_path()).expect("the bench lock");
        swarm::engine_version().expect("a Docker engine (make test-swarm needs one)");
        let state_before = swarm::swarm_state().expect("docker info");
        let created_swarm = swarm::ensure_swarm().expect("a swarm");
        let port = swarm::free_port().expect("a free port");
        let name = format!("lab-test-{test}");
        let started = Instant::now();
        let deployed = Stack::deploy(&root(), topology, &name, replicas, port);
        let stack = match deployed {
            Ok(stack) => stack,
            Err(err) => {
                if created_swarm {
                    let _ = swarm::leave();
                }
                panic!("deploy {name}: {err:#}");
            }
        };
        let fixture = Fixture {
            stack,
            created_swarm,
            state_before,
            runtime: lab::load::runtime().expect("a runtime"),
            _lock: lock,
        };
        let took = fixture
            .stack
            .wait_ready(replicas, Duration::from_secs(180))
            .unwrap_or_else(|err| panic!("{err:#}"));
        eprintln!(
            "{name}: {replicas} x {} ready in {:.1} s (deploy to healthy: {:.1} s) on port {port}",
            topology.app(),
            took.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        fixture
    }

    /// Removes the stack and restores the swarm state; asserts both worked.
    fn down(mut self) {
        let outcome = self.teardown();
        outcome.unwrap_or_else(|err| panic!("{err:#}"));
        assert_eq!(
            swarm::swarm_state().expect("docker info"),
            self.state_before,
            "the swarm state is not what it was before the test"
        );
    }

    fn teardown(&mut self) -> anyhow::Result<()> {
        let removed = self.stack.remove(Duration::from_secs(180));
        let left = if std::mem::take(&mut self.created_swarm) {
            swarm::leave()
        } else {
            Ok(())
        };
        removed.and(left)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Err(err) = self.teardown() {
                eprintln!("cleaning up after a failed test: {err:#}");
            }
        }
    }
}

#[test]
#[ignore = "needs a Docker engine and `make swarm-images`: run by make test-swarm"]
fn a_stack_comes_up_healthy_answers_through_nginx_and_scales_under_load() {
    let fixture = Fixture::up(Topology::SyncWorkers, "scale", 1);
    let stack = &fixture.stack;

    // The body comes from the app, which called the slow API: the whole chain.
    let (status, body) = swarm::get(
        &stack.url(Duration::from_millis(100)),
        Duration::from_secs(10),
    )
    .expect("GET");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("Hi there! slow api response"), "{body}");
    assert_eq!(stack.app_addresses().expect("DNS").len(), 1);

    let row = bench::scale_during_load(&fixture.runtime, stack, 1, 2, true).expect("the load");
    eprintln!("{}", bench::fault_summary(&row));
    assert!(row.ok, "{}", bench::fault_summary(&row));
    assert_eq!(row.errors(), 0);
    assert_eq!(stack.app_addresses().expect("DNS").len(), 2);
    // 200 requests/s per task: the second task must show (a generous bound on a noisy
    // 2-core machine; the ceiling goes from 200 to 400).
    assert!(
        row.rps_after > 1.3 * row.rps_before,
        "scaling 1 -> 2 took requests/s from {:.0} to {:.0} only",
        row.rps_before,
        row.rps_after
    );
    fixture.down();
}

#[test]
#[ignore = "needs a Docker engine and `make swarm-images`: run by make test-swarm"]
fn a_rolling_update_under_load_fails_no_request() {
    let fixture = Fixture::up(Topology::SyncWorkers, "update", 2);
    let row = bench::rolling_update_during_load(&fixture.runtime, &fixture.stack, 2, true)
        .expect("the load");
    eprintln!("{}", bench::fault_summary(&row));
    assert_eq!(
        (row.failed, row.non_2xx),
        (0, 0),
        "{}",
        bench::fault_summary(&row)
    );
    assert!(row.ok, "{}", bench::fault_summary(&row));
    assert!(row.complete > 0);
    fixture.down();
}

#[test]
#[ignore = "needs a Docker engine and `make swarm-images`: run by make test-swarm"]
fn a_killed_task_costs_at_most_its_requests_in_flight_and_is_replaced() {
    let fixture = Fixture::up(Topology::SyncWorkers, "kill", 2);
    let before = fixture.stack.containers("app").expect("containers");
    let row = bench::kill_during_load(&fixture.runtime, &fixture.stack, 2, true).expect("the load");
    eprintln!("{}", bench::fault_summary(&row));
    assert!(
        row.errors() <= row.allowed_errors,
        "{}",
        bench::fault_summary(&row)
    );
    assert!(row.ok, "{}", bench::fault_summary(&row));
    let after = fixture.stack.containers("app").expect("containers");
    assert_eq!(after.len(), 2, "swarm runs 2 tasks again");
    assert!(
        after.iter().filter(|id| before.contains(id)).count() == 1,
        "one task is new: before {before:?}, after {after:?}"
    );
    fixture.down();
}

#[test]
#[ignore = "needs a Docker engine and `make swarm-images`: run by make test-swarm"]
fn the_dev_server_scales_one_request_per_second_per_replica() {
    let fixture = Fixture::up(Topology::Devserver, "devserver", 2);
    let runtime = &fixture.runtime;
    // Four clients per one-request task: nginx spreads requests unevenly over the
    // tasks (docs/11-swarm.md), so fewer clients would leave a task idle too often.
    let (requests, concurrency) = (16, 8);
    let spec = loadgen::LoadSpec {
        requests: Some(requests),
        concurrency: concurrency as usize,
        keep_alive: true,
        continue_on_socket_error: true,
        timeout: Duration::from_secs(30),
        ..loadgen::LoadSpec::new(fixture.stack.url(bench::DELAY))
    };
    let report = runtime.block_on(loadgen::run(spec)).expect("the load");
    eprintln!(
        "devserver x2: -n {requests} -c {concurrency}: {:.2} requests/s, {} failed, p50 {:.0} ms",
        report.requests_per_second, report.failed, report.latency_ms.p50
    );
    assert_eq!(
        (report.complete, report.failed, report.non_2xx),
        (requests, 0, 0)
    );
    // Two tasks of one request at a time: up to 2 requests/s, and more than one task's
    // 1 (how much more depends on nginx's uneven spreading: docs/11-swarm.md).
    assert!(
        (1.05..=2.3).contains(&report.requests_per_second),
        "{:.2} requests/s from two single-request tasks",
        report.requests_per_second
    );
    fixture.down();
}

#[test]
#[ignore = "needs a Docker engine and `make swarm-images`: run by make test-swarm"]
fn two_loadgen_shards_as_a_swarm_job_merge_into_the_whole_load() {
    let fixture = Fixture::up(Topology::SyncWorkers, "shards", 1);
    let (requests, concurrency) = (400_u64, 20_usize);
    let args: Vec<String> = [
        "-k",
        "-n",
        &requests.to_string(),
        "-c",
        &concurrency.to_string(),
        "-s",
        "30",
        // The stack's nginx by its service name, over the overlay network.
        "http://nginx:8080/?delay=0.05",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let mut job = shards::ShardJob::for_stack(&root(), &fixture.stack, 2, args);
    job.lead = Duration::from_secs(8);
    job.timeout = Duration::from_secs(180);
    let run = job
        .run(&|line| eprintln!("{line}"))
        .unwrap_or_else(|err| panic!("{err:#}"));
    for report in &run.shards {
        eprintln!("{}", shards::shard_line(report));
    }
    let merged = &run.merged;
    eprintln!(
        "merged {}: {} complete, {} failed, {:.1} requests/s, p50 {:.1} ms, p99 {:.1} ms; job {:.1} s",
        merged.shard.as_deref().unwrap_or("-"),
        merged.complete,
        merged.failed,
        merged.requests_per_second,
        merged.latency_ms.p50,
        merged.latency_ms.p99,
        run.took.as_secs_f64()
    );

    // Each shard ran its share, from the common start.
    assert_eq!(run.shards.len(), 2);
    for (index, report) in run.shards.iter().enumerate() {
        assert_eq!(
            report.shard.as_deref(),
            Some(format!("{}/2", index + 1).as_str())
        );
        assert_eq!(
            report.requested,
            Some(requests / 2),
            "{}",
            shards::shard_line(report)
        );
        assert_eq!(report.concurrency, concurrency / 2);
        assert_eq!(
            (report.complete, report.failed, report.non_2xx),
            (requests / 2, 0, 0)
        );
        assert!(
            (report.started_at_unix_s - run.start_at).abs() < 1.0,
            "shard {index} started at {:.3}, the job said {:.3}",
            report.started_at_unix_s,
            run.start_at
        );
    }
    // The merge is the whole load.
    assert_eq!(merged.shard.as_deref(), Some("1/2,2/2"));
    assert_eq!(merged.requested, Some(requests));
    assert_eq!(merged.concurrency, concurrency);
    assert_eq!(
        (merged.complete, merged.failed, merged.non_2xx),
        (requests, 0, 0)
    );
    // Its percentiles come from the added histograms, not from one shard's.
    let histogram = loadgen::decode_histogram(merged.histogram.as_ref().expect("a histogram"))
        .expect("the merged histogram");
    assert_eq!(histogram.len(), requests);
    let p50s: Vec<f64> = run.shards.iter().map(|r| r.latency_ms.p50).collect();
    let (low, high) = (p50s[0].min(p50s[1]), p50s[0].max(p50s[1]));
    assert!(
        merged.latency_ms.p50 >= low * 0.999 && merged.latency_ms.p50 <= high * 1.001,
        "merged p50 {} ms not between the shards' {p50s:?}",
        merged.latency_ms.p50
    );
    let max = run
        .shards
        .iter()
        .map(|r| r.latency_ms.max)
        .fold(0.0, f64::max);
    assert!(
        (merged.latency_ms.max - max).abs() <= max * 0.002,
        "{} vs {max}",
        merged.latency_ms.max
    );
    assert!(run.merged_file.exists());

    // The job is gone.
    let left = swarm::docker(&[
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("name={}", job.name),
    ])
    .expect("docker service ls");
    assert!(left.is_empty(), "job service left: {left}");
    fixture.down();
}
