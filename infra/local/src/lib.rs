//! The local gateway: the service's own Lambda handlers behind an HTTP server on loopback, fed
//! API Gateway HTTP API (payload 2.0) events, with the authorizer, the SQS event source and the
//! sweep schedule played locally against an AWS emulator.

pub mod answers;
pub mod auth;
pub mod background;
pub mod calls;
pub mod emails;
pub mod faults;
pub mod functions;
pub mod provision;
pub mod server;
pub mod throttle;

use cppo_domain::fees::FeeSchedule;
use cppo_platform::clock::SettableClock;
use cppo_platform::config::{fee_schedule, Config, FEE_SCHEDULE, SENDER_EMAIL, TOKEN_KEY};
use cppo_platform::App;
use faults::{Faults, Outage, Service};
use provision::Names;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use throttle::RateLimit;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const DEFAULT_SECRET: &str = "local-dev-secret";
/// The local signing key of list tokens, unless `CPPO_TOKEN_KEY` gives one.
pub const DEFAULT_TOKEN_KEY: &str = "local-dev-token-key-at-least-32-characters";

/// Every function the template deploys, by the binary it builds: each runs locally with clients of
/// its own, signed as the IAM user `moto_server.py` made from its template role's policy.
pub const FUNCTIONS: &[&str] = &[
    "sellers",
    "create-opportunity",
    "update-opportunity",
    "extend-offer",
    "cancel-offer",
    "accept-offer",
    "query",
    "expire-sweep",
    "notify",
];

/// The access key ID, and secret, of a function's IAM user locally: `scripts/moto_server.py`
/// makes the same.
pub fn function_access_key(function: &str) -> String {
    format!("local-{function}")
}

fn function_credentials(function: &str) -> aws_sdk_dynamodb::config::Credentials {
    let key = function_access_key(function);
    aws_sdk_dynamodb::config::Credentials::new(key.clone(), key, None, None, "local-function")
}
pub const DEFAULT_TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");

/// Everything the local stack is told, read from the environment by `from_env`.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub port: u16,
    pub endpoint_url: String,
    pub jwt_secret: String,
    pub account_claim: String,
    pub background: bool,
    pub names: Names,
    pub template: String,
    /// `CPPO_FEE_SCHEDULE`, as the deployed functions read it.
    pub fees: FeeSchedule,
    /// `CPPO_TOKEN_KEY`, for the functions the template gives it to.
    pub token_key: String,
    /// The stage's throttling: `CPPO_LOCAL_RATE_LIMIT` and `CPPO_LOCAL_BURST_LIMIT`, else the
    /// template's `ApiRateLimit` and `ApiBurstLimit` defaults, as a deployment without overrides.
    pub rate_limit: Option<RateLimit>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl LocalConfig {
    pub fn from_env() -> Result<LocalConfig, String> {
        let port = match var("PORT") {
            Some(p) => p.parse().map_err(|_| format!("PORT must be a port number, not {p}"))?,
            None => 3000,
        };
        Ok(LocalConfig {
            port,
            endpoint_url: var("AWS_ENDPOINT_URL").ok_or("AWS_ENDPOINT_URL must point at the emulator")?,
            jwt_secret: var("CPPO_LOCAL_JWT_SECRET").unwrap_or_else(|| DEFAULT_SECRET.into()),
            account_claim: var("CPPO_ACCOUNT_CLAIM").unwrap_or_else(|| "account_id".into()),
            background: var("CPPO_LOCAL_BACKGROUND").is_none_or(|v| v != "off"),
            names: Names {
                table: var("CPPO_TABLE_NAME").unwrap_or_else(|| "cppo-local".into()),
                queue: var("CPPO_QUEUE_NAME").unwrap_or_else(|| "cppo-local-events".into()),
                dead_letter_queue: var("CPPO_DLQ_NAME").unwrap_or_else(|| "cppo-local-events-dlq".into()),
                sender: var("CPPO_SENDER_EMAIL").unwrap_or_else(|| "noreply@cppo.example".into()),
            },
            template: var("CPPO_TEMPLATE").unwrap_or_else(|| DEFAULT_TEMPLATE.into()),
            fees: fee_schedule(var(FEE_SCHEDULE).as_deref()).map_err(|e| e.to_string())?,
            token_key: var(TOKEN_KEY).unwrap_or_else(|| DEFAULT_TOKEN_KEY.into()),
            rate_limit: match (var("CPPO_LOCAL_RATE_LIMIT"), var("CPPO_LOCAL_BURST_LIMIT")) {
                (None, None) => None,
                (rate, burst) => Some(RateLimit {
                    rate_per_second: count("CPPO_LOCAL_RATE_LIMIT", rate)?,
                    burst: count("CPPO_LOCAL_BURST_LIMIT", burst)?,
                }),
            },
        })
    }
}

fn count(name: &str, value: Option<String>) -> Result<u64, String> {
    let value = value.ok_or(format!("{name} must be set with its pair"))?;
    value.parse().map_err(|_| format!("{name} must be a whole number, not {value}"))
}

/// The template's default for a numeric parameter.
fn parameter_default(template: &serde_yaml::Value, name: &str) -> Result<u64, String> {
    template["Parameters"][name]["Default"].as_u64().ok_or(format!("the template's {name} has no numeric default"))
}

/// What the gateway's routes share.
pub struct Gateway {
    /// The stack's own clients (provisioning, tests' direct reads), signed as the local admin.
    pub app: App,
    /// Each API function's, by binary name: its own clients, credentials and template environment.
    pub functions: HashMap<&'static str, App>,
    /// The sweep's and notify's, likewise: what the schedule and the event source run.
    pub sweep: App,
    pub notify: App,
    /// Every AWS call the functions made, for checking against their policies.
    pub calls: Arc<calls::CallLog>,
    pub clock: SettableClock,
    /// The services `/_local/faults` has taken down.
    pub faults: Arc<Faults>,
    /// The stage's throttling, ahead of every API route.
    pub throttle: throttle::Throttle,
    /// Held by each background delivery, and by a drain while it runs, so a drain never returns
    /// while the poller still has messages in hand.
    pub deliveries: tokio::sync::Mutex<()>,
    pub config: LocalConfig,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_ses::Client,
    pub http: emails::MotoClient,
}

impl Gateway {
    pub fn function(&self, name: &str) -> Option<&App> {
        self.functions.get(name)
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The SDK configuration every local client uses: the emulator's endpoint, dummy credentials.
pub async fn sdk_config(endpoint_url: &str) -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "local");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .timeout_config(cppo_platform::app::timeouts())
        .load()
        .await
}

/// A function's clients: signed with its own credentials, with the fault injection and the call
/// recorder on each.
fn function_clients(
    sdk: &aws_config::SdkConfig,
    name: &'static str,
    faults: &Arc<Faults>,
    log: &Arc<calls::CallLog>,
) -> (aws_sdk_dynamodb::Client, aws_sdk_sqs::Client, aws_sdk_ses::Client) {
    let credentials = aws_sdk_dynamodb::config::SharedCredentialsProvider::new(function_credentials(name));
    let record = |api| calls::Recorder { log: log.clone(), function: name, api };
    let outage = |service| Outage { faults: faults.clone(), service };
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk)
        .credentials_provider(credentials.clone())
        .interceptor(record(calls::Api::DynamoDb))
        .interceptor(outage(Service::DynamoDb));
    let sqs = aws_sdk_sqs::config::Builder::from(sdk)
        .credentials_provider(credentials.clone())
        .interceptor(record(calls::Api::Sqs))
        .interceptor(outage(Service::Sqs));
    let ses = aws_sdk_ses::config::Builder::from(sdk)
        .credentials_provider(credentials)
        .interceptor(record(calls::Api::Ses))
        .interceptor(outage(Service::Ses));
    (
        aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        aws_sdk_sqs::Client::from_conf(sqs.build()),
        aws_sdk_ses::Client::from_conf(ses.build()),
    )
}

/// Provisions the stack from the template, then serves on `listener`.
pub async fn start(config: LocalConfig, listener: TcpListener) -> Result<Running, String> {
    let sdk = sdk_config(&config.endpoint_url).await;
    let raw = std::fs::read_to_string(&config.template).map_err(|e| format!("reading {}: {e}", config.template))?;
    let template: serde_yaml::Value = serde_yaml::from_str(&raw).map_err(|e| format!("parsing {}: {e}", config.template))?;
    let provisioned = provision::provision(&sdk, &template, &config.names).await?;
    let rate_limit = match config.rate_limit {
        Some(limit) => limit,
        None => RateLimit {
            rate_per_second: parameter_default(&template, "ApiRateLimit")?,
            burst: parameter_default(&template, "ApiBurstLimit")?,
        },
    };
    let clock = SettableClock::default();
    let app_config = Config {
        table_name: config.names.table.clone(),
        queue_url: provisioned.queue_url.clone(),
        account_claim: config.account_claim.clone(),
        sender_email: Some(config.names.sender.clone()),
        fees: config.fees.clone(),
        token_key: Some(config.token_key.clone()),
    };
    let faults = Arc::new(Faults::default());
    let log = Arc::new(calls::CallLog::default());
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk).interceptor(Outage { faults: faults.clone(), service: Service::Sqs }).build(),
    );
    let mut functions = HashMap::new();
    for name in FUNCTIONS {
        let variables = provision::function_variables(&template, name)?;
        // Each function gets what its template environment has, and nothing more.
        let function_config = Config {
            sender_email: app_config.sender_email.clone().filter(|_| variables.iter().any(|v| v == SENDER_EMAIL)),
            token_key: app_config.token_key.clone().filter(|_| variables.iter().any(|v| v == TOKEN_KEY)),
            ..app_config.clone()
        };
        let clients = function_clients(&sdk, name, &faults, &log);
        functions.insert(*name, App::with_clients(clients, function_config, Arc::new(clock.clone())));
    }
    let mut take = |name: &str| functions.remove(name).ok_or(format!("the gateway runs no {name}"));
    let (sweep, notify) = (take("expire-sweep")?, take("notify")?);
    let admin = (aws_sdk_dynamodb::Client::new(&sdk), sqs.clone(), aws_sdk_ses::Client::new(&sdk));
    let gateway = Arc::new(Gateway {
        app: App::with_clients(admin, app_config, Arc::new(clock.clone())),
        functions,
        sweep,
        notify,
        calls: log,
        clock,
        faults,
        throttle: throttle::Throttle::new(rate_limit),
        deliveries: tokio::sync::Mutex::new(()),
        queue_url: provisioned.queue_url,
        dead_letter_queue_url: provisioned.dead_letter_queue_url,
        sqs,
        ses: aws_sdk_ses::Client::new(&sdk),
        http: emails::MotoClient::new(&config.endpoint_url),
        config,
    });
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut tasks = vec![tokio::spawn(server::serve(listener, gateway.clone()))];
    if gateway.config.background {
        tasks.extend(background::spawn(gateway.clone()));
    }
    Ok(Running { addr, gateway, tasks })
}
