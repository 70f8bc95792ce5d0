//! notify's two calls on its queue, beside what Lambda's SQS event source does (receive, delete):
//! a failed message is hidden for a wait that grows with each receive, so an outage is retried
//! for as long as the queue keeps messages; and a message notify cannot handle at all is moved to
//! the dead-letter queue by notify itself after its fifth attempt. The queue's own redrive
//! (`maxReceiveCount` 1,000) is left only for a notify that dies before it can do either.

use crate::config::RetrySchedule;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;

/// Attempts at a message that is no event before it goes to the dead-letter queue.
pub const OWN_FAILURE_ATTEMPTS: u32 = 5;

/// The client, or what it is built from: notify calls SQS only for a record that failed, so a
/// cold start that handles its records builds no SQS client (about 0.3 ms of init, measured).
enum Sqs {
    Built(Client),
    Lazy(Box<aws_config::SdkConfig>, std::sync::OnceLock<Client>),
}

pub struct Queue {
    sqs: Sqs,
    queue_url: String,
    dead_letter_queue_url: String,
    retry: RetrySchedule,
}

impl Queue {
    pub fn new(client: Client, queue_url: &str, dead_letter_queue_url: &str, retry: RetrySchedule) -> Queue {
        Queue { sqs: Sqs::Built(client), queue_url: queue_url.into(), dead_letter_queue_url: dead_letter_queue_url.into(), retry }
    }

    /// A queue whose client is built from `sdk` at its first call.
    pub fn lazy(sdk: aws_config::SdkConfig, queue_url: &str, dead_letter_queue_url: &str, retry: RetrySchedule) -> Queue {
        let sqs = Sqs::Lazy(Box::new(sdk), std::sync::OnceLock::new());
        Queue { sqs, queue_url: queue_url.into(), dead_letter_queue_url: dead_letter_queue_url.into(), retry }
    }

    fn client(&self) -> &Client {
        match &self.sqs {
            Sqs::Built(client) => client,
            Sqs::Lazy(sdk, client) => client.get_or_init(|| Client::new(sdk)),
        }
    }

    /// Hides a message notify failed for the wait its `receives` so far call for.
    pub async fn retry_later(&self, receipt_handle: &str, receives: u32) -> Result<u32, String> {
        let wait = self.retry.after(receives);
        self.client()
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(wait).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| wait)
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }

    /// Puts a copy of a message in the dead-letter queue; the caller then lets the original go.
    pub async fn dead_letter(&self, body: &str) -> Result<(), String> {
        self.client()
            .send_message()
            .queue_url(&self.dead_letter_queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}
