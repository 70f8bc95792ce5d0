//! Hostile input: every malformed request gets a clear 4xx in the contract's shape, never a 500,
//! and nothing is stored.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_a_clear_refusal_and_store_nothing() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let auth = || vec![("content-type", "application/json".to_string()), ("authorization", format!("Bearer {}", Stack::token(RESELLER)))];
    let offer = |extra: serde_json::Value| {
        let mut body = json!({"opportunityId": opportunity_id, "productId": product, "buyerAccountId": BUYER, "buyerCompanyName": "Acme", "markupPercentage": "10", "expiresOn": "2027-01-31"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body.to_string().into_bytes()
    };
    let nested = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        ("deep nesting", format!(r#"{{"units": {nested}}}"#).into_bytes(), 400, None),
        ("a very long string", offer(json!({"buyerCompanyName": "x".repeat(9000)})), 400, None),
        ("a number for a decimal string", offer(json!({"markupPercentage": 10})), 400, Some("markupPercentage")),
        ("an exponent", offer(json!({"markupPercentage": "1e3"})), 400, Some("markupPercentage")),
        ("a negative unit count", offer(json!({"units": [{"dimensionKey": "users", "units": -1}]})), 400, Some("units[0].units")),
        (
            "a huge unit count",
            offer(json!({"units": [{"dimensionKey": "users", "units": 18446744073709551615u64}]})),
            400,
            Some("units[0].units"),
        ),
        ("an unknown field", offer(json!({"discount": "50"})), 400, Some("discount")),
        ("null for a required field", offer(json!({"buyerAccountId": null})), 400, Some("buyerAccountId")),
        ("a malformed id", offer(json!({"opportunityId": "opp-'; DROP TABLE"})), 400, Some("opportunityId")),
        ("a malformed account", offer(json!({"buyerAccountId": "１２３４５６７８９０１２"})), 400, Some("buyerAccountId")),
        ("an impossible date", offer(json!({"expiresOn": "2027-02-30"})), 400, Some("expiresOn")),
        ("not UTF-8", vec![b'{', 0xff, 0xfe, b'}'], 400, None),
        ("an array for an object", b"[]".to_vec(), 400, None),
        ("too large", vec![b' '; 64 * 1024 + 1], 413, None),
    ];
    for (what, body, status, field) in cases {
        let r = stack.raw(Method::POST, "/offers", &auth(), Some(body)).await;
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert!(r.body["error"]["code"].is_string() && r.body["error"]["message"].is_string(), "{what}: {r:?}");
        if let Some(field) = field {
            assert_eq!(r.body["error"]["field"], field, "{what}: {r:?}");
        }
    }
    let paths = [
        "/offers/%00",
        "/offers/offer-%F0%9F%92%A5",
        &format!("/offers/{}", "a".repeat(2000)),
        "/opportunities/..%2F..%2Fetc",
        "/agreements/agr-0000",
    ];
    for path in paths {
        let r = stack.raw(Method::GET, path, &auth(), None).await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
    }
    for query in ["limit=0", "limit=101", "limit=ten", "nextToken=%00%00", "nextToken=W10", "status=gone"] {
        let r = stack.raw(Method::GET, &format!("/opportunities?{query}"), &auth(), None).await;
        assert_eq!(r.status, 400, "{query}: {r:?}");
    }
    assert_eq!(stack.get("/offers", RESELLER).await.body["items"], json!([]), "nothing was stored");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 0);
}
