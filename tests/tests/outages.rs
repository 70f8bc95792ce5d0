//! Outages of SQS and SES, injected through `/_local/faults`: nothing the user asked for fails or
//! is lost, and every email still goes out exactly once.

mod common;

use common::*;
use serde_json::{json, Value};

/// Sets faults; the answer has the attempts each service has refused so far.
async fn faults(stack: &Stack, body: Value) -> Value {
    let r = stack.call("POST", "/_local/faults", None, Some(body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// The first queued event's body, read without consuming it.
async fn queued_event(stack: &Stack) -> String {
    let gateway = &stack.running.gateway;
    let received = gateway.sqs.receive_message().queue_url(&gateway.queue_url).visibility_timeout(0).send().await.expect("receive");
    received.messages.unwrap_or_default().into_iter().next().and_then(|m| m.body).expect("the event is queued")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offer_made_while_sqs_is_down_is_emailed_once_after_the_sweep() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    assert_eq!(stack.drain().await, (1, 0));

    faults(&stack, json!({"sqs": "down"})).await;
    let offer = stack.offer(&opportunity_id, &product, json!({})).await;
    assert_eq!(offer.status, 201, "the user's request does not fail: {offer:?}");
    assert_eq!(stack.drain().await, (0, 0), "nothing can be read while SQS is down");
    faults(&stack, json!({"sqs": "up"})).await;
    assert_eq!(stack.drain().await, (0, 0), "the send failed, so the event is not queued yet");

    // A minute on, the sweep finds the event still unsent and sends it.
    stack.set_clock("2027-01-10T12:01:30Z").await;
    assert_eq!(stack.sweep_report().await["eventsResent"], 1);
    assert_eq!(stack.drain().await, (1, 0));
    assert_eq!(stack.sweep_report().await["eventsResent"], 0, "marked sent, never sent twice");
    assert_eq!(stack.drain().await, (0, 0));
    let extended = titled(&stack.emails().await, "Channel partner private offer extended").len();
    assert_eq!(extended, 1);

    let bad = stack.call("POST", "/_local/faults", None, Some(json!({"sqs": "sideways"}))).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accept_while_ses_is_down_sends_each_email_once_when_it_is_back() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    assert_eq!(stack.drain().await, (2, 0));

    faults(&stack, json!({"ses": "down"})).await;
    let accepted = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(stack.drain().await, (0, 1), "notify reports the record failed; it stays queued");
    assert!(titled(&stack.emails().await, "Private offer accepted").is_empty());

    faults(&stack, json!({"ses": "up"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(stack.drain().await, (1, 0));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(stack.drain().await, (0, 0));
    let emails = stack.emails().await;
    let mut groups: Vec<Vec<String>> = titled(&emails, "Private offer accepted").iter().map(|e| recipients(e)).collect();
    groups.sort();
    assert_eq!(groups, vec![vec!["finance@isv.example".to_string(), "ops@isv.example".into()], vec!["partner@reseller.example".into()]]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_message_sends_no_second_email() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;
    let gateway = stack.running.gateway.clone();
    // Read the queued event without consuming it, and queue a copy: SQS's at-least-once delivery.
    let body = queued_event(&stack).await;
    gateway.sqs.send_message().queue_url(&gateway.queue_url).message_body(body).send().await.expect("send the copy");
    assert_eq!(stack.drain().await, (2, 0), "both copies are handled");
    assert_eq!(titled(&stack.emails().await, "New resale authorization").len(), 1, "and one email goes out");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_dynamodb_answers_429_with_retry_after_and_changes_nothing() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    faults(&stack, json!({"dynamodb": "throttled"})).await;
    // The SDK's standard retry backs off and tries again; when it gives up, the user gets 429.
    let offer = stack.offer(&opportunity_id, &product, json!({})).await;
    assert_eq!((offer.status, offer.body["error"]["code"].as_str()), (429, Some("TooManyRequests")), "{offer:?}");
    assert!(offer.headers.get("retry-after").is_some(), "{offer:?}");
    let read = stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await;
    assert_eq!(read.status, 429, "{read:?}");
    let refused = faults(&stack, json!({"dynamodb": "up"})).await["refusedAttempts"]["dynamodb"].as_u64().unwrap();
    assert!(refused >= 6, "each of the two reads was tried three times before giving up: {refused}");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 0);
    assert_eq!(stack.get("/offers", RESELLER).await.body["items"], json!([]));
    assert_eq!(stack.offer(&opportunity_id, &product, json!({})).await.status, 201, "and it works again once the throttling ends");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_ses_is_retried_later_and_sends_once() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    faults(&stack, json!({"ses": "throttled"})).await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;
    assert_eq!(stack.drain().await, (0, 1));
    assert!(stack.emails().await.is_empty());
    faults(&stack, json!({"ses": "up"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(stack.drain().await, (1, 0));
    assert_eq!(titled(&stack.emails().await, "New resale authorization").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_whose_sender_died_mid_send_still_goes_out_exactly_once() {
    use cppo_platform::store::{EmailClaim, StoreError};
    let stack = Stack::start().await;
    let product = stack.cast().await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;
    let gateway = stack.running.gateway.clone();
    let event_id = id(&serde_json::from_str::<Value>(&queued_event(&stack).await).unwrap(), "eventId");
    // A notify attempt claimed the reseller's email and died before sending it (a crash, its
    // 30 s timeout, or a release that failed).
    let store = &gateway.app.store;
    let t0 = chrono::DateTime::parse_from_rfc3339(T0).unwrap().with_timezone(&chrono::Utc);
    assert_eq!(store.claim_email(&event_id, "reseller", "attempt-that-died", t0).await, Ok(EmailClaim::Taken));

    // The next delivery finds the claim still live: the record fails and stays queued.
    assert_eq!(stack.drain().await, (0, 1), "a live claim is not a sent email");
    assert!(titled(&stack.emails().await, "New resale authorization").is_empty());
    // A minute on the claim is stale (long before the queue's 180 s bring the message back in
    // AWS); the next delivery takes it over and sends.
    stack.set_clock("2027-01-10T12:01:01Z").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(stack.drain().await, (1, 0));
    assert_eq!(titled(&stack.emails().await, "New resale authorization").len(), 1, "sent, once");
    // The attempt that died cannot give back or complete a claim it lost.
    assert_eq!(store.release_email(&event_id, "reseller", "attempt-that-died").await, Err(StoreError::Conflict));
    assert_eq!(store.complete_email(&event_id, "reseller", "attempt-that-died", "m-1", t0).await, Err(StoreError::Conflict));
    assert_eq!(store.claim_email(&event_id, "reseller", "a-later-attempt", t0).await, Ok(EmailClaim::Sent));
}
