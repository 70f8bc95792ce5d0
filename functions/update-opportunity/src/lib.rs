//! The ISV's changes to an opportunity: `PATCH /opportunities/{id}` and `POST .../revoke`.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::opportunity::Opportunity;
use cppo_domain::opportunity::OpportunityStatus;
use cppo_platform::api::{commit, path_id, until_committed, Step};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{event_item, opportunity_moved, opportunity_patched, parse_item, Versioned, Write, OPPORTUNITY};
use cppo_platform::App;
use serde_json::{Map, Value};

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "PATCH /opportunities/{id}" => patch(app, &req).await,
            "POST /opportunities/{id}/revoke" => revoke(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

async fn load(app: &App, req: &ApiRequest<'_>, id: &str) -> Result<Versioned<Opportunity>, Step> {
    match app.store.load::<Opportunity>(OPPORTUNITY, id).await? {
        Some(o) if o.value.is_party(&req.caller) => Ok(o),
        _ => Err(ApiError::NotFound(format!("no opportunity {id}")).into()),
    }
}

async fn patch(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let body: Map<String, Value> = req.body()?;
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    let updated = until_committed(|| async {
        let read = load(app, req, id).await?;
        let next = read.value.patch(&req.caller, &body, app.now())?;
        // Only the patched fields are written, in place: patches at once all stand, the last
        // one's fields last, and nothing else on the item (its count of offers) goes back stale.
        let named: Vec<&str> = body.keys().map(String::as_str).collect();
        let stored = app.store.update(opportunity_patched(&next, &named)?).await?;
        Ok(parse_item::<Opportunity>(stored)?.value)
    })
    .await?;
    Ok((200, updated.view(app.now())))
}

async fn revoke(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    req.empty_body()?;
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    let body = until_committed(|| async {
        let read = load(app, req, id).await?;
        let now = app.now();
        let mut next = read.value.revoke(&req.caller, now)?;
        let reason = Some("the ISV revoked the authorization; offers already made stay open".to_string());
        let event = Event::for_opportunity(EventType::OpportunityRevoked, &mut next, app.new_id(IdKind::Event), now, reason);
        let writes = vec![opportunity_moved(&next, OpportunityStatus::Active)?, Write::Create(event_item(&event)?)];
        let body = next.view(now);
        commit(app, req, writes, 200, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((200, body))
}
