//! One colour per topology (the rule is in the module above): a hue per [`Kind`], a
//! shade per topology within it.

/// What caps the requests a topology holds in flight: its colour's hue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Threads, or a loop that blocks: oranges.
    Blocking,
    /// The load alone (an event loop, or a thread per connection): blues.
    LoadBound,
    /// No app: the slow API alone, or nginx as the proxy in front of it: greys.
    Reference,
}

impl Kind {
    /// The hue's own shade: the legend's swatch for the kind.
    pub(crate) fn color(self) -> &'static str {
        match self {
            Kind::Blocking => "#d9822b",
            Kind::LoadBound => "#2b6cb0",
            Kind::Reference => "#718096",
        }
    }
}

/// Each topology (a scenario id without its load's suffix), its kind and its shade.
/// `slow-api` is `direct` under another name: the slow API alone. The topologies
/// themselves are `lab/src/scenarios.rs`'s; this module cannot import it (it is the
/// bottom of the graph), so a test (`chart_tests.rs`) holds the two lists together:
/// every scenario has a colour here, every id here is a scenario.
const TOPOLOGIES: &[(&str, Kind, &str)] = &[
    ("devserver", Kind::Blocking, "#9c4221"),
    ("sync-workers", Kind::Blocking, "#d9822b"),
    ("async-blocking", Kind::Blocking, "#c05621"),
    ("nginx-sync", Kind::Blocking, "#ed8936"),
    ("nginx-uwsgi-sync", Kind::Blocking, "#b7791f"),
    ("pg-blocking", Kind::Blocking, "#7b341e"),
    ("async", Kind::LoadBound, "#2b6cb0"),
    ("async-workers", Kind::LoadBound, "#4299e1"),
    ("devserver-threaded", Kind::LoadBound, "#2c5282"),
    ("nginx-async", Kind::LoadBound, "#2c7a7b"),
    ("nginx-uwsgi", Kind::LoadBound, "#00a3c4"),
    ("pg-async", Kind::LoadBound, "#434190"),
    ("direct", Kind::Reference, "#718096"),
    ("slow-api", Kind::Reference, "#718096"),
    ("nginx-proxy", Kind::Reference, "#2d3748"),
];

/// For an id the lab does not know (a topology added without a colour): green, none
/// of the kinds' hues.
const UNKNOWN: &str = "#2f855a";

/// The topology a row id names: the longest known topology that is the id or the
/// start of it before a `-` (`sync-workers-c1000` -> `sync-workers`,
/// `async-keepalive-after` -> `async`, `nginx-uwsgi-sync` itself).
fn topology(id: &str) -> Option<&'static (&'static str, Kind, &'static str)> {
    TOPOLOGIES
        .iter()
        .filter(|(topology, _, _)| {
            id == *topology
                || id
                    .strip_prefix(topology)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|(topology, _, _)| topology.len())
}

/// The ids of the topologies that have a colour.
#[cfg(test)]
pub(crate) fn coloured() -> impl Iterator<Item = &'static str> {
    TOPOLOGIES.iter().map(|(id, _, _)| *id)
}

/// The colour of the topology of scenario or row `id`, the same in every chart.
pub(crate) fn topology_color(id: &str) -> &'static str {
    topology(id).map_or(UNKNOWN, |(_, _, color)| color)
}

impl Kind {
    /// The kind of the topology of scenario or row `id`, if the lab knows it.
    pub(crate) fn of(id: &str) -> Option<Kind> {
        topology(id).map(|(_, kind, _)| *kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_takes_its_topologys_colour_and_topologies_differ() {
        assert_eq!(
            topology_color("sync-workers-c1000"),
            topology_color("sync-workers")
        );
        assert_eq!(
            topology_color("async-keepalive-after"),
            topology_color("async")
        );
        assert_eq!(topology_color("nginx-uwsgi-sync"), "#b7791f");
        assert_eq!(topology_color("nginx-uwsgi-c1000"), "#00a3c4");
        assert_eq!(topology_color("asyncio"), UNKNOWN);
        assert_eq!(Kind::of("async-blocking"), Some(Kind::Blocking));
        assert_eq!(Kind::of("devserver-threaded-c1000"), Some(Kind::LoadBound));
        assert_eq!(Kind::of("nginx-proxy-keepalive"), Some(Kind::Reference));
        // Every topology its own colour (but the slow API's two names), in its kind's
        // hue family, and the kind's swatch is one of its topologies.
        let mut colours: Vec<&str> = TOPOLOGIES
            .iter()
            .filter(|(id, _, _)| *id != "slow-api")
            .map(|(_, _, color)| *color)
            .collect();
        colours.sort_unstable();
        colours.dedup();
        assert_eq!(colours.len(), TOPOLOGIES.len() - 1);
        for kind in [Kind::Blocking, Kind::LoadBound, Kind::Reference] {
            assert!(TOPOLOGIES
                .iter()
                .any(|(_, k, color)| *k == kind && *color == kind.color()));
        }
        assert!(!colours.contains(&UNKNOWN));
    }
}
