//! HTTP plumbing shared by the API functions: identity, body and query parsing, and the one
//! mapping from errors to the contract's statuses and codes.

use crate::store::{Claim, StoreError};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use cppo_domain::{AccountId, DomainError};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bodies over 64 KiB are refused before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// No request of the contract nests deeper than about ten levels or needs a longer string (a
/// Catalog `Details` string included); anything beyond is refused before it is parsed.
pub const MAX_DEPTH: usize = 32;
pub const MAX_STRING_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Unauthorized,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation { field: Option<String>, message: String },
    ImmutableField { field: String },
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    IdempotencyKeyReused,
    TooManyRequests,
    Internal,
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation { field, message } => ApiError::Validation { field, message },
            DomainError::ImmutableField { field } => ApiError::ImmutableField { field },
            DomainError::Forbidden(m) => ApiError::Forbidden(m),
            DomainError::NotFound(m) => ApiError::NotFound(m),
            DomainError::Conflict(m) => ApiError::Conflict(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::Conflict("the resource was changed by another request; read it again".into()),
            StoreError::Throttled | StoreError::Contended => ApiError::TooManyRequests,
            StoreError::Aws(detail) | StoreError::Corrupt(detail) => {
                tracing::error!(error = %detail, "store call failed");
                ApiError::Internal
            }
        }
    }
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation { field: Some(field.to_string()), message: message.into() }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Validation { .. } | ApiError::ImmutableField { .. } => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) | ApiError::IdempotencyKeyReused => 409,
            ApiError::TooManyRequests => 429,
            ApiError::Internal => 500,
        }
    }

    pub fn body(&self) -> Value {
        let (code, message, field) = match self {
            ApiError::Unauthorized => ("Unauthorized", "the token carries no usable account ID claim".to_string(), None),
            ApiError::PayloadTooLarge => ("PayloadTooLarge", format!("the body exceeds {MAX_BODY_BYTES} bytes"), None),
            ApiError::UnsupportedMediaType => ("UnsupportedMediaType", "the body must be application/json".to_string(), None),
            ApiError::Validation { field, message } => ("ValidationError", message.clone(), field.clone()),
            ApiError::ImmutableField { field } => ("ImmutableField", format!("{field} cannot change after creation"), Some(field.clone())),
            ApiError::Forbidden(m) => ("Forbidden", m.clone(), None),
            ApiError::NotFound(m) => ("NotFound", m.clone(), None),
            ApiError::Conflict(m) => ("Conflict", m.clone(), None),
            ApiError::IdempotencyKeyReused => (
                "IdempotencyKeyReused",
                "this Idempotency-Key was used with another request".to_string(),
                Some("Idempotency-Key".to_string()),
            ),
            ApiError::TooManyRequests => ("TooManyRequests", "too many requests; retry later".to_string(), None),
            ApiError::Internal => ("InternalError", "an internal error occurred".to_string(), None),
        };
        let mut error = json!({"code": code, "message": message});
        if let Some(field) = field {
            error["field"] = Value::String(field);
        }
        json!({ "error": error })
    }

    pub fn response(&self) -> ApiGatewayV2httpResponse {
        let mut response = json_response(self.status(), &self.body());
        if matches!(self, ApiError::TooManyRequests) {
            response.headers.insert("retry-after", HeaderValue::from_static("1"));
        }
        response
    }
}

pub fn json_response(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

/// A request whose caller is known.
pub struct ApiRequest<'a> {
    pub event: &'a ApiGatewayV2httpRequest,
    pub caller: AccountId,
    /// The `Idempotency-Key` claim this request runs under, when it has one.
    pub idempotency: Option<Arc<Keyed>>,
}

/// A keyed request's claim, shared with its handler so that the handler's commit can carry the
/// answer, and with `idempotent::serve`, which then need not store it again.
#[derive(Debug)]
pub struct Keyed {
    pub claim: Claim,
    committed: AtomicBool,
}

impl Keyed {
    pub fn new(claim: Claim) -> Keyed {
        Keyed { claim, committed: AtomicBool::new(false) }
    }

    /// The answer went out in the change's own transaction.
    pub fn mark_committed(&self) {
        self.committed.store(true, Ordering::SeqCst);
    }

    pub fn committed(&self) -> bool {
        self.committed.load(Ordering::SeqCst)
    }
}

impl<'a> ApiRequest<'a> {
    /// The caller's account ID from the JWT authorizer's claims, and nowhere else.
    pub fn authenticate(event: &'a ApiGatewayV2httpRequest, claim: &str) -> Result<Self, ApiError> {
        let caller = event
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get(claim))
            .and_then(|raw| AccountId::parse(raw))
            .ok_or(ApiError::Unauthorized)?;
        Ok(ApiRequest { event, caller, idempotency: None })
    }

    /// This request, run under an idempotency claim.
    pub fn keyed(self, keyed: Arc<Keyed>) -> Self {
        ApiRequest { idempotency: Some(keyed), ..self }
    }

    /// Every query parameter but `limit` and `nextToken`, sorted: what a list token is bound to.
    pub fn list_query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> =
            self.event.query_string_parameters.iter().filter(|(k, _)| *k != "limit" && *k != "nextToken").collect();
        pairs.sort();
        // As JSON, so no value can pass for a key and value of its own (`a=1&b=2`).
        serde_json::to_string(&pairs).unwrap_or_default()
    }

    pub fn route_key(&self) -> &str {
        self.event.route_key.as_deref().unwrap_or_default()
    }

    pub fn path_param(&self, name: &str) -> &str {
        self.event.path_parameters.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.event.query_string_parameters.first(name)
    }

    fn raw_body(&self) -> Result<Option<Vec<u8>>, ApiError> {
        let Some(body) = self.event.body.as_deref().filter(|b| !b.is_empty()) else { return Ok(None) };
        let bytes = if self.event.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|_| ApiError::validation("body", "the body is not valid base64"))?
        } else {
            body.as_bytes().to_vec()
        };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let content_type = self.event.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
        Ok(Some(bytes))
    }

    /// The body as `T`: 413, 415 or 400 (naming the field at fault) when it cannot be read.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let bytes = self.raw_body()?.ok_or_else(|| ApiError::Validation { field: None, message: "a JSON body is required".into() })?;
        check_shape(&bytes)?;
        parse_json(&bytes)
    }

    /// A body that may be absent (an action's optional fields): its default then.
    pub fn optional_body<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        match self.raw_body()? {
            None => Ok(T::default()),
            Some(bytes) => {
                check_shape(&bytes)?;
                parse_json(&bytes)
            }
        }
    }

    /// A body that may be absent (the action routes), but must be an empty object when present.
    pub fn empty_body(&self) -> Result<(), ApiError> {
        match self.raw_body()? {
            None => Ok(()),
            Some(bytes) => {
                check_shape(&bytes)?;
                let map: Map<String, Value> = parse_json(&bytes)?;
                match map.keys().next() {
                    None => Ok(()),
                    Some(k) => Err(ApiError::validation(k, format!("{k} is not a field of this request"))),
                }
            }
        }
    }
}

/// One pass over the raw JSON: refuses nesting deeper than `MAX_DEPTH` and strings longer than
/// `MAX_STRING_BYTES`, so no input can make the parser or a handler work unboundedly.
pub fn check_shape(bytes: &[u8]) -> Result<(), ApiError> {
    let (mut depth, mut in_string, mut escaped, mut string_len) = (0usize, false, false, 0usize);
    for &b in bytes {
        if in_string {
            string_len += 1;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            if string_len > MAX_STRING_BYTES {
                return Err(ApiError::Validation {
                    field: None,
                    message: format!("a string in the body is longer than {MAX_STRING_BYTES} bytes"),
                });
            }
            continue;
        }
        match b {
            b'"' => (in_string, string_len) = (true, 0),
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ApiError::Validation { field: None, message: format!("the body nests deeper than {MAX_DEPTH} levels") });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(invalid_body)
}

/// A JSON value built by a handler (a clone, an import) read as `T`, bad fields named as in a body.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(invalid_body)
}

fn invalid_body<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ApiError {
    let path = e.path().to_string();
    let message = e.inner().to_string();
    let field = (path != "." && path != "?").then_some(path);
    let message = match &field {
        Some(f) => format!("{f}: {message}"),
        None => format!("invalid JSON body: {message}"),
    };
    ApiError::Validation { field, message }
}

/// Runs a handler for an authenticated route and turns its outcome into the HTTP answer.
pub async fn serve<'a, F, Fut>(event: &'a ApiGatewayV2httpRequest, claim: &str, handler: F) -> ApiGatewayV2httpResponse
where
    F: FnOnce(ApiRequest<'a>) -> Fut,
    Fut: std::future::Future<Output = Result<(u16, Value), ApiError>>,
{
    let outcome = match ApiRequest::authenticate(event, claim) {
        Ok(request) => handler(request).await,
        Err(e) => Err(e),
    };
    answer(event, outcome)
}

/// A handler's outcome as the HTTP answer; refusals are logged with their status.
pub fn answer(event: &ApiGatewayV2httpRequest, outcome: Result<(u16, Value), ApiError>) -> ApiGatewayV2httpResponse {
    match outcome {
        Ok((status, body)) => json_response(status, &body),
        Err(e) => {
            tracing::info!(status = e.status(), route = event.route_key.as_deref().unwrap_or_default(), "request refused");
            e.response()
        }
    }
}

/// The answer for a route key this function does not serve (a template/code mismatch).
pub fn unknown_route(request: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    tracing::error!(route = request.route_key(), "route not served by this function");
    Err(ApiError::NotFound("no such route".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            percentage: String,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            discount: Inner,
        }
        let err = parse_json::<Outer>(br#"{"discount": {"percentage": 20}}"#).unwrap_err();
        match err {
            ApiError::Validation { field, .. } => assert_eq!(field.as_deref(), Some("discount.percentage")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_json::<Outer>(b"{not json"), Err(ApiError::Validation { field: None, .. })));
    }

    #[test]
    fn deep_nesting_and_long_strings_are_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(check_shape(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(check_shape(ok.as_bytes()).is_ok());
        // Brackets and escaped quotes inside strings do not count.
        assert!(check_shape(format!(r#"{{"a": "{}\"]"}}"#, "[".repeat(100)).as_bytes()).is_ok());
        let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_STRING_BYTES + 1));
        assert!(check_shape(long.as_bytes()).is_err());
    }

    #[test]
    fn errors_have_the_contract_shape() {
        let body = ApiError::validation("name", "bad name").body();
        assert_eq!(body, json!({"error": {"code": "ValidationError", "message": "bad name", "field": "name"}}));
        let throttled = ApiError::TooManyRequests.response();
        assert_eq!(throttled.status_code, 429);
        assert!(throttled.headers.contains_key("retry-after"));
    }
}
