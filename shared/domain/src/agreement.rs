//! Agreements: what an accepted offer becomes, with the money split between the parties.

use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::party::{party_of, Party};
use crate::pricing::{BuyerPricing, Disbursement, Pricing};
use crate::time::{end_instant, is_past};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Intent {
    New,
    Renew,
    Amend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgreementStatus {
    Active,
    Replaced,
    Expired,
}

impl AgreementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Active => "active",
            AgreementStatus::Replaced => "replaced",
            AgreementStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    pub agreement_id: String,
    pub offer_id: String,
    pub opportunity_id: String,
    pub product_id: String,
    pub isv_account_id: AccountId,
    pub reseller_account_id: AccountId,
    pub buyer_account_id: AccountId,
    pub intent: Intent,
    pub state: AgreementStatus,
    pub accepted_at: DateTime<Utc>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_agreement_id: Option<String>,
    pub pricing: Pricing,
    pub disbursement: Disbursement,
    /// See `Offer::non_recurring`.
    #[serde(default)]
    pub non_recurring: bool,
    /// The deal's events so far: the agreement carries the count on from its offer.
    #[serde(default)]
    pub event_count: u32,
}

impl Agreement {
    pub fn status(&self, now: DateTime<Utc>) -> AgreementStatus {
        match self.state {
            AgreementStatus::Active if is_past(self.end_date, now) => AgreementStatus::Expired,
            state => state,
        }
    }

    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        (self.state == AgreementStatus::Active).then(|| end_instant(self.end_date))
    }

    pub fn party(&self, caller: &AccountId) -> Option<Party> {
        party_of(caller, &self.isv_account_id, &self.reseller_account_id, &self.buyer_account_id)
    }

    /// A later agreement takes this one's place; only an active one of the same deal (product,
    /// ISV, reseller and buyer) can be replaced, whatever the offer was checked against earlier.
    pub fn replace(&self, successor: &Agreement, now: DateTime<Utc>) -> DomainResult<Agreement> {
        let same_deal = self.product_id == successor.product_id
            && self.isv_account_id == successor.isv_account_id
            && self.reseller_account_id == successor.reseller_account_id
            && self.buyer_account_id == successor.buyer_account_id;
        if !same_deal {
            return Err(DomainError::Conflict(format!(
                "agreement {} is not of this offer's deal; it cannot be replaced by it",
                self.agreement_id
            )));
        }
        match self.status(now) {
            AgreementStatus::Active => Ok(Agreement { state: AgreementStatus::Replaced, ..self.clone() }),
            status => Err(DomainError::Conflict(format!(
                "agreement {} is {}; the offer that replaces it can no longer be accepted",
                self.agreement_id,
                status.as_str()
            ))),
        }
    }

    pub fn expire(&self, now: DateTime<Utc>) -> Option<Agreement> {
        (self.state == AgreementStatus::Active && self.status(now) == AgreementStatus::Expired)
            .then(|| Agreement { state: AgreementStatus::Expired, ..self.clone() })
    }

    /// The API's shape for `caller`; the buyer sees only what it pays.
    pub fn view(&self, caller: &AccountId, now: DateTime<Utc>) -> Value {
        let status = self.status(now).as_str();
        if self.party(caller) == Some(Party::Buyer) {
            return self.buyer_view(status);
        }
        crate::view::with_status(self, status, &["nonRecurring", "eventCount"])
    }

    fn buyer_view(&self, status: &str) -> Value {
        let buyer_total: Decimal = self.disbursement.buyer_total;
        let mut view = json!({
            "agreementId": self.agreement_id,
            "offerId": self.offer_id,
            "opportunityId": self.opportunity_id,
            "productId": self.product_id,
            "isvAccountId": self.isv_account_id,
            "resellerAccountId": self.reseller_account_id,
            "buyerAccountId": self.buyer_account_id,
            "intent": self.intent,
            "status": status,
            "acceptedAt": self.accepted_at,
            "startDate": self.start_date,
            "endDate": self.end_date,
            "pricing": BuyerPricing::of(&self.pricing),
            "disbursement": {"currency": self.disbursement.currency, "buyerTotal": buyer_total},
        });
        if let (Some(previous), Value::Object(map)) = (&self.previous_agreement_id, &mut view) {
            map.insert("previousAgreementId".into(), Value::String(previous.clone()));
        }
        view
    }
}
