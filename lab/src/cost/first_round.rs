//! `lab first-round` (`make first-round`): the first round of the keep-alive burst,
//! app_async beside nginx-proxy and the slow API alone, round after round.
//!
//! `-k -n 25000 -c 5000`: 5,000 clients connect at once and each sends its first
//! request. Until every one of those requests is at the server, the server is still
//! accepting, reading and (for the proxies) opening its upstream connections: the first
//! round. bench-all measures it once per row (its first-round table); one run is
//! noisy, and how long a round takes depends on the machine. So this experiment runs
//! the three keep-alive rows of bench-all in turn, `rounds` times, and compares them
//! within the run.
//!
//! The criterion, checked by [`FirstRoundExperiment::unmet`]: no SYN resent in any
//! round of app_async, and app_async's median first round no later than one timeline
//! interval (0.1 s) after nginx-proxy's.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::experiment::Experiment;
use crate::results::{fmt_ms, Envelope, Row};
use crate::runner::{self, Options};
use crate::scenarios::{self, Scenario};

/// The rows, in the order each round runs them: the app first, then its two references.
pub const IDS: [&str; 3] = [APP, NGINX, "direct-keepalive"];
const APP: &str = "async-keepalive";
const NGINX: &str = "nginx-proxy-keepalive";

/// What a run keeps: every row of every round, in the order they ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirstRound {
    pub rounds: u32,
    /// Round 1's rows in [`IDS`] order, then round 2's, and so on.
    pub rows: Vec<Row>,
}

pub type FirstRoundResults = Envelope<FirstRound>;

/// `lab first-round`: [`IDS`] in turn, `rounds` times, shaped by `options`.
pub struct FirstRoundExperiment {
    pub rounds: u32,
    pub options: Options,
}

impl FirstRoundExperiment {
    fn scenarios(&self) -> anyhow::Result<Vec<Scenario>> {
        let one_round = IDS
            .iter()
            .map(|id| {
                scenarios::by_id(id)
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("no scenario {id}"))
            })
            .collect::<anyhow::Result<Vec<Scenario>>>()?;
        Ok((0..self.rounds.max(1))
            .flat_map(|_| one_round.iter().copied())
            .collect())
    }
}

impl Experiment for FirstRoundExperiment {
    type Run = FirstRound;
    const NAME: &'static str = "first-round";
    const COMMAND: &'static str = "make first-round";

    fn run(&self) -> anyhow::Result<FirstRoundResults> {
        let bench = runner::run_all(&self.scenarios()?, &self.options, Self::NAME)?;
        Ok(Envelope {
            started_at: bench.started_at,
            machine: bench.machine,
            wall_time_s: bench.wall_time_s,
            run: FirstRound {
                rounds: self.rounds.max(1),
                rows: bench
                    .run
                    .scenarios
                    .into_iter()
                    .map(|mut row| {
                        // The timeline files are bench-all's to write: a round writes none.
                        if let Some(summary) = row.timeline.as_mut() {
                            summary.chart.clear();
                            summary.csv.clear();
                        }
                        row
                    })
                    .collect(),
            },
        })
    }

    fn table(results: &FirstRoundResults) -> String {
        table(results)
    }

    fn report(results: &FirstRoundResults) -> String {
        format!("{}\n{}\n", table(results), verdict(results))
    }

    fn pages(results: &FirstRoundResults, name: &str) -> Vec<(String, String)> {
        let page = format!(
            "# The first round of the keep-alive burst, round by round\n\n\
             Written by `{}` (`lab first-round`).\n\n{}",
            Self::COMMAND,
            body(results)
        );
        vec![(format!("{name}.md"), page)]
    }

    fn unmet(results: &FirstRoundResults) -> Vec<String> {
        // A row skipped (nginx not installed) or failed leaves nothing to compare.
        let mut unmet: Vec<String> = results
            .rows
            .iter()
            .filter_map(|row| {
                let (what, reason) = row.outcome.why()?;
                Some(format!("{} {what}: {reason}", row.id))
            })
            .collect();
        if !unmet.is_empty() {
            return unmet;
        }
        let resent: u64 = rounds_of(results, APP)
            .iter()
            .filter_map(|row| row.syn_retransmits)
            .sum();
        if resent > 0 {
            unmet.push(format!("{APP}: {resent} SYN(s) resent over the rounds"));
        }
        match (median_held(results, APP), median_held(results, NGINX)) {
            (Some(app), Some(nginx)) if app <= nginx + interval(results) + 1e-9 => {}
            (app, nginx) => unmet.push(format!(
                "{APP}'s median first round ({}) is later than {NGINX}'s ({}) plus one interval",
                fmt_held(app),
                fmt_held(nginx)
            )),
        }
        unmet
    }
}

/// The rows of scenario `id`, round by round.
pub fn rounds_of<'a>(results: &'a FirstRoundResults, id: &str) -> Vec<&'a Row> {
    results.rows.iter().filter(|row| row.id == id).collect()
}

/// When the server first held every client's request, in each round of `id` (None:
/// never, or no gauge).
pub fn held_s(results: &FirstRoundResults, id: &str) -> Vec<Option<f64>> {
    rounds_of(results, id)
        .iter()
        .map(|row| row.timeline.as_ref().and_then(|t| t.server_all_in_flight_s))
        .collect()
}

/// The median of [`held_s`], when every round has one: the upper middle of an even
/// count, not [`super::median`]'s mean of the two, so it stays on the timeline's grid.
pub fn median_held(results: &FirstRoundResults, id: &str) -> Option<f64> {
    let held: Option<Vec<f64>> = held_s(results, id).into_iter().collect();
    let mut held = held.filter(|held| !held.is_empty())?;
    held.sort_by(f64::total_cmp);
    Some(held[held.len() / 2])
}

/// The timelines' sampling interval: how finely a first round is measured.
fn interval(results: &FirstRoundResults) -> f64 {
    results
        .rows
        .iter()
        .find_map(|row| row.timeline.as_ref().map(|t| t.interval_s))
        .unwrap_or(0.1)
}

fn fmt_held(held: Option<f64>) -> String {
    held.map_or_else(|| "never".to_owned(), |s| format!("{s:.1} s"))
}

/// One line per scenario: the first round of each round, their median, the SYNs resent
/// over all rounds, and the medians of efficiency and p99.
pub fn table(results: &FirstRoundResults) -> String {
    let mut out = String::from(
        "| scenario | load | every client's request at the server by, round by round | median | SYN resent | efficiency (median) | p99 ms (median) |\n\
         |---|---|---|--:|--:|--:|--:|\n",
    );
    for id in IDS {
        let rows = rounds_of(results, id);
        let Some(first) = rows.first() else {
            continue;
        };
        let load = &first.load;
        let held: Vec<String> = held_s(results, id).into_iter().map(fmt_held).collect();
        let resent: Option<u64> = rows.iter().map(|row| row.syn_retransmits).sum();
        let efficiency: Vec<f64> = rows.iter().map(|row| row.efficiency).collect();
        let p99: Vec<f64> = rows.iter().map(|row| row.latency_ms.p99).collect();
        let _ = writeln!(
            out,
            "| {id} | {}-n {} -c {} | {} | {} | {} | {:.0}% | {} |",
            if load.keep_alive { "-k " } else { "" },
            load.requests,
            load.concurrency,
            held.join(", "),
            fmt_held(median_held(results, id)),
            resent.map_or_else(|| "n/a".to_owned(), |n| n.to_string()),
            super::median(&efficiency) * 100.0,
            fmt_ms(super::median(&p99)),
        );
    }
    out
}

/// The table, the verdict and the run's provenance: results/first-round.md below its
/// heading, and docs/10-cost.md's generated block `first-round-rounds-table`.
pub fn body(results: &FirstRoundResults) -> String {
    format!(
        "{}\n{}\n\n{}\n",
        table(results),
        verdict(results),
        results.provenance(FirstRoundExperiment::COMMAND)
    )
}

/// The criterion and how the run fared, one sentence each.
pub fn verdict(results: &FirstRoundResults) -> String {
    let unmet = FirstRoundExperiment::unmet(results);
    let criterion = format!(
        "Criterion: no SYN resent in any round of {APP}, and its median first round no \
         later than {NGINX}'s plus one timeline interval ({:.1} s).",
        interval(results)
    );
    if unmet.is_empty() {
        format!("{criterion} Met.")
    } else {
        format!("{criterion} Not met: {}.", unmet.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results;
    use crate::timeline::TimelineSummary;

    fn row(id: &str, held: Option<f64>, resent: u64) -> Row {
        let mut row = Row::new(scenarios::by_id(id).expect("scenario"));
        row.syn_retransmits = Some(resent);
        row.efficiency = 0.8;
        row.timeline = Some(TimelineSummary {
            interval_s: 0.1,
            server_all_in_flight_s: held,
            ..TimelineSummary::default()
        });
        row
    }

    fn run(rows: Vec<Row>) -> FirstRoundResults {
        results::Started::now().finish(FirstRound { rounds: 2, rows })
    }

    #[test]
    fn the_app_may_land_one_interval_after_nginx_but_not_two() {
        let within = run(vec![
            row(APP, Some(1.0), 0),
            row(NGINX, Some(0.9), 0),
            row("direct-keepalive", Some(0.5), 0),
            row(APP, Some(0.9), 0),
            row(NGINX, Some(0.9), 0),
            row("direct-keepalive", Some(0.5), 0),
        ]);
        assert_eq!(median_held(&within, APP), Some(1.0));
        assert!(FirstRoundExperiment::unmet(&within).is_empty());
        assert!(verdict(&within).ends_with("Met."), "{}", verdict(&within));
        let table = table(&within);
        assert!(
            table.contains(
                "| async-keepalive | -k -n 25000 -c 5000 | 1.0 s, 0.9 s | 1.0 s | 0 | 80% |"
            ),
            "{table}"
        );

        let late = run(vec![
            row(APP, Some(1.2), 0),
            row(NGINX, Some(0.9), 0),
            row(APP, Some(1.1), 0),
            row(NGINX, Some(0.9), 0),
        ]);
        let unmet = FirstRoundExperiment::unmet(&late);
        assert_eq!(unmet.len(), 1, "{unmet:?}");
        assert!(
            unmet[0].contains("(1.2 s)") && unmet[0].contains("(0.9 s)"),
            "{unmet:?}"
        );
    }

    #[test]
    fn a_resent_syn_or_a_round_that_never_held_them_all_fails() {
        let resent = run(vec![row(APP, Some(0.5), 3), row(NGINX, Some(0.9), 0)]);
        let unmet = FirstRoundExperiment::unmet(&resent);
        assert_eq!(unmet, ["async-keepalive: 3 SYN(s) resent over the rounds"]);

        let never = run(vec![
            row(APP, None, 0),
            row(NGINX, Some(0.9), 0),
            row(APP, Some(0.5), 0),
        ]);
        assert_eq!(median_held(&never, APP), None);
        let unmet = FirstRoundExperiment::unmet(&never);
        assert!(unmet[0].contains("(never)"), "{unmet:?}");
    }

    #[test]
    fn a_row_that_did_not_run_is_named_not_compared() {
        let mut skipped = row(NGINX, None, 0);
        skipped.outcome = results::Outcome::Skipped("install nginx".into());
        let unmet = FirstRoundExperiment::unmet(&run(vec![row(APP, Some(0.9), 0), skipped]));
        assert_eq!(unmet, ["nginx-proxy-keepalive skipped: install nginx"]);
    }

    #[test]
    fn each_round_runs_the_app_then_its_references() {
        let experiment = FirstRoundExperiment {
            rounds: 2,
            options: Options {
                bin_dir: std::path::PathBuf::new(),
                delay: None,
                scale: 1,
            },
        };
        let ids: Vec<&str> = experiment
            .scenarios()
            .expect("scenarios")
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, [IDS, IDS].concat());
    }
}
