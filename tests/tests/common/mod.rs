//! The end-to-end harness: one moto per test binary (started on a free port, gone when the tests
//! are), and per test a gateway of its own on its own table, queues and sender, with the
//! background work off so each test moves time and events itself through the local routes.

#![allow(dead_code)]

use local_gateway::provision::Names;
pub use local_gateway::throttle::RateLimit;
use local_gateway::{auth, start, LocalConfig, Running, DEFAULT_TEMPLATE};
use reqwest::Method;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SECRET: &str = "test-secret";
/// The instant every test's clock starts at.
pub const T0: &str = "2027-01-10T12:00:00Z";
pub const ISV: &str = "111122223333";
pub const RESELLER: &str = "222233334444";
pub const BUYER: &str = "333344445555";
pub const OUTSIDER: &str = "999988887777";

static MOTO: OnceLock<String> = OnceLock::new();
static STACKS: AtomicU32 = AtomicU32::new(0);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The project's moto launcher (writes atomic per table, IAM enforced) and its Python.
fn moto_server() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    (root.join(".venv/bin/python"), root.join("scripts/moto_server.py"))
}

/// Starts moto once; a watcher shell stops it when this test process ends.
pub fn moto() -> &'static str {
    MOTO.get_or_init(|| {
        let (python, server) = moto_server();
        assert!(python.exists(), "{} is missing: run `make setup` (make test does it)", python.display());
        let port = free_port();
        // Every request signed by an IAM user: the harness as the admin `local`, each function as
        // the user made from its template role's policy.
        let template = PathBuf::from(DEFAULT_TEMPLATE);
        let script = format!(
            "CPPO_IAM_TEMPLATE='{}' AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local '{}' '{}' 127.0.0.1 {port} >/dev/null 2>&1 & m=$!; while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done; kill $m 2>/dev/null",
            template.display(),
            python.display(),
            server.display(),
            parent = std::process::id()
        );
        let mut watcher = Command::new("sh").arg("-c").arg(script).spawn().expect("moto starts");
        std::thread::spawn(move || watcher.wait());
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
}

/// How a test's gateway differs from the default: unthrottled, its background work off.
pub struct Settings {
    pub rate_limit: RateLimit,
    /// The queue poller and the schedule, as under `make run`.
    pub background: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        // Only the throttling test (contract.rs) runs a stack with a stage's limits.
        Settings { rate_limit: RateLimit::UNTHROTTLED, background: false }
    }
}

pub struct Stack {
    pub running: Running,
    pub url: String,
    pub sender: String,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Stack {
        let n = STACKS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("e2e-{}-{n}", std::process::id());
        let sender = format!("noreply-{prefix}@cppo.example");
        let config = LocalConfig {
            port: 0,
            endpoint_url: moto().to_string(),
            jwt_secret: SECRET.into(),
            account_claim: "account_id".into(),
            background: settings.background,
            names: Names::under(&prefix, sender.clone()),
            template: DEFAULT_TEMPLATE.into(),
            fees: Default::default(),
            token_key: local_gateway::DEFAULT_TOKEN_KEY.into(),
            rate_limit: Some(settings.rate_limit),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = start(config, listener).await.expect("the gateway starts");
        // Every test starts at the same instant, so its dates mean the same thing on any day.
        running.gateway.clock.set(Some(chrono::DateTime::parse_from_rfc3339(T0).expect("T0").with_timezone(&chrono::Utc)));
        let url = running.url();
        Stack { running, url, sender, http: reqwest::Client::new() }
    }

    pub fn token(account: &str) -> String {
        auth::mint(SECRET, "account_id", account, chrono::Utc::now().timestamp(), 3600)
    }

    pub async fn raw(&self, method: Method, path: &str, headers: &[(&str, String)], body: Option<Vec<u8>>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, body, headers }
    }

    /// A JSON call as `account` (or anonymous).
    pub async fn call(&self, method: &str, path: &str, account: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, account, body, &[]).await
    }

    /// A JSON call with `extra` headers, such as an `Idempotency-Key`.
    pub async fn call_with(&self, method: &str, path: &str, account: Option<&str>, body: Option<Value>, extra: &[(&str, String)]) -> Reply {
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(account) = account {
            headers.push(("authorization", format!("Bearer {}", Stack::token(account))));
        }
        headers.extend(extra.iter().cloned());
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        self.raw(method, path, &headers, body.map(|b| b.to_string().into_bytes())).await
    }

    pub async fn get(&self, path: &str, account: &str) -> Reply {
        self.call("GET", path, Some(account), None).await
    }

    pub async fn post(&self, path: &str, account: &str, body: Value) -> Reply {
        self.call("POST", path, Some(account), Some(body)).await
    }

    pub async fn set_clock(&self, now: &str) {
        let r = self.call("POST", "/_local/clock", None, Some(json!({ "now": now }))).await;
        assert_eq!(r.status, 200, "{r:?}");
    }

    /// What the sweep expired.
    pub async fn sweep(&self) -> Value {
        self.sweep_report().await["expired"].clone()
    }

    /// The sweep's whole answer, with the count of events it sent again.
    pub async fn sweep_report(&self) -> Value {
        let r = self.call("POST", "/_local/sweep", None, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body
    }

    pub async fn drain(&self) -> (u64, u64) {
        let r = self.call("POST", "/_local/drain", None, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        (r.body["delivered"].as_u64().unwrap_or(0), r.body["failed"].as_u64().unwrap_or(0))
    }

    /// Every email this stack sent, read back from the emulator.
    pub async fn emails(&self) -> Vec<Value> {
        let r = self.call("GET", "/_local/emails?limit=100", None, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Every event that reached the stack's EventBridge bus, oldest first, read back from the emulator.
    pub async fn events(&self) -> Vec<Value> {
        let r = self.call("GET", "/_local/events?limit=100", None, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn register(&self, account: &str, name: &str, contact: Option<&str>) {
        let mut body = json!({"displayName": name, "publicProfileComplete": true, "taxAndBankingComplete": true});
        if let Some(contact) = contact {
            body["contactEmail"] = json!(contact);
        }
        let r = self.call("PUT", "/sellers/me", Some(account), Some(body)).await;
        assert_eq!(r.status, 200, "{r:?}");
    }

    pub async fn product(&self, isv: &str, product_type: &str, prices: &[(&str, &str)]) -> String {
        let dimensions: Vec<Value> = prices.iter().map(|(k, p)| json!({"key": k, "name": format!("{k} seats"), "unitPrice": p})).collect();
        let body = json!({"title": "Analytics Suite", "productType": product_type, "paid": true, "dimensions": dimensions});
        let r = self.post("/products", isv, body).await;
        assert_eq!(r.status, 201, "{r:?}");
        r.body["productId"].as_str().expect("a product id").to_string()
    }

    /// The usual cast: a registered ISV and reseller (both with contacts) and one product.
    pub async fn cast(&self) -> String {
        self.register(ISV, "Example ISV", Some("isv@isv.example")).await;
        self.register(RESELLER, "Example Reseller", Some("partner@reseller.example")).await;
        self.product(ISV, "saas-contract", &[("users", "100.00")]).await
    }

    pub async fn opportunity(&self, body: Value) -> Value {
        let r = self.post("/opportunities", ISV, body).await;
        assert_eq!(r.status, 201, "{r:?}");
        r.body["items"][0].clone()
    }

    /// The buyer accepts `offer_id`: the agreement, in the buyer's view.
    pub async fn accept(&self, offer_id: &str) -> Value {
        let r = self.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
        assert_eq!(r.status, 201, "{r:?}");
        r.body
    }

    /// Moves the emails out with the relay handing records on out of order and some twice, then
    /// in order again, so each email is checked against a redelivery.
    pub async fn deliver_twice(&self) {
        let r = self.call("POST", "/_local/faults", None, Some(json!({"relay": "shuffle"}))).await;
        assert_eq!(r.status, 200, "{r:?}");
        self.drain().await;
        self.call("POST", "/_local/faults", None, Some(json!({"relay": "normal"}))).await;
        self.drain().await;
    }

    pub async fn offer(&self, opportunity_id: &str, product_id: &str, extra: Value) -> Reply {
        let mut body = json!({
            "opportunityId": opportunity_id,
            "productId": product_id,
            "buyerAccountId": BUYER,
            "buyerCompanyName": "Acme Corp",
            "markupPercentage": "10",
            "expiresOn": "2027-01-31",
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        self.post("/offers", RESELLER, body).await
    }
}

/// A YAML file of the repository (`infra/template.yaml`, `infra/openapi.yaml`), parsed.
pub fn repo_yaml(path: &str) -> serde_yaml::Value {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{full} is not valid YAML: {e}"))
}

/// The operations `infra/openapi.yaml` documents, as (METHOD, path template).
pub fn openapi_operations() -> std::collections::BTreeSet<(String, String)> {
    let doc = repo_yaml("infra/openapi.yaml");
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    let mut ops = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("a path item") {
            let method = method.as_str().unwrap_or_default();
            if ["get", "put", "post", "patch", "delete"].contains(&method) {
                ops.insert((method.to_uppercase(), path.as_str().unwrap_or_default().to_string()));
            }
        }
    }
    ops
}

/// The routes the gateway serves: the API's and its own local ones.
pub fn served_routes() -> std::collections::BTreeSet<(String, String)> {
    cppo_platform::routes::ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .chain(local_gateway::server::LOCAL_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect()
}

/// A create body for `product_id`, with `extra` fields replacing the defaults.
pub fn opportunity_body(product_id: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": "ResellQ3Acme",
        "resellerAccountIds": [RESELLER],
        "productIds": [product_id],
        "discount": {"type": "percentage", "percentage": "20"},
        "duration": {"type": "endDate", "endDate": "2027-03-31"},
        "notificationEmails": ["ops@isv.example", "finance@isv.example"],
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    body
}

pub fn id(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}")).to_string()
}

/// The emails whose subject starts with `title`.
pub fn titled<'a>(emails: &'a [Value], title: &str) -> Vec<&'a Value> {
    emails.iter().filter(|e| e["subject"].as_str().is_some_and(|s| s.starts_with(title))).collect()
}

pub fn recipients(email: &Value) -> Vec<String> {
    let mut to: Vec<String> = email["to"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    to.sort();
    to
}

/// Every key anywhere in a JSON value.
pub fn keys(v: &Value) -> Vec<String> {
    match v {
        Value::Object(m) => m.iter().flat_map(|(k, c)| std::iter::once(k.clone()).chain(keys(c))).collect(),
        Value::Array(a) => a.iter().flat_map(keys).collect(),
        _ => vec![],
    }
}
