//! Lambda entry point for notify, the SQS consumer that sends the emails.

#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use cppo_platform::config::Config;
use cppo_platform::mailer::Mailer;
use cppo_platform::queue::Queue;
use fn_notify::Notifier;
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::telemetry::init();
    let config = Config::from_env()?;
    // Fail at init, naming the variable, rather than on the first message.
    let sender = config.require_sender()?.to_string();
    let (queue_url, dead_letter_url) = config.require_queues()?;
    let (queue_url, dead_letter_url) = (queue_url.to_string(), dead_letter_url.to_string());
    let sdk = cppo_platform::app::sdk_loader().load().await;
    let retry = config.retry;
    let notifier = Arc::new(Notifier {
        mailer: Mailer::new(aws_sdk_ses::Client::new(&sdk), sender),
        // Its client only once a record fails: a cold start that sends its emails needs none.
        queue: Queue::lazy(sdk.clone(), &queue_url, &dead_letter_url, retry),
        app: cppo_platform::App::from_sdk(config, &sdk).await,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let notifier = notifier.clone();
        async move { Ok::<_, lambda_runtime::Error>(fn_notify::handle(&notifier, event.payload).await) }
    }))
    .await
}
