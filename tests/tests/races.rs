//! Races settled by the database: conditional writes decide, and the losers get 409.

mod common;

use common::*;
use serde_json::json;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Waits for every racer and checks that exactly one won and the rest got 409.
async fn one_winner(racers: Vec<JoinHandle<u16>>) {
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.expect("the request ran"));
    }
    statuses.sort();
    let mut expected = vec![409; statuses.len()];
    expected[0] = 201;
    assert_eq!(statuses, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_offers_race_for_a_single_use_authorization_and_one_wins() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let body = opportunity_body(&product, json!({"duration": {"type": "singleUse"}}));
    let opportunity_id = id(&stack.opportunity(body).await, "opportunityId");
    let racers = (0..16)
        .map(|i| {
            let (stack, opportunity_id, product) = (stack.clone(), opportunity_id.clone(), product.clone());
            tokio::spawn(async move { stack.offer(&opportunity_id, &product, json!({"buyerCompanyName": format!("Buyer {i}")})).await.status })
        })
        .collect();
    one_winner(racers).await;
    assert_eq!(stack.get("/offers", RESELLER).await.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_accepts_make_one_agreement() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let racers = (0..12)
        .map(|_| {
            let (stack, path) = (stack.clone(), format!("/offers/{offer_id}/accept"));
            tokio::spawn(async move { stack.post(&path, BUYER, json!({})).await.status })
        })
        .collect();
    one_winner(racers).await;
    assert_eq!(stack.get("/agreements", BUYER).await.body["items"].as_array().map(Vec::len), Some(1));
    stack.drain().await;
    assert_eq!(titled(&stack.emails().await, "Private offer accepted").len(), 2, "one email per group, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accept_and_cancel_race_and_exactly_one_wins_each_offer() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    for _ in 0..6 {
        let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
        let accept = {
            let (stack, path) = (stack.clone(), format!("/offers/{offer_id}/accept"));
            tokio::spawn(async move { stack.post(&path, BUYER, json!({})).await.status })
        };
        let cancel = {
            let (stack, path) = (stack.clone(), format!("/offers/{offer_id}/cancel"));
            tokio::spawn(async move { stack.post(&path, RESELLER, json!({})).await.status })
        };
        let (accepted, cancelled) = (accept.await.unwrap(), cancel.await.unwrap());
        let status = stack.get(&format!("/offers/{offer_id}"), RESELLER).await.body["status"].clone();
        match (accepted, cancelled) {
            (201, 409) => assert_eq!(status, "accepted"),
            (409, 200) => assert_eq!(status, "cancelled"),
            other => panic!("exactly one must win, got {other:?}"),
        }
    }
    let agreements = stack.get("/agreements", BUYER).await.body["items"].as_array().map(Vec::len).unwrap_or(0);
    let accepted = stack.get("/offers", RESELLER).await.body["items"].as_array().unwrap().iter().filter(|o| o["status"] == "accepted").count();
    assert_eq!(agreements, accepted, "an agreement for each accepted offer and none for a cancelled one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoke_and_accept_race_and_both_succeed() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let revoke = {
        let (stack, path) = (stack.clone(), format!("/opportunities/{opportunity_id}/revoke"));
        tokio::spawn(async move { stack.post(&path, ISV, json!({})).await.status })
    };
    let accept = {
        let (stack, path) = (stack.clone(), format!("/offers/{offer_id}/accept"));
        tokio::spawn(async move { stack.post(&path, BUYER, json!({})).await.status })
    };
    assert_eq!((revoke.await.unwrap(), accept.await.unwrap()), (200, 201), "revoking leaves offers already made alone");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["status"], "restricted");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offer_is_acceptable_to_the_last_millisecond_of_its_day_and_not_after() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let last_day = json!({"expiresOn": "2027-01-10"});
    let in_time = id(&stack.offer(&opportunity_id, &product, last_day.clone()).await.body, "offerId");
    let too_late = id(&stack.offer(&opportunity_id, &product, last_day).await.body, "offerId");
    stack.set_clock("2027-01-10T23:59:59.999Z").await;
    assert_eq!(stack.post(&format!("/offers/{in_time}/accept"), BUYER, json!({})).await.status, 201);
    // At the next instant it is expired, before any sweep has run, and the sweep then records it.
    stack.set_clock("2027-01-11T00:00:00Z").await;
    let late = stack.post(&format!("/offers/{too_late}/accept"), BUYER, json!({})).await;
    assert_eq!(late.status, 409, "{late:?}");
    assert!(late.body["error"]["message"].as_str().unwrap().contains("expired"));
    assert_eq!(stack.sweep().await["offers"], 1);
    assert_eq!(stack.get(&format!("/offers/{in_time}"), BUYER).await.body["status"], "accepted");
}
