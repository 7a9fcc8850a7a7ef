//! The module graph of `sim/src` has no cycles: every `crate::<module>` path in a module's
//! source (its file and its folder) is an edge, and a depth-first search over those edges must
//! never come back to a module on its own path. Test code (`#[cfg(test)]` blocks, `tests.rs`)
//! is left out: a unit test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Cycles still present on purpose, each as its modules in sorted order; a cycle may only be
/// listed here while it still exists (the test fails on a listed cycle that is gone). None
/// are left: the scenario <-> pricing cycle went with the scenario restructure.
const KNOWN_CYCLES: &[&[&str]] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`model/runtime.rs` -> `model`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap_or(path);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    first
        .unwrap_or_default()
        .trim_end_matches(".rs")
        .to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("sim/src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without `#[cfg(test)]` items (brace-matched) and without line comments.
fn non_test_source(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else { break };
        let semi = after.find(';').unwrap_or(usize::MAX);
        if semi < open {
            rest = &after[semi + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Modules named after `crate::` in `text`, including those inside `use crate::{a, b::c}`.
fn referenced(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        let after = &text[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 1usize;
            let mut item = String::new();
            let mut top = Vec::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && ch == ',' {
                    top.push(std::mem::take(&mut item));
                } else {
                    item.push(ch);
                }
            }
            top.push(item);
            for t in top {
                let name = ident(t.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let from = module_of(file);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = fs::read_to_string(file).expect("source files are readable");
        let entry = edges.entry(from.clone()).or_default();
        for to in referenced(&non_test_source(&text)) {
            if to != from && modules.contains(&to) {
                entry.insert(to);
            }
        }
    }
    edges
}

/// Every elementary cycle's module set found by depth-first search (as sorted lists).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.sort();
            found.insert(cycle);
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done, found);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn the_module_graph_has_no_cycles_but_the_known_ones() {
    let edges = graph();
    assert!(
        edges.contains_key("engine"),
        "the scan found sim/src's modules"
    );
    let known: BTreeSet<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let found = cycles(&edges);
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "import cycles in sim/src: {new:?}\nedges: {edges:#?}"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "cycles listed in KNOWN_CYCLES no longer exist; remove them: {gone:?}"
    );
}

#[test]
fn the_scan_sees_grouped_imports_and_skips_test_code() {
    let text = "use crate::{a::X, b, c::{d, e}};\nfn f() { crate::f::g(); }\n\
                #[cfg(test)]\nmod tests { use crate::h; }\n// crate::i\n";
    let names: Vec<String> = referenced(&non_test_source(text)).into_iter().collect();
    assert_eq!(names, ["a", "b", "c", "f"]);
}

#[test]
fn a_cycle_is_found() {
    let mut edges = BTreeMap::new();
    for (a, b) in [("x", "y"), ("y", "z"), ("z", "x"), ("z", "w")] {
        edges
            .entry(a.to_string())
            .or_insert_with(BTreeSet::new)
            .insert(b.to_string());
    }
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert!(found.contains(&vec!["x".to_string(), "y".to_string(), "z".to_string()]));
}
