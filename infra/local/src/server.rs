//! The HTTP side of the gateway: API routes through the authorizer into the functions, plus the
//! local-only routes that move time and events.

use crate::auth::{self, AuthError};
use crate::faults::{Service, State};
use crate::{answers, background, emails, functions, Gateway};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body as LambdaBody;
use base64::Engine;
use chrono::{DateTime, Utc};
use cppo_domain::time::stamp;
use cppo_platform::http::ApiError;
use cppo_platform::routes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tracing::Instrument;

/// API Gateway's own payload limit; the functions enforce the contract's 64 KiB below it.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(handle(&gateway, req).await) }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// One HTTP request as the gateway received it.
pub struct LocalRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

async fn handle(gateway: &Gateway, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), path = %req.uri().path());
    async move {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return reply(413, &answers::too_large()),
        };
        let incoming = LocalRequest {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            headers: parts.headers,
            body,
        };
        let response = match (incoming.method.as_str(), incoming.path.as_str()) {
            // The local-only routes are no part of the stage, so its throttling is not theirs.
            ("GET", "/health") => health(gateway).await,
            (_, p) if p.starts_with("/_local/") => local(gateway, &incoming).await,
            _ if !gateway.throttle.admit(std::time::Instant::now()) => answers::too_many_requests(),
            _ => api(gateway, &incoming, &request_id).await,
        };
        tracing::info!(status = response.status_code, "answered");
        reply(response.status_code as u16, &response)
    }
    .instrument(span)
    .await
}

fn reply(status: u16, response: &ApiGatewayV2httpResponse) -> Response<Full<Bytes>> {
    let body = match &response.body {
        Some(LambdaBody::Text(text)) if response.is_base64_encoded => {
            Bytes::from(base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default())
        }
        Some(LambdaBody::Text(text)) => Bytes::from(text.clone()),
        Some(LambdaBody::Binary(bytes)) => Bytes::from(bytes.clone()),
        _ => Bytes::new(),
    };
    let mut out = Response::new(Full::new(body));
    *out.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &response.headers {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out
}

fn json(status: u16, body: Value) -> ApiGatewayV2httpResponse {
    cppo_platform::http::json_response(status, &body)
}

async fn api(gateway: &Gateway, req: &LocalRequest, request_id: &str) -> ApiGatewayV2httpResponse {
    let Ok((route, params)) = routes::find(&req.method, &req.path) else { return answers::not_found() };
    let authorization = req.headers.get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let claims = match auth::verify(&gateway.config.jwt_secret, authorization, Utc::now().timestamp()) {
        Ok(claims) => claims,
        Err(reason) => {
            tracing::info!(?reason, "token refused");
            return answers::unauthorized(refusal(&reason));
        }
    };
    let event = match api_gateway_event(route, params, claims, req, request_id) {
        Ok(event) => event,
        Err(error) => {
            tracing::error!(%error, "could not build the API Gateway event");
            return ApiError::Internal.response();
        }
    };
    let Some(app) = gateway.function(route.function) else { return answers::not_found() };
    match crate::faults::REQUEST.scope(request_id.to_string(), functions::invoke(route.function, app, event)).await {
        Some(response) => response,
        None => answers::not_found(),
    }
}

/// What the authorizer's `www-authenticate` says of a token it refused; nothing when none was given.
fn refusal(reason: &AuthError) -> Option<&'static str> {
    match reason {
        AuthError::Missing => None,
        AuthError::Malformed => Some("the token is malformed"),
        AuthError::BadSignature => Some("the token's signature is invalid"),
        AuthError::Expired => Some("the token has expired"),
    }
}

/// The payload 2.0 event API Gateway would send for this request.
pub fn api_gateway_event(
    route: &routes::Route,
    params: Vec<(String, String)>,
    claims: std::collections::HashMap<String, String>,
    req: &LocalRequest,
    request_id: &str,
) -> Result<ApiGatewayV2httpRequest, String> {
    // API Gateway passes a header on whatever its bytes: a value that is not visible ASCII (an
    // `Idempotency-Key` of "k\u{e9}y") must reach the function, which refuses it, not vanish.
    let headers: Map<String, Value> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned())))
        .collect();
    let mut query: Map<String, Value> = Map::new();
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        // API Gateway joins repeated parameters with commas.
        match query.get_mut(&k) {
            Some(Value::String(existing)) => *existing = format!("{existing},{v}"),
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let (body, base64) = match std::str::from_utf8(&req.body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(&req.body), true),
    };
    let now = Utc::now();
    let event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": params.into_iter().map(|(k, v)| (k, Value::String(percent_decode(&v)))).collect::<Map<_, _>>(),
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": claims, "scopes": null}},
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::Null)},
            "requestId": request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": if req.body.is_empty() { Value::Null } else { Value::String(body) },
        "isBase64Encoded": base64,
    });
    serde_json::from_value(event).map_err(|e| e.to_string())
}

pub fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(decoded) => {
                    out.push(decoded);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn health(gateway: &Gateway) -> ApiGatewayV2httpResponse {
    let store = gateway
        .app
        .store
        .client()
        .describe_table()
        .table_name(gateway.app.store.table())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("storage: {e}"));
    let queue =
        gateway.sqs.get_queue_url().queue_name(&gateway.config.names.queue).send().await.map(|_| ()).map_err(|e| format!("queue: {e}"));
    let email = gateway.ses.get_send_quota().send().await.map(|_| ()).map_err(|e| format!("email: {e}"));
    match store.and(queue).and(email) {
        Ok(()) => json(200, json!({"status": "ok"})),
        Err(reason) => json(503, json!({"status": "unavailable", "reason": reason})),
    }
}

fn local_error(message: &str) -> ApiGatewayV2httpResponse {
    ApiError::Validation { field: None, message: message.to_string() }.response()
}

/// The routes only the local gateway serves, beside the API's own (`routes::ROUTES`); the
/// OpenAPI document is checked against both.
pub const LOCAL_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("POST", "/_local/clock"),
    ("POST", "/_local/sweep"),
    ("POST", "/_local/drain"),
    ("GET", "/_local/emails"),
    ("GET", "/_local/events"),
    ("POST", "/_local/faults"),
];

async fn local(gateway: &Gateway, req: &LocalRequest) -> ApiGatewayV2httpResponse {
    if !LOCAL_ROUTES.contains(&(req.method.as_str(), req.path.as_str())) {
        return answers::not_found();
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/_local/clock") => set_clock(gateway, &req.body),
        ("POST", "/_local/sweep") => match fn_expire_sweep::sweep(&gateway.sweep).await {
            Ok(report) => json(
                200,
                json!({
                    "expired": report.expired,
                    "invoicesIssued": report.invoices_issued,
                    "reminders": report.reminders,
                    "skipped": report.skipped,
                }),
            ),
            Err(error) => {
                tracing::error!(%error, "sweep failed");
                ApiError::Internal.response()
            }
        },
        ("POST", "/_local/drain") => match background::drain(gateway).await {
            Ok((delivered, failed)) => json(200, json!({"delivered": delivered, "failed": failed})),
            Err(error) => {
                tracing::warn!(%error, "drain could not reach the queue");
                json(200, json!({"delivered": 0, "failed": 0}))
            }
        },
        ("GET", "/_local/emails") => list_emails(gateway, &req.query).await,
        ("GET", "/_local/events") => list_events(gateway, &req.query).await,
        ("POST", "/_local/faults") => set_faults(gateway, &req.body),
        _ => answers::not_found(),
    }
}

/// `{"sqs"|"ses"|"dynamodb": "down"|"throttled"|"up", "relay": "shuffle"|"normal", ...}`;
/// answers the state of each and the attempts each service has refused so far.
fn set_faults(gateway: &Gateway, body: &[u8]) -> ApiGatewayV2httpResponse {
    let usage = "body must map sqs, ses or dynamodb to \"down\", \"throttled\" or \"up\" (dynamodb also \"conflicts\", \"crash-after-commit\" or \"answer-lost\"), or relay to \"shuffle\" or \"normal\"";
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else { return local_error(usage) };
    let mut changes = Vec::new();
    let mut relay = None;
    for (name, state) in &map {
        if name == "relay" {
            match state.as_str() {
                Some("shuffle") => relay = Some(true),
                Some("normal") => relay = Some(false),
                _ => return local_error(usage),
            }
            continue;
        }
        let service = Service::ALL.into_iter().find(|s| s.name() == name);
        match (service, state.as_str().and_then(State::parse)) {
            (Some(service), Some(state)) if state.applies_to(service) => changes.push((service, state)),
            _ => return local_error(usage),
        }
    }
    for (service, state) in changes {
        tracing::warn!(service = service.name(), state = state.name(), "local fault injection");
        gateway.faults.set(service, state);
    }
    if let Some(shuffled) = relay {
        tracing::warn!(shuffled, "local fault injection: the stream relay");
        gateway.faults.shuffle_relay(shuffled);
    }
    let mut answer: Map<String, Value> =
        Service::ALL.iter().map(|s| (s.name().to_string(), json!(gateway.faults.state(*s).name()))).collect();
    answer.insert("relay".into(), json!(if gateway.faults.relay_shuffled() { "shuffle" } else { "normal" }));
    let refused: Map<String, Value> = Service::ALL.iter().map(|s| (s.name().to_string(), json!(gateway.faults.refused(*s)))).collect();
    answer.insert("refusedAttempts".into(), Value::Object(refused));
    json(200, Value::Object(answer))
}

fn set_clock(gateway: &Gateway, body: &[u8]) -> ApiGatewayV2httpResponse {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return local_error("body must be {\"now\": \"<RFC 3339>\" | null}");
    };
    match map.get("now") {
        Some(Value::Null) => gateway.clock.set(None),
        Some(Value::String(at)) => match DateTime::parse_from_rfc3339(at) {
            Ok(at) => gateway.clock.set(Some(at.with_timezone(&Utc))),
            Err(_) => return local_error("now must be an RFC 3339 timestamp"),
        },
        _ => return local_error("body must be {\"now\": \"<RFC 3339>\" | null}"),
    }
    use cppo_platform::clock::Clock;
    json(200, json!({"now": stamp(gateway.clock.now())}))
}

async fn list_emails(gateway: &Gateway, query: &str) -> ApiGatewayV2httpResponse {
    paged(gateway, query, "GET /_local/emails", emails::sent(gateway).await).await
}

async fn list_events(gateway: &Gateway, query: &str) -> ApiGatewayV2httpResponse {
    paged(gateway, query, "GET /_local/events", crate::bus::published(gateway).await).await
}

/// A local list, paged like the API's lists, or the reason it could not be read.
async fn paged(gateway: &Gateway, query: &str, route: &'static str, items: Result<Vec<Value>, String>) -> ApiGatewayV2httpResponse {
    let param = |name: &str| query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| percent_decode(v));
    let limit = match cppo_platform::api::parse_limit(param("limit").as_deref()) {
        Ok(limit) => limit,
        Err(refused) => return refused.response(),
    };
    let items = match items {
        Ok(items) => items,
        Err(error) => {
            tracing::error!(%error, route, "reading the list failed");
            return ApiError::Internal.response();
        }
    };
    match emails::page(items, limit, param("nextToken").as_deref(), route, gateway.config.token_key.as_bytes()) {
        Ok(body) => json(200, body),
        Err(message) => ApiError::validation("nextToken", message).response(),
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("x%3D%3D"), "x==");
    }
}
