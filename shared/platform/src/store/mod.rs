//! The one DynamoDB table. Every item carries `pk`/`sk`, its `kind` and a `version`; list access
//! goes through three party indexes and the sweep through a sparse index of what can still expire.
//!
//! | item        | pk                  | byIsv (gsi1)        | byReseller (gsi2)        | byBuyer (gsi3)   | byDue      |
//! |-------------|---------------------|---------------------|--------------------------|------------------|------------|
//! | seller      | SELLER#acct         |                     | RESELLERS (registered)   |                  |            |
//! | product     | PRODUCT#id          | ISV#acct            |                          |                  |            |
//! | opportunity | OPPORTUNITY#id      | ISV#acct            | RESELLER#acct            |                  | while active with an end |
//! | offer       | OFFER#id            | ISV#acct            | RESELLER#acct            | BUYER#acct       | while extended |
//! | agreement   | AGREEMENT#id        | ISV#acct            | RESELLER#acct            | BUYER#acct       | while active |
//! | event       | DEAL#deal, EVENT#n  |                     |                          |                  | EVENTS#hour (time index) |
//! | deal handled| DEAL#deal, HANDLED  |                     |                          |                  |            |
//! | email claim | EMAIL#event#group   |                     |                          |                  |            |
//! | invoice     | INVOICE#id          | ISV#acct            | RESELLER#acct            | BUYER#acct       |            |
//! | usage total | AGREEMENT#id, USAGE#month#dimension |     |                          |                  |            |
//! | usage record| METER#agreement#dimension#hour |          |                          |                  |            |
//! | idempotency | IDEMPOTENCY#caller#route#key |            |                          |                  |            |
//!
//! Index sort keys are `KIND#createdAt#id` (an invoice's `INVOICE#issueDate#id`), so a page is
//! newest first and a cursor is one string. An agreement stays in the due index while it has an
//! invoice still to issue, even once it has ended (its last month's usage).

mod aggregates;
mod billing;
mod events;
mod idempotency;
mod items;
mod page;

pub use aggregates::*;
pub use billing::{invoice_item, invoices_issued, issued_writes, metering_writes, Outcome, StoredInvoice, INVOICE};
pub use events::{event_item, events_hour, EVENT, EVENT_KEEP_DAYS};
pub use idempotency::{Claim, Claimed, Recorded, IDEMPOTENCY, PART_BYTES as ANSWER_PART_BYTES};
pub use items::{due_shards, parse as parse_item, string_attr, Index, Versioned, LEGACY_DUE_PARTITION};
pub use page::{Page, Position, Stream};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use thiserror::Error;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Error, PartialEq)]
pub enum StoreError {
    /// A condition failed: someone else changed the item since we read it.
    #[error("a conditional write lost to a concurrent change")]
    Conflict,
    /// DynamoDB cancelled the write because another transaction was on one of its items at that
    /// moment; nothing was written, and the same write may simply be sent again.
    #[error("a write was cancelled by a concurrent transaction on its items")]
    Contended,
    #[error("DynamoDB throttled the request")]
    Throttled,
    #[error("DynamoDB call failed: {0}")]
    Aws(String),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
}

const THROTTLE_CODES: &[&str] = &["ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"];

pub(crate) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error().and_then(|e| e.code()) {
        Some("ConditionalCheckFailedException") => StoreError::Conflict,
        Some("TransactionConflictException") => StoreError::Contended,
        Some(code) if THROTTLE_CODES.contains(&code) => StoreError::Throttled,
        _ => StoreError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string()),
    }
}

/// A write in a transaction, with the state it is conditional on.
pub enum Write {
    /// A new item: fails if the key exists.
    Create(Item),
    /// Replaces an item read at `version`: fails if anyone wrote it since.
    Replace(Item, u64),
    /// Changes some attributes in place, conditional on the item's state alone, so writers that
    /// touch other attributes (a counter, a description) never conflict with each other.
    Update(Update),
    /// A whole item, written if `Condition` holds (always, without one).
    Put(Item, Option<Condition>),
    /// Writes nothing: the transaction goes through only if the item at `pk`/`sk` meets the condition.
    Check(String, String, Condition),
}

/// A condition expression with its own attribute aliases (`#name`, `:value`).
#[derive(Debug, Clone, Default)]
pub struct Condition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: Item,
}

impl Condition {
    pub fn new(expression: impl Into<String>) -> Condition {
        Condition { expression: expression.into(), ..Condition::default() }
    }

    pub fn name(mut self, alias: &str, attribute: &str) -> Condition {
        self.names.insert(alias.into(), attribute.into());
        self
    }

    pub fn value(mut self, alias: &str, value: AttributeValue) -> Condition {
        self.values.insert(alias.into(), value);
        self
    }
}

/// An in-place change of one item: attributes set, numbers added to, attributes removed.
#[derive(Debug, Clone)]
pub struct Update {
    pub pk: String,
    pub sk: String,
    set: Vec<(String, AttributeValue)>,
    add: Vec<(String, i64)>,
    remove: Vec<String>,
    condition: Condition,
}

impl Update {
    /// An update of an item that must exist.
    pub fn of(pk: impl Into<String>, sk: impl Into<String>) -> Update {
        Update {
            pk: pk.into(),
            sk: sk.into(),
            set: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            condition: Condition::new("attribute_exists(pk)"),
        }
    }

    pub fn set(mut self, attribute: &str, value: AttributeValue) -> Update {
        self.set.push((attribute.into(), value));
        self
    }

    pub fn add(mut self, attribute: &str, by: i64) -> Update {
        self.add.push((attribute.into(), by));
        self
    }

    pub fn remove(mut self, attribute: &str) -> Update {
        self.remove.push(attribute.into());
        self
    }

    /// An update that creates the item when it is not there yet (an `ADD` then starts from 0).
    pub fn upsert(pk: impl Into<String>, sk: impl Into<String>) -> Update {
        Update { condition: Condition::default(), ..Update::of(pk, sk) }
    }

    /// Also requires `condition` (beside the item's existence).
    pub fn only_if(mut self, condition: Condition) -> Update {
        self.condition.expression = format!("attribute_exists(pk) AND ({})", condition.expression);
        self.condition.names.extend(condition.names);
        self.condition.values.extend(condition.values);
        self
    }

    /// The update expression, every attribute behind an alias so no reserved word can bite.
    fn expression(&self) -> (String, HashMap<String, String>, Item) {
        let mut names = self.condition.names.clone();
        let mut values = self.condition.values.clone();
        let mut clauses = Vec::new();
        let alias = |attribute: &str, names: &mut HashMap<String, String>| {
            let key = format!("#u{}", names.len());
            names.insert(key.clone(), attribute.to_string());
            key
        };
        let sets: Vec<String> = self
            .set
            .iter()
            .enumerate()
            .map(|(i, (attribute, value))| {
                values.insert(format!(":s{i}"), value.clone());
                format!("{} = :s{i}", alias(attribute, &mut names))
            })
            .collect();
        if !sets.is_empty() {
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        let adds: Vec<String> = self
            .add
            .iter()
            .enumerate()
            .map(|(i, (attribute, by))| {
                values.insert(format!(":a{i}"), AttributeValue::N(by.to_string()));
                format!("{} :a{i}", alias(attribute, &mut names))
            })
            .collect();
        if !adds.is_empty() {
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        let removes: Vec<String> = self.remove.iter().map(|attribute| alias(attribute, &mut names)).collect();
        if !removes.is_empty() {
            clauses.push(format!("REMOVE {}", removes.join(", ")));
        }
        (clauses.join(" "), names, values)
    }

    fn key(&self) -> Item {
        key_of(&self.pk, &self.sk)
    }

    fn condition_expression(&self) -> Option<String> {
        (!self.condition.expression.is_empty()).then(|| self.condition.expression.clone())
    }
}

fn key_of(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), AttributeValue::S(pk.to_string())), ("sk".to_string(), AttributeValue::S(sk.to_string()))])
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store { client, table: table.into() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes every item or none, each conditional on the state it was read in. A transaction
    /// DynamoDB cancelled for another one on its items is sent again, after a jittered wait.
    pub async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match self.transact_or_refused(writes).await? {
            Outcome::Written => Ok(()),
            Outcome::Refused(_) => Err(StoreError::Conflict),
        }
    }

    /// Several writes as one transaction; a single one as a plain write (one action, same rules).
    pub async fn write_all(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        match writes.len() {
            0 => Ok(()),
            1 => self.put(writes.remove(0)).await,
            _ => self.transact(writes).await,
        }
    }

    /// One item, conditionally: the single-item form of `transact`.
    pub async fn put(&self, write: Write) -> Result<(), StoreError> {
        if let Write::Update(update) = write {
            return self.update(update).await.map(|_| ());
        }
        let (item, condition) = condition_of(write)?;
        let (expression, names, values) = parts_of(condition);
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        again_while_contended(|| async { request.clone().send().await.map(|_| ()).map_err(classify) }).await
    }

    /// Applies `update` and answers the item as it now stands.
    pub async fn update(&self, update: Update) -> Result<Item, StoreError> {
        let (expression, names, values) = update.expression();
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key()))
            .update_expression(expression)
            .set_condition_expression(update.condition_expression())
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        again_while_contended(|| async { request.clone().send().await.map(|out| out.attributes.unwrap_or_default()).map_err(classify) })
            .await
    }

    /// Deletes an item if `condition` holds.
    pub async fn delete_if(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .condition_expression(condition.expression)
            .set_expression_attribute_names((!condition.names.is_empty()).then_some(condition.names))
            .set_expression_attribute_values((!condition.values.is_empty()).then_some(condition.values))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    pub(super) fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Aws(e.to_string());
        if let Write::Check(pk, sk, condition) = write {
            let (expression, names, values) = parts_of(Some(condition));
            let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key_of(&pk, &sk)))
                .set_condition_expression(expression)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(built)?;
            return Ok(TransactWriteItem::builder().condition_check(check).build());
        }
        if let Write::Update(update) = write {
            let (expression, names, values) = update.expression();
            let item = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .set_key(Some(update.key()))
                .update_expression(expression)
                .set_condition_expression(update.condition_expression())
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(built)?;
            return Ok(TransactWriteItem::builder().update(item).build());
        }
        let (item, condition) = condition_of(write)?;
        let (expression, names, values) = parts_of(condition);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }
}

/// The whole item a put writes, and the condition it is written on.
fn condition_of(write: Write) -> Result<(Item, Option<Condition>), StoreError> {
    match write {
        Write::Create(item) => Ok((item, Some(Condition::new("attribute_not_exists(pk)")))),
        Write::Replace(item, version) => Ok((
            item,
            Some(Condition::new("#version = :read").name("#version", "version").value(":read", AttributeValue::N(version.to_string()))),
        )),
        Write::Put(item, condition) => Ok((item, condition)),
        Write::Update(update) => Err(StoreError::Aws(format!("the update of {} is not a put", update.pk))),
        Write::Check(pk, ..) => Err(StoreError::Aws(format!("the check of {pk} is not a put"))),
    }
}

/// Tries of a write DynamoDB keeps cancelling for concurrent transactions on its items.
const CONTENDED_TRIES: u32 = 6;
const BACKOFF_BASE_MS: u64 = 10;
const BACKOFF_CAP_MS: u64 = 500;

/// "Full jitter": a random wait up to an exponentially growing cap, so racers spread out.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let cap = BACKOFF_CAP_MS.min(BACKOFF_BASE_MS << attempt.min(16));
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    std::time::Duration::from_millis(random % (cap + 1))
}

/// Sends a write again while DynamoDB cancels it for a concurrent transaction: nothing of it was
/// written, so the same request is safe to repeat.
pub(super) async fn again_while_contended<T, F, Fut>(send: F) -> Result<T, StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut tries = 1;
    loop {
        match send().await {
            Err(StoreError::Contended) if tries < CONTENDED_TRIES => {
                tracing::debug!(tries, "write cancelled by a concurrent transaction; sending it again");
                tokio::time::sleep(backoff(tries)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

type Parts = (Option<String>, Option<HashMap<String, String>>, Option<Item>);

fn parts_of(condition: Option<Condition>) -> Parts {
    match condition {
        None => (None, None, None),
        Some(c) => (Some(c.expression), (!c.names.is_empty()).then_some(c.names), (!c.values.is_empty()).then_some(c.values)),
    }
}

pub(super) fn transaction_error<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
        let codes: Vec<&str> = cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
        // A failed condition is a decision; a conflict alone only says "not now".
        if codes.contains(&"ConditionalCheckFailed") {
            return StoreError::Conflict;
        }
        if codes.contains(&"TransactionConflict") {
            return StoreError::Contended;
        }
        if codes.iter().any(|c| c.contains("Throttl") || c.contains("ProvisionedThroughput") || c.contains("RequestLimit")) {
            return StoreError::Throttled;
        }
    }
    classify(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_waits_grow_and_stay_under_the_cap() {
        for attempt in 1..10 {
            let cap = BACKOFF_CAP_MS.min(BACKOFF_BASE_MS << attempt);
            assert!((0..20).all(|_| backoff(attempt).as_millis() <= u128::from(cap)));
        }
        let waits: std::collections::BTreeSet<u128> = (0..50).map(|_| backoff(6).as_millis()).collect();
        assert!(waits.len() > 5, "the waits are spread, not one fixed delay: {waits:?}");
    }
}
