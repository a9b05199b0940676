//! The generated blocks of docs/09-faults.md (`chaos-table`, `slowloris-table`, ...),
//! each from its committed results file.

use std::path::Path;

use super::{chaos, slowloris, soak};
use crate::experiment::Experiment;
use crate::results;

/// The generated blocks this module fills, and the results file each needs.
pub const BLOCKS: &[(&str, &str)] = &[
    ("chaos-table", "chaos.json"),
    ("chaos-run", "chaos.json"),
    ("slowloris-table", "slowloris.json"),
    ("slowloris-run", "slowloris.json"),
    ("soak-table", "soak.json"),
    ("soak-run", "soak.json"),
];

/// The results a block can be written from (`None`: that run has not been committed).
#[derive(Default)]
pub struct Sources {
    pub chaos: Option<chaos::ChaosResults>,
    pub slowloris: Option<slowloris::SlowlorisResults>,
    pub soak: Option<soak::SoakResults>,
}

impl Sources {
    /// Reads `chaos.json`, `slowloris.json` and `soak.json` where they exist.
    pub fn read(results_dir: &Path) -> anyhow::Result<Sources> {
        fn optional<T: serde::de::DeserializeOwned>(
            path: &Path,
            kind: &str,
        ) -> anyhow::Result<Option<T>> {
            if path.exists() {
                results::read_json(path, kind).map(Some)
            } else {
                Ok(None)
            }
        }
        Ok(Sources {
            chaos: optional(&results_dir.join("chaos.json"), "a chaos result")?,
            slowloris: optional(&results_dir.join("slowloris.json"), "a slowloris result")?,
            soak: optional(&results_dir.join("soak.json"), "a soak result")?,
        })
    }
}

/// The contents of one of [`BLOCKS`]; `None` when `name` is not one of them.
pub fn render_block(name: &str, sources: &Sources) -> Option<anyhow::Result<String>> {
    let (experiment, part) = name.rsplit_once('-')?;
    Some(match experiment {
        "chaos" => block::<chaos::ChaosExperiment>(sources.chaos.as_ref(), part)?,
        "slowloris" => block::<slowloris::SlowlorisExperiment>(sources.slowloris.as_ref(), part)?,
        "soak" => block::<soak::SoakExperiment>(sources.soak.as_ref(), part)?,
        _ => return None,
    })
}

/// Experiment `E`'s block `part`: `table` (its table) or `run` (the provenance line of
/// its command); `None` for another part.
fn block<E: Experiment>(
    run: Option<&results::Envelope<E::Run>>,
    part: &str,
) -> Option<anyhow::Result<String>> {
    if !matches!(part, "table" | "run") {
        return None;
    }
    // A run not made yet says so, in the page, rather than failing every other block.
    let Some(run) = run else {
        return Some(Ok(format!(
            "Not measured yet: `{}` writes results/{}.json.\n",
            E::COMMAND,
            E::NAME
        )));
    };
    Some(Ok(match part {
        "table" => E::table(run),
        _ => run.provenance(E::COMMAND),
    }))
}
