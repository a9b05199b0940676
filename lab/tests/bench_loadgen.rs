//! make bench-loadgen, shortened (a round or two of each comparison, small loads):
//! loadgen, wrk and ab load the same targets, every tool's figure is read, and the ratios,
//! the table and the verdict follow from them. Which tool is faster is the full run's to
//! say (results/bench-loadgen.json, docs/loadgen.md).

use std::time::Duration;

use kit::testing::{services_bin_dir, workspace_bin};
use lab::cost::loadgen_bench::{bench, table, Sizes};

#[test]
fn a_shortened_bench_loadgen_reads_every_tool() {
    workspace_bin("loadgen");
    let sizes = Sizes {
        keep_alive_rounds: 2,
        keep_alive_duration: Duration::from_secs(1),
        new_rounds: 1,
        new_requests: 500,
        app_rounds: 1,
        app_requests: 200,
    };
    let run = bench(&services_bin_dir(), &sizes, |line| eprintln!("{line}")).expect("it ran");
    let comparisons = &run.run.comparisons;
    let ids: Vec<&str> = comparisons.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["keep-alive", "new-connection", "app-async"]);
    for (comparison, rounds) in comparisons.iter().zip([2, 1, 1]) {
        assert!(comparison.bad_runs.is_empty(), "{comparison:#?}");
        assert_eq!(comparison.loadgen.len(), rounds, "{comparison:#?}");
        assert_eq!(comparison.other_tool.len(), rounds, "{comparison:#?}");
        assert!(
            comparison
                .loadgen
                .iter()
                .chain(&comparison.other_tool)
                .all(|figure| *figure > 0.0),
            "{comparison:#?}"
        );
    }
    let keep_alive = &comparisons[0];
    assert!(keep_alive.other.starts_with("wrk -t2 -c64"));
    assert!((keep_alive.ratios[0] - keep_alive.loadgen[0] / keep_alive.other_tool[0]).abs() < 1e-9);
    // 200 clients, 200 requests, one second each: one round, and ab's lone first request
    // before it, one more.
    let app = &comparisons[2];
    assert_eq!(app.unit, "s");
    assert!(
        app.loadgen[0] >= 1.0 && app.other_tool[0] >= 2.0,
        "{app:#?}"
    );
    assert!((app.ratios[0] - app.loadgen[0] / (app.other_tool[0] - 1.0)).abs() < 1e-9);
    let table = table(&run);
    assert_eq!(table.lines().count(), 2 + 3, "{table}");
    assert!(table.contains("`ab -r -n 200 -c 200`"), "{table}");
}
