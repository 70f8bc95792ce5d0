//! Sellers: an AWS account's marketplace profile. Registered sellers can list products and resell.

use crate::error::DomainResult;
use crate::ids::AccountId;
use crate::validate;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `PUT /sellers/me`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SellerInput {
    pub display_name: String,
    #[serde(default)]
    pub contact_email: Option<String>,
    /// The default stakeholders of the seller's opportunities.
    #[serde(default)]
    pub notification_emails: Vec<String>,
    pub public_profile_complete: bool,
    pub tax_and_banking_complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seller {
    pub account_id: AccountId,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The stakeholders an opportunity created without its own takes.
    #[serde(default)]
    pub notification_emails: Vec<String>,
    pub public_profile_complete: bool,
    pub tax_and_banking_complete: bool,
    pub registered: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Seller {
    /// Creates or updates the caller's profile; `existing` keeps the original creation time.
    pub fn upsert(account_id: AccountId, input: SellerInput, existing: Option<&Seller>, now: DateTime<Utc>) -> DomainResult<Seller> {
        validate::text(&input.display_name, "displayName", 1, 100)?;
        if let Some(email) = &input.contact_email {
            validate::email(email, "contactEmail")?;
        }
        validate::emails(&input.notification_emails, "notificationEmails", 10)?;
        Ok(Seller {
            account_id,
            registered: input.public_profile_complete && input.tax_and_banking_complete,
            display_name: input.display_name,
            contact_email: input.contact_email,
            notification_emails: input.notification_emails,
            public_profile_complete: input.public_profile_complete,
            tax_and_banking_complete: input.tax_and_banking_complete,
            created_at: existing.map_or(now, |s| s.created_at),
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input(public: bool, tax: bool) -> SellerInput {
        SellerInput {
            display_name: "Acme".into(),
            contact_email: Some("ops@acme.example".into()),
            notification_emails: vec![],
            public_profile_complete: public,
            tax_and_banking_complete: tax,
        }
    }

    #[test]
    fn registered_only_when_both_wizards_are_complete() {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let id = AccountId::parse("111122223333").unwrap();
        assert!(Seller::upsert(id.clone(), input(true, true), None, now).unwrap().registered);
        assert!(!Seller::upsert(id.clone(), input(true, false), None, now).unwrap().registered);
        assert!(!Seller::upsert(id, input(false, true), None, now).unwrap().registered);
    }

    #[test]
    fn an_update_keeps_the_creation_time() {
        let t0 = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let t1 = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
        let id = AccountId::parse("111122223333").unwrap();
        let first = Seller::upsert(id.clone(), input(true, true), None, t0).unwrap();
        let second = Seller::upsert(id, input(false, true), Some(&first), t1).unwrap();
        assert_eq!((second.created_at, second.updated_at), (t0, t1));
    }

    #[test]
    fn display_name_and_email_are_checked() {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let id = AccountId::parse("111122223333").unwrap();
        let mut bad = input(true, true);
        bad.display_name = String::new();
        assert!(Seller::upsert(id.clone(), bad, None, now).is_err());
        let mut bad = input(true, true);
        bad.contact_email = Some("not-an-email".into());
        assert!(Seller::upsert(id, bad, None, now).is_err());
    }
}
