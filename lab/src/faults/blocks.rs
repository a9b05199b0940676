//! The generated blocks of docs/09-faults.md (`chaos-table`, `slowloris-table`, ...),
//! each from its committed results file.

use std::path::Path;

use super::{chaos, slowloris, soak};
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
    // A run not made yet says so, in the page, rather than failing every other block.
    let missing = |file: &str, target: &str| -> anyhow::Result<String> {
        Ok(format!(
            "Not measured yet: `make {target}` writes results/{file}.\n"
        ))
    };
    Some(match name {
        "chaos-table" => sources
            .chaos
            .as_ref()
            .map(|run| Ok(chaos::markdown_table(run)))
            .unwrap_or_else(|| missing("chaos.json", "chaos")),
        "chaos-run" => sources
            .chaos
            .as_ref()
            .map(|run| Ok(run.provenance("make chaos")))
            .unwrap_or_else(|| missing("chaos.json", "chaos")),
        "slowloris-table" => sources
            .slowloris
            .as_ref()
            .map(|run| Ok(slowloris::markdown_table(run)))
            .unwrap_or_else(|| missing("slowloris.json", "slowloris")),
        "slowloris-run" => sources
            .slowloris
            .as_ref()
            .map(|run| Ok(run.provenance("make slowloris")))
            .unwrap_or_else(|| missing("slowloris.json", "slowloris")),
        "soak-table" => sources
            .soak
            .as_ref()
            .map(|run| Ok(soak::markdown_table(run)))
            .unwrap_or_else(|| missing("soak.json", "soak")),
        "soak-run" => sources
            .soak
            .as_ref()
            .map(|run| Ok(run.provenance("make soak")))
            .unwrap_or_else(|| missing("soak.json", "soak")),
        _ => return None,
    })
}
