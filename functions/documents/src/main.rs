//! Lambda entry point: JSON logs, clients built once (the table's and the document bucket's),
//! then the handler.

#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::app::run_lambda_with_bucket(|app, event| async move { Ok(fn_documents::handle(&app, event).await) }).await
}
