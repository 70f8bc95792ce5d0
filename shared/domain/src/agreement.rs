//! Agreements: what an accepted offer becomes, with the money split between the parties.

use crate::billing::{next_period, usage_issued_at, Billing};
use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::party::{party_of, Party};
use crate::pricing::{BuyerPricing, Disbursement, Pricing};
use crate::terms::Metadata;
use crate::time::{end_instant, is_past, start_instant};
use chrono::{DateTime, Days, NaiveDate, Utc};
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
    Cancelled,
    Expired,
}

impl AgreementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Active => "active",
            AgreementStatus::Replaced => "replaced",
            AgreementStatus::Cancelled => "cancelled",
            AgreementStatus::Expired => "expired",
        }
    }
}

/// The steps of a request to cancel an agreement (see `cancellation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CancellationStatus {
    PendingApproval,
    Accepted,
    Rejected,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    /// The request's own id (`acr-…`), as AWS Marketplace's events name it.
    pub request_id: String,
    pub status: CancellationStatus,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
}

/// The renewal reminders, in days before the end date, farthest first.
pub const REMINDER_LEADS: [u32; 3] = [90, 60, 30];

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The SHA-256 of the compiled EULA its buyer accepted, when the EULA was uploaded documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula_sha256: Option<String>,
    /// How long the buyer has to pay each invoice, from the offer.
    #[serde(default = "crate::terms::default_net_payment_term_days")]
    pub net_payment_term_days: u32,
    /// The day a future-dated successor starts: active until the day before, replaced from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_on: Option<NaiveDate>,
    /// The day it was cancelled, or replaced by an agreement that started at once: its last day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<NaiveDate>,
    /// The shortest lead of the renewal reminders already sent (or passed over for a nearer one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_days: Option<u32>,
    /// The latest request to cancel it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// What has been invoiced so far (see `invoice`).
    #[serde(default)]
    pub billing: Billing,
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
            // Replaced wins over expired: its successor took over on that day.
            AgreementStatus::Active if self.replaced_on.is_some_and(|d| now.date_naive() >= d) => AgreementStatus::Replaced,
            AgreementStatus::Active if is_past(self.end_date, now) => AgreementStatus::Expired,
            state => state,
        }
    }

    /// When the sweep next has something to do: a reminder, the successor's start, the end, or an
    /// invoice to issue (which may outlast the agreement: its last month's usage).
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        let invoice = self.invoice_due_at();
        if self.state != AgreementStatus::Active {
            return invoice;
        }
        let reminder = self.pending_reminders().next().map(|lead| self.reminder_due(lead));
        [Some(end_instant(self.end_date)), self.replaced_on.map(start_instant), reminder, invoice].into_iter().flatten().min()
    }

    /// When the sweep next has an invoice to issue: its plan's next date (unless the agreement
    /// ended before it), or 06:00 UTC the day after its next usage period ends.
    pub fn invoice_due_at(&self) -> Option<DateTime<Utc>> {
        let recorded = self.billing.plan_issued as usize;
        let plan = self.plan_dates().get(recorded).copied().filter(|d| !self.cancels(*d));
        let usage = self.next_usage_period().map(|(_, end)| usage_issued_at(end));
        [plan.map(start_instant), usage].into_iter().flatten().min()
    }

    /// The issue dates of its plan: one per payment of its schedule, or its start date for its
    /// contract lines; none for usage alone.
    pub fn plan_dates(&self) -> Vec<NaiveDate> {
        if !self.pricing.payments.is_empty() {
            self.pricing.payments.iter().map(|p| p.invoice_date).collect()
        } else if self.pricing.lines.is_empty() {
            Vec::new()
        } else {
            vec![self.start_date]
        }
    }

    /// Its next stretch of metered usage to bill, when it has usage dimensions.
    pub fn next_usage_period(&self) -> Option<(NaiveDate, NaiveDate)> {
        if self.pricing.usage_rates.is_empty() {
            return None;
        }
        next_period(self.billing.usage_through, self.start_date, self.last_day())
    }

    /// The last day it runs: its end date, or the day it was cancelled or replaced.
    pub fn last_day(&self) -> NaiveDate {
        let early = self.ended_on_or_cancelled().or_else(|| self.replaced_on.and_then(|d| d.pred_opt()));
        early.map_or(self.end_date, |d| d.min(self.end_date))
    }

    /// True when it was cancelled or replaced before an invoice due on `issue_date`: its upfront
    /// and scheduled invoices after its last day are cancelled (an expiry cancels none).
    pub fn cancels(&self, issue_date: NaiveDate) -> bool {
        let ended_early = self.ended_on_or_cancelled().is_some() || self.replaced_on.is_some();
        ended_early && issue_date > self.last_day()
    }

    /// The day it ended early; for one cancelled before that day was recorded, its
    /// cancellation's answer says it.
    fn ended_on_or_cancelled(&self) -> Option<NaiveDate> {
        let cancelled = || {
            let c = self.cancellation.as_ref().filter(|_| self.state == AgreementStatus::Cancelled)?;
            c.answered_at.map(|at| at.date_naive())
        };
        self.ended_on.or_else(cancelled)
    }

    /// The N-day reminder falls due at 00:00 UTC of the day N days before the end date.
    fn reminder_due(&self, lead: u32) -> DateTime<Utc> {
        start_instant(self.end_date.checked_sub_days(Days::new(lead.into())).unwrap_or(NaiveDate::MIN))
    }

    /// The reminders still to come, farthest first: none once a successor is on its way, and
    /// none that would fall due on or before the first day.
    fn pending_reminders(&self) -> impl Iterator<Item = u32> + '_ {
        let start = start_instant(self.start_date);
        REMINDER_LEADS.into_iter().filter(move |lead| {
            self.replaced_on.is_none() && self.reminded_days.is_none_or(|sent| *lead < sent) && self.reminder_due(*lead) > start
        })
    }

    /// The reminder due at `now`, the nearest when several are, as the agreement records it;
    /// `None` when none is due or the agreement is no longer active.
    pub fn remind(&self, now: DateTime<Utc>) -> Option<Agreement> {
        if self.status(now) != AgreementStatus::Active {
            return None;
        }
        let nearest = self.pending_reminders().filter(|lead| self.reminder_due(*lead) <= now).min()?;
        Some(Agreement { reminded_days: Some(nearest), ..self.clone() })
    }

    /// The days from today to the end date, as a reminder tells them.
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.end_date - now.date_naive()).num_days()
    }

    /// The day a future-dated successor starts has come: it now reads, and is stored, replaced.
    pub fn settle_replacement(&self, now: DateTime<Utc>) -> Option<Agreement> {
        (self.state == AgreementStatus::Active && self.status(now) == AgreementStatus::Replaced)
            .then(|| Agreement { state: AgreementStatus::Replaced, ..self.clone() })
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
        if self.replaced_on.is_some() {
            return Err(DomainError::Conflict(format!(
                "agreement {} is already to be replaced by a future-dated agreement",
                self.agreement_id
            )));
        }
        match self.status(now) {
            // A future-dated successor: this one runs until the day before it starts.
            AgreementStatus::Active if successor.start_date > now.date_naive() => {
                Ok(Agreement { replaced_on: Some(successor.start_date), ..self.clone() })
            }
            AgreementStatus::Active => Ok(Agreement { state: AgreementStatus::Replaced, ended_on: Some(now.date_naive()), ..self.clone() }),
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
        crate::view::with_status(
            self,
            status,
            &["nonRecurring", "eventCount", "replacedOn", "endedOn", "remindedDays", "cancellation", "netPaymentTermDays", "billing"],
        )
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
        if let (Some(sha256), Value::Object(map)) = (&self.eula_sha256, &mut view) {
            map.insert("eulaSha256".into(), Value::String(sha256.clone()));
        }
        view
    }
}
