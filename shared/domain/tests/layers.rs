//! The domain's modules form layers: each imports only modules below it, never one that imports
//! it back, so each can be read and tested alone. Read from the source itself: a module is a file,
//! a `mod` declaration is an edge from parent to child, a `crate::`/`super::` path one from the
//! file to the module it names. A module's own tests are leaves: they may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `offer.rs` is `offer`, `catalog/mod.rs` is `catalog`, `catalog/export.rs` is `catalog::export`;
/// the test files a module includes with `#[path]` are its `tests`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    if let Some(last) = parts.last_mut() {
        if let Some(owner) = last.strip_suffix("_tests") {
            *last = format!("{owner}::tests");
        }
    }
    parts.join("::")
}

/// The longest known module a path's leading segments name (`crate::catalog::names::X`).
fn resolve(known: &BTreeSet<String>, segments: &[&str]) -> Option<String> {
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| known.contains(m))
}

fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    code.match_indices(prefix)
        .filter(|(i, _)| *i == 0 || !code.as_bytes()[i - 1].is_ascii_alphanumeric() && code.as_bytes()[i - 1] != b'_')
        .map(|(i, _)| {
            let rest = &code[i + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            rest[..end].split("::").filter(|s| !s.is_empty()).collect()
        })
        .collect()
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let sources: Vec<(String, String)> = all
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("readable source");
            let code: Vec<&str> = text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect();
            (module_of(src, f), code.join("\n"))
        })
        .collect();
    let known: BTreeSet<String> = sources.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &sources {
        let parent: Vec<&str> = module.rsplit_once("::").map(|(p, _)| p.split("::").collect()).unwrap_or_default();
        let mut targets = BTreeSet::new();
        for segments in paths_after(code, "crate::") {
            targets.extend(resolve(&known, &segments));
        }
        for segments in paths_after(code, "super::") {
            let full: Vec<&str> = parent.iter().copied().chain(segments).collect();
            targets.extend(resolve(&known, &full).or_else(|| (!parent.is_empty()).then(|| parent.join("::"))));
        }
        for line in code.lines() {
            let declared = line.trim().trim_start_matches("pub ").strip_prefix("mod ").and_then(|m| m.strip_suffix(';'));
            if let Some(child) = declared.filter(|c| *c != "tests") {
                targets.extend(
                    known.get(&[module.as_str(), child].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("::")).cloned(),
                );
            }
        }
        targets.remove(module);
        edges.insert(module.clone(), targets);
    }
    edges
}

/// A cycle through `from`, if one exists: the modules on it, in order.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, trail)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            if next == from {
                return Some(trail.iter().cloned().chain([from.to_string()]).collect());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), trail.iter().cloned().chain([next.clone()]).collect()));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let edges = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    // The reading is real: the modules and the edges the layering rests on are found.
    assert!(edges["offer"].contains("agreement") && edges["agreement"].contains("party"), "{edges:?}");
    assert!(edges["catalog"].contains("catalog::export") && edges["catalog::export"].contains("catalog::names"), "{edges:?}");
    let cycles: Vec<String> = edges.keys().filter_map(|m| cycle(&edges, m)).map(|c| c.join(" → ")).collect();
    assert!(cycles.is_empty(), "modules that import each other:\n{}", cycles.join("\n"));
}

#[test]
fn a_cycle_is_found_where_there_is_one() {
    let src = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
    std::fs::create_dir_all(src.join("catalog")).expect("a scratch folder");
    std::fs::write(src.join("offer.rs"), "use crate::agreement::Agreement;\n").expect("write");
    std::fs::write(src.join("agreement.rs"), "// use crate::pricing\nuse crate::offer::party_of;\n").expect("write");
    std::fs::write(src.join("pricing.rs"), "use crate::offer::Offer;\n").expect("write");
    std::fs::write(src.join("catalog/mod.rs"), "mod export;\npub const CATALOG: &str = \"x\";\n").expect("write");
    std::fs::write(src.join("catalog/export.rs"), "use super::CATALOG;\n").expect("write");
    let edges = graph(&src);
    std::fs::remove_dir_all(&src).expect("the scratch folder is removed");
    assert_eq!(cycle(&edges, "offer"), Some(vec!["offer".into(), "agreement".into(), "offer".into()]));
    assert_eq!(cycle(&edges, "catalog"), Some(vec!["catalog".into(), "catalog::export".into(), "catalog".into()]));
    assert_eq!(cycle(&edges, "pricing"), None, "a commented-out import is no edge, and nothing imports pricing");
}
