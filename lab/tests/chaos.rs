//! make chaos's fault rows, shortened (fewer clients, a 0.2 s delay, a 2.5 s load), over
//! real services on loopback ports: each asserts the criteria its row states in the
//! report (`chaos::criteria`: the bound the fault must keep, the errors it explains),
//! never a timing. A missing nginx or PostgreSQL fails the test: CI installs both.

use std::time::Duration;

use kit::testing::services_bin_dir;
use lab::faults::chaos::{self, ChaosRow, Options};

fn run(id: &str) -> ChaosRow {
    let options = Options {
        duration: Duration::from_millis(2500),
        fault_at: Duration::from_millis(800),
        down: Duration::from_millis(500),
        delay: Some(Duration::from_millis(200)),
        scale: 10,
        ..Options::full(services_bin_dir())
    };
    let case = chaos::case_by_id(id).expect("a chaos row");
    let runtime = lab::load::runtime().expect("runtime");
    let row = chaos::run_case(&runtime, case, &options);
    eprintln!("{id}: {}", chaos::summary(&row));
    if let Some(reason) = row.outcome.skipped() {
        panic!("{id} could not run: {reason} (`make test-deps` installs it)");
    }
    assert!(row.outcome.is_measured(), "{id}: {:?}", row.outcome);
    row
}

/// What every fault must keep: the row's criteria hold (nothing failed before it,
/// nothing after the topology recovered, only the errors it explains and no more than
/// it caught in flight or was sent while the piece was down), the load went on being
/// served, and every request it sent is counted once.
fn assert_criteria(row: &ChaosRow) {
    assert_eq!(row.criteria, chaos::criteria(row), "{row:?}");
    let failed: Vec<_> = row.criteria.iter().filter(|c| !c.passed).collect();
    assert!(failed.is_empty(), "{}: failed {failed:#?}\n{row:?}", row.id);
    assert!(row.ok_2xx > 0, "{row:?}");
    assert_eq!(row.ok_2xx + row.errors_total, row.sent, "{row:?}");
}

#[test]
fn a_restarted_upstream_fails_only_what_was_in_flight_then_async_serves_again() {
    let row = run("upstream-restart-async");
    assert_criteria(&row);
    // The fault did strike: the requests in flight got their 502.
    assert!(row.errors_total > 0, "{row:?}");
}

#[test]
fn a_restarted_upstream_fails_only_what_was_in_flight_then_sync_serves_again() {
    let row = run("upstream-restart-sync");
    assert_criteria(&row);
    assert!(row.errors_total > 0, "{row:?}");
}

#[test]
fn a_stopped_database_is_503_only_while_down_and_the_pool_recovers() {
    for id in ["postgres-restart-async", "postgres-restart-blocking"] {
        let row = run(id);
        assert_criteria(&row);
        assert!(row.probes_failed > 0, "no probe saw it down: {row:?}");
    }
}

#[test]
fn a_killed_worker_loses_at_most_its_requests_and_is_replaced() {
    let row = run("worker-kill-sync");
    assert_criteria(&row);
}

#[test]
fn an_nginx_reload_fails_nothing() {
    for id in ["nginx-reload-async", "nginx-reload-sync"] {
        let row = run(id);
        assert_criteria(&row);
        assert_eq!(row.errors_total, 0, "{row:?}");
    }
}
