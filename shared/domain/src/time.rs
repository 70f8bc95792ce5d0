//! Calendar rules: a date ends at 23:59:59.999 UTC, so it is past once the next day has begun.

use chrono::{DateTime, Days, Months, NaiveDate, SecondsFormat, Utc};

/// True once `date` has ended at `now`.
pub fn is_past(date: NaiveDate, now: DateTime<Utc>) -> bool {
    now.date_naive() > date
}

/// The first instant of `date`: 00:00:00 UTC.
pub fn start_instant(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The instant `date` has ended: the start of the next day, when the sweep may expire it.
pub fn end_instant(date: NaiveDate) -> DateTime<Utc> {
    start_instant(date.checked_add_days(Days::new(1)).unwrap_or(NaiveDate::MAX))
}

/// `start` + `months` − 1 day, the last day of a contract that starts on `start`.
pub fn contract_end(start: NaiveDate, months: u32) -> NaiveDate {
    start.checked_add_months(Months::new(months)).and_then(|d| d.checked_sub_days(Days::new(1))).unwrap_or(NaiveDate::MAX)
}

/// A fixed-width RFC 3339 timestamp, so stored timestamps sort as strings.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    (raw.len() == 10).then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn a_date_ends_at_the_last_millisecond_of_its_day() {
        let d = date("2027-01-31");
        assert!(!is_past(d, Utc.with_ymd_and_hms(2027, 1, 31, 23, 59, 59).unwrap()));
        assert!(is_past(d, Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap()));
        assert_eq!(end_instant(d), Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn contract_end_is_start_plus_months_less_a_day() {
        assert_eq!(contract_end(date("2027-01-15"), 12), date("2028-01-14"));
        assert_eq!(contract_end(date("2027-01-01"), 1), date("2027-01-31"));
        assert_eq!(contract_end(date("2027-01-31"), 1), date("2027-02-27"));
        assert_eq!(contract_end(date("2028-02-29"), 12), date("2029-02-27"));
    }

    #[test]
    fn dates_are_strict_iso() {
        assert!(parse_date("2027-02-29").is_none());
        assert!(parse_date("2027-2-1").is_none());
        assert!(parse_date("2027-02-01T00:00:00Z").is_none());
        assert!(parse_date("2028-02-29").is_some());
    }
}
