//! Outages of SQS and SES, injected through `/_local/faults`: nothing the user asked for fails or
//! is lost, every email still goes out exactly once, and one deal's emails in the order of its
//! events, whatever order the stream's records arrive in.

mod common;

use common::*;
use serde_json::{json, Value};

/// Sets faults; the answer has the attempts each service has refused so far.
async fn faults(stack: &Stack, body: Value) -> Value {
    let r = stack.call("POST", "/_local/faults", None, Some(body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// The first queued message's body (a stream record, as the pipe hands it on), read without
/// consuming it, once the relay has carried the stream to the queue.
async fn queued_record(stack: &Stack) -> Value {
    let gateway = &stack.running.gateway;
    gateway.relay.catch_up().await.expect("the relay carries the stream to the queue");
    let received = gateway.admin_sqs.receive_message().queue_url(&gateway.queue_url).visibility_timeout(0).send().await.expect("receive");
    let body = received.messages.unwrap_or_default().into_iter().next().and_then(|m| m.body).expect("the event is queued");
    serde_json::from_str(&body).expect("a stream record")
}

/// An opportunity emailed, then an offer made and accepted; the deal's three records (extended,
/// accepted, its upfront invoice issued), as the relay queued them, taken off the queue
/// (invisible for a minute) before notify sees them.
async fn an_accepted_offers_records(stack: &Stack) -> (String, Vec<Value>) {
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    assert_eq!(stack.drain().await, (1, 0));
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    assert_eq!(stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await.status, 201);
    let gateway = &stack.running.gateway;
    gateway.relay.catch_up().await.expect("relayed");
    let received =
        gateway.admin_sqs.receive_message().queue_url(&gateway.queue_url).max_number_of_messages(10).visibility_timeout(60).send().await;
    let records: Vec<Value> = received
        .expect("receive")
        .messages
        .unwrap_or_default()
        .iter()
        .filter_map(|m| serde_json::from_str(m.body.as_deref()?).ok())
        .collect();
    assert_eq!(records.len(), 3, "{records:#?}");
    (offer_id, records)
}

/// The subjects of the emails `address` got, oldest first, their titles cut at the colon.
fn subjects_to(emails: &[Value], address: &str) -> Vec<String> {
    emails
        .iter()
        .filter(|e| recipients(e).iter().any(|to| to == address))
        .map(|e| e["subject"].as_str().unwrap_or_default().split(':').next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sqs_outage_between_an_offer_and_its_acceptance_loses_nothing_and_keeps_the_order() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    assert_eq!(stack.drain().await, (1, 0));
    // The relay hands records on out of order and some twice, as pipes over several shards may.
    assert_eq!(faults(&stack, json!({"relay": "shuffle"})).await["relay"], "shuffle");

    // 1. SQS down while an offer is made: the request writes its event and is done.
    faults(&stack, json!({"sqs": "down"})).await;
    let offer = stack.offer(&opportunity_id, &product, json!({})).await;
    assert_eq!(offer.status, 201, "the user's request does not fail: {offer:?}");
    let offer_id = id(&offer.body, "offerId");
    assert_eq!(stack.drain().await, (0, 0), "nothing reaches or leaves the queue while SQS is down");
    let on_the_bus = stack.events().await;
    assert!(on_the_bus.iter().any(|e| e["detailType"] == "Offer Released"), "the bus's pipe goes on while the queue's waits");
    // 2. SQS back; 3. the buyer accepts.
    faults(&stack, json!({"sqs": "up"})).await;
    let accepted = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let agreement_id = id(&accepted.body, "agreementId");
    let (delivered, failed) = stack.drain().await;
    assert_eq!(failed, 0);
    assert!(delivered >= 2, "both events, and the copies the relay made: {delivered}");
    assert_eq!(stack.drain().await, (0, 0));

    // 4. The ISV's stakeholders heard of the offer before its acceptance, each once.
    let emails = stack.emails().await;
    assert_eq!(
        subjects_to(&emails, "ops@isv.example"),
        ["Channel partner private offer extended", "Private offer accepted, new order ready to book"],
        "{emails:#?}"
    );
    assert_eq!(
        subjects_to(&emails, "partner@reseller.example"),
        ["New resale authorization", "Private offer accepted, new order ready to book", "Invoice issued"]
    );
    let accepted_mail = titled(&emails, "Private offer accepted");
    assert!(accepted_mail.iter().all(|e| e["body"].as_str().unwrap().contains(&agreement_id)));
    // The bus got each entry, whatever the relay did: at least once, each with its fact's requestId.
    let events = stack.events().await;
    let released: Vec<&Value> = events.iter().filter(|e| e["detailType"] == "Offer Released").collect();
    assert!(!released.is_empty() && released.iter().all(|e| e["detail"]["offer"]["id"] == offer_id.as_str()), "{events:#?}");
    let request_ids: std::collections::BTreeSet<&str> = released.iter().filter_map(|e| e["detail"]["requestId"].as_str()).collect();
    assert_eq!(request_ids.len(), 1, "copies of one fact carry one requestId, so a consumer can drop the copy");
    assert!(events.iter().any(|e| e["detailType"] == "Purchase Agreement Created - Manufacturer"));

    // No request waited on the queue: the API functions never called SQS.
    let calls = stack.running.gateway.calls.calls();
    let api_sqs: Vec<_> = calls
        .iter()
        .filter(|c| local_gateway::FUNCTIONS.contains(&c.function.as_str()) && c.function != "notify" && c.action.starts_with("sqs:"))
        .collect();
    assert!(api_sqs.is_empty(), "{api_sqs:#?}");

    let bad = stack.call("POST", "/_local/faults", None, Some(json!({"sqs": "sideways"}))).await;
    assert_eq!(bad.status, 400);
    let bad = stack.call("POST", "/_local/faults", None, Some(json!({"relay": "down"}))).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_stream_in_order_a_deals_later_event_brings_its_earlier_one_first() {
    // The acceptance reaches the queue, and notify, before the offer's own event ever does.
    let stack = Stack::start().await;
    let (_, records) = an_accepted_offers_records(&stack).await;
    let gateway = &stack.running.gateway;
    let later =
        records.iter().find(|r| r["dynamodb"]["NewImage"]["sequence"]["N"] == "2").expect("the acceptance is the deal's second event");
    gateway.admin_sqs.send_message().queue_url(&gateway.queue_url).message_body(later.to_string()).send().await.expect("queued alone");
    assert_eq!(stack.drain().await, (1, 0));
    let emails = stack.emails().await;
    assert_eq!(
        subjects_to(&emails, "ops@isv.example"),
        ["Channel partner private offer extended", "Private offer accepted, new order ready to book"],
        "the acceptance's handling sent the offer's email first, from the table"
    );
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
    assert_eq!(stack.drain().await, (0, 2), "notify reports both records failed (the acceptance, its invoice); they stay queued");
    assert!(titled(&stack.emails().await, "Private offer accepted").is_empty());

    faults(&stack, json!({"ses": "up"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(stack.drain().await, (2, 0));
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
    let body = queued_record(&stack).await.to_string();
    gateway.admin_sqs.send_message().queue_url(&gateway.queue_url).message_body(body).send().await.expect("send the copy");
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
    let event_id = queued_record(&stack).await["dynamodb"]["NewImage"]["eventId"]["S"].as_str().expect("an event item").to_string();
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

#[tokio::test(flavor = "multi_thread")]
async fn events_the_transport_lost_are_republished_from_the_event_items_and_emailed_once() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;
    let gateway = &stack.running.gateway;
    // The record reached the queue and was lost there (as a stream's 24 hours, or a pipe's
    // dead-letter queue, would lose it): nothing is emailed.
    let lost = queued_record(&stack).await;
    assert_eq!(lost["dynamodb"]["NewImage"]["kind"]["S"], "EVENT");
    let received = gateway.admin_sqs.receive_message().queue_url(&gateway.queue_url).send().await.expect("receive");
    for m in received.messages.unwrap_or_default() {
        gateway.admin_sqs.delete_message().queue_url(&gateway.queue_url).set_receipt_handle(m.receipt_handle).send().await.expect("lost");
    }
    assert_eq!(stack.drain().await, (0, 0));
    assert!(stack.emails().await.is_empty());

    // An operator republishes the window the dead-letter message names: the event item itself goes
    // through the stream again.
    let window = fn_republish_events::Window { from: "2027-01-10T11:59:00Z".parse().unwrap(), to: "2027-01-10T12:01:00Z".parse().unwrap() };
    assert_eq!(fn_republish_events::republish(&gateway.republish, &window).await.expect("republished").republished, 1);
    assert_eq!(stack.drain().await, (1, 0));
    assert_eq!(titled(&stack.emails().await, "New resale authorization").len(), 1);
    // Republished once more (an operator's overlapping windows): handled, and nobody emailed twice.
    fn_republish_events::republish(&gateway.republish, &window).await.expect("republished");
    assert_eq!(stack.drain().await, (1, 0));
    assert_eq!(stack.emails().await.len(), 1);
    // A window outside the events republishes nothing; one running backwards is refused.
    let before = fn_republish_events::Window { from: "2027-01-09T00:00:00Z".parse().unwrap(), to: "2027-01-09T23:00:00Z".parse().unwrap() };
    assert_eq!(fn_republish_events::republish(&gateway.republish, &before).await.expect("nothing").republished, 0);
    let backwards = fn_republish_events::Window { from: window.to, to: window.from };
    assert!(fn_republish_events::republish(&gateway.republish, &backwards).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_event_that_cannot_be_handled_is_dead_lettered_and_holds_up_no_later_one() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = Stack::start().await;
    let (offer_id, records) = an_accepted_offers_records(&stack).await;
    let gateway = &stack.running.gateway;
    let later = records.iter().find(|r| r["dynamodb"]["NewImage"]["sequence"]["N"] == "2").expect("the acceptance").clone();
    // The offer's own event item is broken in the table before notify gets to it.
    let store = &gateway.app.store;
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("DEAL#{offer_id}")))
        .key("sk", AttributeValue::S("EVENT#0000000001".into()))
        .update_expression("SET body = :broken")
        .expression_attribute_values(":broken", AttributeValue::S("not an event".into()))
        .send()
        .await
        .expect("broken");
    let batch = json!({"Records": [{"messageId": "m-later", "receiptHandle": "r", "body": later.to_string(), "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn", "awsRegion": "us-east-1"}]});
    let answer = fn_notify::handle(&gateway.notify, serde_json::from_value(batch).unwrap()).await;
    assert!(answer.batch_item_failures.is_empty(), "the acceptance goes through: {:?}", answer.batch_item_failures);
    let emails = stack.emails().await;
    assert_eq!(titled(&emails, "Private offer accepted").len(), 2, "{emails:#?}");
    assert!(titled(&emails, "Channel partner private offer extended").is_empty());
    let dead = gateway.admin_sqs.receive_message().queue_url(&gateway.dead_letter_queue_url).send().await.unwrap();
    let bodies: Vec<String> = dead.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect();
    assert_eq!(bodies, ["not an event"], "the broken earlier event went to the dead-letter queue");
}
