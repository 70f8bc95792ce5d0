//! Lambda entry point for notify, the SQS consumer that sends the emails.

#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::telemetry::init();
    let app = Arc::new(cppo_platform::App::from_env().await?);
    // Fail at init, naming the variable, rather than on the first message.
    app.config.require_sender()?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<_, lambda_runtime::Error>(fn_notify::handle(&app, event.payload).await) }
    }))
    .await
}
