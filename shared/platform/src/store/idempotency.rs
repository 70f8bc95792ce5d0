//! Idempotency records: the Powertools pattern, with no window between the change and its answer.
//! A conditional put claims a key for one attempt (IN_PROGRESS); the answer is stored COMPLETED in
//! the same transaction as the change it answers, conditional on that attempt still holding the
//! claim, so a request either committed with its answer or did nothing. An answer too long for
//! one item is stored by reference: its parts are written first, under the attempt's own keys,
//! and the record in the transaction names them (parts of an attempt that never committed are
//! never named, and expire). Records expire after 24 hours through TTL, filtered at read
//! because TTL deletes late.

use super::items::{epoch, number, s, string_attr};
use super::{classify, Condition, Item, Store, StoreError, Write};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Duration, Utc};
use cppo_domain::time::stamp;
use std::collections::HashMap;

pub const IDEMPOTENCY: &str = "IDEMPOTENCY";
/// How long an answer is kept for a repeated key.
pub const KEEP_HOURS: i64 = 24;
/// A claim still IN_PROGRESS this long after it was taken is left over from a crash (every API
/// function times out well before) and may be taken over. Taking it over cannot run the request
/// twice: the first attempt's commit needs its claim, so it fails once the claim has moved on.
pub const STALE_SECONDS: i64 = 120;
/// An answer longer than this is stored in parts of this size beside the record, each its own
/// item: DynamoDB's items stop at 400 KB, and a transaction's items at 4 MB in all, so the parts
/// are written before the change's transaction rather than in it.
pub const PART_BYTES: usize = 300 * 1024;

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

/// What claiming a key found: the key is this attempt's now, or a live record holds it.
#[derive(Debug)]
pub enum Claimed {
    Ours(Claim),
    Held(Option<Recorded>),
}

/// One attempt's hold on a key: what its answer is stored under and conditional on.
#[derive(Debug, Clone)]
pub struct Claim {
    pub record: String,
    pub fingerprint: String,
    pub attempt: String,
    pub claimed_at: DateTime<Utc>,
}

fn part_key(record: &str, attempt: &str, n: usize) -> String {
    format!("{record}#{attempt}#PART#{n}")
}

/// `body` cut into pieces of at most `PART_BYTES`, never inside a character.
fn pieces(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = body;
    while rest.len() > PART_BYTES {
        let mut cut = PART_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

impl Claim {
    /// Only while this attempt still holds the claim.
    fn still_held(&self) -> Condition {
        Condition::new("#state = :progress AND #attempt = :mine")
            .name("#state", "state")
            .name("#attempt", "attempt")
            .value(":progress", s("IN_PROGRESS"))
            .value(":mine", s(self.attempt.clone()))
    }

    /// How `status` and `body` are stored as the answer: the parts to write first (none for an
    /// answer that fits in the record), and the record, for the change's own transaction.
    pub fn answer(&self, status: u16, body: &str) -> (Vec<Write>, Write) {
        let expires = epoch(self.claimed_at + Duration::hours(KEEP_HOURS));
        let mut record: Item = HashMap::from([
            ("pk".to_string(), s(self.record.clone())),
            ("sk".to_string(), s(IDEMPOTENCY)),
            ("kind".to_string(), s(IDEMPOTENCY)),
            ("state".to_string(), s("COMPLETED")),
            ("fingerprint".to_string(), s(self.fingerprint.clone())),
            ("attempt".to_string(), s(self.attempt.clone())),
            ("status".to_string(), AttributeValue::N(status.to_string())),
            ("expiresAt".to_string(), expires.clone()),
        ]);
        let pieces = pieces(body);
        if pieces.len() == 1 {
            record.insert("body".into(), s(body));
            return (Vec::new(), Write::Put(record, Some(self.still_held())));
        }
        record.insert("parts".into(), AttributeValue::N(pieces.len().to_string()));
        let parts = pieces
            .into_iter()
            .enumerate()
            .map(|(n, piece)| {
                let part = HashMap::from([
                    ("pk".to_string(), s(part_key(&self.record, &self.attempt, n))),
                    ("sk".to_string(), s(IDEMPOTENCY)),
                    ("kind".to_string(), s(IDEMPOTENCY)),
                    ("body".to_string(), s(piece)),
                    ("expiresAt".to_string(), expires.clone()),
                ]);
                Write::Put(part, None)
            })
            .collect();
        (parts, Write::Put(record, Some(self.still_held())))
    }
}

impl Store {
    /// Claims `key` for one attempt of a request with `fingerprint`; when a live record holds it,
    /// that record, as the refused put gave it back (no second read).
    pub async fn claim_idempotency(&self, key: &str, fingerprint: &str, attempt: &str, now: DateTime<Utc>) -> Result<Claimed, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key))
            .item("sk", s(IDEMPOTENCY))
            .item("kind", s(IDEMPOTENCY))
            .item("state", s("IN_PROGRESS"))
            .item("fingerprint", s(fingerprint))
            .item("attempt", s(attempt))
            .item("staleAt", s(stamp(now + Duration::seconds(STALE_SECONDS))))
            .item("expiresAt", epoch(now + Duration::hours(KEEP_HOURS)))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :now OR (#state = :progress AND staleAt < :stamp)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":stamp", s(stamp(now)))
            .expression_attribute_values(":progress", s("IN_PROGRESS"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let claim = Claim { record: key.into(), fingerprint: fingerprint.into(), attempt: attempt.into(), claimed_at: now };
        let held = match result {
            Ok(_) => return Ok(Claimed::Ours(claim)),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refused)) => refused.item.clone(),
                _ => return Err(classify(e)),
            },
        };
        // The SDK resends a put whose answer it never got (a timed-out attempt), and the resend
        // fails on the claim its first attempt made: that claim is still ours.
        let ours =
            held.as_ref().is_some_and(|i| string_attr(i, "state") == Some("IN_PROGRESS") && string_attr(i, "attempt") == Some(attempt));
        if ours {
            return Ok(Claimed::Ours(claim));
        }
        Ok(Claimed::Held(self.recorded(key, held, now).await?))
    }

    /// The live record `item` holds, its long answer's parts read back; an expired one reads as
    /// absent.
    async fn recorded(&self, key: &str, item: Option<Item>, now: DateTime<Utc>) -> Result<Option<Recorded>, StoreError> {
        let Some(item) = item else { return Ok(None) };
        if number::<i64>(&item, "expiresAt").is_none_or(|at| at < now.timestamp()) {
            return Ok(None);
        }
        let fingerprint = string_attr(&item, "fingerprint").unwrap_or_default().to_string();
        if string_attr(&item, "state") != Some("COMPLETED") {
            return Ok(Some(Recorded::InProgress { fingerprint }));
        }
        let status = number::<u16>(&item, "status").unwrap_or(500);
        let body = match number(&item, "parts") {
            Some(parts) => self.answer_parts(key, string_attr(&item, "attempt").unwrap_or_default(), parts).await?,
            None => string_attr(&item, "body").unwrap_or_default().to_string(),
        };
        Ok(Some(Recorded::Completed { fingerprint, status, body }))
    }

    async fn answer_parts(&self, key: &str, attempt: &str, parts: i64) -> Result<String, StoreError> {
        let mut body = String::new();
        for n in 0..usize::try_from(parts).unwrap_or(0) {
            let part = self
                .get(&part_key(key, attempt, n), IDEMPOTENCY)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("{key} lacks part {n}")))?;
            body.push_str(string_attr(&part, "body").unwrap_or_default());
        }
        Ok(body)
    }

    /// Writes the parts of a long answer, one item each, before the record that will name them.
    pub async fn put_answer_parts(&self, parts: Vec<Write>) -> Result<(), StoreError> {
        for part in parts {
            self.put(part).await?;
        }
        Ok(())
    }

    /// Stores an answer that came without a change (a refusal), if the claim is still held.
    pub async fn complete_idempotency(&self, claim: &Claim, status: u16, body: &str) -> Result<(), StoreError> {
        let (parts, record) = claim.answer(status, body);
        self.put_answer_parts(parts).await?;
        self.put(record).await
    }

    /// Gives the key back after a 5xx, so the retry runs afresh; never a record already completed
    /// (a commit that went through before the error) nor another attempt's claim.
    pub async fn release_idempotency(&self, claim: &Claim) -> Result<(), StoreError> {
        self.delete_if(&claim.record, IDEMPOTENCY, claim.still_held()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_answer_is_cut_into_parts_that_join_back_whole() {
        let body = "é".repeat(PART_BYTES); // two bytes each: the cut must fall between characters
        let pieces = pieces(&body);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| p.len() <= PART_BYTES));
        assert_eq!(pieces.concat(), body);
        let claim =
            Claim { record: "IDEMPOTENCY#1#POST /offers#k".into(), fingerprint: "f".into(), attempt: "a".into(), claimed_at: Utc::now() };
        assert_eq!(claim.answer(201, &body).0.len(), 2, "two parts beside the record");
        assert!(claim.answer(201, "{}").0.is_empty(), "a short answer is in the record itself");
    }
}
