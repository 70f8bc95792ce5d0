//! notify: turns each event from the queue into the emails the contract lists, each sent once.
//!
//! Records are handled one by one; only those that failed are reported back, so SQS redelivers
//! just them. Before sending, each (event, recipient group) is claimed for this attempt with a
//! conditional put, so a redelivered message never sends an email that was sent. A claim another
//! attempt still holds fails the record (SQS brings it back once that claim is stale), so no email
//! is ever skipped for an attempt that died. The one duplicate left: an attempt that dies after
//! SES accepted the message and before it recorded the send; that email goes out twice
//! (at least once, never lost).

mod compose;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use cppo_domain::event::Event;
use cppo_domain::opportunity::Opportunity;
use cppo_domain::seller::Seller;
use cppo_platform::mailer::{Email, Mailer, MAX_RECIPIENTS};
use cppo_platform::store::{EmailClaim, StoreError};
use cppo_platform::App;

pub use compose::{compose, Group};

pub async fn handle(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if let Err(error) = process(app, record.body.as_deref().unwrap_or_default()).await {
            tracing::warn!(message_id = %id, %error, "record failed; SQS will redeliver it");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn process(app: &App, body: &str) -> Result<(), String> {
    let event: Event = serde_json::from_str(body).map_err(|e| format!("not an event: {e}"))?;
    let mailer = app.mailer.as_ref().ok_or("no sender configured")?;
    let reseller = event.event_type.audience().reseller.then_some(&event.reseller_account_id);
    let (opportunity, reseller) = app.store.opportunity_and_seller(&event.opportunity_id, reseller).await.map_err(|e| e.to_string())?;
    let attempt = uuid::Uuid::new_v4().simple().to_string();
    for (group, email) in emails(&event, opportunity.as_ref(), reseller.as_ref()) {
        match app.store.claim_email(&event.event_id, &group, &attempt, app.now()).await.map_err(|e| e.to_string())? {
            EmailClaim::Taken => send(app, mailer, &event, &group, &attempt, &email).await?,
            EmailClaim::Sent => tracing::info!(event_id = %event.event_id, group, "email already sent for this event"),
            EmailClaim::Busy => return Err(format!("another attempt is sending the {group} email; retrying once its claim is stale")),
        }
    }
    Ok(())
}

/// Sends one claimed email and records it sent; a refused send gives the claim back.
async fn send(app: &App, mailer: &Mailer, event: &Event, group: &str, attempt: &str, email: &Email) -> Result<(), String> {
    match mailer.send(email).await {
        Ok(message_id) => {
            tracing::info!(event_id = %event.event_id, group, message_id, "email sent");
            match app.store.complete_email(&event.event_id, group, attempt, &message_id, app.now()).await {
                // Our claim went stale and another attempt took it: it may send again (at least once).
                Err(StoreError::Conflict) => tracing::warn!(event_id = %event.event_id, group, "claim taken over while sending"),
                other => other.map_err(|e| e.to_string())?,
            }
            Ok(())
        }
        Err(error) => {
            match app.store.release_email(&event.event_id, group, attempt).await {
                Err(StoreError::Conflict) => tracing::warn!(event_id = %event.event_id, group, "claim already taken over"),
                other => other.map_err(|e| e.to_string())?,
            }
            Err(format!("SES refused the {group} email: {error}"))
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
