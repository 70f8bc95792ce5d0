//! Helpers the API functions share: paging, id checks, and the read-decide-write retry.

use crate::config::Config;
use crate::http::{ApiError, ApiRequest};
use crate::store::{Outcome, Page, Position, StoreError, Stream, Write};
use crate::token::{self, Binding};
use crate::App;
use cppo_domain::ids::IdKind;
use cppo_domain::DomainError;
use serde_json::{json, Value};
use std::future::Future;

/// A list's `?limit=`: 1..100, 50 when absent.
pub fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(50),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| ApiError::validation("limit", "limit must be an integer from 1 to 100")),
    }
}

/// A list request: where to start each side, how many items, and what its next token is bound to.
pub struct ListRequest<'a> {
    pub positions: Vec<Position>,
    /// For a list that expands each item it reads: the item a page stopped inside, and how many
    /// of its own were given.
    pub within: Option<token::Within>,
    pub limit: usize,
    streams: &'a [Stream],
    query: String,
    route: &'a str,
    caller: &'a str,
    key: &'a [u8],
}

impl ListRequest<'_> {
    fn binding(&self) -> Binding<'_> {
        Binding { caller: self.caller, route: self.route, query: &self.query }
    }
}

/// Reads `?limit=` and `?nextToken=` for these streams. A token this list did not issue for
/// this caller and query, or one edited since, is a 400 on `nextToken`.
pub fn page_request<'a>(req: &'a ApiRequest<'_>, config: &'a Config, streams: &'a [Stream]) -> Result<ListRequest<'a>, ApiError> {
    let limit = parse_limit(req.query("limit"))?;
    let key = config.token_key.as_deref().ok_or_else(|| {
        tracing::error!("{} is not set: lists cannot be paged", crate::config::TOKEN_KEY);
        ApiError::Internal
    })?;
    let mut list = ListRequest {
        positions: vec![Position::Start; streams.len()],
        within: None,
        limit,
        streams,
        query: req.list_query(),
        route: req.route_key(),
        caller: req.caller.as_str(),
        key: key.as_bytes(),
    };
    if let Some(token) = req.query("nextToken") {
        (list.positions, list.within) = token::open(list.key, &list.binding(), streams, token)
            .ok_or_else(|| ApiError::validation("nextToken", "nextToken is not one this list issued for this query"))?;
    }
    Ok(list)
}

/// A page of a list that expands what it reads, and where its next page starts: the positions
/// after the item it stopped inside, that item and how many of its own it gave.
pub fn expanded_body(items: Vec<Value>, next: Option<(Vec<Position>, Option<token::Within>)>, list: &ListRequest<'_>) -> Value {
    let mut body = json!({ "items": items });
    let seal = |(positions, within): (Vec<Position>, Option<token::Within>)| {
        token::seal(list.key, &list.binding(), list.streams, &positions, within.as_ref())
    };
    if let Some(token) = next.and_then(seal) {
        body["nextToken"] = Value::String(token);
    }
    body
}

pub fn page_body<T>(page: Page<T>, list: &ListRequest<'_>, view: impl Fn(&T) -> Value) -> Value {
    expanded_body(page.items.iter().map(view).collect(), page.next.map(|positions| (positions, None)), list)
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

/// Attempts of a state change before its loser is told to retry: enough for many requests racing
/// on one item with the jittered backoff between them.
const ATTEMPTS: u32 = 10;
/// How long those attempts may take in all.
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs read-decide-write until it commits. A write that lost a race is decided afresh on what
/// won, so the loser gets the domain's own answer (e.g. "already accepted"), not a generic one.
pub async fn until_committed<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Step>>,
{
    let started = std::time::Instant::now();
    for n in 0..ATTEMPTS {
        // Leave the function time to answer within its own timeout (10 s for the API).
        if started.elapsed() > RETRY_BUDGET {
            break;
        }
        if n > 0 {
            tokio::time::sleep(crate::store::backoff(n)).await;
        }
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Step::Refused(e)) => return Err(e),
            Err(Step::Store(StoreError::Conflict | StoreError::Contended)) => tracing::debug!(attempt = n, "lost a race; deciding again"),
            Err(Step::Store(e)) => return Err(e.into()),
        }
    }
    // Still losing after every attempt: contention, not a state that forbids the action, so
    // not a 409; the caller may retry shortly.
    tracing::warn!("a state change lost every race it ran; answering retry later");
    Err(ApiError::TooManyRequests)
}

/// Commits a change and, for a keyed request, its answer in the same transaction, conditional on
/// the request's claim: a crash after the commit leaves the answer for the retry, and an attempt
/// whose claim was taken over commits nothing. A long answer's parts are written just before, so
/// the transaction stays far from its 4 MB limit.
pub async fn commit(app: &App, req: &ApiRequest<'_>, mut writes: Vec<Write>, status: u16, body: &Value) -> Result<(), StoreError> {
    let Some(keyed) = &req.idempotency else { return app.store.write_all(writes).await };
    writes.push(answer_record(app, keyed, status, body).await?);
    app.store.transact(writes).await?;
    keyed.mark_committed();
    Ok(())
}

/// A keyed request's answer, its long parts written first: the record its change's transaction
/// writes last, conditional on the request's claim.
async fn answer_record(app: &App, keyed: &crate::http::Keyed, status: u16, body: &Value) -> Result<Write, StoreError> {
    let (parts, record) = keyed.claim.answer(status, &body.to_string());
    app.store.put_answer_parts(parts).await?;
    Ok(record)
}

/// `commit` for a transaction whose conditions decide item by item (metering's records): when a
/// condition fails nothing is written, and the positions that failed are told, so the caller can
/// decide those afresh and commit the rest. The answer's record, last, is never one of them.
pub async fn commit_or_refused(
    app: &App,
    req: &ApiRequest<'_>,
    mut writes: Vec<Write>,
    status: u16,
    body: &Value,
) -> Result<Outcome, StoreError> {
    let mut claimed = None;
    if let Some(keyed) = &req.idempotency {
        claimed = Some(writes.len());
        writes.push(answer_record(app, keyed, status, body).await?);
    }
    match app.store.transact_or_refused(writes).await? {
        Outcome::Written => {
            if let Some(keyed) = &req.idempotency {
                keyed.mark_committed();
            }
            Ok(Outcome::Written)
        }
        // The claim was taken over by another attempt: what that one commits stands.
        Outcome::Refused(at) if claimed.is_some_and(|c| at.contains(&c)) => Err(StoreError::Conflict),
        refused => Ok(refused),
    }
}
