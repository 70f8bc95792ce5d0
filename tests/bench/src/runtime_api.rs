//! A Lambda Runtime API of our own: starts a function's `bootstrap` as a fresh process with the
//! template's environment, hands it events one `next` at a time, and records when each thing
//! happened, so init (process start to the first `next`) and each invocation can be timed.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// How long one invocation may take before the run is called failed.
const PATIENCE: Duration = Duration::from_secs(30);

/// What the function did, and when.
#[derive(Debug)]
pub enum Seen {
    /// It asked for its next event (and got one, if any was left).
    Next(Instant),
    /// It answered an invocation: the path says response or error.
    Answer { at: Instant, path: String, body: Value },
}

struct Queue {
    events: Mutex<VecDeque<Value>>,
    seen: mpsc::UnboundedSender<Seen>,
}

/// One function process under the Runtime API, with the events it is to be handed.
pub struct Run {
    child: tokio::process::Child,
    seen: mpsc::UnboundedReceiver<Seen>,
    started: Instant,
    server: tokio::task::JoinHandle<()>,
}

/// Timings of one run, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub init_us: u64,
    pub first_invoke_us: u64,
}

impl Run {
    /// Serves the Runtime API on a fresh port and starts `bootstrap` as Lambda would.
    pub async fn start(bootstrap: &Path, env: &[(String, String)], events: Vec<Value>) -> Result<Run, String> {
        let (tx, seen) = mpsc::unbounded_channel();
        let queue = Arc::new(Queue { events: Mutex::new(events.into()), seen: tx });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let server = tokio::spawn(serve(listener, queue));
        let mut command = tokio::process::Command::new(bootstrap);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command.spawn().map_err(|e| format!("starting {}: {e}", bootstrap.display()))?;
        Ok(Run { child, seen, started, server })
    }

    async fn seen(&mut self) -> Result<Seen, String> {
        match tokio::time::timeout(PATIENCE, self.seen.recv()).await {
            Ok(Some(seen)) => Ok(seen),
            Ok(None) => Err("the Runtime API stopped".into()),
            Err(_) => Err(format!("nothing from the function in {PATIENCE:?}")),
        }
    }

    /// Waits for the next `next`, returning when it came.
    async fn next(&mut self) -> Result<Instant, String> {
        match self.seen().await? {
            Seen::Next(at) => Ok(at),
            Seen::Answer { path, body, .. } => Err(format!("expected a `next`, got {path}: {body}")),
        }
    }

    /// Waits for the answer to the invocation just handed out; an error answer fails the run.
    async fn answer(&mut self) -> Result<(Instant, Value), String> {
        match self.seen().await? {
            Seen::Answer { at, path, body } if path.ends_with("/response") => Ok((at, body)),
            Seen::Answer { path, body, .. } => Err(format!("{path}: {body}")),
            Seen::Next(_) => Err("the function asked for another event without answering".into()),
        }
    }

    /// Init and the first invocation, and its answer; `check` decides whether that is a success.
    pub async fn first(&mut self, check: impl Fn(&Value) -> Result<(), String>) -> Result<(Timings, Value), String> {
        let ready = self.next().await?;
        let (answered, body) = self.answer().await?;
        check(&body)?;
        Ok((Timings { init_us: micros(ready - self.started), first_invoke_us: micros(answered - ready) }, body))
    }

    /// Serves the rest of the events, each answered before the next, with the same check.
    pub async fn rest(&mut self, count: usize, check: impl Fn(&Value) -> Result<(), String>) -> Result<(), String> {
        for _ in 0..count {
            self.next().await?;
            check(&self.answer().await?.1)?;
        }
        Ok(())
    }

    /// The most memory the process has held resident (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let pid = self.child.id().ok_or("the function has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc status".to_string())
    }

    pub async fn stop(mut self) -> Result<(), String> {
        self.server.abort();
        self.child.kill().await.map_err(|e| e.to_string())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn serve(listener: tokio::net::TcpListener, queue: Arc<Queue>) {
    while let Ok((stream, _)) = listener.accept().await {
        let queue = queue.clone();
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(move |r| answer(queue.clone(), r))),
        );
    }
}

async fn answer(queue: Arc<Queue>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let path = req.uri().path().to_string();
    if path == NEXT {
        let event = queue.events.lock().map(|mut q| q.pop_front()).unwrap_or(None);
        // Send fails only once the run is over, when nobody is listening any more.
        if queue.seen.send(Seen::Next(at)).is_err() {
            return std::future::pending().await;
        }
        return Ok(match event {
            Some(event) => invocation(&event),
            // No event left: the function waits here, as it would between Lambda invocations.
            None => std::future::pending().await,
        });
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    let accepted = queue.seen.send(Seen::Answer { at, path, body }).is_ok();
    Ok(status(if accepted { 202 } else { 410 }))
}

fn status(code: u16) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::ACCEPTED);
    response
}

/// One invocation as the Runtime API hands it out: the event and Lambda's headers.
fn invocation(event: &Value) -> Response<Full<Bytes>> {
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let mut response = Response::new(Full::new(Bytes::from(event.to_string())));
    let headers = response.headers_mut();
    let request_id = uuid::Uuid::new_v4().to_string();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench".to_string()),
        ("lambda-runtime-trace-id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_string()),
    ] {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// The environment Lambda gives every function, plus the emulator's endpoint and the credentials
/// of the function's local IAM user (its template role's actions, where the emulator enforces IAM).
pub fn lambda_environment(function: &str, endpoint_url: &str) -> Vec<(String, String)> {
    let key = local_gateway::function_access_key(function);
    [
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2027/01/10/[$LATEST]0123456789abcdef"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", key.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", endpoint_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
