//! `GET /_local/emails`: what the email service accepted, read back from the emulator itself
//! (moto keeps sent messages among its models; `scripts/moto_server.py` serves just those), joined
//! with the send times notify recorded.

use crate::Gateway;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use cppo_platform::store::string_attr;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::collections::HashMap;

pub struct MotoClient {
    base: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
}

impl MotoClient {
    pub fn new(endpoint_url: &str) -> MotoClient {
        MotoClient { base: endpoint_url.trim_end_matches('/').to_string(), client: Client::builder(TokioExecutor::new()).build_http() }
    }

    async fn get_json(&self, path: &str) -> Result<Value, String> {
        let uri: hyper::Uri = format!("{}{path}", self.base).parse().map_err(|e| format!("{e}"))?;
        let response = self.client.get(uri).await.map_err(|e| format!("emulator unreachable: {e}"))?;
        let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| format!("emulator state unreadable: {e}"))
    }
}

/// Every message sent from this stack's sender, oldest first.
pub async fn sent(gateway: &Gateway) -> Result<Vec<Value>, String> {
    let messages = gateway.http.get_json("/_cppo/ses/messages").await?;
    let sent_at = send_times(gateway).await?;
    let sender = &gateway.config.names.sender;
    Ok(messages
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| m["source"].as_str() == Some(sender))
        .map(|m| {
            let id = m["id"].as_str().unwrap_or_default();
            json!({
                "from": m["source"],
                "to": m["destinations"]["ToAddresses"],
                "subject": m["subject"],
                "body": m["body"],
                "sentAt": sent_at.get(id),
            })
        })
        .collect())
}

/// The send time notify recorded for each SES message ID (a scan, acceptable for a local-only route).
async fn send_times(gateway: &Gateway) -> Result<HashMap<String, String>, String> {
    let client = gateway.app.store.client();
    let mut times = HashMap::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(gateway.app.store.table())
            .filter_expression("#kind = :email AND attribute_exists(messageId)")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":email", AttributeValue::S("EMAIL".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())?;
        for item in out.items.unwrap_or_default() {
            if let (Some(id), Some(at)) = (string_attr(&item, "messageId"), string_attr(&item, "sentAt")) {
                times.insert(id.to_string(), at.to_string());
            }
        }
        match out.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(times),
        }
    }
}

/// Pages a list the way every list of the API is paged: an opaque offset token.
pub fn page(items: Vec<Value>, limit: usize, token: Option<&str>) -> Result<Value, String> {
    let offset = match token {
        None => 0,
        Some(t) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("emails:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or("nextToken is not one this list issued")?,
    };
    let end = offset.saturating_add(limit).min(items.len());
    let slice = items.get(offset.min(items.len())..end).unwrap_or_default().to_vec();
    let mut body = json!({ "items": slice });
    if end < items.len() {
        body["nextToken"] = Value::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("emails:{end}")));
    }
    Ok(body)
}
