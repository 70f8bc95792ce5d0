//! The sales and billing reports: one row per agreement, or per invoice, for the ISV or the
//! reseller, with its share of the money.

use crate::agreement::Agreement;
use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::invoice::{Invoice, InvoiceKind};
use crate::money::Currency;
use crate::party::Party;
use crate::pricing::Disbursement;
use crate::time::parse_date;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Isv,
    Reseller,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesRow {
    pub agreement_id: String,
    pub accepted_at: DateTime<Utc>,
    pub product_id: String,
    pub role: Role,
    pub buyer_of_record: AccountId,
    pub gross: Decimal,
    pub fee: Decimal,
    pub net: Decimal,
    pub currency: Currency,
}

/// `?from=` and `?to=`: both required dates, `from` ≤ `to`.
pub fn period(from: Option<&str>, to: Option<&str>) -> DomainResult<(NaiveDate, NaiveDate)> {
    let date = |raw: Option<&str>, field: &str| {
        raw.and_then(parse_date).ok_or_else(|| DomainError::field(field, format!("{field} is required, a date YYYY-MM-DD")))
    };
    let (from, to) = (date(from, "from")?, date(to, "to")?);
    if from > to {
        return Err(DomainError::field("from", "from must not be after to"));
    }
    Ok((from, to))
}

/// The caller's row for an agreement: the ISV's wholesale share or the reseller's markup share.
pub fn row(a: &Agreement, caller: &AccountId) -> Option<SalesRow> {
    let side = side_of(a.party(caller)?, &a.disbursement, a.non_recurring, &a.buyer_account_id, &a.reseller_account_id)?;
    Some(SalesRow {
        agreement_id: a.agreement_id.clone(),
        accepted_at: a.accepted_at,
        product_id: a.product_id.clone(),
        role: side.role,
        buyer_of_record: side.buyer_of_record,
        gross: side.gross,
        fee: side.fee,
        net: side.net,
        currency: a.disbursement.currency,
    })
}

/// `GET /reports/billing`: one row per invoice issued, with the sales report's rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingRow {
    pub invoice_id: String,
    pub agreement_id: String,
    pub issue_date: NaiveDate,
    pub kind: InvoiceKind,
    pub product_id: String,
    pub role: Role,
    pub buyer_of_record: AccountId,
    pub gross: Decimal,
    pub fee: Decimal,
    pub net: Decimal,
    pub currency: Currency,
}

/// The caller's row for an invoice, as for its agreement.
pub fn billing_row(i: &Invoice, caller: &AccountId) -> Option<BillingRow> {
    let side = side_of(i.party(caller)?, &i.disbursement, i.non_recurring, &i.buyer_account_id, &i.reseller_account_id)?;
    Some(BillingRow {
        invoice_id: i.invoice_id.clone(),
        agreement_id: i.agreement_id.clone(),
        issue_date: i.issue_date,
        kind: i.kind,
        product_id: i.product_id.clone(),
        role: side.role,
        buyer_of_record: side.buyer_of_record,
        gross: side.gross,
        fee: side.fee,
        net: side.net,
        currency: i.currency,
    })
}

struct Side {
    role: Role,
    buyer_of_record: AccountId,
    gross: Decimal,
    fee: Decimal,
    net: Decimal,
}

/// A seller's share of a disbursement. The ISV's buyer of record is the customer only for a
/// non-recurring deal (a single-use authorization with named buyers), else the reseller; the
/// reseller's is always the customer. The buyer has no row.
fn side_of(party: Party, d: &Disbursement, non_recurring: bool, buyer: &AccountId, reseller: &AccountId) -> Option<Side> {
    Some(match party {
        Party::Isv => Side {
            role: Role::Isv,
            buyer_of_record: if non_recurring { buyer.clone() } else { reseller.clone() },
            gross: d.wholesale_total,
            fee: d.isv_fee,
            net: d.isv_net,
        },
        Party::Reseller => {
            Side { role: Role::Reseller, buyer_of_record: buyer.clone(), gross: d.markup_total, fee: d.reseller_fee, net: d.reseller_net }
        }
        Party::Buyer => return None,
    })
}
