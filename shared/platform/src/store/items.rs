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

/// The partition of the due index. One partition keeps the sweep a single query; its write rate
/// is that of expiring things, far below a partition's limit.
pub const DUE_PARTITION: &str = "DUE";

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
            let key = format!("{}#{}", stamp(at), string_attr(&item, "pk").unwrap_or_default());
            index(item, Index::ByDue, DUE_PARTITION.into(), key)
        }
        None => item,
    }
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

pub fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}
