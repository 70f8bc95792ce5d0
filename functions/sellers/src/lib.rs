//! Sellers and their products: `PUT/GET /sellers/me`, `GET /resellers`, `POST/GET /products`.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::ids::IdKind;
use cppo_domain::product::{Product, ProductInput};
use cppo_domain::seller::{Seller, SellerInput};
use cppo_platform::api::{commit, page_body, page_request, path_id, until_committed};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::store::{party_streams, product_item, resellers_stream, Index, Write, PRODUCT};
use cppo_platform::App;
use serde_json::{json, Value};

type Answer = Result<(u16, Value), ApiError>;

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "PUT /sellers/me" => put_seller(app, &req).await,
            "GET /sellers/me" => get_seller(app, &req).await,
            "GET /resellers" => list_resellers(app, &req).await,
            "POST /products" => create_product(app, &req).await,
            "GET /products" => list_products(app, &req).await,
            "GET /products/{productId}" => get_product(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn put_seller(app: &App, req: &ApiRequest<'_>) -> Answer {
    let input: SellerInput = req.body()?;
    // Two saves at once: both stand, the later over the earlier, never a 409.
    let seller = until_committed(|| async {
        let existing = app.store.seller(&req.caller).await?;
        let seller = Seller::upsert(req.caller.clone(), input.clone(), existing.as_ref().map(|e| &e.value), app.now())?;
        app.store.put_seller(&seller, existing.map(|e| e.version)).await?;
        Ok(seller)
    })
    .await?;
    Ok((200, to_json(&seller)))
}

async fn get_seller(app: &App, req: &ApiRequest<'_>) -> Answer {
    match app.store.seller(&req.caller).await? {
        Some(seller) => Ok((200, to_json(&seller.value))),
        None => Err(ApiError::NotFound("you have no seller profile yet; PUT /sellers/me creates it".into())),
    }
}

async fn list_resellers(app: &App, req: &ApiRequest<'_>) -> Answer {
    let streams = [resellers_stream()];
    let list = page_request(req, &app.config, &streams)?;
    let page =
        app.store.list(&streams, list.positions.clone(), list.limit, |s: &Seller| s.account_id != req.caller && s.registered).await?;
    Ok((200, page_body(page, &list, |s| json!({"accountId": s.account_id, "displayName": s.display_name}))))
}

async fn create_product(app: &App, req: &ApiRequest<'_>) -> Answer {
    let input: ProductInput = req.body()?;
    let registered = app.store.seller(&req.caller).await?.is_some_and(|s| s.value.registered);
    if !registered {
        return Err(ApiError::Forbidden("only a registered seller can create products".into()));
    }
    let product = Product::create(app.new_id(IdKind::Product), req.caller.clone(), input, app.now())?;
    let body = to_json(&product);
    commit(app, req, vec![Write::Create(product_item(&product)?)], 201, &body).await?;
    Ok((201, body))
}

async fn list_products(app: &App, req: &ApiRequest<'_>) -> Answer {
    let streams = party_streams(&req.caller, PRODUCT, &[Index::ByIsv]);
    let list = page_request(req, &app.config, &streams)?;
    let page = app.store.list(&streams, list.positions.clone(), list.limit, |_: &Product| true).await?;
    Ok((200, page_body(page, &list, to_json)))
}

async fn get_product(app: &App, req: &ApiRequest<'_>) -> Answer {
    let id = path_id(req, "productId", IdKind::Product, "product")?;
    match app.store.load::<Product>(PRODUCT, id).await? {
        Some(p) if p.value.seller_account_id == req.caller => Ok((200, to_json(&p.value))),
        _ => Err(ApiError::NotFound(format!("no product {id}"))),
    }
}
