//! Invoices: what the buyer is billed on the agreement's terms, each split into the same four
//! parts as the agreement.
//!
//! An agreement's invoices follow from it: its upfront invoice or the payments of its schedule
//! (its plan), and one a month for metered usage. Only what has happened is recorded: an invoice
//! once issued (stored with its event) and each month's usage as it was billed. Invoices still to
//! come are derived from the agreement at the moment of reading, so accepting, cancelling or
//! replacing a deal of 60 payments writes none of them.

use crate::agreement::Agreement;
pub use crate::billing::{usage_issued_at, Billing, Metered, UsageBill};
use crate::ids::AccountId;
use crate::money::Currency;
use crate::party::{party_of, Party};
use crate::pricing::{split, Disbursement};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceKind {
    Upfront,
    Scheduled,
    Usage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Scheduled,
    Issued,
    Cancelled,
}

impl InvoiceStatus {
    pub fn parse(raw: &str) -> Option<InvoiceStatus> {
        match raw {
            "scheduled" => Some(InvoiceStatus::Scheduled),
            "issued" => Some(InvoiceStatus::Issued),
            "cancelled" => Some(InvoiceStatus::Cancelled),
            _ => None,
        }
    }
}

/// One line of an invoice: a contract dimension's units, a payment, or a usage dimension's
/// quantity; `lineTotal` is the buyer's amount, `wholesaleAmount` the ISV's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wholesale_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wholesale_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_rate: Option<Decimal>,
    pub wholesale_amount: Decimal,
    pub line_total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub invoice_id: String,
    pub agreement_id: String,
    pub offer_id: String,
    pub opportunity_id: String,
    pub product_id: String,
    pub isv_account_id: AccountId,
    pub reseller_account_id: AccountId,
    pub buyer_account_id: AccountId,
    pub kind: InvoiceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<NaiveDate>,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub status: InvoiceStatus,
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
    pub buyer_total: Decimal,
    pub disbursement: Disbursement,
    /// See `Offer::non_recurring`: the billing report's buyer of record.
    #[serde(default)]
    pub non_recurring: bool,
}

const PREFIX: &str = "inv-";

/// An invoice's id: its agreement's and what it bills (`up`, `p01`..`p60`, `u202703`), so the
/// id alone finds the agreement it follows from, and issuing it twice is one write.
fn invoice_id(agreement_id: &str, what: &str) -> String {
    format!("{PREFIX}{}-{what}", agreement_id.strip_prefix("agr-").unwrap_or(agreement_id))
}

/// The agreement an invoice id names, when it is one this service could have minted.
pub fn agreement_of(invoice_id: &str) -> Option<String> {
    let (hex, what) = invoice_id.strip_prefix(PREFIX)?.split_once('-')?;
    let hex_ok = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let what_ok = what == "up"
        || what.strip_prefix('p').is_some_and(|n| digits(n, 2) && n != "00")
        || what.strip_prefix('u').is_some_and(|n| digits(n, 6));
    (hex_ok && what_ok).then(|| format!("agr-{hex}"))
}

impl Invoice {
    pub fn party(&self, caller: &AccountId) -> Option<Party> {
        party_of(caller, &self.isv_account_id, &self.reseller_account_id, &self.buyer_account_id)
    }

    /// The API's shape for `caller`: all of it for the ISV and the reseller, the buyer's own
    /// amounts alone for the buyer.
    pub fn view(&self, caller: &AccountId) -> Value {
        if self.party(caller) == Some(Party::Buyer) {
            return serde_json::to_value(BuyerInvoiceView::of(self)).unwrap_or(Value::Null);
        }
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("nonRecurring");
        }
        value
    }
}

/// Every invoice of `a` at `now`: its plan in issue order, then its months of usage in the order
/// they were billed. Only ever appended to, so a list's place inside an agreement holds.
pub fn invoices(a: &Agreement, now: DateTime<Utc>) -> Vec<Invoice> {
    let mut all = plan(a, now);
    all.extend(a.billing.usage.iter().map(|bill| usage_invoice(a, bill)));
    all
}

/// The agreement's upfront invoice, or one per payment of its schedule, each with its status at
/// `now`: issued once its date has come (stored or not), cancelled when the agreement ended
/// before it, scheduled until then.
pub fn plan(a: &Agreement, now: DateTime<Utc>) -> Vec<Invoice> {
    let status = |index: usize, issue_date: NaiveDate| {
        if index < a.billing.plan_issued as usize {
            InvoiceStatus::Issued
        } else if a.cancels(issue_date) {
            InvoiceStatus::Cancelled
        } else if issue_date <= now.date_naive() {
            InvoiceStatus::Issued
        } else {
            InvoiceStatus::Scheduled
        }
    };
    // The same choice as `Agreement::plan_dates`, which the due index is kept by.
    let planned = if !a.pricing.payments.is_empty() {
        scheduled(a)
    } else if a.pricing.lines.is_empty() {
        Vec::new()
    } else {
        vec![upfront(a)]
    };
    planned.into_iter().enumerate().map(|(i, inv)| Invoice { status: status(i, inv.issue_date), ..inv }).collect()
}

/// The plan's invoices issued by `now` but not yet recorded, at most `most`.
fn plan_due(a: &Agreement, now: DateTime<Utc>, most: usize) -> Vec<Invoice> {
    plan(a, now).into_iter().skip(a.billing.plan_issued as usize).take_while(|i| i.status == InvoiceStatus::Issued).take(most).collect()
}

/// The plan's invoices issued by `now` and not yet recorded (at most `most`), and `a` as it
/// records them: what the acceptance, or later the sweep, stores with their events.
pub fn issue_due(a: &Agreement, now: DateTime<Utc>, most: usize) -> (Agreement, Vec<Invoice>) {
    let due = plan_due(a, now, most);
    let mut next = a.clone();
    next.billing.plan_issued += u32::try_from(due.len()).unwrap_or(0);
    (next, due)
}

/// The usage period due at `now`, if any.
pub fn usage_due(a: &Agreement, now: DateTime<Utc>) -> Option<(NaiveDate, NaiveDate)> {
    a.next_usage_period().filter(|(_, end)| usage_issued_at(*end) <= now)
}

/// `a` with the usage of `period` billed, and its invoice: none when nothing was used.
pub fn bill_usage(a: &Agreement, period: (NaiveDate, NaiveDate), metered: Vec<Metered>) -> (Agreement, Option<Invoice>) {
    let mut next = a.clone();
    next.billing.usage_through = Some(period.1);
    // In the rates' order, and only dimensions the agreement meters; zero quantities bill nothing.
    let quantities: Vec<Metered> = a
        .pricing
        .usage_rates
        .iter()
        .filter_map(|r| {
            let quantity: u64 = metered.iter().filter(|m| m.dimension_key == r.dimension_key).map(|m| m.quantity).sum();
            (quantity > 0).then(|| Metered { dimension_key: r.dimension_key.clone(), quantity })
        })
        .collect();
    if quantities.is_empty() {
        return (next, None);
    }
    let bill = UsageBill { period_start: period.0, period_end: period.1, quantities };
    let invoice = usage_invoice(a, &bill);
    next.billing.usage.push(bill);
    (next, Some(invoice))
}

/// The parts every invoice of `a` shares.
fn base(a: &Agreement, kind: InvoiceKind, what: &str, issue_date: NaiveDate, disbursement: Disbursement) -> Invoice {
    Invoice {
        invoice_id: invoice_id(&a.agreement_id, what),
        agreement_id: a.agreement_id.clone(),
        offer_id: a.offer_id.clone(),
        opportunity_id: a.opportunity_id.clone(),
        product_id: a.product_id.clone(),
        isv_account_id: a.isv_account_id.clone(),
        reseller_account_id: a.reseller_account_id.clone(),
        buyer_account_id: a.buyer_account_id.clone(),
        kind,
        period_start: None,
        period_end: None,
        issue_date,
        due_date: issue_date.checked_add_days(Days::new(a.net_payment_term_days.into())).unwrap_or(NaiveDate::MAX),
        status: InvoiceStatus::Scheduled,
        currency: a.disbursement.currency,
        lines: Vec::new(),
        buyer_total: disbursement.buyer_total,
        disbursement,
        non_recurring: a.non_recurring,
    }
}

/// The contract lines, billed on the start date with the agreement's own disbursement.
fn upfront(a: &Agreement) -> Invoice {
    let currency = a.disbursement.currency;
    let lines = a
        .pricing
        .lines
        .iter()
        .map(|l| InvoiceLine {
            dimension_key: Some(l.dimension_key.clone()),
            payment_number: None,
            units: Some(l.units),
            quantity: None,
            wholesale_price: Some(l.wholesale_price),
            buyer_price: Some(l.buyer_price),
            wholesale_rate: None,
            buyer_rate: None,
            wholesale_amount: currency.round(Decimal::from(l.units) * l.wholesale_price),
            line_total: l.line_total,
        })
        .collect();
    Invoice { lines, ..base(a, InvoiceKind::Upfront, "up", a.start_date, a.disbursement.clone()) }
}

/// One invoice per payment. The agreement's two fees are shared out over the payments in
/// proportion to each payment's wholesale and markup parts, by largest remainder, so the
/// invoices add up exactly to the agreement's disbursement and no fee is negative.
fn scheduled(a: &Agreement) -> Vec<Invoice> {
    let d = &a.disbursement;
    let payments = &a.pricing.payments;
    let wholesale: Vec<Decimal> = payments.iter().map(|p| p.wholesale_amount).collect();
    let markup: Vec<Decimal> = payments.iter().map(|p| p.buyer_amount - p.wholesale_amount).collect();
    let isv_fees = share(d.isv_fee, &wholesale, d.currency);
    let reseller_fees = share(d.reseller_fee, &markup, d.currency);
    payments
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (isv_fee, reseller_fee) = (isv_fees[i], reseller_fees[i]);
            let disbursement = Disbursement {
                currency: d.currency,
                buyer_total: p.buyer_amount,
                wholesale_total: p.wholesale_amount,
                markup_total: markup[i],
                fee_rate: d.fee_rate,
                isv_fee,
                isv_net: p.wholesale_amount - isv_fee,
                reseller_fee,
                reseller_net: markup[i] - reseller_fee,
            };
            let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let line = InvoiceLine {
                dimension_key: None,
                payment_number: Some(number),
                units: None,
                quantity: None,
                wholesale_price: None,
                buyer_price: None,
                wholesale_rate: None,
                buyer_rate: None,
                wholesale_amount: p.wholesale_amount,
                line_total: p.buyer_amount,
            };
            let what = format!("p{number:02}");
            Invoice { lines: vec![line], ..base(a, InvoiceKind::Scheduled, &what, p.invoice_date, disbursement) }
        })
        .collect()
}

/// Shares `total` (in the currency's minor unit) over `weights` in proportion, by largest
/// remainder, ties to the earlier; every share is a whole minor unit and they add up to `total`.
pub fn share(total: Decimal, weights: &[Decimal], currency: Currency) -> Vec<Decimal> {
    let unit = Decimal::new(1, currency.minor_places());
    let sum: Decimal = weights.iter().sum();
    if sum.is_zero() || total.is_zero() {
        return weights.iter().map(|_| currency.round(Decimal::ZERO)).collect();
    }
    let units = (total / unit).round();
    let exact: Vec<Decimal> = weights.iter().map(|w| units * *w / sum).collect();
    let mut shares: Vec<Decimal> = exact.iter().map(|e| e.floor()).collect();
    let mut left = units - shares.iter().sum::<Decimal>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest remainder first; a stable sort keeps the earlier payment first on a tie.
    order.sort_by(|x, y| (exact[*y] - shares[*y]).cmp(&(exact[*x] - shares[*x])));
    for i in order {
        if left <= Decimal::ZERO {
            break;
        }
        shares[i] += Decimal::ONE;
        left -= Decimal::ONE;
    }
    shares.into_iter().map(|s| currency.round(s * unit)).collect()
}

/// A month's usage at the buyer's and the wholesale rates, split at the agreement's fee rate.
fn usage_invoice(a: &Agreement, bill: &UsageBill) -> Invoice {
    let currency = a.disbursement.currency;
    let zero = currency.round(Decimal::ZERO);
    let lines: Vec<InvoiceLine> = bill
        .quantities
        .iter()
        .filter_map(|m| {
            let rate = a.pricing.usage_rates.iter().find(|r| r.dimension_key == m.dimension_key)?;
            let quantity = Decimal::from(m.quantity);
            Some(InvoiceLine {
                dimension_key: Some(m.dimension_key.clone()),
                payment_number: None,
                units: None,
                quantity: Some(m.quantity),
                wholesale_price: None,
                buyer_price: None,
                wholesale_rate: Some(rate.wholesale_rate),
                buyer_rate: Some(rate.buyer_rate),
                wholesale_amount: currency.round(quantity * rate.wholesale_rate),
                line_total: currency.round(quantity * rate.buyer_rate),
            })
        })
        .collect();
    let wholesale = lines.iter().fold(zero, |sum, l| sum + l.wholesale_amount);
    let buyer = lines.iter().fold(zero, |sum, l| sum + l.line_total);
    let disbursement = split(wholesale, buyer, currency, a.disbursement.fee_rate);
    let issue_date = bill.period_end.succ_opt().unwrap_or(NaiveDate::MAX);
    let what = format!("u{:04}{:02}", bill.period_start.year(), bill.period_start.month());
    Invoice {
        lines,
        period_start: Some(bill.period_start),
        period_end: Some(bill.period_end),
        status: InvoiceStatus::Issued,
        ..base(a, InvoiceKind::Usage, &what, issue_date, disbursement)
    }
}

/// What a buyer may see of an invoice: an allowlist, so a new wholesale field never leaks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuyerInvoiceView<'a> {
    invoice_id: &'a str,
    agreement_id: &'a str,
    offer_id: &'a str,
    opportunity_id: &'a str,
    product_id: &'a str,
    isv_account_id: &'a AccountId,
    reseller_account_id: &'a AccountId,
    buyer_account_id: &'a AccountId,
    kind: InvoiceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    period_start: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period_end: Option<NaiveDate>,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    status: InvoiceStatus,
    currency: Currency,
    lines: Vec<BuyerLine<'a>>,
    buyer_total: Decimal,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuyerLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    dimension_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    units: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    buyer_price: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    buyer_rate: Option<Decimal>,
    line_total: Decimal,
}

impl<'a> BuyerInvoiceView<'a> {
    fn of(i: &'a Invoice) -> Self {
        BuyerInvoiceView {
            invoice_id: &i.invoice_id,
            agreement_id: &i.agreement_id,
            offer_id: &i.offer_id,
            opportunity_id: &i.opportunity_id,
            product_id: &i.product_id,
            isv_account_id: &i.isv_account_id,
            reseller_account_id: &i.reseller_account_id,
            buyer_account_id: &i.buyer_account_id,
            kind: i.kind,
            period_start: i.period_start,
            period_end: i.period_end,
            issue_date: i.issue_date,
            due_date: i.due_date,
            status: i.status,
            currency: i.currency,
            lines: i
                .lines
                .iter()
                .map(|l| BuyerLine {
                    dimension_key: l.dimension_key.as_deref(),
                    payment_number: l.payment_number,
                    units: l.units,
                    quantity: l.quantity,
                    buyer_price: l.buyer_price,
                    buyer_rate: l.buyer_rate,
                    line_total: l.line_total,
                })
                .collect(),
            buyer_total: i.buyer_total,
        }
    }
}

#[cfg(test)]
#[path = "invoice_tests.rs"]
mod tests;
