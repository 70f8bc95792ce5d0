//! `POST /opportunities` and the two other ways to make opportunities: cloning one, and importing
//! an AWS Marketplace Catalog API change set. All three end in the same checked create.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::catalog;
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::opportunity::{create, CreateContext, CreateOpportunityInput, Found, Named, Opportunity, CREATE_FIELDS};
use cppo_domain::AccountId;
use cppo_platform::api::{commit, path_id, Step};
use cppo_platform::documents::compile_terms;
use cppo_platform::http::{from_value, unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{event_item, opportunity_item, Write, OPPORTUNITY};
use cppo_platform::App;
use serde_json::{json, Map, Value};

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "POST /opportunities" => create_opportunities(app, &req, req.body()?).await,
            "POST /opportunities/{id}/clone" => clone_opportunity(app, &req).await,
            "POST /opportunities/import" => import_change_set(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

/// A clone: the source's create body, each given top-level field replacing the source's whole.
async fn clone_opportunity(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let overrides: Map<String, Value> = req.body()?;
    let id = path_id(req, "id", IdKind::Opportunity, "opportunity")?;
    let source = app.store.load::<Opportunity>(OPPORTUNITY, id).await?.ok_or_else(|| ApiError::NotFound(format!("no opportunity {id}")))?;
    let mut body = source.value.for_isv(&req.caller, "clone")?.create_body();
    for (key, value) in overrides {
        if !CREATE_FIELDS.contains(&key.as_str()) {
            return Err(ApiError::validation(&key, format!("{key} is not a field of an opportunity")));
        }
        body[key] = value;
    }
    create_opportunities(app, req, from_value(body)?).await
}

/// An import: the opportunity a Catalog API change set describes, checked as a new create.
async fn import_change_set(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let change_set: Value = req.body()?;
    let imported = catalog::import(&change_set)?;
    // The change set names everything the create reads (the reseller, the product, and the ISV is
    // the caller), so one batch read serves the import (the ISV's own product) and the create.
    let sellers: Vec<AccountId> = AccountId::parse(imported.reseller_account_id()).into_iter().chain([req.caller.clone()]).collect();
    let products: Vec<String> = [imported.product_id.clone()].into_iter().filter(|p| IdKind::Product.is_valid(p)).collect();
    let found = app.store.named(&Named { sellers, products, documents: vec![] }).await?;
    let own = found.products.iter().find(|p| p.seller_account_id == req.caller);
    let input = from_value(imported.create_body(own)?)?;
    create_from(app, req, input, found).await
}

async fn create_opportunities(app: &App, req: &ApiRequest<'_>, input: CreateOpportunityInput) -> Result<(u16, Value), ApiError> {
    // One batch read: the ISV itself, the resellers, the products and the documents the body names.
    let found = app.store.named(&input.named(&req.caller)).await?;
    create_from(app, req, input, found).await
}

/// The create itself, given the sellers and products read for it.
async fn create_from(app: &App, req: &ApiRequest<'_>, input: CreateOpportunityInput, found: Found) -> Result<(u16, Value), ApiError> {
    let now = app.now();
    let ids = input.reseller_account_ids.iter().map(|_| app.new_id(IdKind::Opportunity)).collect();
    let mut opportunities = create(input, CreateContext::of(&req.caller, &found, now, ids))?;
    if dry_run(req)? {
        // The review step: what the same body would create, stored nowhere and told to nobody.
        let items: Vec<Value> = opportunities.iter().map(|o| without_id(o.view(now))).collect();
        return Ok((200, json!({ "items": items })));
    }
    compile_active(app, &mut opportunities, &found).await.map_err(|step| match step {
        Step::Refused(e) => e,
        Step::Store(e) => e.into(),
    })?;
    // A draft is announced when it is released, not before.
    let events: Vec<Event> = opportunities
        .iter_mut()
        .filter(|o| !o.is_draft())
        .map(|o| Event::for_opportunity(EventType::OpportunityCreated, o, app.new_id(IdKind::Event), now, None))
        .collect();
    let mut writes = Vec::with_capacity(opportunities.len() * 2);
    for o in &opportunities {
        writes.push(Write::Create(opportunity_item(o, 1)?));
    }
    for e in &events {
        writes.push(Write::Create(event_item(e)?));
    }
    let body = json!({ "items": opportunities.iter().map(|o| o.view(now)).collect::<Vec<_>>() });
    if let Err(error) = commit(app, req, writes, 201, &body).await {
        // Refused for certain: nothing records the compiled files, named after the first
        // opportunity, so they go too. After an unknown outcome they stay for the orphan check.
        if error == cppo_platform::store::StoreError::Conflict {
            discard_compiled(app, &opportunities).await;
        }
        return Err(error.into());
    }
    Ok((201, body))
}

/// Active opportunities' uploaded legal terms compiled once for the create (each reseller's
/// opportunity records the same files, named after the first).
async fn compile_active(app: &App, opportunities: &mut [Opportunity], found: &Found) -> Result<(), Step> {
    let Some(first) = opportunities.first().filter(|o| !o.is_draft()) else { return Ok(()) };
    let compiled = compile_terms(app.bucket()?, first, &found.documents, &first.opportunity_id).await?;
    for o in opportunities.iter_mut() {
        o.compiled = compiled.clone();
    }
    Ok(())
}

async fn discard_compiled(app: &App, opportunities: &[Opportunity]) {
    let (Some(first), Ok(bucket)) = (opportunities.first(), app.bucket()) else { return };
    for file in [&first.compiled.eula, &first.compiled.reseller_agreement].into_iter().flatten() {
        bucket.discard(&file.key).await;
    }
}

/// `?dryRun=true`: the review step of a create, a clone or an import.
fn dry_run(req: &ApiRequest<'_>) -> Result<bool, ApiError> {
    match req.query("dryRun") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::validation("dryRun", "dryRun must be true or false")),
    }
}

fn without_id(mut view: Value) -> Value {
    if let Value::Object(map) = &mut view {
        map.remove("opportunityId");
    }
    view
}
