//! Every committed results file reads through its experiment's type (the one envelope
//! around the experiment's own fields) and writes back without losing a field or
//! changing a value: the docs, the claims test and `lab docs` all read these files.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use lab::compare::CompareResults;
use lab::cost::callgrind::CallgrindFile;
use lab::cost::first_round::{FirstRoundResults, IDS};
use lab::cost::loadgen_bench::LoadgenBenchResults;
use lab::cost::proxy_bench::BenchResults;
use lab::docker::bench::BenchDockerResults;
use lab::faults::{chaos::ChaosResults, slowloris::SlowlorisResults, soak::SoakResults};
use lab::results::{self, Envelope, Results};
use lab::swarm::bench::SwarmResults;
use lab::sweep::SweepResults;

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../results")
        .join(name)
}

/// Where `written` lacks a key of `raw` or holds another value there, by JSON path.
fn lost(raw: &Value, written: &Value, path: &str, out: &mut Vec<String>) {
    match (raw, written) {
        (Value::Object(raw), Value::Object(written)) => {
            for (key, value) in raw {
                let here = format!("{path}/{key}");
                match written.get(key) {
                    Some(other) => lost(value, other, &here, out),
                    None => out.push(format!("{here}: dropped")),
                }
            }
        }
        (Value::Array(raw), Value::Array(written)) if raw.len() == written.len() => {
            for (index, (value, other)) in raw.iter().zip(written).enumerate() {
                lost(value, other, &format!("{path}/{index}"), out);
            }
        }
        _ if raw == written => {}
        _ => out.push(format!("{path}: {raw} became {written}")),
    }
}

/// Reads `name` as `T` and checks that writing it back keeps every field of the file.
fn round_trip<R: Serialize + DeserializeOwned>(name: &str) -> Envelope<R> {
    let path = committed(name);
    let typed: Envelope<R> = results::read_json(&path, name).expect("a committed results file");
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    let written = serde_json::to_value(&typed).expect("serialise");
    let mut out = Vec::new();
    lost(&raw, &written, "", &mut out);
    assert!(out.is_empty(), "{name}: {out:#?}");
    for key in ["started_at", "machine", "wall_time_s"] {
        assert!(
            written.get(key).is_some(),
            "{name}: no {key} in the envelope"
        );
    }
    typed
}

#[test]
fn every_results_file_round_trips_through_its_envelope() {
    let bench: Results = round_trip("bench-all.json");
    assert!(!bench.scenarios.is_empty());
    let sweep: SweepResults = round_trip("sweep.json");
    assert!(!sweep.series.is_empty());
    let compare: CompareResults = round_trip("compare.json");
    assert!(!compare.pairs.is_empty());
    let chaos: ChaosResults = round_trip("chaos.json");
    assert!(!chaos.rows.is_empty());
    let slowloris: SlowlorisResults = round_trip("slowloris.json");
    assert!(!slowloris.rows.is_empty());
    let soak: SoakResults = round_trip("soak.json");
    assert!(soak.requests > 0);
    let callgrind: CallgrindFile = round_trip("callgrind.json");
    assert!(!callgrind.runs.is_empty());
    let proxy: BenchResults = round_trip("proxy-bench.json");
    assert!(!proxy.rows.is_empty());
    let loadgen: LoadgenBenchResults = round_trip("bench-loadgen.json");
    assert_eq!(loadgen.run.comparisons.len(), 3);
    let first_round: FirstRoundResults = round_trip("first-round.json");
    assert_eq!(
        first_round.rows.len(),
        IDS.len() * first_round.rounds as usize
    );
    // docs/10-cost.md's accept-queue A/B, and the AMD machine's last runs.
    for run in ["1-run1", "1-run2", "2-run1", "2-run2"] {
        let file: FirstRoundResults = round_trip(&format!("accept-queues/{run}/first-round.json"));
        assert_eq!(file.rows.len(), IDS.len() * file.rounds as usize);
    }
    let queues: BenchResults = round_trip("accept-queues/proxy-bench.json");
    assert!(queues
        .rows
        .iter()
        .any(|row| row.target == "one accept queue per loop"));
    let amd: BenchResults = round_trip("machines/amd-epyc/proxy-bench.json");
    assert!(!amd.rows.is_empty());
    let amd: FirstRoundResults = round_trip("machines/amd-epyc/first-round.json");
    assert_eq!(amd.rows.len(), IDS.len() * amd.rounds as usize);
    // make patch-bench's runs: one folder per patch of docs/patches/.
    let mut runs = 0;
    for entry in std::fs::read_dir(committed("patches")).expect("results/patches") {
        let name = entry.expect("a folder").file_name();
        let name = name.to_str().expect("a UTF-8 name");
        let run: BenchResults = round_trip(&format!("patches/{name}/proxy-bench.json"));
        assert!(run.rows.iter().any(|row| row.target.ends_with(" patch")));
        runs += 1;
    }
    let patches = std::fs::read_dir(committed("../docs/patches"))
        .expect("docs/patches")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "patch"))
        })
        .count();
    assert_eq!(
        runs, patches,
        "one patch-bench run per patch of docs/patches"
    );
    let swarm: SwarmResults = round_trip("swarm.json");
    assert!(!swarm.scale_out.is_empty());
    let docker: BenchDockerResults = round_trip("bench-docker.json");
    assert!(!docker.rows.is_empty());
}

#[test]
fn the_provenance_line_names_the_command_the_machine_and_the_wall_time() {
    let bench: Results = round_trip("bench-all.json");
    let line = bench.provenance("make bench-all");
    assert!(line.starts_with(&format!(
        "Measured by `make bench-all` on {}: {} CPU(s)",
        bench.started_at, bench.machine.cpus
    )));
    assert!(line.ends_with(&format!(
        "({:.0} s for the whole run).\n",
        bench.wall_time_s
    )));
    let with = bench.provenance_with("make bench-python", "Python 3.11");
    assert!(with.contains("; Python 3.11 ("), "{with}");
}
