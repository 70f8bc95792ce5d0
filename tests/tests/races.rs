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
            tokio::spawn(
                async move { stack.offer(&opportunity_id, &product, json!({"buyerCompanyName": format!("Buyer {i}")})).await.status },
            )
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
    let accepted =
        stack.get("/offers", RESELLER).await.body["items"].as_array().unwrap().iter().filter(|o| o["status"] == "accepted").count();
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

/// Sets a fault; the answer has the attempts each service has refused so far.
async fn fault(stack: &Stack, body: serde_json::Value) -> serde_json::Value {
    let r = stack.call("POST", "/_local/faults", None, Some(body)).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// 24 offers and 12 patches of one multi-use opportunity at once: every request succeeds, every
/// offer is counted, and the patches stand whole, one of them last.
async fn offers_and_patches_at_once(stack: Arc<Stack>) {
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let path = format!("/opportunities/{opportunity_id}");
    let offers: Vec<JoinHandle<u16>> = (0..24)
        .map(|i| {
            let (stack, opportunity_id, product) = (stack.clone(), opportunity_id.clone(), product.clone());
            tokio::spawn(
                async move { stack.offer(&opportunity_id, &product, json!({"buyerCompanyName": format!("Buyer {i}")})).await.status },
            )
        })
        .collect();
    let patches: Vec<JoinHandle<(u16, serde_json::Value)>> = (0..12)
        .map(|i| {
            let (stack, path) = (stack.clone(), path.clone());
            let body = json!({"description": format!("Patch {i}"), "notificationEmails": [format!("ops{i}@isv.example")]});
            tokio::spawn(async move {
                let r = stack.call("PATCH", &path, Some(ISV), Some(body)).await;
                (r.status, r.body)
            })
        })
        .collect();
    for offer in offers {
        assert_eq!(offer.await.unwrap(), 201, "every offer from a multi-use opportunity is made");
    }
    for patch in patches {
        let (status, body) = patch.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let read = stack.get(&path, ISV).await.body;
    assert_eq!(read["offersCreated"], 24, "no patch wrote a stale count back");
    // The last patch stands whole: its description with its own emails, never a mix of two.
    let n = read["description"].as_str().and_then(|d| d.strip_prefix("Patch ")).expect("a patch's description").to_string();
    assert_eq!(read["notificationEmails"], json!([format!("ops{n}@isv.example")]));
    assert_eq!(stack.get("/offers?limit=100", RESELLER).await.body["items"].as_array().map(Vec::len), Some(24));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_and_patches_at_once_on_one_opportunity_all_succeed() {
    offers_and_patches_at_once(Arc::new(Stack::start().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_and_patches_at_once_succeed_through_transaction_conflicts() {
    let stack = Arc::new(Stack::start().await);
    fault(&stack, json!({"dynamodb": "conflicts"})).await;
    offers_and_patches_at_once(stack.clone()).await;
    let refused = fault(&stack, json!({"dynamodb": "up"})).await["refusedAttempts"]["dynamodb"].as_u64().unwrap_or(0);
    // Every request's first write was cancelled as AWS cancels racing transactions, and retried:
    // the cast and the create (5 writes), 24 offers and 12 patches.
    assert!(refused >= 36, "only {refused} writes were cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_use_authorization_goes_to_exactly_one_offer_through_transaction_conflicts() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let body = opportunity_body(&product, json!({"duration": {"type": "singleUse"}}));
    let opportunity_id = id(&stack.opportunity(body).await, "opportunityId");
    fault(&stack, json!({"dynamodb": "conflicts"})).await;
    let racers = (0..8)
        .map(|i| {
            let (stack, opportunity_id, product) = (stack.clone(), opportunity_id.clone(), product.clone());
            tokio::spawn(
                async move { stack.offer(&opportunity_id, &product, json!({"buyerCompanyName": format!("Buyer {i}")})).await.status },
            )
        })
        .collect();
    one_winner(racers).await;
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patches_of_different_fields_at_once_both_stand() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    for round in 0..6 {
        let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
        let path = format!("/opportunities/{opportunity_id}");
        let patch = |body: serde_json::Value| {
            let (stack, path) = (stack.clone(), path.clone());
            tokio::spawn(async move { stack.call("PATCH", &path, Some(ISV), Some(body)).await.status })
        };
        let description = patch(json!({"description": format!("Round {round}")}));
        let emails = patch(json!({"notificationEmails": ["new@isv.example"]}));
        assert_eq!((description.await.unwrap(), emails.await.unwrap()), (200, 200));
        let read = stack.get(&path, ISV).await.body;
        assert_eq!(
            (read["description"].as_str(), &read["notificationEmails"]),
            (Some(format!("Round {round}").as_str()), &json!(["new@isv.example"])),
            "neither patch undid the other"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_buyers_answer_and_the_resellers_withdrawal_race_and_one_decides_the_request() {
    let stack = Arc::new(Stack::start().await);
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
        let agreement = id(&stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await.body, "agreementId");
        let path = format!("/agreements/{agreement}/cancellation");
        assert_eq!(stack.post(&path, RESELLER, json!({"reason": "the buyer asked"})).await.status, 201);
        let accept = {
            let (stack, path) = (stack.clone(), format!("{path}/accept"));
            tokio::spawn(async move { stack.post(&path, BUYER, json!({})).await.status })
        };
        let withdraw = {
            let (stack, path) = (stack.clone(), path.clone());
            tokio::spawn(async move { stack.call("DELETE", &path, Some(RESELLER), None).await.status })
        };
        let statuses = (accept.await.expect("the accept ran"), withdraw.await.expect("the withdrawal ran"));
        // Exactly one decides; what is stored says which.
        let request = stack.get(&path, ISV).await.body["status"].as_str().unwrap_or_default().to_string();
        let agreement = stack.get(&format!("/agreements/{agreement}"), ISV).await.body["status"].as_str().unwrap_or_default().to_string();
        match statuses {
            (200, 409) => assert_eq!((request.as_str(), agreement.as_str()), ("accepted", "cancelled")),
            (409, 200) => assert_eq!((request.as_str(), agreement.as_str()), ("withdrawn", "active")),
            other => panic!("both or neither decided: {other:?}"),
        }
        outcomes.push(statuses);
    }
    stack.drain().await;
    let emails = stack.emails().await;
    let decided = titled(&emails, "Agreement cancelled").len() + titled(&emails, "Agreement cancellation request withdrawn").len();
    assert_eq!(decided, 4 * 2, "one decision per request, told to each side once: {outcomes:?}");
}

/// A usage-only agreement accepted at T0 (2027-01-10 12:00): 0.05 per GB at 20% off, 10% up.
async fn metered_agreement(stack: &Stack) -> String {
    stack.register(ISV, "Example ISV", Some("isv@isv.example")).await;
    stack.register(RESELLER, "Example Reseller", Some("partner@reseller.example")).await;
    let body = json!({"title": "Data Lake", "productType": "saas-subscription", "paid": true,
        "dimensions": [{"key": "gb", "name": "GB", "unitPrice": "0.05", "kind": "usage"}]});
    let product = id(&stack.post("/products", ISV, body).await.body, "productId");
    let opportunity = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer = id(&stack.offer(&opportunity, &product, json!({})).await.body, "offerId");
    id(&stack.post(&format!("/offers/{offer}/accept"), BUYER, json!({})).await.body, "agreementId")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_hour_reported_eight_times_at_once_counts_once() {
    let stack = Arc::new(Stack::start().await);
    let agreement = metered_agreement(&stack).await;
    let path = format!("/agreements/{agreement}/usage");
    let racers: Vec<JoinHandle<String>> = (0..8)
        .map(|_| {
            let (stack, path) = (stack.clone(), path.clone());
            tokio::spawn(async move {
                let report = json!({"records": [{"dimensionKey": "gb", "quantity": 1000, "timestamp": "2027-01-10T12:00:00Z"}]});
                let r = stack.post(&path, ISV, report).await;
                assert_eq!(r.status, 200, "{r:?}");
                r.body["results"][0]["status"].as_str().unwrap_or_default().to_string()
            })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.expect("the report ran"));
    }
    results.sort();
    assert_eq!(results, ["DuplicateRecord"; 7].iter().map(|s| s.to_string()).chain(["Success".to_string()]).collect::<Vec<_>>());
    // The month's invoice bills the hour once: 1,000 GB at 0.044 (0.04 wholesale, 10% up).
    stack.set_clock("2027-02-01T06:00:00Z").await;
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 1);
    let invoices = stack.get(&format!("/invoices?agreementId={agreement}"), BUYER).await;
    assert_eq!(
        (invoices.body["items"][0]["lines"][0]["quantity"].as_u64(), invoices.body["items"][0]["buyerTotal"].as_str()),
        (Some(1000), Some("44.00"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_racing_the_cancellation_is_either_taken_before_it_or_refused() {
    let stack = Arc::new(Stack::start().await);
    let agreement = metered_agreement(&stack).await;
    let cancellation = format!("/agreements/{agreement}/cancellation");
    assert_eq!(stack.post(&cancellation, RESELLER, json!({"reason": "closing the account"})).await.status, 201);
    stack.set_clock("2027-01-10T19:00:00Z").await;
    let reporters: Vec<JoinHandle<u16>> = (0..6)
        .map(|i| {
            let (stack, path) = (stack.clone(), format!("/agreements/{agreement}/usage"));
            tokio::spawn(async move {
                let at = format!("2027-01-10T{:02}:30:00Z", 13 + i);
                stack.post(&path, ISV, json!({"records": [{"dimensionKey": "gb", "quantity": 100, "timestamp": at}]})).await.status
            })
        })
        .collect();
    let accept = {
        let (stack, path) = (stack.clone(), format!("{cancellation}/accept"));
        tokio::spawn(async move { stack.post(&path, BUYER, json!({})).await.status })
    };
    let mut taken = 0;
    for reporter in reporters {
        match reporter.await.expect("the report ran") {
            200 => taken += 1,
            409 => {}
            other => panic!("a report got {other}"),
        }
    }
    assert_eq!(accept.await.expect("the answer ran"), 200);
    // Whatever was taken is billed the morning after, and nothing else.
    stack.set_clock("2027-01-11T06:00:00Z").await;
    stack.sweep_report().await;
    let invoices =
        stack.get(&format!("/invoices?agreementId={agreement}"), ISV).await.body["items"].as_array().cloned().unwrap_or_default();
    let billed: u64 =
        invoices.iter().flat_map(|i| i["lines"].as_array().cloned().unwrap_or_default()).filter_map(|l| l["quantity"].as_u64()).sum();
    assert_eq!(billed, 100 * taken, "{taken} reports taken: {invoices:#?}");
    let late = stack
        .post(
            &format!("/agreements/{agreement}/usage"),
            ISV,
            json!({"records": [{"dimensionKey": "gb", "quantity": 1, "timestamp": "2027-01-10T11:45:00Z"}]}),
        )
        .await;
    assert_eq!(late.status, 409, "{late:?}");
}
