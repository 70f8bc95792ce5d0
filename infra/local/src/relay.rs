//! The two EventBridge Pipes of the template, played locally: the table's stream, read from the
//! emulator, carried to notify's queue and to the stack's bus as the pipes would carry it. Each
//! pipe has its own position in the stream and its own role (its calls are signed as the IAM user
//! made from that role's policy), applies the filter the template gives it, and keeps what it
//! could not deliver to try again, in order, so an outage of a target delays events and loses none.
//!
//! `/_local/faults {"relay": "shuffle"}` makes both hand records on out of order and some twice,
//! as pipes reading several shards at once may: what reads the events must not depend on order.

use crate::faults::Faults;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Where a pipe delivers.
pub enum Target {
    Queue { client: aws_sdk_sqs::Client, url: String },
    Bus { client: aws_sdk_eventbridge::Client, name: String, source: String },
}

/// One pipe: the stream as its role reads it, its filter, its target, its place in the stream.
pub struct Pipe {
    pub name: String,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub filter: Value,
    pub target: Target,
    iterators: Vec<String>,
    /// Records read and not yet delivered, oldest first.
    pending: Vec<Value>,
}

impl Pipe {
    pub fn new(name: &str, streams: aws_sdk_dynamodbstreams::Client, filter: Value, target: Target) -> Pipe {
        Pipe { name: name.into(), streams, filter, target, iterators: Vec::new(), pending: Vec::new() }
    }
}

/// Where the pipes read from and deliver to.
pub struct Ends {
    pub stream_arn: String,
    pub queue_url: String,
    pub bus: String,
}

pub struct Relay {
    pub stream_arn: String,
    pipes: Mutex<Vec<Pipe>>,
    faults: Arc<Faults>,
}

/// What one pass of the relay did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub read: usize,
    pub delivered: usize,
}

fn error<E: std::error::Error + 'static>(e: aws_sdk_dynamodbstreams::error::SdkError<E, impl std::fmt::Debug>) -> String {
    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e).to_string()
}

impl Relay {
    pub fn new(stream_arn: String, pipes: Vec<Pipe>, faults: Arc<Faults>) -> Relay {
        Relay { stream_arn, pipes: Mutex::new(pipes), faults }
    }

    /// Carries everything the stream holds to every target, until nothing is left to read or a
    /// target refuses; what a target refused is kept for the next call.
    /// Each pipe goes on alone: one whose target is down holds up no other.
    pub async fn catch_up(&self) -> Result<Pass, String> {
        let mut pipes = self.pipes.lock().await;
        let mut total = Pass::default();
        let mut refused = Vec::new();
        for pipe in pipes.iter_mut() {
            match self.catch_up_pipe(pipe, &mut total).await {
                Ok(()) => {}
                Err(error) => refused.push(error),
            }
        }
        if refused.is_empty() {
            Ok(total)
        } else {
            Err(refused.join("; "))
        }
    }

    async fn catch_up_pipe(&self, pipe: &mut Pipe, total: &mut Pass) -> Result<(), String> {
        loop {
            let read = self.read(pipe).await?;
            total.read += read;
            total.delivered += self.deliver(pipe).await?;
            if read == 0 && pipe.pending.is_empty() {
                return Ok(());
            }
        }
    }

    /// Reads what the stream has past the pipe's place, keeping the records its filter lets through.
    async fn read(&self, pipe: &mut Pipe) -> Result<usize, String> {
        if pipe.iterators.is_empty() {
            pipe.iterators = self.open(pipe).await?;
        }
        let mut read = 0;
        for iterator in pipe.iterators.iter_mut() {
            let out = pipe.streams.get_records().shard_iterator(iterator.as_str()).limit(100).send().await.map_err(error)?;
            let records: Vec<Value> = out.records.unwrap_or_default().iter().map(|r| record_json(r, &self.stream_arn)).collect();
            read += records.len();
            pipe.pending.extend(records.into_iter().filter(|r| matches(&pipe.filter, r)));
            if let Some(next) = out.next_shard_iterator {
                *iterator = next;
            }
        }
        Ok(read)
    }

    /// An iterator at the start of each of the stream's shards (the pipes' `TRIM_HORIZON`).
    async fn open(&self, pipe: &Pipe) -> Result<Vec<String>, String> {
        let described = pipe.streams.describe_stream().stream_arn(&self.stream_arn).send().await.map_err(error)?;
        let shards = described.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default();
        let mut iterators = Vec::new();
        for shard in shards {
            let out = pipe
                .streams
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(shard.shard_id.unwrap_or_default())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(error)?;
            iterators.extend(out.shard_iterator);
        }
        Ok(iterators)
    }

    /// Hands the pending records to the target, oldest first (or shuffled, with some twice); stops
    /// at the first the target refuses and keeps it and those after it.
    async fn deliver(&self, pipe: &mut Pipe) -> Result<usize, String> {
        let order: Vec<usize> = if self.faults.relay_shuffled() {
            (0..pipe.pending.len()).rev().flat_map(|i| if i % 2 == 0 { vec![i, i] } else { vec![i] }).collect()
        } else {
            (0..pipe.pending.len()).collect()
        };
        let mut done = vec![false; pipe.pending.len()];
        for i in order {
            if let Err(e) = send(&pipe.target, &pipe.pending[i]).await {
                pipe.pending = pipe.pending.drain(..).zip(done).filter(|(_, sent)| !sent).map(|(r, _)| r).collect();
                return Err(format!("{}: {e}", pipe.name));
            }
            done[i] = true;
        }
        let delivered = pipe.pending.len();
        pipe.pending.clear();
        Ok(delivered)
    }
}

/// What the pipe sends for one record: the record itself to the queue; to the bus, the entries
/// the enrichment (`cppo_platform::stream::bus_entries`, the enrichment function's own code) makes.
async fn send(target: &Target, record: &Value) -> Result<(), String> {
    match target {
        Target::Queue { client, url } => client
            .send_message()
            .queue_url(url)
            .message_body(record.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()),
        Target::Bus { client, name, source } => {
            let entries = cppo_platform::stream::bus_entries(std::slice::from_ref(record));
            if entries.is_empty() {
                return Ok(());
            }
            let built = entries.iter().map(|e| bus_entry(e, name, source)).collect::<Result<Vec<_>, _>>()?;
            let out = client
                .put_events()
                .set_entries(Some(built))
                .send()
                .await
                .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string())?;
            match out.failed_entry_count {
                0 => Ok(()),
                failed => Err(format!("the bus refused {failed} entries")),
            }
        }
    }
}

/// A `PutEvents` entry as the pipe's target parameters make it: `Source` fixed, `DetailType` from
/// `$.detailType`, `Time` from `$.time`, and `<$.detail>` as the detail.
fn bus_entry(entry: &Value, bus: &str, source: &str) -> Result<aws_sdk_eventbridge::types::PutEventsRequestEntry, String> {
    let time = entry["time"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).ok_or("an entry has no time")?;
    Ok(aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(source)
        .detail_type(entry["detailType"].as_str().unwrap_or_default())
        .detail(entry["detail"].to_string())
        .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(time.timestamp_millis()))
        .build())
}

/// EventBridge's event pattern matching, for the patterns a pipe's filter uses here: an object
/// matches field by field, a list of values matches a field equal to one of them.
pub fn matches(pattern: &Value, value: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| value.get(k).is_some_and(|v| matches(p, v))),
        Value::Array(allowed) => allowed.iter().any(|a| a == value),
        other => other == value,
    }
}

/// A stream record as a pipe hands it on (the Lambda and Pipes shape of DynamoDB Streams events).
fn record_json(r: &Record, stream_arn: &str) -> Value {
    let data = r.dynamodb.as_ref();
    let image = |m: Option<&std::collections::HashMap<String, AttributeValue>>| m.map(map_json);
    let mut dynamodb = Map::new();
    if let Some(d) = data {
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(d.approximate_creation_date_time.map(|t| t.secs())));
        dynamodb.insert("Keys".into(), json!(image(d.keys.as_ref())));
        if let Some(new) = image(d.new_image.as_ref()) {
            dynamodb.insert("NewImage".into(), new);
        }
        dynamodb.insert("SequenceNumber".into(), json!(d.sequence_number));
        dynamodb.insert("SizeBytes".into(), json!(d.size_bytes));
        dynamodb.insert("StreamViewType".into(), json!(d.stream_view_type.as_ref().map(|v| v.as_str())));
    }
    json!({
        "eventID": r.event_id,
        "eventName": r.event_name.as_ref().map(|n| n.as_str()),
        "eventVersion": r.event_version,
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

fn map_json(m: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect())
}

/// An attribute in DynamoDB's JSON (`{"S": "..."}`, `{"N": "1"}`, ...).
fn attribute_json(v: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": b64(b)}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(n) => json!({"NULL": n}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(b64).collect::<Vec<_>>()}),
        AttributeValue::L(v) => json!({"L": v.iter().map(attribute_json).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": map_json(m)}),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_lets_event_items_through_and_nothing_else() {
        let pattern: Value =
            serde_json::from_str(r#"{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"kind":{"S":["EVENT"]}}}}"#).unwrap();
        let record = |name: &str, kind: &str| json!({"eventName": name, "dynamodb": {"NewImage": {"kind": {"S": kind}, "pk": {"S": "x"}}}});
        assert!(matches(&pattern, &record("INSERT", "EVENT")));
        assert!(matches(&pattern, &record("MODIFY", "EVENT")));
        assert!(!matches(&pattern, &record("INSERT", "OFFER")));
        assert!(!matches(&pattern, &record("REMOVE", "EVENT")));
        assert!(!matches(&pattern, &json!({"eventName": "INSERT", "dynamodb": {}})));
    }

    #[test]
    fn attributes_keep_dynamodbs_json() {
        let m = std::collections::HashMap::from([("n".to_string(), AttributeValue::N("1".into()))]);
        let v = AttributeValue::L(vec![AttributeValue::S("a".into()), AttributeValue::M(m), AttributeValue::Bool(true)]);
        assert_eq!(attribute_json(&v), json!({"L": [{"S": "a"}, {"M": {"n": {"N": "1"}}}, {"BOOL": true}]}));
    }
}
