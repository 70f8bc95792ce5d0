//! `GET /_local/emails`: what the email service accepted, read back from the emulator itself
//! (moto keeps sent messages among its models; `scripts/moto_server.py` serves just those), joined
//! with the send times notify recorded.

use crate::Gateway;
use aws_sdk_dynamodb::types::AttributeValue;
use cppo_platform::store::string_attr;
use cppo_platform::token::{self, Binding};
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

    pub async fn get_json(&self, path: &str) -> Result<Value, String> {
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

/// Pages a local list (the emails, the bus's events) as the API pages its lists: a token signed
/// as theirs (`cppo_platform::token`, with the gateway's token key) for its route, so one this list
/// did not issue is refused.
pub fn page(items: Vec<Value>, limit: usize, token: Option<&str>, route: &str, key: &[u8]) -> Result<Value, String> {
    let binding = Binding { caller: "", route, query: "" };
    let offset = match token {
        None => 0,
        Some(t) => opened(t, &binding, key).ok_or("nextToken is not one this list issued")?,
    };
    let end = offset.saturating_add(limit).min(items.len());
    let slice = items.get(offset.min(items.len())..end).unwrap_or_default().to_vec();
    let mut body = json!({ "items": slice });
    if end < items.len() {
        body["nextToken"] = Value::String(sealed(end, &binding, key).ok_or("the token key is unusable")?);
    }
    Ok(body)
}

/// A local list's tokens are bound to its route, with no caller (the routes take none).
fn sealed(offset: usize, binding: &Binding<'_>, key: &[u8]) -> Option<String> {
    token::sign(key, binding, format!("offset:{offset}").as_bytes())
}

fn opened(token: &str, binding: &Binding<'_>, key: &[u8]) -> Option<usize> {
    String::from_utf8(token::verify(key, binding, token)?).ok()?.strip_prefix("offset:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn a_page_token_is_signed_and_only_an_issued_one_opens() {
        let items: Vec<Value> = (0..5).map(|n| json!(n)).collect();
        let route = "GET /_local/emails";
        let first = page(items.clone(), 2, None, route, b"key").expect("a first page");
        let token = first["nextToken"].as_str().expect("a token").to_string();
        let (payload, tag) = token.split_once('.').expect("payload.signature");
        assert_eq!(tag.len(), 43, "a base64url HMAC-SHA256, as the API's list tokens");
        assert_eq!(page(items.clone(), 2, Some(&token), route, b"key").expect("the next page")["items"], json!([2, 3]));
        assert!(page(items.clone(), 2, Some(&token), "GET /_local/events", b"key").is_err(), "another list's token");
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let edited = format!("{}.{tag}", engine.encode("offset:0"));
        assert_ne!(engine.encode("offset:0"), payload);
        for refused in [edited, "garbage".to_string(), token.clone()] {
            let key: &[u8] = if refused == token { b"another key" } else { b"key" };
            assert!(page(items.clone(), 2, Some(&refused), route, key).is_err(), "{refused}");
        }
    }
}
