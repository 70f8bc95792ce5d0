//! What an agreement has been invoiced so far, and when its usage falls due: the part of billing
//! an agreement carries (see `invoice` for the invoices themselves).

use crate::time::start_instant;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A month's usage is invoiced this long after the month (or the agreement) ends: the window in
/// which late records are still taken.
pub const LATE_RECORD_HOURS: i64 = 6;

/// What an agreement has been invoiced so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Billing {
    /// How many invoices of its plan (upfront or scheduled) are issued and stored, in order.
    #[serde(default)]
    pub plan_issued: u32,
    /// The last day whose usage has been billed (or found to have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_through: Option<NaiveDate>,
    /// The usage of each period billed, as metered: its invoice follows from it and the rates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<UsageBill>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageBill {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub quantities: Vec<Metered>,
}

/// The usage of one dimension over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metered {
    pub dimension_key: String,
    pub quantity: u64,
}

/// A usage period ending on `end` is invoiced at 06:00 UTC the next day, once late records for
/// its last hours can no longer arrive.
pub fn usage_issued_at(end: NaiveDate) -> DateTime<Utc> {
    start_instant(end.succ_opt().unwrap_or(NaiveDate::MAX)) + Duration::hours(LATE_RECORD_HOURS)
}

/// The next stretch of usage to bill after `through` (or from `start`): to the end of that
/// calendar month or to `last`, whichever comes first; `None` once `last` is billed.
pub fn next_period(through: Option<NaiveDate>, start: NaiveDate, last: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let from = through.and_then(|d| d.succ_opt()).unwrap_or(start);
    (from <= last).then(|| (from, month_end(from).min(last)))
}

fn month_end(date: NaiveDate) -> NaiveDate {
    let first_next = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    };
    first_next.and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MAX)
}
