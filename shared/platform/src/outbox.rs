//! The transactional outbox: events are stored with the change, then sent to SQS and marked sent.
//! A send that fails leaves the event due, and the sweep sends it again a minute later.

use crate::store::Store;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;
use chrono::{DateTime, Utc};
use cppo_domain::event::Event;

#[derive(Clone)]
pub struct Outbox {
    client: Client,
    queue_url: String,
}

impl Outbox {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Outbox {
        Outbox { client, queue_url: queue_url.into() }
    }

    /// Sends one stored event body to the queue.
    pub async fn send(&self, body: &str) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }

    /// Delivers events already committed with their change. Failures are logged, not returned:
    /// the user's change stands and the sweep re-sends what is still unsent.
    pub async fn deliver(&self, store: &Store, events: &[Event], now: DateTime<Utc>) -> usize {
        let mut delivered = 0;
        for event in events {
            match self.deliver_one(store, event, now).await {
                Ok(()) => delivered += 1,
                Err(error) => tracing::warn!(event_id = %event.event_id, %error, "event left for the sweep to re-send"),
            }
        }
        delivered
    }

    async fn deliver_one(&self, store: &Store, event: &Event, now: DateTime<Utc>) -> Result<(), String> {
        let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
        self.send(&body).await?;
        store.mark_sent(&event.event_id, now).await.map_err(|e| e.to_string())
    }
}
