//! Lambda entry point for republish-events, invoked by an operator with `{"from", "to"}`.

#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::app::run_lambda(|app, window: fn_republish_events::Window| async move {
        fn_republish_events::republish(&app, &window).await.map_err(lambda_runtime::Error::from)
    })
    .await
}
