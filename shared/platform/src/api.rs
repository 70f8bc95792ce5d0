//! Helpers the API functions share: paging, id checks, and the read-decide-write retry.

use crate::http::{ApiError, ApiRequest};
use crate::store::{decode_token, Page, Position, StoreError, Stream};
use cppo_domain::ids::IdKind;
use cppo_domain::DomainError;
use serde_json::{json, Value};
use std::future::Future;

/// A list's `?limit=`: 1..100, 50 when absent.
pub fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(50),
        Some(raw) => raw.parse::<usize>().ok().filter(|l| (1..=100).contains(l)).ok_or_else(|| ApiError::validation("limit", "limit must be an integer from 1 to 100")),
    }
}

/// Reads `?limit=` and `?nextToken=` for these streams.
pub fn page_request(req: &ApiRequest<'_>, streams: &[Stream]) -> Result<(Vec<Position>, usize), ApiError> {
    let limit = parse_limit(req.query("limit"))?;
    let positions = match req.query("nextToken") {
        None => vec![Position::Start; streams.len()],
        Some(token) => decode_token(token, streams).ok_or_else(|| ApiError::validation("nextToken", "nextToken is not one this list issued"))?,
    };
    Ok((positions, limit))
}

pub fn page_body<T>(page: Page<T>, view: impl Fn(&T) -> Value) -> Value {
    let mut body = json!({ "items": page.items.iter().map(view).collect::<Vec<_>>() });
    if let Some(token) = page.next_token {
        body["nextToken"] = Value::String(token);
    }
    body
}

/// A path id this service could have minted; anything else cannot exist, so 404 without a read.
pub fn path_id<'a>(req: &'a ApiRequest<'_>, name: &str, kind: IdKind, what: &str) -> Result<&'a str, ApiError> {
    let id = req.path_param(name);
    if kind.is_valid(id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound(format!("no {what} {id}")))
    }
}

/// Why one attempt of a state change stopped.
pub enum Step {
    Refused(ApiError),
    Store(StoreError),
}

impl From<ApiError> for Step {
    fn from(e: ApiError) -> Self {
        Step::Refused(e)
    }
}

impl From<DomainError> for Step {
    fn from(e: DomainError) -> Self {
        Step::Refused(e.into())
    }
}

impl From<StoreError> for Step {
    fn from(e: StoreError) -> Self {
        Step::Store(e)
    }
}

const ATTEMPTS: usize = 4;

/// Runs read-decide-write until it commits. A write that lost a race is decided afresh on what
/// won, so the loser gets the domain's own answer (e.g. "already accepted"), not a generic one.
pub async fn until_committed<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Step>>,
{
    let mut last = StoreError::Conflict;
    for _ in 0..ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Step::Refused(e)) => return Err(e),
            Err(Step::Store(StoreError::Conflict)) => last = StoreError::Conflict,
            Err(Step::Store(e)) => return Err(e.into()),
        }
    }
    Err(last.into())
}
