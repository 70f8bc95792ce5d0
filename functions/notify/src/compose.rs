//! The words of each email. Recipients are the ISV's people or the reseller, never the buyer, so
//! figures from the disbursement may appear; nothing here is logged.

use cppo_domain::event::{Event, EventDetail, EventType};
use cppo_domain::opportunity::{Opportunity, RestrictedBy};
use cppo_platform::mailer::Email;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Stakeholders,
    Reseller,
}

pub fn compose(event: &Event, group: Group, opportunity: Option<&Opportunity>, to: Vec<String>) -> Email {
    let name = opportunity.map(|o| o.name.as_str()).unwrap_or(event.opportunity_id.as_str());
    let subject = format!("{}: {name}", title(event));
    let mut lines = vec![intro(event, group).to_string(), String::new()];
    lines.push(format!("Opportunity: {} ({name})", event.opportunity_id));
    if let Some(offer) = &event.offer_id {
        lines.push(format!("Offer: {offer}"));
    }
    if let Some(agreement) = &event.agreement_id {
        lines.push(format!("Agreement: {agreement}"));
    }
    lines.extend(details(&event.detail));
    lines.push(String::new());
    lines.push(format!("Event {} at {}", event.event_id, cppo_domain::time::stamp(event.occurred_at)));
    Email { to, subject, body: lines.join("\n") }
}

/// The event in words; an amendment's new order says it is an order modification.
fn title(event: &Event) -> &'static str {
    match (&event.event_type, &event.detail) {
        (EventType::OfferAccepted, EventDetail::Agreement { previous_agreement_id: Some(_), .. }) => {
            "Private offer accepted, order modification ready to book"
        }
        (kind, _) => kind.title(),
    }
}

fn intro(event: &Event, group: Group) -> &'static str {
    use EventType::*;
    use Group::*;
    let by_reseller = matches!(event.detail, EventDetail::Opportunity { restricted_by: Some(RestrictedBy::Reseller), .. });
    match (event.event_type, group) {
        (OpportunityRevoked, Stakeholders) if by_reseller => {
            "The channel partner ended a resale authorization it held. Offers already made from it stay open."
        }
        (OpportunityRevoked, Reseller) if by_reseller => "You ended a resale authorization you held. Offers you already made stay open.",
        (OpportunityCreated, _) => "An ISV has authorized you to resell its products through AWS Marketplace.",
        (OfferExtended, _) => "A channel partner used your resale authorization to extend a private offer.",
        (OfferAccepted, Stakeholders) => {
            "A buyer accepted a private offer made under your resale authorization. The new order is ready to book."
        }
        (OfferAccepted, Reseller) => "Your buyer accepted your private offer. The new order is ready to book.",
        (OpportunityExpired, Stakeholders) => "Your resale authorization has expired: its end date has passed.",
        (OpportunityExpired, Reseller) => "A resale authorization you hold has expired: no new offers can be made from it.",
        (OpportunityRevoked, Stakeholders) => "You revoked a resale authorization. Offers already made from it stay open.",
        (OpportunityRevoked, Reseller) => "The ISV revoked a resale authorization you hold. Offers you already made stay open.",
        (OfferExpired, _) => "A private offer expired before the buyer accepted it.",
        (OfferCancelled, _) => "A private offer was cancelled by the channel partner.",
        (AgreementExpired, Stakeholders) => "An agreement sold under your resale authorization has ended. It is time to renew.",
        (AgreementExpired, Reseller) => "An agreement you resold has ended. It is time to renew.",
        (AgreementEnding, Stakeholders) => "An agreement sold under your resale authorization ends soon. It is time to renew.",
        (AgreementEnding, Reseller) => "An agreement you resold ends soon. It is time to renew.",
        (AgreementReplaced, _) => "An agreement was replaced by its successor.",
        (CancellationRequested, Stakeholders) => {
            "The channel partner asked the buyer to cancel an agreement sold under your resale authorization."
        }
        (CancellationRequested, Reseller) => "You asked the buyer to cancel an agreement. It stays active until the buyer accepts.",
        (CancellationRejected, _) => "The buyer rejected the request to cancel an agreement. The agreement stays active.",
        (CancellationWithdrawn, _) => "The channel partner withdrew its request to cancel an agreement. The agreement stays active.",
        (AgreementCancelled, _) => "The buyer accepted the request to cancel an agreement. The agreement is cancelled.",
        (InvoiceIssued, _) => "AWS Marketplace invoiced your buyer, as the seller of record, on the terms of your private offer.",
    }
}

fn details(detail: &EventDetail) -> Vec<String> {
    match detail {
        EventDetail::Opportunity { products, discount, end_date, reason, .. } => {
            let mut lines = vec![format!("Products: {}", products.join(", ")), format!("Discount: {discount}")];
            lines.push(match end_date {
                Some(d) => format!("Ends: {d}"),
                None => "Ends: no end date".to_string(),
            });
            lines.extend(reason.iter().map(|r| format!("Why: {r}")));
            lines
        }
        EventDetail::Offer { product_title, buyer_account_id, buyer_company_name, currency, buyer_total, expires_on, reason } => {
            let mut lines = vec![
                format!("Product: {product_title}"),
                format!("Buyer: {buyer_company_name} ({buyer_account_id})"),
                format!("Buyer price: {buyer_total} {currency:?}"),
                format!("Accept by: {expires_on}"),
            ];
            lines.extend(reason.iter().map(|r| format!("Why: {r}")));
            lines
        }
        EventDetail::Agreement {
            buyer_account_id,
            buyer_company_name,
            start_date,
            end_date,
            disbursement: d,
            reason,
            previous_agreement_id,
            metadata,
            days_left,
        } => {
            let buyer = buyer_company_name.as_deref().map_or(buyer_account_id.to_string(), |c| format!("{c} ({buyer_account_id})"));
            let c = format!("{:?}", d.currency);
            let mut lines: Vec<String> = previous_agreement_id.iter().map(|p| format!("Order modification of agreement: {p}")).collect();
            lines.extend(days_left.iter().map(|n| format!("Days left: {n} (it ends on {end_date})")));
            lines.extend([
                format!("Buyer: {buyer}"),
                format!("Term: {start_date} to {end_date}"),
                format!("Buyer total: {} {c}", d.buyer_total),
                format!("Wholesale total: {} {c}; markup total: {} {c}", d.wholesale_total, d.markup_total),
                format!("Fee rate: {}", d.fee_rate),
                format!("ISV: fee {} {c}, net {} {c}", d.isv_fee, d.isv_net),
                format!("Reseller: fee {} {c}, net {} {c}", d.reseller_fee, d.reseller_net),
            ]);
            // The sellers' own references: these emails go to the ISV and the reseller only.
            lines.extend(metadata.iter().flatten().map(|(k, v)| format!("Reference {k}: {v}")));
            lines.extend(reason.iter().map(|r| format!("Why: {r}")));
            lines
        }
        EventDetail::Invoice {
            invoice_id,
            invoice_kind,
            buyer_account_id,
            issue_date,
            due_date,
            period_start,
            period_end,
            disbursement: d,
        } => {
            let c = format!("{:?}", d.currency);
            let mut lines = vec![format!("Invoice: {invoice_id} ({invoice_kind:?})"), format!("Buyer: {buyer_account_id}")];
            if let (Some(start), Some(end)) = (period_start, period_end) {
                lines.push(format!("Usage from {start} to {end}"));
            }
            lines.extend([
                format!("Buyer total: {} {c}", d.buyer_total),
                format!("Issued: {issue_date}; due: {due_date}"),
                format!("Reseller: markup {} {c}, fee {} {c}, net {} {c}", d.markup_total, d.reseller_fee, d.reseller_net),
            ]);
            lines
        }
    }
}
