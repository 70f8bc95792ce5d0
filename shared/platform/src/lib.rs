//! Adapters around the pure domain: typed configuration, the injected clock, the DynamoDB store,
//! the SQS outbox, the SES mailer and the HTTP plumbing every API function shares.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod http;
pub mod https;
pub mod idempotent;
pub mod mailer;
pub mod outbox;
pub mod routes;
pub mod store;
pub mod telemetry;
pub mod token;

pub use app::App;
