//! The stack's EventBridge bus: every event as AWS Marketplace's own events are shaped, read back
//! from the emulator through `/_local/events`, field by field as the contract lists them, with no
//! wholesale figure anywhere; and a rule written for AWS Marketplace's event pattern matches ours.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A deal from authorization to expiry: an offer accepted, a second that replaces its agreement,
/// a third cancelled, and the replacing agreement's end.
struct Deal {
    opportunity_id: String,
    product: String,
    offer_id: String,
    agreement_id: String,
    amending_offer_id: String,
    amending_agreement_id: String,
    cancelled_offer_id: String,
}

async fn deal(stack: &Stack) -> Deal {
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({"duration": {"type": "noEnd"}}))).await, "opportunityId");
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let agreement_id = id(&stack.post(&format!("/offers/{offer_id}/accept"), BUYER, json!({})).await.body, "agreementId");
    let amending = stack.offer(&opportunity_id, &product, json!({"replacesAgreementId": agreement_id})).await;
    let amending_offer_id = id(&amending.body, "offerId");
    let amended = stack.post(&format!("/offers/{amending_offer_id}/accept"), BUYER, json!({})).await;
    let amending_agreement_id = id(&amended.body, "agreementId");
    let cancelled_offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    assert_eq!(stack.post(&format!("/offers/{cancelled_offer_id}/cancel"), RESELLER, json!({})).await.status, 200);
    stack.set_clock("2028-02-01T00:00:00Z").await;
    assert_eq!(stack.sweep().await["agreements"], 1, "the amending agreement ends");
    stack.drain().await;
    Deal { opportunity_id, product, offer_id, agreement_id, amending_offer_id, amending_agreement_id, cancelled_offer_id }
}

fn of_type<'a>(events: &'a [Value], detail_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["detailType"] == detail_type).collect()
}

fn only<'a>(events: &'a [Value], detail_type: &str) -> &'a Value {
    let found = of_type(events, detail_type);
    assert_eq!(found.len(), 1, "one {detail_type}: {events:#?}");
    &found[0]["detail"]
}

fn fields(v: &Value) -> BTreeSet<&str> {
    v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bus_carries_each_event_in_aws_marketplaces_shape() {
    let stack = Stack::start().await;
    let d = deal(&stack).await;
    let events = stack.events().await;
    assert!(events.iter().all(|e| e["source"] == "cppo.marketplace"), "{events:#?}");
    assert!(events.iter().all(|e| e["detail"]["catalog"] == "AWSMarketplace" && e["detail"]["requestId"].is_string()));

    // Offer Released: the offer, its product, the manufacturer, the seller of record, the buyer.
    let released: Vec<&Value> = of_type(&events, "Offer Released");
    assert_eq!(released.len(), 3, "three offers extended");
    let first = released.iter().map(|e| &e["detail"]).find(|d2| d2["offer"]["id"] == d.offer_id.as_str()).expect("the first offer");
    assert_eq!(
        fields(first),
        ["catalog", "manufacturer", "offer", "product", "requestId", "resaleAuthorization", "sellerOfRecord", "targetedBuyerAccountIds"]
            .into()
    );
    assert_eq!(first["offer"], json!({"id": d.offer_id, "expirationDate": "2027-01-31T23:59:59.999Z"}));
    assert_eq!(first["product"], json!({"id": d.product, "title": "Analytics Suite"}));
    assert_eq!(first["manufacturer"], json!({"accountId": ISV}));
    assert_eq!(first["sellerOfRecord"], json!({"accountId": RESELLER}));
    assert_eq!(first["targetedBuyerAccountIds"], json!([BUYER]));
    assert_eq!(first["resaleAuthorization"], json!({"id": d.opportunity_id}));

    // Purchase Agreement Created, once for each side, with AWS Marketplace's fields.
    let created = only(&events, "Purchase Agreement Created - Manufacturer");
    assert_eq!(created, only(&events, "Purchase Agreement Created - Proposer"), "both sides are told the same facts");
    assert_eq!(
        fields(created),
        ["acceptor", "agreement", "catalog", "manufacturer", "offer", "product", "proposer", "requestId", "resaleAuthorization"].into()
    );
    assert_eq!(
        created["agreement"],
        json!({"id": d.agreement_id, "intent": "NEW", "status": "ACTIVE", "acceptanceTime": "2027-01-10T12:00:00.000Z",
               "startTime": "2027-01-10T00:00:00.000Z", "endTime": "2028-01-09T23:59:59.999Z"})
    );
    assert_eq!(created["resaleAuthorization"], json!({"id": d.opportunity_id}));
    assert_eq!(created["acceptor"], json!({"accountId": BUYER}));
    assert_eq!(created["proposer"], json!({"accountId": RESELLER}));
    assert_eq!(created["manufacturer"], json!({"accountId": ISV}));
    assert_eq!(created["offer"], json!({"id": d.offer_id}));
    assert_eq!(created["product"], json!({"id": d.product}));

    // The replacing offer's acceptance: Amended for the new agreement, Ended for the one replaced.
    let amended = only(&events, "Purchase Agreement Amended - Manufacturer");
    assert_eq!(amended["agreement"]["id"], d.amending_agreement_id.as_str());
    assert_eq!(
        (amended["agreement"]["intent"].as_str(), amended["agreement"]["previousAgreementId"].as_str()),
        (Some("AMEND"), Some(d.agreement_id.as_str()))
    );
    assert_eq!(amended["offer"], json!({"id": d.amending_offer_id}));
    assert!(of_type(&events, "Purchase Agreement Amended - Proposer").len() == 1);
    let ended: Vec<&Value> = of_type(&events, "Purchase Agreement Ended - Manufacturer").into_iter().map(|e| &e["detail"]).collect();
    let statuses: BTreeSet<(String, String)> = ended
        .iter()
        .map(|e| (e["agreement"]["id"].as_str().unwrap().to_string(), e["agreement"]["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        statuses,
        [(d.agreement_id.clone(), "REPLACED".to_string()), (d.amending_agreement_id.clone(), "EXPIRED".to_string())].into()
    );
    assert_eq!(of_type(&events, "Purchase Agreement Ended - Proposer").len(), 2);
    assert!(ended.iter().all(|e| fields(&e["agreement"]) == ["id", "status"].into()));

    // Ours, where AWS Marketplace has no name.
    assert_eq!(only(&events, "Offer Cancelled")["offer"]["id"], d.cancelled_offer_id.as_str());
    let authorization = only(&events, "Resale Authorization Created");
    assert_eq!(authorization["resaleAuthorization"]["id"], d.opportunity_id.as_str());
    assert_eq!(authorization["products"], json!([{"id": d.product, "title": "Analytics Suite"}]));

    // Ours for an invoice issued: what the buyer owes and by when, for the seller of record.
    let invoices: Vec<&Value> = of_type(&events, "Invoice Issued").into_iter().map(|e| &e["detail"]).collect();
    assert_eq!(invoices.len(), 2, "each agreement's upfront invoice");
    let invoice = *invoices.iter().find(|i| i["agreement"]["id"] == d.agreement_id.as_str()).expect("the first agreement's");
    assert_eq!(
        fields(invoice),
        [
            "acceptor",
            "agreement",
            "catalog",
            "invoice",
            "manufacturer",
            "offer",
            "product",
            "requestId",
            "resaleAuthorization",
            "sellerOfRecord"
        ]
        .into()
    );
    assert_eq!(
        invoice["invoice"],
        json!({"id": d.agreement_id.replace("agr-", "inv-") + "-up", "kind": "upfront", "issueDate": "2027-01-10",
               "dueDate": "2027-02-09", "currencyCode": "USD", "amount": "88.00"})
    );
    assert_eq!((&invoice["agreement"], &invoice["sellerOfRecord"]), (&json!({"id": d.agreement_id}), &json!({"accountId": RESELLER})));

    // No detail carries a wholesale figure: the product lists at 100.00, wholesale 80 (80.00 a
    // line); the buyer's own total is an invoice's amount, and nowhere else.
    for event in &events {
        let mut detail = event["detail"].clone();
        if event["detailType"] == "Invoice Issued" {
            detail["invoice"]["amount"] = Value::Null;
        }
        let text = detail.to_string();
        let detail = &detail;
        let named: Vec<String> = keys(detail);
        for secret in [
            "wholesalePrice",
            "wholesaleTotal",
            "markupTotal",
            "markupPercentage",
            "discount",
            "disbursement",
            "listPrice",
            "isvNet",
            "isvFee",
        ] {
            assert!(!named.iter().any(|k| k == secret), "{secret} in {detail}");
        }
        for figure in ["\"80\"", "80.00", "\"20\"", "88.00"] {
            assert!(!text.contains(figure), "{figure} in {detail}");
        }
    }
    // Oldest first.
    let times: Vec<&str> = events.iter().filter_map(|e| e["time"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_written_for_aws_marketplaces_events_matches_ours() {
    let stack = Stack::start().await;
    let gateway = &stack.running.gateway;
    let sdk = local_gateway::sdk_config(&gateway.config.endpoint_url).await;
    let (events, sqs) = (aws_sdk_eventbridge::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk));
    // A seller's own rule, as AWS Marketplace's documentation writes it, on the stack's bus.
    let queue = sqs.create_queue().queue_name(format!("{}-crm", gateway.config.names.bus)).send().await.unwrap().queue_url.unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap();
    let bus = &gateway.config.names.bus;
    let pattern = json!({"source": ["cppo.marketplace"], "detail-type": ["Purchase Agreement Created - Manufacturer"]});
    events.put_rule().name("crm-new-orders").event_bus_name(bus).event_pattern(pattern.to_string()).send().await.unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("crm").arn(arn).build().unwrap();
    events.put_targets().rule("crm-new-orders").event_bus_name(bus).targets(target).send().await.unwrap();

    let d = deal(&stack).await;
    let received = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<Value> =
        received.messages.unwrap_or_default().iter().filter_map(|m| serde_json::from_str(m.body.as_deref()?).ok()).collect();
    assert_eq!(bodies.len(), 1, "the new order, for the ISV, and nothing else: {bodies:#?}");
    assert_eq!(bodies[0]["detail-type"], "Purchase Agreement Created - Manufacturer");
    assert_eq!(bodies[0]["source"], "cppo.marketplace");
    assert_eq!(bodies[0]["detail"]["agreement"]["id"], d.agreement_id.as_str());
}
