//! Configuration: one typed struct read from the environment once, at init.

use cppo_domain::fees::FeeSchedule;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("environment variable {name} {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: &'static str,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The one DynamoDB table.
    pub table_name: String,
    /// The events queue notify consumes, and its dead-letter queue: notify's alone.
    pub queue_url: Option<String>,
    pub dead_letter_queue_url: Option<String>,
    /// When notify tries a failed event again.
    pub retry: RetrySchedule,
    /// The JWT claim that carries the caller's AWS account ID.
    pub account_claim: String,
    /// The verified SES identity email is sent from; only notify needs it.
    pub sender_email: Option<String>,
    /// AWS Marketplace's fee schedule; the contract's defaults unless overridden.
    pub fees: FeeSchedule,
    /// The key list tokens are signed with; only the functions that page lists have it.
    pub token_key: Option<String>,
}

pub const TABLE_NAME: &str = "CPPO_TABLE_NAME";
pub const QUEUE_URL: &str = "CPPO_QUEUE_URL";
pub const DEAD_LETTER_QUEUE_URL: &str = "CPPO_DEAD_LETTER_QUEUE_URL";
pub const ACCOUNT_CLAIM: &str = "CPPO_ACCOUNT_CLAIM";
pub const SENDER_EMAIL: &str = "CPPO_SENDER_EMAIL";
pub const REGION: &str = "AWS_REGION";
/// The HMAC key of list tokens (a `NoEcho` template parameter), at least 32 characters.
pub const TOKEN_KEY: &str = "CPPO_TOKEN_KEY";
/// A JSON object overriding parts of the fee schedule, e.g. `{"base": "0.03"}`.
pub const FEE_SCHEDULE: &str = "CPPO_FEE_SCHEDULE";
/// The private bucket of legal documents: only the functions that reach it have it, and read it
/// at init (`app::run_lambda_with_bucket`).
pub const DOCUMENT_BUCKET: &str = "CPPO_DOCUMENT_BUCKET";
/// Every variable `Config::from_env` reads (AWS_REGION is Lambda's own); the SAM template is
/// checked against these.
pub const VARIABLES: &[&str] =
    &[TABLE_NAME, QUEUE_URL, DEAD_LETTER_QUEUE_URL, ACCOUNT_CLAIM, SENDER_EMAIL, FEE_SCHEDULE, TOKEN_KEY, DOCUMENT_BUCKET];
/// Those every function needs set; notify also needs its sender and its queues.
pub const REQUIRED: &[&str] = &[TABLE_NAME];

/// When a message notify could not handle for an outside reason (SES or DynamoDB down or
/// throttled, another attempt holding its email) is seen again: after `first`, doubling with each
/// receive, up to `last`. In AWS 30 s to 11 h 55 min: SQS refuses a visibility that would end more
/// than 12 hours after the receive, and notify asks within its 30 s timeout of it, so 5 minutes
/// are kept in hand. A message keeps being retried for as long as the queue keeps it (14 days:
/// about 40 receives); the local stack retries within 2 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first_seconds: u32,
    pub last_seconds: u32,
}

impl Default for RetrySchedule {
    fn default() -> RetrySchedule {
        RetrySchedule { first_seconds: 30, last_seconds: LONGEST_WAIT_SECONDS }
    }
}

impl RetrySchedule {
    /// The wait before the next receive of a message received `receives` times so far.
    pub fn after(&self, receives: u32) -> u32 {
        let doublings = receives.saturating_sub(1).min(20);
        self.first_seconds.saturating_mul(1 << doublings).min(self.last_seconds)
    }

    /// How many receives a message that keeps failing takes to wait `seconds` in all.
    pub fn receives_to_wait(&self, seconds: u64) -> u32 {
        let mut waited = 0u64;
        (1..=u32::MAX)
            .find(|n| {
                waited += u64::from(self.after(*n));
                waited >= seconds
            })
            .unwrap_or(u32::MAX)
    }
}

/// SQS's 12 hours less 5 minutes: see `RetrySchedule`.
pub const LONGEST_WAIT_SECONDS: u32 = 12 * 3600 - 300;

/// `CPPO_FEE_SCHEDULE`'s value: the contract's defaults when unset or blank, else its overrides.
pub fn fee_schedule(raw: Option<&str>) -> Result<FeeSchedule, ConfigError> {
    match raw.filter(|v| !v.trim().is_empty()) {
        None => Ok(FeeSchedule::default()),
        Some(raw) => serde_json::from_str(raw)
            .map_err(|_| ConfigError { name: FEE_SCHEDULE, problem: "is not a fee schedule (JSON of decimal strings)" }),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required =
            |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty()).ok_or(ConfigError { name, problem: "is not set" });
        // Without a region the SDK asks the instance metadata service and stalls start-up.
        required(REGION)?;
        Ok(Config {
            table_name: required(TABLE_NAME)?,
            queue_url: lookup(QUEUE_URL).filter(|v| !v.is_empty()),
            dead_letter_queue_url: lookup(DEAD_LETTER_QUEUE_URL).filter(|v| !v.is_empty()),
            retry: RetrySchedule::default(),
            account_claim: lookup(ACCOUNT_CLAIM).filter(|v| !v.is_empty()).unwrap_or_else(|| "account_id".into()),
            sender_email: lookup(SENDER_EMAIL).filter(|v| !v.is_empty()),
            fees: fee_schedule(lookup(FEE_SCHEDULE).as_deref())?,
            token_key: match lookup(TOKEN_KEY).filter(|v| !v.is_empty()) {
                Some(key) if key.len() < 32 => return Err(ConfigError { name: TOKEN_KEY, problem: "must be at least 32 characters" }),
                key => key,
            },
        })
    }

    pub fn require_sender(&self) -> Result<&str, ConfigError> {
        self.sender_email.as_deref().ok_or(ConfigError { name: SENDER_EMAIL, problem: "is not set" })
    }

    /// The queue and dead-letter queue notify steers its retries in.
    pub fn require_queues(&self) -> Result<(&str, &str), ConfigError> {
        let queue = self.queue_url.as_deref().ok_or(ConfigError { name: QUEUE_URL, problem: "is not set" })?;
        let dead = self.dead_letter_queue_url.as_deref().ok_or(ConfigError { name: DEAD_LETTER_QUEUE_URL, problem: "is not set" })?;
        Ok((queue, dead))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_missing_variable_is_named() {
        let env: HashMap<&str, &str> = [(REGION, "us-east-1")].into();
        let err = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(err.to_string(), "environment variable CPPO_TABLE_NAME is not set");
        let env: HashMap<&str, &str> = [(REGION, "us-east-1"), (TABLE_NAME, "t")].into();
        let config = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(config.require_queues().unwrap_err().to_string(), "environment variable CPPO_QUEUE_URL is not set");
    }

    #[test]
    fn the_claim_defaults_to_account_id() {
        let env: HashMap<&str, &str> = [(REGION, "us-east-1"), (TABLE_NAME, "t"), (QUEUE_URL, "q")].into();
        let config = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(config.account_claim, "account_id");
        assert!(config.require_sender().is_err());
        assert_eq!(config.fees, FeeSchedule::default());
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_the_last_wait_and_outlast_the_queue() {
        let schedule = RetrySchedule::default();
        let waits: Vec<u32> = (1..=12).map(|n| schedule.after(n)).collect();
        assert_eq!(waits[..4], [30, 60, 120, 240]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(schedule.after(1000), 42_900, "never past SQS's 12 hours from the receive, with 5 minutes in hand");
        // 14 days of retention are spent in far fewer receives than the queue allows (1,000).
        let receives = schedule.receives_to_wait(14 * 24 * 3600);
        assert!((30..60).contains(&receives), "{receives}");
    }

    #[test]
    fn a_fee_schedule_overrides_the_defaults_or_is_refused_by_name() {
        let with = |fees: &str| {
            let env: HashMap<&str, String> =
                [(REGION, "r".to_string()), (TABLE_NAME, "t".into()), (QUEUE_URL, "q".into()), (FEE_SCHEDULE, fees.into())].into();
            Config::from_lookup(|k| env.get(k).cloned())
        };
        assert_eq!(with(r#"{"renewal": "0.01"}"#).unwrap().fees.renewal.to_string(), "0.01");
        assert_eq!(with(r#"{"renewal": 0.01}"#).unwrap_err().name, FEE_SCHEDULE);
    }
}
