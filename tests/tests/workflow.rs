//! The CPPO workflow through HTTP: authorize, extend, accept, expire, and the emails each step sends.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn an_offer_accepted_splits_the_money_and_tells_the_right_people() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = stack.opportunity(opportunity_body(&product, json!({}))).await;
    assert_eq!(opportunity["status"], "active");
    assert_eq!(opportunity["resellerName"], "Example Reseller");
    assert_eq!(opportunity["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "80");
    let opportunity_id = id(&opportunity, "opportunityId");

    let offer = stack.offer(&opportunity_id, &product, json!({})).await;
    assert_eq!(offer.status, 201, "{offer:?}");
    assert_eq!(offer.body["pricing"]["buyerTotal"], "88.00");
    assert_eq!(offer.body["pricing"]["wholesaleTotal"], "80.00");
    assert_eq!(offer.body["pricing"]["markupTotal"], "8.00");
    assert_eq!(offer.body["status"], "extended");
    let offer_id = id(&offer.body, "offerId");

    let agreement = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(agreement.status, 201, "{agreement:?}");
    assert_eq!(agreement.body["intent"], "NEW");
    assert_eq!(agreement.body["startDate"], "2027-01-10");
    assert_eq!(agreement.body["endDate"], "2028-01-09");
    let agreement_id = id(&agreement.body, "agreementId");

    let as_isv = stack.get(&format!("/agreements/{agreement_id}"), ISV).await;
    let d = &as_isv.body["disbursement"];
    assert_eq!(
        (d["feeRate"].as_str(), d["isvFee"].as_str(), d["isvNet"].as_str(), d["resellerFee"].as_str(), d["resellerNet"].as_str()),
        (Some("0.035"), Some("2.80"), Some("77.20"), Some("0.28"), Some("7.72"))
    );
    assert_eq!(stack.get(&format!("/offers/{offer_id}"), RESELLER).await.body["status"], "accepted");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["offersCreated"], 1);

    assert_eq!(stack.drain().await, (4, 0));
    let emails = stack.emails().await;
    assert_eq!(emails.len(), 5, "{emails:#?}");
    let created = titled(&emails, "New resale authorization");
    assert_eq!(created.len(), 1);
    assert_eq!(recipients(created[0]), vec!["partner@reseller.example"]);
    assert!(created[0]["body"].as_str().unwrap().contains(&opportunity_id));
    let extended = titled(&emails, "Channel partner private offer extended");
    assert_eq!(extended.len(), 1);
    assert_eq!(recipients(extended[0]), vec!["finance@isv.example", "ops@isv.example"]);
    assert!(extended[0]["body"].as_str().unwrap().contains(&offer_id));
    let accepted = titled(&emails, "Private offer accepted");
    let mut groups: Vec<Vec<String>> = accepted.iter().map(|e| recipients(e)).collect();
    groups.sort();
    assert_eq!(groups, vec![vec!["finance@isv.example".to_string(), "ops@isv.example".into()], vec!["partner@reseller.example".into()]]);
    for email in &accepted {
        let body = email["body"].as_str().unwrap();
        for wanted in [&agreement_id, &offer_id, &opportunity_id, "Acme Corp", "88.00", "77.20", "7.72"] {
            assert!(body.contains(wanted), "{wanted} missing from {body}");
        }
        assert_eq!(email["from"], stack.sender.as_str());
        assert!(email["sentAt"].is_string());
    }
    // The upfront invoice, issued at acceptance, to the reseller as seller of record.
    let invoiced = titled(&emails, "Invoice issued");
    assert_eq!((invoiced.len(), recipients(invoiced[0])), (1, vec!["partner@reseller.example".to_string()]));
    // A second drain finds nothing new, and nothing is sent twice.
    assert_eq!(stack.drain().await, (0, 0));
    assert_eq!(stack.emails().await.len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_buyer_never_sees_a_wholesale_figure() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity = stack.opportunity(opportunity_body(&product, json!({}))).await;
    let offer = stack.offer(&id(&opportunity, "opportunityId"), &product, json!({})).await;
    let offer_id = id(&offer.body, "offerId");
    let accepted = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    let agreement_id = id(&accepted.body, "agreementId");
    let views = [
        accepted.body.clone(),
        stack.get(&format!("/offers/{offer_id}"), BUYER).await.body,
        stack.get("/offers", BUYER).await.body,
        stack.get(&format!("/agreements/{agreement_id}"), BUYER).await.body,
        stack.get("/agreements", BUYER).await.body,
    ];
    let hidden = [
        "wholesalePrice",
        "wholesaleTotal",
        "markupTotal",
        "markupPercentage",
        "discount",
        "resellerAgreement",
        "feeRate",
        "isvFee",
        "isvNet",
        "resellerFee",
        "resellerNet",
    ];
    for view in &views {
        let shown = keys(view);
        assert!(shown.contains(&"buyerTotal".to_string()), "{view}");
        for key in hidden {
            assert!(!shown.contains(&key.to_string()), "the buyer sees {key}: {view}");
        }
        assert!(!view.to_string().contains("\"80.00\""), "a wholesale figure leaked: {view}");
    }
    assert_eq!(stack.get("/offers", BUYER).await.body["items"].as_array().map(Vec::len), Some(1));
    // The reseller and the ISV do see the wholesale side.
    for party in [ISV, RESELLER] {
        assert_eq!(stack.get(&format!("/offers/{offer_id}"), party).await.body["pricing"]["wholesaleTotal"], "80.00");
    }
    // The buyer has no business with the opportunity at all.
    assert_eq!(stack.get(&format!("/opportunities/{}", id(&opportunity, "opportunityId")), BUYER).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn parties_see_their_own_and_outsiders_see_nothing() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");

    for path in [format!("/opportunities/{opportunity_id}"), format!("/offers/{offer_id}"), format!("/products/{product}")] {
        let r = stack.get(&path, OUTSIDER).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (404, Some("NotFound")), "{path}");
    }
    assert_eq!(stack.get("/offers", OUTSIDER).await.body["items"], json!([]));
    assert_eq!(stack.get("/opportunities", OUTSIDER).await.body["items"], json!([]));
    // The wrong party gets 403, an outsider 404, for each action.
    let accept = format!("/offers/{offer_id}/accept");
    assert_eq!(stack.post(&accept, RESELLER, json!({})).await.status, 403);
    assert_eq!(stack.post(&accept, OUTSIDER, json!({})).await.status, 404);
    assert_eq!(stack.post(&format!("/offers/{offer_id}/cancel"), BUYER, json!({})).await.status, 403);
    assert_eq!(stack.post(&format!("/opportunities/{opportunity_id}/revoke"), BUYER, json!({})).await.status, 404);
    assert_eq!(stack.post(&format!("/opportunities/{opportunity_id}/revoke"), OUTSIDER, json!({})).await.status, 404);
    let r = stack
        .post(
            "/offers",
            ISV,
            json!({
                "opportunityId": opportunity_id, "productId": product, "buyerAccountId": BUYER,
                "buyerCompanyName": "Acme Corp", "markupPercentage": "10", "expiresOn": "2027-01-31"
            }),
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    // Each party finds the offer in its own list.
    for party in [ISV, RESELLER, BUYER] {
        let items = stack.get("/offers", party).await.body["items"].clone();
        assert_eq!(items.as_array().map(Vec::len), Some(1), "{party}: {items}");
    }
    assert_eq!(stack.get("/opportunities", RESELLER).await.body["items"][0]["opportunityId"], opportunity_id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_use_authorization_is_consumed_once() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let body = opportunity_body(&product, json!({"duration": {"type": "singleUse", "endDate": "2027-02-28"}}));
    let opportunity_id = id(&stack.opportunity(body).await, "opportunityId");
    assert_eq!(stack.offer(&opportunity_id, &product, json!({})).await.status, 201);
    let second = stack.offer(&opportunity_id, &product, json!({"buyerCompanyName": "Second Try"})).await;
    assert_eq!(second.status, 409, "{second:?}");
    assert!(second.body["error"]["message"].as_str().unwrap().contains("complete"), "{second:?}");
    let opportunity = stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body;
    assert_eq!((opportunity["status"].as_str(), opportunity["offersCreated"].as_u64()), (Some("complete"), Some(1)));
    assert_eq!(stack.get("/opportunities?status=complete", ISV).await.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(stack.get("/opportunities?status=active", ISV).await.body["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_stops_new_offers_but_leaves_made_ones_acceptable() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");

    let revoked = stack.post(&format!("/opportunities/{opportunity_id}/revoke"), ISV, json!({})).await;
    assert_eq!((revoked.status, revoked.body["status"].as_str()), (200, Some("restricted")));
    assert_eq!(stack.post(&format!("/opportunities/{opportunity_id}/revoke"), ISV, json!({})).await.status, 409);
    let refused = stack.offer(&opportunity_id, &product, json!({})).await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("restricted"));
    let accepted = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");

    stack.drain().await;
    let emails = stack.emails().await;
    let revoked: Vec<Vec<String>> = titled(&emails, "Resale authorization revoked").iter().map(|e| recipients(e)).collect();
    assert_eq!(revoked.len(), 2, "{emails:#?}");
    assert!(revoked.contains(&vec!["partner@reseller.example".to_string()]));
    assert!(revoked.contains(&vec!["finance@isv.example".to_string(), "ops@isv.example".into()]));
}

#[tokio::test(flavor = "multi_thread")]
async fn things_read_expired_at_once_and_the_sweep_records_it() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let body = opportunity_body(&product, json!({"duration": {"type": "endDate", "endDate": "2027-01-20"}}));
    let opportunity_id = id(&stack.opportunity(body).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({"expiresOn": "2027-01-15"})).await.body, "offerId");
    let kept_id = id(&stack.offer(&opportunity_id, &product, json!({"expiresOn": "2027-03-01"})).await.body, "offerId");
    stack.drain().await;
    let before = stack.emails().await.len();

    // The offer's last day still counts; the next instant it is expired, sweep or no sweep.
    stack.set_clock("2027-01-15T23:59:59Z").await;
    assert_eq!(stack.get(&format!("/offers/{offer_id}"), BUYER).await.body["status"], "extended");
    stack.set_clock("2027-01-16T00:00:00Z").await;
    assert_eq!(stack.get(&format!("/offers/{offer_id}"), BUYER).await.body["status"], "expired");
    let late = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(late.status, 409, "{late:?}");
    assert!(late.body["error"]["message"].as_str().unwrap().contains("expired"));

    stack.set_clock("2027-01-21T00:00:00Z").await;
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["status"], "expired");
    assert_eq!(stack.offer(&opportunity_id, &product, json!({})).await.status, 409);

    assert_eq!(stack.sweep().await, json!({"opportunities": 1, "offers": 1, "agreements": 0}));
    assert_eq!(stack.sweep().await, json!({"opportunities": 0, "offers": 0, "agreements": 0}), "a second sweep finds nothing");
    assert_eq!(stack.get(&format!("/offers/{kept_id}"), BUYER).await.body["status"], "extended");

    stack.drain().await;
    let emails = stack.emails().await;
    assert_eq!(emails.len(), before + 3, "{emails:#?}");
    assert_eq!(titled(&emails, "Resale authorization expired").len(), 2);
    let expired = titled(&emails, "Private offer expired");
    assert_eq!(expired.len(), 1);
    assert!(expired[0]["body"].as_str().unwrap().contains(&offer_id));
    assert_eq!(recipients(expired[0]), vec!["finance@isv.example", "ops@isv.example"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agreement_expires_at_its_end_date() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({"duration": {"type": "noEnd"}}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({"contractMonths": 1})).await.body, "offerId");
    let agreement = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await.body;
    assert_eq!(agreement["endDate"], "2027-02-09");
    let agreement_id = id(&agreement, "agreementId");

    stack.set_clock("2027-02-10T00:00:00Z").await;
    assert_eq!(stack.get(&format!("/agreements/{agreement_id}"), BUYER).await.body["status"], "expired");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["status"], "active");
    assert_eq!(stack.sweep().await, json!({"opportunities": 0, "offers": 0, "agreements": 1}));
    stack.drain().await;
    let renew: Vec<Vec<String>> = titled(&stack.emails().await, "Agreement ended").iter().map(|e| recipients(e)).collect();
    assert_eq!(renew.len(), 2);
    assert!(renew.contains(&vec!["partner@reseller.example".to_string()]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reseller_can_cancel_an_offer_until_it_is_accepted() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let cancelled = stack.post(&format!("/offers/{offer_id}/cancel"), RESELLER, json!({})).await;
    assert_eq!((cancelled.status, cancelled.body["status"].as_str()), (200, Some("cancelled")));
    assert_eq!(stack.post(&format!("/offers/{offer_id}/cancel"), RESELLER, json!({})).await.status, 409);
    let accept = stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await;
    assert_eq!(accept.status, 409);
    assert!(accept.body["error"]["message"].as_str().unwrap().contains("cancelled"));
    stack.drain().await;
    let emails = stack.emails().await;
    let cancelled = titled(&emails, "Private offer cancelled");
    assert_eq!(cancelled.len(), 1);
    assert_eq!(recipients(cancelled[0]), vec!["finance@isv.example", "ops@isv.example"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_create_authorizes_several_resellers_with_units_and_markup() {
    let stack = Stack::start().await;
    stack.register(ISV, "Example ISV", None).await;
    stack.register(RESELLER, "Example Reseller", Some("partner@reseller.example")).await;
    stack.register("444455556666", "Second Reseller", Some("second@reseller.example")).await;
    let product = stack.product(ISV, "saas-contract", &[("users", "49.99"), ("admins", "10.00")]).await;
    let body = opportunity_body(
        &product,
        json!({"resellerAccountIds": [RESELLER, "444455556666"], "discount": {"type": "percentage", "percentage": "33.3"}}),
    );
    let r = stack.post("/opportunities", ISV, body).await;
    assert_eq!(r.status, 201, "{r:?}");
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_ne!(items[0]["opportunityId"], items[1]["opportunityId"]);
    // 49.99 × 0.667 = 33.34333; × 3 = 100.02999 → 100.03; markup 12.5% → 37.511246 × 3 = 112.533738 → 112.53.
    let offer = stack
        .offer(
            &id(&items[0], "opportunityId"),
            &product,
            json!({"units": [{"dimensionKey": "users", "units": 3}], "markupPercentage": "12.5"}),
        )
        .await;
    assert_eq!(offer.status, 201, "{offer:?}");
    let pricing = &offer.body["pricing"];
    assert_eq!(pricing["lines"][0]["wholesalePrice"], "33.34333");
    assert_eq!(pricing["lines"][0]["buyerPrice"], "37.511246");
    assert_eq!(pricing["lines"][1]["units"], 0);
    assert_eq!(
        (pricing["wholesaleTotal"].as_str(), pricing["buyerTotal"].as_str(), pricing["markupTotal"].as_str()),
        (Some("100.03"), Some("112.53"), Some("12.50"))
    );
    // The ISV has no contact and no stakeholders named here beyond the list: each reseller hears of its own.
    stack.drain().await;
    let created: Vec<Vec<String>> = titled(&stack.emails().await, "New resale authorization").iter().map(|e| recipients(e)).collect();
    assert_eq!(created.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_message_fails_alone_and_ends_in_the_dead_letter_queue() {
    let stack = Stack::start().await;
    let gateway = stack.running.gateway.clone();
    gateway.sqs.send_message().queue_url(&gateway.queue_url).message_body("not an event").send().await.expect("sent");
    stack.cast().await;
    let product = stack.product(ISV, "saas-contract", &[("users", "10")]).await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;
    // The good event in the same batch is delivered; only the poison one is reported failed.
    assert_eq!(stack.drain().await, (1, 1));
    assert_eq!(titled(&stack.emails().await, "New resale authorization").len(), 1);
    // Visible again within 2 seconds; its fifth attempt moves it to the dead-letter queue (notify
    // does: the queue's own redrive waits for 1,000 receives, so an outage never gets there).
    let mut attempts = 1;
    while attempts < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let (delivered, failed) = stack.drain().await;
        attempts += 1;
        if failed == 0 {
            assert_eq!(delivered, 1, "the fifth attempt lets it go from the queue");
            break;
        }
    }
    assert_eq!(attempts, 5, "five attempts, then gone from the queue");
    assert_eq!(stack.drain().await, (0, 0));
    let dead = gateway.sqs.receive_message().queue_url(&gateway.dead_letter_queue_url).send().await.expect("read the DLQ");
    let bodies: Vec<String> = dead.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect();
    assert_eq!(bodies, vec!["not an event".to_string()]);
    assert_eq!(stack.emails().await.len(), 1, "no email came of it");
}

#[tokio::test(flavor = "multi_thread")]
async fn yen_deals_stay_in_whole_yen() {
    let stack = Stack::start().await;
    stack.cast().await;
    let body = json!({"title": "Yen Suite", "productType": "saas-contract", "paid": true, "currency": "JPY", "dimensions": [{"key": "users", "name": "Users", "unitPrice": "10001"}]});
    let product = id(&stack.post("/products", ISV, body).await.body, "productId");
    let opportunity = stack.opportunity(opportunity_body(&product, json!({}))).await;
    assert_eq!(opportunity["currency"], "JPY");
    let offer = stack.offer(&id(&opportunity, "opportunityId"), &product, json!({})).await.body;
    assert_eq!((offer["pricing"]["wholesaleTotal"].as_str(), offer["pricing"]["buyerTotal"].as_str()), (Some("8001"), Some("8801")));
    let agreement = stack.post(&format!("/offers/{}/accept", id(&offer, "offerId")), BUYER, json!({})).await.body;
    let split = stack.get(&format!("/agreements/{}", id(&agreement, "agreementId")), ISV).await.body["disbursement"].clone();
    assert_eq!(
        (split["isvFee"].as_str(), split["isvNet"].as_str(), split["resellerFee"].as_str(), split["resellerNet"].as_str()),
        (Some("280"), Some("7721"), Some("28"), Some("772"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_the_sweep_cannot_settle_is_skipped_and_the_rest_still_expire() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    // An item due before it that cannot be read as an opportunity, in the due index.
    let store = &stack.running.gateway.app.store;
    let s = |v: &str| AttributeValue::S(v.to_string());
    let key = "OPPORTUNITY#opp-00000000000000000000000000000000";
    let broken = store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", s(key))
        .item("sk", s("OPPORTUNITY"))
        .item("kind", s("OPPORTUNITY"))
        .item("duePk", s(&cppo_platform::store::due_shards()[0]))
        .item("dueAt", s(&format!("2027-01-11T00:00:00.000Z#{key}")))
        .send()
        .await;
    assert!(broken.is_ok(), "{broken:?}");
    stack.set_clock("2027-04-01T00:00:00Z").await;
    let report = stack.sweep_report().await;
    assert_eq!((report["expired"]["opportunities"].as_u64(), report["skipped"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(stack.get(&format!("/opportunities/{opportunity_id}"), ISV).await.body["status"], "expired");
    assert_eq!(stack.sweep_report().await["skipped"], 1, "the broken item stays due, and the next sweep logs it again");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_are_kept_longer_than_a_stream_keeps_records_and_then_expire() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    stack.opportunity(opportunity_body(&product, json!({}))).await;
    let store = &stack.running.gateway.app.store;
    let scanned = store.client().scan().table_name(store.table()).send().await.expect("scan");
    let events: Vec<_> = scanned
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) == Some("EVENT"))
        .collect();
    assert_eq!(events.len(), 1);
    let expires: i64 = events[0].get("expiresAt").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).expect("an expiresAt TTL");
    let written = chrono::DateTime::parse_from_rfc3339(T0).unwrap().timestamp();
    let hours = (expires - written) / 3600;
    assert!(hours > 24, "a DynamoDB stream keeps records 24 hours; events are kept {hours} h");
    assert!(hours <= 24 * 30, "and then expire: {hours} h");
}
