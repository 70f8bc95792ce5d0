//! Changes to an opportunity: the ISV's `PATCH /opportunities/{id}` (a draft's whole terms, or a
//! released one's description and stakeholders) and `POST .../release`, and `POST .../revoke`
//! by either party.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::legal::StoredRef;
use cppo_domain::opportunity::{CreateContext, CreateOpportunityInput, Named, Opportunity, OpportunityStatus, RestrictedBy};
use cppo_platform::api::{commit, path_id, until_committed, Step};
use cppo_platform::documents::compile_terms;
use cppo_platform::http::{from_value, unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{
    event_item, opportunity_item, opportunity_moved, opportunity_patched, parse_item, Versioned, Write, OPPORTUNITY,
};
use cppo_platform::App;
use serde::Deserialize;
use serde_json::{Map, Value};

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "PATCH /opportunities/{id}" => patch(app, &req).await,
            "POST /opportunities/{id}/revoke" => revoke(app, &req).await,
            "POST /opportunities/{id}/release" => release(app, &req).await,
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
        if read.value.is_draft() {
            return revise_draft(app, req, read, &body).await;
        }
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

/// A draft's terms revised: its create body with the given fields replaced, checked as a new
/// create against the sellers and products as they are now, and written whole.
async fn revise_draft(
    app: &App,
    req: &ApiRequest<'_>,
    read: Versioned<Opportunity>,
    body: &Map<String, Value>,
) -> Result<Opportunity, Step> {
    let input: CreateOpportunityInput = from_value(read.value.draft_body(&req.caller, body)?)?;
    // Read as a create reads them: the draft's reseller is its body's.
    let found = app.store.named(&input.named(&req.caller)).await?;
    let revised = read.value.revise(input, CreateContext::of(&req.caller, &found, app.now(), vec![]))?;
    app.store.write_all(vec![Write::Replace(opportunity_item(&revised, read.version + 1)?, read.version)]).await?;
    Ok(revised)
}

/// The ISV releases a draft: it becomes active, its reseller sees it, and only now is it announced.
async fn release(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    req.empty_body()?;
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    let body = until_committed(|| async {
        let read = load(app, req, id).await?;
        let now = app.now();
        let mut next = read.value.release(&req.caller, now)?;
        next.compiled = compile(app, &next).await?;
        let event = Event::for_opportunity(EventType::OpportunityCreated, &mut next, app.new_id(IdKind::Event), now, None);
        let writes = vec![Write::Replace(opportunity_item(&next, read.version + 1)?, read.version), Write::Create(event_item(&event)?)];
        let body = next.view(now);
        commit(app, req, writes, 200, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((200, body))
}

/// A released draft's uploaded legal terms, compiled from its documents as they are now. A retry
/// after a lost race writes the same key again, and only the version its transaction records is
/// ever read.
async fn compile(app: &App, o: &Opportunity) -> Result<cppo_domain::opportunity::Compiled, Step> {
    let ids: Vec<String> =
        o.to_compile().iter().flat_map(|(_, refs)| refs.iter().flatten()).map(|r: &&StoredRef| r.document_id.clone()).collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found = app.store.named(&Named { documents: ids, ..Named::default() }).await?;
    compile_terms(app.bucket()?, o, &found.documents, &o.opportunity_id).await
}

/// `POST .../revoke`'s body: why, optionally.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeInput {
    #[serde(default)]
    reason: Option<String>,
}

async fn revoke(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let input: RevokeInput = req.optional_body()?;
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    let body = until_committed(|| async {
        let read = load(app, req, id).await?;
        let now = app.now();
        let mut next = read.value.revoke(&req.caller, input.reason.clone(), now)?;
        let reason = Some(revocation_reason(&next));
        let event = Event::for_opportunity(EventType::OpportunityRevoked, &mut next, app.new_id(IdKind::Event), now, reason);
        let writes = vec![opportunity_moved(&next, OpportunityStatus::Active)?, Write::Create(event_item(&event)?)];
        let body = next.view(now);
        commit(app, req, writes, 200, &body).await?;
        Ok(body)
    })
    .await?;
    Ok((200, body))
}

/// Who ended the authorization and why, for the event the other party reads.
fn revocation_reason(o: &Opportunity) -> String {
    let who = match o.restricted_by {
        Some(RestrictedBy::Reseller) => "the reseller ended the authorization",
        _ => "the ISV revoked the authorization",
    };
    match &o.restriction_reason {
        Some(reason) => format!("{who}: {reason}; offers already made stay open"),
        None => format!("{who}; offers already made stay open"),
    }
}
