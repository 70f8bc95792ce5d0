//! Catalog API interop through HTTP: the public reference change sets import, with their product
//! and account IDs and dates replaced by this test's own, and export back to the same terms.

mod common;

use common::*;
use serde_json::{json, Value};

fn reference(name: &str) -> Value {
    let path = format!("{}/fixtures/catalog/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The reference file with our product, reseller and buyer, and its dates moved from 2023 to 2027.
fn localized(mut set: Value, product_id: &str) -> Value {
    let text = set.to_string().replace("\"2023-", "\"2027-");
    set = serde_json::from_str(&text).unwrap();
    for change in set["changeSet"].as_array_mut().unwrap() {
        let details = &mut change["Details"];
        if details.get("ProductId").is_some() {
            details["ProductId"] = json!(product_id);
            details["ResellerAccountId"] = json!(RESELLER);
        }
        if let Some(terms) = details.get_mut("Terms") {
            for term in terms.as_array_mut().unwrap() {
                if term.get("PositiveTargeting").is_some() {
                    term["PositiveTargeting"]["BuyerAccounts"] = json!([BUYER]);
                }
            }
        }
    }
    set
}

/// Each change's details by change type, `Details` strings read as JSON.
fn terms(changes: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let details = c.get("DetailsDocument").or_else(|| c.get("Details")).cloned().unwrap_or(json!({}));
            let details = match details {
                Value::String(raw) => serde_json::from_str(&raw).unwrap(),
                other => other,
            };
            (c["ChangeType"].as_str().unwrap().to_string(), details)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn round_trip(stack: &Stack, name: &str, product_id: &str) -> Value {
    let set = localized(reference(name), product_id);
    let imported = stack.post("/opportunities/import", ISV, set.clone()).await;
    assert_eq!(imported.status, 201, "{imported:?}");
    let opportunity = imported.body["items"][0].clone();
    let exported = stack.get(&format!("/opportunities/{}/changeset", id(&opportunity, "opportunityId")), ISV).await;
    assert_eq!(exported.status, 200, "{exported:?}");
    assert_eq!(exported.body["warnings"], json!([]));
    let sets = exported.body["changeSets"].as_array().unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0]["Catalog"], "AWSMarketplace");
    assert_eq!(terms(&sets[0]["ChangeSet"]), terms(&set["changeSet"]), "{name}: the export differs from the import");
    opportunity
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_change_sets_import_and_export_back_to_the_same_terms() {
    let stack = Stack::start().await;
    stack.cast().await;
    let instances = stack.product(ISV, "saas-contract", &[("t2.small", "200.00")]).await;
    let o = round_trip(&stack, "publish_multiuse_resale_authorization_expirydate_specific_buyer", &instances).await;
    assert_eq!(o["duration"], json!({"type": "endDate", "endDate": "2027-05-31"}));
    assert_eq!(o["discount"]["products"][0]["dimensionPrices"], json!([{"dimensionKey": "t2.small", "price": "150"}]));
    assert_eq!(o["buyerAccountIds"], json!([BUYER]));
    assert_eq!(o["eula"]["documents"][0]["url"], "https://s3.amazonaws.com/sample-bucket/custom-eula.pdf");

    let seats = stack.product(ISV, "saas-contract", &[("Users", "100.00")]).await;
    let o = round_trip(&stack, "publish_onetime_resale_authorization_flexible_payment", &seats).await;
    assert_eq!(o["duration"], json!({"type": "singleUse", "endDate": "2027-06-30"}));
    assert_eq!(o["wholesale"]["totalDueToIsv"], "450.00");
    assert_eq!(o["discount"]["units"], json!([{"dimensionKey": "Users", "units": 10}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_prices_every_product_absolutely_and_flags_uploads() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let metered = json!({"title": "Hourly", "productType": "saas-subscription", "paid": true,
        "dimensions": [{"key": "hours", "name": "Hours", "unitPrice": "0.50", "kind": "usage"}]});
    let hours = id(&stack.post("/products", ISV, metered).await.body, "productId");
    let upload = json!({"fileName": "eula.pdf", "contentType": "application/pdf", "sizeBytes": 100, "sha256": "ab".repeat(32)});
    let body = opportunity_body(
        &product,
        json!({
            "productIds": [product, hours], "renewal": true, "renewalAcknowledged": true,
            "duration": {"type": "singleUse"}, "eula": {"type": "custom", "documents": [upload]}, "resellerAgreement": {"type": "rcmp"},
        }),
    );
    let o = stack.opportunity(body).await;
    let path = format!("/opportunities/{}/changeset", id(&o, "opportunityId"));
    let r = stack.get(&path, ISV).await;
    assert_eq!(r.status, 200, "{r:?}");
    let sets = r.body["changeSets"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "one change set per product");
    let contract = terms(&sets[0]["ChangeSet"]);
    let find =
        |t: &[(String, Value)], ty: &str| t.iter().find(|(k, _)| k == ty).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {ty}"));
    assert_eq!(
        find(&contract, "UpdatePricingTerms")["Terms"][0]["RateCards"][0]["RateCard"],
        json!([{"DimensionKey": "users", "Price": "80"}])
    );
    assert_eq!(find(&contract, "UpdateAvailability"), json!({"OffersMaxQuantity": 1}));
    assert_eq!(find(&contract, "UpdateInformation")["PreExistingBuyerAgreement"]["PricingModel"], "Contract");
    assert_eq!(
        find(&contract, "UpdateLegalTerms")["Terms"],
        json!([{"Type": "ResaleLegalTerm", "Documents": [{"Type": "StandardResellerContract", "Version": "2022-07-14"}]}])
    );
    let usage = terms(&sets[1]["ChangeSet"]);
    let pricing = find(&usage, "UpdatePricingTerms");
    assert_eq!(
        (pricing["PricingModel"].as_str(), pricing["Terms"][0]["Type"].as_str()),
        (Some("Usage"), Some("ResaleUsageBasedPricingTerm"))
    );
    assert_eq!(pricing["Terms"][0]["RateCards"][0]["RateCard"], json!([{"DimensionKey": "hours", "Price": "0.4"}]));
    assert!(r.body["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("eula.pdf")), "{r:?}");
    assert_eq!(stack.get(&path, RESELLER).await.status, 403);
    assert_eq!(stack.get(&path, OUTSIDER).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_refuses_what_it_cannot_map() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let mut set = localized(reference("publish_multiuse_resale_authorization_expirydate_specific_buyer"), &product);
    set["changeSet"][2]["ChangeType"] = json!("UpdateSupportTerms");
    let r = stack.post("/opportunities/import", ISV, set).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("changeSet[2].ChangeType")), "{r:?}");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("UpdateSupportTerms"));
    // Another seller's product cannot be imported, and nothing is stored.
    stack.register(OUTSIDER, "Other ISV", None).await;
    let theirs = stack.product(OUTSIDER, "saas-contract", &[("t2.small", "200.00")]).await;
    let set = localized(reference("publish_multiuse_resale_authorization_expirydate_specific_buyer"), &theirs);
    let r = stack.post("/opportunities/import", ISV, set).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some("productIds[0]")), "{r:?}");
    assert_eq!(stack.get("/opportunities", ISV).await.body["items"], json!([]));
}
