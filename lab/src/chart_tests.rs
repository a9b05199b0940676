//! The charts side by side (tests only; nothing imports this): a topology has one
//! colour in every chart, and where the swarm's bars stand. Here rather than in one
//! renderer so that no renderer's tests import another renderer.

use crate::chart::topology_color;
use crate::timeline::Timeline;

/// The chart module's colours and the scenario table name the same topologies.
#[test]
fn every_scenario_has_a_colour_and_every_colour_a_scenario() {
    for scenario in crate::scenarios::SCENARIOS {
        assert!(
            crate::chart::Kind::of(scenario.id).is_some(),
            "{}",
            scenario.id
        );
    }
    for id in crate::chart::coloured() {
        let scenario = crate::scenarios::by_id(id).or(
            // The comparison's name for `direct`.
            (id == crate::scenarios::SLOW_API.id).then_some(&crate::scenarios::SLOW_API),
        );
        assert!(scenario.is_some(), "{id}");
    }
}

/// A committed result file, read as `T`.
pub(crate) fn committed<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../results")
        .join(file);
    crate::results::read_json(&path, file).expect("a committed result")
}

/// The `fill` of the first bar (a 12-px tall rect) in the line after `marker`.
fn bar_after<'a>(svg: &'a str, marker: &str) -> &'a str {
    let start = svg.find(marker).expect("marker");
    let rest = &svg[start..];
    let line = rest
        .lines()
        .find(|line| line.starts_with("<rect") && line.contains(r#"height="12""#))
        .expect("a bar");
    line.split("fill=\"")
        .nth(1)
        .and_then(|f| f.split('"').next())
        .expect("fill")
}

/// sync-workers (and async) drawn in bench-all, the sweep, the comparison, the
/// swarm and a timeline: the same colour in each.
#[test]
fn a_topology_has_one_colour_in_every_chart() {
    for id in ["sync-workers", "async"] {
        let color = topology_color(id);
        let bench = crate::bench_chart::bench_chart(&committed("bench-all.json"));
        assert_eq!(bar_after(&bench, &format!(">{id}</")), color, "bench-all");

        let sweep = crate::sweep::chart::sweep_chart(&committed("sweep.json"));
        let legend = sweep
            .lines()
            .find(|line| line.contains(&format!(">{id} (")))
            .expect("the sweep's legend entry");
        assert!(legend.contains(&format!(r#"stroke="{color}""#)), "sweep");

        let swarm = crate::swarm::bench::chart(&committed("swarm.json"));
        let entry = swarm
            .lines()
            .find(|line| line.contains(&format!(">measured, {id}<")))
            .expect("the swarm's legend entry");
        assert!(
            entry.contains(&format!(r#"fill="{color}""#)),
            "swarm: {entry}"
        );

        let compare = crate::compare::render::chart(&committed("compare.json"));
        let pair = if id == "async" {
            "async-pywsgi (-c 200)"
        } else {
            "sync-workers-uwsgi (-c 200)"
        };
        let start = compare.find(&format!(">{pair}<")).expect("the pair");
        assert!(compare[start..]
            .lines()
            .find(|line| line.starts_with("<rect") && line.contains(r#"height="10""#))
            .expect("Rust's bar")
            .contains(&format!(r#"fill="{color}""#)));

        let timeline = crate::timeline::build(id, "", 0.1, &[], &[]);
        let timeline = Timeline {
            points: vec![crate::timeline::Point {
                server_in_flight: Some(1.0),
                ..sample_point()
            }],
            ..timeline
        };
        let svg = timeline.svg();
        let app = svg
            .lines()
            .find(|line| line.contains(">app</text>"))
            .expect("app");
        assert!(
            app.contains(&format!(r#"stroke="{color}""#)),
            "timeline: {app}"
        );
    }
}

fn sample_point() -> crate::timeline::Point {
    crate::timeline::Point {
        start_s: 0.0,
        completed_rps: 1.0,
        ok_rps: 1.0,
        errors: 0,
        client_in_flight: 1,
        client_littles: None,
        server_in_flight: None,
        server_littles: None,
        upstream_in_flight: None,
        db_in_flight: None,
        pool_in_use: None,
        pool_waiters: None,
        p50_ms: None,
        p99_ms: None,
    }
}

#[test]
fn a_swarm_bar_stands_as_tall_as_its_rate() {
    let run: crate::swarm::bench::SwarmResults = committed("swarm.json");
    let row = &run.scale_out[0];
    let svg = crate::swarm::bench::chart(&run);
    // The first panel's axis: 0 to 800 (the largest ceiling, a multiple of its 200
    // step) over 220 px, from y = 304 up.
    let max = run
        .scale_out
        .iter()
        .filter(|r| r.topology == row.topology)
        .map(|r| r.ceiling_rps.max(r.requests_per_second))
        .fold(0.0, f64::max);
    assert_eq!(max, 800.0);
    let height = row.requests_per_second / 800.0 * 220.0;
    let bar = format!(
        r#"height="{height:.1}" fill="{}"/>"#,
        topology_color(&row.topology)
    );
    assert!(svg.contains(&bar), "{bar} in {svg}");
    assert!(svg.contains(&format!(r#"y="{:.1}""#, 304.0 - height)));
}
