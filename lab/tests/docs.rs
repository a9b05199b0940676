//! The docs agree with the code and the results: every generated table matches the
//! committed `results/*.json`, and every link and repository path the pages name exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

#[test]
fn generated_tables_agree_with_the_committed_results() {
    let outcome = lab::docs::check(&root()).expect("the docs and results can be read");
    assert!(
        outcome.changed.is_empty(),
        "these pages disagree with results/*.json (run `make docs`): {:?}",
        outcome.changed
    );
}

/// Top-level folders whose paths the docs may name.
const TOP: &[&str] = &[
    "common/",
    "slow_api/",
    "app_sync/",
    "app_async/",
    "app_pg/",
    "loadgen/",
    "lab/",
    "healthcheck/",
    "compose/",
    "swarm/",
    "nginx/",
    "docker/",
    "scripts/",
    "results/",
    "docs/",
    ".ci/",
];

#[test]
fn every_link_and_path_in_the_docs_exists() {
    let root = root();
    let mut missing = Vec::new();
    for page in lab::docs::pages(&root).expect("pages") {
        let text = std::fs::read_to_string(&page).expect("read page");
        let dir = page.parent().expect("page dir");
        let name = page
            .strip_prefix(&root)
            .unwrap_or(&page)
            .display()
            .to_string();
        // Markdown links and images: `](target)`.
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            if target.is_empty()
                || target.starts_with('#')
                || target.contains("://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let file = target.split('#').next().unwrap_or(target);
            if !dir.join(file).exists() {
                missing.push(format!("{name}: link {target}"));
            }
        }
        // Repository paths in backticks: `lab/src/runner.rs`, `compose/async-gevent.yml`.
        for (index, span) in text.split('`').enumerate() {
            let path = span.trim_end_matches('/');
            let looks_like_path = index % 2 == 1
                && TOP.iter().any(|top| span.starts_with(top))
                && !span.contains(char::is_whitespace)
                && !span.contains(['*', '<', '>', '{', '$']);
            if looks_like_path && !root.join(path).exists() {
                missing.push(format!("{name}: path {span}"));
            }
        }
    }
    assert!(missing.is_empty(), "missing:\n{}", missing.join("\n"));
}
