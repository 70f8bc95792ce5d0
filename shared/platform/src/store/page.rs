//! Paged lists across one or more party indexes, merged newest first.
//!
//! A caller can be on several sides of a deal (ISV of one offer, buyer of another), so a list reads
//! one index per side and merges them by sort key. The next token records where each side stopped.

use super::items::{parse, s, string_attr, Index};
use super::{classify, Item, Store, StoreError};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, VecDeque};

/// One side of a list: an index partition and the sort-key prefix of the kind listed, optionally
/// narrowed to a range of sort keys (both ends inclusive). `key_parts` is how many `#`-separated
/// parts follow the prefix in its sort keys.
#[derive(Debug, Clone)]
pub struct Stream {
    pub index: Index,
    pub partition: String,
    pub prefix: String,
    pub range: Option<(String, String)>,
    pub key_parts: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    After(String),
    Done,
}

pub struct Page<T> {
    pub items: Vec<T>,
    /// Where each side stopped, when there is more to read.
    pub next: Option<Vec<Position>>,
    /// Where each side stood just after each item kept: a page may be resumed inside it.
    pub marks: Vec<Vec<Position>>,
}

impl Stream {
    /// The parts of a position: its sort key without the kind's prefix (the listed item's own
    /// creation time and id, or a seller's account), for a token to carry instead of the key.
    pub fn position_parts(&self, sort_key: &str) -> Option<Vec<String>> {
        sort_key.strip_prefix(&self.prefix).map(|rest| rest.split('#').map(str::to_string).collect())
    }

    /// The sort key back from a token's parts: only one of this stream's own shape (as many
    /// parts as its keys have, each of the characters stamps and ids are made of) and inside its
    /// query's range, so no position can point outside what the query reads.
    pub fn position_from(&self, parts: &[String]) -> Option<String> {
        let plain = |p: &String| !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if parts.len() != self.key_parts || !parts.iter().all(plain) {
            return None;
        }
        let key = format!("{}{}", self.prefix, parts.join("#"));
        match &self.range {
            Some((from, to)) if key.as_str() < from.as_str() || key.as_str() > to.as_str() => None,
            _ => Some(key),
        }
    }
}

struct Buffer {
    items: VecDeque<(String, Item)>,
    more: bool,
}

impl Store {
    /// A page of up to `limit` items of the streams merged newest first, keeping those `keep` accepts.
    pub async fn list<T: DeserializeOwned>(
        &self,
        streams: &[Stream],
        positions: Vec<Position>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let mut positions = positions;
        // The sides are independent: read them side by side, one round trip of latency in all.
        let fetches = streams.iter().zip(&positions).map(|(stream, position)| self.fetch(stream, position, limit));
        let mut buffers = futures_util::future::try_join_all(fetches).await?;
        let mut items = Vec::new();
        let mut marks = Vec::new();
        while items.len() < limit {
            // Stop where a side that may hold newer items has nothing buffered: the next page resumes there.
            if buffers.iter().any(|b| b.items.is_empty() && b.more) {
                break;
            }
            let Some(head) = buffers.iter().filter_map(|b| b.items.front().map(|(sk, _)| sk.clone())).max() else { break };
            let mut taken = None;
            for (i, buffer) in buffers.iter_mut().enumerate() {
                if buffer.items.front().is_some_and(|(sk, _)| *sk == head) {
                    if let Some((sk, item)) = buffer.items.pop_front() {
                        positions[i] = Position::After(sk);
                        taken.get_or_insert(item);
                    }
                }
            }
            if let Some(item) = taken {
                let value: T = parse(item)?.value;
                if keep(&value) {
                    items.push(value);
                    marks.push(positions.clone());
                }
            }
        }
        for (position, buffer) in positions.iter_mut().zip(&buffers) {
            if buffer.items.is_empty() && !buffer.more {
                *position = Position::Done;
            }
        }
        let finished = positions.iter().all(|p| *p == Position::Done);
        Ok(Page { items, next: (!finished).then_some(positions), marks })
    }

    async fn fetch(&self, stream: &Stream, position: &Position, limit: usize) -> Result<Buffer, StoreError> {
        let (pk_attr, sk_attr) = stream.index.keys();
        let start = match position {
            Position::Done => return Ok(Buffer { items: VecDeque::new(), more: false }),
            Position::Start => None,
            Position::After(sk) => Some(start_key(pk_attr, sk_attr, &stream.partition, sk)),
        };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(stream.index.name())
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_names("#sk", sk_attr)
            .expression_attribute_values(":pk", s(stream.partition.clone()));
        let query = match &stream.range {
            None => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_values(":prefix", s(stream.prefix.clone())),
            Some((from, to)) => query
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(from.clone()))
                .expression_attribute_values(":to", s(to.clone())),
        };
        let out = query
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(100))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| string_attr(&item, sk_attr).map(str::to_string).map(|sk| (sk, item)))
            .collect();
        Ok(Buffer { items, more: out.last_evaluated_key.is_some() })
    }
}

/// The exclusive start key for an index: its own keys plus the table's, derived from the sort key
/// `KIND#...#id`, whose item lives at `KIND#id`.
fn start_key(pk_attr: &str, sk_attr: &str, partition: &str, sort: &str) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let kind = sort.split('#').next().unwrap_or_default();
    let id = sort.rsplit('#').next().unwrap_or_default();
    HashMap::from([
        (pk_attr.to_string(), s(partition)),
        (sk_attr.to_string(), s(sort)),
        ("pk".to_string(), s(format!("{kind}#{id}"))),
        ("sk".to_string(), s(kind)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offers() -> Stream {
        Stream { index: Index::ByIsv, partition: "ISV#1".into(), prefix: "OFFER#".into(), range: None, key_parts: 2 }
    }

    #[test]
    fn a_position_is_carried_as_its_parts_and_only_this_streams_shape_comes_back() {
        let key = "OFFER#2027-01-01T00:00:00.000Z#offer-1";
        let parts = offers().position_parts(key).unwrap();
        assert_eq!(parts, ["2027-01-01T00:00:00.000Z", "offer-1"]);
        assert_eq!(offers().position_from(&parts).as_deref(), Some(key));
        assert_eq!(offers().position_from(&["x".into()]), None, "too few parts");
        assert_eq!(offers().position_from(&["a#b".into(), "c".into()]), None, "a separator smuggled in");
        let report = Stream { range: Some(("OFFER#2027-01-01".into(), "OFFER#2027-01-31".into())), ..offers() };
        assert_eq!(report.position_from(&["2027-02-01T00:00:00.000Z".into(), "offer-1".into()]), None, "outside the query's range");
        assert!(report.position_from(&parts).is_some());
    }

    #[test]
    fn the_start_key_names_the_items_own_keys() {
        let key = start_key("gsi1pk", "gsi1sk", "ISV#1", "OFFER#2027-01-01T00:00:00.000Z#offer-1");
        assert_eq!(key["pk"], s("OFFER#offer-1"));
        assert_eq!(key["sk"], s("OFFER"));
    }
}
