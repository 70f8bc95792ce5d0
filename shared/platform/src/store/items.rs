//! Turning domain values into items and back: keys, index attributes, due dates, versions.

use super::{Item, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use cppo_domain::time::stamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The table's secondary indexes, each with its key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    ByIsv,
    ByReseller,
    ByBuyer,
    ByDue,
}

impl Index {
    pub fn name(self) -> &'static str {
        match self {
            Index::ByIsv => "byIsv",
            Index::ByReseller => "byReseller",
            Index::ByBuyer => "byBuyer",
            Index::ByDue => "byDue",
        }
    }

    pub fn keys(self) -> (&'static str, &'static str) {
        match self {
            Index::ByIsv => ("gsi1pk", "gsi1sk"),
            Index::ByReseller => ("gsi2pk", "gsi2sk"),
            Index::ByBuyer => ("gsi3pk", "gsi3sk"),
            Index::ByDue => ("duePk", "dueAt"),
        }
    }
}

/// The due index is spread over this many partitions (`DUE#0`..`DUE#7`), each item's fixed by a
/// hash of its key, so no one partition carries every expiring item's writes; the sweep reads
/// each. The index projects keys only: the sweep reads what it settles from the table itself.
pub const DUE_SHARDS: u32 = 8;

/// The due partition of an item's key.
pub fn due_shard(pk: &str) -> String {
    format!("DUE#{}", shard_of(pk))
}

/// Which of the `DUE_SHARDS` partitions a key goes to: FNV-1a, stable across builds and platforms.
pub fn shard_of(pk: &str) -> u32 {
    let hash = pk.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    hash % DUE_SHARDS
}

/// Every due partition, in order.
pub fn due_shards() -> Vec<String> {
    (0..DUE_SHARDS).map(|n| format!("DUE#{n}")).collect()
}

/// The one partition of the due index before it was spread out: items written then still carry
/// it until their next change, so the sweep reads it too.
pub const LEGACY_DUE_PARTITION: &str = "DUE";

/// A stored value with the version it was read at, for conditional replacement.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

pub fn pk(kind: &str, id: &str) -> String {
    format!("{kind}#{id}")
}

/// The sort key in every party index: newest first, and the item's own keys derivable from it.
pub fn index_sort(kind: &str, created_at: DateTime<Utc>, id: &str) -> String {
    format!("{kind}#{}#{id}", stamp(created_at))
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Serializes `value` with the item's keys and the next version.
pub fn item<T: Serialize>(value: &T, kind: &str, id: &str, version: u64) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert("pk".into(), s(pk(kind, id)));
    item.insert("sk".into(), s(kind));
    item.insert("kind".into(), s(kind));
    item.insert("version".into(), AttributeValue::N(version.to_string()));
    Ok(item)
}

pub fn index(mut item: Item, index: Index, partition: String, sort: String) -> Item {
    let (pk, sk) = index.keys();
    item.insert(pk.into(), s(partition));
    item.insert(sk.into(), s(sort));
    item
}

/// Puts the item in the due index while it can still fall due; out of it otherwise. The sort key
/// is the due instant then the item's key, unique so that pages never split a tie.
pub fn due(item: Item, at: Option<DateTime<Utc>>) -> Item {
    match at {
        Some(at) => {
            let pk = string_attr(&item, "pk").unwrap_or_default().to_string();
            index(item, Index::ByDue, due_shard(&pk), due_key(at, &pk))
        }
        None => item,
    }
}

/// The due index's sort key: the instant, then the item's key, unique so that pages never split
/// a tie. Fixed-width stamps keep it in time order for every year the service can produce.
pub fn due_key(at: DateTime<Utc>, pk: &str) -> String {
    format!("{}#{pk}", stamp(at))
}

/// The due-index bound that takes in everything due at or before `now` (`~` sorts after `#`).
pub fn due_bound(now: DateTime<Utc>) -> String {
    format!("{}~", stamp(now))
}

pub fn parse<T: DeserializeOwned>(item: Item) -> Result<Versioned<T>, StoreError> {
    let version = match item.get("version") {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| StoreError::Corrupt(format!("version {n}")))?,
        _ => 0,
    };
    let value = serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Versioned { value, version })
}

/// An instant as DynamoDB's TTL and our expiry checks read it: seconds since the epoch.
pub fn epoch(t: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(t.timestamp().to_string())
}

/// A number attribute, if the item has one that parses as `T`.
pub fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

pub fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn due_keys_sort_in_time_order_for_every_date_the_service_can_produce() {
        // From now to an agreement starting 3 years out and running 60 months (8 years), and an
        // opportunity ending 5 years out: every day's end, and instants within a day.
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let mut previous = due_key(start, "OFFER#offer-z");
        for day in 1..=(9 * 366) {
            let at = start + Duration::days(day) - Duration::milliseconds((day % 3) * 7);
            let key = due_key(at, "AGREEMENT#agr-a");
            assert!(key > previous, "{key} must sort after {previous}");
            assert!(key.as_str() <= due_bound(at).as_str(), "{key} is due at {at}");
            previous = key;
        }
    }

    #[test]
    fn items_spread_over_every_due_shard_and_each_keeps_its_own() {
        let shards: std::collections::BTreeSet<String> = (0..200).map(|i| due_shard(&format!("OFFER#offer-{i}"))).collect();
        assert_eq!(shards.into_iter().collect::<Vec<_>>(), due_shards());
        assert_eq!(due_shard("OPPORTUNITY#opp-1"), due_shard("OPPORTUNITY#opp-1"));
    }
}
