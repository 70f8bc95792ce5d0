//! Opportunity → change sets, one per product.

use super::names::{CATALOG, CHANGE_NAME, ENTITY_REF, ENTITY_TYPE, PRODUCT_ENTITY_TYPE, RATE_CARD_DURATION, STANDARD_CONTRACT_VERSION};
use crate::discount::Discount;
use crate::duration::Duration;
use crate::legal::{Document, Eula, ResellerAgreement};
use crate::opportunity::{Opportunity, ProductRef};
use serde_json::{json, Value};

pub struct Export {
    pub change_sets: Vec<Value>,
    pub warnings: Vec<String>,
}

pub fn export(o: &Opportunity) -> Export {
    let mut warnings = Vec::new();
    let legal = legal_terms(o, &mut warnings);
    let change_sets = o.products.iter().map(|p| change_set(o, p, &legal, &mut warnings)).collect();
    Export { change_sets, warnings }
}

/// The product's custom dimensions, added to it first: a resale authorization's rate card can
/// only name dimensions the product has (`{DimensionKey, Price}`, nothing that defines one).
fn add_dimensions(o: &Opportunity, product: &ProductRef, warnings: &mut Vec<String>) -> Option<Value> {
    let dimensions = o.wholesale.product(&product.product_id)?.dimensions.iter().filter(|d| d.custom);
    let added: Vec<Value> = dimensions
        .map(|d| {
            warnings.push(format!(
                "custom dimension {} ({}) of product {}: the Catalog API cannot add a dimension in a resale authorization, so the \
                 change set first adds it to the product (AddDimensions on {PRODUCT_ENTITY_TYPE}), which only the product's owner \
                 can run and which cannot be undone: a dimension added to a product cannot be removed",
                d.dimension_key, d.name, product.product_id
            ));
            // A usage dimension is metered by the ISV's own software: AWS calls it externally metered.
            let types = if d.kind.is_usage() { "ExternallyMetered" } else { "Entitled" };
            json!({"Key": d.dimension_key, "Name": d.name, "Description": d.name, "Unit": "Units", "Types": [types]})
        })
        .collect();
    (!added.is_empty()).then(|| {
        json!({
            "ChangeType": "AddDimensions",
            "Entity": {"Type": PRODUCT_ENTITY_TYPE, "Identifier": product.product_id},
            "DetailsDocument": added,
        })
    })
}

fn change(change_type: &str, details: Value) -> Value {
    json!({"ChangeType": change_type, "Entity": {"Type": ENTITY_TYPE, "Identifier": ENTITY_REF}, "DetailsDocument": details})
}

fn change_set(o: &Opportunity, product: &ProductRef, legal: &[Value], warnings: &mut Vec<String>) -> Value {
    let (model, pricing) = pricing_terms(o, product, warnings);
    let mut create = json!({"ProductId": product.product_id, "Name": o.name, "ResellerAccountId": o.reseller_account_id});
    if let Some(description) = &o.description {
        create["Description"] = json!(description);
    }
    let mut changes: Vec<Value> = add_dimensions(o, product, warnings).into_iter().collect();
    changes.push(json!({
        "ChangeType": "CreateResaleAuthorization",
        "ChangeName": CHANGE_NAME,
        "Entity": {"Type": ENTITY_TYPE},
        "DetailsDocument": create,
    }));
    if o.renewal {
        let mut info =
            json!({"Name": o.name, "PreExistingBuyerAgreement": {"AcquisitionChannel": "AwsMarketplace", "PricingModel": model}});
        if let Some(description) = &o.description {
            info["Description"] = json!(description);
        }
        changes.push(change("UpdateInformation", info));
    }
    changes.push(change("UpdatePricingTerms", json!({"PricingModel": model, "Terms": pricing})));
    if let Discount::FlexiblePaymentSchedule { payments, .. } = &o.discount {
        let schedule: Vec<Value> =
            payments.iter().map(|p| json!({"ChargeDate": p.invoice_date, "ChargeAmount": p.amount.to_string()})).collect();
        let term = json!({"Type": "ResalePaymentScheduleTerm", "CurrencyCode": o.currency, "Schedule": schedule});
        changes.push(change("UpdatePaymentScheduleTerms", json!({"Terms": [term]})));
    }
    if let Some(availability) = availability(&o.duration) {
        changes.push(change("UpdateAvailability", availability));
    }
    if !o.buyer_account_ids.is_empty() {
        let term = json!({"Type": "BuyerTargetingTerm", "PositiveTargeting": {"BuyerAccounts": o.buyer_account_ids}});
        changes.push(change("UpdateBuyerTargetingTerms", json!({"Terms": [term]})));
    }
    if !legal.is_empty() {
        changes.push(change("UpdateLegalTerms", json!({"Terms": legal})));
    }
    if let Some(days) = o.net_payment_term_days {
        let term = json!({"Type": "ResaleNetPaymentTerm", "PaymentDuePeriod": format!("P{days}D")});
        changes.push(change("UpdateNetPaymentTerms", json!({"Terms": [term]})));
    }
    if let Some(latest) = o.latest_agreement_start_date {
        let term = json!({"Type": "BuyerValidityTerm", "MaximumAgreementStartDate": latest});
        changes.push(change("UpdateBuyerValidityTerms", json!({"Terms": [term]})));
    }
    // Released last: net payment terms cannot be set once a resale authorization is released.
    changes.push(change("ReleaseResaleAuthorization", json!({})));
    json!({"Catalog": CATALOG, "ChangeSet": changes})
}

/// The pricing model and its terms: the contract's dimensions in an upfront term (or the units a
/// payment schedule grants), beside a usage-based term for the metered ones. Usage alone is the
/// `Usage` model; anything bought by term is `Contract`.
fn pricing_terms(o: &Opportunity, product: &ProductRef, warnings: &mut Vec<String>) -> (&'static str, Vec<Value>) {
    let dimensions = o.wholesale.product(&product.product_id).map(|p| p.dimensions.as_slice()).unwrap_or_default();
    let card = |usage: bool| -> Vec<Value> {
        dimensions
            .iter()
            .filter(|d| d.kind.is_usage() == usage)
            .filter_map(|d| d.wholesale_price.map(|price| json!({"DimensionKey": d.dimension_key, "Price": price.to_string()})))
            .collect()
    };
    let (contract, usage) = (card(false), card(true));
    let mut terms = Vec::new();
    if let Discount::FlexiblePaymentSchedule { contract_months, units, .. } = &o.discount {
        let grants: Vec<Value> = units.iter().map(|u| json!({"DimensionKey": u.dimension_key, "MaxQuantity": u.units})).collect();
        terms.push(json!({
            "Type": "ResaleFixedUpfrontPricingTerm",
            "CurrencyCode": o.currency,
            "Price": o.currency.round(rust_decimal::Decimal::ZERO).to_string(),
            "Duration": format!("P{contract_months}M"),
            "Grants": grants,
        }));
    } else if !contract.is_empty() {
        terms.push(json!({
            "Type": "ResaleConfigurableUpfrontPricingTerm",
            "CurrencyCode": o.currency,
            "RateCards": [{
                "Selector": {"Type": "Duration", "Value": RATE_CARD_DURATION},
                "RateCard": contract,
                "Constraints": {"MultipleDimensionSelection": "Allowed", "QuantityConfiguration": "Allowed"},
            }],
        }));
    }
    if !usage.is_empty() {
        if o.currency != crate::money::Currency::USD {
            warnings.push(format!(
                "product {}: AWS Marketplace takes usage rates (ResaleUsageBasedPricingTerm) in USD only; this authorization's are in {}",
                product.product_id,
                o.currency.code()
            ));
        }
        terms.push(json!({"Type": "ResaleUsageBasedPricingTerm", "CurrencyCode": o.currency, "RateCards": [{"RateCard": usage}]}));
    }
    let model = if terms.len() == 1 && !usage.is_empty() { "Usage" } else { "Contract" };
    (model, terms)
}

fn availability(duration: &Duration) -> Option<Value> {
    let mut details = serde_json::Map::new();
    if let Some(end) = duration.end_date() {
        details.insert("AvailabilityEndDate".into(), json!(end));
    }
    if duration.single_use() {
        details.insert("OffersMaxQuantity".into(), json!(1));
    }
    (!details.is_empty()).then_some(Value::Object(details))
}

/// The buyer's and the reseller's legal terms; uploads have no URL yet, so they are left out
/// with a warning naming them.
fn legal_terms(o: &Opportunity, warnings: &mut Vec<String>) -> Vec<Value> {
    let mut terms = Vec::new();
    let eula = match &o.eula {
        Eula::Standard => vec![json!({"Type": "StandardEula", "Version": STANDARD_CONTRACT_VERSION})],
        Eula::Custom { documents } => hosted(documents, "CustomEula", "EULA", warnings),
    };
    if !eula.is_empty() {
        terms.push(json!({"Type": "BuyerLegalTerm", "Documents": eula}));
    }
    let reseller = match &o.reseller_agreement {
        ResellerAgreement::None => Vec::new(),
        ResellerAgreement::Rcmp => vec![json!({"Type": "StandardResellerContract", "Version": STANDARD_CONTRACT_VERSION})],
        ResellerAgreement::Custom { documents } => hosted(documents, "CustomResellerContract", "reseller agreement", warnings),
    };
    if !reseller.is_empty() {
        terms.push(json!({"Type": "ResaleLegalTerm", "Documents": reseller}));
    }
    terms
}

fn hosted(documents: &[Document], doc_type: &str, what: &str, warnings: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for d in documents {
        match (d, d.url()) {
            (_, Some(url)) => out.push(json!({"Type": doc_type, "Url": url})),
            (Document::Stored(_), None) => warnings.push(format!(
                "{what} document {} is held in the service's private bucket, and AWS documents no grant that lets AWS Marketplace \
                 read a private bucket's legal files (only a public S3 URL, or a presigned one that expires before a change set \
                 is run); it was left out of the change set",
                d.label()
            )),
            (_, None) => {
                warnings.push(format!("{what} document {} is an upload with no URL yet; it was left out of the change set", d.label()))
            }
        }
    }
    if out.is_empty() && !documents.is_empty() {
        warnings.push(format!("the change set carries no {what}: host its documents and export again"));
    }
    out
}
