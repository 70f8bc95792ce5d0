//! What AWS does around the functions: the pipes carrying the table's stream (`relay.rs`), the SQS
//! event source feeding notify, and the schedule running the sweep. Also the synchronous drain
//! behind `POST /_local/drain`.

use crate::Gateway;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Locally a failed message is visible again this soon; the deployed queue uses its own timeout.
const LOCAL_VISIBILITY_SECONDS: i32 = 2;
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often the relay looks at the stream when it is idle, and its longest wait after a target
/// refused (a pipe backs off likewise).
const RELAY_EVERY: Duration = Duration::from_millis(100);
const RELAY_BACKOFF_LIMIT: Duration = Duration::from_secs(5);

/// The pipes, as AWS runs them beside the functions: the stream looked at every 100 ms, backing
/// off after a target refused.
pub fn spawn_relay(gateway: Arc<Gateway>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = RELAY_EVERY;
        loop {
            tokio::time::sleep(wait).await;
            wait = match gateway.relay.catch_up().await {
                Ok(_) => RELAY_EVERY,
                Err(error) => {
                    tracing::warn!(%error, "the stream relay could not deliver; it tries again");
                    (wait * 2).min(RELAY_BACKOFF_LIMIT)
                }
            };
        }
    })
}

pub fn spawn(gateway: Arc<Gateway>) -> Vec<JoinHandle<()>> {
    let poller = gateway.clone();
    vec![
        spawn_relay(gateway.clone()),
        tokio::spawn(async move {
            loop {
                // No long poll: the emulator serves one request at a time and would stall meanwhile.
                let delivery = poller.deliveries.lock().await;
                let outcome = deliver_batch(&poller, 0, &HashSet::new()).await;
                drop(delivery);
                match outcome {
                    Ok(batch) if batch.received > 0 => {}
                    Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                    Err(error) => {
                        tracing::warn!(%error, "polling the queue failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }),
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                if let Err(error) = fn_expire_sweep::sweep(&gateway.sweep).await {
                    tracing::warn!(%error, "scheduled sweep failed");
                }
            }
        }),
    ]
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub delivered: u64,
    pub failed: u64,
    pub received: u64,
    pub failed_ids: Vec<String>,
}

/// Receives one batch (up to 10), hands it to notify as an SQS event, deletes what succeeded.
/// Messages in `skip` (failed earlier in the same drain) are left for their next visibility.
async fn deliver_batch(gateway: &Gateway, wait_seconds: i32, skip: &HashSet<String>) -> Result<Delivery, String> {
    let received = gateway
        .sqs
        .receive_message()
        .queue_url(&gateway.queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(LOCAL_VISIBILITY_SECONDS)
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    let messages: Vec<Message> = received.messages.unwrap_or_default();
    let mut outcome = Delivery { received: messages.len() as u64, ..Delivery::default() };
    let fresh: Vec<&Message> = messages.iter().filter(|m| !m.message_id.as_ref().is_some_and(|id| skip.contains(id))).collect();
    if fresh.is_empty() {
        return Ok(outcome);
    }
    let event: SqsEvent = serde_json::from_value(json!({ "Records": fresh.iter().map(|m| record(gateway, m)).collect::<Vec<_>>() }))
        .map_err(|e| format!("building the SQS event: {e}"))?;
    let response = Box::pin(fn_notify::handle(&gateway.notify, event)).await;
    let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    let entries: Vec<DeleteMessageBatchRequestEntry> = fresh
        .iter()
        .filter(|m| !m.message_id.as_ref().is_some_and(|id| failed.contains(id)))
        .enumerate()
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder().id(i.to_string()).set_receipt_handle(m.receipt_handle.clone()).build().ok()
        })
        .collect();
    outcome.delivered = entries.len() as u64;
    outcome.failed = failed.len() as u64;
    outcome.failed_ids = failed.into_iter().collect();
    if !entries.is_empty() {
        gateway
            .sqs
            .delete_message_batch()
            .queue_url(&gateway.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    }
    Ok(outcome)
}

/// The record as Lambda's SQS event source shapes it.
fn record(gateway: &Gateway, m: &Message) -> serde_json::Value {
    let attributes: serde_json::Map<String, serde_json::Value> =
        m.attributes.iter().flatten().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect();
    json!({
        "messageId": m.message_id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": m.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": gateway.queue_url,
        "awsRegion": "us-east-1",
    })
}

/// Carries the stream to the queue and the bus, waits for any background delivery in flight, then
/// delivers until no message is visible, the poller held off meanwhile. A message that fails is
/// not retried by the same drain. A target that refuses (SQS down) leaves its records with the
/// relay, for a later drain.
pub async fn drain(gateway: &Gateway) -> Result<(u64, u64), String> {
    if let Err(error) = gateway.relay.catch_up().await {
        tracing::warn!(%error, "the stream relay could not deliver everything before the drain");
    }
    let _deliveries = gateway.deliveries.lock().await;
    let mut failed_ids = HashSet::new();
    let (mut delivered, mut failed) = (0, 0);
    loop {
        let batch = deliver_batch(gateway, 0, &failed_ids).await?;
        delivered += batch.delivered;
        failed += batch.failed;
        let progressed = batch.delivered + batch.failed > 0;
        failed_ids.extend(batch.failed_ids);
        if batch.received == 0 || !progressed {
            return Ok((delivered, failed));
        }
    }
}
