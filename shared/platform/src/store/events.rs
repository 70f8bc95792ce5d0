//! Event items: written with the change they tell of, read by the table's stream, and kept
//! (with a TTL) so they can be handed on again whatever the transport lost.
//!
//! One deal's events share a partition, `DEAL#<deal>`, sorted by their number in it
//! (`EVENT#0000000001`, ...), so notify reads a deal's events in order with one query, and the
//! item `DEAL#<deal>`/`HANDLED` says how far notify has got. Each event is also in the time
//! index (the `byDue` index, under hourly partitions `EVENTS#<hour>#<n>` the sweep never reads,
//! spread over 8 by a hash of the deal as the due items are, so no one partition takes an hour's
//! writes), so the events of a window can be republished without a scan.

use super::items::{epoch, number, pk, s, shard_of, string_attr, DUE_SHARDS};
use super::{classify, Condition, Item, Store, StoreError, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use cppo_domain::event::Event;
use cppo_domain::time::stamp;
use std::collections::HashMap;

pub const EVENT: &str = "EVENT";
const DEAL: &str = "DEAL";
const HANDLED: &str = "HANDLED";

/// How long an event item is kept (DynamoDB's TTL): past the queue's 14 days of retries, so an
/// event retried to the last still finds the events of its deal before it; and far past a
/// stream's 24 hours, so any window the stream lost can be republished from here.
pub const EVENT_KEEP_DAYS: i64 = 15;

/// The time index's partitions of an hour, and the one a deal's event of that hour is in.
pub fn events_hour(at: DateTime<Utc>) -> Vec<String> {
    (0..DUE_SHARDS).map(|n| format!("EVENTS#{}#{n}", at.format("%Y-%m-%dT%H"))).collect()
}

fn events_partition(at: DateTime<Utc>, deal_key: &str) -> String {
    format!("EVENTS#{}#{}", at.format("%Y-%m-%dT%H"), shard_of(deal_key))
}

fn event_sort(sequence: u32) -> String {
    format!("{EVENT}#{sequence:010}")
}

fn deal_key(deal: &str) -> String {
    pk(DEAL, deal)
}

/// An event as stored: its body (what notify reads) and its bus entries (what the bus gets), in
/// its deal's partition under its number, and in the time index.
pub fn event_item(e: &Event) -> Result<Item, StoreError> {
    if e.deal_id.is_empty() || e.sequence == 0 {
        return Err(StoreError::Corrupt(format!("event {} has no place in a deal", e.event_id)));
    }
    let key = deal_key(&e.deal_id);
    let sort = event_sort(e.sequence);
    let mut item = HashMap::new();
    item.insert("dueAt".into(), s(format!("{}#{key}#{sort}", stamp(e.occurred_at))));
    item.insert("duePk".into(), s(events_partition(e.occurred_at, &key)));
    item.insert("pk".into(), s(key));
    item.insert("sk".into(), s(sort));
    item.insert("kind".into(), s(EVENT));
    item.insert("eventId".into(), s(e.event_id.clone()));
    item.insert("sequence".into(), AttributeValue::N(e.sequence.to_string()));
    item.insert("occurredAt".into(), s(stamp(e.occurred_at)));
    item.insert("body".into(), s(json(e)?));
    item.insert("busEntries".into(), s(json(&e.marketplace)?));
    item.insert("version".into(), AttributeValue::N("1".into()));
    item.insert("expiresAt".into(), epoch(e.occurred_at + Duration::days(EVENT_KEEP_DAYS)));
    Ok(item)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::Corrupt(err.to_string()))
}

impl Store {
    /// How far notify has handled a deal: the number of its last event handled, 0 for none.
    pub async fn deal_handled(&self, deal: &str) -> Result<u32, StoreError> {
        let item = self.get(&deal_key(deal), HANDLED).await?;
        Ok(item.as_ref().and_then(|i| number(i, "handled")).unwrap_or(0))
    }

    /// Records the deal handled up to `sequence`; never moves it back (a later one may have won).
    pub async fn mark_handled(&self, deal: &str, sequence: u32, now: DateTime<Utc>) -> Result<(), StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(deal_key(deal)))
            .key("sk", s(HANDLED))
            .update_expression("SET handled = :n, handledAt = :now, kind = :kind")
            .condition_expression("attribute_not_exists(handled) OR handled < :n")
            .expression_attribute_values(":n", AttributeValue::N(sequence.to_string()))
            .expression_attribute_values(":now", s(stamp(now)))
            .expression_attribute_values(":kind", s(HANDLED))
            .send()
            .await
            .map(|_| ())
            .map_err(classify);
        already(outcome)
    }

    /// The bodies of a deal's events numbered after `after` up to `upto`, in order, read
    /// consistently: every event before one that exists was committed before it.
    pub async fn deal_events(&self, deal: &str, after: u32, upto: u32) -> Result<Vec<String>, StoreError> {
        let mut bodies = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :deal AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":deal", s(deal_key(deal)))
                .expression_attribute_values(":from", s(event_sort(after + 1)))
                .expression_attribute_values(":to", s(event_sort(upto)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            bodies.extend(out.items.unwrap_or_default().iter().filter_map(|i| string_attr(i, "body").map(str::to_string)));
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(bodies),
            }
        }
    }

    /// The keys of the events that occurred from `from` up to `to` in one hour's partition of the
    /// time index, a page at a time.
    pub async fn events_between(
        &self,
        hour: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        self.due_index_page(hour, (Some(stamp(from)), format!("{}~", stamp(to))), None, start).await
    }

    /// Writes an event item again, unchanged but for when it was republished and how long it is
    /// kept (as long again from now, so the events a republished one hands on stay readable for as
    /// long as its message may be retried): the stream carries it once more, as a `MODIFY`, to every
    /// target. Only an event item that still exists.
    pub async fn republish(&self, key: &Item, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (Some(pk), Some(sk)) = (string_attr(key, "pk"), string_attr(key, "sk")) else { return Ok(()) };
        let again = Update::of(pk, sk)
            .set("republishedAt", s(stamp(now)))
            .set("expiresAt", epoch(now + Duration::days(EVENT_KEEP_DAYS)))
            .only_if(Condition::new("#kind = :event").name("#kind", "kind").value(":event", s(EVENT)));
        // Gone with its TTL since the index was read: nothing left to republish.
        already(self.update(again).await.map(|_| ()))
    }
}

/// A conditional write whose condition failed because what it would do is done already.
fn already(outcome: Result<(), StoreError>) -> Result<(), StoreError> {
    match outcome {
        Err(StoreError::Conflict) => Ok(()),
        other => other,
    }
}
