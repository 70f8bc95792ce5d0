//! Field rules shared by every command: lengths, character sets, emails, distinct lists.

use crate::error::{DomainError, DomainResult};
use std::collections::HashSet;

/// A string whose length in characters is within `min..=max`.
pub fn text(value: &str, field: &str, min: usize, max: usize) -> DomainResult<()> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(DomainError::field(field, format!("{field} must be {min} to {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::field(field, format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// A list whose length is within `min..=max`.
pub fn count<T>(items: &[T], field: &str, min: usize, max: usize) -> DomainResult<()> {
    if items.len() < min || items.len() > max {
        return Err(DomainError::field(field, format!("{field} must have {min} to {max} items")));
    }
    Ok(())
}

/// Fails on the first item whose key repeats an earlier one, naming its index.
pub fn distinct<T, K: Eq + std::hash::Hash>(items: &[T], field: &str, key: impl Fn(&T) -> K) -> DomainResult<()> {
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        if !seen.insert(key(item)) {
            return Err(DomainError::field(format!("{field}[{i}]"), format!("{field} must not repeat an entry")));
        }
    }
    Ok(())
}

/// A plain email address: one `@`, a dotted domain, no spaces, at most 254 characters.
pub fn email(value: &str, field: &str) -> DomainResult<()> {
    let bad = || DomainError::field(field, format!("{field} must be a valid email address"));
    if value.len() > 254 || !value.is_ascii() {
        return Err(bad());
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Up to `max` distinct (case-insensitive) valid addresses.
pub fn emails(values: &[String], field: &str, max: usize) -> DomainResult<()> {
    count(values, field, 0, max)?;
    for (i, value) in values.iter().enumerate() {
        email(value, &format!("{field}[{i}]"))?;
    }
    distinct(values, field, |e| e.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_distinct_ignoring_case() {
        assert!(email("ops@isv.example", "e").is_ok());
        assert!(email("first.last+tag@sub.isv-co.example", "e").is_ok());
        for bad in
            ["", "ops", "ops@", "@isv.example", "ops@isv", "o ps@isv.example", "ops@@isv.example", "ops@-isv.example", "a..b@isv.example"]
        {
            assert!(email(bad, "e").is_err(), "{bad} should be refused");
        }
        let dup = vec!["Ops@isv.example".to_string(), "ops@ISV.example".to_string()];
        let err = emails(&dup, "notificationEmails", 10).unwrap_err();
        assert_eq!(err, DomainError::field("notificationEmails[1]", "notificationEmails must not repeat an entry"));
        let eleven: Vec<String> = (0..11).map(|i| format!("u{i}@isv.example")).collect();
        assert!(emails(&eleven, "notificationEmails", 10).is_err());
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text("Zürich", "t", 1, 6).is_ok());
        assert!(text("", "t", 1, 6).is_err());
        assert!(text("a\u{0}b", "t", 1, 6).is_err());
    }
}
