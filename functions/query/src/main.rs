//! Lambda entry point: JSON logs, clients built once, then the handler.

#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::telemetry::init();
    let app = cppo_platform::App::from_env_with_bucket().await?;
    cppo_platform::app::serve_lambda(app, |app, event| async move { Ok(fn_query::handle(&app, event).await) }).await
}
