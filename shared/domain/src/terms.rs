//! The terms a deal carries besides its price: how long the buyer has to pay, and the sellers'
//! own references.

use crate::error::{DomainError, DomainResult};
use std::collections::BTreeMap;

/// The sellers' own references on an offer (a CRM opportunity ID, a quote number), kept from
/// the buyer.
pub type Metadata = BTreeMap<String, String>;

/// The net payment terms AWS Marketplace offers, in days.
pub const NET_PAYMENT_TERMS: &[u32] = &[15, 30, 45, 60, 90, 120];

/// The net payment term when neither the offer nor its opportunity sets a shorter one.
pub const DEFAULT_NET_PAYMENT_TERM_DAYS: u32 = 30;

/// The default as serde's `default` for items stored before net payment terms existed.
pub fn default_net_payment_term_days() -> u32 {
    DEFAULT_NET_PAYMENT_TERM_DAYS
}

/// One of AWS Marketplace's net payment terms, and no longer than `most` when it is given.
pub fn check_net_terms(days: u32, field: &str, most: Option<u32>) -> DomainResult<u32> {
    if !NET_PAYMENT_TERMS.contains(&days) {
        return Err(DomainError::field(field, format!("{field} must be one of 15, 30, 45, 60, 90 or 120")));
    }
    match most {
        Some(most) if days > most => Err(DomainError::field(field, format!("{field} may be at most the opportunity's {most} days"))),
        _ => Ok(days),
    }
}

/// An offer's net payment term: given, at most the opportunity's (`most`); else 30 days, or the
/// opportunity's when that is shorter.
pub fn offer_net_terms(given: Option<u32>, most: Option<u32>) -> DomainResult<u32> {
    match given {
        Some(days) => check_net_terms(days, "netPaymentTermDays", most),
        None => Ok(most.map_or(DEFAULT_NET_PAYMENT_TERM_DAYS, |m| m.min(DEFAULT_NET_PAYMENT_TERM_DAYS))),
    }
}

/// The sellers' references: at most 20 keys of 1..64 `[A-Za-z0-9_.-]`, values ≤ 256 characters.
pub fn check_metadata(metadata: &Metadata) -> DomainResult<Metadata> {
    if metadata.len() > 20 {
        return Err(DomainError::field("metadata", "metadata has at most 20 keys"));
    }
    for (key, value) in metadata {
        let key_ok = (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !key_ok {
            return Err(DomainError::field("metadata", format!("metadata key {key:?} must be 1 to 64 of A-Z a-z 0-9 _ . -")));
        }
        if value.chars().count() > 256 {
            return Err(DomainError::field(format!("metadata.{key}"), "a metadata value is at most 256 characters"));
        }
    }
    Ok(metadata.clone())
}
