//! The load run: the local gateway as a process of its own (its background work on: the queue
//! feeding notify, the schedule), and from this process, over loopback, a fixed number of requests
//! in flows a reseller team would make: authorize, offer, look, accept, look again.

use crate::stack::{local_config, names, JWT_SECRET};
use crate::stats::percentile;
use crate::workload::{self, BUYER, ISV, RESELLER};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REQUESTS: u64 = 2_000;
/// Callers at once. The emulator serves one request at a time, so more only queue in front of it.
pub const CONCURRENCY: usize = 4;

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Load {
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
}

struct Gateway {
    url: String,
    _process: tokio::process::Child,
}

struct Driver {
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    tokens: [(&'static str, String); 3],
    budget: AtomicU64,
    latencies_ms: Mutex<Vec<f64>>,
    errors: AtomicU64,
}

/// Starts the gateway binary beside this one, on its own table, and waits for its health check.
async fn gateway(bin_dir: &Path, moto: &str) -> Result<Gateway, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let config = local_config(moto, names("bench-load"), port);
    let binary = bin_dir.join("local-gateway");
    let process = tokio::process::Command::new(&binary)
        .env("PORT", port.to_string())
        .env("AWS_ENDPOINT_URL", &config.endpoint_url)
        .env("CPPO_LOCAL_JWT_SECRET", &config.jwt_secret)
        .env("CPPO_TABLE_NAME", &config.names.table)
        .env("CPPO_QUEUE_NAME", &config.names.queue)
        .env("CPPO_DLQ_NAME", &config.names.dead_letter_queue)
        .env("CPPO_BUS_NAME", &config.names.bus)
        .env("CPPO_SENDER_EMAIL", &config.names.sender)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = hyper::Request::get(format!("{url}/health")).body(Full::new(Bytes::new())).map_err(|e| e.to_string())?;
        if client.request(health).await.is_ok_and(|r| r.status().is_success()) {
            return Ok(Gateway { url, _process: process });
        }
        if Instant::now() > deadline {
            return Err("the gateway did not become healthy in 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Driver {
    fn token(&self, account: &str) -> &str {
        self.tokens.iter().find(|(a, _)| *a == account).map(|(_, t)| t.as_str()).unwrap_or_default()
    }

    /// One request: its body if it answered 2xx. Setup requests are not counted.
    async fn send(&self, method: &str, path: &str, caller: &str, body: Option<&Value>, counted: bool) -> Option<Value> {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {}", self.token(caller)))
            .header("content-type", "application/json")
            .body(Full::new(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default()))
            .ok()?;
        let started = Instant::now();
        let answer = match self.client.request(request).await {
            Ok(response) if response.status().is_success() => {
                response.into_body().collect().await.ok().and_then(|b| serde_json::from_slice(&b.to_bytes()).ok())
            }
            _ => None,
        };
        if counted {
            self.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).push(started.elapsed().as_secs_f64() * 1000.0);
            if answer.is_none() {
                self.errors.fetch_add(1, Ordering::SeqCst);
            }
        }
        answer
    }

    /// A counted request, if the budget has one left.
    async fn step(&self, method: &str, path: &str, caller: &str, body: Option<&Value>) -> Option<Value> {
        self.budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).ok()?;
        self.send(method, path, caller, body, true).await
    }

    /// One flow; stops early when the budget runs out or a step fails (the failure is counted).
    async fn flow(&self, product: &str) -> Option<()> {
        let created = self.step("POST", "/opportunities", ISV, Some(&workload::opportunity_body(product, workload::until(90)))).await?;
        let opportunity = workload::id(&created["items"][0], "opportunityId").ok()?;
        self.step("GET", &format!("/opportunities/{opportunity}"), RESELLER, None).await?;
        let offer =
            workload::id(&self.step("POST", "/offers", RESELLER, Some(&workload::offer_body(&opportunity, product))).await?, "offerId")
                .ok()?;
        self.step("GET", &format!("/offers/{offer}"), BUYER, None).await?;
        let agreement = self.step("POST", &format!("/offers/{offer}/accept"), BUYER, Some(&serde_json::json!({}))).await?;
        self.step("GET", &format!("/agreements/{}", workload::id(&agreement, "agreementId").ok()?), ISV, None).await?;
        self.step("GET", "/offers?limit=10", RESELLER, None).await?;
        Some(())
    }
}

pub async fn measure(bin_dir: &Path, moto: &str) -> Result<Load, String> {
    let gateway = gateway(bin_dir, moto).await?;
    let now = chrono::Utc::now().timestamp();
    let token = |account| local_gateway::auth::mint(JWT_SECRET, crate::stack::ACCOUNT_CLAIM, account, now, 3600);
    let driver = Arc::new(Driver {
        url: gateway.url.clone(),
        client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        tokens: [(ISV, token(ISV)), (RESELLER, token(RESELLER)), (BUYER, token(BUYER))],
        budget: AtomicU64::new(REQUESTS),
        latencies_ms: Mutex::new(Vec::new()),
        errors: AtomicU64::new(0),
    });
    for (account, name, contact) in [(ISV, "Example ISV", "isv@isv.example"), (RESELLER, "Example Reseller", "partner@reseller.example")] {
        driver
            .send("PUT", "/sellers/me", account, Some(&workload::register_body(name, contact)), false)
            .await
            .ok_or("registering a seller failed")?;
    }
    let product =
        driver.send("POST", "/products", ISV, Some(&workload::product_body()), false).await.ok_or("creating the product failed")?;
    let product = workload::id(&product, "productId")?;

    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (driver, product) = (driver.clone(), product.clone());
            tokio::spawn(async move {
                while driver.budget.load(Ordering::SeqCst) > 0 {
                    driver.flow(&product).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let latencies = driver.latencies_ms.lock().map_err(|e| e.to_string())?.clone();
    let requests = latencies.len() as u64;
    Ok(Load {
        requests,
        errors: driver.errors.load(Ordering::SeqCst),
        p50_ms: percentile(latencies.clone(), 50.0),
        p99_ms: percentile(latencies, 99.0),
        rps: requests as f64 / elapsed,
    })
}
