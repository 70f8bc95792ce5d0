//! Fuzzing with a real client: schemathesis generates requests from the OpenAPI document, runs
//! them against a local stack in every phase (examples, coverage, fuzzing, and stateful chains
//! through the document's links), and runs every check: no 5xx, each status, content type, header
//! and body as the document says, schema-valid requests accepted and invalid ones refused. Two of
//! its checks are replaced by tests/schemathesis/hooks.py's, which allow only the refusals
//! tests/schemathesis/exemptions.yaml names, each a rule that depends on state. A fixed seed and
//! bounded examples, so it fits in `make test`.

mod common;

use common::*;
use serde_json::json;
use std::process::Command;

/// Examples per operation and phase; with every operation this is a few thousand requests.
const MAX_EXAMPLES: &str = "25";

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_no_answer_that_breaks_the_document() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let st = format!("{root}/.venv/bin/st");
    assert!(std::path::Path::new(&st).exists(), "{st} is missing: run `make setup` (make test does)");
    let stack = Stack::start().await;
    // Something to find: a registered ISV and reseller, a product and an opportunity.
    let product = stack.cast().await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;

    let url = stack.url.clone();
    let token = Stack::token(ISV);
    let run = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .current_dir(&root)
            .env("SCHEMATHESIS_HOOKS", "tests/schemathesis/hooks.py")
            // No `--checks`: every check runs, and the config turns off the two hooks.py replaces
            // (a check named on the command line would override it).
            .args(["--config-file", "tests/schemathesis/schemathesis.toml", "run", "infra/openapi.yaml", "--url", &url])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--phases", "examples,coverage,fuzzing,stateful", "--max-examples", MAX_EXAMPLES, "--seed", "20270110"])
            // Outages on demand would make the 5xx they exist to make.
            .args(["--exclude-path", "/_local/faults", "--no-color"])
            .output()
    })
    .await
    .expect("the fuzzer ran")
    .expect("schemathesis starts");
    let out = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    let summary: Vec<&str> = out.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
    println!("schemathesis: {}", summary.join("\n"));
    assert!(run.status.success(), "schemathesis found problems:\n{out}");
}
