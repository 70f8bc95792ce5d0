//! notify: turns each event from the queue into the emails the contract lists, each sent once,
//! and one deal's emails in the order of its events.
//!
//! A message is a stream record of an event item, as the pipe hands it on (or, replayed by hand,
//! the event itself). Events are numbered within their deal, and the table says how far notify
//! has got with each deal; an event handles first every event of its deal before it that is not
//! handled yet, read from the table in order. So an event that arrives ahead of its predecessor
//! (the pipe reads shards in parallel, and retries) never waits for it, and never overtakes it;
//! one that arrives again finds its deal past it.
//!
//! Before sending, each (event, recipient group) is claimed for this attempt with a conditional
//! put, so a redelivered message never sends an email that was sent. A claim another attempt still
//! holds fails the record until that claim is stale, so no email is ever skipped for an attempt
//! that died. The one duplicate left: an attempt that dies after SES accepted the message and
//! before it recorded the send; that email goes out twice (at least once, never lost).
//!
//! A record that fails for an outside reason (SES or DynamoDB down or throttled, a claim held
//! elsewhere) is hidden for a growing wait and retried for as long as the queue keeps it. One that
//! fails for its own (no event at all, a stored item that cannot be read, an email SES refuses for
//! what it is) goes to the dead-letter queue after its fifth attempt, and its deal moves on past it;
//! an earlier event of a deal that fails so is dead-lettered at once, so it never holds up the
//! deal's later events.

mod compose;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use cppo_domain::event::Event;
use cppo_domain::opportunity::Opportunity;
use cppo_domain::seller::Seller;
use cppo_platform::mailer::{Email, Mailer, SendError, MAX_RECIPIENTS};
use cppo_platform::queue::{Queue, OWN_FAILURE_ATTEMPTS};
use cppo_platform::store::{EmailClaim, StoreError};
use cppo_platform::App;
use serde_json::Value;

pub use compose::{compose, Group};

/// What notify runs with: the table, SES, and its queue's retries.
pub struct Notifier {
    pub app: App,
    pub mailer: Mailer,
    pub queue: Queue,
}

/// Why a record failed: something outside notify, which a later attempt may find mended, or the
/// message itself, which no attempt will.
#[derive(Debug)]
enum Failure {
    Outside(String),
    Own(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::Corrupt(_) => Failure::Own(e.to_string()),
            _ => Failure::Outside(e.to_string()),
        }
    }
}

pub async fn handle(notifier: &Notifier, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if !settle(notifier, &record).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Handles one record; false when it stays queued for another attempt.
async fn settle(notifier: &Notifier, record: &SqsMessage) -> bool {
    let id = record.message_id.as_deref().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or_default();
    let receives: u32 = record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
    match process(notifier, body).await {
        Ok(()) => true,
        Err(Failure::Own(error)) if receives >= OWN_FAILURE_ATTEMPTS => match notifier.queue.dead_letter(body).await {
            Ok(()) => {
                tracing::error!(message_id = id, receives, %error, "message cannot be handled; moved to the dead-letter queue");
                passed_over(notifier, body).await
            }
            Err(dlq) => {
                tracing::error!(message_id = id, %error, %dlq, "message cannot be handled, nor moved to the dead-letter queue");
                false
            }
        },
        Err(Failure::Own(error)) => {
            tracing::warn!(message_id = id, receives, %error, "message cannot be handled; it is tried again, then dead-lettered");
            false
        }
        Err(Failure::Outside(error)) => {
            match notifier.queue.retry_later(record.receipt_handle.as_deref().unwrap_or_default(), receives).await {
                Ok(wait) => tracing::warn!(message_id = id, receives, wait, %error, "record failed; retried after the wait"),
                Err(queue) => {
                    tracing::warn!(message_id = id, receives, %error, %queue, "record failed; retried at the queue's own timeout")
                }
            }
            false
        }
    }
}

/// A dead-lettered event's deal moves on past it; false if that could not be recorded (the message
/// then comes back, and is dead-lettered and passed over again).
async fn passed_over(notifier: &Notifier, body: &str) -> bool {
    let Ok(event) = event_of(body) else { return true };
    if event.sequence == 0 {
        return true;
    }
    match notifier.app.store.mark_handled(&event.deal_id, event.sequence, notifier.app.now()).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(event_id = %event.event_id, %error, "could not pass over a dead-lettered event");
            false
        }
    }
}

/// The event a message carries: a stream record's new image, or an event as it is stored.
fn event_of(body: &str) -> Result<Event, Failure> {
    let value: Value = serde_json::from_str(body).map_err(|e| Failure::Own(format!("not JSON: {e}")))?;
    let event = match value.pointer("/dynamodb/NewImage/body/S") {
        Some(Value::String(stored)) => serde_json::from_str(stored),
        _ => serde_json::from_value(value),
    };
    event.map_err(|e| Failure::Own(format!("not an event: {e}")))
}

async fn process(notifier: &Notifier, body: &str) -> Result<(), Failure> {
    let event = event_of(body)?;
    let store = &notifier.app.store;
    if event.sequence == 0 {
        return emails_of(notifier, &event).await;
    }
    let handled = store.deal_handled(&event.deal_id).await?;
    if event.sequence <= handled {
        tracing::info!(event_id = %event.event_id, deal = %event.deal_id, "event already handled");
        return Ok(());
    }
    let mut own_seen = false;
    for stored in store.deal_events(&event.deal_id, handled, event.sequence).await? {
        let earlier = event_of(&stored);
        let own = earlier.as_ref().is_ok_and(|e| e.event_id == event.event_id);
        own_seen |= own;
        match handle_stored(notifier, earlier).await {
            Ok(()) => {}
            // An earlier event that will never go through must not hold its deal up.
            Err(Failure::Own(error)) if !own => pass_over(notifier, &stored, &error).await?,
            Err(failure) => return Err(failure),
        }
    }
    // Gone from the table with its TTL (after 15 days): the message itself still says it all.
    if !own_seen {
        handle_stored(notifier, Ok(event)).await?;
    }
    Ok(())
}

/// An event of a deal: its emails, then its deal recorded handled up to it.
async fn handle_stored(notifier: &Notifier, event: Result<Event, Failure>) -> Result<(), Failure> {
    let event = event?;
    emails_of(notifier, &event).await?;
    Ok(notifier.app.store.mark_handled(&event.deal_id, event.sequence, notifier.app.now()).await?)
}

/// Dead-letters an earlier event of a deal that cannot be handled, and moves the deal past it.
async fn pass_over(notifier: &Notifier, stored: &str, error: &str) -> Result<(), Failure> {
    notifier.queue.dead_letter(stored).await.map_err(Failure::Outside)?;
    tracing::error!(%error, "an earlier event of a deal cannot be handled; dead-lettered and passed over");
    if passed_over(notifier, stored).await {
        Ok(())
    } else {
        Err(Failure::Outside("could not record the deal past a dead-lettered event".into()))
    }
}

/// Sends an event's emails, each once. A message SES refuses for what it is does not stop the
/// others; the event then fails for its own reason.
async fn emails_of(notifier: &Notifier, event: &Event) -> Result<(), Failure> {
    let app = &notifier.app;
    let reseller = event.event_type.audience().reseller.then_some(&event.reseller_account_id);
    let (opportunity, reseller) = app.store.opportunity_and_seller(&event.opportunity_id, reseller).await?;
    let attempt = uuid::Uuid::new_v4().simple().to_string();
    let mut refused = None;
    for (group, email) in emails(event, opportunity.as_ref(), reseller.as_ref()) {
        match app.store.claim_email(&event.event_id, &group, &attempt, app.now()).await? {
            EmailClaim::Taken => match send(app, &notifier.mailer, event, &group, &attempt, &email).await {
                Err(Failure::Own(why)) => refused = Some(why),
                other => other?,
            },
            EmailClaim::Sent => tracing::info!(event_id = %event.event_id, group, "email already sent for this event"),
            EmailClaim::Busy => {
                return Err(Failure::Outside(format!("another attempt is sending the {group} email; retrying once its claim is stale")))
            }
        }
    }
    refused.map_or(Ok(()), |why| Err(Failure::Own(why)))
}

/// Sends one claimed email and records it sent; a refused send gives the claim back.
async fn send(app: &App, mailer: &Mailer, event: &Event, group: &str, attempt: &str, email: &Email) -> Result<(), Failure> {
    match mailer.send(email).await {
        Ok(message_id) => {
            tracing::info!(event_id = %event.event_id, group, message_id, "email sent");
            match app.store.complete_email(&event.event_id, group, attempt, &message_id, app.now()).await {
                // Our claim went stale and another attempt took it: it may send again (at least once).
                Err(StoreError::Conflict) => tracing::warn!(event_id = %event.event_id, group, "claim taken over while sending"),
                other => other?,
            }
            Ok(())
        }
        Err(error) => {
            match app.store.release_email(&event.event_id, group, attempt).await {
                Err(StoreError::Conflict) => tracing::warn!(event_id = %event.event_id, group, "claim already taken over"),
                other => other?,
            }
            let why = format!("the {group} email: {error}");
            Err(match error {
                SendError::Refused(_) => Failure::Own(why),
                SendError::Unavailable(_) => Failure::Outside(why),
            })
        }
    }
}

/// The messages an event calls for: the ISV's stakeholders in groups of at most 10, and the
/// reseller's contact on its own.
fn emails(event: &Event, opportunity: Option<&Opportunity>, reseller: Option<&Seller>) -> Vec<(String, Email)> {
    let audience = event.event_type.audience();
    let mut out = Vec::new();
    if audience.stakeholders {
        let stakeholders = opportunity.map(|o| o.notification_emails.clone()).unwrap_or_default();
        for (i, chunk) in stakeholders.chunks(MAX_RECIPIENTS).enumerate() {
            out.push((format!("isv-{i}"), compose(event, Group::Stakeholders, opportunity, chunk.to_vec())));
        }
    }
    if audience.reseller {
        if let Some(contact) = reseller.and_then(|s| s.contact_email.clone()) {
            out.push(("reseller".to_string(), compose(event, Group::Reseller, opportunity, vec![contact])));
        }
    }
    out
}
