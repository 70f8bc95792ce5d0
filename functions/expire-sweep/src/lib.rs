//! The scheduled sweep: expires what has fallen due, ends agreements whose future-dated successor
//! has started, sends the renewal reminders and issues the invoices whose day has come (scheduled
//! payments, and each month's usage once its late records can no longer arrive), each with its
//! event.
//!
//! It reads only the sparse due index up to now, each of its partitions a page of keys at a time,
//! then those items themselves. Each item is settled on its own, conditionally, so a sweep cut
//! off midway (or racing another) resumes without harm, and one it cannot settle is logged and
//! skipped: it stays due, and the next sweep tries it again.

use chrono::{DateTime, Utc};
use cppo_domain::agreement::Agreement;
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::invoice;
use cppo_domain::offer::Offer;
use cppo_domain::opportunity::{Opportunity, OpportunityStatus};
use cppo_platform::store::{
    agreement_item, due_shards, event_item, issued_writes, offer_item, opportunity_moved, parse_item, string_attr, Item, StoreError,
    Versioned, Write, AGREEMENT, LEGACY_DUE_PARTITION, OFFER, OPPORTUNITY,
};
use cppo_platform::App;
use serde::Serialize;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Expired {
    pub opportunities: u64,
    pub offers: u64,
    pub agreements: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub expired: Expired,
    /// Renewal reminders (`agreement.ending`) emitted.
    pub reminders: u64,
    /// Agreements marked replaced on the day their future-dated successor started.
    pub replaced: u64,
    /// Invoices issued: scheduled ones whose date came, and months of usage billed.
    pub invoices_issued: u64,
    pub items_read: u64,
    /// Items that could not be settled this time; each was logged and stays due.
    pub skipped: u64,
}

const PAGE: i32 = 100;

pub async fn sweep(app: &App) -> Result<SweepReport, StoreError> {
    let now = app.now();
    let mut report = SweepReport::default();
    for shard in due_shards().into_iter().chain([LEGACY_DUE_PARTITION.to_string()]) {
        let mut start = None;
        loop {
            let (keys, next) = app.store.due(&shard, now, PAGE, start).await?;
            let items = match app.store.items_at(&keys).await {
                Ok(items) => items,
                // These stay due for the next sweep; the rest go on.
                Err(error) => {
                    tracing::error!(%error, shard, "could not read a page of due items; skipped until the next sweep");
                    report.skipped += keys.len() as u64;
                    Vec::new()
                }
            };
            report.items_read += items.len() as u64;
            for item in items {
                settle_or_skip(app, item, &mut report).await;
            }
            match next {
                Some(key) => start = Some(key),
                None => break,
            }
        }
    }
    tracing::info!(?report, "sweep finished");
    Ok(report)
}

/// Settles one item; a failure is logged with the item's key and counted, never a reason to
/// stop the rest.
async fn settle_or_skip(app: &App, item: Item, report: &mut SweepReport) {
    let key = string_attr(&item, "pk").unwrap_or_default().to_string();
    if let Err(error) = settle(app, item, report).await {
        tracing::error!(item = %key, %error, "could not settle a due item; skipped until the next sweep");
        report.skipped += 1;
    }
}

async fn settle(app: &App, item: Item, report: &mut SweepReport) -> Result<(), StoreError> {
    let Some(kind) = string_attr(&item, "kind").map(str::to_string) else { return Ok(()) };
    let outcome = match kind.as_str() {
        OPPORTUNITY => expire_opportunity(app, parse_item(item)?).await.map(|hit| report.expired.opportunities += hit),
        OFFER => expire_offer(app, parse_item(item)?).await.map(|hit| report.expired.offers += hit),
        AGREEMENT => settle_agreement(app, parse_item(item)?, report).await,
        _ => Ok(()),
    };
    match outcome {
        // Someone changed it since the index was read (accepted, revoked, another sweep): theirs stands.
        Err(StoreError::Conflict) => Ok(()),
        other => other,
    }
}

async fn commit(app: &App, write: Write, event: Event) -> Result<u64, StoreError> {
    app.store.transact(vec![write, Write::Create(event_item(&event)?)]).await?;
    Ok(1)
}

async fn expire_opportunity(app: &App, read: Versioned<Opportunity>) -> Result<u64, StoreError> {
    let now = app.now();
    let Some(mut expired) = read.value.expire(now) else { return Ok(0) };
    let reason = Some("its end date has passed; no new offers can be made from it".to_string());
    let event = Event::for_opportunity(EventType::OpportunityExpired, &mut expired, app.new_id(IdKind::Event), now, reason);
    commit(app, opportunity_moved(&expired, OpportunityStatus::Active)?, event).await
}

async fn expire_offer(app: &App, read: Versioned<Offer>) -> Result<u64, StoreError> {
    let now = app.now();
    let Some(mut expired) = read.value.expire(now) else { return Ok(0) };
    let reason = Some("the buyer did not accept it by its last day".to_string());
    let event = Event::for_offer(EventType::OfferExpired, &mut expired, app.new_id(IdKind::Event), now, reason);
    commit(app, Write::Replace(offer_item(&expired, read.version + 1)?, read.version), event).await
}

/// An agreement's due work: first the step of its life that applies (its successor has started,
/// so it is replaced, not expired; its term has ended; or a renewal reminder is due), then the
/// invoices due, all in one transaction with their events. An agreement with more invoices due
/// than one transaction holds is settled again from what was written.
async fn settle_agreement(app: &App, read: Versioned<Agreement>, report: &mut SweepReport) -> Result<(), StoreError> {
    let mut read = read;
    for _ in 0..ROUNDS {
        let Some((next, writes, counts)) = agreement_work(app, &read.value).await? else { return Ok(()) };
        let mut all = vec![Write::Replace(agreement_item(&next, read.version + 1)?, read.version)];
        all.extend(writes);
        app.store.transact(all).await?;
        counts.apply(report);
        if next.due_at().is_none_or(|at| at > app.now()) {
            return Ok(());
        }
        read = Versioned { value: next, version: read.version + 1 };
    }
    Ok(())
}

/// Rounds of one agreement's work in one sweep: enough for a schedule of 60 payments all due.
const ROUNDS: usize = 3;

/// Invoices one round issues: two actions each, beside the agreement and one event of its life.
const INVOICES_A_ROUND: usize = 40;

/// Months of usage one round bills (an agreement the sweep has not seen for a while).
const USAGE_MONTHS_A_ROUND: usize = 3;

/// What one round counts, applied once its transaction is written.
#[derive(Default)]
struct Counts {
    replaced: u64,
    expired: u64,
    reminders: u64,
    invoices: u64,
}

impl Counts {
    fn apply(self, report: &mut SweepReport) {
        report.replaced += self.replaced;
        report.expired.agreements += self.expired;
        report.reminders += self.reminders;
        report.invoices_issued += self.invoices;
    }
}

type Work = (Agreement, Vec<Write>, Counts);

/// The step of its life due for `a`, the first that applies (counted): its successor has started
/// (it is replaced, not expired), its term has ended, or a renewal reminder is due.
fn lifecycle_step(a: &Agreement, now: DateTime<Utc>, counts: &mut Counts) -> Option<(Agreement, EventType, Option<&'static str>)> {
    if let Some(replaced) = a.settle_replacement(now) {
        counts.replaced = 1;
        return Some((replaced, EventType::AgreementReplaced, Some("its future-dated successor has started")));
    }
    if let Some(expired) = a.expire(now) {
        counts.expired = 1;
        return Some((expired, EventType::AgreementExpired, Some("its contract term has ended")));
    }
    let reminded = a.remind(now)?;
    counts.reminders = 1;
    Some((reminded, EventType::AgreementEnding, None))
}

async fn agreement_work(app: &App, a: &Agreement) -> Result<Option<Work>, StoreError> {
    let now = app.now();
    let mut counts = Counts::default();
    let mut writes = Vec::new();
    let mut next = match lifecycle_step(a, now, &mut counts) {
        Some((mut moved, event_type, why)) => {
            let reason = why.map(str::to_string);
            let event = Event::for_agreement(event_type, &mut moved, None, app.new_id(IdKind::Event), now, reason);
            writes.push(Write::Create(event_item(&event)?));
            moved
        }
        None => a.clone(),
    };
    let (recorded, mut issued) = invoice::issue_due(&next, now, INVOICES_A_ROUND);
    next = recorded;
    for _ in 0..USAGE_MONTHS_A_ROUND {
        let Some(period) = invoice::usage_due(&next, now) else { break };
        let metered = app.store.usage_in_month(&next.agreement_id, period.0).await?;
        let (billed, bill) = invoice::bill_usage(&next, period, metered);
        next = billed;
        issued.extend(bill);
    }
    writes.extend(issued_writes(&issued, &mut next, || app.new_id(IdKind::Event), now)?);
    counts.invoices = issued.len() as u64;
    Ok((next != *a).then_some((next, writes, counts)))
}
