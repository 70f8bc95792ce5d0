//! Invoices, metered usage and billing over time, tried through HTTP with figures checked by hand:
//! an upfront invoice at acceptance, a payment schedule invoiced on its dates and cancelled with
//! its agreement, a month of metered usage billed the morning after, the parties' views and the
//! billing report.

mod common;

use common::*;
use serde_json::{json, Value};

const PARTNER: &str = "partner@reseller.example";

async fn invoices(stack: &Stack, query: &str, account: &str) -> Vec<Value> {
    let r = stack.get(&format!("/invoices{query}"), account).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn parts(i: &Value) -> [String; 4] {
    let d = &i["disbursement"];
    ["isvNet", "isvFee", "resellerNet", "resellerFee"].map(|k| d[k].as_str().unwrap_or_default().to_string())
}

fn cents(v: &Value) -> i64 {
    let raw = v.as_str().unwrap_or_else(|| panic!("a decimal string, not {v}"));
    let (units, fraction) = raw.split_once('.').unwrap_or((raw, "00"));
    units.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}").parse::<i64>().unwrap()
}

async fn accept(stack: &Stack, offer: &Value) -> Value {
    stack.accept(&id(offer, "offerId")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seat_at_twenty_off_and_ten_up_is_invoiced_at_acceptance_due_thirty_days_later() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let o = stack.opportunity(opportunity_body(&product, json!({}))).await;
    let offer = stack.offer(&id(&o, "opportunityId"), &product, json!({})).await.body;
    let agreement = accept(&stack, &offer).await;
    let agreement_id = id(&agreement, "agreementId");
    let [invoice] = invoices(&stack, "", ISV).await.try_into().expect("one invoice");
    assert_eq!((invoice["kind"].as_str(), invoice["status"].as_str()), (Some("upfront"), Some("issued")));
    assert_eq!((invoice["issueDate"].as_str(), invoice["dueDate"].as_str()), (Some("2027-01-10"), Some("2027-02-09")));
    assert_eq!(invoice["buyerTotal"], "88.00");
    assert_eq!(parts(&invoice), ["77.20", "2.80", "7.72", "0.28"]);
    assert_eq!(invoice["agreementId"], agreement_id.as_str());
    // The same invoice to each party, the buyer's with its own amounts alone.
    let path = format!("/invoices/{}", id(&invoice, "invoiceId"));
    assert_eq!(stack.get(&path, RESELLER).await.body, invoice);
    let buyer = stack.get(&path, BUYER).await;
    assert_eq!((buyer.status, buyer.body["buyerTotal"].as_str()), (200, Some("88.00")), "{buyer:?}");
    assert_eq!(buyer.body["lines"], json!([{"dimensionKey": "users", "units": 1, "buyerPrice": "88", "lineTotal": "88.00"}]));
    for hidden in ["disbursement", "wholesalePrice", "wholesaleAmount", "isvFee", "markupTotal"] {
        assert!(!keys(&buyer.body).contains(&hidden.to_string()), "{hidden} in the buyer's view: {buyer:?}");
    }
    assert_eq!(stack.get(&path, OUTSIDER).await.status, 404);
    assert_eq!(stack.get("/invoices/inv-0123", ISV).await.status, 404);
    // The reseller, as seller of record, hears of it once; the bus says what the buyer owes.
    stack.deliver_twice().await;
    let emails = stack.emails().await;
    let issued = titled(&emails, "Invoice issued");
    assert_eq!(issued.len(), 1, "{issued:#?}");
    assert_eq!(recipients(issued[0]), [PARTNER]);
    let text = issued[0]["body"].as_str().unwrap();
    for fact in [id(&invoice, "invoiceId"), agreement_id.clone(), BUYER.into(), "88.00 USD".into(), "due: 2027-02-09".into()] {
        assert!(text.contains(&fact), "{fact} in {text}");
    }
    let on_bus: Vec<Value> = stack.events().await.into_iter().filter(|e| e["detailType"] == "Invoice Issued").collect();
    assert!(!on_bus.is_empty());
    assert_eq!(on_bus[0]["detail"]["invoice"]["amount"], "88.00");
    assert!(!on_bus[0]["detail"].to_string().contains("77.20"), "no wholesale figure on the bus");
    // The billing report: each seller's share of it, as the sales report gives it.
    let report = stack.get("/reports/billing?from=2027-01-01&to=2027-01-31", ISV).await;
    assert_eq!(report.status, 200, "{report:?}");
    let row = &report.body["items"][0];
    assert_eq!(
        (row["role"].as_str(), row["gross"].as_str(), row["fee"].as_str(), row["net"].as_str()),
        (Some("isv"), Some("80.00"), Some("2.80"), Some("77.20"))
    );
    assert_eq!((row["buyerOfRecord"].as_str(), row["kind"].as_str()), (Some(RESELLER), Some("upfront")));
    let report = stack.get("/reports/billing?from=2027-01-10&to=2027-01-10", RESELLER).await;
    let row = &report.body["items"][0];
    assert_eq!((row["role"].as_str(), row["gross"].as_str(), row["net"].as_str()), (Some("reseller"), Some("8.00"), Some("7.72")));
    assert_eq!(stack.get("/reports/billing?from=2027-01-11&to=2027-01-31", ISV).await.body["items"], json!([]));
    assert_eq!(stack.get("/reports/billing?from=2027-01-01&to=2027-01-31", BUYER).await.body["items"], json!([]));
    assert_eq!(stack.get("/reports/billing?from=2027-02-01&to=2027-01-01", ISV).await.status, 400);
}

fn schedule_body(product: &str) -> Value {
    opportunity_body(
        product,
        json!({
            "duration": {"type": "singleUse", "endDate": "2027-01-31"},
            "discount": {"type": "flexiblePaymentSchedule", "contractMonths": 12, "units": [{"dimensionKey": "users", "units": 10}],
                "payments": [
                    {"amount": "1000.01", "invoiceDate": "2027-02-15"},
                    {"amount": "333.33", "invoiceDate": "2027-05-15"},
                    {"amount": "0.01", "invoiceDate": "2027-08-15"},
                ]},
        }),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_three_payment_schedule_adds_up_to_its_agreement_and_is_invoiced_on_its_dates() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let o = stack.opportunity(schedule_body(&product)).await;
    let offer = stack.offer(&id(&o, "opportunityId"), &product, json!({"markupPercentage": "7.5"})).await.body;
    let agreement_id = id(&accept(&stack, &offer).await, "agreementId");
    let agreement = stack.get(&format!("/agreements/{agreement_id}"), ISV).await.body;
    let listed = invoices(&stack, &format!("?agreementId={agreement_id}"), RESELLER).await;
    let dates: Vec<&str> = listed.iter().map(|i| i["issueDate"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2027-02-15", "2027-05-15", "2027-08-15"]);
    assert!(listed.iter().all(|i| i["status"] == "scheduled" && i["kind"] == "scheduled"), "{listed:#?}");
    // Buyer amounts 1075.01, 358.33 and 0.01: each payment marked up and rounded on its own.
    let buyer: Vec<&str> = listed.iter().map(|i| i["buyerTotal"].as_str().unwrap()).collect();
    assert_eq!(buyer, ["1075.01", "358.33", "0.01"]);
    let d = &agreement["disbursement"];
    for key in ["buyerTotal", "wholesaleTotal", "markupTotal", "isvFee", "isvNet", "resellerFee", "resellerNet"] {
        let sum: i64 = listed.iter().map(|i| cents(&i["disbursement"][key])).sum();
        assert_eq!(sum, cents(&d[key]), "{key} over the invoices against the agreement's {}", d[key]);
    }
    for i in &listed {
        let p = parts(i).map(|v| cents(&json!(v)));
        assert!(p.iter().all(|c| *c >= 0), "{i}");
        assert_eq!(p.iter().sum::<i64>(), cents(&i["buyerTotal"]));
    }
    // On its date the first reads issued before any sweep; the sweep records it, once.
    stack.set_clock("2027-02-15T00:00:01Z").await;
    let first = &invoices(&stack, &format!("?agreementId={agreement_id}"), BUYER).await[0];
    assert_eq!(first["status"], "issued");
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 1);
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 0);
    let issued = invoices(&stack, "?status=issued", ISV).await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["dueDate"], "2027-03-17");
    // Cancelled on 2027-03-01: the payments still to come are cancelled, the issued one stays.
    stack.set_clock("2027-03-01T09:00:00Z").await;
    let path = format!("/agreements/{agreement_id}/cancellation");
    assert_eq!(stack.post(&path, RESELLER, json!({"reason": "the buyer is closing the project"})).await.status, 201);
    assert_eq!(stack.post(&format!("{path}/accept"), BUYER, json!({})).await.status, 200);
    let after: Vec<String> =
        invoices(&stack, &format!("?agreementId={agreement_id}"), ISV).await.iter().map(|i| i["status"].as_str().unwrap().into()).collect();
    assert_eq!(after, ["issued", "cancelled", "cancelled"]);
    stack.set_clock("2027-09-01T00:00:00Z").await;
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 0, "nothing more is issued");
    stack.deliver_twice().await;
    let emails = stack.emails().await;
    assert_eq!(titled(&emails, "Invoice issued").len(), 1, "the reseller hears of the one invoice issued");
}

/// A usage-only product at a list rate of 0.0456789 per GB, 15% off and 12% up.
async fn metered_deal(stack: &Stack) -> (Value, Value) {
    stack.register(ISV, "Example ISV", Some("isv@isv.example")).await;
    stack.register(RESELLER, "Example Reseller", Some(PARTNER)).await;
    let body = json!({"title": "Data Lake", "productType": "saas-subscription", "paid": true,
        "dimensions": [{"key": "gb", "name": "Data scanned (GB)", "unitPrice": "0.0456789", "kind": "usage"}]});
    let r = stack.post("/products", ISV, body).await;
    assert_eq!((r.status, r.body["dimensions"][0]["kind"].as_str()), (201, Some("usage")), "{r:?}");
    let product = id(&r.body, "productId");
    let o = stack.opportunity(opportunity_body(&product, json!({"discount": {"type": "percentage", "percentage": "15"}}))).await;
    let offer = stack.offer(&id(&o, "opportunityId"), &product, json!({"markupPercentage": "12"})).await;
    assert_eq!(offer.status, 201, "{offer:?}");
    (offer.body.clone(), accept(stack, &offer.body).await)
}

fn record(dimension: &str, quantity: i64, at: &str) -> Value {
    json!({"dimensionKey": dimension, "quantity": quantity, "timestamp": at})
}

fn statuses(r: &Reply) -> Vec<String> {
    r.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results in {r:?}"))
        .iter()
        .map(|x| x["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn metered_usage_is_billed_at_the_buyers_rate_the_morning_after_its_month() {
    let stack = Stack::start().await;
    let (offer, agreement) = metered_deal(&stack).await;
    assert_eq!(
        offer["pricing"]["usageRates"],
        json!([{"dimensionKey": "gb", "listRate": "0.0456789", "wholesaleRate": "0.03882706", "buyerRate": "0.04348631"}])
    );
    assert_eq!(offer["pricing"]["buyerTotal"], "0.00", "usage never enters the contract's totals");
    let buyer_view = stack.get(&format!("/offers/{}", id(&offer, "offerId")), BUYER).await.body;
    assert_eq!(buyer_view["pricing"]["usageRates"], json!([{"dimensionKey": "gb", "buyerRate": "0.04348631"}]));
    assert!(!buyer_view.to_string().contains("0.03882706"), "no wholesale rate for the buyer: {buyer_view}");
    let agreement_id = id(&agreement, "agreementId");
    assert_eq!(invoices(&stack, "", ISV).await, Vec::<Value>::new(), "usage only: no upfront invoice");

    let usage = format!("/agreements/{agreement_id}/usage");
    stack.set_clock("2027-01-20T14:10:00Z").await;
    let batch = json!({"records": [record("gb", 2500, "2027-01-20T13:30:00Z")]});
    let r = stack.post(&usage, ISV, batch.clone()).await;
    assert_eq!((r.status, statuses(&r)), (200, vec!["Success".to_string()]), "{r:?}");
    let again = stack.post(&usage, ISV, batch.clone()).await;
    assert_eq!(statuses(&again), ["DuplicateRecord"], "the same agreement, dimension and hour");
    let keyed = [("idempotency-key", "meter-1".to_string())];
    let other_hour = json!({"records": [record("gb", 10, "2027-01-20T12:59:59Z"), record("gb", 5, "2027-01-20T12:00:00Z"), record("users", 1, "2027-01-20T12:00:00Z"), record("gb", 1, "2027-01-20T08:09:59Z"), record("gb", 1, "2027-01-20T14:10:01Z")]});
    let first = stack.call_with("POST", &usage, Some(ISV), Some(other_hour.clone()), &keyed).await;
    assert_eq!(statuses(&first), ["Success", "DuplicateRecord", "Rejected", "Rejected", "Rejected"], "{first:?}");
    let reasons: Vec<&str> = first.body["results"].as_array().unwrap()[2..].iter().map(|x| x["reason"].as_str().unwrap()).collect();
    assert!(reasons[0].contains("not a usage dimension") && reasons[1].contains("6 hours") && reasons[2].contains("future"), "{reasons:?}");
    let replay = stack.call_with("POST", &usage, Some(ISV), Some(other_hour), &keyed).await;
    assert_eq!((replay.status, replay.body.clone()), (200, first.body.clone()), "a retry with its key gets the first answer");
    for (who, status) in [(RESELLER, 403), (BUYER, 403), (OUTSIDER, 404)] {
        assert_eq!(stack.post(&usage, who, batch.clone()).await.status, status, "{who}");
    }
    let too_many: Vec<Value> = (0..26).map(|_| record("gb", 1, "2027-01-20T14:00:00Z")).collect();
    assert_eq!(stack.post(&usage, ISV, json!({"records": too_many})).await.status, 400);
    assert_eq!(
        stack
            .post(&usage, ISV, json!({"records": [{"dimensionKey": "gb", "quantity": "1", "timestamp": "2027-01-20T14:00:00Z"}]}))
            .await
            .status,
        400
    );

    // January's usage (2,510 GB) is billed at 06:00 on 1 February, once late records cannot come.
    stack.set_clock("2027-02-01T05:59:59Z").await;
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 0);
    stack.set_clock("2027-02-01T06:00:00Z").await;
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 1);
    let [invoice] = invoices(&stack, "", RESELLER).await.try_into().expect("one usage invoice");
    assert_eq!(
        (invoice["kind"].as_str(), invoice["periodStart"].as_str(), invoice["periodEnd"].as_str()),
        (Some("usage"), Some("2027-01-10"), Some("2027-01-31"))
    );
    assert_eq!((invoice["issueDate"].as_str(), invoice["dueDate"].as_str()), (Some("2027-02-01"), Some("2027-03-03")));
    // 2,510 × 0.04348631 = 109.15063810 → 109.15; 2,510 × 0.03882706 = 97.4559206 → 97.46.
    assert_eq!(invoice["lines"][0]["quantity"], 2510);
    assert_eq!((invoice["buyerTotal"].as_str(), invoice["disbursement"]["wholesaleTotal"].as_str()), (Some("109.15"), Some("97.46")));
    let p = parts(&invoice).map(|v| cents(&json!(v)));
    assert_eq!(p.iter().sum::<i64>(), 10915);
    let mine = stack.get(&format!("/invoices/{}", id(&invoice, "invoiceId")), BUYER).await.body;
    assert_eq!(mine["lines"], json!([{"dimensionKey": "gb", "quantity": 2510, "buyerRate": "0.04348631", "lineTotal": "109.15"}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_issues_figures_2500_gb_make_a_usage_invoice_of_108_72() {
    let stack = Stack::start().await;
    let (_, agreement) = metered_deal(&stack).await;
    let agreement_id = id(&agreement, "agreementId");
    stack.set_clock("2027-01-31T23:30:00Z").await;
    let r = stack
        .post(&format!("/agreements/{agreement_id}/usage"), ISV, json!({"records": [record("gb", 2500, "2027-01-31T23:00:00Z")]}))
        .await;
    assert_eq!(statuses(&r), ["Success"]);
    stack.set_clock("2027-02-01T06:00:00Z").await;
    stack.sweep_report().await;
    let [invoice] = invoices(&stack, &format!("?agreementId={agreement_id}"), BUYER).await.try_into().expect("one invoice");
    assert_eq!((invoice["buyerTotal"].as_str(), invoice["issueDate"].as_str()), (Some("108.72"), Some("2027-02-01")));
    // No usage in February: no invoice for it.
    stack.set_clock("2027-03-01T06:00:00Z").await;
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_agreement_takes_no_more_usage_and_its_last_part_month_is_billed_the_next_morning() {
    let stack = Stack::start().await;
    let (_, agreement) = metered_deal(&stack).await;
    let agreement_id = id(&agreement, "agreementId");
    let usage = format!("/agreements/{agreement_id}/usage");
    stack.set_clock("2027-03-15T10:00:00Z").await;
    assert_eq!(stack.post(&usage, ISV, json!({"records": [record("gb", 1000, "2027-03-15T09:00:00Z")]})).await.status, 200);
    let cancellation = format!("/agreements/{agreement_id}/cancellation");
    stack.post(&cancellation, RESELLER, json!({"reason": "moving to another product"})).await;
    assert_eq!(stack.post(&format!("{cancellation}/accept"), BUYER, json!({})).await.status, 200);
    let late = stack.post(&usage, ISV, json!({"records": [record("gb", 1, "2027-03-15T09:30:00Z")]})).await;
    assert_eq!(late.status, 409, "{late:?}");
    stack.set_clock("2027-03-16T06:00:00Z").await;
    let swept = stack.sweep_report().await;
    // January and February had no usage; March's 15 days bill 1,000 GB.
    assert_eq!(swept["invoicesIssued"], 1, "{swept}");
    let [invoice] = invoices(&stack, "", ISV).await.try_into().expect("one invoice");
    assert_eq!((invoice["periodStart"].as_str(), invoice["periodEnd"].as_str()), (Some("2027-03-01"), Some("2027-03-15")));
    assert_eq!(invoice["buyerTotal"], "43.49");
    stack.set_clock("2027-05-01T06:00:00Z").await;
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 0, "nothing after its last day");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_of_invoices_pages_inside_an_agreement_and_its_token_is_its_own() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let schedule = stack.opportunity(schedule_body(&product)).await;
    let offer = stack.offer(&id(&schedule, "opportunityId"), &product, json!({})).await.body;
    accept(&stack, &offer).await;
    let seats = stack.opportunity(opportunity_body(&product, json!({}))).await;
    let offer = stack.offer(&id(&seats, "opportunityId"), &product, json!({})).await.body;
    accept(&stack, &offer).await;
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut later = String::new();
    loop {
        let query = match &next {
            Some(token) => format!("/invoices?limit=2&nextToken={token}"),
            None => "/invoices?limit=2".into(),
        };
        let r = stack.get(&query, BUYER).await;
        assert_eq!(r.status, 200, "{r:?}");
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| id(i, "invoiceId")));
        if next.is_none() {
            // A new agreement between two pages takes no place of the ones already being listed.
            let offer = stack.offer(&id(&seats, "opportunityId"), &product, json!({})).await.body;
            later = id(&accept(&stack, &offer).await, "agreementId").replace("agr-", "inv-") + "-up";
        }
        match r.body["nextToken"].as_str() {
            Some(token) => next = Some(token.to_string()),
            None => break,
        }
        assert!(seen.len() < 10, "the list ends");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no invoice twice: {seen:?}");
    // The first two agreements' four invoices, each once; the new one's too when its key (all were
    // accepted at the same instant, so ordered by ID) falls after where the list stood.
    let all: Vec<String> = invoices(&stack, "?limit=100", BUYER).await.iter().map(|i| id(i, "invoiceId")).collect();
    assert_eq!(all.len(), 5);
    let missing: Vec<&String> = all.iter().filter(|i| !seen.contains(i)).collect();
    assert!(missing.iter().all(|i| **i == later), "only the new agreement's may be missed: {missing:?} of {all:?}");
    let first = stack.get("/invoices?limit=1", BUYER).await;
    let token = first.body["nextToken"].as_str().unwrap();
    assert_eq!(stack.get(&format!("/invoices?limit=1&nextToken={token}"), ISV).await.status, 400, "another caller's token");
    assert_eq!(stack.get(&format!("/invoices?limit=1&status=issued&nextToken={token}"), BUYER).await.status, 400, "another query's");
    assert_eq!(stack.get("/invoices?status=paid", BUYER).await.status, 400);
    assert_eq!(stack.get("/invoices?agreementId=nope", BUYER).await.status, 400);
    assert_eq!(invoices(&stack, "?status=scheduled", BUYER).await.len(), 3);
    assert_eq!(invoices(&stack, "", OUTSIDER).await, Vec::<Value>::new());
}

/// Sixty monthly payments of 100.00 from February 2027: a five-year schedule.
fn sixty_payments(product: &str) -> Value {
    let payments: Vec<Value> = (0..60)
        .map(|i| json!({"amount": "100.00", "invoiceDate": format!("{}-{:02}-01", 2027 + (i + 1) / 12, (i + 1) % 12 + 1)}))
        .collect();
    opportunity_body(
        product,
        json!({
            "duration": {"type": "singleUse", "endDate": "2027-01-31"},
            "discount": {"type": "flexiblePaymentSchedule", "contractMonths": 60, "units": [{"dimensionKey": "users", "units": 5}], "payments": payments},
        }),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sixty_payment_schedule_replacing_another_writes_no_invoice_of_either_and_the_sweep_issues_all_sixty() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let first = stack.opportunity(sixty_payments(&product)).await;
    let offer = stack.offer(&id(&first, "opportunityId"), &product, json!({})).await.body;
    let replaced = id(&accept(&stack, &offer).await, "agreementId");
    let second = stack.opportunity(sixty_payments(&product)).await;
    let offer = stack.offer(&id(&second, "opportunityId"), &product, json!({"replacesAgreementId": replaced})).await;
    assert_eq!(offer.status, 201, "{offer:?}");
    // One transaction: the offer, both agreements and the event; sixty cancellations would not fit.
    let successor = id(&accept(&stack, &offer.body).await, "agreementId");
    let old = invoices(&stack, &format!("?agreementId={replaced}&limit=100"), ISV).await;
    assert_eq!((old.len(), old.iter().all(|i| i["status"] == "cancelled")), (60, true));
    let new = invoices(&stack, &format!("?agreementId={successor}&limit=100"), BUYER).await;
    assert_eq!((new.len(), new.iter().all(|i| i["status"] == "scheduled")), (60, true));
    assert_eq!(new[59]["invoiceId"].as_str().map(|i| i.ends_with("-p60")), Some(true));
    // Five years on, every payment has come: one sweep issues all sixty, in rounds of transactions.
    stack.set_clock("2032-01-02T00:00:00Z").await;
    let swept = stack.sweep_report().await;
    assert_eq!(swept["invoicesIssued"], 60, "{swept}");
    assert_eq!(stack.sweep_report().await["invoicesIssued"], 0);
    let report = stack.get("/reports/billing?from=2027-01-01&to=2032-12-31&limit=100", RESELLER).await;
    assert_eq!(report.body["items"].as_array().map(Vec::len), Some(60), "{report:?}");
    assert!(invoices(&stack, &format!("?agreementId={replaced}&limit=100"), ISV).await.iter().all(|i| i["status"] == "cancelled"));
}
