//! The SAM template and the code agree: the routes and the function behind each, the environment
//! each function reads, the event sources, and the table, indexes and queues the local stack
//! creates.

mod common;

use common::*;
use cppo_platform::config::{ACCOUNT_CLAIM, REQUIRED, SENDER_EMAIL, TOKEN_KEY, VARIABLES};
use cppo_platform::routes::ROUTES;
use cppo_platform::store::Index;
use serde_yaml::Value;
use std::collections::BTreeSet;

fn template() -> Value {
    repo_yaml("infra/template.yaml")
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())).unwrap_or_default()
}

/// Each function resource: its binary, its properties.
fn functions(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|r| (text(&r["Metadata"]["BuildProperties"]["Binary"]), r["Properties"].clone()))
        .collect()
}

fn environment(t: &Value, properties: &Value) -> BTreeSet<String> {
    let names = |v: &Value| v["Environment"]["Variables"].as_mapping().map(|m| m.keys().map(text).collect::<Vec<_>>()).unwrap_or_default();
    names(&t["Globals"]["Function"]).into_iter().chain(names(properties)).collect()
}

#[test]
fn every_route_is_in_the_template_with_the_same_function_and_the_reverse() {
    let t = template();
    let mut in_template = BTreeSet::new();
    for (binary, properties) in functions(&t) {
        for event in properties["Events"].as_mapping().into_iter().flat_map(|m| m.values()) {
            if event["Type"].as_str() == Some("HttpApi") {
                in_template.insert((text(&event["Properties"]["Method"]), text(&event["Properties"]["Path"]), binary.clone()));
            }
        }
    }
    let in_code: BTreeSet<(String, String, String)> =
        ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string(), r.function.to_string())).collect();
    assert_eq!(in_template, in_code);
}

#[test]
fn every_function_crate_is_deployed_the_same_way() {
    let t = template();
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let crates: BTreeSet<String> =
        std::fs::read_dir(format!("{root}/functions")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let deployed: BTreeSet<String> = functions(&t).into_iter().map(|(binary, _)| binary).collect();
    assert_eq!(deployed, crates);
    let globals = &t["Globals"]["Function"];
    assert_eq!(
        (text(&globals["Runtime"]), text(&globals["Handler"]), text(&globals["CodeUri"])),
        ("provided.al2023".into(), "bootstrap".into(), "..".into())
    );
    assert_eq!(text(&t["Parameters"]["Architecture"]["Default"]), "arm64");
    for r in t["Resources"].as_mapping().unwrap().values().filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function")) {
        assert_eq!(text(&r["Metadata"]["BuildMethod"]), "rust-cargolambda");
    }
}

#[test]
fn every_variable_a_function_reads_is_set_for_it() {
    let t = template();
    for (binary, properties) in functions(&t) {
        let env = environment(&t, &properties);
        for needed in REQUIRED.iter().chain([&ACCOUNT_CLAIM]) {
            assert!(env.contains(*needed), "{binary} lacks {needed}");
        }
        if binary == "notify" {
            assert!(env.contains(SENDER_EMAIL), "notify sends email from {SENDER_EMAIL}");
        }
        // The functions that page lists sign their tokens; no other function holds the key.
        assert_eq!(env.contains(TOKEN_KEY), ["query", "sellers"].contains(&binary.as_str()), "{binary} and {TOKEN_KEY}");
        for name in &env {
            assert!(VARIABLES.contains(&name.as_str()), "{binary} is given {name}, which no code reads");
        }
    }
}

#[test]
fn the_event_sources_are_wired_as_the_service_needs() {
    let t = template();
    let all = functions(&t);
    let notify = &all.iter().find(|(b, _)| b == "notify").unwrap().1;
    let source = notify["Events"].as_mapping().unwrap().values().find(|e| e["Type"].as_str() == Some("SQS")).expect("an SQS event source");
    assert_eq!(source["Properties"]["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
    let queue = &t["Resources"]["EventQueue"]["Properties"];
    let visibility: u64 = text(&queue["VisibilityTimeout"]).parse().unwrap();
    let timeout: u64 = text(&notify["Timeout"]).parse().unwrap();
    assert!(visibility >= 6 * timeout, "visibility {visibility} < 6 × notify's {timeout}");
    // An email claim outlives any attempt that could still send (notify's timeout) and is stale
    // before the queue brings the message back, so the redelivery takes it over.
    let stale = cppo_platform::store::EMAIL_CLAIM_STALE_SECONDS as u64;
    assert!(
        timeout < stale && stale < visibility,
        "claims go stale after {stale} s: notify times out at {timeout} s, messages return after {visibility} s"
    );
    assert!(text(&queue["RedrivePolicy"]["maxReceiveCount"]).parse::<u64>().unwrap() >= 5);
    let sweep = &all.iter().find(|(b, _)| b == "expire-sweep").unwrap().1;
    let schedule = sweep["Events"].as_mapping().unwrap().values().find(|e| e["Type"].as_str() == Some("Schedule")).expect("a schedule");
    assert_eq!(schedule["Properties"]["Schedule"].as_str(), Some("rate(5 minutes)"));
}

#[test]
fn the_template_avoids_the_operational_traps() {
    let t = template();
    let all = functions(&t);
    let notify = &all.iter().find(|(b, _)| b == "notify").unwrap().1;
    // Reserved concurrency on an SQS consumer makes Lambda throttle the poller, each throttle a
    // receive: a burst would reach the dead-letter queue unprocessed. The event source caps it.
    assert!(notify.get("ReservedConcurrentExecutions").is_none(), "notify must not reserve concurrency");
    let source = notify["Events"].as_mapping().unwrap().values().find(|e| e["Type"].as_str() == Some("SQS")).unwrap();
    let cap: u64 = text(&source["Properties"]["ScalingConfig"]["MaximumConcurrency"]).parse().expect("a MaximumConcurrency");
    assert!((2..=1000).contains(&cap), "MaximumConcurrency is 2..1000, not {cap}");
    // The due index: keys only (the sweep reads the items themselves), spread over partitions.
    let due = t["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|g| g["IndexName"].as_str() == Some("byDue"))
        .unwrap();
    assert_eq!(text(&due["Projection"]["ProjectionType"]), "KEYS_ONLY");
    assert!(cppo_platform::store::due_shards().len() > 1);
    // Events and claims expire by TTL on the attribute the code writes.
    assert_eq!(text(&t["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"]["AttributeName"]), "expiresAt");
    // The token key is a secret: never echoed, long enough for HMAC.
    let key = &t["Parameters"]["TokenKey"];
    assert_eq!(key["NoEcho"].as_bool(), Some(true));
    assert!(text(&key["MinLength"]).parse::<u64>().unwrap() >= 32);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_table_and_queues_are_the_templates() {
    let t = template();
    let table = &t["Resources"]["Table"]["Properties"];
    let mut in_template = BTreeSet::new();
    for g in table["GlobalSecondaryIndexes"].as_sequence().unwrap() {
        let keys: Vec<String> = g["KeySchema"].as_sequence().unwrap().iter().map(|k| text(&k["AttributeName"])).collect();
        in_template.insert((text(&g["IndexName"]), keys[0].clone(), keys[1].clone()));
    }
    let in_code: BTreeSet<(String, String, String)> = [Index::ByIsv, Index::ByReseller, Index::ByBuyer, Index::ByDue]
        .into_iter()
        .map(|i| (i.name().to_string(), i.keys().0.to_string(), i.keys().1.to_string()))
        .collect();
    assert_eq!(in_template, in_code, "the indexes the code queries are the template's");

    let stack = Stack::start().await;
    let gateway = &stack.running.gateway;
    let described = gateway.app.store.client().describe_table().table_name(&gateway.app.config.table_name).send().await.unwrap();
    let local: BTreeSet<(String, String, String)> = described
        .table
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            let keys = g.key_schema.unwrap_or_default();
            (g.index_name.unwrap_or_default(), keys[0].attribute_name.clone(), keys[1].attribute_name.clone())
        })
        .collect();
    assert_eq!(local, in_template, "the local table has the template's indexes");
    let attributes = gateway
        .sqs
        .get_queue_attributes()
        .queue_url(&gateway.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive = attributes.attributes.unwrap_or_default().into_values().next().unwrap_or_default();
    let redrive: serde_json::Value = serde_json::from_str(&redrive).expect("a redrive policy");
    let wanted = text(&t["Resources"]["EventQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]);
    assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), wanted, "the local queue redrives as the template says");
    assert!(redrive["deadLetterTargetArn"].as_str().is_some_and(|arn| arn.ends_with(&gateway.config.names.dead_letter_queue)));
}
