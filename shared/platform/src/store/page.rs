//! Paged lists across one or more party indexes, merged newest first.
//!
//! A caller can be on several sides of a deal (ISV of one offer, buyer of another), so a list reads
//! one index per side and merges them by sort key. The next token records where each side stopped.

use super::items::{parse, s, string_attr, Index};
use super::{classify, Item, Store, StoreError};
use base64::Engine;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, VecDeque};

/// One side of a list: an index partition and the sort-key prefix of the kind listed, optionally
/// narrowed to a range of sort keys (both ends inclusive).
#[derive(Debug, Clone)]
pub struct Stream {
    pub index: Index,
    pub partition: String,
    pub prefix: String,
    pub range: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    After(String),
    Done,
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// Decodes a next token for these streams; `None` for anything this service did not issue.
pub fn decode_token(token: &str, streams: &[Stream]) -> Option<Vec<Position>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let raw: Vec<Option<String>> = serde_json::from_slice(&bytes).ok()?;
    if raw.len() != streams.len() {
        return None;
    }
    raw.into_iter()
        .zip(streams)
        .map(|(p, stream)| match p {
            None => Some(Position::Start),
            Some(done) if done == "~" => Some(Position::Done),
            Some(after) if after.starts_with(&stream.prefix) && after.len() <= 512 && after.split('#').count() >= 2 => {
                Some(Position::After(after))
            }
            Some(_) => None,
        })
        .collect()
}

fn encode_token(positions: &[Position]) -> String {
    let raw: Vec<Option<&str>> = positions
        .iter()
        .map(|p| match p {
            Position::Start => None,
            Position::After(sk) => Some(sk.as_str()),
            Position::Done => Some("~"),
        })
        .collect();
    let json = serde_json::to_vec(&raw).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
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
                }
            }
        }
        for (position, buffer) in positions.iter_mut().zip(&buffers) {
            if buffer.items.is_empty() && !buffer.more {
                *position = Position::Done;
            }
        }
        let finished = positions.iter().all(|p| *p == Position::Done);
        Ok(Page { items, next_token: (!finished).then(|| encode_token(&positions)) })
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
            None => query.key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)").expression_attribute_values(":prefix", s(stream.prefix.clone())),
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

    fn streams() -> Vec<Stream> {
        vec![
            Stream { index: Index::ByIsv, partition: "ISV#1".into(), prefix: "OFFER#".into(), range: None },
            Stream { index: Index::ByBuyer, partition: "BUYER#1".into(), prefix: "OFFER#".into(), range: None },
        ]
    }

    #[test]
    fn tokens_round_trip_and_tampering_is_caught() {
        let positions = vec![Position::After("OFFER#2027-01-01T00:00:00.000Z#offer-1".into()), Position::Done];
        let token = encode_token(&positions);
        assert_eq!(decode_token(&token, &streams()), Some(positions));
        assert_eq!(decode_token("not a token", &streams()), None);
        let foreign = encode_token(&[Position::After("AGREEMENT#x#agr-1".into()), Position::Start]);
        assert_eq!(decode_token(&foreign, &streams()), None);
        let short = encode_token(&[Position::Start]);
        assert_eq!(decode_token(&short, &streams()), None);
    }

    #[test]
    fn the_start_key_names_the_items_own_keys() {
        let key = start_key("gsi1pk", "gsi1sk", "ISV#1", "OFFER#2027-01-01T00:00:00.000Z#offer-1");
        assert_eq!(key["pk"], s("OFFER#offer-1"));
        assert_eq!(key["sk"], s("OFFER"));
    }
}
