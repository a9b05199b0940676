//! make proxy-bench, shortened (one round, -r -n 300 -c 30 and -k -r -n 600 -c 60 at
//! ?delay=0.1, the strace loads as in the full run): every target starts and serves the
//! load, the compare row runs another directory's app_async in front of the same slow
//! API, each proxy's CPU, context switches and system calls are read, and the table
//! follows from them. Which proxy costs less is the full run's to say
//! (results/proxy-bench.json, docs/10-cost.md). A missing nginx or strace fails the test:
//! CI installs them.

use std::time::Duration;

use kit::testing::services_bin_dir;
use lab::cost::proxy_bench::{bench_table, ProxyBenchExperiment};
use lab::cost::{NamedLoad, BENCH_LOADS};
use lab::experiment::Experiment;

/// [`BENCH_LOADS`], each under its own name, a tenth as many clients and requests and a
/// tenth of the delay.
fn shortened() -> [NamedLoad; 2] {
    BENCH_LOADS.map(|named| {
        let mut load = named.load;
        load.requests = if load.keep_alive { 600 } else { 300 };
        load.concurrency = if load.keep_alive { 60 } else { 30 };
        load.delay = Duration::from_millis(100);
        NamedLoad { load, ..named }
    })
}

#[test]
fn a_shortened_proxy_bench_reads_every_target_and_the_compare_row() {
    let bin_dir = services_bin_dir();
    let experiment = ProxyBenchExperiment {
        bin_dir: bin_dir.clone(),
        rounds: 1,
        loads: shortened(),
        compare: Some(("app_async again".to_owned(), bin_dir)),
    };
    let run = experiment.run().expect("it ran");
    let targets: Vec<(&str, &str)> = run
        .rows
        .iter()
        .map(|row| (row.load.as_str(), row.target.as_str()))
        .collect();
    let per_load = ["direct", "nginx-proxy", "app_async", "app_async again"];
    let expected: Vec<(&str, &str)> = BENCH_LOADS
        .iter()
        .flat_map(|load| per_load.iter().map(move |target| (load.name, *target)))
        .collect();
    assert_eq!(targets, expected);
    for row in &run.rows {
        assert_eq!(row.failed + row.non_2xx, 0, "{row:#?}");
        assert_eq!(row.rounds_rps.len(), 1, "{row:#?}");
        assert!(row.requests_per_second > 0.0, "{row:#?}");
        assert!(row.threads_idle >= 1 && row.threads_loaded >= 1, "{row:#?}");
        if row.target == "direct" {
            assert!(row.syscalls_per_request.is_none(), "{row:#?}");
            continue;
        }
        // A proxy's CPU over hundreds of proxied requests is many clock ticks.
        assert!(row.cpu_ms_per_request > 0.0, "{row:#?}");
        // Every proxy reads each request and its upstream answer at least once.
        let reads = row.syscalls.get("recvfrom").copied().unwrap_or(0.0)
            + row.syscalls.get("read").copied().unwrap_or(0.0)
            + row.syscalls.get("readv").copied().unwrap_or(0.0);
        assert!(reads >= 2.0, "{row:#?}");
        assert!(row.syscalls_per_request.unwrap_or(0.0) >= reads, "{row:#?}");
    }
    // With WORKERS=1 app_async is one thread, idle and under load: the compare row is the
    // same build, so it is too.
    for row in run
        .rows
        .iter()
        .filter(|row| row.target.starts_with("app_async"))
    {
        assert_eq!((row.threads_idle, row.threads_loaded), (1, 1), "{row:#?}");
    }
    assert!(ProxyBenchExperiment::unmet(&run).is_empty());
    let table = bench_table(&run);
    assert!(table.contains("| app_async again |"), "{table}");
    assert!(table.contains("`-k -r -n 600 -c 60 ?delay=0.1`"), "{table}");
}
