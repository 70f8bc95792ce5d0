//! What every function builds once at init: its DynamoDB store, configuration, the clock. Every
//! function reads and writes the table and nothing else, but notify, which also builds its SES
//! and SQS clients (`fn_notify`): a binary links only the clients it constructs.

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::store::Store;
use aws_config::SdkConfig;
use std::sync::Arc;

/// How long init waits for the warm-up read before leaving the connection to the first request.
const WARM_UP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Every AWS call's limits, so a stalled dependency fails the call fast and cleanly (an answer in
/// the contract's shape) instead of holding the function to its own timeout (10 s for the API):
/// a connection in 2 s, an attempt in 3 s, and the call with the SDK's retries in 6 s. DynamoDB,
/// SQS and SES answer in milliseconds when well.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(3))
        .operation_timeout(std::time::Duration::from_secs(6))
        .build()
}

/// Whether opening the connection at init pays. Over HTTPS (AWS itself) it does: the TLS handshake
/// is most of a cold first request (public figures for a 128 MB function: 912 ms lazily, 21 ms when
/// opened at init, where Lambda runs the handshake far faster than a small function's invocation
/// can). Over plain HTTP (a local emulator) there is no handshake to move, only a round trip to add.
pub fn warm_up_pays(endpoint_url: Option<&str>) -> bool {
    endpoint_url.is_none_or(|url| url.starts_with("https://"))
}

/// How every function loads its AWS configuration: the compiled-in trust store, the timeouts above,
/// and the region and credentials from the environment, where Lambda puts them for every function
/// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). The default
/// chains would also build providers for profiles, web identity, containers and the instance
/// metadata service at every cold start, none of which a Lambda function's credentials come from.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::from_env()
        .http_client(crate::https::client())
        .timeout_config(timeouts())
        .region(aws_config::environment::EnvironmentVariableRegionProvider::new())
        .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
}

#[derive(Clone)]
pub struct App {
    pub config: Config,
    pub store: Store,
    pub clock: SharedClock,
    /// The document bucket, for the functions that reach it (`with_bucket`): no other binary
    /// builds or links an S3 client.
    #[cfg(feature = "documents")]
    pub bucket: Option<crate::documents::Bucket>,
}

impl App {
    pub fn new(sdk: &SdkConfig, config: Config, clock: SharedClock) -> App {
        App::with_client(aws_sdk_dynamodb::Client::new(sdk), config, clock)
    }

    /// With a client built elsewhere: the local gateway's carry its fault-injection interceptor.
    pub fn with_client(dynamodb: aws_sdk_dynamodb::Client, config: Config, clock: SharedClock) -> App {
        App {
            store: Store::new(dynamodb, config.table_name.clone()),
            config,
            clock,
            #[cfg(feature = "documents")]
            bucket: None,
        }
    }

    /// `from_env` for a function that reaches the document bucket, named by `CPPO_DOCUMENT_BUCKET`
    /// (a missing name fails init, naming it).
    #[cfg(feature = "documents")]
    pub async fn from_env_with_bucket() -> Result<App, ConfigError> {
        use crate::documents::{Bucket, DOCUMENT_BUCKET};
        let name = std::env::var(DOCUMENT_BUCKET)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError { name: DOCUMENT_BUCKET, problem: "must name the document bucket" })?;
        let sdk = sdk_loader().load().await;
        Ok(App::from_sdk(Config::from_env()?, &sdk).await.with_bucket(Bucket::new(aws_sdk_s3::Client::new(&sdk), name)))
    }

    /// The app with its document bucket.
    #[cfg(feature = "documents")]
    pub fn with_bucket(self, bucket: crate::documents::Bucket) -> App {
        App { bucket: Some(bucket), ..self }
    }

    /// The document bucket, which a function that reaches documents is always built with.
    #[cfg(feature = "documents")]
    pub fn bucket(&self) -> Result<&crate::documents::Bucket, crate::http::ApiError> {
        self.bucket.as_ref().ok_or_else(|| {
            tracing::error!("this function was built without its document bucket");
            crate::http::ApiError::Internal
        })
    }

    /// Reads the environment and builds the store: the start of every Lambda's `main`.
    pub async fn from_env() -> Result<App, ConfigError> {
        Ok(App::from_sdk(Config::from_env()?, &sdk_loader().load().await).await)
    }

    /// The app over an SDK configuration already loaded (notify builds its other clients from it).
    pub async fn from_sdk(config: Config, sdk: &SdkConfig) -> App {
        let app = App::new(sdk, config, Arc::new(SystemClock));
        if warm_up_pays(sdk.endpoint_url()) {
            app.warm_up().await;
        }
        app
    }

    /// Opens the DynamoDB connection, every request's first call, before the first request.
    /// A failure only leaves that to the first request, as without a warm-up.
    async fn warm_up(&self) {
        match tokio::time::timeout(WARM_UP_PATIENCE, self.store.warm_up()).await {
            Ok(Ok(())) => tracing::debug!("DynamoDB connection opened at init"),
            Ok(Err(error)) => tracing::warn!(%error, "warm-up read failed; the first request opens the connection"),
            Err(_) => tracing::warn!("warm-up read timed out; the first request opens the connection"),
        }
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
    let app = App::from_env().await?;
    serve_lambda(app, handler).await
}

/// The runtime loop over an app already built (`App::from_env`, `App::from_env_with_bucket`).
pub async fn serve_lambda<E, R, F, Fut>(app: App, handler: F) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(Arc<App>, E) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>> + Send,
{
    let app = Arc::new(app);
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<E>| {
        let app = app.clone();
        async move { handler(app, event.payload).await }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::{sdk_loader, warm_up_pays};
    use crate::store::Store;

    #[tokio::test]
    async fn a_stalled_dependency_fails_the_call_instead_of_holding_the_function() {
        // A peer that accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let credentials = aws_sdk_dynamodb::config::Credentials::new("k", "s", None, None, "test");
        let sdk = sdk_loader()
            .endpoint_url(format!("http://{addr}"))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await;
        let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), "t");
        // Far longer than the operation timeout: without one the call would wait forever.
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(30), store.get("pk", "sk")).await;
        assert!(matches!(outcome, Ok(Err(_))), "the call must fail by its own timeout: {outcome:?}");
    }

    #[test]
    fn the_connection_is_warmed_for_aws_and_left_lazy_for_a_local_emulator() {
        assert!(warm_up_pays(None), "the SDK's own endpoints are HTTPS");
        assert!(warm_up_pays(Some("https://dynamodb.eu-west-1.amazonaws.com")));
        assert!(!warm_up_pays(Some("http://127.0.0.1:5000")));
    }
}
