//! Metering: the usage an ISV's software reports for an agreement's usage dimensions, as it
//! reports it to AWS Marketplace's `BatchMeterUsage`. Each record is decided on its own.

use crate::agreement::{Agreement, AgreementStatus};
use crate::billing::LATE_RECORD_HOURS;
use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::party::Party;
use crate::time::{stamp, start_instant};
use crate::validate;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Deserialize;

/// `POST /agreements/{id}/usage`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageInput {
    pub records: Vec<UsageRecordInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageRecordInput {
    pub dimension_key: String,
    pub quantity: i64,
    pub timestamp: String,
}

/// The most records one report takes, as `BatchMeterUsage`.
pub const MAX_RECORDS: usize = 25;

/// The largest quantity one record may carry, as `BatchMeterUsage`'s.
pub const MAX_QUANTITY: i64 = 2_147_483_647;

/// A record taken: its dimension, the hour it counts in, and its quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub dimension_key: String,
    pub hour: DateTime<Utc>,
    pub quantity: u64,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metering {
    Take(Usage),
    /// Another record already took this agreement, dimension and hour.
    Duplicate,
    Rejected(String),
}

/// Decides each record of a report: only the ISV reports, only for an active agreement, and a
/// record counts when it names one of its usage dimensions within its term, not in the future and
/// at most 6 hours old. A second record of the same dimension and hour in the report is a duplicate.
pub fn meter(a: &Agreement, caller: &AccountId, input: &UsageInput, now: DateTime<Utc>) -> DomainResult<Vec<Metering>> {
    match a.party(caller) {
        None => return Err(DomainError::NotFound(format!("no agreement {}", a.agreement_id))),
        Some(Party::Isv) => {}
        Some(_) => return Err(DomainError::Forbidden("only the ISV reports the usage of its software".into())),
    }
    validate::count(&input.records, "records", 1, MAX_RECORDS)?;
    let status = a.status(now);
    if status != AgreementStatus::Active {
        return Err(DomainError::Conflict(format!(
            "agreement {} is {}; only an active agreement takes usage",
            a.agreement_id,
            status.as_str()
        )));
    }
    let mut taken: Vec<Usage> = Vec::new();
    Ok(input
        .records
        .iter()
        .map(|record| match check(a, record, now) {
            Ok(usage) if taken.iter().any(|t| t.dimension_key == usage.dimension_key && t.hour == usage.hour) => Metering::Duplicate,
            Ok(usage) => {
                taken.push(usage.clone());
                Metering::Take(usage)
            }
            Err(reason) => Metering::Rejected(reason),
        })
        .collect())
}

fn check(a: &Agreement, record: &UsageRecordInput, now: DateTime<Utc>) -> Result<Usage, String> {
    if !a.pricing.usage_rates.iter().any(|r| r.dimension_key == record.dimension_key) {
        return Err(format!("{} is not a usage dimension of this agreement", record.dimension_key));
    }
    let quantity = u64::try_from(record.quantity)
        .ok()
        .filter(|q| *q <= MAX_QUANTITY as u64)
        .ok_or_else(|| format!("quantity must be an integer from 0 to {MAX_QUANTITY}"))?;
    let at = DateTime::parse_from_rfc3339(&record.timestamp)
        .map_err(|_| "timestamp must be an RFC 3339 timestamp".to_string())?
        .with_timezone(&Utc);
    if at > now {
        return Err("timestamp is in the future".into());
    }
    if now - at > Duration::hours(LATE_RECORD_HOURS) {
        return Err(format!("timestamp is more than {LATE_RECORD_HOURS} hours old"));
    }
    // The term starts on its first day, and never before the buyer accepted.
    let began = a.accepted_at.max(start_instant(a.start_date));
    if at < began || at.date_naive() > a.last_day() {
        return Err(format!("timestamp is outside the agreement's term ({} to {})", stamp(began), a.last_day()));
    }
    if a.billing.usage_through.is_some_and(|billed| at.date_naive() <= billed) {
        return Err("timestamp is in a period already invoiced".into());
    }
    let hour = at.duration_trunc(Duration::hours(1)).map_err(|_| "timestamp is out of range".to_string())?;
    Ok(Usage { dimension_key: record.dimension_key.clone(), hour, quantity })
}

impl Metering {
    /// The record's result as `BatchMeterUsage` words it.
    pub fn result(&self) -> serde_json::Value {
        match self {
            Metering::Take(_) => serde_json::json!({"status": "Success"}),
            Metering::Duplicate => serde_json::json!({"status": "DuplicateRecord"}),
            Metering::Rejected(reason) => serde_json::json!({"status": "Rejected", "reason": reason}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::tests::{agreement, buyer_id};
    use crate::opportunity::tests::{isv_id, now, reseller_id};
    use crate::pricing::UsageRate;
    use rust_decimal::Decimal;

    /// Accepted a day before `now()`, metering one dimension.
    fn metered() -> Agreement {
        let mut a = agreement();
        a.accepted_at = now() - Duration::days(1);
        a.start_date = a.accepted_at.date_naive();
        a.pricing.usage_rates = vec![UsageRate::marked_up("gb", Decimal::ONE, Decimal::ONE, Decimal::TEN)];
        a
    }

    fn report(records: &[(&str, i64, DateTime<Utc>)]) -> UsageInput {
        UsageInput {
            records: records
                .iter()
                .map(|(key, quantity, at)| UsageRecordInput {
                    dimension_key: key.to_string(),
                    quantity: *quantity,
                    timestamp: crate::time::stamp(*at),
                })
                .collect(),
        }
    }

    #[test]
    fn each_record_is_decided_on_its_own_in_order() {
        let hour = Duration::hours(1);
        let input = report(&[
            ("gb", 2500, now() - Duration::minutes(1)),
            ("gb", 7, now() - Duration::minutes(5)),
            ("users", 1, now()),
            ("gb", -1, now() - hour),
            ("gb", 1, now() + Duration::seconds(1)),
            ("gb", 1, now() - Duration::hours(6) - Duration::seconds(1)),
            ("gb", 1, now() - Duration::hours(2)),
        ]);
        let results: Vec<String> = meter(&metered(), &isv_id(), &input, now())
            .unwrap()
            .iter()
            .map(|m| {
                m.result()["status"].as_str().unwrap().to_string()
                    + &m.result()["reason"].as_str().map(|r| format!(": {r}")).unwrap_or_default()
            })
            .collect();
        assert_eq!(results[0], "Success");
        assert_eq!(results[1], "DuplicateRecord", "the same hour as the first");
        assert!(results[2].starts_with("Rejected: users is not a usage dimension"), "{}", results[2]);
        assert!(results[3].starts_with("Rejected: quantity"), "{}", results[3]);
        assert!(results[4].contains("future"), "{}", results[4]);
        assert!(results[5].contains("6 hours old"), "{}", results[5]);
        assert_eq!(results[6], "Success");
    }

    #[test]
    fn a_record_of_a_period_already_invoiced_is_rejected() {
        // The race the sweep's 06:00 start leaves: a late record decided as the month is billed.
        let mut billed = metered();
        billed.billing.usage_through = Some(now().date_naive());
        let results = meter(&billed, &isv_id(), &report(&[("gb", 1, now() - Duration::minutes(1))]), now()).unwrap();
        assert!(matches!(&results[0], Metering::Rejected(r) if r.contains("already invoiced")), "{results:?}");
    }

    #[test]
    fn only_the_isv_reports_and_only_for_an_active_agreement_within_its_term() {
        let input = report(&[("gb", 1, now())]);
        assert!(matches!(meter(&metered(), &reseller_id(), &input, now()), Err(DomainError::Forbidden(_))));
        assert!(matches!(meter(&metered(), &buyer_id(), &input, now()), Err(DomainError::Forbidden(_))));
        let outsider = AccountId::parse("999999999999").unwrap();
        assert!(matches!(meter(&metered(), &outsider, &input, now()), Err(DomainError::NotFound(_))));
        let cancelled = Agreement { state: AgreementStatus::Cancelled, ..metered() };
        assert!(matches!(meter(&cancelled, &isv_id(), &input, now()), Err(DomainError::Conflict(_))));
        assert!(meter(&metered(), &isv_id(), &report(&[]), now()).is_err());
        let too_many: Vec<(&str, i64, DateTime<Utc>)> = (0..26).map(|_| ("gb", 1, now())).collect();
        assert!(meter(&metered(), &isv_id(), &report(&too_many), now()).is_err());
        // Before its first day, or before the buyer accepted, is outside its term.
        let future = Agreement { start_date: now().date_naive().succ_opt().unwrap(), ..metered() };
        let outside = meter(&future, &isv_id(), &input, now()).unwrap();
        assert!(matches!(&outside[0], Metering::Rejected(r) if r.contains("outside the agreement's term")));
        let just_accepted = Agreement { accepted_at: now() - Duration::minutes(10), ..metered() };
        let early = meter(&just_accepted, &isv_id(), &report(&[("gb", 1, now() - Duration::minutes(11))]), now()).unwrap();
        assert!(matches!(&early[0], Metering::Rejected(r) if r.contains("outside the agreement's term")));
    }
}
