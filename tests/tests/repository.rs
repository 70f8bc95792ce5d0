//! The repository itself: it is self-contained (its docs name only what is in it), the API reference
//! for people (`docs/api.md`) agrees with the OpenAPI document and with what the gateway serves,
//! and no test it holds is left out of `make test`.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file of the project's own: what a clone has, less what builds and runs make.
fn project_files(dir: &Path, out: &mut Vec<PathBuf>) {
    const MADE: &[&str] = &["target", ".git", ".venv", ".venv-sam", ".local", ".aws-sam", ".schemathesis", ".hypothesis"];
    for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !MADE.contains(&name.as_str()) {
                project_files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn text_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    project_files(&root(), &mut files);
    files.into_iter().filter_map(|f| std::fs::read_to_string(&f).ok().map(|text| (f, text))).collect()
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let files = text_files();
    assert!(files.iter().any(|(f, _)| f.ends_with("docs/api.md")), "docs/api.md is missing");
    let outside: Vec<String> = files
        .iter()
        .filter(|(f, _)| !f.ends_with("tests/tests/repository.rs"))
        .flat_map(|(f, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| line.contains("../shared") || line.contains("/work/"))
                .map(move |(n, line)| format!("{}:{}: {}", f.display(), n + 1, line.trim()))
        })
        .collect();
    assert!(outside.is_empty(), "these point outside the repository:\n{}", outside.join("\n"));
}

/// The relative links of a Markdown text: `[text](target)`, without an anchor.
fn links(markdown: &str) -> Vec<String> {
    markdown
        .match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &markdown[i + 2..];
            let target = &rest[..rest.find(')')?];
            let target = target.split('#').next().unwrap_or_default();
            (!target.is_empty() && !target.contains("://") && !target.starts_with("mailto:")).then(|| target.to_string())
        })
        .collect()
}

/// Paths in backticks that name a file or folder of the project (`scripts/mint_token.py`).
fn named_paths(markdown: &str) -> Vec<String> {
    const TOP: &[&str] = &["docs/", "infra/", "scripts/", "tests/", "shared/", "functions/", ".ci/"];
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| TOP.iter().any(|t| s.starts_with(t)) && !s.contains(['<', '*', ' ', '{']))
        .map(|s| s.trim_end_matches('/').to_string())
        .collect()
}

#[test]
fn every_link_and_path_the_docs_give_exists() {
    let markdown: Vec<(PathBuf, String)> = text_files().into_iter().filter(|(f, _)| f.extension().is_some_and(|e| e == "md")).collect();
    assert!(markdown.len() >= 3, "README.md, BENCHMARKS.md and docs/api.md at least");
    let mut missing = Vec::new();
    for (file, text) in &markdown {
        let dir = file.parent().expect("a folder");
        for link in links(text) {
            let target = dir.join(&link);
            let inside = target.canonicalize().map(|t| t.starts_with(root().canonicalize().expect("the root")));
            if !matches!(inside, Ok(true)) {
                missing.push(format!("{}: link {link}", file.display()));
            }
        }
        for path in named_paths(text) {
            if !root().join(&path).exists() {
                missing.push(format!("{}: `{path}`", file.display()));
            }
        }
    }
    assert!(missing.is_empty(), "named in the docs but not in the repository:\n{}", missing.join("\n"));
}

#[test]
fn the_reader_finds_what_is_checked() {
    // The readers of links and paths are real: they find what is there and refuse what is not.
    assert_eq!(links("see [the API](docs/api.md#errors), [AWS](https://aws.amazon.com/) and [x](../x.md)"), ["docs/api.md", "../x.md"]);
    assert_eq!(named_paths("run `scripts/run.sh`, read `infra/<name>.yaml` and `make test`"), ["scripts/run.sh"]);
}

/// The routes `docs/api.md` gives a section of their own: headings like "### `POST /offers`".
fn documented_for_people() -> BTreeSet<(String, String)> {
    let doc = std::fs::read_to_string(root().join("docs/api.md")).expect("docs/api.md");
    doc.lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`')?.split_once(' '))
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect()
}

#[test]
fn the_reference_for_people_documents_every_route_the_openapi_does_and_no_other() {
    let people = documented_for_people();
    assert_eq!(people, openapi_operations(), "docs/api.md and infra/openapi.yaml document different routes");
    assert_eq!(people, served_routes(), "docs/api.md and the gateway differ");
}

#[test]
fn the_reference_names_every_error_code_the_openapi_allows() {
    let doc = std::fs::read_to_string(root().join("docs/api.md")).expect("docs/api.md");
    let openapi = repo_yaml("infra/openapi.yaml");
    let codes = openapi["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_sequence()
        .expect("the error codes");
    let missing: Vec<&str> = codes.iter().filter_map(|c| c.as_str()).filter(|c| !doc.contains(&format!("`{c}`"))).collect();
    assert!(missing.is_empty(), "docs/api.md does not name {missing:?}");
    for gateway in ["{\"message\": \"Unauthorized\"}", "{\"message\": \"Not Found\"}", "{\"message\": \"Too Many Requests\"}"] {
        assert!(doc.contains(gateway), "docs/api.md does not give the gateway's {gateway}");
    }
}

/// The targets a crate's manifest builds no test harness for (`test = false`), as the source files
/// they hold: a `[lib]`'s whole `src/` but its binaries, a `[[bin]]`'s own file.
fn untested_sources(manifest: &Path) -> Vec<PathBuf> {
    let crate_dir = manifest.parent().expect("a crate folder");
    let text = std::fs::read_to_string(manifest).expect("a manifest");
    let mut out = Vec::new();
    for section in text.split("\n[").skip(1) {
        let (header, body) = section.split_once('\n').unwrap_or((section, ""));
        let untested = body.lines().take_while(|l| !l.starts_with('[')).any(|l| l.replace(' ', "") == "test=false");
        let path = body.lines().find_map(|l| l.strip_prefix("path = \"")?.strip_suffix('"'));
        match (header.trim_end_matches(']'), untested) {
            ("lib", true) => {
                let mut files = Vec::new();
                project_files(&crate_dir.join("src"), &mut files);
                out.extend(files.into_iter().filter(|f| !f.ends_with("main.rs") && !f.components().any(|c| c.as_os_str() == "bin")));
            }
            ("[bin", true) => out.extend(path.map(|p| crate_dir.join(p))),
            _ => {}
        }
    }
    out
}

#[test]
fn no_test_is_in_a_target_that_builds_no_test_harness() {
    let mut manifests = Vec::new();
    project_files(&root(), &mut manifests);
    manifests.retain(|f| f.ends_with("Cargo.toml"));
    let sources: Vec<PathBuf> = manifests.iter().flat_map(|m| untested_sources(m)).collect();
    assert!(sources.iter().any(|f| f.ends_with("functions/query/src/lib.rs")), "the reading finds the functions' libs: {sources:?}");
    assert!(sources.iter().any(|f| f.ends_with("infra/local/src/main.rs")), "and the gateway's binary: {sources:?}");
    let holding: Vec<String> = sources
        .iter()
        .filter(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("#[test]") || t.contains("#[tokio::test")))
        .map(|f| f.display().to_string())
        .collect();
    assert!(holding.is_empty(), "tests that `test = false` keeps from running: {holding:?}");
}

/// Each schemathesis exemption names real operations and rests on a sentence of docs/api.md.
#[test]
fn every_schemathesis_exemption_is_tied_to_the_reference() {
    let squash = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let reference = squash(&std::fs::read_to_string(root().join("docs/api.md")).expect("docs/api.md"));
    let exemptions = repo_yaml("tests/schemathesis/exemptions.yaml");
    let operations: BTreeSet<String> = openapi_operations().into_iter().map(|(m, p)| format!("{m} {p}")).collect();
    let entries = exemptions.as_sequence().expect("a list of exemptions");
    assert!(!entries.is_empty());
    for entry in entries {
        let text = |key: &str| entry[key].as_str().unwrap_or_else(|| panic!("an exemption without {key}: {entry:?}")).to_string();
        let (rule, docs) = (text("rule"), text("docs"));
        assert!(reference.contains(&squash(&docs)), "{rule}: docs/api.md does not say {docs:?}");
        for operation in entry["operations"].as_sequence().expect("operations").iter().filter_map(|o| o.as_str()) {
            assert!(operations.contains(operation), "{rule}: {operation} is no operation of infra/openapi.yaml");
        }
        assert!(entry["fields"].as_sequence().is_some_and(|f| !f.is_empty()), "{rule}: no fields");
    }
}
