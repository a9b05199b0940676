//! make chaos's fault rows, shortened (fewer clients, a 0.2 s delay, a 2.5 s load), over
//! real services on loopback ports: each asserts the bound the fault must keep, not a
//! timing.

use lab::faults::chaos::{self, ChaosRow, Options};
use lab::testing::services_bin_dir;

fn run(id: &str) -> ChaosRow {
    let options = Options {
        duration: 2.5,
        fault_at: 0.8,
        down: 0.5,
        delay: Some(0.2),
        scale: 10,
        ..Options::full(services_bin_dir())
    };
    let case = chaos::case_by_id(id).expect("a chaos row");
    let runtime = lab::faults::runtime().expect("runtime");
    let row = chaos::run_case(&runtime, case, &options);
    eprintln!("{id}: {}", chaos::summary(&row));
    if let Some(reason) = &row.skipped {
        eprintln!("{id}: skipped ({reason})");
    }
    assert!(row.error.is_none(), "{id}: {:?}", row.error);
    row
}

/// What every fault must keep: nothing failed before it, nothing after the topology
/// recovered, nothing hung, and the load went on being served.
fn assert_bounded(row: &ChaosRow, allowed: &[&str]) {
    if row.skipped.is_some() {
        return;
    }
    assert_eq!(row.errors_before_fault, 0, "{row:?}");
    assert_eq!(row.errors_after_recovery, 0, "{row:?}");
    for kind in row.errors.keys() {
        assert!(
            allowed.contains(&kind.as_str()),
            "unexpected {kind}: {row:?}"
        );
    }
    assert!(row.ok_2xx > 0, "{row:?}");
    assert_eq!(row.ok_2xx + row.errors_total, row.sent, "{row:?}");
}

#[test]
fn a_restarted_upstream_fails_only_what_was_in_flight_then_async_serves_again() {
    let row = run("upstream-restart-async");
    assert_bounded(&row, &["502"]);
}

#[test]
fn a_restarted_upstream_fails_only_what_was_in_flight_then_sync_serves_again() {
    let row = run("upstream-restart-sync");
    assert_bounded(&row, &["502"]);
}

#[test]
fn a_stopped_database_is_503_only_while_down_and_the_pool_recovers() {
    for id in ["postgres-restart-async", "postgres-restart-blocking"] {
        let row = run(id);
        assert_bounded(&row, &["503"]);
        if row.skipped.is_none() {
            assert!(row.probes_failed > 0, "no probe saw it down: {row:?}");
        }
    }
}

#[test]
fn a_killed_worker_loses_at_most_its_requests_and_is_replaced() {
    let row = run("worker-kill-sync");
    assert_bounded(&row, &["receive"]);
    assert!(row.errors_total <= row.in_flight_bound, "{row:?}");
}

#[test]
fn an_nginx_reload_fails_nothing() {
    for id in ["nginx-reload-async", "nginx-reload-sync"] {
        let row = run(id);
        assert_bounded(&row, &[]);
        assert_eq!(row.errors_total, 0, "{row:?}");
    }
}
