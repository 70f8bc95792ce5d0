//! Idempotency records: the Powertools pattern. A conditional put claims a key (IN_PROGRESS),
//! the answer completes it (COMPLETED, with the status and body), and it expires after 24 hours
//! through TTL, filtered at read because TTL deletes late.

use super::items::{s, string_attr};
use super::{claimed, classify, Item, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use cppo_domain::time::stamp;

pub const IDEMPOTENCY: &str = "IDEMPOTENCY";
/// How long an answer is kept for a repeated key.
pub const KEEP_HOURS: i64 = 24;
/// A claim still IN_PROGRESS this long after it was taken is left over from a crash (every API
/// function times out well before) and may be taken over.
pub const STALE_SECONDS: i64 = 120;

#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    InProgress { fingerprint: String },
    Completed { fingerprint: String, status: u16, body: String },
}

impl Recorded {
    pub fn fingerprint(&self) -> &str {
        match self {
            Recorded::InProgress { fingerprint } | Recorded::Completed { fingerprint, .. } => fingerprint,
        }
    }
}

fn epoch(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

impl Store {
    /// Claims `key` for a request with `fingerprint`; false when a live record holds it.
    pub async fn claim_idempotency(&self, key: &str, fingerprint: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key))
            .item("sk", s(IDEMPOTENCY))
            .item("kind", s(IDEMPOTENCY))
            .item("state", s("IN_PROGRESS"))
            .item("fingerprint", s(fingerprint))
            .item("staleAt", s(stamp(now + Duration::seconds(STALE_SECONDS))))
            .item("expiresAt", epoch(now + Duration::hours(KEEP_HOURS)))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :now OR (#state = :progress AND staleAt < :stamp)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":stamp", s(stamp(now)))
            .expression_attribute_values(":progress", s("IN_PROGRESS"))
            .send()
            .await;
        claimed(result.map_err(classify))
    }

    /// The live record under `key`; an expired one reads as absent.
    pub async fn idempotency_record(&self, key: &str, now: DateTime<Utc>) -> Result<Option<Recorded>, StoreError> {
        let Some(item) = self.get(key, IDEMPOTENCY).await? else { return Ok(None) };
        if number(&item, "expiresAt").is_none_or(|at| at < now.timestamp()) {
            return Ok(None);
        }
        let fingerprint = string_attr(&item, "fingerprint").unwrap_or_default().to_string();
        Ok(Some(match string_attr(&item, "state") {
            Some("COMPLETED") => Recorded::Completed {
                fingerprint,
                status: number(&item, "status").and_then(|n| u16::try_from(n).ok()).unwrap_or(500),
                body: string_attr(&item, "body").unwrap_or_default().to_string(),
            },
            _ => Recorded::InProgress { fingerprint },
        }))
    }

    pub async fn complete_idempotency(&self, key: &str, status: u16, body: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .key("sk", s(IDEMPOTENCY))
            .update_expression("SET #state = :done, #status = :status, body = :body")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":done", s("COMPLETED"))
            .expression_attribute_values(":status", AttributeValue::N(status.to_string()))
            .expression_attribute_values(":body", s(body))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Gives the key back after a 5xx, so the retry runs afresh.
    pub async fn release_idempotency(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .key("sk", s(IDEMPOTENCY))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}
