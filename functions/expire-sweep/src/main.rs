//! Lambda entry point for the scheduled sweep (EventBridge `rate(5 minutes)`).

#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::app::run_lambda(|app, _schedule: serde_json::Value| async move {
        fn_expire_sweep::sweep(&app).await.map_err(|e| lambda_runtime::Error::from(e.to_string()))
    })
    .await
}
