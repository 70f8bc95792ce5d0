//! Sweep scaling: the items the sweep reads must follow the number due, not the table's size.
//!
//! A table of each size is made from real items: a small set made through the API (sellers, a
//! product, authorizations, offers, an agreement and their events) is copied with fresh ids until
//! the table holds enough, and `DUE` copies of an authorization past its end date are added, and
//! `DUE` copies of a metered agreement whose month of usage is due to be invoiced. The sweep then
//! runs with the clock past those dates; DynamoDB's own counts say what it read.

use crate::stack::Stack;
use crate::workload::{self, Cast, ISV, RESELLER};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, Select, WriteRequest};
use cppo_domain::ids::IdKind;
use serde::Serialize;
use std::collections::HashMap;

pub const SIZES: [u64; 3] = [1_000, 10_000, 50_000];
/// Authorizations past their end date at each sweep.
pub const DUE: u64 = 100;
const BATCH: usize = 25;

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scaling {
    pub table_items: u64,
    /// Items expired.
    pub due: u64,
    /// Invoices issued (each a metered agreement's month of usage).
    #[serde(default)]
    pub invoices: u64,
    pub items_read: u64,
}

pub async fn measure(stack: &Stack) -> Result<Vec<Scaling>, String> {
    let cast = Cast::new(stack).await?;
    for (days, product) in [(365, &cast.product), (200, &cast.product)] {
        stack.ok("POST", "/opportunities", ISV, Some(&workload::opportunity_body(product, workload::until(days)))).await?;
    }
    stack.ok("POST", "/offers", RESELLER, Some(&workload::offer_body(&cast.open, &cast.product))).await?;
    let filler = copyable(&scan(stack).await?);
    let lapsing = workload::id(
        &stack.ok("POST", "/opportunities", ISV, Some(&workload::opportunity_body(&cast.product, workload::until(1)))).await?["items"][0],
        "opportunityId",
    )?;
    let lapsing: Vec<Item> = scan(stack).await?.into_iter().filter(|item| pk(item).ends_with(&lapsing)).collect();
    // The sweep's first run also settles the one authorization the copies were made from.
    delete(stack, &lapsing).await?;
    let metered = metered_deal(stack).await?;
    delete(stack, &metered).await?;
    stack.running.gateway.clock.set(Some(chrono::Utc::now() + chrono::Duration::days(3)));

    let mut copies = 0u32;
    let mut out = Vec::new();
    for size in SIZES {
        let missing = size.saturating_sub(count(stack).await? + DUE);
        let rounds = missing.div_ceil(filler.len().max(1) as u64);
        let mut items = Vec::new();
        for _ in 0..rounds {
            copies += 1;
            items.extend(filler.iter().map(|item| copy(item, copies)));
        }
        for _ in 0..DUE {
            copies += 1;
            items.extend(lapsing.iter().map(|item| copy(item, copies)));
            copies += 1;
            items.extend(metered.iter().map(|item| copy(item, copies)));
        }
        put(stack, items).await?;
        let table_items = count(stack).await?;
        stack.meter.take();
        let report = fn_expire_sweep::sweep(&stack.app).await.map_err(|e| format!("the sweep failed: {e}"))?;
        let usage = stack.meter.take();
        let expired = report.expired.opportunities + report.expired.offers + report.expired.agreements;
        out.push(Scaling { table_items, due: expired, invoices: report.invoices_issued, items_read: usage.items_read });
    }
    Ok(out)
}

/// A usage-only agreement accepted the day before this month began, with an hour of usage on
/// that day (a report the bench checks was taken): its month (that one day) is invoiced at 06:00 on the 1st. Its items (the deal's
/// authorization, offer, agreement, usage total, record and events) are what each copy repeats.
async fn metered_deal(stack: &Stack) -> Result<Vec<Item>, String> {
    use chrono::{Datelike, TimeZone};
    let today = chrono::Utc::now().date_naive();
    let first = chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1).ok_or("no first of the month")?;
    let before = chrono::Utc.from_utc_datetime(&(first.pred_opt().ok_or("no day before")?.and_hms_opt(12, 0, 0).ok_or("noon")?));
    let clock = &stack.running.gateway.clock;
    clock.set(Some(before));
    let product = serde_json::json!({"title": "Data Lake", "productType": "saas-subscription", "paid": true,
        "dimensions": [{"key": "gb", "name": "GB scanned", "unitPrice": "0.0456789", "kind": "usage"}]});
    let product = workload::id(&stack.ok("POST", "/products", ISV, Some(&product)).await?, "productId")?;
    let created = stack.ok("POST", "/opportunities", ISV, Some(&workload::opportunity_body(&product, workload::until(30)))).await?;
    let opportunity = workload::id(&created["items"][0], "opportunityId")?;
    let offer =
        workload::id(&stack.ok("POST", "/offers", RESELLER, Some(&workload::offer_body(&opportunity, &product))).await?, "offerId")?;
    let accepted = stack.ok("POST", &format!("/offers/{offer}/accept"), workload::BUYER, Some(&serde_json::json!({}))).await?;
    let agreement = workload::id(&accepted, "agreementId")?;
    // The hour of the acceptance itself: usage before it is outside the agreement's term.
    let at = before.to_rfc3339();
    let usage = serde_json::json!({"records": [{"dimensionKey": "gb", "quantity": 2500, "timestamp": at}]});
    let taken = stack.ok("POST", &format!("/agreements/{agreement}/usage"), ISV, Some(&usage)).await?;
    if taken["results"][0]["status"] != "Success" {
        return Err(format!("the bench's usage was not taken: {taken}"));
    }
    clock.set(None);
    let ids = [opportunity, offer, agreement];
    Ok(scan(stack).await?.into_iter().filter(|item| ids.iter().any(|id| pk(item).contains(id.as_str()))).collect())
}

fn pk(item: &Item) -> &str {
    item.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default()
}

/// Items that carry ids of their own to rewrite: everything but sellers and products.
fn copyable(items: &[Item]) -> Vec<Item> {
    items.iter().filter(|item| !pk(item).starts_with("SELLER#") && !pk(item).starts_with("PRODUCT#")).cloned().collect()
}

/// The item with every id it holds (keys, index keys, references, event bodies) made the n-th copy's.
fn copy(item: &Item, n: u32) -> Item {
    item.iter().map(|(k, v)| (k.clone(), rewrite_value(v, n))).collect()
}

fn rewrite_value(value: &AttributeValue, n: u32) -> AttributeValue {
    match value {
        AttributeValue::S(s) => AttributeValue::S(rewrite_ids(s, n)),
        AttributeValue::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), rewrite_value(v, n))).collect()),
        AttributeValue::L(l) => AttributeValue::L(l.iter().map(|v| rewrite_value(v, n)).collect()),
        other => other.clone(),
    }
}

/// Replaces the last 8 hex digits of every opportunity, offer, agreement and event id with `n`'s.
pub fn rewrite_ids(text: &str, n: u32) -> String {
    let mut out = text.to_string();
    for kind in [IdKind::Opportunity, IdKind::Offer, IdKind::Agreement, IdKind::Event] {
        let prefix = kind.prefix();
        let mut from = 0;
        while let Some(at) = out[from..].find(prefix).map(|i| i + from) {
            let tail = at + prefix.len() + 24;
            let end = tail + 8;
            if out.get(at..end).is_some_and(|id| kind.is_valid(id)) {
                out.replace_range(tail..end, &format!("{n:08x}"));
            }
            from = at + prefix.len();
        }
    }
    out
}

async fn scan(stack: &Stack) -> Result<Vec<Item>, String> {
    let client = &harness_client(stack);
    let table = &stack.app.config.table_name;
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client.scan().table_name(table).set_exclusive_start_key(start).send().await.map_err(|e| format!("scan: {e}"))?;
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// The harness's own client for what it counts and copies: a scan of 50,000 items takes the
/// emulator longer than the functions' 6 s call limit, which is theirs, not the harness's.
fn harness_client(stack: &Stack) -> aws_sdk_dynamodb::Client {
    let minutes = std::time::Duration::from_secs(120);
    let patient = aws_config::timeout::TimeoutConfig::builder().operation_timeout(minutes).operation_attempt_timeout(minutes).build();
    aws_sdk_dynamodb::Client::from_conf(stack.dynamodb.config().to_builder().timeout_config(patient).build())
}

async fn count(stack: &Stack) -> Result<u64, String> {
    let client = &harness_client(stack);
    let (mut total, mut start) = (0, None);
    loop {
        let page = client
            .scan()
            .table_name(&stack.app.config.table_name)
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("count: {e}"))?;
        total += u64::try_from(page.count).unwrap_or(0);
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(total);
        }
    }
}

async fn put(stack: &Stack, items: Vec<Item>) -> Result<(), String> {
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| PutRequest::builder().set_item(Some(item)).build().map(|put| WriteRequest::builder().put_request(put).build()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    write(stack, requests).await
}

async fn delete(stack: &Stack, items: &[Item]) -> Result<(), String> {
    let client = &stack.dynamodb;
    for item in items {
        let key: Item = ["pk", "sk"].iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
        client
            .delete_item()
            .table_name(&stack.app.config.table_name)
            .set_key(Some(key))
            .send()
            .await
            .map_err(|e| format!("delete: {e}"))?;
    }
    Ok(())
}

/// BatchWriteItem, 25 at a time, until nothing is left unprocessed.
async fn write(stack: &Stack, mut requests: Vec<WriteRequest>) -> Result<(), String> {
    let client = &harness_client(stack);
    let table = stack.app.config.table_name.clone();
    while !requests.is_empty() {
        let rest = requests.split_off(requests.len().min(BATCH));
        let batch = std::mem::replace(&mut requests, rest);
        let out = client.batch_write_item().request_items(&table, batch).send().await.map_err(|e| format!("batch write: {e}"))?;
        requests.extend(out.unprocessed_items.unwrap_or_default().remove(&table).unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_get_ids_of_their_own_and_keep_the_product() {
        let (opp, product) = ("opp-0123456789abcdef0123456789abcdef", "prod-0123456789abcdef0123456789abcdef");
        let text = format!("OPPORTUNITY#{opp} {{\"productId\":\"{product}\",\"opportunityId\":\"{opp}\"}}");
        let copied = rewrite_ids(&text, 7);
        let new = "opp-0123456789abcdef0123456700000007";
        assert_eq!(copied, format!("OPPORTUNITY#{new} {{\"productId\":\"{product}\",\"opportunityId\":\"{new}\"}}"));
        assert_eq!(rewrite_ids("opp-short", 7), "opp-short");
    }
}
