//! The service in this process, against the emulator: the local gateway's stack (table, queues,
//! sender from the template) with the functions' clients metered, so every request made through
//! it is counted (round trips) and timed (own time), per route.

use crate::meter::{Meter, Service, Usage};
use crate::stats::Samples;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use cppo_platform::mailer::Mailer;
use cppo_platform::queue::Queue;
use cppo_platform::{routes, App};
use fn_notify::Notifier;
use local_gateway::provision::Names;
use local_gateway::server::{api_gateway_event, LocalRequest};
use local_gateway::{sdk_config, start, LocalConfig, Running, DEFAULT_TEMPLATE};
use serde_json::Value;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ACCOUNT_CLAIM: &str = "account_id";
pub const JWT_SECRET: &str = "bench-secret";

/// moto in server mode on a free port, stopped when this is dropped.
pub struct Moto {
    pub url: String,
    _process: tokio::process::Child,
}

impl Moto {
    pub async fn start(root: &std::path::Path) -> Result<Moto, String> {
        let python = root.join(".venv/bin/python");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let process = tokio::process::Command::new(&python)
            .arg(root.join("scripts/moto_server.py"))
            .args(["127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e} (run `make setup`)", python.display()))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                return Err(format!("moto did not start on port {port}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Moto { url: format!("http://127.0.0.1:{port}"), _process: process })
    }
}

/// The local names of a stack's table, queues and sender, all under `prefix`.
pub fn names(prefix: &str) -> Names {
    Names::under(prefix, format!("noreply-{prefix}@cppo.example"))
}

pub fn local_config(moto: &str, names: Names, port: u16) -> LocalConfig {
    LocalConfig {
        port,
        endpoint_url: moto.to_string(),
        jwt_secret: JWT_SECRET.into(),
        account_claim: ACCOUNT_CLAIM.into(),
        background: false,
        names,
        template: DEFAULT_TEMPLATE.into(),
        fees: Default::default(),
        token_key: local_gateway::DEFAULT_TOKEN_KEY.into(),
        rate_limit: Some(local_gateway::throttle::RateLimit::UNTHROTTLED),
    }
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// One request's cost.
#[derive(Debug, Clone)]
pub struct Sample {
    pub round_trips: u64,
    pub own_us: u64,
    /// Its round trips' operations, joined: what explains a count above the floor.
    pub calls: String,
}

pub struct Stack {
    pub running: Running,
    /// The functions' `App`, its client metered, and notify's, its clients metered too.
    pub app: App,
    pub notifier: Notifier,
    pub meter: Meter,
    /// The same metered DynamoDB client, for what the benchmarks write and count themselves.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Per operation (a route key, `expire-sweep`, `notify`): every request's cost.
    pub samples: Mutex<Samples<Sample>>,
}

impl Stack {
    /// Provisions a stack named `prefix` from the template, background work off.
    pub async fn start(moto: &str, prefix: &str) -> Result<Stack, String> {
        Stack::start_with(moto, prefix, false).await
    }

    /// The same, with the background work (relay, queue poller, schedule) as `make run` has it.
    pub async fn start_with(moto: &str, prefix: &str, background: bool) -> Result<Stack, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let running = start(LocalConfig { background, ..local_config(moto, names(prefix), 0) }, listener).await?;
        let sdk = sdk_config(moto).await;
        let meter = Meter::default();
        // The emulator answers a query of a 50,000-item table's index in seconds (it reads every
        // item in Python), where DynamoDB takes milliseconds: the bench counts what the sweep
        // reads, never how long the emulator takes, so its calls get more than the functions' 6 s.
        let patient = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(2))
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .operation_timeout(std::time::Duration::from_secs(120))
            .build();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk).timeout_config(patient).interceptor(meter.interceptor(Service::DynamoDb)).build(),
        );
        let sqs =
            aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&sdk).interceptor(meter.interceptor(Service::Sqs)).build());
        let ses =
            aws_sdk_ses::Client::from_conf(aws_sdk_ses::config::Builder::from(&sdk).interceptor(meter.interceptor(Service::Ses)).build());
        let gateway = &running.gateway;
        let config = gateway.app.config.clone();
        let app = App::with_client(dynamodb.clone(), config.clone(), Arc::new(gateway.clock.clone()));
        let app = match gateway.app.bucket.clone() {
            Some(bucket) => app.with_bucket(bucket),
            None => app,
        };
        let (queue, dead_letter) = config.require_queues().map_err(|e| e.to_string())?;
        let notifier = Notifier {
            mailer: Mailer::new(ses, config.require_sender().map_err(|e| e.to_string())?),
            queue: Queue::new(sqs, queue, dead_letter, config.retry),
            app: app.clone(),
        };
        Ok(Stack { running, app, notifier, meter, dynamodb, samples: Mutex::new(Samples::default()) })
    }

    /// The payload 2.0 event API Gateway would send for `method path` as `caller`, and the
    /// function its route names.
    pub fn event(
        &self,
        method: &str,
        path: &str,
        caller: &str,
        body: Option<&Value>,
    ) -> Result<(&'static str, ApiGatewayV2httpRequest), String> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let (route, params) = routes::find(method, path).map_err(|_| format!("no route {method} {path}"))?;
        let mut headers = hyper::HeaderMap::new();
        headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
        let request = LocalRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers,
            body: body.map(|b| b.to_string().into()).unwrap_or_default(),
        };
        let claims = [(ACCOUNT_CLAIM.to_string(), caller.to_string())].into();
        let event = api_gateway_event(route, params, claims, &request, &uuid::Uuid::new_v4().to_string())?;
        Ok((route.function, event))
    }

    /// A request through the function its route names, counted and timed under its route key.
    pub async fn call(&self, method: &str, path: &str, caller: &str, body: Option<&Value>) -> Result<Reply, String> {
        let (function, event) = self.event(method, path, caller, body)?;
        let operation = event.route_key.clone().unwrap_or_default();
        self.invoke(function, event, &operation).await
    }

    /// The same request with an `Idempotency-Key`, counted under `<route key> (Idempotency-Key)`.
    pub async fn ok_keyed(&self, method: &str, path: &str, caller: &str, body: &Value, key: &str) -> Result<Value, String> {
        let (function, mut event) = self.event(method, path, caller, Some(body))?;
        event.headers.insert("idempotency-key", hyper::header::HeaderValue::from_str(key).map_err(|e| e.to_string())?);
        let operation = format!("{} (Idempotency-Key)", event.route_key.as_deref().unwrap_or_default());
        let reply = self.invoke(function, event, &operation).await?;
        if !(200..300).contains(&reply.status) {
            return Err(format!("{method} {path} as {caller} with a key: {} {}", reply.status, reply.body));
        }
        Ok(reply.body)
    }

    async fn invoke(&self, function: &'static str, event: ApiGatewayV2httpRequest, operation: &str) -> Result<Reply, String> {
        let response =
            self.measure(operation, local_gateway::functions::invoke(function, &self.app, event)).await.ok_or("no such function")?;
        let body = match &response.body {
            Some(aws_lambda_events::encodings::Body::Text(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Ok(Reply { status: u16::try_from(response.status_code).unwrap_or(0), body })
    }

    /// A call that must answer 2xx: its body, or an error naming the request.
    pub async fn ok(&self, method: &str, path: &str, caller: &str, body: Option<&Value>) -> Result<Value, String> {
        let reply = self.call(method, path, caller, body).await?;
        if !(200..300).contains(&reply.status) {
            return Err(format!("{method} {path} as {caller}: {} {}", reply.status, reply.body));
        }
        Ok(reply.body)
    }

    /// Runs `work` as one request of `operation`, recording its round trips and own time.
    pub async fn measure<T>(&self, operation: &str, work: impl std::future::Future<Output = T>) -> T {
        self.meter.take();
        let started = Instant::now();
        let out = work.await;
        let wall = started.elapsed();
        let usage: Usage = self.meter.take();
        let own = wall.saturating_sub(usage.in_aws);
        let sample = Sample {
            round_trips: usage.round_trips,
            own_us: u64::try_from(own.as_micros()).unwrap_or(u64::MAX),
            calls: usage.calls.join(" "),
        };
        self.samples.lock().unwrap_or_else(|p| p.into_inner()).add(operation, sample);
        out
    }
}
