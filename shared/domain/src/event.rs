//! The events each transition emits, written in the same transaction as the change.
//!
//! Each event belongs to a deal: an offer and what follows from it (its agreement, and later its
//! invoices and cancellation), or an opportunity's own life. Within its deal an event has the next
//! number of the aggregate that carries the deal (the opportunity; the offer until acceptance,
//! then its agreement), so whatever reads events knows their order whatever the transport did.

use crate::agreement::Agreement;
use crate::ids::AccountId;
use crate::invoice::{Invoice, InvoiceKind};
use crate::marketplace::{self, MarketplaceEntry};
use crate::money::Currency;
use crate::offer::Offer;
use crate::opportunity::{Opportunity, RestrictedBy};
use crate::pricing::Disbursement;
use crate::terms::Metadata;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "opportunity.created")]
    OpportunityCreated,
    #[serde(rename = "opportunity.expired")]
    OpportunityExpired,
    #[serde(rename = "opportunity.revoked")]
    OpportunityRevoked,
    #[serde(rename = "offer.extended")]
    OfferExtended,
    #[serde(rename = "offer.accepted")]
    OfferAccepted,
    #[serde(rename = "offer.expired")]
    OfferExpired,
    #[serde(rename = "offer.cancelled")]
    OfferCancelled,
    #[serde(rename = "agreement.expired")]
    AgreementExpired,
    #[serde(rename = "agreement.ending")]
    AgreementEnding,
    /// A future-dated successor has started: told on the bus alone (its amendment was emailed).
    #[serde(rename = "agreement.replaced")]
    AgreementReplaced,
    #[serde(rename = "agreement.cancellation.requested")]
    CancellationRequested,
    #[serde(rename = "agreement.cancellation.rejected")]
    CancellationRejected,
    #[serde(rename = "agreement.cancellation.withdrawn")]
    CancellationWithdrawn,
    #[serde(rename = "agreement.cancelled")]
    AgreementCancelled,
    #[serde(rename = "invoice.issued")]
    InvoiceIssued,
}

/// Who hears of an event: the ISV's stakeholders (the opportunity's notification emails) and/or
/// the reseller's contact. Each group gets its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    pub stakeholders: bool,
    pub reseller: bool,
}

impl EventType {
    pub fn audience(self) -> Audience {
        use EventType::*;
        let (stakeholders, reseller) = match self {
            OpportunityCreated => (false, true),
            OfferExtended | OfferExpired | OfferCancelled => (true, false),
            OfferAccepted | OpportunityExpired | OpportunityRevoked | AgreementExpired | AgreementEnding => (true, true),
            CancellationRequested | CancellationRejected | CancellationWithdrawn | AgreementCancelled => (true, true),
            AgreementReplaced => (false, false),
            // The reseller is the seller of record: the buyer's invoices are its to collect.
            InvoiceIssued => (false, true),
        };
        Audience { stakeholders, reseller }
    }

    /// The event in words, for subjects.
    pub fn title(self) -> &'static str {
        use EventType::*;
        match self {
            OpportunityCreated => "New resale authorization",
            OpportunityExpired => "Resale authorization expired",
            OpportunityRevoked => "Resale authorization revoked",
            OfferExtended => "Channel partner private offer extended",
            OfferAccepted => "Private offer accepted, new order ready to book",
            OfferExpired => "Private offer expired",
            OfferCancelled => "Private offer cancelled",
            AgreementExpired => "Agreement ended: time to renew",
            AgreementEnding => "Agreement ending soon: time to renew",
            AgreementReplaced => "Agreement replaced",
            CancellationRequested => "Agreement cancellation requested",
            CancellationRejected => "Agreement cancellation rejected by the buyer",
            CancellationWithdrawn => "Agreement cancellation request withdrawn",
            AgreementCancelled => "Agreement cancelled",
            InvoiceIssued => "Invoice issued",
        }
    }
}

/// The facts an email needs, captured when the event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EventDetail {
    #[serde(rename_all = "camelCase")]
    Opportunity {
        name: String,
        products: Vec<String>,
        discount: String,
        end_date: Option<NaiveDate>,
        reason: Option<String>,
        /// Who ended it, for a revocation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restricted_by: Option<RestrictedBy>,
    },
    #[serde(rename_all = "camelCase")]
    Offer {
        product_title: String,
        buyer_account_id: AccountId,
        buyer_company_name: String,
        currency: Currency,
        buyer_total: Decimal,
        expires_on: NaiveDate,
        reason: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Agreement {
        buyer_account_id: AccountId,
        buyer_company_name: Option<String>,
        start_date: NaiveDate,
        end_date: NaiveDate,
        disbursement: Disbursement,
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_agreement_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Metadata>,
        /// For a renewal reminder: the days from today to the end date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days_left: Option<i64>,
    },
    #[serde(rename_all = "camelCase")]
    Invoice {
        invoice_id: String,
        invoice_kind: InvoiceKind,
        buyer_account_id: AccountId,
        issue_date: NaiveDate,
        due_date: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period_start: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period_end: Option<NaiveDate>,
        disbursement: Disbursement,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_id: String,
    /// The deal the event belongs to: an offer id, or an opportunity id for its own events.
    #[serde(default)]
    pub deal_id: String,
    /// Its number within the deal, from 1; 0 for an event written before deals were numbered.
    #[serde(default)]
    pub sequence: u32,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub opportunity_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    pub isv_account_id: AccountId,
    pub reseller_account_id: AccountId,
    pub detail: EventDetail,
    /// What it puts on the EventBridge bus; stored beside the event, not in its body.
    #[serde(skip)]
    pub marketplace: Vec<MarketplaceEntry>,
}

impl Event {
    /// The opportunity's next event; it counts it.
    pub fn for_opportunity(
        event_type: EventType,
        o: &mut Opportunity,
        event_id: String,
        now: DateTime<Utc>,
        reason: Option<String>,
    ) -> Event {
        o.event_count += 1;
        let what = match event_type {
            EventType::OpportunityExpired => "Expired",
            EventType::OpportunityRevoked => "Restricted",
            _ => "Created",
        };
        let entries = vec![marketplace::resale_authorization(o, what, reason.as_deref(), &event_id, now)];
        Event {
            deal_id: o.opportunity_id.clone(),
            sequence: o.event_count,
            marketplace: entries,
            event_id,
            event_type,
            occurred_at: now,
            opportunity_id: o.opportunity_id.clone(),
            offer_id: None,
            agreement_id: None,
            isv_account_id: o.isv_account_id.clone(),
            reseller_account_id: o.reseller_account_id.clone(),
            detail: EventDetail::Opportunity {
                name: o.name.clone(),
                products: o.products.iter().map(|p| p.title.clone()).collect(),
                discount: o.discount_summary(),
                end_date: o.duration.end_date(),
                reason,
                restricted_by: if event_type == EventType::OpportunityRevoked { o.restricted_by } else { None },
            },
        }
    }

    /// The offer's next event, while the offer carries its deal; it counts it.
    pub fn for_offer(event_type: EventType, o: &mut Offer, event_id: String, now: DateTime<Utc>, reason: Option<String>) -> Event {
        o.event_count += 1;
        let entry = match event_type {
            EventType::OfferExtended => marketplace::offer_released(o, &event_id, now),
            EventType::OfferExpired => marketplace::offer_ended(o, "Offer Expired", reason.as_deref(), &event_id, now),
            _ => marketplace::offer_ended(o, "Offer Cancelled", reason.as_deref(), &event_id, now),
        };
        Event {
            deal_id: o.offer_id.clone(),
            sequence: o.event_count,
            marketplace: vec![entry],
            event_id,
            event_type,
            occurred_at: now,
            opportunity_id: o.opportunity_id.clone(),
            offer_id: Some(o.offer_id.clone()),
            agreement_id: None,
            isv_account_id: o.isv_account_id.clone(),
            reseller_account_id: o.reseller_account_id.clone(),
            detail: EventDetail::Offer {
                product_title: o.product_title.clone(),
                buyer_account_id: o.buyer_account_id.clone(),
                buyer_company_name: o.buyer_company_name.clone(),
                currency: o.currency,
                buyer_total: o.pricing.buyer_total,
                expires_on: o.expires_on,
                reason,
            },
        }
    }

    /// The agreement's next event: its deal is its offer's, and it carries the count on.
    pub fn for_agreement(
        event_type: EventType,
        a: &mut Agreement,
        buyer_company_name: Option<String>,
        event_id: String,
        now: DateTime<Utc>,
        reason: Option<String>,
    ) -> Event {
        let entries = agreement_entries(event_type, a, &event_id, now);
        let detail = EventDetail::Agreement {
            buyer_account_id: a.buyer_account_id.clone(),
            buyer_company_name,
            start_date: a.start_date,
            end_date: a.end_date,
            disbursement: a.disbursement.clone(),
            reason,
            previous_agreement_id: a.previous_agreement_id.clone(),
            metadata: a.metadata.clone(),
            days_left: (event_type == EventType::AgreementEnding).then(|| a.days_left(now)),
        };
        Event::next_of(a, event_type, entries, detail, event_id, now)
    }

    /// The next event of `a`'s deal, which `a` counts.
    fn next_of(
        a: &mut Agreement,
        event_type: EventType,
        marketplace: Vec<MarketplaceEntry>,
        detail: EventDetail,
        event_id: String,
        now: DateTime<Utc>,
    ) -> Event {
        a.event_count += 1;
        Event {
            deal_id: a.offer_id.clone(),
            sequence: a.event_count,
            marketplace,
            event_id,
            event_type,
            occurred_at: now,
            opportunity_id: a.opportunity_id.clone(),
            offer_id: Some(a.offer_id.clone()),
            agreement_id: Some(a.agreement_id.clone()),
            isv_account_id: a.isv_account_id.clone(),
            reseller_account_id: a.reseller_account_id.clone(),
            detail,
        }
    }
}

/// What an agreement's event puts on the bus: AWS Marketplace's agreement events where AWS has
/// them, ours for the steps of a cancellation request.
fn agreement_entries(event_type: EventType, a: &Agreement, event_id: &str, now: DateTime<Utc>) -> Vec<MarketplaceEntry> {
    use EventType::*;
    match event_type {
        OfferAccepted => marketplace::agreement_created(a, event_id, now),
        AgreementEnding => marketplace::agreement_ending(a, a.days_left(now), event_id, now),
        CancellationRequested | CancellationRejected | CancellationWithdrawn => marketplace::cancellation(a, event_id, now),
        // The buyer's approval, then the agreement's end, as AWS Marketplace tells both.
        AgreementCancelled => {
            marketplace::cancellation(a, event_id, now).into_iter().chain(marketplace::agreement_ended(a, event_id, now)).collect()
        }
        _ => marketplace::agreement_ended(a, event_id, now),
    }
}

impl Event {
    /// An invoice issued: the next event of its agreement's deal, which counts it.
    pub fn for_invoice(i: &Invoice, a: &mut Agreement, event_id: String, now: DateTime<Utc>) -> Event {
        let entries = vec![marketplace::invoice_issued(i, &event_id, now)];
        let detail = EventDetail::Invoice {
            invoice_id: i.invoice_id.clone(),
            invoice_kind: i.kind,
            buyer_account_id: i.buyer_account_id.clone(),
            issue_date: i.issue_date,
            due_date: i.due_date,
            period_start: i.period_start,
            period_end: i.period_end,
            disbursement: i.disbursement.clone(),
        };
        Event::next_of(a, EventType::InvoiceIssued, entries, detail, event_id, now)
    }

    /// Also tells the bus that `replaced` ended: an amendment's acceptance ends the agreement it
    /// replaces, a fact of the new deal's event (the old deal has no email for it).
    pub fn ending(mut self, replaced: &Agreement) -> Event {
        self.marketplace.extend(marketplace::agreement_ended(replaced, &self.event_id, self.occurred_at));
        self
    }
}
