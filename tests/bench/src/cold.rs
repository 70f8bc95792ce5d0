//! Cold starts and memory: each function's release `bootstrap`, unzipped from its package, started
//! as a fresh process `COLD_STARTS` times under our Runtime API (init, then one real request), then
//! once more to serve a burst of requests, after which its peak resident set is read.

use crate::runtime_api::{lambda_environment, Run};
use crate::stack::Stack;
use crate::stats::median;
use crate::workload::Cast;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const COLD_STARTS: usize = 20;
/// Requests the last process of each function serves before its peak RSS is read.
pub const BURST: usize = 60;
pub const FLOOR: &str = "hello-floor";

#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub init_ms: f64,
    pub first_invoke_ms: f64,
    pub peak_rss_kib: u64,
    pub package_bytes: u64,
}

/// Where `make package` and `make bench` put the packages: `<root>/target/lambda`.
pub fn packages(root: &Path) -> PathBuf {
    root.join("target/lambda")
}

/// A function's package in a packages folder: `<function>/bootstrap.zip`, as cargo-lambda lays it out.
pub fn package(packages: &Path, function: &str) -> PathBuf {
    packages.join(function).join("bootstrap.zip")
}

/// Unzips a package into `dir` as Lambda would: its `bootstrap`, executable.
pub fn unpack(zip: &Path, dir: &Path) -> Result<PathBuf, String> {
    if !zip.exists() {
        return Err(format!("{} is missing (make package and make bench build it)", zip.display()));
    }
    let unzipped =
        std::process::Command::new("python3").args(["-m", "zipfile", "-e"]).arg(zip).arg(dir).status().map_err(|e| e.to_string())?;
    if !unzipped.success() {
        return Err(format!("could not unzip {}", zip.display()));
    }
    let bootstrap = dir.join("bootstrap");
    // zipfile drops the mode bits Lambda's own unpacking honours.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    Ok(bootstrap)
}

/// The events `function` is handed: API Gateway events of its routes, the schedule's event for
/// the sweep, SQS batches of real events from the stack's queue for notify.
pub async fn events(stack: &Stack, cast: &Cast, function: &str, count: usize) -> Result<Vec<Value>, String> {
    match function {
        "expire-sweep" => Ok((0..count).map(|_| scheduled_event()).collect()),
        "notify" => queued_events(stack, count).await,
        // The bus pipe's enrichment gets a batch of stream records: the queue's messages are such.
        "marketplace-events" => Ok(queued_events(stack, count)
            .await?
            .into_iter()
            .map(|batch| {
                let record: Value = serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap_or_default()).unwrap_or_default();
                json!([record])
            })
            .collect()),
        "republish-events" => {
            let now = chrono::Utc::now();
            // A window of a second: its hour's partition read, and (almost) nothing to write again.
            let window = json!({"from": now - chrono::Duration::seconds(1), "to": now});
            Ok(vec![window; count])
        }
        FLOOR => Ok((0..count).map(|i| json!({"ping": i})).collect()),
        _ => {
            let mut events = Vec::with_capacity(count);
            for request in cast.requests(stack, function, count).await? {
                let (_, event) = stack.event(request.method, &request.path, request.caller, request.body.as_ref())?;
                events.push(serde_json::to_value(event).map_err(|e| e.to_string())?);
            }
            Ok(events)
        }
    }
}

/// What EventBridge Scheduler sends the sweep.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/cppo-sweep"], "detail": {}
    })
}

/// `count` SQS events of one record each, taken off the stack's queue (kept invisible meanwhile).
pub async fn queued_events(stack: &Stack, count: usize) -> Result<Vec<Value>, String> {
    let gateway = &stack.running.gateway;
    // What the requests so far wrote, carried from the stream to the queue as the pipe does.
    gateway.relay.catch_up().await?;
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let received = gateway
            .sqs
            .receive_message()
            .queue_url(&gateway.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(3600)
            .send()
            .await
            .map_err(|e| format!("receiving events: {e}"))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Err(format!("only {} events queued; {count} wanted", events.len()));
        }
        events.extend(messages.into_iter().map(|m| sqs_event(m.message_id.unwrap_or_default(), m.body.unwrap_or_default())));
    }
    events.truncate(count);
    Ok(events)
}

fn sqs_event(message_id: String, body: String) -> Value {
    json!({"Records": [{
        "messageId": message_id, "receiptHandle": "bench", "body": body, "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cppo-events", "awsRegion": "us-east-1"
    }]})
}

/// Whether an answer is a success for the function that gave it.
pub fn succeeded(function: &str, answer: &Value) -> Result<(), String> {
    let ok = match function {
        "notify" => answer["batchItemFailures"].as_array().is_some_and(Vec::is_empty),
        "expire-sweep" => answer.get("expired").is_some(),
        "marketplace-events" => answer.as_array().is_some_and(|entries| !entries.is_empty()),
        "republish-events" => answer.get("republished").is_some(),
        FLOOR => answer.get("hello").is_some(),
        _ => answer["statusCode"].as_u64().is_some_and(|s| (200..300).contains(&s)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{function} answered {answer}"))
    }
}

/// Every figure of one function: `COLD_STARTS` fresh processes, then one serving a burst.
/// `packages` holds the zips; each is unpacked under `work`.
pub async fn measure(packages: &Path, work: &Path, stack: &Stack, cast: &Cast, function: &str) -> Result<Figures, String> {
    let zip = package(packages, function);
    let package_bytes = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0);
    let bootstrap = unpack(&zip, &work.join(function))?;
    let env = environment(stack, function)?;
    let mut events = events(stack, cast, function, COLD_STARTS + BURST).await?;
    let burst = events.split_off(COLD_STARTS);
    let check = |answer: &Value| succeeded(function, answer);
    let (mut inits, mut invokes) = (Vec::new(), Vec::new());
    for event in events {
        let mut run = Run::start(&bootstrap, &env, vec![event]).await?;
        let (timings, _) = run.first(check).await.map_err(|e| format!("{function}: {e}"))?;
        run.stop().await?;
        inits.push(timings.init_us as f64 / 1000.0);
        invokes.push(timings.first_invoke_us as f64 / 1000.0);
    }
    let mut run = Run::start(&bootstrap, &env, burst).await?;
    run.first(check).await.map_err(|e| format!("{function}: {e}"))?;
    run.rest(BURST - 1, check).await.map_err(|e| format!("{function}: {e}"))?;
    let peak_rss_kib = run.peak_rss_kib()?;
    run.stop().await?;
    Ok(Figures { init_ms: median(inits), first_invoke_ms: median(invokes), peak_rss_kib, package_bytes })
}

fn environment(stack: &Stack, function: &str) -> Result<Vec<(String, String)>, String> {
    if function == FLOOR {
        return Ok(lambda_environment(function, &stack.running.gateway.config.endpoint_url));
    }
    crate::environment::function_environment(function, &stack.running.gateway.config.endpoint_url, &stack.app)
}
