//! `POST /_local/faults`: takes SQS, SES or DynamoDB down, throttles them, and brings them back.
//! An interceptor on the SDK clients the gateway hands the functions (and its own queue poller)
//! does it, so no handler has a branch for it:
//! - `down`: every attempt fails before anything is sent, as an outage would;
//! - `throttled`: every attempt is swapped for a harmless read and answered with the service's
//!   own throttling error, so the SDK's standard retry backs off and retries, then gives up,
//!   and nothing the request asked for happens.

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::config::interceptors::{BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef};
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
}

impl State {
    pub fn parse(raw: &str) -> Option<State> {
        match raw {
            "up" => Some(State::Up),
            "down" => Some(State::Down),
            "throttled" => Some(State::Throttled),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
            State::Throttled => "throttled",
        }
    }
}

/// The state of each service right now, and how many attempts each has refused so far (so a test
/// can see the SDK retry).
#[derive(Debug, Default)]
pub struct Faults {
    states: [AtomicU8; 3],
    refused: [AtomicU64; 3],
}

impl Faults {
    fn slot(&self, service: Service) -> &AtomicU8 {
        &self.states[service as usize]
    }

    pub fn set(&self, service: Service, state: State) {
        self.slot(service).store(state as u8, Ordering::SeqCst);
    }

    pub fn refused(&self, service: Service) -> u64 {
        self.refused[service as usize].load(Ordering::SeqCst)
    }

    fn refuse(&self, service: Service) {
        self.refused[service as usize].fetch_add(1, Ordering::SeqCst);
    }

    pub fn state(&self, service: Service) -> State {
        match self.slot(service).load(Ordering::SeqCst) {
            1 => State::Down,
            2 => State::Throttled,
            _ => State::Up,
        }
    }
}

/// Marks an attempt this interceptor swapped, so its answer is swapped too even if the state
/// changes in between.
#[derive(Debug, Clone)]
struct SwappedAttempt;

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

    fn read_before_attempt(&self, _: &BeforeTransmitInterceptorContextRef<'_>, _: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<SwappedAttempt>();
        match self.faults.state(self.service) {
            State::Down => {
                self.faults.refuse(self.service);
                Err(format!("{} is down (local fault injection)", self.service.name()).into())
            }
            _ => Ok(()),
        }
    }

    fn modify_before_signing(&self, context: &mut BeforeTransmitInterceptorContextMut<'_>, _: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        if self.faults.state(self.service) != State::Throttled {
            return Ok(());
        }
        let request = context.request_mut();
        let harmless = match self.service {
            Service::DynamoDb => json_read(request, "DynamoDB_20120810.DescribeLimits"),
            Service::Sqs => json_read(request, "AmazonSQS.ListQueues"),
            Service::Ses => "Action=GetSendQuota&Version=2010-12-01",
        };
        request.headers_mut().insert("content-length", harmless.len().to_string());
        *request.body_mut() = SdkBody::from(harmless);
        cfg.interceptor_state().store_put(SwappedAttempt);
        self.faults.refuse(self.service);
        Ok(())
    }

    fn modify_before_deserialization(&self, context: &mut BeforeDeserializationInterceptorContextMut<'_>, _: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        if cfg.load::<SwappedAttempt>().is_none() {
            return Ok(());
        }
        let (content_type, body) = match self.service {
            Service::DynamoDb => ("application/x-amz-json-1.0", r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_string()),
            Service::Sqs => ("application/x-amz-json-1.0", r#"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#.to_string()),
            Service::Ses => ("text/xml", "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>local</RequestId></ErrorResponse>".to_string()),
        };
        let mut response = HttpResponse::new(StatusCode::try_from(400u16)?, SdkBody::from(body));
        response.headers_mut().insert("content-type", content_type);
        *context.response_mut() = response;
        Ok(())
    }
}

/// Points a JSON-protocol request at a read-only operation with an empty body.
fn json_read(request: &mut aws_sdk_sqs::config::http::HttpRequest, target: &'static str) -> &'static str {
    request.headers_mut().insert("x-amz-target", target);
    "{}"
}
