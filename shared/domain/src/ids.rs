//! Identifiers: AWS account IDs and the prefixed ids of our own resources.

use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An AWS account ID: exactly 12 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(raw: &str) -> Option<AccountId> {
        (raw.len() == 12 && raw.bytes().all(|b| b.is_ascii_digit())).then(|| AccountId(raw.to_string()))
    }

    /// Parses a field of a request, naming the field when it is not an account ID.
    pub fn parse_field(raw: &str, field: &str) -> DomainResult<AccountId> {
        AccountId::parse(raw).ok_or_else(|| DomainError::field(field, format!("{field} must be exactly 12 digits")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of resource we mint ids for; the prefix tells a reader what an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Product,
    Opportunity,
    Offer,
    Agreement,
    CancellationRequest,
    Event,
    Document,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Product => "prod-",
            IdKind::Opportunity => "opp-",
            IdKind::Offer => "offer-",
            IdKind::Agreement => "agr-",
            IdKind::CancellationRequest => "acr-",
            IdKind::Event => "evt-",
            IdKind::Document => "doc-",
        }
    }

    /// Builds an id from 32 lowercase hex digits of randomness the caller supplies.
    pub fn id(self, hex32: &str) -> String {
        format!("{}{}", self.prefix(), hex32)
    }

    /// True when `raw` is an id this service could have minted, so junk never reaches the store.
    pub fn is_valid(self, raw: &str) -> bool {
        raw.strip_prefix(self.prefix()).is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_some());
        assert!(AccountId::parse("11112222333").is_none());
        assert!(AccountId::parse("1111222233334").is_none());
        assert!(AccountId::parse("11112222333a").is_none());
        assert!(AccountId::parse("١١١١٢٢٢٢٣٣٣٣").is_none());
    }

    #[test]
    fn ids_carry_their_kind() {
        let id = IdKind::Offer.id("0123456789abcdef0123456789abcdef");
        assert!(IdKind::Offer.is_valid(&id));
        assert!(!IdKind::Opportunity.is_valid(&id));
        assert!(!IdKind::Offer.is_valid("offer-0123"));
        assert!(!IdKind::Offer.is_valid("offer-0123456789ABCDEF0123456789abcdef"));
    }
}
