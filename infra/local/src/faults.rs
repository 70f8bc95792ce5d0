//! `POST /_local/faults`: takes SQS or SES down and up. An interceptor on the SDK clients the
//! gateway hands the functions (and its own queue poller) fails every call to a service that is
//! down, before anything is sent, as an outage would; no handler has a branch for it.

use aws_sdk_sqs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sqs,
    Ses,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::Ses => "ses",
        }
    }
}

/// Which services are down right now.
#[derive(Debug, Default)]
pub struct Faults {
    sqs: AtomicBool,
    ses: AtomicBool,
}

impl Faults {
    fn flag(&self, service: Service) -> &AtomicBool {
        match service {
            Service::Sqs => &self.sqs,
            Service::Ses => &self.ses,
        }
    }

    pub fn set(&self, service: Service, down: bool) {
        self.flag(service).store(down, Ordering::SeqCst);
    }

    pub fn is_down(&self, service: Service) -> bool {
        self.flag(service).load(Ordering::SeqCst)
    }
}

/// Fails each attempt of a call to `service` while it is down.
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
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.faults.is_down(self.service) {
            return Err(format!("{} is down (local fault injection)", self.service.name()).into());
        }
        Ok(())
    }
}
