//! Cancelling an agreement takes both sides: the reseller's `POST /agreements/{id}/cancellation`
//! (and `DELETE`, to withdraw it) and the buyer's `.../accept` or `.../reject`. Each step is one
//! conditional write of the agreement, with its event, in one transaction.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use cppo_domain::agreement::Agreement;
use cppo_domain::cancellation::{Answer, CancellationInput};
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_platform::api::{commit, path_id, until_committed};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{agreement_item, event_item, Write, AGREEMENT};
use cppo_platform::App;
use serde_json::Value;

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        let step = match req.route_key() {
            "POST /agreements/{id}/cancellation" => Move::Request(req.body()?),
            "DELETE /agreements/{id}/cancellation" => Move::Withdraw,
            "POST /agreements/{id}/cancellation/accept" => Move::Answer(Answer::Accept),
            "POST /agreements/{id}/cancellation/reject" => Move::Answer(Answer::Reject),
            _ => return unknown_route(&req),
        };
        if !matches!(step, Move::Request(_)) {
            req.empty_body()?;
        }
        take(app, &req, &step).await
    })
    .await
}

/// One step of a cancellation request.
enum Move {
    Request(CancellationInput),
    Withdraw,
    Answer(Answer),
}

impl Move {
    fn apply(
        &self,
        app: &App,
        a: &Agreement,
        caller: &cppo_domain::AccountId,
        now: DateTime<Utc>,
    ) -> Result<(Agreement, EventType), ApiError> {
        Ok(match self {
            Move::Request(input) => {
                (a.request_cancellation(caller, input, app.new_id(IdKind::CancellationRequest), now)?, EventType::CancellationRequested)
            }
            Move::Withdraw => (a.withdraw_cancellation(caller, now)?, EventType::CancellationWithdrawn),
            Move::Answer(Answer::Accept) => (a.answer_cancellation(caller, Answer::Accept, now)?, EventType::AgreementCancelled),
            Move::Answer(Answer::Reject) => (a.answer_cancellation(caller, Answer::Reject, now)?, EventType::CancellationRejected),
        })
    }

    fn status(&self) -> u16 {
        if matches!(self, Move::Request(_)) {
            201
        } else {
            200
        }
    }
}

async fn take(app: &App, req: &ApiRequest<'_>, step: &Move) -> Result<(u16, Value), ApiError> {
    let id = path_id(req, "id", IdKind::Agreement, "agreement")?;
    let status = step.status();
    let body = until_committed(|| async {
        let read = app.store.load::<Agreement>(AGREEMENT, id).await?.ok_or_else(|| ApiError::NotFound(format!("no agreement {id}")))?;
        let now = app.now();
        let (mut next, event_type) = step.apply(app, &read.value, &req.caller, now)?;
        let reason = next.cancellation.as_ref().map(|c| c.reason.clone());
        let event = Event::for_agreement(event_type, &mut next, None, app.new_id(IdKind::Event), now, reason);
        let writes = vec![Write::Replace(agreement_item(&next, read.version + 1)?, read.version), Write::Create(event_item(&event)?)];
        let body = next.cancellation.as_ref().map(|c| next.cancellation_view(c)).unwrap_or(Value::Null);
        commit(app, req, writes, status, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((status, body))
}
