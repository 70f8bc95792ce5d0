//! `POST /opportunities`: an ISV authorizes one or more resellers, all or none.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::event::{Event, EventType};
use cppo_domain::ids::IdKind;
use cppo_domain::opportunity::{create, CreateContext, CreateOpportunityInput};
use cppo_domain::AccountId;
use cppo_platform::http::{serve, unknown_route, ApiError, ApiRequest};
use cppo_platform::store::{event_item, opportunity_item, Write};
use cppo_platform::App;
use serde_json::{json, Value};

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(&event, &app.config.account_claim, |req| async move {
        match req.route_key() {
            "POST /opportunities" => create_opportunities(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

/// The most ids a create may name of each kind; longer lists are refused by the domain anyway.
const MAX_NAMED: usize = 20;

async fn create_opportunities(app: &App, req: &ApiRequest<'_>) -> Result<(u16, Value), ApiError> {
    let input: CreateOpportunityInput = req.body()?;
    let now = app.now();
    // One batch read: the ISV itself, the resellers and the products the body names.
    let mut sellers: Vec<AccountId> = input.reseller_account_ids.iter().take(MAX_NAMED).filter_map(|r| AccountId::parse(r)).collect();
    sellers.push(req.caller.clone());
    let products: Vec<String> = input.product_ids.iter().take(MAX_NAMED).filter(|p| IdKind::Product.is_valid(p)).cloned().collect();
    let (found_sellers, found_products) = app.store.sellers_and_products(&sellers, &products).await?;
    let isv = found_sellers.iter().find(|s| s.account_id == req.caller);
    let ids = input.reseller_account_ids.iter().map(|_| app.new_id(IdKind::Opportunity)).collect();
    let ctx = CreateContext { isv, isv_account_id: &req.caller, resellers: &found_sellers, products: &found_products, now, opportunity_ids: ids };
    let opportunities = create(input, ctx)?;
    let events: Vec<Event> = opportunities
        .iter()
        .map(|o| Event::for_opportunity(EventType::OpportunityCreated, o, app.new_id(IdKind::Event), now, None))
        .collect();
    let mut writes = Vec::with_capacity(opportunities.len() * 2);
    for o in &opportunities {
        writes.push(Write::Create(opportunity_item(o, 1)?));
    }
    for e in &events {
        writes.push(Write::Create(event_item(e)?));
    }
    app.store.transact(writes).await?;
    app.outbox.deliver(&app.store, &events, now).await;
    Ok((201, json!({ "items": opportunities.iter().map(|o| o.view(now)).collect::<Vec<_>>() })))
}
