//! `Idempotency-Key` on every POST. The same caller repeating a key on the same route with an
//! equal JSON body within 24 hours gets the first answer again and nothing happens twice; the key
//! with another request gets 409 `IdempotencyKeyReused`. Answers of 500 and more (and 429, which
//! did nothing) are not kept, so the retry runs afresh. A change commits its answer in its own
//! transaction (`api::commit`), so no crash can leave a change without its answer.

use crate::http::{answer, ApiError, ApiRequest, Keyed};
use crate::store::{Claimed, Recorded, StoreError, IDEMPOTENCY};
use crate::App;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const HEADER: &str = "idempotency-key";

/// Like `http::serve`, with the key honoured on POST routes.
pub async fn serve<'a, F, Fut>(app: &App, event: &'a ApiGatewayV2httpRequest, handler: F) -> ApiGatewayV2httpResponse
where
    F: FnOnce(ApiRequest<'a>) -> Fut,
    Fut: std::future::Future<Output = Result<(u16, Value), ApiError>>,
{
    let request = match ApiRequest::authenticate(event, &app.config.account_claim) {
        Ok(request) => request,
        Err(e) => return answer(event, Err(e)),
    };
    let key = match key_of(event) {
        Ok(Some(key)) => key,
        Ok(None) => return answer(event, handler(request).await),
        Err(e) => return answer(event, Err(e)),
    };
    let record = record_key(request.caller.as_str(), event.route_key.as_deref().unwrap_or_default(), &key);
    let fingerprint = fingerprint(event);
    let now = app.now();
    let attempt = uuid::Uuid::new_v4().simple().to_string();
    match app.store.claim_idempotency(&record, &fingerprint, &attempt, now).await {
        Err(e) => answer(event, Err(e.into())),
        Ok(Claimed::Ours(claim)) => {
            let keyed = Arc::new(Keyed::new(claim));
            let outcome = handler(request.keyed(keyed.clone())).await;
            keep(app, &keyed, &outcome).await;
            answer(event, outcome)
        }
        Ok(Claimed::Held(Some(Recorded::Completed { fingerprint: f, status, body }))) if f == fingerprint => replay(event, status, &body),
        Ok(Claimed::Held(Some(r))) if r.fingerprint() != fingerprint => answer(event, Err(ApiError::IdempotencyKeyReused)),
        Ok(Claimed::Held(_)) => {
            answer(event, Err(ApiError::Conflict("a request with this Idempotency-Key is still in progress; retry it shortly".into())))
        }
    }
}

/// The header on a POST: 1..128 visible ASCII characters.
fn key_of(event: &ApiGatewayV2httpRequest) -> Result<Option<String>, ApiError> {
    let post = event.request_context.http.method == http::Method::POST;
    let Some(raw) = event.headers.get(HEADER).filter(|_| post) else { return Ok(None) };
    let key = raw.to_str().ok().filter(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_string()))
        .ok_or_else(|| ApiError::validation("Idempotency-Key", "Idempotency-Key must be 1 to 128 visible ASCII characters"))
}

/// The record of a key: scoped to the caller and the route.
pub fn record_key(caller: &str, route_key: &str, key: &str) -> String {
    format!("{IDEMPOTENCY}#{caller}#{route_key}#{key}")
}

fn fingerprint(event: &ApiGatewayV2httpRequest) -> String {
    let raw = event.body.as_deref().unwrap_or_default();
    let bytes = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(raw).unwrap_or_default()
    } else {
        raw.as_bytes().to_vec()
    };
    // The query is part of the request: a dry run and the create itself are not the same one.
    let path = event.raw_path.as_deref().unwrap_or_default();
    match event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        Some(query) => fingerprint_of(&format!("{path}?{query}"), &bytes),
        None => fingerprint_of(path, &bytes),
    }
}

/// What makes two requests the same: the concrete path (and query) and the body as JSON (key order and
/// spacing aside), hashed.
pub fn fingerprint_of(path: &str, bytes: &[u8]) -> String {
    let canonical = match serde_json::from_slice::<Value>(bytes) {
        Ok(json) => json.to_string().into_bytes(),
        Err(_) => bytes.to_vec(),
    };
    let mut hash = Sha256::new();
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(&canonical);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Completes the record with an answer the handler did not commit itself (a refusal), or gives
/// the key back when the answer is not kept.
async fn keep(app: &App, keyed: &Keyed, outcome: &Result<(u16, Value), ApiError>) {
    if keyed.committed() {
        return;
    }
    let (status, body) = match outcome {
        Ok((status, body)) => (*status, body.clone()),
        Err(e) => (e.status(), e.body()),
    };
    let result = if status >= 500 || status == 429 {
        app.store.release_idempotency(&keyed.claim).await
    } else {
        app.store.complete_idempotency(&keyed.claim, status, &body.to_string()).await
    };
    match result {
        Ok(()) => {}
        // The record was completed by a commit that went through before the error, or the claim
        // went stale and moved on: either way what is stored stands.
        Err(StoreError::Conflict) => tracing::info!("the idempotency record already holds an answer or another attempt"),
        // The answer stands; a retry with the key then waits for the claim to go stale.
        Err(error) => tracing::error!(%error, "could not record the idempotent answer"),
    }
}

fn replay(event: &ApiGatewayV2httpRequest, status: u16, body: &str) -> ApiGatewayV2httpResponse {
    match serde_json::from_str::<Value>(body) {
        Ok(body) => answer(event, Ok((status, body))),
        Err(_) => answer(event, Err(ApiError::Internal)),
    }
}
