//! A real Lambda package, started as Lambda would start it: the release `bootstrap` from
//! `make package`, under a small Lambda Runtime API of this test's own, with the template's
//! environment, answers a real API Gateway HTTP API event against the local emulator.

mod common;

use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// The Runtime API: the first `next` gets the event, later ones wait; what the function posts
/// back (a response, or an init or invocation error) goes to the test.
struct RuntimeApi {
    event: Mutex<Option<Value>>,
    results: mpsc::Sender<(String, Value)>,
}

async fn runtime_api(api: Arc<RuntimeApi>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if path == "/2018-06-01/runtime/invocation/next" {
        let Some(event) = api.event.lock().await.take() else {
            // The one invocation is done: the function waits here for the next, as under Lambda.
            return std::future::pending().await;
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", REQUEST_ID)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:query")
            .header("lambda-runtime-trace-id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap();
        return Ok(response);
    }
    let value = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    if api.results.send((path, value)).await.is_err() {
        eprintln!("the test stopped listening before the function answered");
    }
    Ok(Response::builder().status(202).body(Full::new(Bytes::new())).unwrap())
}

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

/// The template's environment for a function, with this stack's values.
fn template_environment(stack: &Stack) -> Vec<(String, String)> {
    let t = repo_yaml("infra/template.yaml");
    let config = &stack.running.gateway.app.config;
    t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| {
            let name = k.as_str().unwrap().to_string();
            let value = match name.as_str() {
                "CPPO_TABLE_NAME" => config.table_name.clone(),
                "CPPO_QUEUE_URL" => config.queue_url.clone(),
                "CPPO_ACCOUNT_CLAIM" => "account_id".to_string(),
                "CPPO_FEE_SCHEDULE" => String::new(),
                other => panic!("the template sets {other}; give it a value here"),
            };
            (name, value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_packaged_function_answers_an_api_gateway_event_under_the_runtime_api() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let zip = format!("{root}/target/lambda/query/bootstrap.zip");
    assert!(std::path::Path::new(&zip).exists(), "{zip} is missing: run `make package` (make test does)");
    let dir = std::env::temp_dir().join(format!("cppo-package-{}", std::process::id()));
    let unzipped = Command::new("python3").args(["-m", "zipfile", "-e", &zip]).arg(&dir).status().expect("python3 unzips");
    assert!(unzipped.success());
    // zipfile does not keep the mode bits Lambda's own unpacking honours.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("bootstrap"), std::fs::Permissions::from_mode(0o755)).expect("bootstrap made executable");

    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");

    let (results, mut received) = mpsc::channel(4);
    let api = Arc::new(RuntimeApi { event: Mutex::new(Some(api_gateway_event(&opportunity_id, ISV))), results });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let api = api.clone();
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), hyper::service::service_fn(move |r| runtime_api(api.clone(), r))));
        }
    });

    let mut function = Command::new(dir.join("bootstrap"));
    function
        .env_clear()
        .envs(template_environment(&stack))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "query")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/query")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2027/01/10/[$LATEST]0123456789abcdef")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", moto())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut child = function.spawn().expect("the bootstrap starts");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), received.recv()).await;
    child.kill().expect("the function stops");
    child.wait().expect("the function is reaped");
    std::fs::remove_dir_all(&dir).expect("the unzipped package is removed");
    let (path, response) = answer.expect("the function answered within 30 s").expect("an answer");
    assert_eq!(path, format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response"), "{response}");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().expect("a body")).unwrap();
    assert_eq!((body["opportunityId"].as_str(), body["status"].as_str()), (Some(opportunity_id.as_str()), Some("active")));
    assert_eq!(body["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "80");
}
