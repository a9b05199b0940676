//! make slowloris, shortened (100 slow clients beside -c 20 ?delay=0.1 for 8 s), one
//! test per topology: each row's stated criteria hold (the normal load fails nothing;
//! behind an event loop or nginx it keeps being served; app_sync's read timeout frees
//! every slow client and bounds the stall). A missing nginx fails the test: CI installs
//! it.

use std::time::Duration;

use kit::testing::services_bin_dir;
use lab::faults::slowloris::{self, Guard, Options, SlowlorisRow};

fn run(id: &str) -> SlowlorisRow {
    let options = Options {
        slow_clients: 100,
        alone: Duration::from_secs(1),
        duration: Duration::from_secs(8),
        ..Options::full(services_bin_dir())
    };
    let runtime = lab::load::runtime().expect("runtime");
    let row = slowloris::run_row(&runtime, id, &options);
    eprintln!("{id}: {}", slowloris::summary(&row));
    if let Some(reason) = row.outcome.why().map(|(_, reason)| reason) {
        panic!("{id} could not run: {reason}");
    }
    assert_eq!(row.criteria, slowloris::criteria(&row));
    let failed: Vec<_> = row.criteria.iter().filter(|c| !c.passed).collect();
    assert!(failed.is_empty(), "{id}: failed {failed:#?}\n{row:#?}");
    assert!(row.ok_2xx > 0, "{row:#?}");
    row
}

#[test]
fn app_sync_frees_slow_clients_at_its_read_timeout() {
    let row = run("sync-workers");
    assert!(
        matches!(row.guard, Some(Guard::ReadTimeout { .. })),
        "{row:#?}"
    );
}

#[test]
fn app_async_serves_beside_slow_clients() {
    let row = run("async");
    assert_eq!(row.guard, Some(Guard::IdleSocket));
}

#[test]
fn nginx_absorbs_slow_clients_in_front_of_app_sync() {
    let row = run("nginx-sync");
    assert_eq!(row.guard, Some(Guard::IdleSocket));
}
