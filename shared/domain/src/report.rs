//! The sales report: one row per agreement for the ISV or the reseller, with its share of the money.

use crate::agreement::Agreement;
use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::money::Currency;
use crate::party::Party;
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
/// The ISV's buyer of record is the customer only for a non-recurring deal (a single-use
/// authorization with named buyers), else the reseller; the reseller's is always the customer.
pub fn row(a: &Agreement, caller: &AccountId) -> Option<SalesRow> {
    let d = &a.disbursement;
    let (role, buyer_of_record, gross, fee, net) = match a.party(caller)? {
        Party::Isv => {
            let buyer = if a.non_recurring { &a.buyer_account_id } else { &a.reseller_account_id };
            (Role::Isv, buyer, d.wholesale_total, d.isv_fee, d.isv_net)
        }
        Party::Reseller => (Role::Reseller, &a.buyer_account_id, d.markup_total, d.reseller_fee, d.reseller_net),
        Party::Buyer => return None,
    };
    Some(SalesRow {
        agreement_id: a.agreement_id.clone(),
        accepted_at: a.accepted_at,
        product_id: a.product_id.clone(),
        role,
        buyer_of_record: buyer_of_record.clone(),
        gross,
        fee,
        net,
        currency: d.currency,
    })
}
