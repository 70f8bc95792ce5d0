//! Every AWS call each function (and each pipe, as the local relay plays it) makes is one its role
//! in `infra/template.yaml` allows, resources included. The emulator enforces actions only (each function runs as an IAM user with its role's
//! actions), and counts a transaction as an action of its own; AWS authorizes each item of a
//! transaction and matches resources. So the gateway records every call as AWS would authorize it
//! (action and ARN), and this test holds each against the function's policy with IAM's rules,
//! evaluated by the small matcher below.

mod common;

use common::*;
use local_gateway::calls::{bus_arn, identity_arn, queue_arn, table_arn, Call, ACCOUNT, REGION};
use serde_json::json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// The stack's names, to resolve the template's references to the ARNs the calls use.
struct Names {
    table: String,
    stream: String,
    queue: String,
    dead_letter_queue: String,
    bus: String,
    sender: String,
    bucket: String,
}

impl Names {
    fn resolve(&self, value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Tagged(tagged) if tagged.tag == "!Sub" && tagged.value.is_sequence() => {
                // The long form: [template, {name: value}].
                let parts = tagged.value.as_sequence().expect("!Sub [template, variables]");
                let variables = parts[1]
                    .as_mapping()
                    .expect("!Sub's variables")
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_string(), self.evaluate(v)))
                    .collect();
                self.substitute(parts[0].as_str().expect("!Sub's template"), &variables)
            }
            Value::Tagged(tagged) => {
                let inner = tagged.value.as_str().unwrap_or_else(|| panic!("a {} of a string: {value:?}", tagged.tag));
                match tagged.tag.to_string().as_str() {
                    "!GetAtt" => self.attribute(inner),
                    "!Sub" => self.substitute(inner, &BTreeMap::new()),
                    other => panic!("the matcher does not know {other} in a policy resource"),
                }
            }
            other => panic!("a policy resource the matcher cannot read: {other:?}"),
        }
    }

    fn attribute(&self, name: &str) -> String {
        match name {
            "Table.Arn" => table_arn(&self.table),
            "EventQueue.Arn" => queue_arn(&self.queue),
            "EventDeadLetterQueue.Arn" => queue_arn(&self.dead_letter_queue),
            "Table.StreamArn" => self.stream.clone(),
            "EventBus.Arn" => bus_arn(&self.bus),
            "DocumentBucket.Arn" => local_gateway::calls::object_arn(&self.bucket),
            // Not played locally: the relay calls the enrichment's code in-process, and never
            // gives up on a record, so nothing is sent to the pipes' dead-letter queue.
            "MarketplaceEventsFunction.Arn" => "arn:aws:lambda:local:enrichment".into(),
            "PipeDeadLetterQueue.Arn" => queue_arn("pipe-dead-letters"),
            other => panic!("the matcher does not know the ARN of {other}"),
        }
    }

    /// The intrinsics a `!Sub` variable may use here: `!Ref`, `!Select` and `!Split`.
    fn evaluate(&self, value: &Value) -> String {
        let Value::Tagged(tagged) = value else { return self.resolve(value) };
        let args = &tagged.value;
        match tagged.tag.to_string().as_str() {
            "!Ref" if args.as_str() == Some("SenderEmail") => self.sender.clone(),
            "!Select" => {
                let (index, list) = (args[0].as_u64().expect("an index") as usize, &args[1]);
                let Value::Tagged(split) = list else { panic!("!Select of a list the matcher cannot read: {list:?}") };
                assert_eq!(split.tag.to_string(), "!Split");
                let (delimiter, text) = (split.value[0].as_str().expect("a delimiter"), self.evaluate(&split.value[1]));
                text.split(delimiter).nth(index).unwrap_or_else(|| panic!("no part {index} of {text}")).to_string()
            }
            other => panic!("the matcher does not know {other} {args:?}"),
        }
    }

    fn substitute(&self, text: &str, variables: &BTreeMap<String, String>) -> String {
        let mut out = text.to_string();
        while let Some(start) = out.find("${") {
            let end = out[start..].find('}').map(|e| start + e).expect("a closed ${...}");
            let value = match &out[start + 2..end] {
                "AWS::Partition" => "aws".to_string(),
                "AWS::Region" => REGION.to_string(),
                "AWS::AccountId" => ACCOUNT.to_string(),
                "SenderEmail" => self.sender.clone(),
                name if variables.contains_key(name) => variables[name].clone(),
                attribute => self.attribute(attribute),
            };
            out.replace_range(start..=end, &value);
        }
        out
    }
}

fn strings(value: &Value, names: &Names) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().map(|v| names.resolve(v)).collect(),
        single => vec![names.resolve(single)],
    }
}

/// Every function's statements, by the binary it builds, and every other role's (the pipes'), by
/// its logical id.
fn policies(names: &Names) -> BTreeMap<String, Vec<Statement>> {
    let template = repo_yaml("infra/template.yaml");
    let mut out = BTreeMap::new();
    for (logical_id, resource) in template["Resources"].as_mapping().unwrap() {
        let (name, documents) = match resource["Type"].as_str() {
            Some("AWS::Serverless::Function") => (
                resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_string(),
                resource["Properties"]["Policies"].clone(),
            ),
            Some("AWS::IAM::Role") => {
                let documents = resource["Properties"]["Policies"].as_sequence().into_iter().flatten().map(|p| p["PolicyDocument"].clone());
                (logical_id.as_str().unwrap().to_string(), Value::Sequence(documents.collect()))
            }
            _ => continue,
        };
        let statements = documents
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .map(|s| Statement {
                allow: s["Effect"].as_str() == Some("Allow"),
                actions: strings(&s["Action"], names),
                resources: strings(&s["Resource"], names),
            })
            .collect();
        out.insert(name, statements);
    }
    out
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// IAM's evaluation for one identity policy: an explicit deny wins, else some allow must match
/// both the action (case-insensitive) and the resource.
fn allowed(statements: &[Statement], call: &Call) -> bool {
    let matches = |s: &Statement| {
        s.actions.iter().any(|a| glob(&a.to_lowercase(), &call.action.to_lowercase()))
            && s.resources.iter().any(|r| glob(r, &call.resource))
    };
    !statements.iter().any(|s| !s.allow && matches(s)) && statements.iter().any(|s| s.allow && matches(s))
}

#[test]
fn the_matcher_follows_iams_rules() {
    let names = Names {
        table: "t".into(),
        stream: format!("{}/stream/l", table_arn("t")),
        queue: "q".into(),
        dead_letter_queue: "d".into(),
        bus: "b".into(),
        sender: "s@x.example".into(),
        bucket: "b".into(),
    };
    let table = table_arn("t");
    let policy = vec![
        Statement { allow: true, actions: vec!["dynamodb:GetItem".into(), "sqs:*".into()], resources: vec![table.clone(), queue_arn("q")] },
        Statement { allow: true, actions: vec!["dynamodb:Query".into()], resources: vec![format!("{table}/index/by*")] },
    ];
    let call = |action: &str, resource: &str| Call { function: "f".into(), action: action.into(), resource: resource.into() };
    assert!(allowed(&policy, &call("dynamodb:getitem", &table)));
    assert!(!allowed(&policy, &call("dynamodb:GetItem", &table_arn("another"))), "another table's ARN");
    assert!(!allowed(&policy, &call("dynamodb:BatchGetItem", &table)), "an action not named");
    assert!(allowed(&policy, &call("dynamodb:Query", &format!("{table}/index/byDue"))));
    assert!(!allowed(&policy, &call("dynamodb:Query", &table)), "an index grant is not the table's");
    assert!(allowed(&policy, &call("sqs:SendMessage", &queue_arn("q"))));
    let denied = [Statement { allow: false, actions: vec!["sqs:SendMessage".into()], resources: vec!["*".into()] }];
    assert!(!allowed(&policy.into_iter().chain(denied).collect::<Vec<_>>(), &call("sqs:SendMessage", &queue_arn("q"))), "a deny wins");
    assert_eq!(names.resolve(&serde_yaml::from_str("!Sub \"${Table.Arn}/index/byIsv\"").unwrap()), format!("{table}/index/byIsv"));
    let domain = "!Sub [\"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${D}\", {D: !Select [1, !Split [\"@\", !Ref SenderEmail]]}]";
    assert_eq!(names.resolve(&serde_yaml::from_str(domain).unwrap()), identity_arn("x.example"));
}

/// Everything the service does, through HTTP, the sweep and notify: every function, every kind of
/// call (gets, batches, queries on each index, transactions of puts and updates, SQS, SES).
async fn the_whole_service(stack: &Stack) {
    let product = stack.cast().await;
    let keyed = |key: &str| [("idempotency-key", key.to_string())];
    assert_eq!(stack.get("/sellers/me", ISV).await.status, 200);
    assert_eq!(stack.get("/resellers?limit=1", ISV).await.status, 200);
    assert_eq!(stack.get(&format!("/products/{product}"), ISV).await.status, 200);
    let r = stack.call_with("POST", "/products", Some(ISV), Some(json!({"title": "Kept", "productType": "ami", "paid": true, "dimensions": [{"key": "hours", "name": "Hours", "unitPrice": "1.00"}]})), &keyed("p-1")).await;
    assert_eq!(r.status, 201, "{r:?}");
    let products = stack.get("/products?limit=1", ISV).await;
    let next = products.body["nextToken"].as_str().expect("a second page").to_string();
    assert_eq!(stack.get(&format!("/products?limit=1&nextToken={next}"), ISV).await.status, 200);

    let body = opportunity_body(&product, json!({}));
    let r = stack.call_with("POST", "/opportunities", Some(ISV), Some(body.clone()), &keyed("o-1")).await;
    assert_eq!(r.status, 201, "{r:?}");
    let opportunity_id = id(&r.body["items"][0], "opportunityId");
    assert_eq!(stack.call_with("POST", "/opportunities", Some(ISV), Some(body), &keyed("o-1")).await.status, 201, "replayed");
    let path = format!("/opportunities/{opportunity_id}");
    assert_eq!(stack.call("PATCH", &path, Some(ISV), Some(json!({"description": "Q3"}))).await.status, 200);
    assert_eq!(stack.post(&format!("{path}/clone"), ISV, json!({"name": "ResellQ4Acme"})).await.status, 201);
    let exported = stack.get(&format!("{path}/changeset"), ISV).await;
    assert_eq!(exported.status, 200);
    assert_eq!(stack.post("/opportunities/import", ISV, exported.body["changeSets"][0].clone()).await.status, 201);

    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let agreement = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(agreement.status, 201, "{agreement:?}");
    let replacing = stack.offer(&opportunity_id, &product, json!({"replacesAgreementId": id(&agreement.body, "agreementId")})).await;
    assert_eq!(replacing.status, 201, "{replacing:?}");
    let replacing = stack.post(&format!("/offers/{}/accept", id(&replacing.body, "offerId")), BUYER, json!({})).await;
    assert_eq!(replacing.status, 201, "{replacing:?}");
    let cancelled = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    assert_eq!(
        stack.call("PATCH", &format!("/offers/{cancelled}"), Some(RESELLER), Some(json!({"expiresOn": "2027-02-01"}))).await.status,
        200
    );
    assert_eq!(stack.post(&format!("/offers/{cancelled}/cancel"), RESELLER, json!({})).await.status, 200);
    // A cancellation request, withdrawn, then asked again and accepted by the buyer.
    let replacing_agreement = id(&replacing.body, "agreementId");
    let cancellation = format!("/agreements/{replacing_agreement}/cancellation");
    assert_eq!(stack.post(&cancellation, RESELLER, json!({"reason": "moving to another plan"})).await.status, 201);
    assert_eq!(stack.call("DELETE", &cancellation, Some(RESELLER), None).await.status, 200);
    assert_eq!(stack.post(&cancellation, RESELLER, json!({"reason": "moving to another plan"})).await.status, 201);
    assert_eq!(stack.get(&cancellation, BUYER).await.status, 200);
    assert_eq!(stack.post(&format!("{cancellation}/accept"), BUYER, json!({})).await.status, 200);
    let lasting = id(&stack.offer(&opportunity_id, &product, json!({"agreementStartDate": "2027-02-01"})).await.body, "offerId");
    assert_eq!(stack.post(&format!("/offers/{lasting}/accept"), BUYER, json!({})).await.status, 201);
    // Legal documents: uploaded through the presigned URL, completed, compiled into an EULA at
    // creation and at a draft's release, and read back through presigned downloads.
    let text = b"Terms of use".to_vec();
    let declared = json!({"fileName": "terms.txt", "contentType": "text/plain", "sizeBytes": text.len(),
        "sha256": "8c45a486e4b1cad8da030648c261c5b4bce2ab95de23010415be98229eeec919"});
    let document = stack.post("/documents", ISV, declared).await;
    let mut put = reqwest::Client::new().put(document.body["uploadUrl"].as_str().unwrap()).body(text);
    for (name, value) in document.body["uploadHeaders"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success(), "the presigned upload, as its signer may make it");
    let document = id(&document.body, "documentId");
    assert_eq!(stack.post(&format!("/documents/{document}/complete"), ISV, json!({})).await.status, 200);
    assert_eq!(stack.get(&format!("/documents/{document}"), ISV).await.status, 200);
    let eula = json!({"eula": {"type": "custom", "documents": [{"documentId": document}]}});
    let with_terms = id(&stack.opportunity(opportunity_body(&product, eula.clone())).await, "opportunityId");
    let file = stack.get(&format!("/opportunities/{with_terms}/eula"), RESELLER).await;
    assert!(reqwest::get(file.body["url"].as_str().unwrap()).await.unwrap().status().is_success(), "the presigned download");
    let terms_draft =
        id(&stack.opportunity(opportunity_body(&product, json!({"draft": true, "eula": eula["eula"]}))).await, "opportunityId");
    assert_eq!(stack.post(&format!("/opportunities/{terms_draft}/release"), ISV, json!({})).await.status, 200);

    // A draft, revised and released; the reseller ends another authorization itself.
    let draft = id(&stack.opportunity(opportunity_body(&product, json!({"draft": true}))).await, "opportunityId");
    assert_eq!(stack.call("PATCH", &format!("/opportunities/{draft}"), Some(ISV), Some(json!({"name": "DraftRenamed"}))).await.status, 200);
    assert_eq!(stack.post(&format!("/opportunities/{draft}/release"), ISV, json!({})).await.status, 200);
    assert_eq!(stack.post(&format!("/opportunities/{draft}/revoke"), RESELLER, json!({"reason": "no longer sold"})).await.status, 200);
    let expiring = id(&stack.offer(&opportunity_id, &product, json!({"expiresOn": "2027-01-12"})).await.body, "offerId");

    // A metered deal: usage reported (taken, then a duplicate), billed by the sweep below.
    let metered = json!({"title": "Data Lake", "productType": "saas-subscription", "paid": true,
        "dimensions": [{"key": "gb", "name": "GB", "unitPrice": "0.05", "kind": "usage"}]});
    let metered = id(&stack.post("/products", ISV, metered).await.body, "productId");
    let by_usage = id(&stack.opportunity(opportunity_body(&metered, json!({}))).await, "opportunityId");
    let usage_offer = id(&stack.offer(&by_usage, &metered, json!({})).await.body, "offerId");
    let usage_agreement = id(&stack.post(&format!("/offers/{usage_offer}/accept"), BUYER, json!({})).await.body, "agreementId");
    let report = json!({"records": [{"dimensionKey": "gb", "quantity": 100, "timestamp": "2027-01-10T12:00:00Z"}]});
    for _ in 0..2 {
        let r = stack.post(&format!("/agreements/{usage_agreement}/usage"), ISV, report.clone()).await;
        assert_eq!(r.status, 200, "{r:?}");
    }

    for list in [
        "/opportunities",
        "/offers",
        "/agreements",
        "/invoices",
        "/reports/sales?from=2027-01-01&to=2027-01-31",
        "/reports/billing?from=2027-01-01&to=2027-01-31",
    ] {
        assert_eq!(stack.get(list, ISV).await.status, 200, "{list}");
        assert_eq!(stack.get(list, RESELLER).await.status, 200, "{list}");
    }
    assert_eq!(stack.get(&format!("/offers/{expiring}"), BUYER).await.status, 200);
    assert_eq!(stack.get("/agreements", BUYER).await.status, 200);
    assert_eq!(stack.post(&format!("{path}/revoke"), ISV, json!({})).await.status, 200);

    // SES down: notify puts off the records it could not send for; then the sweep's expiries.
    stack.call("POST", "/_local/faults", None, Some(json!({"ses": "down"}))).await;
    let (_, failed) = stack.drain().await;
    assert!(failed > 0, "notify failed records while SES was down");
    stack.call("POST", "/_local/faults", None, Some(json!({"ses": "up"}))).await;
    stack.set_clock("2027-01-13T00:00:00Z").await;
    assert_eq!(stack.sweep().await["offers"].as_u64(), Some(1));
    stack.set_clock("2028-06-01T00:00:00Z").await;
    assert!(stack.sweep().await["agreements"].as_u64() >= Some(1));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (delivered, failed) = stack.drain().await;
    assert!(delivered > 10 && failed == 0, "{delivered} delivered, {failed} failed");
    // An operator republishes a window of events from the table.
    let window = fn_republish_events::Window { from: "2027-01-10T00:00:00Z".parse().unwrap(), to: "2027-01-11T00:00:00Z".parse().unwrap() };
    let republished = fn_republish_events::republish(&stack.running.gateway.republish, &window).await.expect("republished");
    assert!(republished.republished > 5, "{republished:?}");
    assert_eq!(stack.drain().await.1, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_each_function_makes_is_allowed_by_its_role_resources_included() {
    let stack = Stack::start().await;
    the_whole_service(&stack).await;
    let config = &stack.running.gateway.config.names;
    let names = Names {
        table: config.table.clone(),
        stream: stack.running.gateway.relay.stream_arn.clone(),
        queue: config.queue.clone(),
        dead_letter_queue: config.dead_letter_queue.clone(),
        bus: config.bus.clone(),
        sender: config.sender.clone(),
        bucket: config.bucket.clone(),
    };
    let policies = policies(&names);
    let calls = stack.running.gateway.calls.calls();
    let denied: Vec<&Call> = calls.iter().filter(|c| !policies.get(&c.function).is_some_and(|p| allowed(p, c))).collect();
    assert!(denied.is_empty(), "calls the template's roles do not allow: {denied:#?}");

    // The run reached every function and every kind of call the roles are there for.
    let functions: BTreeSet<&str> = calls.iter().map(|c| c.function.as_str()).collect();
    let callers: BTreeSet<&str> =
        local_gateway::FUNCTIONS.iter().copied().chain(local_gateway::PIPES.iter().map(|(_, role)| *role)).collect();
    assert_eq!(functions, callers, "functions and pipes that made no call");
    let made = |function: &str, action: &str| calls.iter().any(|c| c.function == function && c.action == action);
    for (function, action) in [
        ("notify", "dynamodb:BatchGetItem"),
        ("notify", "ses:SendEmail"),
        ("expire-sweep", "dynamodb:Query"),
        ("expire-sweep", "dynamodb:BatchGetItem"),
        ("notify", "dynamodb:Query"),
        ("notify", "sqs:ChangeMessageVisibility"),
        ("EventQueuePipeRole", "dynamodb:GetRecords"),
        ("EventQueuePipeRole", "sqs:SendMessage"),
        ("EventBusPipeRole", "dynamodb:GetRecords"),
        ("EventBusPipeRole", "events:PutEvents"),
        ("republish-events", "dynamodb:Query"),
        ("republish-events", "dynamodb:UpdateItem"),
        ("extend-offer", "dynamodb:UpdateItem"),
        ("accept-offer", "dynamodb:PutItem"),
        ("create-opportunity", "dynamodb:BatchGetItem"),
        ("query", "dynamodb:Query"),
        ("meter-usage", "dynamodb:ConditionCheckItem"),
        ("meter-usage", "dynamodb:PutItem"),
        ("meter-usage", "dynamodb:UpdateItem"),
        ("documents", "s3:PutObject"),
        ("documents", "s3:GetObject"),
        ("documents", "s3:DeleteObject"),
        ("create-opportunity", "s3:GetObjectVersion"),
        ("create-opportunity", "s3:PutObject"),
        ("update-opportunity", "s3:PutObject"),
        ("query", "s3:GetObjectVersion"),
    ] {
        assert!(made(function, action), "{function} never made {action}: the run does not cover it");
    }
}
