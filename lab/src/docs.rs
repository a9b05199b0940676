//! The tables README.md and docs/ show, written from the committed results.
//!
//! A page marks each table it shows with a pair of HTML comments, `generated:NAME` to
//! open (optionally with `ids=a,b` to pick rows) and `/generated:NAME` to close; what
//! stands between them is rewritten from `results/*.json` and the scenario table by
//! `lab docs` (`make docs`, and every run that writes results). `lab docs --check` (and
//! a test) fails when a page disagrees with the results, so no measured figure in the
//! docs is ever typed by hand.
//!
//! Blocks: `bench-all-table`, `bench-all-short`, `bench-all-run` (results/bench-all.json),
//! `sweep-table`, `sweep-run` (results/sweep.json), `bench-docker-table`
//! (results/bench-docker.json, rendered by [`crate::docker::bench`]), `scenarios` (the table in [`crate::scenarios`]),
//! `compare-table`, `compare-commands`, `compare-run` (results/compare.json, rendered by
//! [`crate::compare`]), `callgrind-table` (results/callgrind.json, rendered by
//! [`crate::cost`]; `callgrind-summary runs=A | B` picks a few runs, one line each),
//! `proxy-bench-table` (results/proxy-bench.json), `bench-loadgen-table`
//! (results/bench-loadgen.json), `first-round-rounds-table` (results/first-round.json), and
//! [`crate::faults::blocks::BLOCKS`] (`chaos-table`, `slowloris-table`,
//! `soak-table`, ...: results/chaos.json, slowloris.json, soak.json), rendered by
//! [`crate::faults`], and `swarm-run`, `swarm-table`, `swarm-faults` (results/swarm.json,
//! rendered by [`crate::swarm::bench`]).

use std::path::{Path, PathBuf};

use crate::results::{self, fmt_ms, fmt_rps, Results};
use crate::scenarios::{Bound, SCENARIOS};
use crate::sweep::SweepResults;

const OPEN: &str = "<!-- generated:";
const CLOSE: &str = "<!-- /generated:";

/// The pages that may hold generated blocks: README.md and docs/*.md.
pub fn pages(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", root.join("docs").display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    Ok(pages)
}

/// Everything a block can be written from.
pub struct Sources {
    pub bench_all: Results,
    pub sweep: SweepResults,
    pub bench_docker: crate::docker::bench::BenchDockerResults,
    pub compare: crate::compare::CompareResults,
    pub callgrind: crate::cost::callgrind::CallgrindFile,
    /// results/proxy-bench.json (`make proxy-bench`).
    pub proxy_bench: crate::cost::proxy_bench::BenchResults,
    /// results/bench-loadgen.json (`make bench-loadgen`).
    pub loadgen_bench: crate::cost::loadgen_bench::LoadgenBenchResults,
    /// results/first-round.json (`make first-round`).
    pub first_round: crate::cost::first_round::FirstRoundResults,
    /// results/patches/NAME/proxy-bench.json by NAME: `make patch-bench` with app_async
    /// built on docs/patches/NAME.patch as the compare row (docs/10-cost.md).
    pub patches: std::collections::BTreeMap<String, crate::cost::proxy_bench::BenchResults>,
    pub faults: crate::faults::blocks::Sources,
    /// results/swarm.json, when `make bench-swarm` has written one.
    pub swarm: Option<crate::swarm::bench::SwarmResults>,
}

impl Sources {
    /// Reads `results/bench-all.json`, `results/sweep.json`, `results/bench-docker.json`
    /// and `results/compare.json`.
    pub fn read(results_dir: &Path) -> anyhow::Result<Sources> {
        Ok(Sources {
            bench_all: results::read_json(
                &results_dir.join("bench-all.json"),
                "a bench-all result",
            )?,
            sweep: results::read_json(&results_dir.join("sweep.json"), "a sweep result")?,
            bench_docker: crate::docker::bench::read(results_dir)?,
            compare: results::read_json(&results_dir.join("compare.json"), "a compare result")?,
            callgrind: results::read_json(
                &results_dir.join("callgrind.json"),
                "a callgrind result",
            )?,
            proxy_bench: results::read_json(
                &results_dir.join("proxy-bench.json"),
                "a proxy-bench result",
            )?,
            loadgen_bench: results::read_json(
                &results_dir.join("bench-loadgen.json"),
                "a bench-loadgen result",
            )?,
            first_round: results::read_json(
                &results_dir.join("first-round.json"),
                "a first-round result",
            )?,
            patches: read_patch_runs(&results_dir.join("patches"))?,
            faults: crate::faults::blocks::Sources::read(results_dir)?,
            swarm: crate::swarm::bench::read(results_dir)?,
        })
    }
}

/// Every `results/patches/NAME/proxy-bench.json` by NAME (none when the folder is absent).
fn read_patch_runs(
    dir: &Path,
) -> anyhow::Result<std::collections::BTreeMap<String, crate::cost::proxy_bench::BenchResults>> {
    let mut runs = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(runs);
    };
    for entry in entries {
        let path = entry?.path();
        let file = path.join("proxy-bench.json");
        if let (Some(name), true) = (path.file_name().and_then(|n| n.to_str()), file.exists()) {
            runs.insert(
                name.to_owned(),
                results::read_json(&file, "a patch-bench result")?,
            );
        }
    }
    Ok(runs)
}

/// Rewrites every generated block of `text`; errors name the block and what is wrong.
pub fn render_page(text: &str, sources: &Sources) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let head_end = rest[start..]
            .find("-->")
            .map(|end| start + end + 3)
            .ok_or_else(|| anyhow::anyhow!("an unclosed `{OPEN}` comment"))?;
        let head = rest[start + OPEN.len()..head_end - 3].trim();
        let (name, args) = head.split_once(' ').unwrap_or((head, ""));
        let close = format!("{CLOSE}{name} -->");
        let close_at = rest[head_end..]
            .find(&close)
            .map(|at| head_end + at)
            .ok_or_else(|| anyhow::anyhow!("block `{name}` has no `{close}`"))?;
        out.push_str(&rest[..head_end]);
        out.push('\n');
        out.push_str(&render_block(name, args.trim(), sources)?);
        out.push_str(&close);
        rest = &rest[close_at + close.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The contents of one block.
fn render_block(name: &str, args: &str, sources: &Sources) -> anyhow::Result<String> {
    if let Some(block) = crate::faults::blocks::render_block(name, &sources.faults) {
        anyhow::ensure!(args.is_empty(), "block `{name}` takes no arguments");
        return block;
    }
    if let Some(block) = crate::swarm::bench::render_block(name, sources.swarm.as_ref()) {
        anyhow::ensure!(args.is_empty(), "block `{name}` takes no arguments");
        return Ok(block);
    }
    if name == "callgrind-summary" {
        let labels = args.strip_prefix("runs=").ok_or_else(|| {
            anyhow::anyhow!(
                "block `{name}` needs runs=LABEL | LABEL | ... (labels of results/callgrind.json)"
            )
        })?;
        return callgrind_summary(&sources.callgrind.run, labels.split('|').map(str::trim));
    }
    if name == "patch-bench-table" {
        let patch = args.strip_prefix("patch=").ok_or_else(|| {
            anyhow::anyhow!("block `{name}` needs patch=NAME (a folder of results/patches/)")
        })?;
        let run = sources.patches.get(patch).ok_or_else(|| {
            anyhow::anyhow!(
                "block `{name}`: no results/patches/{patch}/proxy-bench.json (make patch-bench PATCH=docs/patches/{patch}.patch)"
            )
        })?;
        return Ok(crate::cost::proxy_bench::bench_table(run));
    }
    let ids: Option<Vec<&str>> = match args.strip_prefix("ids=") {
        Some(list) => Some(list.split(',').map(str::trim).collect()),
        None if args.is_empty() => None,
        None => anyhow::bail!("block `{name}`: unknown argument `{args}` (only ids=a,b,...)"),
    };
    let bench = &sources.bench_all;
    let rows = match &ids {
        None => bench.scenarios.clone(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                bench
                    .scenarios
                    .iter()
                    .find(|row| row.id == *id)
                    .cloned()
                    .ok_or_else(|| {
                        anyhow::anyhow!("block `{name}`: no row `{id}` in results/bench-all.json")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    Ok(match name {
        "bench-all-table" => results::markdown_table(&rows),
        "bench-all-short" => short_table(&rows),
        "bench-all-run" => bench.provenance("make bench-all"),
        "sweep-table" => crate::sweep::markdown_table(&sources.sweep),
        "sweep-run" => sources.sweep.provenance("make sweep"),
        "bench-docker-table" => crate::docker::bench::docs_block(&sources.bench_docker),
        "scenarios" => scenarios_table(),
        "compare-table" => crate::compare::render::markdown_table(&sources.compare),
        "compare-commands" => crate::compare::render::commands_table(&sources.compare),
        "compare-run" => crate::compare::render::run_line(&sources.compare),
        "callgrind-table" => crate::cost::callgrind::callgrind_table(&sources.callgrind.run),
        "proxy-bench-table" => crate::cost::proxy_bench::bench_table(&sources.proxy_bench),
        "bench-loadgen-table" => crate::cost::loadgen_bench::table(&sources.loadgen_bench),
        "first-round-rounds-table" => crate::cost::first_round::body(&sources.first_round),
        // Linked from docs/ to the charts in results/.
        "timeline-table" => crate::results::timeline_table(&rows, "../results/"),
        "first-round-table" => crate::results::first_round_table(&rows),
        _ => anyhow::bail!("unknown generated block `{name}`"),
    })
}

/// README's table: what was measured against what Little's law allows. Efficiency is
/// 2xx/s over the ceiling, so the 2xx/s and the errors stand beside it.
fn short_table(rows: &[results::Row]) -> String {
    let mut out = String::from(
        "| scenario | topology | load | 2xx/s | errors (non-2xx + failed) of sent | ceiling | efficiency (2xx/s / ceiling) | p99 ms | the article (2020, Python) |\n\
         |---|---|---|--:|--:|--:|--:|--:|---|\n",
    );
    for row in rows {
        let load = format!(
            "{}-n {} -c {}",
            if row.load.keep_alive { "-k " } else { "" },
            row.load.requests,
            row.load.concurrency
        );
        let measured = if row.ran() {
            format!(
                "{} | {} of {} | {} | {:.0}% | {}",
                fmt_rps(row.efficiency * row.ceiling_rps),
                row.non_2xx + row.failed,
                row.complete + row.failed,
                fmt_rps(row.ceiling_rps),
                row.efficiency * 100.0,
                fmt_ms(row.latency_ms.p99)
            )
        } else {
            format!("not run | | {} | | ", fmt_rps(row.ceiling_rps))
        };
        out.push_str(&format!(
            "| {} | {} | {load} | {measured} | {} |\n",
            row.id, row.topology, row.article_text
        ));
    }
    out
}

/// A few runs of results/callgrind.json, one line each: app_async and nginx-proxy per
/// load, side by side (every run is in results/callgrind.md). The page names the runs.
fn callgrind_summary<'a>(
    all: &crate::cost::callgrind::CallgrindResults,
    labels: impl Iterator<Item = &'a str>,
) -> anyhow::Result<String> {
    use crate::cost::fmt_thousands;
    let mut loads: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for label in labels {
        let run = all
            .runs
            .iter()
            .find(|run| run.label == label)
            .ok_or_else(|| anyhow::anyhow!("no callgrind run labelled `{label}`"))?;
        let mut cells = Vec::new();
        for row in run.rows.iter().filter(|row| row.proxy == "app_async") {
            if !loads.contains(&row.flags) {
                loads.push(row.flags.clone());
            }
            let nginx = run
                .rows
                .iter()
                .find(|other| other.proxy == "nginx-proxy" && other.flags == row.flags)
                .map(|nginx| nginx.ir_per_request)
                .filter(|nginx| *nginx > 0.0);
            cells.push(match nginx {
                Some(nginx) => format!(
                    "{} | {} | {:.2}x",
                    fmt_thousands(row.ir_per_request),
                    fmt_thousands(nginx),
                    row.ir_per_request / nginx
                ),
                None => format!("{} | | ", fmt_thousands(row.ir_per_request)),
            });
        }
        lines.push(format!(
            "| {} ({}) | {} |\n",
            run.label,
            run.commit,
            cells.join(" | ")
        ));
    }
    let mut out = String::from("| run (commit) |");
    for load in &loads {
        out.push_str(&format!(
            " app_async, `{load}` | nginx-proxy, same load | app_async / nginx-proxy |"
        ));
    }
    out.push_str("\n|---|");
    out.push_str(&"--:|--:|--:|".repeat(loads.len()));
    out.push('\n');
    for line in lines {
        out.push_str(&line);
    }
    out.push_str("\nInstructions per request, from results/callgrind.json; every run is in `results/callgrind.md`.\n");
    Ok(out)
}

/// The scenario table of docs/design.md.
fn scenarios_table() -> String {
    let mut out = String::from(
        "| scenario | compose file (port) | the article's | topology | load (`?delay=1`) | bound | ceiling | the article's figure |\n\
         |---|---|---|---|---|---|--:|---|\n",
    );
    for scenario in SCENARIOS {
        let bound = match scenario.bound {
            Bound::InFlight {
                capacity: Some(cap),
            } => format!("{cap} in flight"),
            Bound::InFlight { capacity: None } => "none below the load".to_owned(),
            Bound::Stage {
                capacity: 1,
                fraction,
            } => format!("one at a time for {fraction} x delay"),
            Bound::Stage { capacity, fraction } => {
                format!("{capacity} at a time for {fraction} x delay")
            }
        };
        let compose = scenario.compose.map_or_else(
            || "none (a reference)".to_owned(),
            |compose| format!("{} ({})", compose.file, compose.port),
        );
        out.push_str(&format!(
            "| {} | {compose} | {} | {} | {}-n {} -c {} | {bound} | {} | {} |\n",
            scenario.id,
            scenario.article_analogue,
            scenario.topology,
            if scenario.load.keep_alive { "-k " } else { "" },
            scenario.load.requests,
            scenario.load.concurrency,
            fmt_rps(scenario.ceiling_rps()),
            scenario.article.text,
        ));
    }
    out
}

/// What [`write()`] or [`check`] found.
pub struct Outcome {
    /// Pages whose blocks were (or would be) rewritten.
    pub changed: Vec<PathBuf>,
}

/// Rewrites the generated blocks of every page under `root` from `root/results`.
pub fn write(root: &Path) -> anyhow::Result<Outcome> {
    run(root, true)
}

/// Like [`write()`], but only says which pages disagree with the results.
pub fn check(root: &Path) -> anyhow::Result<Outcome> {
    run(root, false)
}

fn run(root: &Path, write: bool) -> anyhow::Result<Outcome> {
    let sources = Sources::read(&root.join("results"))?;
    let mut changed = Vec::new();
    for page in pages(root)? {
        let text = std::fs::read_to_string(&page)
            .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", page.display()))?;
        let rendered = render_page(&text, &sources)
            .map_err(|err| anyhow::anyhow!("{}: {err}", page.display()))?;
        if rendered != text {
            if write {
                results::write_atomically(&page, &rendered)?;
            }
            changed.push(page);
        }
    }
    Ok(Outcome { changed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Sources {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results");
        Sources::read(&root).expect("the committed results parse")
    }

    #[test]
    fn blocks_are_filled_and_refilling_changes_nothing() {
        let sources = sources();
        let page = "# t\n\n<!-- generated:bench-all-table ids=async -->\nstale\n<!-- /generated:bench-all-table -->\ntail\n";
        let once = render_page(page, &sources).expect("renders");
        assert!(!once.contains("stale"));
        assert!(once.contains("| async |") && !once.contains("| sync-workers |"));
        assert!(once.ends_with("<!-- /generated:bench-all-table -->\ntail\n"));
        assert_eq!(render_page(&once, &sources).expect("again"), once);
    }

    #[test]
    fn bad_blocks_are_errors_that_say_which() {
        let sources = sources();
        let unknown = "<!-- generated:nope -->\n<!-- /generated:nope -->\n";
        assert!(render_page(unknown, &sources)
            .err()
            .is_some_and(|err| err.to_string().contains("nope")));
        let unclosed = "<!-- generated:scenarios -->\n";
        assert!(render_page(unclosed, &sources).is_err());
        let no_row =
            "<!-- generated:bench-all-table ids=missing -->\n<!-- /generated:bench-all-table -->";
        assert!(render_page(no_row, &sources)
            .err()
            .is_some_and(|err| err.to_string().contains("missing")));
    }

    #[test]
    fn the_scenario_table_has_every_row() {
        let table = scenarios_table();
        for scenario in SCENARIOS {
            assert!(
                table.contains(&format!("| {} |", scenario.id)),
                "{}",
                scenario.id
            );
        }
    }
}
