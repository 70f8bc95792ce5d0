use super::*;
use crate::opportunity::tests::{create_from, product, PRODUCT};
use serde_json::{json, Value};

fn change(change_type: &str, details: Value) -> Value {
    json!({"ChangeType": change_type, "Entity": {"Type": ENTITY_TYPE, "Identifier": ENTITY_REF}, "Details": details.to_string()})
}

fn change_set(pricing: Value, extra: Vec<Value>) -> Value {
    let mut changes = vec![
        json!({"ChangeType": "CreateResaleAuthorization", "Entity": {"Type": ENTITY_TYPE},
               "DetailsDocument": {"ProductId": PRODUCT, "Name": "Q3Resale", "Description": "Q3 resale", "ResellerAccountId": "222233334444"}}),
        change("UpdatePricingTerms", pricing),
        change("ReleaseResaleAuthorization", json!({})),
    ];
    changes.extend(extra);
    json!({"catalog": CATALOG, "changeSet": changes})
}

fn details<'a>(set: &'a Value, change_type: &str) -> &'a Value {
    let changes = set["ChangeSet"].as_array().unwrap();
    &changes.iter().find(|c| c["ChangeType"] == change_type).unwrap_or_else(|| panic!("no {change_type}"))["DetailsDocument"]
}

fn rate_card(prices: Value) -> Value {
    json!({"PricingModel": "Contract", "Terms": [{"Type": "ResaleConfigurableUpfrontPricingTerm", "CurrencyCode": "USD",
        "RateCards": [{"Selector": {"Type": "Duration", "Value": "P12M"}, "RateCard": prices}]}]})
}

#[test]
fn a_rate_card_imports_as_dimension_prices_and_exports_back() {
    let set = change_set(
        rate_card(json!([{"DimensionKey": "users", "Price": "80"}])),
        vec![
            change("UpdateAvailability", json!({"AvailabilityEndDate": "2027-03-31"})),
            change(
                "UpdateBuyerTargetingTerms",
                json!({"Terms": [{"Type": "BuyerTargetingTerm", "PositiveTargeting": {"BuyerAccounts": ["333344445555"]}}]}),
            ),
            change(
                "UpdateLegalTerms",
                json!({"Terms": [{"Type": "BuyerLegalTerm", "Documents": [{"Type": "CustomEula", "Url": "https://x.example/eula.pdf"}]}]}),
            ),
        ],
    );
    let body = import(&set).unwrap().create_body(Some(&product(PRODUCT))).unwrap();
    // A dimension the rate card leaves out (admins) is not part of the authorization.
    assert_eq!(body["discount"]["products"][0]["dimensionPrices"], json!([{"dimensionKey": "users", "price": "80"}]));
    let opportunity = create_from(body).unwrap().remove(0);
    let out = export(&opportunity);
    assert!(out.warnings.is_empty());
    let [exported] = out.change_sets.as_slice() else { panic!("one product, one change set") };
    let term = &details(exported, "UpdatePricingTerms")["Terms"][0];
    assert_eq!(term["RateCards"][0]["RateCard"], json!([{"DimensionKey": "users", "Price": "80"}]));
    assert_eq!(details(exported, "UpdateAvailability"), &json!({"AvailabilityEndDate": "2027-03-31"}));
    assert_eq!(details(exported, "UpdateBuyerTargetingTerms")["Terms"][0]["PositiveTargeting"]["BuyerAccounts"], json!(["333344445555"]));
    assert_eq!(details(exported, "UpdateLegalTerms")["Terms"][0]["Documents"][0]["Url"], "https://x.example/eula.pdf");
    assert_eq!(details(exported, "CreateResaleAuthorization")["ResellerAccountId"], "222233334444");
}

#[test]
fn a_fixed_upfront_term_with_a_schedule_imports_as_a_payment_schedule() {
    let grants = json!({"PricingModel": "Contract", "Terms": [{"Type": "ResaleFixedUpfrontPricingTerm", "CurrencyCode": "USD", "Price": "0.00", "Duration": "P12M", "Grants": [{"DimensionKey": "users", "MaxQuantity": 10}]}]});
    let schedule = json!({"Terms": [{"Type": "ResalePaymentScheduleTerm", "CurrencyCode": "USD", "Schedule": [{"ChargeDate": "2027-04-01", "ChargeAmount": "200.00"}, {"ChargeDate": "2027-07-01", "ChargeAmount": "250.00"}]}]});
    let set = change_set(
        grants.clone(),
        vec![
            change("UpdatePaymentScheduleTerms", schedule.clone()),
            change("UpdateAvailability", json!({"AvailabilityEndDate": "2027-03-31", "OffersMaxQuantity": 1})),
            change(
                "UpdateInformation",
                json!({"PreExistingBuyerAgreement": {"AcquisitionChannel": "AwsMarketplace", "PricingModel": "Contract"}}),
            ),
        ],
    );
    let body = import(&set).unwrap().create_body(Some(&product(PRODUCT))).unwrap();
    let opportunity = create_from(body).unwrap().remove(0);
    assert!(opportunity.renewal);
    assert_eq!(opportunity.wholesale.total_due_to_isv.unwrap().to_string(), "450.00");
    let exported = &export(&opportunity).change_sets[0];
    assert_eq!(details(exported, "UpdatePricingTerms"), &grants);
    assert_eq!(details(exported, "UpdatePaymentScheduleTerms"), &schedule);
    assert_eq!(details(exported, "UpdateAvailability"), &json!({"AvailabilityEndDate": "2027-03-31", "OffersMaxQuantity": 1}));
    assert_eq!(details(exported, "UpdateInformation")["PreExistingBuyerAgreement"]["AcquisitionChannel"], "AwsMarketplace");
}

#[test]
fn what_cannot_be_mapped_is_named() {
    let field = |set: Value| match import(&set) {
        Err(crate::DomainError::Validation { field, .. }) => field.unwrap_or_default(),
        other => panic!("expected a validation error, got {other:?}"),
    };
    let unknown = change_set(rate_card(json!([])), vec![change("UpdateDimensions", json!({}))]);
    assert_eq!(field(unknown), "changeSet[3].ChangeType");
    let mut bad_entity = change_set(rate_card(json!([])), vec![]);
    bad_entity["changeSet"][1]["Entity"]["Type"] = json!("Offer@1.0");
    assert_eq!(field(bad_entity), "changeSet[1].Entity.Type");
    let mut unpriced = change_set(rate_card(json!([])), vec![]);
    unpriced["changeSet"].as_array_mut().unwrap().remove(1);
    assert_eq!(field(unpriced), "changeSet");
    assert_eq!(field(json!({"Catalog": "Other", "ChangeSet": []})), "Catalog");
    assert_eq!(field(json!({"Catalog": CATALOG, "catalog": "x", "ChangeSet": []})), "catalog");
    // Details that are not an object, for a change type that reads none of them too.
    for (key, details) in [("DetailsDocument", json!("garbage")), ("DetailsDocument", json!([1, 2])), ("Details", json!("7"))] {
        let mut set = change_set(rate_card(json!([])), vec![]);
        let mut release = json!({"ChangeType": "ReleaseResaleAuthorization", "Entity": {"Type": ENTITY_TYPE}});
        release[key] = details;
        set["changeSet"].as_array_mut().unwrap().push(release);
        assert_eq!(field(set), format!("changeSet[3].{key}"));
    }
}

#[test]
fn uploaded_documents_are_left_out_with_a_warning() {
    let mut body = crate::opportunity::tests::body();
    body["eula"] = json!({"type": "custom", "documents": [{"fileName": "eula.pdf", "contentType": "application/pdf", "sizeBytes": 10, "sha256": "a".repeat(64)}]});
    body["resellerAgreement"] = json!({"type": "rcmp"});
    let out = export(&create_from(body).unwrap().remove(0));
    assert!(out.warnings.iter().any(|w| w.contains("eula.pdf")), "{:?}", out.warnings);
    let legal = details(&out.change_sets[0], "UpdateLegalTerms");
    assert_eq!(
        legal["Terms"],
        json!([{"Type": "ResaleLegalTerm", "Documents": [{"Type": "StandardResellerContract", "Version": STANDARD_CONTRACT_VERSION}]}])
    );
}

#[test]
fn durations_are_months_or_years_in_digits() {
    assert_eq!((parse_months("P12M"), parse_months("P1Y"), parse_months("P060M")), (Some(12), Some(12), Some(60)));
    for refused in ["P+12M", "P-1Y", "PM", "P12", "12M", "P1.5Y"] {
        assert_eq!(parse_months(refused), None, "{refused}");
    }
}

#[test]
fn a_custom_dimension_is_added_to_the_product_first_named_in_a_warning_and_imports_back() {
    let body = crate::opportunity::tests::with(
        "discount",
        json!({"type": "individual", "products": [{"productId": PRODUCT, "dimensionPrices": [
            {"dimensionKey": "users", "price": "80"},
            {"dimensionKey": "premium-support", "name": "Premium support", "price": "250"},
        ]}]}),
    );
    let mut body = body;
    body["netPaymentTermDays"] = json!(60);
    body["latestAgreementStartDate"] = json!("2028-06-30");
    let opportunity = create_from(body).unwrap().remove(0);
    let out = export(&opportunity);
    let [exported] = out.change_sets.as_slice() else { panic!("one product, one change set") };
    let changes = exported["ChangeSet"].as_array().unwrap();
    let types: Vec<&str> = changes.iter().filter_map(|c| c["ChangeType"].as_str()).collect();
    assert_eq!(
        types,
        [
            "AddDimensions",
            "CreateResaleAuthorization",
            "UpdatePricingTerms",
            "UpdateAvailability",
            "UpdateLegalTerms",
            "UpdateNetPaymentTerms",
            "UpdateBuyerValidityTerms",
            "ReleaseResaleAuthorization"
        ],
        "the product gains the dimension before the rate card names it; released last"
    );
    // The Catalog API's documented shapes: AddDimensions on the SaaS product, a bare list of
    // dimensions; rate card items of exactly DimensionKey and Price.
    assert_eq!(changes[0]["Entity"], json!({"Type": "SaaSProduct@1.0", "Identifier": PRODUCT}));
    assert_eq!(
        changes[0]["DetailsDocument"],
        json!([{"Key": "premium-support", "Name": "Premium support", "Description": "Premium support", "Unit": "Units", "Types": ["Entitled"]}])
    );
    let card = &details(exported, "UpdatePricingTerms")["Terms"][0]["RateCards"][0]["RateCard"];
    assert_eq!(card, &json!([{"DimensionKey": "users", "Price": "80"}, {"DimensionKey": "premium-support", "Price": "250"}]));
    assert_eq!(
        details(exported, "UpdateNetPaymentTerms"),
        &json!({"Terms": [{"Type": "ResaleNetPaymentTerm", "PaymentDuePeriod": "P60D"}]})
    );
    assert_eq!(
        details(exported, "UpdateBuyerValidityTerms"),
        &json!({"Terms": [{"Type": "BuyerValidityTerm", "MaximumAgreementStartDate": "2028-06-30"}]})
    );
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("premium-support") && out.warnings[0].contains("AddDimensions"), "{}", out.warnings[0]);

    // Imported again, it is the same authorization.
    let again = create_from(import(exported).unwrap().create_body(Some(&product(PRODUCT))).unwrap()).unwrap().remove(0);
    assert_eq!((&again.discount, &again.wholesale), (&opportunity.discount, &opportunity.wholesale));
    assert_eq!((again.net_payment_term_days, again.latest_agreement_start_date), (Some(60), opportunity.latest_agreement_start_date));
}

#[test]
fn usage_rates_export_as_a_usage_term_beside_the_contracts_and_import_back() {
    let prices = json!([
        {"dimensionKey": "users", "price": "80"},
        {"dimensionKey": "gb", "price": "0.0456789", "name": "Data scanned", "kind": "usage"},
    ]);
    let mut body = crate::opportunity::tests::body();
    body["discount"] = json!({"type": "individual", "products": [{"productId": PRODUCT, "dimensionPrices": prices}]});
    let opportunity = create_from(body).unwrap().remove(0);
    let out = export(&opportunity);
    let [exported] = out.change_sets.as_slice() else { panic!("one product, one change set") };
    let pricing = details(exported, "UpdatePricingTerms");
    assert_eq!(pricing["PricingModel"], "Contract");
    let types: Vec<&str> = pricing["Terms"].as_array().unwrap().iter().map(|t| t["Type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ResaleConfigurableUpfrontPricingTerm", "ResaleUsageBasedPricingTerm"]);
    assert_eq!(pricing["Terms"][0]["RateCards"][0]["RateCard"], json!([{"DimensionKey": "users", "Price": "80"}]));
    assert_eq!(pricing["Terms"][1]["RateCards"][0]["RateCard"], json!([{"DimensionKey": "gb", "Price": "0.0456789"}]));
    assert_eq!(details(exported, "AddDimensions")[0]["Types"], json!(["ExternallyMetered"]));
    let back = import(exported).unwrap().create_body(Some(&product(PRODUCT))).unwrap();
    assert_eq!(back["discount"]["products"][0]["dimensionPrices"], prices);
    // Each term at most once, as the Catalog API takes them.
    let twice = json!({"PricingModel": "Usage", "Terms": [pricing["Terms"][1], pricing["Terms"][1]]});
    assert!(import(&change_set(twice, vec![])).is_err());
}
