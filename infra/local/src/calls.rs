//! Every AWS call each function makes, as IAM sees it: the action and the resource's ARN. An
//! interceptor on each function's clients records them, so a test can hold every call against the
//! function's policy in the template, resources included (the emulator checks actions alone).
//!
//! A transaction is recorded as AWS authorizes it: one action per item (`PutItem`, `UpdateItem`,
//! `DeleteItem`, `ConditionCheckItem`); a batch as its own action on each table it names; a query
//! on its index's ARN.

use aws_sdk_sqs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The account and region local ARNs are written in.
pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "us-east-1";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub function: String,
    /// `service:Operation`, as in a policy.
    pub action: String,
    pub resource: String,
}

/// The distinct calls seen so far.
#[derive(Debug, Default)]
pub struct CallLog(Mutex<BTreeSet<Call>>);

impl CallLog {
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().map(|calls| calls.iter().cloned().collect()).unwrap_or_default()
    }

    fn record(&self, function: &str, calls: Vec<(String, String)>) {
        if let Ok(mut log) = self.0.lock() {
            log.extend(calls.into_iter().map(|(action, resource)| Call { function: function.to_string(), action, resource }));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    DynamoDb,
    Sqs,
    Ses,
    /// DynamoDB Streams: the relay's reads of the table's stream.
    Streams,
    /// EventBridge: the relay's entries on the bus.
    Events,
    /// S3, path-style (`/bucket/key`): the document bucket's reads, writes and presigned URLs.
    S3,
}

#[derive(Debug)]
pub struct Recorder {
    pub log: Arc<CallLog>,
    pub function: &'static str,
    pub api: Api,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "LocalCallRecorder"
    }

    // Before signing, so the request is the one the function built, not a fault's stand-in.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let body = request.body().bytes().unwrap_or_default();
        let calls = match self.api {
            Api::DynamoDb => dynamodb_calls(target, body),
            Api::Sqs => sqs_calls(target, body),
            Api::Ses => ses_calls(body),
            Api::Streams => stream_calls(target, body),
            Api::Events => bus_calls(target, body),
            // Its bucket is in the path only once the endpoint is resolved: recorded before transmit.
            Api::S3 => return Ok(()),
        };
        self.log.record(self.function, calls);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.api == Api::S3 {
            let request = context.request();
            self.log.record(self.function, s3_calls(request.method(), request.uri(), request.headers().get("x-amz-copy-source")));
        }
        Ok(())
    }
}

pub fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

pub fn queue_arn(queue: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")
}

pub fn identity_arn(identity: &str) -> String {
    format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{identity}")
}

pub fn bus_arn(bus: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}")
}

fn operation(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or_default()
}

fn dynamodb_calls(target: &str, body: &[u8]) -> Vec<(String, String)> {
    let op = operation(target);
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let table = |v: &Value| table_arn(v["TableName"].as_str().unwrap_or_default());
    let action = |name: &str| format!("dynamodb:{name}");
    match op {
        "TransactWriteItems" => json["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, details) = item.as_object()?.iter().next()?;
                let per_item = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    _ => "ConditionCheckItem",
                };
                Some((action(per_item), table(details)))
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => {
            json["RequestItems"].as_object().into_iter().flatten().map(|(name, _)| (action(op), table_arn(name))).collect()
        }
        "Query" | "Scan" => {
            let resource = match json["IndexName"].as_str() {
                Some(index) => format!("{}/index/{index}", table(&json)),
                None => table(&json),
            };
            vec![(action(op), resource)]
        }
        _ => vec![(action(op), table(&json))],
    }
}

fn sqs_calls(target: &str, body: &[u8]) -> Vec<(String, String)> {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let queue = json["QueueUrl"].as_str().and_then(|url| url.rsplit('/').next()).unwrap_or_default();
    vec![(format!("sqs:{}", operation(target)), queue_arn(queue))]
}

/// A stream call names its stream, or a shard iterator that begins with the stream's ARN (in AWS
/// and in the emulator: `<stream ARN>|1|<position>`); IAM authorizes all four on the stream.
fn stream_calls(target: &str, body: &[u8]) -> Vec<(String, String)> {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let named = json["StreamArn"].as_str().or_else(|| json["ShardIterator"].as_str().and_then(|i| i.split('|').next()));
    vec![(format!("dynamodb:{}", operation(target)), named.unwrap_or("*").to_string())]
}

/// `PutEvents` is authorized on each bus its entries name.
fn bus_calls(target: &str, body: &[u8]) -> Vec<(String, String)> {
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let buses: BTreeSet<&str> = json["Entries"].as_array().into_iter().flatten().filter_map(|e| e["EventBusName"].as_str()).collect();
    buses.into_iter().map(|bus| (format!("events:{}", operation(target)), bus_arn(bus))).collect()
}

pub fn object_arn(bucket_and_key: &str) -> String {
    format!("arn:aws:s3:::{bucket_and_key}")
}

/// An object call as IAM authorizes it: a `GET` is `GetObject` (and `GetObjectVersion` for a
/// version), a `PUT` `PutObject` (a copy also reads its source), a `DELETE` `DeleteObject`. A
/// presigned request is recorded too: it works only while its signer may make it.
fn s3_calls(method: &str, uri: &str, copy_source: Option<&str>) -> Vec<(String, String)> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let object = object_arn(&crate::server::percent_decode(path.trim_start_matches('/')));
    let versioned = query.split('&').any(|p| p.starts_with("versionId="));
    let call = |action: &str, resource: &str| (format!("s3:{action}"), resource.to_string());
    match method {
        "GET" | "HEAD" if versioned => vec![call("GetObject", &object), call("GetObjectVersion", &object)],
        "GET" | "HEAD" => vec![call("GetObject", &object)],
        "PUT" => {
            let mut calls = vec![call("PutObject", &object)];
            if let Some(source) = copy_source {
                let source = crate::server::percent_decode(source.trim_start_matches('/'));
                calls.push(call("GetObject", &object_arn(source.split('?').next().unwrap_or_default())));
            }
            calls
        }
        "DELETE" => vec![call("DeleteObject", &object)],
        other => vec![call(other, &object)],
    }
}

/// SES speaks the query protocol: `Action=SendEmail&Source=...`.
fn ses_calls(body: &[u8]) -> Vec<(String, String)> {
    let form = String::from_utf8_lossy(body);
    let param = |name: &str| {
        form.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| crate::server::percent_decode(v))
    };
    let action = param("Action").unwrap_or_default();
    let resource = param("Source").map(|source| identity_arn(&source)).unwrap_or_else(|| "*".into());
    vec![(format!("ses:{action}"), resource)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_is_one_action_per_item_and_a_query_names_its_index() {
        let body = br#"{"TransactItems":[{"Update":{"TableName":"t"}},{"Put":{"TableName":"t"}},{"ConditionCheck":{"TableName":"t"}}]}"#;
        let actions: Vec<String> = dynamodb_calls("DynamoDB_20120810.TransactWriteItems", body).into_iter().map(|(a, _)| a).collect();
        assert_eq!(actions, ["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"]);
        let query = dynamodb_calls("DynamoDB_20120810.Query", br#"{"TableName":"t","IndexName":"byDue"}"#);
        assert_eq!(query, [("dynamodb:Query".to_string(), format!("{}/index/byDue", table_arn("t")))]);
        let copy = s3_calls("PUT", "http://127.0.0.1:5000/b/documents/doc-1?x-id=CopyObject", Some("b/uploads/doc-1"));
        assert_eq!(
            copy,
            [("s3:PutObject".to_string(), object_arn("b/documents/doc-1")), ("s3:GetObject".to_string(), object_arn("b/uploads/doc-1"))]
        );
        let versioned = s3_calls("GET", "/b/compiled/opp-1/eula.pdf?versionId=v1&x-id=GetObject", None);
        assert_eq!(versioned[1], ("s3:GetObjectVersion".to_string(), object_arn("b/compiled/opp-1/eula.pdf")));
        let ses = ses_calls(b"Action=SendEmail&Source=noreply%40x.example&Version=2010-12-01");
        assert_eq!(ses, [("ses:SendEmail".to_string(), identity_arn("noreply@x.example"))]);
    }
}
