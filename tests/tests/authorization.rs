//! The authorization matrix: every route, called by every kind of caller, answers as the contract
//! says. Rows run in order and callers in the order of the columns, so a state change a row
//! allows (an accept, a cancel, a revoke) comes after every refusal of it.

mod common;

use common::*;
use cppo_platform::routes::ROUTES;
use local_gateway::auth;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Callers, in column order.
const CALLERS: [&str; 7] = ["none", "forged", "expired", "outsider", "buyer", "reseller", "isv"];

fn authorization(caller: &str) -> Option<String> {
    let now = chrono::Utc::now().timestamp();
    let token = match caller {
        "none" => return None,
        "forged" => auth::mint("not-the-secret", "account_id", ISV, now, 3600),
        "expired" => auth::mint(SECRET, "account_id", ISV, now - 7200, 3600),
        "outsider" => Stack::token(OUTSIDER),
        "buyer" => Stack::token(BUYER),
        "reseller" => Stack::token(RESELLER),
        _ => Stack::token(ISV),
    };
    Some(format!("Bearer {token}"))
}

struct Row {
    method: &'static str,
    template: &'static str,
    path: String,
    body: Option<Value>,
    /// Statuses for none, forged, expired, outsider, buyer, reseller, isv.
    expected: [u16; 7],
}

fn row(method: &'static str, template: &'static str, path: String, body: Option<Value>, parties: [u16; 4]) -> Row {
    let [outsider, buyer, reseller, isv] = parties;
    Row { method, template, path, body, expected: [401, 401, 401, outsider, buyer, reseller, isv] }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_caller_as_the_contract_says() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let to_cancel = id(&stack.offer(&opportunity, &product, json!({})).await.body, "offerId");
    let to_accept = id(&stack.offer(&opportunity, &product, json!({})).await.body, "offerId");
    let accepted = id(&stack.offer(&opportunity, &product, json!({})).await.body, "offerId");
    let agreement = id(&stack.post(&format!("/offers/{accepted}/accept"), BUYER, json!({})).await.body, "agreementId");
    let to_move = id(&stack.offer(&opportunity, &product, json!({})).await.body, "offerId");
    // Two more agreements, each with a cancellation request pending: one to withdraw, one to accept.
    let mut pending = Vec::new();
    for _ in 0..2 {
        let offer = id(&stack.offer(&opportunity, &product, json!({})).await.body, "offerId");
        let a = id(&stack.post(&format!("/offers/{offer}/accept"), BUYER, json!({})).await.body, "agreementId");
        let r = stack.post(&format!("/agreements/{a}/cancellation"), RESELLER, json!({"reason": "the buyer asked"})).await;
        assert_eq!(r.status, 201, "{r:?}");
        pending.push(a);
    }
    let draft = id(&stack.opportunity(opportunity_body(&product, json!({"draft": true}))).await, "opportunityId");
    let to_end = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let c = |a: &str, suffix: &str| format!("/agreements/{a}/cancellation{suffix}");
    let product_body = json!({"title": "Tool", "productType": "ami", "paid": true, "dimensions": [{"key": "hours", "name": "Hours", "unitPrice": "1.00"}]});
    let change_set = json!({"Catalog": "AWSMarketplace", "ChangeSet": [
        {"ChangeType": "CreateResaleAuthorization", "Entity": {"Type": "ResaleAuthorization@1.0"},
         "DetailsDocument": {"ProductId": product, "Name": "Imported", "ResellerAccountId": RESELLER}},
        {"ChangeType": "UpdatePricingTerms", "Entity": {"Type": "ResaleAuthorization@1.0", "Identifier": "$ResaleAuthorization.Entity.Identifier"},
         "DetailsDocument": {"PricingModel": "Contract", "Terms": [{"Type": "ResaleConfigurableUpfrontPricingTerm", "CurrencyCode": "USD", "RateCards": [{"RateCard": [{"DimensionKey": "users", "Price": "90"}]}]}]}},
    ]});
    let o = |suffix: &str| format!("/opportunities/{opportunity}{suffix}");
    let with_agreement =
        id(&stack.opportunity(opportunity_body(&product, json!({"resellerAgreement": {"type": "rcmp"}}))).await, "opportunityId");
    let text = b"Terms of use".to_vec();
    let declared = json!({"fileName": "terms.txt", "contentType": "text/plain", "sizeBytes": text.len(),
        "sha256": "8c45a486e4b1cad8da030648c261c5b4bce2ab95de23010415be98229eeec919"});
    let document = stack.post("/documents", ISV, declared.clone()).await;
    assert_eq!(document.status, 201, "{document:?}");
    let mut put = reqwest::Client::new().put(document.body["uploadUrl"].as_str().unwrap()).body(text);
    for (name, value) in document.body["uploadHeaders"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success(), "the presigned upload");
    let document = id(&document.body, "documentId");
    let rows = vec![
        row("POST", "/documents", "/documents".into(), Some(declared), [403, 403, 201, 201]),
        row("POST", "/documents/{id}/complete", format!("/documents/{document}/complete"), None, [404, 404, 404, 200]),
        row("GET", "/documents/{id}", format!("/documents/{document}"), None, [404, 404, 404, 200]),
        row("GET", "/opportunities/{id}/eula", o("/eula"), None, [404, 404, 200, 200]),
        row(
            "GET",
            "/opportunities/{id}/reseller-agreement",
            format!("/opportunities/{with_agreement}/reseller-agreement"),
            None,
            [404, 404, 200, 200],
        ),
        row("GET", "/offers/{id}/eula", format!("/offers/{to_move}/eula"), None, [404, 200, 200, 200]),
        row("GET", "/sellers/me", "/sellers/me".into(), None, [404, 404, 200, 200]),
        row("GET", "/resellers", "/resellers".into(), None, [200, 200, 200, 200]),
        row("POST", "/products", "/products".into(), Some(product_body), [403, 403, 201, 201]),
        row("GET", "/products", "/products".into(), None, [200, 200, 200, 200]),
        row("GET", "/products/{productId}", format!("/products/{product}"), None, [404, 404, 404, 200]),
        row("POST", "/opportunities", "/opportunities".into(), Some(opportunity_body(&product, json!({}))), [403, 403, 400, 201]),
        row("GET", "/opportunities", "/opportunities".into(), None, [200, 200, 200, 200]),
        row("GET", "/opportunities/{id}", o(""), None, [404, 404, 200, 200]),
        row("PATCH", "/opportunities/{id}", o(""), Some(json!({"description": "Updated"})), [404, 404, 403, 200]),
        row("POST", "/opportunities/{id}/clone", o("/clone"), Some(json!({})), [404, 404, 403, 201]),
        row("GET", "/opportunities/{id}/changeset", o("/changeset"), None, [404, 404, 403, 200]),
        row("POST", "/opportunities/import", "/opportunities/import".into(), Some(change_set), [403, 403, 400, 201]),
        row(
            "POST",
            "/offers",
            "/offers".into(),
            Some(json!({"opportunityId": opportunity, "productId": product, "buyerAccountId": BUYER,
            "buyerCompanyName": "Acme Corp", "markupPercentage": "10", "expiresOn": "2027-01-31"})),
            [404, 404, 201, 403],
        ),
        row("GET", "/offers", "/offers".into(), None, [200, 200, 200, 200]),
        row("GET", "/offers/{id}", format!("/offers/{to_cancel}"), None, [404, 200, 200, 200]),
        row("POST", "/offers/{id}/cancel", format!("/offers/{to_cancel}/cancel"), None, [404, 403, 200, 403]),
        row("POST", "/offers/{id}/accept", format!("/offers/{to_accept}/accept"), None, [404, 201, 403, 403]),
        row("PATCH", "/offers/{id}", format!("/offers/{to_move}"), Some(json!({"expiresOn": "2027-02-28"})), [404, 403, 200, 403]),
        row("POST", "/opportunities/{id}/release", format!("/opportunities/{draft}/release"), None, [404, 404, 404, 200]),
        row("POST", "/agreements/{id}/cancellation", c(&agreement, ""), Some(json!({"reason": "wrong terms"})), [404, 403, 201, 403]),
        row("GET", "/agreements/{id}/cancellation", c(&agreement, ""), None, [404, 200, 200, 200]),
        row("POST", "/agreements/{id}/cancellation/reject", c(&agreement, "/reject"), None, [404, 200, 403, 403]),
        row("DELETE", "/agreements/{id}/cancellation", c(&pending[0], ""), None, [404, 403, 200, 403]),
        row("POST", "/agreements/{id}/cancellation/accept", c(&pending[1], "/accept"), None, [404, 200, 403, 403]),
        row("GET", "/agreements", "/agreements".into(), None, [200, 200, 200, 200]),
        row("GET", "/agreements/{id}", format!("/agreements/{agreement}"), None, [404, 200, 200, 200]),
        row("GET", "/reports/sales", "/reports/sales?from=2027-01-01&to=2027-01-31".into(), None, [200, 200, 200, 200]),
        row(
            "POST",
            "/agreements/{id}/usage",
            format!("/agreements/{agreement}/usage"),
            Some(json!({"records": [{"dimensionKey": "users", "quantity": 1, "timestamp": "2027-01-10T11:30:00Z"}]})),
            [404, 403, 403, 200],
        ),
        row("GET", "/invoices", "/invoices".into(), None, [200, 200, 200, 200]),
        row("GET", "/invoices/{id}", format!("/invoices/{}-up", agreement.replace("agr-", "inv-")), None, [404, 200, 200, 200]),
        row("GET", "/reports/billing", "/reports/billing?from=2027-01-01&to=2027-01-31".into(), None, [200, 200, 200, 200]),
        // Either party may end it: the reseller does, and the ISV then finds it no longer active.
        row("POST", "/opportunities/{id}/revoke", format!("/opportunities/{to_end}/revoke"), None, [404, 404, 200, 409]),
        row(
            "PUT",
            "/sellers/me",
            "/sellers/me".into(),
            Some(json!({"displayName": "Anyone", "publicProfileComplete": false, "taxAndBankingComplete": false})),
            [200, 200, 200, 200],
        ),
    ];

    let covered: BTreeSet<(&str, &str)> = rows.iter().map(|r| (r.method, r.template)).collect();
    let routes: BTreeSet<(&str, &str)> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(covered, routes, "the matrix covers every route of the API");

    let mut wrong = Vec::new();
    for r in &rows {
        for (caller, expected) in CALLERS.iter().zip(r.expected) {
            let mut headers = vec![("content-type", "application/json".to_string())];
            if let Some(value) = authorization(caller) {
                headers.push(("authorization", value));
            }
            let method = Method::from_bytes(r.method.as_bytes()).unwrap();
            let reply = stack.raw(method, &r.path, &headers, r.body.as_ref().map(|b| b.to_string().into_bytes())).await;
            if reply.status != expected {
                wrong.push(format!("{} {} as {caller}: {} (wanted {expected}) {}", r.method, r.path, reply.status, reply.body));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
