//! notify: turns each event from the queue into the emails the contract lists, each sent once.
//!
//! Records are handled one by one; only those that failed are reported back, so SQS redelivers
//! just them. Before sending, each (event, recipient group) is claimed with a conditional put, so
//! a redelivered message never sends the same email twice.

mod compose;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use cppo_domain::event::Event;
use cppo_domain::opportunity::Opportunity;
use cppo_domain::seller::Seller;
use cppo_platform::mailer::{Email, MAX_RECIPIENTS};
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
    for (group, email) in emails(&event, opportunity.as_ref(), reseller.as_ref()) {
        if !app.store.claim_email(&event.event_id, &group, app.now()).await.map_err(|e| e.to_string())? {
            tracing::info!(event_id = %event.event_id, group, "email already sent for this event");
            continue;
        }
        match mailer.send(&email).await {
            Ok(message_id) => {
                tracing::info!(event_id = %event.event_id, group, message_id, "email sent");
                app.store.complete_email(&event.event_id, &group, &message_id, app.now()).await.map_err(|e| e.to_string())?;
            }
            Err(error) => {
                app.store.release_email(&event.event_id, &group).await.map_err(|e| e.to_string())?;
                return Err(format!("SES refused the {group} email: {error}"));
            }
        }
    }
    Ok(())
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
