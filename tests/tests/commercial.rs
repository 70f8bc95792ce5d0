//! The commercial rules through HTTP, with figures checked by hand: pricing models, fee tiers,
//! renewals and replacements, legal terms, clones and the sales report.

mod common;

use common::*;
use serde_json::{json, Value};

/// The buyer accepts; the agreement as its ISV sees it.
async fn accept(stack: &Stack, offer: &Reply) -> Value {
    assert_eq!(offer.status, 201, "{offer:?}");
    let r = stack.post(&format!("/offers/{}/accept", id(&offer.body, "offerId")), BUYER, json!({})).await;
    assert_eq!(r.status, 201, "{r:?}");
    stack.get(&format!("/agreements/{}", id(&r.body, "agreementId")), ISV).await.body
}

fn split(agreement: &Value) -> Vec<String> {
    let d = &agreement["disbursement"];
    ["buyerTotal", "wholesaleTotal", "markupTotal", "feeRate", "isvFee", "isvNet", "resellerFee", "resellerNet"]
        .iter()
        .map(|k| d[k].as_str().unwrap_or_else(|| panic!("{k} missing in {d}")).to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn individual_pricing_sets_a_price_per_dimension_or_a_percentage_per_product() {
    let stack = Stack::start().await;
    stack.cast().await;
    let suite = stack.product(ISV, "saas-contract", &[("users", "100.00"), ("admins", "50.00")]).await;
    let storage = stack.product(ISV, "saas-contract", &[("gb", "10.00")]).await;
    let discount = json!({"type": "individual", "products": [
        {"productId": suite, "dimensionPrices": [{"dimensionKey": "users", "price": "70.00"}, {"dimensionKey": "admins", "price": "50.00"}]},
        {"productId": storage, "percentage": "10"},
    ]});
    let o = stack.opportunity(opportunity_body(&suite, json!({"productIds": [suite, storage], "discount": discount}))).await;
    assert_eq!(o["wholesale"]["products"][1]["dimensions"][0]["wholesalePrice"], "9");
    let offer = stack
        .offer(
            &id(&o, "opportunityId"),
            &suite,
            json!({"markupPercentage": "12.5", "units": [{"dimensionKey": "users", "units": 3}, {"dimensionKey": "admins", "units": 1}]}),
        )
        .await;
    // users 70.00 × 1.125 = 78.75 × 3 = 236.25; admins 50.00 × 1.125 = 56.25; wholesale 210 + 50.
    assert_eq!(offer.body["pricing"]["lines"][0]["lineTotal"], "236.25");
    let agreement = accept(&stack, &offer).await;
    // Fees at 3.5%: 260.00 × 0.035 = 9.10; 32.50 × 0.035 = 1.1375 → 1.14.
    assert_eq!(split(&agreement), ["292.50", "260.00", "32.50", "0.035", "9.10", "250.90", "1.14", "31.36"]);

    let over_list =
        json!({"type": "individual", "products": [{"productId": storage, "dimensionPrices": [{"dimensionKey": "gb", "price": "10.01"}]}]});
    let r = stack.post("/opportunities", ISV, opportunity_body(&storage, json!({"discount": over_list}))).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("discount.products[0].dimensionPrices[0].price")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fee_tiers_follow_product_type_renewal_and_deal_size() {
    let stack = Stack::start().await;
    stack.cast().await;
    // Professional services: 2.5% + 0.5%, and only with absolute prices.
    let services = stack.product(ISV, "professional-services", &[("hours", "200.00")]).await;
    let r = stack.post("/opportunities", ISV, opportunity_body(&services, json!({}))).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("discount.type")), "{r:?}");
    let priced = json!({"type": "individual", "products": [{"productId": services, "dimensionPrices": [{"dimensionKey": "hours", "price": "150.00"}]}]});
    let o = stack.opportunity(opportunity_body(&services, json!({"discount": priced}))).await;
    let agreement = accept(&stack, &stack.offer(&id(&o, "opportunityId"), &services, json!({"markupPercentage": "20"})).await).await;
    assert_eq!(split(&agreement), ["180.00", "150.00", "30.00", "0.03", "4.50", "145.50", "0.90", "29.10"]);
    // A percentage for the product inside an individual discount is allowed, professional
    // services included: 200.00 at 25% off is 150.00 wholesale, the same split as above.
    let per_product = json!({"type": "individual", "products": [{"productId": services, "percentage": "25"}]});
    let o = stack.opportunity(opportunity_body(&services, json!({"discount": per_product}))).await;
    assert_eq!(o["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "150");
    let agreement = accept(&stack, &stack.offer(&id(&o, "opportunityId"), &services, json!({"markupPercentage": "20"})).await).await;
    assert_eq!(split(&agreement), ["180.00", "150.00", "30.00", "0.03", "4.50", "145.50", "0.90", "29.10"]);

    // A 1,760,000 deal drops to the 2% tier: 2.5% with the channel partner's 0.5%.
    let big = stack.product(ISV, "saas-contract", &[("site", "2000000.00")]).await;
    let o = stack.opportunity(opportunity_body(&big, json!({}))).await;
    let agreement = accept(&stack, &stack.offer(&id(&o, "opportunityId"), &big, json!({})).await).await;
    assert_eq!(split(&agreement), ["1760000.00", "1600000.00", "160000.00", "0.025", "40000.00", "1560000.00", "4000.00", "156000.00"]);

    // A renewal: 1.5% + 0.5%, intent RENEW.
    let product = stack.product(ISV, "saas-contract", &[("users", "100.00")]).await;
    let r = stack.post("/opportunities", ISV, opportunity_body(&product, json!({"renewal": true}))).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("renewalAcknowledged")), "{r:?}");
    let o = stack.opportunity(opportunity_body(&product, json!({"renewal": true, "renewalAcknowledged": true}))).await;
    let agreement = accept(&stack, &stack.offer(&id(&o, "opportunityId"), &product, json!({})).await).await;
    assert_eq!(agreement["intent"], "RENEW");
    assert_eq!(split(&agreement), ["88.00", "80.00", "8.00", "0.02", "1.60", "78.40", "0.16", "7.84"]);
}

fn schedule_body(product: &str) -> Value {
    opportunity_body(
        product,
        json!({
            "duration": {"type": "singleUse", "endDate": "2027-02-28"},
            "discount": {"type": "flexiblePaymentSchedule", "contractMonths": 24, "units": [{"dimensionKey": "users", "units": 10}],
                         "payments": [{"amount": "200.00", "invoiceDate": "2027-03-01"}, {"amount": "250.00", "invoiceDate": "2028-03-01"}]},
        }),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flexible_payment_schedule_marks_up_every_payment() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let o = stack.opportunity(schedule_body(&product)).await;
    assert_eq!(o["wholesale"]["totalDueToIsv"], "450.00");
    assert_eq!(o["wholesale"]["payments"][0], json!({"amount": "200.00", "invoiceDate": "2027-03-01"}));
    let opportunity_id = id(&o, "opportunityId");
    let r = stack.offer(&opportunity_id, &product, json!({"contractMonths": 12})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("contractMonths")), "{r:?}");
    let offer = stack.offer(&opportunity_id, &product, json!({})).await;
    assert_eq!(offer.body["contractMonths"], 24);
    assert_eq!(
        offer.body["pricing"]["payments"][1],
        json!({"invoiceDate": "2028-03-01", "wholesaleAmount": "250.00", "buyerAmount": "275.00"})
    );
    let agreement = accept(&stack, &offer).await;
    assert_eq!(agreement["endDate"], "2029-01-09");
    // The buyer's own view: the schedule it pays, with nothing wholesale in it.
    let as_buyer = stack.get(&format!("/agreements/{}", id(&agreement, "agreementId")), BUYER).await.body;
    assert_eq!(
        as_buyer["pricing"]["payments"],
        json!([{"invoiceDate": "2027-03-01", "buyerAmount": "220.00"}, {"invoiceDate": "2028-03-01", "buyerAmount": "275.00"}])
    );
    assert_eq!(as_buyer["pricing"]["units"], json!([{"dimensionKey": "users", "units": 10}]));
    assert_eq!(as_buyer["disbursement"], json!({"currency": "USD", "buyerTotal": "495.00"}));
    // 450.00 × 0.035 = 15.75; 45.00 × 0.035 = 1.575 → 1.58 (half-even).
    assert_eq!(split(&agreement), ["495.00", "450.00", "45.00", "0.035", "15.75", "434.25", "1.58", "43.42"]);

    let mut reusable = schedule_body(&product);
    reusable["duration"] = json!({"type": "endDate", "endDate": "2027-02-28"});
    let r = stack.post("/opportunities", ISV, reusable).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("duration.type")), "{r:?}");
    let mut early = schedule_body(&product);
    early["discount"]["payments"][0]["invoiceDate"] = json!("2027-02-28");
    let r = stack.post("/opportunities", ISV, early).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("discount.payments[0].invoiceDate")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offer_that_replaces_an_agreement_amends_it_on_acceptance() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let first = accept(&stack, &stack.offer(&opportunity_id, &product, json!({})).await).await;
    let first_id = id(&first, "agreementId");

    let other_buyer = stack.offer(&opportunity_id, &product, json!({"buyerAccountId": OUTSIDER, "replacesAgreementId": first_id})).await;
    assert_eq!((other_buyer.status, other_buyer.body["error"]["field"].as_str()), (400, Some("replacesAgreementId")), "{other_buyer:?}");
    let unknown = stack.offer(&opportunity_id, &product, json!({"replacesAgreementId": "agr-00000000000000000000000000000000"})).await;
    assert_eq!(unknown.status, 400, "{unknown:?}");

    let amend = stack.offer(&opportunity_id, &product, json!({"replacesAgreementId": first_id, "markupPercentage": "5"})).await;
    assert_eq!(amend.body["replacesAgreementId"], first_id.as_str());
    let rival = stack.offer(&opportunity_id, &product, json!({"replacesAgreementId": first_id})).await;
    assert_eq!(rival.status, 201);
    let second = accept(&stack, &amend).await;
    assert_eq!((second["intent"].as_str(), second["previousAgreementId"].as_str()), (Some("AMEND"), Some(first_id.as_str())));
    assert_eq!(stack.get(&format!("/agreements/{first_id}"), ISV).await.body["status"], "replaced");
    // The first agreement is replaced once: the rival offer can no longer be accepted.
    let late = stack.post(&format!("/offers/{}/accept", id(&rival.body, "offerId")), BUYER, json!({})).await;
    assert_eq!(late.status, 409, "{late:?}");
    assert!(late.body["error"]["message"].as_str().unwrap().contains("replaced"), "{late:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offer_can_only_replace_an_agreement_of_its_own_deal() {
    const OTHER_ISV: &str = "444455556666";
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let opportunity_id = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let agreement = accept(&stack, &stack.offer(&opportunity_id, &product, json!({})).await).await;
    let agreement_id = id(&agreement, "agreementId");

    // Another ISV authorizes the same reseller, for the same buyer: its offer cannot end the
    // first ISV's agreement.
    stack.register(OTHER_ISV, "Other ISV", Some("other@isv.example")).await;
    let theirs = stack.product(OTHER_ISV, "saas-contract", &[("users", "100.00")]).await;
    let r = stack.post("/opportunities", OTHER_ISV, opportunity_body(&theirs, json!({}))).await;
    assert_eq!(r.status, 201, "{r:?}");
    let other_opportunity = id(&r.body["items"][0], "opportunityId");
    let cross = stack.offer(&other_opportunity, &theirs, json!({"replacesAgreementId": agreement_id})).await;
    assert_eq!((cross.status, cross.body["error"]["field"].as_str()), (400, Some("replacesAgreementId")), "{cross:?}");
    // Nor can an offer for another product of the same ISV.
    let second = stack.product(ISV, "saas-contract", &[("seats", "10.00")]).await;
    let o = stack.opportunity(opportunity_body(&second, json!({}))).await;
    let other_product = stack.offer(&id(&o, "opportunityId"), &second, json!({"replacesAgreementId": agreement_id})).await;
    assert_eq!(
        (other_product.status, other_product.body["error"]["field"].as_str()),
        (400, Some("replacesAgreementId")),
        "{other_product:?}"
    );
    assert_eq!(stack.get(&format!("/agreements/{agreement_id}"), ISV).await.body["status"], "active", "the agreement is untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_legal_terms_are_kept_and_never_shown_to_the_buyer() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let upload = json!({"fileName": "reseller-terms.pdf", "contentType": "application/pdf", "sizeBytes": 20480, "sha256": "0f".repeat(32)});
    let legal = json!({
        "eula": {"type": "custom", "documents": [{"url": "https://legal.isv.example/eula-v3.pdf"}]},
        "resellerAgreement": {"type": "custom", "documents": [upload]},
    });
    let o = stack.opportunity(opportunity_body(&product, legal)).await;
    assert_eq!(o["resellerAgreement"]["documents"][0]["fileName"], "reseller-terms.pdf");
    let offer = stack.offer(&id(&o, "opportunityId"), &product, json!({})).await;
    let as_buyer = stack.get(&format!("/offers/{}", id(&offer.body, "offerId")), BUYER).await.body;
    let seen = keys(&as_buyer);
    for hidden in ["resellerAgreement", "discount", "wholesalePrice", "wholesaleTotal", "markupTotal", "markupPercentage"] {
        assert!(!seen.contains(&hidden.to_string()), "the buyer sees {hidden}: {as_buyer}");
    }
    assert_eq!(stack.get(&format!("/opportunities/{}", id(&o, "opportunityId")), BUYER).await.status, 404);

    let wrong_type = json!({"eula": {"type": "custom", "documents": [{"fileName": "eula.txt", "contentType": "application/pdf", "sizeBytes": 1, "sha256": "0f".repeat(32)}]}});
    let r = stack.post("/opportunities", ISV, opportunity_body(&product, wrong_type)).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("eula.documents[0].fileName")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_takes_the_source_terms_and_the_given_fields() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let source = stack.opportunity(opportunity_body(&product, json!({"buyerAccountIds": [BUYER], "description": "Q3 resale"}))).await;
    let source_id = id(&source, "opportunityId");
    assert_eq!(stack.post(&format!("/opportunities/{source_id}/revoke"), ISV, json!({})).await.status, 200);
    let path = format!("/opportunities/{source_id}/clone");
    let r = stack.post(&path, ISV, json!({"name": "ResellQ4Acme", "discount": {"type": "percentage", "percentage": "30"}})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let clone = &r.body["items"][0];
    assert_ne!(clone["opportunityId"], source["opportunityId"]);
    assert_eq!((clone["name"].as_str(), clone["status"].as_str()), (Some("ResellQ4Acme"), Some("active")));
    assert_eq!(clone["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "70");
    for kept in ["description", "buyerAccountIds", "duration", "notificationEmails", "resellerAccountId", "eula"] {
        assert_eq!(clone[kept], source[kept], "{kept}");
    }
    assert_eq!(stack.post(&path, RESELLER, json!({})).await.status, 403);
    assert_eq!(stack.post(&path, OUTSIDER, json!({})).await.status, 404);
    let r = stack.post(&path, ISV, json!({"colour": "red"})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("colour")));
    let r = stack.post(&path, ISV, json!({"duration": {"type": "endDate", "endDate": "2026-12-31"}})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("duration.endDate")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sales_report_names_the_buyer_of_record_per_role() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let reusable = stack.opportunity(opportunity_body(&product, json!({}))).await;
    let recurring = accept(&stack, &stack.offer(&id(&reusable, "opportunityId"), &product, json!({})).await).await;
    let single = opportunity_body(&product, json!({"duration": {"type": "singleUse"}, "buyerAccountIds": [BUYER]}));
    let single = stack.opportunity(single).await;
    let one_off = accept(&stack, &stack.offer(&id(&single, "opportunityId"), &product, json!({})).await).await;

    let report = |account: &'static str, query: &'static str| {
        let stack = &stack;
        async move { stack.get(&format!("/reports/sales?{query}"), account).await }
    };
    let isv = report(ISV, "from=2027-01-10&to=2027-01-10").await;
    assert_eq!(isv.status, 200, "{isv:?}");
    let rows = isv.body["items"].as_array().unwrap().clone();
    let row = |rows: &[Value], agreement: &Value| rows.iter().find(|r| r["agreementId"] == agreement["agreementId"]).cloned().unwrap();
    let r = row(&rows, &recurring);
    assert_eq!((r["role"].as_str(), r["buyerOfRecord"].as_str()), (Some("isv"), Some(RESELLER)));
    assert_eq!(
        (r["gross"].as_str(), r["fee"].as_str(), r["net"].as_str(), r["currency"].as_str()),
        (Some("80.00"), Some("2.80"), Some("77.20"), Some("USD"))
    );
    assert_eq!(row(&rows, &one_off)["buyerOfRecord"], BUYER);

    let reseller = report(RESELLER, "from=2027-01-01&to=2027-01-31").await.body["items"].as_array().unwrap().clone();
    assert_eq!(reseller.len(), 2);
    for r in &reseller {
        assert_eq!((r["role"].as_str(), r["buyerOfRecord"].as_str()), (Some("reseller"), Some(BUYER)));
        assert_eq!((r["gross"].as_str(), r["fee"].as_str(), r["net"].as_str()), (Some("8.00"), Some("0.28"), Some("7.72")));
    }
    assert_eq!(report(ISV, "from=2027-01-11&to=2027-02-01").await.body["items"], json!([]));
    assert_eq!(report(BUYER, "from=2027-01-10&to=2027-01-10").await.body["items"], json!([]));
    for bad in ["from=2027-01-11&to=2027-01-10", "to=2027-01-10", "from=2027-1-1&to=2027-01-10"] {
        let r = stack.get(&format!("/reports/sales?{bad}"), ISV).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("ValidationError")), "{bad}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_currency_throughout_and_yen_schedules_stay_whole() {
    let stack = Stack::start().await;
    let dollars = stack.cast().await;
    let body = json!({"title": "Yen Suite", "productType": "saas-contract", "paid": true, "currency": "JPY", "dimensions": [{"key": "users", "name": "Users", "unitPrice": "10000"}]});
    let yen = id(&stack.post("/products", ISV, body).await.body, "productId");
    let r = stack.post("/opportunities", ISV, opportunity_body(&yen, json!({"productIds": [dollars, yen]}))).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("productIds")), "{r:?}");

    let mut schedule = schedule_body(&yen);
    schedule["discount"]["payments"] = json!([{"amount": "100.5", "invoiceDate": "2027-03-01"}]);
    let r = stack.post("/opportunities", ISV, schedule.clone()).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("discount.payments[0].amount")), "{r:?}");
    schedule["discount"]["payments"] =
        json!([{"amount": "100000", "invoiceDate": "2027-03-01"}, {"amount": "150001", "invoiceDate": "2027-09-01"}]);
    let o = stack.opportunity(schedule).await;
    assert_eq!((o["currency"].as_str(), o["wholesale"]["totalDueToIsv"].as_str()), (Some("JPY"), Some("250001")));
    let offer = stack.offer(&id(&o, "opportunityId"), &yen, json!({"markupPercentage": "7.5"})).await;
    // 150001 × 1.075 = 161251.075 → 161251 yen.
    assert_eq!(offer.body["pricing"]["payments"][1]["buyerAmount"], "161251");
    let agreement = accept(&stack, &offer).await;
    // 250001 × 0.035 = 8750.035 → 8750; 18750 × 0.035 = 656.25 → 656.
    assert_eq!(split(&agreement), ["268751", "250001", "18750", "0.035", "8750", "241251", "656", "18094"]);

    let fractional =
        json!({"type": "individual", "products": [{"productId": yen, "dimensionPrices": [{"dimensionKey": "users", "price": "9999.5"}]}]});
    let r = stack.post("/opportunities", ISV, opportunity_body(&yen, json!({"discount": fractional}))).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("discount.products[0].dimensionPrices[0].price")), "{r:?}");
}
