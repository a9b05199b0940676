//! What every experiment is to the pipeline, and its last step, written once: run it,
//! write its results files, print its table, and exit 1 when it says it failed.
//!
//! An experiment's module describes its rows (entries of [`crate::scenarios`]), loads
//! them with [`crate::load`], and implements [`Experiment`]: what a run returns (its part
//! of the one [`Envelope`]), its table, the pages beside its JSON and what makes a run
//! fail. `lab NAME` then calls [`conduct`], and `--redraw FILE.json` calls [`redraw`].
//! docs/development.md ("Adding an experiment") walks through one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::out;
use crate::results::{self, Envelope};

/// One experiment of the lab.
pub trait Experiment {
    /// The experiment's own part of its results file, flattened into the envelope
    /// every results file shares.
    type Run: Serialize + DeserializeOwned;

    /// Its subcommand, and the stem of its results files unless `--name` says another.
    const NAME: &'static str;

    /// The command that measures it again: the title and provenance line of its page.
    const COMMAND: &'static str;

    /// Runs every row, in the one envelope.
    fn run(&self) -> anyhow::Result<Envelope<Self::Run>>;

    /// Its table, as it is printed and as its page shows it.
    fn table(results: &Envelope<Self::Run>) -> String;

    /// What is printed when it is done: by default its table.
    fn report(results: &Envelope<Self::Run>) -> String {
        Self::table(results)
    }

    /// The files written beside `NAME.json`, `(file name, contents)`: by default
    /// `NAME.md`, the command, the provenance line and the table.
    fn pages(results: &Envelope<Self::Run>, name: &str) -> Vec<(String, String)> {
        let page = format!(
            "# {}\n\n{}\n{}",
            Self::COMMAND,
            results.provenance(Self::COMMAND),
            Self::table(results)
        );
        vec![(format!("{name}.md"), page)]
    }

    /// Why the run failed, one line each (a row that could not run, a criterion that
    /// did not hold); empty when it did not.
    fn unmet(results: &Envelope<Self::Run>) -> Vec<String>;
}

/// Writes `NAME.json` and the experiment's pages into `dir`, each atomically (nothing
/// when the run was interrupted); returns the files, the JSON first.
pub fn write<E: Experiment>(
    results: &Envelope<E::Run>,
    dir: &Path,
    name: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let json = dir.join(format!("{name}.json"));
    results::write_json(&json, results)?;
    let mut files = vec![json];
    for (file, contents) in E::pages(results, name) {
        let path = dir.join(file);
        results::write_atomically(&path, &contents)?;
        files.push(path);
    }
    Ok(files)
}

/// Runs `experiment`, writes its files as `dir/NAME.*`, prints its table and says what
/// it wrote; exit status 1 when [`Experiment::unmet`] names anything.
pub fn conduct<E: Experiment>(experiment: &E, dir: &Path, name: &str) -> anyhow::Result<ExitCode> {
    let results = experiment.run()?;
    let files = write::<E>(&results, dir, name)?;
    out!("{}", E::report(&results));
    eprintln!(
        "wrote {} in {:.0} s",
        files
            .iter()
            .map(|file| file.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        results.wall_time_s
    );
    Ok(verdict::<E>(&results))
}

/// Rewrites the pages of an earlier run from its JSON file, without running anything,
/// and prints its table.
pub fn redraw<E: Experiment>(json: &Path, dir: &Path, name: &str) -> anyhow::Result<ExitCode> {
    let kind = format!("a {} result", E::NAME);
    let results: Envelope<E::Run> = results::read_json(json, &kind)?;
    write::<E>(&results, dir, name)?;
    out!("{}", E::report(&results));
    Ok(ExitCode::SUCCESS)
}

/// Exit status 1, each reason on stderr, when the run failed; else success.
fn verdict<E: Experiment>(results: &Envelope<E::Run>) -> ExitCode {
    let unmet = E::unmet(results);
    for reason in &unmet {
        eprintln!("lab {}: {reason}", E::NAME);
    }
    if unmet.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// A made-up experiment: one number, failing when it is odd.
    struct Parity(u32);

    #[derive(Serialize, Deserialize)]
    struct Number {
        value: u32,
    }

    impl Experiment for Parity {
        type Run = Number;
        const NAME: &'static str = "parity";
        const COMMAND: &'static str = "make parity";

        fn run(&self) -> anyhow::Result<Envelope<Number>> {
            Ok(results::Started::now().finish(Number { value: self.0 }))
        }

        fn table(results: &Envelope<Number>) -> String {
            format!("| value |\n|---|\n| {} |\n", results.run.value)
        }

        fn unmet(results: &Envelope<Number>) -> Vec<String> {
            if results.run.value % 2 == 1 {
                vec![format!("{} is odd", results.run.value)]
            } else {
                Vec::new()
            }
        }
    }

    #[test]
    fn conduct_writes_the_json_and_the_page_and_fails_on_unmet() {
        let dir = kit::procs::ScratchDir::new("experiment").expect("dir");
        assert_eq!(
            conduct(&Parity(2), dir.path(), "even").expect("runs"),
            ExitCode::SUCCESS
        );
        let page = std::fs::read_to_string(dir.path().join("even.md")).expect("page");
        assert!(page.starts_with("# make parity\n"), "{page}");
        assert!(page.contains("| 2 |"), "{page}");
        let json: Envelope<Number> =
            results::read_json(&dir.path().join("even.json"), "a parity result").expect("json");
        assert_eq!(json.run.value, 2);
        assert_eq!(
            conduct(&Parity(3), dir.path(), "odd").expect("runs"),
            ExitCode::FAILURE
        );
    }

    #[test]
    fn redraw_rewrites_the_page_from_the_json_alone() {
        let dir = kit::procs::ScratchDir::new("experiment").expect("dir");
        conduct(&Parity(4), dir.path(), "run").expect("runs");
        let page = dir.path().join("run.md");
        std::fs::remove_file(&page).expect("removed");
        redraw::<Parity>(&dir.path().join("run.json"), dir.path(), "run").expect("redraws");
        assert!(std::fs::read_to_string(&page)
            .expect("page")
            .contains("| 4 |"));
        let missing = redraw::<Parity>(&dir.path().join("none.json"), dir.path(), "x");
        assert!(missing.is_err());
    }
}
