//! `POST /offers/{id}/accept`: the buyer accepts; the offer becomes an agreement, exactly once,
//! with the invoices due at once (its upfront invoice) in the same transaction.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::agreement::{Agreement, AgreementStatus};
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::invoice;
use cppo_domain::offer::Offer;
use cppo_platform::api::{commit, path_id, until_committed, Step};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{agreement_item, event_item, issued_writes, offer_item, Write, AGREEMENT, OFFER};
use cppo_platform::App;
use serde_json::Value;

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "POST /offers/{id}/accept" => accept(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

async fn accept(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    req.empty_body()?;
    let id = path_id(req, "id", IdKind::Offer, "offer")?;
    let agreement_id = app.new_id(IdKind::Agreement);
    let body = until_committed(|| async {
        let read = app.store.load::<Offer>(OFFER, id).await?.ok_or_else(|| ApiError::NotFound(format!("no offer {id}")))?;
        let now = app.now();
        let (accepted, mut agreement) = read.value.accept(&req.caller, agreement_id.clone(), &app.config.fees, now)?;
        let company = Some(accepted.buyer_company_name.clone());
        let mut event = Event::for_agreement(EventType::OfferAccepted, &mut agreement, company, app.new_id(IdKind::Event), now, None);
        let mut writes = vec![Write::Replace(offer_item(&accepted, read.version + 1)?, read.version)];
        if let Some(previous) = &agreement.previous_agreement_id {
            // Its invoices not yet issued read cancelled from now on: none of them is written.
            let (write, replaced) = replace_previous(app, previous, &agreement, now).await?;
            writes.push(write);
            // A future-dated successor ends it later: the sweep tells the bus on that day.
            if replaced.state == AgreementStatus::Replaced {
                event = event.ending(&replaced);
            }
        }
        writes.push(Write::Create(event_item(&event)?));
        writes.extend(issue_at_once(app, &mut agreement, now)?);
        writes.push(Write::Create(agreement_item(&agreement, 1)?));
        let body = agreement.view(&req.caller, now);
        commit(app, req, writes, 201, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((201, body))
}

/// Invoices due at acceptance, at most this many in its transaction (two actions each, within
/// DynamoDB's 100); a schedule with more payments already due leaves the rest to the sweep.
const ISSUED_AT_ONCE: usize = 30;

/// The invoices whose issue date is already here (the upfront invoice of an agreement that starts
/// today), each stored with its `invoice.issued` event, after the acceptance's own.
fn issue_at_once(app: &App, agreement: &mut Agreement, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Write>, Step> {
    let (recorded, issued) = invoice::issue_due(agreement, now, ISSUED_AT_ONCE);
    *agreement = recorded;
    Ok(issued_writes(&issued, agreement, || app.new_id(IdKind::Event), now)?)
}

/// The write that marks the agreement an amendment or renewal replaces, in the same transaction,
/// and that agreement as it leaves it.
async fn replace_previous(
    app: &App,
    id: &str,
    successor: &Agreement,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Write, Agreement), Step> {
    let read = app
        .store
        .load::<Agreement>(AGREEMENT, id)
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("agreement {id}, which this offer replaces, no longer exists")))?;
    let replaced = read.value.replace(successor, now)?;
    Ok((Write::Replace(agreement_item(&replaced, read.version + 1)?, read.version), replaced))
}
