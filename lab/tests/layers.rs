//! No module imports one that imports it back, in any crate of the workspace: the lab's
//! experiments sit on the kit, the kit on `common`, and inside each crate the modules
//! form layers (`lab::chart` at the bottom of the charts, `lab::load` under every
//! experiment, `lab::cost` under its two yardsticks).
//!
//! The check reads the sources: every `crate::a::b`, `super::x` and `self::x` path in
//! code (comments left out, test modules included), resolved to the module whose file
//! declares it. A parent module declaring a child (`mod x;`) is not an import; a parent
//! that also uses something of its child, while the child uses the parent, is a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`cost::callgrind`; `` for the crate root) -> its file's code.
type Sources = BTreeMap<String, String>;

/// Every module file under `src`, keyed by its module path.
fn read_modules(src: &Path) -> Sources {
    let mut out = Sources::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{dir:?}: {err}"));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let code = std::fs::read_to_string(&path).expect("a source file");
                out.insert(module_path(src, &path), code);
            }
        }
    }
    out
}

/// `src/cost/mod.rs` -> `cost`, `src/cost/callgrind.rs` -> `cost::callgrind`,
/// `src/lib.rs` and `src/main.rs` -> the root.
fn module_path(src: &Path, file: &Path) -> String {
    let relative: PathBuf = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map(|(parent, _)| parent.to_owned())
        .unwrap_or_default()
}

fn join(base: &str, rest: &str) -> String {
    if base.is_empty() {
        rest.to_owned()
    } else {
        format!("{base}::{rest}")
    }
}

/// The code of a line without its `//` comment (a `//` inside a string cuts the line
/// short, which can only hide a path, never invent one).
fn code_of(line: &str) -> &str {
    line.split_once("//").map_or(line, |(code, _)| code)
}

/// The paths at the start of `text`, just after a `crate::`: one (`crate::a::b`) or a group
/// (`crate::{a, b::c}`), each as identifiers joined by `::`.
fn paths_after(text: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_owned()
    };
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut end = group.len();
        for (index, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = index;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let mut out = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        let body = &group[..end];
        for (index, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(ident(body[start..index].trim()));
                    start = index + 1;
                }
                _ => {}
            }
        }
        out.push(ident(body[start..].trim()));
        out.retain(|path| !path.is_empty() && path != "self");
        out
    } else {
        vec![ident(text)]
    }
}

/// The modules `module`'s code refers to, other than itself.
fn references(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // Inside an inline test module, `super::` is the file's own module.
    let mut in_tests = false;
    let text: String = code
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("mod tests") {
                in_tests = true;
            }
            let line = code_of(line);
            let line = if in_tests {
                line.replace("super::", "self::")
            } else {
                line.to_owned()
            };
            line + "\n"
        })
        .collect();
    for (prefix, base) in [
        ("crate::", String::new()),
        ("super::", parent(module)),
        ("self::", module.to_owned()),
    ] {
        for (at, _) in text.match_indices(prefix) {
            // A path's first segment only: not the `super::` of `super::super::`, nor
            // `other_crate::`.
            let before = text[..at].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for mut path in paths_after(&text[at + prefix.len()..]) {
                // `super::super::x`: one module further up for each.
                let mut base = base.clone();
                while let Some(up) = path.strip_prefix("super::") {
                    base = parent(&base);
                    path = up.to_owned();
                }
                let mut target = join(&base, &path);
                // The longest prefix that is a module: `cost::callgrind::CallgrindFile`
                // is in `cost::callgrind`.
                while !known.contains(&target) && !target.is_empty() {
                    target = parent(&target);
                }
                if target != module && !target.is_empty() {
                    out.insert(target);
                }
            }
        }
    }
    out
}

/// A cycle of the graph, if it has one: `[a, b, a]`.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// The import graph of one crate's modules (the root left out: it declares them all).
fn graph(sources: &Sources) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .filter(|(module, _)| !module.is_empty())
        .map(|(module, code)| (module.clone(), references(module, code, &known)))
        .collect()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in [
        "lab",
        "kit",
        "common",
        "loadgen",
        "app_async",
        "app_sync",
        "app_pg",
    ] {
        let sources = read_modules(&root.join(krate).join("src"));
        assert!(sources.len() > 1, "{krate}: no modules read");
        let edges = graph(&sources);
        if let Some(cycle) = find_cycle(&edges) {
            panic!("{krate}: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_lab_graph_has_its_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let edges = graph(&read_modules(&root.join("src")));
    let uses = |from: &str, to: &str| edges.get(from).is_some_and(|set| set.contains(to));
    // What the reader proves on the real tree: edges it must see, and their absence
    // the other way.
    assert!(uses("cost::callgrind", "cost"));
    assert!(uses("cost::callgrind", "experiment"));
    assert!(uses("sweep", "load"));
    assert!(!uses("cost", "cost::callgrind"));
    assert!(!uses("load", "runner"));
    assert!(
        edges.get("chart").is_some_and(BTreeSet::is_empty),
        "{:?}",
        edges.get("chart")
    );
}

#[test]
fn a_cycle_through_a_group_a_parent_or_a_child_is_found() {
    let sources: Sources = [
        ("", "mod a; mod b; mod c;"),
        (
            "a",
            "use crate::{b::Thing, c};\n// crate::c::ignored in a comment\n",
        ),
        (
            "b",
            "pub struct Thing;\nmod tests {\n    use super::*;\n}\n",
        ),
        ("c", "pub mod d;\nfn f() { self::d::g(); }\n"),
        ("c::d", "pub fn g() { super::super::b::Thing; }\n"),
    ]
    .into_iter()
    .map(|(module, code)| (module.to_owned(), code.to_owned()))
    .collect();
    let edges = graph(&sources);
    assert_eq!(edges["a"], BTreeSet::from(["b".to_owned(), "c".to_owned()]));
    assert!(
        edges["b"].is_empty(),
        "a test module's super:: is its own file"
    );
    assert_eq!(edges["c"], BTreeSet::from(["c::d".to_owned()]));
    assert_eq!(edges["c::d"], BTreeSet::from(["b".to_owned()]));
    assert_eq!(find_cycle(&edges), None);

    let mut looped = sources.clone();
    looped.insert("b".into(), "use crate::a;\n".into());
    assert_eq!(
        find_cycle(&graph(&looped)),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    // A child that uses its parent while the parent uses the child.
    let mut parental = sources;
    parental.insert("c::d".into(), "use super::f;\n".into());
    assert_eq!(
        find_cycle(&graph(&parental)),
        Some(vec!["c".into(), "c::d".into(), "c".into()])
    );
}
