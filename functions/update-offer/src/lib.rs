//! The reseller's changes to an offer the buyer has not accepted: `PATCH /offers/{id}` moves its
//! last day, `POST /offers/{id}/cancel` withdraws it.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::offer::Offer;
use cppo_platform::api::{commit, path_id, until_committed};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{event_item, offer_item, Write, OFFER};
use cppo_platform::App;
use serde_json::{Map, Value};

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "POST /offers/{id}/cancel" => cancel(app, &req).await,
            "PATCH /offers/{id}" => patch(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

async fn cancel(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    req.empty_body()?;
    let id = path_id(req, "id", IdKind::Offer, "offer")?;
    let body = until_committed(|| async {
        let read = app.store.load::<Offer>(OFFER, id).await?.ok_or_else(|| ApiError::NotFound(format!("no offer {id}")))?;
        let now = app.now();
        let mut cancelled = read.value.cancel(&req.caller, now)?;
        let reason = Some("the reseller cancelled the offer before the buyer accepted it".to_string());
        let event = Event::for_offer(EventType::OfferCancelled, &mut cancelled, app.new_id(IdKind::Event), now, reason);
        let writes = vec![Write::Replace(offer_item(&cancelled, read.version + 1)?, read.version), Write::Create(event_item(&event)?)];
        let body = cancelled.view(&req.caller, now);
        commit(app, req, writes, 200, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((200, body))
}

async fn patch(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let body: Map<String, Value> = req.body()?;
    let id = path_id(req, "id", IdKind::Offer, "offer")?;
    let updated = until_committed(|| async {
        let read = app.store.load::<Offer>(OFFER, id).await?.ok_or_else(|| ApiError::NotFound(format!("no offer {id}")))?;
        let next = read.value.patch(&req.caller, &body, app.now())?;
        // Written whole, with its due date moved: the sweep expires it on its new last day.
        app.store.write_all(vec![Write::Replace(offer_item(&next, read.version + 1)?, read.version)]).await?;
        Ok(next)
    })
    .await?;
    Ok((200, updated.view(&req.caller, app.now())))
}
