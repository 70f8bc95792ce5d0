//! `POST /_local/faults`: takes SQS, SES or DynamoDB down, throttles them, and brings them back.
//! An interceptor on the SDK clients the gateway hands the functions (and its own queue poller)
//! does it, so no handler has a branch for it:
//! - `down`: every attempt fails before anything is sent, as an outage would;
//! - `throttled`: every attempt is swapped for a harmless read and answered with the service's
//!   own throttling error, so the SDK's standard retry backs off and retries, then gives up,
//!   and nothing the request asked for happens.
//! - `conflicts` (DynamoDB): what AWS does to writes racing on one item, which the emulator's
//!   waiting lock never does. The first transaction or update of every API request is cancelled
//!   (`TransactionCanceledException` with `TransactionConflict`, or `TransactionConflictException`)
//!   and nothing is written; its retry goes through, so every retry path runs and every request
//!   still finishes.
//! - `crash-after-commit` (DynamoDB, once): the next transaction commits, and its answer is lost
//!   as if the function had died right after it; then the state is `up` again.
//! - `answer-lost` (DynamoDB, once): the next write (a put, update, delete, batch or transaction)
//!   goes through, and its answer is swapped for a 500 on the way back, as a lost connection or a
//!   timed-out attempt would leave it; the SDK sends it again. A transaction is resent with the
//!   same ClientRequestToken, which DynamoDB (and the emulator, `scripts/moto_server.py`)
//!   answers as committed; a single-item write is not idempotent, and its caller must tell.
//!
//! `{"relay": "shuffle"}` is not a service's state: it makes the stream relay (`relay.rs`) hand
//! records on out of order and some twice, until `{"relay": "normal"}`.

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// DynamoDB's writes, by the ending of their `x-amz-target`.
const WRITES: [&str; 5] = [".PutItem", ".UpdateItem", ".DeleteItem", ".BatchWriteItem", ".TransactWriteItems"];

/// The content type of DynamoDB's and SQS's JSON answers.
const JSON: &str = "application/x-amz-json-1.0";

tokio::task_local! {
    /// The id of the API request a function is serving, set by the gateway around each call.
    pub static REQUEST: String;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sqs,
    Ses,
    DynamoDb,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Sqs, Service::Ses, Service::DynamoDb];

    pub fn name(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::Ses => "ses",
            Service::DynamoDb => "dynamodb",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up = 0,
    Down = 1,
    Throttled = 2,
    Conflicts = 3,
    CrashAfterCommit = 4,
    AnswerLost = 5,
}

impl State {
    const ALL: [State; 6] = [State::Up, State::Down, State::Throttled, State::Conflicts, State::CrashAfterCommit, State::AnswerLost];

    pub fn parse(raw: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.name() == raw)
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
            State::Throttled => "throttled",
            State::Conflicts => "conflicts",
            State::CrashAfterCommit => "crash-after-commit",
            State::AnswerLost => "answer-lost",
        }
    }

    /// Whether `service` can be put in this state: the last three are DynamoDB's alone.
    pub fn applies_to(self, service: Service) -> bool {
        service == Service::DynamoDb || !matches!(self, State::Conflicts | State::CrashAfterCommit | State::AnswerLost)
    }
}

/// The state of each service right now, and how many attempts each has refused so far (so a test
/// can see the SDK retry).
#[derive(Debug, Default)]
pub struct Faults {
    states: [AtomicU8; 3],
    refused: [AtomicU64; 3],
    /// The API requests whose first write `conflicts` has cancelled.
    conflicted: Mutex<HashSet<String>>,
    relay_shuffled: AtomicBool,
}

impl Faults {
    fn slot(&self, service: Service) -> &AtomicU8 {
        &self.states[service as usize]
    }

    pub fn set(&self, service: Service, state: State) {
        self.slot(service).store(state as u8, Ordering::SeqCst);
    }

    pub fn shuffle_relay(&self, shuffled: bool) {
        self.relay_shuffled.store(shuffled, Ordering::SeqCst);
    }

    pub fn relay_shuffled(&self) -> bool {
        self.relay_shuffled.load(Ordering::SeqCst)
    }

    pub fn refused(&self, service: Service) -> u64 {
        self.refused[service as usize].load(Ordering::SeqCst)
    }

    fn refuse(&self, service: Service) {
        self.refused[service as usize].fetch_add(1, Ordering::SeqCst);
    }

    pub fn state(&self, service: Service) -> State {
        let raw = self.slot(service).load(Ordering::SeqCst);
        State::ALL.into_iter().find(|s| *s as u8 == raw).unwrap_or(State::Up)
    }

    /// True for the first write of the API request being served, while in `conflicts`.
    fn first_write_of_request(&self) -> bool {
        let Ok(request) = REQUEST.try_with(String::clone) else { return false };
        self.conflicted.lock().map(|mut seen| seen.insert(request)).unwrap_or(false)
    }

    /// Takes a one-shot DynamoDB fault, if it is set: true for the one attempt that gets it.
    fn take_once(&self, fault: State) -> bool {
        self.slot(Service::DynamoDb).compare_exchange(fault as u8, State::Up as u8, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }
}

/// The answer this interceptor gives an attempt it took over, so its answer is swapped too even if
/// the state changes in between: a status, a content type and a body.
#[derive(Debug, Clone)]
struct SwappedAttempt(u16, &'static str, String);

impl Storable for SwappedAttempt {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
pub struct Outage {
    pub faults: Arc<Faults>,
    pub service: Service,
}

impl Intercept for Outage {
    fn name(&self) -> &'static str {
        "LocalOutage"
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<SwappedAttempt>();
        match self.faults.state(self.service) {
            State::Down => {
                self.faults.refuse(self.service);
                Err(format!("{} is down (local fault injection)", self.service.name()).into())
            }
            _ => Ok(()),
        }
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let state = self.faults.state(self.service);
        let request = context.request_mut();
        let target = request.headers().get("x-amz-target").unwrap_or_default().to_string();
        let is_write = target.ends_with(".TransactWriteItems") || target.ends_with(".UpdateItem");
        let answer = match state {
            State::Throttled => throttling(self.service),
            State::Conflicts if is_write && self.faults.first_write_of_request() => conflict(&target, request.body().bytes()),
            State::CrashAfterCommit if target.ends_with(".TransactWriteItems") && self.faults.take_once(state) => {
                // The request goes through and commits; only its answer is lost.
                cfg.interceptor_state().store_put(SwappedAttempt(400, JSON, crash()));
                return Ok(());
            }
            State::AnswerLost if WRITES.iter().any(|w| target.ends_with(w)) && self.faults.take_once(state) => {
                cfg.interceptor_state().store_put(SwappedAttempt(500, JSON, internal_error()));
                self.faults.refuse(self.service);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let harmless = match self.service {
            Service::DynamoDb => json_read(request, "DynamoDB_20120810.DescribeLimits"),
            Service::Sqs => json_read(request, "AmazonSQS.ListQueues"),
            Service::Ses => "Action=GetSendQuota&Version=2010-12-01",
        };
        request.headers_mut().insert("content-length", harmless.len().to_string());
        *request.body_mut() = SdkBody::from(harmless);
        cfg.interceptor_state().store_put(answer);
        self.faults.refuse(self.service);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(SwappedAttempt(status, content_type, body)) = cfg.load::<SwappedAttempt>().cloned() else { return Ok(()) };
        let mut response = HttpResponse::new(StatusCode::try_from(status)?, SdkBody::from(body));
        response.headers_mut().insert("content-type", content_type);
        *context.response_mut() = response;
        Ok(())
    }
}

/// The service's own throttling error.
fn throttling(service: Service) -> SwappedAttempt {
    match service {
        Service::DynamoDb => SwappedAttempt(
            400,
            JSON,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.into(),
        ),
        Service::Sqs => SwappedAttempt(400, JSON, r#"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#.into()),
        Service::Ses => SwappedAttempt(
            400,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>local</RequestId></ErrorResponse>".into(),
        ),
    }
}

/// DynamoDB's answer to a write that raced a transaction on one of its items: a transaction is
/// cancelled with `TransactionConflict` for its first item (`None` for the others, as AWS lists
/// one reason per item), a single-item write gets `TransactionConflictException`.
fn conflict(target: &str, body: Option<&[u8]>) -> SwappedAttempt {
    if !target.ends_with(".TransactWriteItems") {
        return SwappedAttempt(
            400,
            JSON,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}"#
                .into(),
        );
    }
    let items = body
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
        .unwrap_or(1);
    let codes: Vec<&str> = std::iter::once("TransactionConflict").chain((1..items).map(|_| "None")).collect();
    let reasons: Vec<serde_json::Value> = codes
        .iter()
        .map(|code| match *code {
            "None" => serde_json::json!({"Code": code}),
            _ => serde_json::json!({"Code": code, "Message": "Transaction is ongoing for the item"}),
        })
        .collect();
    let body = serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    });
    SwappedAttempt(400, JSON, body.to_string())
}

/// DynamoDB's 500: the outcome unknown to the caller, and retried by the SDK.
fn internal_error() -> String {
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (local fault injection)"}"#.into()
}

/// What a caller sees when the function died after its commit: no answer it can use.
fn crash() -> String {
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#LocalCrashAfterCommit","message":"the function died after the commit (local fault injection)"}"#.into()
}

/// Points a JSON-protocol request at a read-only operation with an empty body.
fn json_read(request: &mut aws_sdk_sqs::config::http::HttpRequest, target: &'static str) -> &'static str {
    request.headers_mut().insert("x-amz-target", target);
    "{}"
}
