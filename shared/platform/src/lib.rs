//! Adapters around the pure domain: typed configuration, the injected clock, the DynamoDB store
//! and the HTTP plumbing every API function shares; notify's SES mailer and SQS retry schedule
//! behind the `mailer` and `queue` features.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
#[cfg(feature = "documents")]
pub mod documents;
pub mod http;
pub mod https;
pub mod idempotent;
#[cfg(feature = "mailer")]
pub mod mailer;
#[cfg(feature = "documents")]
pub mod pdf;
#[cfg(feature = "queue")]
pub mod queue;
pub mod routes;
pub mod store;
pub mod stream;
pub mod telemetry;
pub mod token;

pub use app::App;
