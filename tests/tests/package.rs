//! A function's own binary, started as Lambda starts a `bootstrap`: under the bench crate's Lambda
//! Runtime API emulator, with the template's environment, it answers a real API Gateway HTTP API
//! event against the local emulator. `make test` builds it in the dev profile (`make package`
//! and `make bench` build and start the release packages).

mod common;

use common::*;
use cppo_bench::environment::function_environment;
use cppo_bench::runtime_api::Run;
use serde_json::{json, Value};

/// A GET of one opportunity as API Gateway's HTTP API (payload 2.0) sends it to the function.
fn api_gateway_event(opportunity_id: &str, caller: &str) -> Value {
    let path = format!("/opportunities/{opportunity_id}");
    json!({
        "version": "2.0",
        "routeKey": "GET /opportunities/{id}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "user-agent": "curl/8.5.0"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "authorizer": {"jwt": {"claims": {"account_id": caller, "sub": "user-1", "iss": "https://issuer.example"}, "scopes": null}},
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "GET /opportunities/{id}",
            "stage": "$default",
            "time": "10/Jan/2027:12:00:00 +0000",
            "timeEpoch": 1799582400000u64
        },
        "pathParameters": {"id": opportunity_id},
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_binary_answers_an_api_gateway_event_under_the_runtime_api() {
    let bootstrap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/query");
    assert!(bootstrap.exists(), "{} is missing: make test builds it", bootstrap.display());

    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");

    let env = function_environment("query", moto(), &stack.running.gateway.app).expect("the template's environment");
    let mut run = Run::start(&bootstrap, &env, vec![api_gateway_event(&opportunity_id, ISV)]).await.expect("the bootstrap starts");
    // The Runtime API emulator fails the run on an init or invocation error, or on no answer in 30 s.
    let answer = run.first(|_| Ok(())).await;
    run.stop().await.expect("the function stops");
    let (_, response) = answer.expect("the function answered its invocation");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().expect("a body")).unwrap();
    assert_eq!((body["opportunityId"].as_str(), body["status"].as_str()), (Some(opportunity_id.as_str()), Some("active")));
    assert_eq!(body["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "80");
}

/// The read a function makes at init on AWS to open its DynamoDB connection is a valid request
/// for the table's key schema (a malformed one would still open the connection, but log a warning
/// on every cold start).
#[tokio::test(flavor = "multi_thread")]
async fn the_init_warm_up_read_is_valid_for_the_table() {
    let stack = Stack::start().await;
    stack.running.gateway.app.store.warm_up().await.expect("the warm-up read succeeds");
}
