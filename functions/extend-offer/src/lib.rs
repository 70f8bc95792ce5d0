//! `POST /offers`: a reseller extends a private offer from an opportunity it holds.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::agreement::Agreement;
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::offer::{extend, ExtendOfferInput};
use cppo_domain::opportunity::Opportunity;
use cppo_platform::api::{commit, until_committed};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{event_item, offer_item, opportunity_counted, Write, AGREEMENT, OPPORTUNITY};
use cppo_platform::App;
use serde_json::Value;

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "POST /offers" => extend_offer(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

async fn extend_offer(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let input: ExtendOfferInput = req.body()?;
    let opportunity_id = input.opportunity_id.as_str();
    if !IdKind::Opportunity.is_valid(opportunity_id) {
        return Err(ApiError::validation("opportunityId", "opportunityId is not an opportunity id"));
    }
    let offer_id = app.new_id(IdKind::Offer);
    // The agreement a renewal or amendment replaces; the domain checks it is this deal's and active.
    let replaces = match input.replaces_agreement_id.as_deref().filter(|id| IdKind::Agreement.is_valid(id)) {
        Some(id) => app.store.load::<Agreement>(AGREEMENT, id).await?.map(|a| a.value),
        None => None,
    };
    let body = until_committed(|| async {
        let read = app
            .store
            .load::<Opportunity>(OPPORTUNITY, opportunity_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no opportunity {opportunity_id}")))?;
        let now = app.now();
        let (opportunity, mut offer) = extend(&input, &req.caller, &read.value, replaces.as_ref(), offer_id.clone(), now)?;
        let event = Event::for_offer(EventType::OfferExtended, &mut offer, app.new_id(IdKind::Event), now, None);
        // The opportunity is counted in place: offers made at once from it never conflict.
        let writes = vec![opportunity_counted(&opportunity)?, Write::Create(offer_item(&offer, 1)?), Write::Create(event_item(&event)?)];
        let body = offer.view(&req.caller, now);
        commit(app, req, writes, 201, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((201, body))
}
