//! The entries an event puts on the EventBridge bus, in AWS Marketplace's own detail-types and
//! detail shapes where AWS has them (so rules written for AWS Marketplace's events match ours),
//! and in ours where it has none. Built when the event is, stored with it, and published as they
//! are by whatever carries the event to the bus, in AWS and locally alike.
//!
//! No detail carries a wholesale figure, a discount or a disbursement: a bus is read by tools of
//! every party's choosing, and the buyer's account is one of the accounts a detail names.

use crate::agreement::{Agreement, AgreementStatus, CancellationStatus};
use crate::invoice::Invoice;
use crate::offer::Offer;
use crate::opportunity::Opportunity;
use crate::time::{end_instant, stamp, start_instant};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Every entry's source: AWS reserves `aws.` sources for itself.
pub const SOURCE: &str = "cppo.marketplace";
/// The catalog every AWS Marketplace event names.
const CATALOG: &str = "AWSMarketplace";

/// One entry for the bus: what `PutEvents` takes, less the bus and the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceEntry {
    pub detail_type: String,
    pub detail: Value,
    pub time: DateTime<Utc>,
}

/// The two sides AWS Marketplace tells of an agreement: the seller of record (the reseller, the
/// offer's proposer) and the ISV (the product's manufacturer).
const SIDES: [&str; 2] = ["Proposer", "Manufacturer"];

/// The last instant of a date: a date "ends" at 23:59:59.999 UTC.
fn last_instant(date: NaiveDate) -> String {
    stamp(end_instant(date) - Duration::milliseconds(1))
}

fn first_instant(date: NaiveDate) -> String {
    stamp(start_instant(date))
}

fn entry(detail_type: String, mut detail: Value, request_id: &str, time: DateTime<Utc>) -> MarketplaceEntry {
    if let Value::Object(map) = &mut detail {
        map.insert("requestId".into(), json!(request_id));
        map.insert("catalog".into(), json!(CATALOG));
    }
    MarketplaceEntry { detail_type, detail, time }
}

/// `Offer Released`: a channel partner's offer extended to its buyer.
pub fn offer_released(o: &Offer, request_id: &str, time: DateTime<Utc>) -> MarketplaceEntry {
    entry("Offer Released".into(), offer_detail(o), request_id, time)
}

/// Ours, where AWS Marketplace has no event: an offer that ended unaccepted.
pub fn offer_ended(o: &Offer, detail_type: &str, reason: Option<&str>, request_id: &str, time: DateTime<Utc>) -> MarketplaceEntry {
    let mut detail = offer_detail(o);
    detail["reason"] = json!(reason);
    entry(detail_type.into(), detail, request_id, time)
}

fn offer_detail(o: &Offer) -> Value {
    json!({
        "offer": {"id": o.offer_id, "expirationDate": last_instant(o.expires_on)},
        "product": {"id": o.product_id, "title": o.product_title},
        "manufacturer": {"accountId": o.isv_account_id},
        "sellerOfRecord": {"accountId": o.reseller_account_id},
        "targetedBuyerAccountIds": [o.buyer_account_id],
        "resaleAuthorization": {"id": o.opportunity_id},
    })
}

/// `Purchase Agreement Created - …`, or `Amended` when it replaces another: one entry per side.
pub fn agreement_created(a: &Agreement, request_id: &str, time: DateTime<Utc>) -> Vec<MarketplaceEntry> {
    let verb = if a.previous_agreement_id.is_some() { "Amended" } else { "Created" };
    let mut agreement = json!({
        "id": a.agreement_id,
        "intent": a.intent,
        "status": "ACTIVE",
        "acceptanceTime": stamp(a.accepted_at),
        "startTime": first_instant(a.start_date),
        "endTime": last_instant(a.end_date),
    });
    if let Some(previous) = &a.previous_agreement_id {
        agreement["previousAgreementId"] = json!(previous);
    }
    sides(&format!("Purchase Agreement {verb}"), agreement, a, request_id, time)
}

/// `Purchase Agreement Ended - …`: replaced, cancelled or expired, one entry per side.
pub fn agreement_ended(a: &Agreement, request_id: &str, time: DateTime<Utc>) -> Vec<MarketplaceEntry> {
    let status = match a.state {
        AgreementStatus::Replaced => "REPLACED",
        AgreementStatus::Cancelled => "CANCELLED",
        AgreementStatus::Expired => "EXPIRED",
        AgreementStatus::Active => "ACTIVE",
    };
    sides("Purchase Agreement Ended", json!({"id": a.agreement_id, "status": status}), a, request_id, time)
}

/// `Purchase Agreement Ending - …`: a renewal reminder, with the days left, one entry per side.
pub fn agreement_ending(a: &Agreement, days_left: i64, request_id: &str, time: DateTime<Utc>) -> Vec<MarketplaceEntry> {
    let agreement = json!({
        "id": a.agreement_id,
        "status": "ACTIVE",
        "startTime": first_instant(a.start_date),
        "endTime": last_instant(a.end_date),
        "daysBeforeEndTime": days_left,
    });
    sides("Purchase Agreement Ending", agreement, a, request_id, time)
}

/// `Agreement Cancellation Request <status> - …`: a step of a cancellation request (pending
/// approval, approved, rejected, or cancelled: withdrawn by the reseller), one entry per side.
pub fn cancellation(a: &Agreement, request_id: &str, time: DateTime<Utc>) -> Vec<MarketplaceEntry> {
    let Some(c) = &a.cancellation else { return Vec::new() };
    let (words, code) = match c.status {
        CancellationStatus::PendingApproval => ("Pending Approval", "PENDING_APPROVAL"),
        CancellationStatus::Accepted => ("Approved", "APPROVED"),
        CancellationStatus::Rejected => ("Rejected", "REJECTED"),
        CancellationStatus::Withdrawn => ("Cancelled", "CANCELLED"),
    };
    let detail = json!({
        "agreement": {"id": a.agreement_id, "acceptorId": a.buyer_account_id, "productId": a.product_id, "offerId": a.offer_id},
        "agreementCancellationRequest": {
            "id": c.request_id,
            "reasonCode": "OTHER",
            "reasonMessage": c.reason,
            "statusCode": code,
            "createdAt": stamp(c.requested_at),
            "updatedAt": stamp(c.answered_at.unwrap_or(c.requested_at)),
        },
        "resaleAuthorization": {"id": a.opportunity_id},
        "proposer": {"accountId": a.reseller_account_id},
        "manufacturer": {"accountId": a.isv_account_id},
    });
    let name = format!("Agreement Cancellation Request {words}");
    SIDES.iter().map(|side| entry(format!("{name} - {side}"), detail.clone(), request_id, time)).collect()
}

fn sides(name: &str, agreement: Value, a: &Agreement, request_id: &str, time: DateTime<Utc>) -> Vec<MarketplaceEntry> {
    let detail = agreement_detail(agreement, a);
    SIDES.iter().map(|side| entry(format!("{name} - {side}"), detail.clone(), request_id, time)).collect()
}

fn agreement_detail(agreement: Value, a: &Agreement) -> Value {
    json!({
        "agreement": agreement,
        "resaleAuthorization": {"id": a.opportunity_id},
        "acceptor": {"accountId": a.buyer_account_id},
        "proposer": {"accountId": a.reseller_account_id},
        "manufacturer": {"accountId": a.isv_account_id},
        "offer": {"id": a.offer_id},
        "product": {"id": a.product_id},
    })
}

/// Ours, where AWS Marketplace has no event: `Invoice Issued`, with what the buyer owes and by
/// when, never the wholesale or fee parts.
pub fn invoice_issued(i: &Invoice, request_id: &str, time: DateTime<Utc>) -> MarketplaceEntry {
    let mut invoice = json!({
        "id": i.invoice_id,
        "kind": i.kind,
        "issueDate": i.issue_date,
        "dueDate": i.due_date,
        "currencyCode": i.currency.code(),
        "amount": i.buyer_total,
    });
    if let (Some(start), Some(end)) = (i.period_start, i.period_end) {
        invoice["billingPeriod"] = json!({"startDate": start, "endDate": end});
    }
    let detail = json!({
        "invoice": invoice,
        "agreement": {"id": i.agreement_id},
        "offer": {"id": i.offer_id},
        "product": {"id": i.product_id},
        "resaleAuthorization": {"id": i.opportunity_id},
        "acceptor": {"accountId": i.buyer_account_id},
        "sellerOfRecord": {"accountId": i.reseller_account_id},
        "manufacturer": {"accountId": i.isv_account_id},
    });
    entry("Invoice Issued".into(), detail, request_id, time)
}

/// Ours, where AWS Marketplace has no event: `Resale Authorization Created`, `Expired` or
/// `Restricted`. The products and dates, never the discount.
pub fn resale_authorization(o: &Opportunity, what: &str, reason: Option<&str>, request_id: &str, time: DateTime<Utc>) -> MarketplaceEntry {
    let mut detail = json!({
        "resaleAuthorization": {
            "id": o.opportunity_id,
            "name": o.name,
            "endDate": o.duration.end_date().map(last_instant),
            "renewal": o.renewal,
        },
        "manufacturer": {"accountId": o.isv_account_id},
        "reseller": {"accountId": o.reseller_account_id},
        "products": o.products.iter().map(|p| json!({"id": p.product_id, "title": p.title})).collect::<Vec<_>>(),
        "targetedBuyerAccountIds": o.buyer_account_ids,
        "reason": reason,
    });
    if what == "Restricted" {
        detail["restrictedBy"] = json!(o.restricted_by);
    }
    entry(format!("Resale Authorization {what}"), detail, request_id, time)
}
