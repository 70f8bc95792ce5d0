//! Billing's items: invoices once issued, and metered usage.
//!
//! | item          | pk                              | sk                      | party indexes (gsi1-3)             |
//! |---------------|---------------------------------|-------------------------|------------------------------------|
//! | invoice       | INVOICE#inv-…                   | INVOICE                 | INVOICE#issueDate#id, for each party |
//! | usage total   | AGREEMENT#agr-…                 | USAGE#2027-03#dimension |                                    |
//! | usage record  | METER#agr-…#dimension#hour      | METER                   |                                    |
//!
//! An invoice is stored once, when issued, in each party's index by its issue date: the billing
//! report is a range of it. A month's usage of a dimension is one total in its agreement's
//! partition, added to as records come, so billing the month reads one item per dimension. A
//! record's own item only stops a second record of the same dimension and hour: no record is
//! taken more than 6 hours late, so it is kept two days (DynamoDB's TTL) and then is no use.

use super::events::event_item;
use super::items::{epoch, index, index_sort, item, number, pk, s, string_attr, Index};
use super::{classify, Condition, Item, Store, StoreError, Stream, Update, Write};
use crate::store::AGREEMENT;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, NaiveDate};
use cppo_domain::agreement::{Agreement, AgreementStatus};
use cppo_domain::event::Event;
use cppo_domain::invoice::{Invoice, Metered};
use cppo_domain::time::{end_instant, stamp, start_instant};
use cppo_domain::usage::Usage;
use cppo_domain::AccountId;
use std::collections::BTreeMap;

pub const INVOICE: &str = "INVOICE";
const USAGE: &str = "USAGE";
const METER: &str = "METER";

/// How long a usage record's item is kept: long past the 6 hours in which its hour can be reported.
const METER_KEEP_DAYS: i64 = 2;

/// An invoice as stored: under its own attribute, since the invoice's `kind` (upfront, scheduled,
/// usage) is not the item's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredInvoice {
    pub invoice: Invoice,
}

pub fn invoice_item(i: &Invoice) -> Result<Item, StoreError> {
    let sort = index_sort(INVOICE, start_instant(i.issue_date), &i.invoice_id);
    let item = item(&StoredInvoice { invoice: i.clone() }, INVOICE, &i.invoice_id, 1)?;
    let item = index(item, Index::ByIsv, format!("ISV#{}", i.isv_account_id), sort.clone());
    let item = index(item, Index::ByReseller, format!("RESELLER#{}", i.reseller_account_id), sort.clone());
    Ok(index(item, Index::ByBuyer, format!("BUYER#{}", i.buyer_account_id), sort))
}

/// The invoices `a` issues now, each stored with its `invoice.issued` event, which `a` counts.
pub fn issued_writes(
    issued: &[Invoice],
    a: &mut Agreement,
    mut event_id: impl FnMut() -> String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Write>, StoreError> {
    let mut writes = Vec::with_capacity(issued.len() * 2);
    for i in issued {
        let event = Event::for_invoice(i, a, event_id(), now);
        writes.push(Write::Create(invoice_item(i)?));
        writes.push(Write::Create(event_item(&event)?));
    }
    Ok(writes)
}

/// A party's invoices issued from `from` to `to`, one stream per side.
pub fn invoices_issued(caller: &AccountId, sides: &[Index], from: NaiveDate, to: NaiveDate) -> Vec<Stream> {
    super::aggregates::in_period(caller, INVOICE, sides, start_instant(from), end_instant(to))
}

fn month(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

fn usage_sort(month: &str, dimension: &str) -> String {
    format!("{USAGE}#{month}#{dimension}")
}

/// A report's records as one transaction: the agreement still active (decided by its stored
/// state, so a cancellation at the same moment wins or loses whole) and the records' days not yet
/// billed, each record's own item
/// created only if its dimension and hour are new, and each month's total of each dimension
/// added to once. Records come first, in order, so a failed condition names its record.
pub fn metering_writes(a: &Agreement, records: &[Usage], now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Write>, StoreError> {
    let agreement_key = pk(AGREEMENT, &a.agreement_id);
    let mut writes = Vec::with_capacity(records.len() * 2 + 1);
    let mut totals: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in records {
        let hour = r.hour.format("%Y-%m-%dT%H").to_string();
        let key = format!("{METER}#{}#{}#{hour}", a.agreement_id, r.dimension_key);
        let mut record = Item::new();
        record.insert("pk".into(), s(key));
        record.insert("sk".into(), s(METER));
        record.insert("kind".into(), s(METER));
        record.insert("quantity".into(), AttributeValue::N(r.quantity.to_string()));
        record.insert("takenAt".into(), s(stamp(now)));
        record.insert("expiresAt".into(), epoch(r.hour + Duration::days(METER_KEEP_DAYS)));
        writes.push(Write::Create(record));
        *totals.entry((month(r.hour.date_naive()), r.dimension_key.clone())).or_default() += r.quantity;
    }
    for ((month, dimension), quantity) in totals {
        let update = Update::upsert(agreement_key.clone(), usage_sort(&month, &dimension))
            .set("kind", s(USAGE))
            .add("quantity", i64::try_from(quantity).unwrap_or(i64::MAX));
        writes.push(Write::Update(update));
    }
    // Nor billed meanwhile: a sweep that has read the month's totals and marked it billed wins,
    // and the records are decided again (a period already invoiced).
    let first = records.iter().map(|r| r.hour.date_naive()).min().unwrap_or_default();
    let open = Condition::new("#state = :active AND (attribute_not_exists(#billing.#through) OR #billing.#through < :first)")
        .name("#state", "state")
        .name("#billing", "billing")
        .name("#through", "usageThrough")
        .value(":active", serde_dynamo::to_attribute_value(AgreementStatus::Active).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .value(":first", s(first.format("%Y-%m-%d").to_string()));
    writes.push(Write::Check(agreement_key, AGREEMENT.into(), open));
    Ok(writes)
}

/// What a transaction of conditional writes came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Written,
    /// Nothing was written: the writes at these positions failed their conditions.
    Refused(Vec<usize>),
}

impl Store {
    /// Writes every item or none, and when a condition fails says which writes failed theirs.
    pub async fn transact_or_refused(&self, writes: Vec<Write>) -> Result<Outcome, StoreError> {
        let items = writes.into_iter().map(|w| self.transact_item(w)).collect::<Result<Vec<_>, _>>()?;
        let request = self.client.transact_write_items().set_transact_items(Some(items));
        super::again_while_contended(|| async {
            match request.clone().send().await {
                Ok(_) => Ok(Outcome::Written),
                Err(err) => refused_at(err),
            }
        })
        .await
    }

    /// The usage metered for `a` in the month of `day`, per dimension.
    pub async fn usage_in_month(&self, agreement_id: &str, day: NaiveDate) -> Result<Vec<Metered>, StoreError> {
        let prefix = format!("{USAGE}#{}#", month(day));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk(AGREEMENT, agreement_id)))
            .expression_attribute_values(":prefix", s(prefix.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let dimension = string_attr(item, "sk")?.strip_prefix(&prefix)?.to_string();
                Some(Metered { dimension_key: dimension, quantity: number(item, "quantity")? })
            })
            .collect())
    }
}

/// The positions whose conditions failed, from a cancelled transaction's reasons.
fn refused_at<R: std::fmt::Debug + Send + Sync + 'static>(err: SdkError<TransactWriteItemsError, R>) -> Result<Outcome, StoreError> {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
        let failed: Vec<usize> = cancelled
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect();
        if !failed.is_empty() {
            return Ok(Outcome::Refused(failed));
        }
    }
    Err(super::transaction_error(err))
}
