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
