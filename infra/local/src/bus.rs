//! `GET /_local/events`: what reached the stack's EventBridge bus, read back from the emulator.
//! A local-only rule on the bus (every event of source `cppo.marketplace`) targets a capture
//! queue; each read moves what that queue holds into the gateway's log, oldest first, so the list
//! keeps every event however often it is read.

use crate::Gateway;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use serde_json::{json, Value};

/// The name of the local rule, and of its queue, that capture the bus's events; never in the template.
pub fn capture_name(bus: &str) -> String {
    format!("{bus}-capture")
}

/// Every event the bus has delivered to the capture rule so far, oldest first, in the contract's
/// shape: `{detailType, source, detail, time}`.
pub async fn published(gateway: &Gateway) -> Result<Vec<Value>, String> {
    let mut log = gateway.published.lock().await;
    loop {
        let received = gateway
            .admin_sqs
            .receive_message()
            .queue_url(&gateway.capture_queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(log.clone());
        }
        let mut entries = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let event: Value = m.body.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
            log.push(
                json!({"detailType": event["detail-type"], "source": event["source"], "detail": event["detail"], "time": event["time"]}),
            );
            entries.extend(
                DeleteMessageBatchRequestEntry::builder().id(i.to_string()).set_receipt_handle(m.receipt_handle.clone()).build().ok(),
            );
        }
        gateway
            .admin_sqs
            .delete_message_batch()
            .queue_url(&gateway.capture_queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    }
}
