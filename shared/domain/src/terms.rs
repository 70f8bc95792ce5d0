//! The terms a deal carries besides its price: how long the buyer has to pay, and the sellers'
//! own references.

use crate::error::{DomainError, DomainResult};
use std::collections::BTreeMap;

/// The sellers' own references on an offer (a CRM opportunity ID, a quote number), kept from
/// the buyer.
pub type Metadata = BTreeMap<String, String>;

/// The net payment term when neither the offer nor its opportunity sets a shorter one.
pub const DEFAULT_NET_PAYMENT_TERM_DAYS: u32 = 30;

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
