//! `Idempotency-Key`: a retried POST has one effect and gets the first answer again.

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::Arc;

impl Stack {
    async fn post_keyed(&self, path: &str, account: &str, key: &str, body: &Value) -> Reply {
        self.call_with("POST", path, Some(account), Some(body.clone()), &[("idempotency-key", key.to_string())]).await
    }
}

fn offer_body(opportunity_id: &str, product: &str) -> Value {
    json!({"opportunityId": opportunity_id, "productId": product, "buyerAccountId": BUYER, "buyerCompanyName": "Acme Corp", "markupPercentage": "10", "expiresOn": "2027-01-31"})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_key_twice_has_one_effect_and_the_same_answer() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let body = offer_body(&opportunity_id, &product);
    let first = stack.post_keyed("/offers", RESELLER, "offer-acme-1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    // The same body with its keys in another order and other spacing is the same request.
    let reordered: Value = serde_json::from_str(&format!("{{\"expiresOn\": \"2027-01-31\", {}", &body.to_string()[1..])).unwrap();
    let again = stack.post_keyed("/offers", RESELLER, "offer-acme-1", &reordered).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(stack.get("/offers", RESELLER).await.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 1);
    assert_eq!(stack.drain().await, (2, 0), "one opportunity.created and one offer.extended event");

    let other = stack.post_keyed("/offers", RESELLER, "offer-acme-1", &json!({"markupPercentage": "12"})).await;
    assert_eq!((other.status, other.body["error"]["code"].as_str()), (409, Some("IdempotencyKeyReused")), "{other:?}");
    // Keys are the caller's own: another caller's same key is another request.
    let theirs = stack.post_keyed("/offers", ISV, "offer-acme-1", &body).await;
    assert_eq!(theirs.status, 403, "{theirs:?}");
    // A refusal is an answer too, and is given again.
    let bad = json!({"opportunityId": opportunity_id});
    let refused = stack.post_keyed("/offers", RESELLER, "bad-1", &bad).await;
    assert_eq!(refused.status, 400);
    assert_eq!(stack.post_keyed("/offers", RESELLER, "bad-1", &bad).await.body, refused.body);
    // After 24 hours the key is forgotten and the request runs afresh.
    stack.set_clock("2027-01-11T12:00:01Z").await;
    let later = stack.post_keyed("/offers", RESELLER, "offer-acme-1", &body).await;
    assert_eq!(later.status, 201, "{later:?}");
    assert_ne!(later.body["offerId"], first.body["offerId"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_route_replays_and_a_bad_key_is_refused() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let path = format!("/offers/{offer_id}/accept");
    let first = stack.post_keyed(&path, BUYER, "accept-1", &json!({})).await;
    assert_eq!(first.status, 201, "{first:?}");
    let again = stack.post_keyed(&path, BUYER, "accept-1", &json!({})).await;
    assert_eq!((again.status, &again.body), (201, &first.body), "the retry gets the agreement, not 409");
    assert_eq!(stack.get("/agreements", BUYER).await.body["items"].as_array().map(Vec::len), Some(1));
    let unkeyed = stack.post(&path, BUYER, json!({})).await;
    assert_eq!(unkeyed.status, 409, "without the key a second accept is refused: {unkeyed:?}");

    // Not visible ASCII, "k\u{e9}y" included: before, the gateway dropped it and the accept ran unkeyed.
    for bad in ["x".repeat(129), "has space".to_string(), "k\u{e9}y".to_string()] {
        let r = stack.post_keyed(&path, BUYER, &bad, &json!({})).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("Idempotency-Key")), "{bad}: {r:?}");
    }
    let r = stack.post_keyed(&path, OUTSIDER, "k", &json!({})).await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_make_one_offer() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let body = offer_body(&opportunity_id, &product);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (stack, body) = (stack.clone(), body.clone());
            tokio::spawn(async move { stack.post_keyed("/offers", RESELLER, "burst", &body).await })
        })
        .collect();
    let mut offer_ids = Vec::new();
    for racer in racers {
        let r = racer.await.expect("the request ran");
        match r.status {
            201 => offer_ids.push(id(&r.body, "offerId")),
            409 => assert_eq!(r.body["error"]["code"], "Conflict", "{r:?}"),
            other => panic!("unexpected {other}: {r:?}"),
        }
    }
    offer_ids.dedup();
    assert_eq!(offer_ids.len(), 1, "every 201 names the same offer");
    assert_eq!(stack.get("/offers", RESELLER).await.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_left_in_progress_by_a_crash_is_taken_over_once_stale() {
    use cppo_platform::idempotent::{fingerprint_of, record_key};
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let body = offer_body(&opportunity_id, &product);
    // A function claimed the key and died before answering: the claim stays IN_PROGRESS.
    let store = &stack.running.gateway.app.store;
    let record = record_key(RESELLER, "POST /offers", "crashed-1");
    let t0 = chrono::DateTime::parse_from_rfc3339(T0).unwrap().with_timezone(&chrono::Utc);
    let claimed = store.claim_idempotency(&record, &fingerprint_of("/offers", body.to_string().as_bytes()), "crashed-attempt", t0).await;
    assert!(matches!(claimed, Ok(cppo_platform::store::Claimed::Ours(_))), "{claimed:?}");

    let waiting = stack.post_keyed("/offers", RESELLER, "crashed-1", &body).await;
    assert_eq!((waiting.status, waiting.body["error"]["code"].as_str()), (409, Some("Conflict")), "{waiting:?}");
    stack.set_clock("2027-01-10T12:03:00Z").await;
    let retried = stack.post_keyed("/offers", RESELLER, "crashed-1", &body).await;
    assert_eq!(retried.status, 201, "a stale claim is taken over: {retried:?}");
    assert_eq!(stack.post_keyed("/offers", RESELLER, "crashed-1", &body).await.body, retried.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_a_crash_between_commit_and_answer_gets_the_first_answer() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    assert_eq!(stack.drain().await, (1, 0));
    let body = offer_body(&opportunity_id, &product);
    // The function dies right after its transaction commits: the caller gets no answer.
    let r = stack.call("POST", "/_local/faults", None, Some(json!({"dynamodb": "crash-after-commit"}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let crashed = stack.post_keyed("/offers", RESELLER, "crash-1", &body).await;
    assert_eq!(crashed.status, 500, "{crashed:?}");
    // The retry gets the answer the commit stored with the offer, and makes no second offer.
    let retried = stack.post_keyed("/offers", RESELLER, "crash-1", &body).await;
    assert_eq!(retried.status, 201, "{retried:?}");
    assert_eq!(stack.post_keyed("/offers", RESELLER, "crash-1", &body).await.body, retried.body);
    let offers = stack.get("/offers", RESELLER).await.body["items"].clone();
    assert_eq!(offers.as_array().map(Vec::len), Some(1), "{offers}");
    assert_eq!(offers[0]["offerId"], retried.body["offerId"]);
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 1);
    // Its event was committed with it, once, and leaves by the stream whatever became of the function.
    assert_eq!(stack.drain().await, (1, 0));
    assert_eq!(titled(&stack.emails().await, "Channel partner private offer extended").len(), 1, "emailed once");
}

/// Loses the answer of the stack's next DynamoDB write; the answer has how many it lost.
async fn lose_next_answer(stack: &Stack, request: impl std::future::Future<Output = Reply>) -> (Reply, Value) {
    let r = stack.call("POST", "/_local/faults", None, Some(json!({"dynamodb": "answer-lost"}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let reply = request.await;
    (reply, stack.call("POST", "/_local/faults", None, Some(json!({"dynamodb": "up"}))).await.body)
}

/// One offer made, counted and announced once.
async fn made_once(stack: &Stack, opportunity_id: &str) {
    let offers = stack.get("/offers", RESELLER).await.body["items"].clone();
    assert_eq!(offers.as_array().map(Vec::len), Some(1), "{offers}");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 1);
    assert_eq!(stack.drain().await, (1, 0), "its event once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_whose_answer_was_lost_on_the_way_is_resent_and_commits_once() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    assert_eq!(stack.drain().await, (1, 0));
    // The offer's transaction commits and its answer comes back a 500, as after a timed-out
    // attempt: the SDK resends it with its ClientRequestToken, and the resend is answered as
    // committed instead of failing on the offer it wrote itself.
    let body = offer_body(&opportunity_id, &product);
    let (created, faults) = lose_next_answer(&stack, stack.call("POST", "/offers", Some(RESELLER), Some(body))).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(faults["refusedAttempts"]["dynamodb"], 1, "one answer was lost and its write resent: {faults}");
    made_once(&stack, &opportunity_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_whose_answer_was_lost_on_the_way_is_still_the_requests_own() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    assert_eq!(stack.drain().await, (1, 0));
    // A keyed request's first write is its claim on the key: resent, it fails on the claim its
    // first attempt made, which is still this request's own.
    let body = offer_body(&opportunity_id, &product);
    let (created, faults) = lose_next_answer(&stack, stack.post_keyed("/offers", RESELLER, "lost-1", &body)).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(faults["refusedAttempts"]["dynamodb"], 1, "one answer was lost and its write resent: {faults}");
    assert_eq!(stack.post_keyed("/offers", RESELLER, "lost-1", &body).await.body, created.body);
    made_once(&stack, &opportunity_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transactions_token_stands_for_its_first_request_alone() {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    let stack = Stack::start().await;
    let store = &stack.running.gateway.app.store;
    let put = |sk: &str| {
        let item = [("pk", "TOKEN#1"), ("sk", sk)].map(|(k, v)| (k.to_string(), AttributeValue::S(v.into())));
        let put = Put::builder()
            .table_name(store.table())
            .set_item(Some(item.into_iter().collect()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("a put");
        TransactWriteItem::builder().put(put).build()
    };
    let send = |sk: &'static str, token: &'static str| {
        store.client().transact_write_items().transact_items(put(sk)).transact_items(put("B")).client_request_token(token).send()
    };
    send("A", "token-1").await.expect("the first commits");
    // Once more with its token: no second write, so its condition cannot fail on the first's.
    send("A", "token-1").await.expect("the same request with its token is answered as committed");
    let other = send("C", "token-1").await.expect_err("another request with that token");
    assert_eq!(other.as_service_error().and_then(|e| e.meta().code()), Some("IdempotentParameterMismatchException"), "{other:?}");
    let again = send("A", "token-2").await.expect_err("a new token is a new request");
    assert_eq!(again.as_service_error().and_then(|e| e.meta().code()), Some("TransactionCanceledException"), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_too_large_for_one_item_is_kept_in_parts_and_given_back_whole() {
    let stack = Stack::start().await;
    stack.cast().await;
    let resellers: Vec<String> = (0..10).map(|i| format!("5000000000{i:02}")).collect();
    for reseller in &resellers {
        stack.register(reseller, "A Reseller", None).await;
    }
    let prices: Vec<(String, String)> =
        (0..24).map(|d| (format!("dimension-number-{d:02}-of-this-product"), format!("{}.25", 100 + d))).collect();
    let prices: Vec<(&str, &str)> = prices.iter().map(|(k, p)| (k.as_str(), p.as_str())).collect();
    let mut products = Vec::new();
    for _ in 0..20 {
        products.push(stack.product(ISV, "saas-contract", &prices).await);
    }
    let body = opportunity_body(&products[0], json!({"resellerAccountIds": resellers, "productIds": products}));
    let first = stack.post_keyed("/opportunities", ISV, "big-1", &body).await;
    assert_eq!(first.status, 201, "{first:?}");
    let size = first.body.to_string().len();
    assert!(size > cppo_platform::store::ANSWER_PART_BYTES, "the answer ({size} bytes) must exceed one part");
    let again = stack.post_keyed("/opportunities", ISV, "big-1", &body).await;
    assert_eq!((again.status, &again.body), (201, &first.body), "replayed whole");
    // Counted in the ISV's index rather than listed: the emulator takes seconds to read items this large.
    let store = &stack.running.gateway.app.store;
    let counted = store
        .client()
        .query()
        .table_name(store.table())
        .index_name("byIsv")
        .key_condition_expression("gsi1pk = :isv AND begins_with(gsi1sk, :kind)")
        .expression_attribute_values(":isv", aws_sdk_dynamodb::types::AttributeValue::S(format!("ISV#{ISV}")))
        .expression_attribute_values(":kind", aws_sdk_dynamodb::types::AttributeValue::S("OPPORTUNITY#".into()))
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("counted");
    let listed = Some(counted.count as usize);
    assert_eq!(listed, Some(10), "created once");
}
