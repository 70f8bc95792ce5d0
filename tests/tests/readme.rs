//! The README's walk-through, run as written against a local stack: docs that run.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn walkthrough() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let start = readme.find("```sh walkthrough\n").expect("a walk-through block") + "```sh walkthrough\n".len();
    let end = start + readme[start..].find("\n```").expect("the block's end");
    readme[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_walkthrough_works_as_written() {
    // As under `make run`: the background poller delivers events while the walk-through drains.
    let stack = Stack::start_with(Settings { background: true, ..Settings::default() }).await;
    // The walk-through uses today's dates, so this stack runs on real time.
    stack.call("POST", "/_local/clock", None, Some(serde_json::json!({"now": null}))).await;
    let script = format!("set -euo pipefail\n{}", walkthrough());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let url = stack.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash").arg("-c").arg(script).current_dir(root).env("CPPO_URL", url).env("CPPO_LOCAL_JWT_SECRET", SECRET).output()
    })
    .await
    .expect("the script ran")
    .expect("bash starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "walk-through failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for shown in [
        "\"buyerTotal\": \"88.00\"",
        "\"isvNet\": \"77.20\"",
        "\"resellerFee\": \"0.28\"",
        "partner@partner.example: Private offer accepted",
        "ops@isv.example: Channel partner private offer extended",
        "ops@isv.example: Private offer accepted",
        "partner@partner.example: New resale authorization",
        "\"kind\": \"upfront\"",
        "partner@partner.example: Invoice issued",
        "\"status\": \"ready\"",
        "%PDF-1.5",
    ] {
        assert!(stdout.contains(shown), "the walk-through does not show {shown}:\n{stdout}");
    }
    assert!(stdout.contains("\"eulaSha256\": \""), "the agreement records the EULA's hash:\n{stdout}");
    let before_acceptance: Vec<&str> = stdout.lines().take_while(|l| !l.contains("agreementId")).collect();
    assert!(!before_acceptance.iter().any(|l| l.contains("wholesale")), "the buyer's view shows a wholesale figure:\n{stdout}");
}
