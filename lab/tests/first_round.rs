//! make first-round, shortened (one round, -n 500 -c 100 ?delay=0.2): the three
//! keep-alive rows run in turn, each starts, serves every request and reports when its
//! server first held every client, and the table and the verdict are read from them.
//! Whether app_async's first round keeps up with nginx-proxy's is the full run's to say
//! (results/first-round.json, docs/10-cost.md). A missing nginx fails the test: CI
//! installs it.

use std::time::Duration;

use kit::testing::services_bin_dir;
use lab::cost::first_round::{held_s, table, verdict, FirstRoundExperiment, IDS};
use lab::experiment::Experiment;
use lab::runner::Options;

#[test]
fn a_shortened_first_round_runs_the_app_then_its_references() {
    let experiment = FirstRoundExperiment {
        rounds: 1,
        options: Options {
            bin_dir: services_bin_dir(),
            delay: Some(Duration::from_millis(200)),
            scale: 50,
        },
    };
    let run = experiment.run().expect("it ran");
    let ids: Vec<&str> = run.rows.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(ids, IDS);
    for row in &run.rows {
        assert!(row.outcome.why().is_none(), "{row:#?}");
        assert_eq!(
            (row.load.requests, row.load.concurrency, row.complete),
            (500, 100, 500),
            "{row:#?}"
        );
        assert_eq!(row.failed + row.non_2xx, 0, "{row:#?}");
        let timeline = row.timeline.as_ref().expect("a timeline summary");
        assert!(
            timeline.chart.is_empty() && timeline.csv.is_empty(),
            "{timeline:#?}"
        );
    }
    // 100 clients: every server holds them all within the run.
    for id in IDS {
        let held = held_s(&run, id);
        assert!(
            matches!(held.as_slice(), [Some(s)] if *s > 0.0 && *s < 2.0),
            "{id}: {held:?}"
        );
    }
    let table = table(&run);
    assert_eq!(table.lines().count(), 2 + 3, "{table}");
    assert!(
        table.contains("| async-keepalive | -k -n 500 -c 100 |"),
        "{table}"
    );
    let verdict = verdict(&run);
    assert!(verdict.starts_with("Criterion: no SYN resent"), "{verdict}");
    assert_eq!(
        verdict.ends_with("Met."),
        FirstRoundExperiment::unmet(&run).is_empty(),
        "{verdict}"
    );
}
