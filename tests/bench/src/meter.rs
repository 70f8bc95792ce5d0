//! An SDK interceptor that counts the calls a request makes and the time spent in them.
//!
//! Time in AWS calls is the union of the intervals during which at least one call was in flight,
//! so calls made side by side are not counted twice; a request's own time is its wall time less
//! that. Items read are what DynamoDB says it read (`ScannedCount`, or the items a get returned).

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_sqs::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sqs,
    Ses,
}

/// What one stretch of work (a request, a sweep) cost in calls.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Usage {
    /// HTTP attempts to DynamoDB and SQS (retries included: each is a round trip).
    pub round_trips: u64,
    pub ses_calls: u64,
    pub items_read: u64,
    /// Each round trip's operation, in order (`GetItem`, `TransactWriteItems`, `SendMessage`).
    pub calls: Vec<String>,
    pub in_aws: Duration,
}

#[derive(Debug, Default)]
struct State {
    usage: Usage,
    in_flight: u32,
    since: Option<Instant>,
}

/// Shared by the interceptors on every client of one `App`.
#[derive(Debug, Default, Clone)]
pub struct Meter {
    state: Arc<Mutex<State>>,
}

impl Meter {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-count; the counts still stand.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }

    /// Returns what was used since the last call and starts counting afresh.
    pub fn take(&self) -> Usage {
        self.with(|s| std::mem::take(&mut s.usage))
    }

    pub fn interceptor(&self, service: Service) -> Metered {
        Metered { meter: self.clone(), service }
    }
}

impl State {
    fn call_started(&mut self, at: Instant) {
        if self.in_flight == 0 {
            self.since = Some(at);
        }
        self.in_flight += 1;
    }

    fn call_ended(&mut self, at: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            if let Some(since) = self.since.take() {
                self.usage.in_aws += at.saturating_duration_since(since);
            }
        }
    }
}

#[derive(Debug)]
pub struct Metered {
    meter: Meter,
    service: Service,
}

impl Intercept for Metered {
    fn name(&self) -> &'static str {
        "BenchMeter"
    }

    fn read_before_execution(&self, _: &BeforeSerializationInterceptorContextRef<'_>, _: &mut ConfigBag) -> Result<(), BoxError> {
        self.meter.with(|s| s.call_started(Instant::now()));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let service = self.service;
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_default();
        self.meter.with(|s| match service {
            Service::Ses => s.usage.ses_calls += 1,
            Service::DynamoDb | Service::Sqs => {
                s.usage.round_trips += 1;
                s.usage.calls.push(operation);
            }
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.service == Service::DynamoDb {
            if let Ok(output) = context.output_or_error() {
                let read = items_read(output);
                self.meter.with(|s| s.usage.items_read += read);
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.meter.with(|s| s.call_ended(Instant::now()));
        Ok(())
    }
}

/// The items DynamoDB read to answer a call: what a query or scan evaluated, what a get returned.
fn items_read(output: &aws_smithy_runtime_api::client::interceptors::context::Output) -> u64 {
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    if let Some(query) = output.downcast_ref::<QueryOutput>() {
        return count(query.scanned_count);
    }
    if let Some(scan) = output.downcast_ref::<ScanOutput>() {
        return count(scan.scanned_count);
    }
    if let Some(get) = output.downcast_ref::<GetItemOutput>() {
        return u64::from(get.item.is_some());
    }
    if let Some(batch) = output.downcast_ref::<BatchGetItemOutput>() {
        return batch.responses.iter().flat_map(|tables| tables.values()).map(|items| items.len() as u64).sum();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn overlapping_calls_count_their_union_once() {
        let (t, mut state) = (Instant::now(), State::default());
        state.call_started(t);
        state.call_started(t + ms(20));
        state.call_ended(t + ms(40));
        state.call_ended(t + ms(60));
        assert_eq!(state.usage.in_aws, ms(60));
    }

    #[test]
    fn time_between_calls_is_not_in_aws() {
        let (t, mut state) = (Instant::now(), State::default());
        state.call_started(t);
        state.call_ended(t + ms(10));
        state.call_started(t + ms(30));
        state.call_ended(t + ms(45));
        assert_eq!(state.usage.in_aws, ms(25));
    }
}
