//! Items for each aggregate: how a seller, product, opportunity, offer, agreement or event is keyed
//! and indexed, and how it is read back.

use super::items::{due, due_key, due_shard, epoch, index, index_sort, item, parse, pk, s, string_attr, Index, Versioned};
use super::{classify, Condition, Item, Store, StoreError, Stream, Update, Write};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use cppo_domain::agreement::Agreement;
use cppo_domain::document::{DocumentStatus, StoredDocument};
use cppo_domain::offer::Offer;
use cppo_domain::opportunity::{Found, Named, Opportunity, OpportunityStatus};
use cppo_domain::product::Product;
use cppo_domain::seller::Seller;
use cppo_domain::time::{end_instant, stamp, start_instant};
use cppo_domain::AccountId;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

pub const SELLER: &str = "SELLER";
pub const PRODUCT: &str = "PRODUCT";
pub const OPPORTUNITY: &str = "OPPORTUNITY";
pub const OFFER: &str = "OFFER";
pub const AGREEMENT: &str = "AGREEMENT";
pub const DOCUMENT: &str = "DOCUMENT";
pub const EMAIL: &str = "EMAIL";

/// The partition of registered sellers in the reseller index: the list `GET /resellers` reads.
const RESELLERS: &str = "RESELLERS";

/// A claim on an email still `sending` this long after it was taken is left over from an attempt
/// that died: notify times out at 30 s, and the queue brings a message back after 180 s, so the
/// redelivery always finds the dead attempt's claim stale.
pub const EMAIL_CLAIM_STALE_SECONDS: i64 = 60;

fn isv_key(a: &AccountId) -> String {
    format!("ISV#{a}")
}
fn reseller_key(a: &AccountId) -> String {
    format!("RESELLER#{a}")
}
fn buyer_key(a: &AccountId) -> String {
    format!("BUYER#{a}")
}

pub fn seller_item(seller: &Seller, version: u64) -> Result<Item, StoreError> {
    let id = seller.account_id.as_str();
    let item = item(seller, SELLER, id, version)?;
    Ok(if seller.registered { index(item, Index::ByReseller, RESELLERS.into(), pk(SELLER, id)) } else { item })
}

pub fn product_item(p: &Product) -> Result<Item, StoreError> {
    let item = item(p, PRODUCT, &p.product_id, 1)?;
    Ok(index(item, Index::ByIsv, isv_key(&p.seller_account_id), index_sort(PRODUCT, p.created_at, &p.product_id)))
}

/// A legal document: read by its ID alone, by its owner, so in no index. One never completed
/// goes (TTL) a day after its upload URL expired, as its upload does (the bucket's lifecycle).
pub fn document_item(d: &StoredDocument, version: u64) -> Result<Item, StoreError> {
    let mut item = item(d, DOCUMENT, &d.document_id, version)?;
    if d.status == DocumentStatus::PendingUpload {
        item.insert("expiresAt".into(), epoch(d.upload_expires_at + Duration::days(1)));
    }
    Ok(item)
}

pub fn opportunity_item(o: &Opportunity, version: u64) -> Result<Item, StoreError> {
    let sort = index_sort(OPPORTUNITY, o.created_at, &o.opportunity_id);
    let item = item(o, OPPORTUNITY, &o.opportunity_id, version)?;
    let item = index(item, Index::ByIsv, isv_key(&o.isv_account_id), sort.clone());
    // A draft is its ISV's alone: it is in none of its reseller's lists until released.
    let item = if o.is_draft() { item } else { index(item, Index::ByReseller, reseller_key(&o.reseller_account_id), sort) };
    Ok(due(item, o.due_at()))
}

pub fn offer_item(o: &Offer, version: u64) -> Result<Item, StoreError> {
    let sort = index_sort(OFFER, o.created_at, &o.offer_id);
    let item = item(o, OFFER, &o.offer_id, version)?;
    let item = index(item, Index::ByIsv, isv_key(&o.isv_account_id), sort.clone());
    let item = index(item, Index::ByReseller, reseller_key(&o.reseller_account_id), sort.clone());
    let item = index(item, Index::ByBuyer, buyer_key(&o.buyer_account_id), sort);
    Ok(due(item, o.due_at()))
}

pub fn agreement_item(a: &Agreement, version: u64) -> Result<Item, StoreError> {
    let sort = index_sort(AGREEMENT, a.accepted_at, &a.agreement_id);
    let item = item(a, AGREEMENT, &a.agreement_id, version)?;
    let item = index(item, Index::ByIsv, isv_key(&a.isv_account_id), sort.clone());
    let item = index(item, Index::ByReseller, reseller_key(&a.reseller_account_id), sort.clone());
    let item = index(item, Index::ByBuyer, buyer_key(&a.buyer_account_id), sort);
    Ok(due(item, a.due_at()))
}

fn attribute<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Only while the stored state is still `state`: what decides a race on an opportunity.
fn while_state(state: OpportunityStatus) -> Result<Condition, StoreError> {
    Ok(Condition::new("#state = :from").name("#state", "state").value(":from", attribute(&state)?))
}

/// An in-place change of an opportunity: its time of change set, its version bumped.
fn opportunity_touched(after: &Opportunity) -> Result<Update, StoreError> {
    Ok(Update::of(pk(OPPORTUNITY, &after.opportunity_id), OPPORTUNITY).set("updatedAt", attribute(&after.updated_at)?).add("version", 1))
}

/// An in-place change of an opportunity's standing, its due keys kept or dropped with it.
fn opportunity_update(after: &Opportunity) -> Result<Update, StoreError> {
    let key = pk(OPPORTUNITY, &after.opportunity_id);
    let update = opportunity_touched(after)?;
    Ok(match after.due_at() {
        Some(at) => update.set("duePk", s(due_shard(&key))).set("dueAt", s(due_key(at, &key))),
        None => update.remove("duePk").remove("dueAt"),
    })
}

/// An offer made from `after`'s opportunity: one more counted (an `ADD`, so offers made at once
/// never conflict) and, for a single use, its consumption. Conditional only on the opportunity
/// still being active, so exactly one offer takes a single-use authorization.
pub fn opportunity_counted(after: &Opportunity) -> Result<Write, StoreError> {
    let update = opportunity_update(after)?.add("offersCreated", 1).only_if(while_state(OpportunityStatus::Active)?);
    Ok(Write::Update(if after.state == OpportunityStatus::Active { update } else { update.set("state", attribute(&after.state)?) }))
}

/// A change of an opportunity's stored state (revoked, expired), while it is still `from`.
/// Its count of events goes with it: such a move is told by an event.
pub fn opportunity_moved(after: &Opportunity, from: OpportunityStatus) -> Result<Write, StoreError> {
    let mut update = opportunity_update(after)?.set("state", attribute(&after.state)?).set("eventCount", attribute(&after.event_count)?);
    if let Some(by) = after.restricted_by {
        update = update.set("restrictedBy", attribute(&by)?);
    }
    if let Some(reason) = &after.restriction_reason {
        update = update.set("restrictionReason", s(reason.clone()));
    }
    Ok(Write::Update(update.only_if(while_state(from)?)))
}

/// The fields a `PATCH` named, written in place: the last write of each field stands, and nothing
/// else on the item (its count of offers, its state, its due keys) is written back stale.
pub fn opportunity_patched(after: &Opportunity, named: &[&str]) -> Result<Update, StoreError> {
    let mut update = opportunity_touched(after)?;
    if named.contains(&"notificationEmails") {
        update = update.set("notificationEmails", attribute(&after.notification_emails)?);
    }
    if named.contains(&"description") {
        update = match &after.description {
            Some(description) => update.set("description", s(description.clone())),
            None => update.remove("description"),
        };
    }
    Ok(update)
}

/// The list streams of a party's items of one kind, one per side it can be on.
pub fn party_streams(caller: &AccountId, kind: &str, sides: &[Index]) -> Vec<Stream> {
    sides
        .iter()
        .map(|side| {
            let partition = match side {
                Index::ByIsv => isv_key(caller),
                Index::ByReseller => reseller_key(caller),
                _ => buyer_key(caller),
            };
            Stream { index: *side, partition, prefix: format!("{kind}#"), range: None, key_parts: 2 }
        })
        .collect()
}

/// One email of one event: the item notify claims before sending it.
fn email_claim_key(event_id: &str, group: &str) -> String {
    format!("{EMAIL}#{event_id}#{group}")
}

pub fn resellers_stream() -> Stream {
    Stream { index: Index::ByReseller, partition: RESELLERS.into(), prefix: format!("{SELLER}#"), range: None, key_parts: 1 }
}

/// A party's agreements accepted from the start of `from` to the end of `to`, one stream per side.
pub fn agreements_accepted(caller: &AccountId, sides: &[Index], from: NaiveDate, to: NaiveDate) -> Vec<Stream> {
    in_period(caller, AGREEMENT, sides, start_instant(from), end_instant(to))
}

/// A party's items of `kind` whose index stamp is from `start` up to but not including `end`.
pub(super) fn in_period(caller: &AccountId, kind: &str, sides: &[Index], start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Stream> {
    let (start, end) = (stamp(start), stamp(end));
    party_streams(caller, kind, sides)
        .into_iter()
        // Sort keys are `KIND#<stamp>#<id>`: `#` sorts before every character of an id.
        .map(|stream| Stream { range: Some((format!("{kind}#{start}#"), format!("{kind}#{end}#"))), ..stream })
        .collect()
}

impl Store {
    /// Opens the connection to DynamoDB (DNS, TCP, TLS) with a read of a key nothing is stored at.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.get("WARM-UP", "WARM-UP").await.map(|_| ())
    }

    pub async fn load<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<Option<Versioned<T>>, StoreError> {
        match self.get(&pk(kind, id), kind).await? {
            Some(item) => parse(item).map(Some),
            None => Ok(None),
        }
    }

    pub async fn seller(&self, account: &AccountId) -> Result<Option<Versioned<Seller>>, StoreError> {
        self.load(SELLER, account.as_str()).await
    }

    /// Reads the sellers, products and documents a create names in one batch; missing ones are
    /// simply absent.
    pub async fn named(&self, named: &Named) -> Result<Found, StoreError> {
        let mut keys: Vec<(String, &str)> = named.sellers.iter().map(|a| (pk(SELLER, a.as_str()), SELLER)).collect();
        keys.extend(named.products.iter().map(|p| (pk(PRODUCT, p), PRODUCT)));
        keys.extend(named.documents.iter().map(|d| (pk(DOCUMENT, d), DOCUMENT)));
        keys.sort();
        keys.dedup();
        let mut found = Found::default();
        for item in self.batch_get(keys).await? {
            match string_attr(&item, "kind") {
                Some(SELLER) => found.sellers.push(parse(item)?.value),
                Some(PRODUCT) => found.products.push(parse(item)?.value),
                Some(DOCUMENT) => found.documents.push(parse(item)?.value),
                _ => {}
            }
        }
        Ok(found)
    }

    /// What an event's emails need, in one batch read: its opportunity (for the stakeholders and
    /// the terms) and, when asked for, the reseller's seller record (for its contact).
    pub async fn opportunity_and_seller(
        &self,
        opportunity_id: &str,
        seller: Option<&AccountId>,
    ) -> Result<(Option<Opportunity>, Option<Seller>), StoreError> {
        let mut keys = vec![(pk(OPPORTUNITY, opportunity_id), OPPORTUNITY)];
        keys.extend(seller.map(|a| (pk(SELLER, a.as_str()), SELLER)));
        let mut found = (None, None);
        for item in self.batch_get(keys).await? {
            match string_attr(&item, "kind") {
                Some(OPPORTUNITY) => found.0 = Some(parse(item)?.value),
                Some(SELLER) => found.1 = Some(parse(item)?.value),
                _ => {}
            }
        }
        Ok(found)
    }

    async fn batch_get(&self, keys: Vec<(String, &str)>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        for chunk in keys.chunks(100) {
            let key_maps: Vec<Item> =
                chunk.iter().map(|(p, k)| HashMap::from([("pk".into(), s(p.clone())), ("sk".into(), s(*k))])).collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(key_maps))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?,
            );
            // Unprocessed keys come back under load; ask again for just those, backing off.
            for attempt in 0..5 {
                let Some(request) = pending.take() else { break };
                if attempt > 0 {
                    tokio::time::sleep(super::backoff(attempt)).await;
                }
                let out = self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(classify)?;
                items.extend(out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default());
                pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).filter(|k| !k.keys.is_empty());
            }
            if pending.is_some() {
                return Err(StoreError::Throttled);
            }
        }
        Ok(items)
    }

    pub async fn put_seller(&self, seller: &Seller, read: Option<u64>) -> Result<(), StoreError> {
        let write = match read {
            Some(version) => Write::Replace(seller_item(seller, version + 1)?, version),
            None => Write::Create(seller_item(seller, 1)?),
        };
        self.put(write).await
    }

    /// The keys of one due partition's items due at or before `now`, oldest first, a page at a time.
    pub async fn due(
        &self,
        shard: &str,
        now: DateTime<Utc>,
        page: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        self.due_index_page(shard, (None, super::items::due_bound(now)), Some(page), start).await
    }

    /// One page of keys from a partition of the `byDue` index, oldest first, with sort keys up to
    /// `range.1` (and from `range.0`, when given).
    pub(super) async fn due_index_page(
        &self,
        partition: &str,
        range: (Option<String>, String),
        page: Option<i32>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (from, to) = range;
        let condition = if from.is_some() { "duePk = :p AND dueAt BETWEEN :from AND :to" } else { "duePk = :p AND dueAt <= :to" };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(Index::ByDue.name())
            .key_condition_expression(condition)
            .expression_attribute_values(":p", s(partition))
            .expression_attribute_values(":to", s(to));
        if let Some(from) = from {
            query = query.expression_attribute_values(":from", s(from));
        }
        let out = query.set_limit(page).set_exclusive_start_key(start).send().await.map_err(classify)?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// The items themselves for keys the due index gave, read consistently in one batch.
    pub async fn items_at(&self, keys: &[Item]) -> Result<Vec<Item>, StoreError> {
        let keys: Vec<(String, &str)> =
            keys.iter().filter_map(|k| Some((string_attr(k, "pk")?.to_string(), string_attr(k, "sk")?))).collect();
        self.batch_get(keys).await
    }

    /// Claims the sending of one email of one event for `attempt`. A claim still `sending` and not
    /// yet stale belongs to an attempt that may still send: `Busy`, and the caller retries later.
    pub async fn claim_email(&self, event_id: &str, group: &str, attempt: &str, now: DateTime<Utc>) -> Result<EmailClaim, StoreError> {
        let stale = stamp(now - Duration::seconds(EMAIL_CLAIM_STALE_SECONDS));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(email_claim_key(event_id, group)))
            .item("sk", s(EMAIL))
            .item("kind", s(EMAIL))
            .item("state", s("sending"))
            .item("attempt", s(attempt))
            .item("claimedAt", s(stamp(now)))
            .item("expiresAt", epoch(now + Duration::days(30)))
            // A claim left `sending` by an attempt that died is taken over once stale.
            .condition_expression("attribute_not_exists(pk) OR (#state = :sending AND claimedAt < :stale)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":stale", s(stale))
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(EmailClaim::Taken),
            Err(StoreError::Conflict) => {
                let held = self.get(&email_claim_key(event_id, group), EMAIL).await?;
                Ok(match held.as_ref().and_then(|item| string_attr(item, "state")) {
                    Some("sent") => EmailClaim::Sent,
                    _ => EmailClaim::Busy,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Records the email sent, if `attempt` still holds its claim.
    pub async fn complete_email(
        &self,
        event_id: &str,
        group: &str,
        attempt: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let update = Update::of(email_claim_key(event_id, group), EMAIL)
            .set("state", s("sent"))
            .set("messageId", s(message_id))
            .set("sentAt", s(stamp(now)))
            .only_if(Condition::new("#attempt = :mine").name("#attempt", "attempt").value(":mine", s(attempt)));
        self.update(update).await.map(|_| ())
    }

    /// Gives a claim back after a failed send, so the redelivery can try again, if `attempt` still
    /// holds it (a later attempt's claim is never released by an earlier one).
    pub async fn release_email(&self, event_id: &str, group: &str, attempt: &str) -> Result<(), StoreError> {
        let held = Condition::new("#attempt = :mine AND #state = :sending")
            .name("#attempt", "attempt")
            .name("#state", "state")
            .value(":mine", s(attempt))
            .value(":sending", s("sending"));
        self.delete_if(&email_claim_key(event_id, group), EMAIL, held).await
    }
}

/// What claiming an email found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClaim {
    /// This attempt may send it.
    Taken,
    /// It was sent already: nothing to do.
    Sent,
    /// Another attempt holds a live claim and may still send it: try again later.
    Busy,
}
