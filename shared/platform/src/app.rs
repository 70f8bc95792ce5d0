//! What every function builds once at init: clients, configuration, the clock.

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::mailer::Mailer;
use crate::outbox::Outbox;
use crate::store::Store;
use aws_config::SdkConfig;
use std::sync::Arc;

#[derive(Clone)]
pub struct App {
    pub config: Config,
    pub store: Store,
    pub outbox: Outbox,
    pub clock: SharedClock,
    /// Present when a sender is configured: notify's alone.
    pub mailer: Option<Mailer>,
}

impl App {
    pub fn new(sdk: &SdkConfig, config: Config, clock: SharedClock) -> App {
        let clients = (aws_sdk_dynamodb::Client::new(sdk), aws_sdk_sqs::Client::new(sdk), aws_sdk_ses::Client::new(sdk));
        App::with_clients(clients, config, clock)
    }

    /// With clients built elsewhere: the local gateway's carry its fault-injection interceptor.
    pub fn with_clients(clients: (aws_sdk_dynamodb::Client, aws_sdk_sqs::Client, aws_sdk_ses::Client), config: Config, clock: SharedClock) -> App {
        let (dynamodb, sqs, ses) = clients;
        App {
            store: Store::new(dynamodb, config.table_name.clone()),
            outbox: Outbox::new(sqs, config.queue_url.clone()),
            mailer: config.sender_email.as_ref().map(|sender| Mailer::new(ses, sender)),
            config,
            clock,
        }
    }

    /// Reads the environment and builds the clients: the start of every Lambda's `main`.
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::from_env().http_client(crate::https::client()).load().await;
        Ok(App::new(&sdk, config, Arc::new(SystemClock)))
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// A fresh id of a kind: 128 random bits as 32 hex digits.
    pub fn new_id(&self, kind: cppo_domain::ids::IdKind) -> String {
        kind.id(&uuid::Uuid::new_v4().simple().to_string())
    }
}

/// The shared Lambda `main`: JSON logs, the app built once, then the runtime loop.
pub async fn run_lambda<E, R, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(Arc<App>, E) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>> + Send,
{
    crate::telemetry::init();
    let app = Arc::new(App::from_env().await?);
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<E>| {
        let app = app.clone();
        async move { handler(app, event.payload).await }
    }))
    .await
}
