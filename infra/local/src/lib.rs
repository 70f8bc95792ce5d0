//! The local gateway: the service's own Lambda handlers behind an HTTP server on loopback, fed
//! API Gateway HTTP API (payload 2.0) events, with the authorizer, the stream's pipes, the SQS
//! event source and the sweep schedule played locally against an AWS emulator.

pub mod answers;
pub mod auth;
pub mod background;
pub mod bus;
pub mod calls;
pub mod emails;
pub mod faults;
pub mod functions;
pub mod provision;
pub mod relay;
pub mod server;
pub mod throttle;

use cppo_domain::fees::FeeSchedule;
use cppo_platform::clock::SettableClock;
use cppo_platform::config::{fee_schedule, Config, RetrySchedule, DOCUMENT_BUCKET, FEE_SCHEDULE, SENDER_EMAIL, TOKEN_KEY};
use cppo_platform::documents::Bucket;
use cppo_platform::mailer::Mailer;
use cppo_platform::queue::Queue;
use cppo_platform::App;
use faults::{Faults, Outage, Service};
use fn_notify::Notifier;
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
    "update-offer",
    "accept-offer",
    "cancel-agreement",
    "meter-usage",
    "documents",
    "query",
    "expire-sweep",
    "notify",
    "republish-events",
];

/// The template's pipes the local relay plays, each with the role its calls are signed as.
pub const PIPES: &[(&str, &str)] = &[("EventQueuePipe", "EventQueuePipeRole"), ("EventBusPipe", "EventBusPipeRole")];

/// Locally a failed message is seen again within 2 seconds (the contract's local retries).
const LOCAL_RETRY: RetrySchedule = RetrySchedule { first_seconds: 1, last_seconds: 2 };

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
                bus: var("CPPO_BUS_NAME").unwrap_or_else(|| "cppo-local-marketplace".into()),
                sender: var("CPPO_SENDER_EMAIL").unwrap_or_else(|| "noreply@cppo.example".into()),
                bucket: provision::bucket_name(&var("CPPO_BUCKET_NAME").unwrap_or_else(|| "cppo-local-documents".into())),
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
    /// Each API function's, by binary name: its own client, credentials and template environment.
    pub functions: HashMap<&'static str, App>,
    /// The sweep's, notify's and republish-events', likewise: what the schedule, the event source
    /// and an operator run.
    pub sweep: App,
    pub notify: Notifier,
    pub republish: App,
    /// The template's pipes, from the table's stream to the queue and the bus.
    pub relay: relay::Relay,
    /// What `GET /_local/events` has read back from the bus so far.
    pub published: tokio::sync::Mutex<Vec<serde_json::Value>>,
    pub capture_queue_url: String,
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
    /// The harness's own, outside the faults: the capture queue, a test's direct reads.
    pub admin_sqs: aws_sdk_sqs::Client,
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
        .http_client(cppo_platform::https::client())
        .endpoint_url(endpoint_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .timeout_config(cppo_platform::app::timeouts())
        .load()
        .await
}

/// How a function's (or a pipe role's) clients are built: signed with its own credentials, with
/// the call recorder and the fault injection on each.
struct Signer<'a> {
    sdk: &'a aws_config::SdkConfig,
    name: &'static str,
    faults: &'a Arc<Faults>,
    log: &'a Arc<calls::CallLog>,
}

impl Signer<'_> {
    fn credentials(&self) -> aws_sdk_dynamodb::config::SharedCredentialsProvider {
        aws_sdk_dynamodb::config::SharedCredentialsProvider::new(function_credentials(self.name))
    }

    fn record(&self, api: calls::Api) -> calls::Recorder {
        calls::Recorder { log: self.log.clone(), function: self.name, api }
    }

    fn outage(&self, service: Service) -> Outage {
        Outage { faults: self.faults.clone(), service }
    }

    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(self.sdk)
            .credentials_provider(self.credentials())
            .interceptor(self.record(calls::Api::DynamoDb))
            .interceptor(self.outage(Service::DynamoDb));
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::config::Builder::from(self.sdk)
            .credentials_provider(self.credentials())
            .interceptor(self.record(calls::Api::Sqs))
            .interceptor(self.outage(Service::Sqs));
        aws_sdk_sqs::Client::from_conf(config.build())
    }

    fn ses(&self) -> aws_sdk_ses::Client {
        let config = aws_sdk_ses::config::Builder::from(self.sdk)
            .credentials_provider(self.credentials())
            .interceptor(self.record(calls::Api::Ses))
            .interceptor(self.outage(Service::Ses));
        aws_sdk_ses::Client::from_conf(config.build())
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        let config = provision::s3_config(self.sdk).credentials_provider(self.credentials()).interceptor(self.record(calls::Api::S3));
        aws_sdk_s3::Client::from_conf(config.build())
    }

    fn streams(&self) -> aws_sdk_dynamodbstreams::Client {
        let config = aws_sdk_dynamodbstreams::config::Builder::from(self.sdk)
            .credentials_provider(self.credentials())
            .interceptor(self.record(calls::Api::Streams));
        aws_sdk_dynamodbstreams::Client::from_conf(config.build())
    }

    fn events(&self) -> aws_sdk_eventbridge::Client {
        let config = aws_sdk_eventbridge::config::Builder::from(self.sdk)
            .credentials_provider(self.credentials())
            .interceptor(self.record(calls::Api::Events));
        aws_sdk_eventbridge::Client::from_conf(config.build())
    }
}

/// The filter the template gives a pipe: what its relay lets through.
fn pipe_filter(template: &serde_yaml::Value, pipe: &str) -> Result<serde_json::Value, String> {
    let pattern = template["Resources"][pipe]["Properties"]["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .ok_or(format!("the template's {pipe} has no filter pattern"))?;
    serde_json::from_str(pattern).map_err(|e| format!("the template's {pipe} filter: {e}"))
}

/// The relay: one pipe per template pipe, each signed as its role.
fn relay(
    sdk: &aws_config::SdkConfig,
    template: &serde_yaml::Value,
    shared: (&Arc<Faults>, &Arc<calls::CallLog>),
    ends: relay::Ends,
) -> Result<relay::Relay, String> {
    let (faults, log) = shared;
    let mut pipes = Vec::new();
    for (pipe, role) in PIPES {
        let signer = Signer { sdk, name: role, faults, log };
        let target = match *pipe {
            "EventQueuePipe" => relay::Target::Queue { client: signer.sqs(), url: ends.queue_url.clone() },
            _ => {
                let source = template["Resources"][pipe]["Properties"]["TargetParameters"]["EventBridgeEventBusParameters"]["Source"]
                    .as_str()
                    .ok_or(format!("the template's {pipe} names no source"))?;
                relay::Target::Bus { client: signer.events(), name: ends.bus.clone(), source: source.to_string() }
            }
        };
        pipes.push(relay::Pipe::new(pipe, signer.streams(), pipe_filter(template, pipe)?, target));
    }
    Ok(relay::Relay::new(ends.stream_arn, pipes, faults.clone()))
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
        queue_url: Some(provisioned.queue_url.clone()),
        dead_letter_queue_url: Some(provisioned.dead_letter_queue_url.clone()),
        retry: LOCAL_RETRY,
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
        let signer = Signer { sdk: &sdk, name, faults: &faults, log: &log };
        let mut app = App::with_client(signer.dynamodb(), function_config, Arc::new(clock.clone()));
        if variables.iter().any(|v| v == DOCUMENT_BUCKET) {
            app = app.with_bucket(Bucket::new(signer.s3(), &config.names.bucket));
        }
        functions.insert(*name, (app, signer));
    }
    let mut take = |name: &str| functions.remove(name).ok_or(format!("the gateway runs no {name}"));
    let (sweep, republish, (notify_app, signer)) = (take("expire-sweep")?.0, take("republish-events")?.0, take("notify")?);
    let notify = Notifier {
        mailer: Mailer::new(signer.ses(), notify_app.config.require_sender().map_err(|e| e.to_string())?),
        queue: Queue::new(signer.sqs(), &provisioned.queue_url, &provisioned.dead_letter_queue_url, notify_app.config.retry),
        app: notify_app,
    };
    let ends = relay::Ends { stream_arn: provisioned.stream_arn, queue_url: provisioned.queue_url.clone(), bus: config.names.bus.clone() };
    let relay = relay(&sdk, &template, (&faults, &log), ends)?;
    let gateway = Arc::new(Gateway {
        app: App::with_client(aws_sdk_dynamodb::Client::new(&sdk), app_config, Arc::new(clock.clone()))
            .with_bucket(Bucket::new(aws_sdk_s3::Client::from_conf(provision::s3_config(&sdk).build()), &config.names.bucket)),
        functions: functions.into_iter().map(|(name, (app, _))| (name, app)).collect(),
        sweep,
        notify,
        republish,
        relay,
        published: tokio::sync::Mutex::new(Vec::new()),
        capture_queue_url: provisioned.capture_queue_url,
        calls: log,
        clock,
        faults,
        throttle: throttle::Throttle::new(rate_limit),
        deliveries: tokio::sync::Mutex::new(()),
        queue_url: provisioned.queue_url,
        dead_letter_queue_url: provisioned.dead_letter_queue_url,
        sqs,
        admin_sqs: aws_sdk_sqs::Client::new(&sdk),
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
