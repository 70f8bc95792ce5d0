//! The SAM template and the code agree: the routes and the function behind each, the environment
//! each function reads, the event sources, the stream and its pipes with their roles, and the
//! table, indexes, queues and bus the local stack creates.

mod common;

use common::*;
use cppo_platform::config::{RetrySchedule, ACCOUNT_CLAIM, DEAD_LETTER_QUEUE_URL, QUEUE_URL, REQUIRED, SENDER_EMAIL, TOKEN_KEY, VARIABLES};
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
        // Only notify touches a queue: it steers its retries and dead-letters what is no event.
        for queue in [QUEUE_URL, DEAD_LETTER_QUEUE_URL] {
            assert_eq!(env.contains(queue), binary == "notify", "{binary} and {queue}");
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
    // An outage never reaches the dead-letter queue: notify's growing waits spend the queue's
    // retention in far fewer receives than the redrive allows.
    let retention: u64 = text(&queue["MessageRetentionPeriod"]).parse().unwrap();
    let schedule = RetrySchedule::default();
    let receives = schedule.receives_to_wait(retention);
    let redrive: u64 = text(&queue["RedrivePolicy"]["maxReceiveCount"]).parse().unwrap();
    assert!(u64::from(receives) < redrive && redrive <= 1000, "{receives} receives in {retention} s; redrive at {redrive}");
    // SQS refuses a visibility ending more than 12 hours after the receive; notify asks within its
    // own timeout of it.
    assert!(u64::from(schedule.after(u32::MAX)) + timeout <= 43_200, "the longest wait and notify's timeout fit SQS's 12 hours");
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
    // The local table streams new images, as the template's, and the relay reads that stream.
    let described = gateway.app.store.client().describe_table().table_name(&gateway.app.config.table_name).send().await.unwrap();
    let table = described.table.unwrap();
    assert_eq!(table.latest_stream_arn.as_deref(), Some(gateway.relay.stream_arn.as_str()));
    let spec = table.stream_specification.expect("a stream");
    assert_eq!(
        spec.stream_view_type.map(|v| v.as_str().to_string()),
        Some(text(&t["Resources"]["Table"]["Properties"]["StreamSpecification"]["StreamViewType"]))
    );
}

fn resource<'a>(t: &'a Value, logical_id: &str) -> &'a Value {
    &t["Resources"][logical_id]
}

/// A `!GetAtt X.Y`'s `X.Y`, or a `!Ref X`'s `X`.
fn reference(v: &Value) -> String {
    match v {
        Value::Tagged(tagged) => text(&tagged.value),
        other => text(other),
    }
}

/// Each statement of a role's inline policies: (actions, resources), references as names.
fn statements(role: &Value) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    role["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence().cloned().unwrap_or_default())
        .map(|s| {
            assert_eq!(text(&s["Effect"]), "Allow");
            let list = |v: &Value| match v {
                Value::Sequence(items) => items.iter().map(reference).collect(),
                single => BTreeSet::from([reference(single)]),
            };
            (list(&s["Action"]), list(&s["Resource"]))
        })
        .collect()
}

#[test]
fn the_table_streams_its_event_items_through_two_pipes() {
    let t = template();
    assert_eq!(text(&resource(&t, "Table")["Properties"]["StreamSpecification"]["StreamViewType"]), "NEW_IMAGE");
    let pipes: BTreeSet<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Pipes::Pipe"))
        .map(|(id, _)| text(id))
        .collect();
    let played: BTreeSet<String> = local_gateway::PIPES.iter().map(|(pipe, _)| pipe.to_string()).collect();
    assert_eq!(pipes, played, "the local relay plays every pipe of the template");
    let event = serde_json::json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "EVENT"}}}});
    let republished = serde_json::json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"kind": {"S": "EVENT"}}}});
    let offer = serde_json::json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "OFFER"}}}});
    let removed = serde_json::json!({"eventName": "REMOVE", "dynamodb": {"OldImage": {"kind": {"S": "EVENT"}}}});
    for (pipe, role) in local_gateway::PIPES {
        let p = &resource(&t, pipe)["Properties"];
        assert_eq!(reference(&p["Source"]), "Table.StreamArn", "{pipe}");
        assert_eq!(reference(&p["RoleArn"]), format!("{role}.Arn"), "{pipe}");
        let stream = &p["SourceParameters"]["DynamoDBStreamParameters"];
        // Retried until just before the stream would drop the records, then dead-lettered.
        let age: u64 = text(&stream["MaximumRecordAgeInSeconds"]).parse().unwrap();
        assert!((60..86_400).contains(&age), "{pipe}: {age} s");
        assert_eq!(reference(&stream["DeadLetterConfig"]["Arn"]), "PipeDeadLetterQueue.Arn", "{pipe}");
        let pattern: serde_json::Value =
            serde_json::from_str(p["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap()).unwrap();
        let passes = |r: &serde_json::Value| local_gateway::relay::matches(&pattern, r);
        assert!(passes(&event) && passes(&republished), "{pipe} carries event items, new and republished");
        assert!(!passes(&offer) && !passes(&removed), "{pipe} carries nothing else");
    }
    let queue = &resource(&t, "EventQueuePipe")["Properties"];
    assert_eq!(reference(&queue["Target"]), "EventQueue.Arn");
    let bus = &resource(&t, "EventBusPipe")["Properties"];
    assert_eq!(reference(&bus["Target"]), "EventBus.Arn");
    assert_eq!(reference(&bus["Enrichment"]), "MarketplaceEventsFunction.Arn");
    // One record a batch: its entries (at most `stream::MAX_ENTRIES_PER_RECORD`) fit one PutEvents.
    assert_eq!(text(&bus["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"]), "1");
    let target = &bus["TargetParameters"];
    assert_eq!(text(&target["EventBridgeEventBusParameters"]["Source"]), cppo_domain::marketplace::SOURCE);
    assert_eq!(text(&target["EventBridgeEventBusParameters"]["DetailType"]), "$.detailType");
    assert_eq!(text(&target["EventBridgeEventBusParameters"]["Time"]), "$.time");
    assert_eq!(text(&target["InputTemplate"]), "<$.detail>");
    assert_eq!(resource(&t, "EventBus")["Type"].as_str(), Some("AWS::Events::EventBus"));
}

#[test]
fn each_pipe_reads_the_stream_and_writes_only_its_own_targets() {
    let t = template();
    let stream_reads: BTreeSet<String> =
        ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"].map(String::from).into();
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    let allowed = [
        (
            "EventQueuePipeRole",
            vec![
                (stream_reads.clone(), strings(&["Table.StreamArn"])),
                (strings(&["sqs:SendMessage"]), strings(&["EventQueue.Arn", "PipeDeadLetterQueue.Arn"])),
            ],
        ),
        (
            "EventBusPipeRole",
            vec![
                (stream_reads.clone(), strings(&["Table.StreamArn"])),
                (strings(&["lambda:InvokeFunction"]), strings(&["MarketplaceEventsFunction.Arn"])),
                (strings(&["events:PutEvents"]), strings(&["EventBus.Arn"])),
                (strings(&["sqs:SendMessage"]), strings(&["PipeDeadLetterQueue.Arn"])),
            ],
        ),
    ];
    for (role, wanted) in allowed {
        let r = resource(&t, role);
        assert_eq!(text(&r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]), "pipes.amazonaws.com");
        assert_eq!(statements(r), wanted, "{role} may read the stream and write only its targets");
    }
}

#[test]
fn no_function_but_notify_touches_a_queue_and_notify_only_its_retries_and_dead_letters() {
    let t = template();
    for (logical_id, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = text(&r["Metadata"]["BuildProperties"]["Binary"]);
        let sqs: Vec<(String, BTreeSet<String>)> = r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .flat_map(|s| {
                let actions: Vec<String> = match &s["Action"] {
                    Value::Sequence(a) => a.iter().map(text).collect(),
                    one => vec![text(one)],
                };
                let resources: BTreeSet<String> = match &s["Resource"] {
                    Value::Sequence(a) => a.iter().map(reference).collect(),
                    one => [reference(one)].into(),
                };
                actions.into_iter().filter(|a| a.starts_with("sqs:")).map(move |a| (a, resources.clone()))
            })
            .collect();
        let expected: Vec<(String, BTreeSet<String>)> = if binary == "notify" {
            vec![
                ("sqs:ChangeMessageVisibility".into(), ["EventQueue.Arn".to_string()].into()),
                ("sqs:SendMessage".into(), ["EventDeadLetterQueue.Arn".to_string()].into()),
            ]
        } else {
            vec![]
        };
        assert_eq!(sqs, expected, "{} ({binary})", text(logical_id));
    }
}
