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
//! | event       | EVENT#id            |                     |                          |                  | until sent to SQS |
//! | email claim | EMAIL#event#group   |                     |                          |                  |            |
//! | idempotency | IDEMPOTENCY#caller#route#key |            |                          |                  |            |
//!
//! Index sort keys are `KIND#createdAt#id`, so a page is newest first and a cursor is one string.

mod aggregates;
mod idempotency;
mod items;
mod page;

pub use aggregates::*;
pub use idempotency::{Recorded, IDEMPOTENCY};
pub use items::{parse as parse_item, string_attr, Index, Versioned};
pub use page::{decode_token, Page, Position, Stream};

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
        Some("ConditionalCheckFailedException" | "TransactionConflictException") => StoreError::Conflict,
        Some(code) if THROTTLE_CODES.contains(&code) => StoreError::Throttled,
        _ => StoreError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string()),
    }
}

/// A conditional claim's outcome: true when this call took it, false when an existing claim held.
pub(crate) fn claimed<T>(result: Result<T, StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A write in a transaction, with the state it is conditional on.
pub enum Write {
    /// A new item: fails if the key exists.
    Create(Item),
    /// Replaces an item read at `version`: fails if anyone wrote it since.
    Replace(Item, u64),
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

    /// Writes every item or none, each conditional on the state it was read in.
    pub async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let items = writes.into_iter().map(|w| self.put_of(w)).collect::<Result<Vec<_>, _>>()?;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => Err(transaction_error(err)),
        }
    }

    /// One item, conditionally: the single-item form of `transact`.
    pub async fn put(&self, write: Write) -> Result<(), StoreError> {
        let (item, condition, names, values) = condition_of(write);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    fn put_of(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let (item, condition, names, values) = condition_of(write);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
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

type Names = Option<HashMap<String, String>>;
type Values = Option<HashMap<String, AttributeValue>>;

/// The condition of a write; attribute names go through aliases so no reserved word can bite.
fn condition_of(write: Write) -> (Item, String, Names, Values) {
    match write {
        Write::Create(item) => (item, "attribute_not_exists(pk)".into(), None, None),
        Write::Replace(item, version) => {
            let names = HashMap::from([("#version".to_string(), "version".to_string())]);
            let values = HashMap::from([(":read".to_string(), AttributeValue::N(version.to_string()))]);
            (item, "#version = :read".into(), Some(names), Some(values))
        }
    }
}

fn transaction_error<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() {
        let codes: Vec<&str> = cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
        if codes.iter().any(|c| *c == "ConditionalCheckFailed" || *c == "TransactionConflict") {
            return StoreError::Conflict;
        }
        if codes.iter().any(|c| c.contains("Throttl") || c.contains("ProvisionedThroughput") || c.contains("RequestLimit")) {
            return StoreError::Throttled;
        }
    }
    classify(err)
}
