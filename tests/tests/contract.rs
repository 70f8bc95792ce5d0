//! The contract's edges through HTTP: identity, unreadable bodies, field rules, immutable
//! fields, registration, paging and the local routes.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn error(r: &Reply) -> (u16, &str, Option<&str>) {
    (r.status, r.body["error"]["code"].as_str().unwrap_or_default(), r.body["error"]["field"].as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_comes_only_from_a_valid_token() {
    let stack = Stack::start().await;
    // No token, or a token the authorizer refuses: API Gateway's own 401, before any function.
    let anonymous = stack.call("GET", "/sellers/me", None, None).await;
    assert_eq!((anonymous.status, &anonymous.body), (401, &json!({"message": "Unauthorized"})));
    let forged = local_gateway::auth::mint("not-the-secret", "account_id", ISV, chrono::Utc::now().timestamp(), 600);
    let expired = local_gateway::auth::mint(SECRET, "account_id", ISV, chrono::Utc::now().timestamp() - 600, 60);
    for token in [forged, expired.clone(), "garbage".to_string()] {
        let r = stack.raw(Method::GET, "/sellers/me", &[("authorization", format!("Bearer {token}"))], None).await;
        assert_eq!((r.status, &r.body), (401, &json!({"message": "Unauthorized"})), "{token}");
        let challenge = r.headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    let r = stack.raw(Method::GET, "/sellers/me", &[("authorization", format!("Bearer {expired}"))], None).await;
    assert!(r.headers["www-authenticate"].to_str().unwrap_or_default().contains("expired"));
    // A valid token without the account claim passes the authorizer; the function refuses it.
    let wrong_claim = local_gateway::auth::mint(SECRET, "sub_account", ISV, chrono::Utc::now().timestamp(), 600);
    let r = stack.raw(Method::GET, "/sellers/me", &[("authorization", format!("Bearer {wrong_claim}"))], None).await;
    assert_eq!(error(&r), (401, "Unauthorized", None));
    // A header naming an account is no identity.
    let r = stack.raw(Method::GET, "/sellers/me", &[("x-account-id", ISV.to_string())], None).await;
    assert_eq!(r.status, 401);
    // The token's expiry is checked against real time, not the (frozen, future) local clock.
    assert_eq!(stack.get("/sellers/me", ISV).await.status, 404);
    assert_eq!(stack.call("GET", "/health", None, None).await.body, json!({"status": "ok"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_and_methods_the_api_lacks_get_the_gateways_404() {
    let stack = Stack::start().await;
    let not_found = json!({"message": "Not Found"});
    // API Gateway has no 405: a method a path lacks is the same 404 as a path that does not exist.
    for (method, path) in
        [("GET", "/nowhere"), ("DELETE", "/offers/offer-1"), ("TRACE", "/health"), ("POST", "/health"), ("GET", "/_local/nowhere")]
    {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let r = stack.raw(method.clone(), path, &[("authorization", format!("Bearer {}", Stack::token(ISV)))], None).await;
        assert_eq!((r.status, &r.body), (404, &not_found), "{method} {path}");
    }
    // A resource the caller cannot see is the function's 404, in the contract's shape.
    let r = stack.get("/offers/offer-1", ISV).await;
    assert_eq!(error(&r), (404, "NotFound", None));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stage_throttles_as_the_template_says() {
    let stack = Stack::start_with(Settings { rate_limit: RateLimit { rate_per_second: 1, burst: 5 }, ..Settings::default() }).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = stack.get("/sellers/me", ISV).await;
        if r.status == 429 {
            assert_eq!(r.body, json!({"message": "Too Many Requests"}));
        }
        statuses.push(r.status);
    }
    // The burst passes (404: no seller yet), then the gateway refuses before any function runs.
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 5, "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The local routes are no part of the stage.
    assert_eq!(stack.call("POST", "/_local/drain", None, None).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(stack.get("/sellers/me", ISV).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_bodies_get_the_contracts_statuses() {
    let stack = Stack::start().await;
    let auth = ("authorization", format!("Bearer {}", Stack::token(ISV)));
    let json_type = ("content-type", "application/json".to_string());
    let not_json = stack.raw(Method::PUT, "/sellers/me", &[auth.clone(), json_type.clone()], Some(b"{nope".to_vec())).await;
    assert_eq!(error(&not_json), (400, "ValidationError", None));
    let text = stack.raw(Method::PUT, "/sellers/me", &[auth.clone(), ("content-type", "text/plain".into())], Some(b"{}".to_vec())).await;
    assert_eq!(error(&text).0, 415);
    let big = format!("{{\"displayName\": \"{}\"}}", "x".repeat(70 * 1024));
    let too_big = stack.raw(Method::PUT, "/sellers/me", &[auth.clone(), json_type.clone()], Some(big.into_bytes())).await;
    assert_eq!(error(&too_big).0, 413);
    // 401 comes before any of them.
    let anonymous = stack.raw(Method::PUT, "/sellers/me", &[json_type], Some(b"{nope".to_vec())).await;
    assert_eq!(anonymous.status, 401);

    let seller = json!({"displayName": "Example ISV", "publicProfileComplete": true, "taxAndBankingComplete": true});
    let mut unknown = seller.clone();
    unknown["colour"] = json!("red");
    assert_eq!(error(&stack.call("PUT", "/sellers/me", Some(ISV), Some(unknown)).await).0, 400);
    let mut wrong_type = seller.clone();
    wrong_type["publicProfileComplete"] = json!("yes");
    assert_eq!(
        error(&stack.call("PUT", "/sellers/me", Some(ISV), Some(wrong_type)).await),
        (400, "ValidationError", Some("publicProfileComplete"))
    );
    let missing = json!({"displayName": "Example ISV"});
    assert_eq!(error(&stack.call("PUT", "/sellers/me", Some(ISV), Some(missing)).await).0, 400);
    assert_eq!(stack.call("PUT", "/sellers/me", Some(ISV), Some(seller)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_registered_sellers_list_products_and_resell() {
    let stack = Stack::start().await;
    let unfinished = json!({"displayName": "Half Done", "publicProfileComplete": true, "taxAndBankingComplete": false});
    let me = stack.call("PUT", "/sellers/me", Some(ISV), Some(unfinished)).await;
    assert_eq!((me.status, me.body["registered"].as_bool()), (200, Some(false)));
    let product = json!({"title": "Suite", "productType": "saas-contract", "paid": true, "dimensions": [{"key": "users", "name": "Users", "unitPrice": "10"}]});
    assert_eq!(error(&stack.post("/products", ISV, product.clone()).await).0, 403);
    stack.register(ISV, "Example ISV", None).await;
    let created = stack.post("/products", ISV, product).await;
    assert_eq!(created.status, 201, "{created:?}");
    let product_id = id(&created.body, "productId");
    assert_eq!(stack.get(&format!("/products/{product_id}"), ISV).await.body["title"], "Suite");
    assert_eq!(stack.get("/products", ISV).await.body["items"].as_array().map(Vec::len), Some(1));

    // A reseller that has not finished registering cannot be named, nor found in /resellers.
    stack
        .call(
            "PUT",
            "/sellers/me",
            Some(RESELLER),
            Some(json!({"displayName": "Late Reseller", "publicProfileComplete": false, "taxAndBankingComplete": true})),
        )
        .await;
    assert_eq!(stack.get("/resellers", ISV).await.body["items"], json!([]));
    let r = stack.post("/opportunities", ISV, opportunity_body(&product_id, json!({}))).await;
    assert_eq!(error(&r), (400, "ValidationError", Some("resellerAccountIds[0]")));
    stack.register(RESELLER, "Example Reseller", None).await;
    assert_eq!(stack.get("/resellers", ISV).await.body["items"], json!([{"accountId": RESELLER, "displayName": "Example Reseller"}]));
    assert_eq!(stack.get("/resellers", RESELLER).await.body["items"], json!([{"accountId": ISV, "displayName": "Example ISV"}]));
    assert_eq!(stack.post("/opportunities", ISV, opportunity_body(&product_id, json!({}))).await.status, 201);
    // Someone else's product cannot be authorized.
    let r = stack.post("/opportunities", RESELLER, opportunity_body(&product_id, json!({"resellerAccountIds": [ISV]}))).await;
    assert_eq!(error(&r), (400, "ValidationError", Some("productIds[0]")));
}

#[tokio::test(flavor = "multi_thread")]
async fn field_rules_name_the_field_and_store_nothing() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let services = stack.product(ISV, "professional-services", &[("hours", "200")]).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "no spaces allowed"}), "name"),
        (json!({"discount": {"type": "percentage", "percentage": 20}}), "discount.percentage"),
        (json!({"discount": {"type": "percentage", "percentage": "100"}}), "discount.percentage"),
        (json!({"duration": {"type": "endDate", "endDate": "2027-01-09"}}), "duration.endDate"),
        (json!({"renewal": true}), "renewalAcknowledged"),
        (json!({"notificationEmails": ["a@b.example", "A@B.example"]}), "notificationEmails[1]"),
        (json!({"buyerAccountIds": ["12345"]}), "buyerAccountIds[0]"),
        (json!({"resellerAccountIds": [ISV]}), "resellerAccountIds[0]"),
        (json!({"productIds": [services]}), "discount.type"),
    ];
    for (extra, field) in cases {
        let r = stack.post("/opportunities", ISV, opportunity_body(&product, extra.clone())).await;
        assert_eq!(error(&r), (400, "ValidationError", Some(field)), "{extra}");
    }
    assert_eq!(stack.get("/opportunities", ISV).await.body["items"], json!([]), "a refused create stores nothing");

    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({"buyerAccountIds": [BUYER]}))).await, "opportunityId");
    let offer_cases: Vec<(Value, &str)> = vec![
        (json!({"buyerAccountId": OUTSIDER}), "buyerAccountId"),
        (json!({"markupPercentage": "1000.1"}), "markupPercentage"),
        (json!({"expiresOn": "2028-01-11"}), "expiresOn"),
        (json!({"contractMonths": 61}), "contractMonths"),
        (json!({"units": [{"dimensionKey": "seats", "units": 1}]}), "units[0].dimensionKey"),
        (json!({"productId": services}), "productId"),
    ];
    for (extra, field) in offer_cases {
        let r = stack.offer(&opportunity_id, &product, extra.clone()).await;
        assert_eq!(error(&r), (400, "ValidationError", Some(field)), "{extra}");
    }
    let unknown = stack.offer("opp-00000000000000000000000000000000", &product, json!({})).await;
    assert_eq!(error(&unknown).0, 404);
    assert_eq!(stack.get("/offers", RESELLER).await.body["items"], json!([]));
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_changes_only_what_may_change() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let path = format!("/opportunities/{opportunity_id}");
    let ok = stack
        .call(
            "PATCH",
            &path,
            Some(ISV),
            Some(json!({"description": "Q3 resale, Acme (renewed)", "notificationEmails": ["new@isv.example"]})),
        )
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.body["notificationEmails"], json!(["new@isv.example"]));
    let read = stack.get(&path, RESELLER).await.body;
    assert_eq!(read["description"], "Q3 resale, Acme (renewed)");
    let immutable = stack.call("PATCH", &path, Some(ISV), Some(json!({"duration": {"type": "noEnd"}}))).await;
    assert_eq!(error(&immutable), (400, "ImmutableField", Some("duration")));
    let unknown = stack.call("PATCH", &path, Some(ISV), Some(json!({"colour": "red"}))).await;
    assert_eq!(error(&unknown), (400, "ValidationError", Some("colour")));
    assert_eq!(stack.call("PATCH", &path, Some(RESELLER), Some(json!({"description": "mine"}))).await.status, 403);
    assert_eq!(stack.call("PATCH", &path, Some(OUTSIDER), Some(json!({"description": "mine"}))).await.status, 404);
    // Changes apply in any status, and the new stakeholders get the next email.
    stack.post(&format!("{path}/revoke"), ISV, json!({})).await;
    assert_eq!(stack.call("PATCH", &path, Some(ISV), Some(json!({"description": "Closed"}))).await.status, 200);
    stack.drain().await;
    let revoked = titled(&stack.emails().await, "Resale authorization revoked").iter().map(|e| recipients(e)).collect::<Vec<_>>();
    assert!(revoked.contains(&vec!["new@isv.example".to_string()]), "{revoked:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_with_opaque_tokens() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let mut created = Vec::new();
    for minute in 0..5 {
        stack.set_clock(&format!("2027-01-10T12:0{minute}:00Z")).await;
        created.push(id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId"));
    }
    let mut seen = Vec::new();
    let mut path = "/opportunities?limit=2".to_string();
    for expected in [2, 2, 1] {
        let page = stack.get(&path, RESELLER).await.body;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), expected, "{page}");
        seen.extend(items.iter().map(|o| id(o, "opportunityId")));
        match page["nextToken"].as_str() {
            Some(token) => path = format!("/opportunities?limit=2&nextToken={token}"),
            None => assert_eq!(expected, 1, "the last page has no token"),
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each once");
    for bad in ["/opportunities?limit=0", "/opportunities?limit=101", "/opportunities?nextToken=tampered", "/opportunities?status=lost"] {
        assert_eq!(error(&stack.get(bad, ISV).await).0, 400, "{bad}");
    }
    let token = stack.get("/opportunities?limit=1", ISV).await.body["nextToken"].as_str().unwrap().to_string();
    assert_eq!(error(&stack.get(&format!("/offers?nextToken={token}"), ISV).await).0, 400, "a token of another list");
}

/// Decodes a token's readable half, edits it, and puts it back with its old signature.
fn edited(token: &str, from: &str, to: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, tag) = token.split_once('.').expect("a signed token");
    let text = String::from_utf8(engine.decode(payload).expect("base64")).expect("text");
    assert!(text.contains(from), "{text} should name {from}");
    format!("{}.{tag}", engine.encode(text.replace(from, to)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_token_is_signed_and_bound_to_its_caller_and_query() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let mut created = Vec::new();
    for minute in 0..3 {
        stack.set_clock(&format!("2027-01-10T12:0{minute}:00Z")).await;
        created.push(id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId"));
    }
    let token = stack.get("/opportunities?limit=1", ISV).await.body["nextToken"].as_str().unwrap().to_string();
    assert_eq!(stack.get(&format!("/opportunities?limit=1&nextToken={token}"), ISV).await.status, 200);
    // No stored key in it: neither the table's key prefixes nor its index partitions.
    let readable = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(!readable.contains("OPPORTUNITY#") && !readable.contains("ISV#") && !readable.contains('#'), "{readable}");
    // Edited to point at another item: refused, never answered from wherever it points.
    let forged = edited(&token, &created[2], &created[0]);
    let r = stack.get(&format!("/opportunities?limit=1&nextToken={forged}"), ISV).await;
    assert_eq!(error(&r), (400, "ValidationError", Some("nextToken")), "{r:?}");
    // Another caller's, another query's: refused.
    let r = stack.get(&format!("/opportunities?limit=1&nextToken={token}"), RESELLER).await;
    assert_eq!(error(&r), (400, "ValidationError", Some("nextToken")), "another caller: {r:?}");
    let r = stack.get(&format!("/opportunities?limit=1&status=active&nextToken={token}"), ISV).await;
    assert_eq!(error(&r), (400, "ValidationError", Some("nextToken")), "another query: {r:?}");
    // `limit` is not part of the query: the next page may be of another size.
    assert_eq!(stack.get(&format!("/opportunities?limit=5&nextToken={token}"), ISV).await.status, 200);

    // A report token reused with another date range: refused (DynamoDB would refuse a start key
    // outside the new range with a 500).
    for _ in 0..2 {
        let offer = stack.offer(&created[0], &product, json!({})).await;
        assert_eq!(stack.post(&format!("/offers/{}/accept", id(&offer.body, "offerId")), BUYER, json!({})).await.status, 201);
    }
    let report = stack.get("/reports/sales?from=2027-01-01&to=2027-01-31&limit=1", ISV).await.body;
    let token = report["nextToken"].as_str().expect("a second page").to_string();
    assert_eq!(stack.get(&format!("/reports/sales?from=2027-01-01&to=2027-01-31&limit=1&nextToken={token}"), ISV).await.status, 200);
    let r = stack.get(&format!("/reports/sales?from=2027-02-01&to=2027-02-28&limit=1&nextToken={token}"), ISV).await;
    assert_eq!(error(&r), (400, "ValidationError", Some("nextToken")), "{r:?}");
    for junk in ["", "e30", "e30.e30", "%00", "a.b.c"] {
        assert_eq!(stack.get(&format!("/offers?nextToken={junk}"), ISV).await.status, 400, "{junk:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_routes_move_time_and_refuse_nonsense() {
    let stack = Stack::start().await;
    let r = stack.call("POST", "/_local/clock", None, Some(json!({"now": "2030-05-01T10:00:00Z"}))).await;
    assert_eq!(r.body, json!({"now": "2030-05-01T10:00:00.000Z"}));
    assert_eq!(stack.call("POST", "/_local/clock", None, Some(json!({"now": "tomorrow"}))).await.status, 400);
    let restored = stack.call("POST", "/_local/clock", None, Some(json!({"now": null}))).await;
    assert!(restored.body["now"].as_str().unwrap().starts_with(&chrono::Utc::now().format("%Y-").to_string()));
    assert_eq!(stack.sweep().await, json!({"opportunities": 0, "offers": 0, "agreements": 0}));
    assert_eq!(stack.drain().await, (0, 0));
    assert_eq!(stack.emails().await, Vec::<Value>::new());
    assert_eq!(stack.call("GET", "/nowhere", Some(ISV), None).await.status, 404);
}
