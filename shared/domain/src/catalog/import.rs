//! A change set that creates one resale authorization → the create body of the opportunity it
//! describes. Real files vary: `Catalog`/`catalog`, `ChangeSet`/`changeSet`, and details as a
//! `DetailsDocument` object or a `Details` JSON string (or object).

use super::names::{parse_months, CATALOG, ENTITY_TYPE, PRODUCT_ENTITY_TYPE};
use crate::error::{DomainError, DomainResult};
use crate::product::Product;
use serde_json::{json, Map, Value};

/// What the change set says, before the product it names is known.
#[derive(Debug, Default)]
pub struct Imported {
    pub product_id: String,
    reseller_account_id: String,
    name: String,
    description: Option<String>,
    renewal: bool,
    buyers: Vec<Value>,
    end_date: Option<String>,
    single_use: bool,
    pricing: Option<Pricing>,
    /// The rates of a `ResaleUsageBasedPricingTerm`, beside the contract's term or alone, and
    /// their currency.
    usage_prices: Option<Prices>,
    usage_currency: Option<String>,
    payments: Option<Vec<Value>>,
    eula: Option<Value>,
    reseller_agreement: Option<Value>,
    /// Custom dimensions `AddDimensions` adds to the product: key, name, and whether it is metered.
    added_dimensions: Vec<(String, String, bool)>,
    net_payment_term_days: Option<u32>,
    latest_agreement_start_date: Option<String>,
}

/// Dimension keys and their prices, as the rate cards write them.
type Prices = Vec<(String, String)>;

/// A usage term: its currency, when it names one, and its rates.
type UsageTerm = (Option<String>, Prices);

#[derive(Debug)]
enum Pricing {
    /// Absolute wholesale prices per dimension.
    RateCard { currency: Option<String>, prices: Vec<(String, String)> },
    /// A fixed upfront term: the units granted over `months`, paid by the payment schedule.
    Grants { currency: Option<String>, months: u32, units: Vec<(String, u64)> },
}

/// A change set may also carry these `StartChangeSet` parameters; they do not change the terms.
const IGNORED_KEYS: &[&str] = &["ChangeSetName", "ChangeSetTags", "ClientRequestToken", "Intent"];

fn err(field: impl Into<String>, message: impl Into<String>) -> DomainError {
    DomainError::field(field, message)
}

/// The value under `upper` or its lower-camel twin, with the key found.
fn either<'a>(obj: &'a Map<String, Value>, upper: &'a str, lower: &'a str) -> Option<(&'a str, &'a Value)> {
    obj.get(upper).map(|v| (upper, v)).or_else(|| obj.get(lower).map(|v| (lower, v)))
}

fn text(v: &Value, field: &str) -> DomainResult<String> {
    v.as_str().map(str::to_string).ok_or_else(|| err(field, format!("{field} must be a string")))
}

fn get_text(obj: &Value, key: &str, at: &str) -> DomainResult<String> {
    let field = format!("{at}.{key}");
    text(obj.get(key).ok_or_else(|| err(&field, format!("{field} is required")))?, &field)
}

fn list<'a>(obj: &'a Value, key: &str, at: &str) -> DomainResult<&'a Vec<Value>> {
    let field = format!("{at}.{key}");
    obj.get(key).and_then(Value::as_array).ok_or_else(|| err(&field, format!("{field} must be a list")))
}

pub fn import(body: &Value) -> DomainResult<Imported> {
    let obj = body.as_object().ok_or_else(|| DomainError::invalid("the body must be a change set object"))?;
    for key in obj.keys() {
        let known = ["Catalog", "catalog", "ChangeSet", "changeSet"].contains(&key.as_str()) || IGNORED_KEYS.contains(&key.as_str());
        if !known {
            return Err(err(key, format!("{key} is not a field of a change set")));
        }
    }
    // Each casing given must name the catalog, so neither can smuggle in another.
    for key in ["Catalog", "catalog"] {
        if obj.get(key).is_some_and(|catalog| catalog.as_str() != Some(CATALOG)) {
            return Err(err(key, format!("{key} must be {CATALOG}")));
        }
    }
    let (key, changes) = either(obj, "ChangeSet", "changeSet").ok_or_else(|| err("ChangeSet", "ChangeSet is required"))?;
    let changes =
        changes.as_array().filter(|c| (1..=20).contains(&c.len())).ok_or_else(|| err(key, format!("{key} must list 1 to 20 changes")))?;
    let mut imported = Imported::default();
    let mut created = false;
    for (i, change) in changes.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let change_type = get_text(change, "ChangeType", &at)?;
        let entity_type = change.pointer("/Entity/Type").and_then(Value::as_str);
        if change_type == "AddDimensions" {
            if entity_type != Some(PRODUCT_ENTITY_TYPE) {
                return Err(err(format!("{at}.Entity.Type"), format!("AddDimensions is a change to a {PRODUCT_ENTITY_TYPE} entity")));
            }
            imported.add_dimensions(change, &at)?;
            continue;
        }
        if entity_type != Some(ENTITY_TYPE) {
            return Err(err(format!("{at}.Entity.Type"), format!("every change must be to a {ENTITY_TYPE} entity")));
        }
        let (details_at, details) = details(change, &at)?;
        if change_type == "CreateResaleAuthorization" {
            if created {
                return Err(err(format!("{at}.ChangeType"), "a change set can create only one resale authorization"));
            }
            created = true;
        }
        imported.apply(&change_type, &details, &details_at).map_err(|e| match e {
            DomainError::Validation { field: None, message } => err(format!("{at}.ChangeType"), message),
            e => e,
        })?;
    }
    if !created {
        return Err(err(key, "the change set must create a resale authorization (CreateResaleAuthorization)"));
    }
    if imported.pricing.is_none() && imported.usage_prices.is_none() {
        return Err(err(key, "the change set must price the authorization (UpdatePricingTerms)"));
    }
    Ok(imported)
}

/// A change's details: `DetailsDocument`, or `Details` as a JSON string or an object; either way a
/// JSON object (`"garbage"`, `[1, 2]` or `"7"` is refused, whatever the change type).
fn details(change: &Value, at: &str) -> DomainResult<(String, Value)> {
    let (field, value) = match (change.get("DetailsDocument"), change.get("Details")) {
        (Some(document), _) => (format!("{at}.DetailsDocument"), document.clone()),
        (None, None) => return Ok((format!("{at}.Details"), json!({}))),
        (None, Some(Value::String(raw))) => (format!("{at}.Details"), serde_json::from_str(raw).unwrap_or(Value::Null)),
        (None, Some(other)) => (format!("{at}.Details"), other.clone()),
    };
    match value {
        Value::Object(_) => Ok((field, value)),
        _ => Err(err(&field, "the details must be a JSON object")),
    }
}

impl Imported {
    fn apply(&mut self, change_type: &str, d: &Value, at: &str) -> DomainResult<()> {
        match change_type {
            "CreateResaleAuthorization" => {
                self.product_id = get_text(d, "ProductId", at)?;
                self.reseller_account_id = get_text(d, "ResellerAccountId", at)?;
                self.name = get_text(d, "Name", at)?;
                self.description = d.get("Description").map(|v| text(v, &format!("{at}.Description"))).transpose()?;
            }
            "UpdateInformation" => {
                if let Some(name) = d.get("Name") {
                    self.name = text(name, &format!("{at}.Name"))?;
                }
                if let Some(description) = d.get("Description") {
                    self.description = Some(text(description, &format!("{at}.Description"))?);
                }
                self.renewal = d.get("PreExistingBuyerAgreement").is_some();
            }
            "UpdatePricingTerms" => {
                let (contract, usage) = pricing(d, at)?;
                self.pricing = contract;
                self.usage_currency = usage.as_ref().and_then(|(currency, _)| currency.clone());
                self.usage_prices = usage.map(|(_, prices)| prices);
            }
            "UpdatePaymentScheduleTerms" => self.payments = Some(schedule(d, at)?),
            "UpdateAvailability" => self.availability(d, at)?,
            "UpdateBuyerTargetingTerms" => {
                for (i, term) in list(d, "Terms", at)?.iter().enumerate() {
                    let accounts = term.pointer("/PositiveTargeting/BuyerAccounts").and_then(Value::as_array);
                    let field = format!("{at}.Terms[{i}].PositiveTargeting.BuyerAccounts");
                    self.buyers.extend(accounts.ok_or_else(|| err(field, "BuyerAccounts must be a list"))?.iter().cloned());
                }
            }
            "UpdateLegalTerms" => self.legal(d, at)?,
            "UpdateNetPaymentTerms" => {
                let period = only_term(d, at)?.map(|(term, term_at)| get_text(term, "PaymentDuePeriod", &term_at)).transpose()?;
                self.net_payment_term_days = period.map(|p| net_days(&p, at)).transpose()?;
            }
            "UpdateBuyerValidityTerms" => {
                let latest = only_term(d, at)?.map(|(term, term_at)| get_text(term, "MaximumAgreementStartDate", &term_at)).transpose()?;
                self.latest_agreement_start_date = latest.map(|raw| raw.split('T').next().unwrap_or_default().to_string());
            }
            "ReleaseResaleAuthorization" => {}
            other => return Err(DomainError::invalid(format!("change type {other} cannot be imported"))),
        }
        Ok(())
    }

    fn availability(&mut self, d: &Value, at: &str) -> DomainResult<()> {
        if let Some(end) = d.get("AvailabilityEndDate") {
            let raw = text(end, &format!("{at}.AvailabilityEndDate"))?;
            // The Catalog API also writes the date as a timestamp; the day is what counts.
            self.end_date = Some(raw.split('T').next().unwrap_or_default().to_string());
        }
        match d.get("OffersMaxQuantity") {
            None => {}
            Some(q) if q.as_u64() == Some(1) => self.single_use = true,
            Some(_) => return Err(err(format!("{at}.OffersMaxQuantity"), "OffersMaxQuantity can only be 1 (single use)")),
        }
        Ok(())
    }

    fn legal(&mut self, d: &Value, at: &str) -> DomainResult<()> {
        for (i, term) in list(d, "Terms", at)?.iter().enumerate() {
            let term_at = format!("{at}.Terms[{i}]");
            let term_type = get_text(term, "Type", &term_at)?;
            let mut standard = false;
            let mut urls = Vec::new();
            for (j, doc) in list(term, "Documents", &term_at)?.iter().enumerate() {
                let doc_at = format!("{term_at}.Documents[{j}]");
                match get_text(doc, "Type", &doc_at)?.as_str() {
                    "StandardEula" | "StandardResellerContract" => standard = true,
                    "CustomEula" | "CustomResellerContract" => urls.push(json!({"url": get_text(doc, "Url", &doc_at)?})),
                    other => return Err(err(format!("{doc_at}.Type"), format!("document type {other} cannot be imported"))),
                }
            }
            let custom = json!({"type": "custom", "documents": urls});
            match (term_type.as_str(), standard) {
                ("BuyerLegalTerm", true) => self.eula = Some(json!({"type": "standard"})),
                ("BuyerLegalTerm", false) => self.eula = Some(custom),
                ("ResaleLegalTerm", true) => self.reseller_agreement = Some(json!({"type": "rcmp"})),
                ("ResaleLegalTerm", false) => self.reseller_agreement = Some(custom),
                (other, _) => return Err(err(format!("{term_at}.Type"), format!("legal term {other} cannot be imported"))),
            }
        }
        Ok(())
    }

    /// The custom dimensions an `AddDimensions` change adds to the product, details as a bare list.
    fn add_dimensions(&mut self, change: &Value, at: &str) -> DomainResult<()> {
        let (field, dimensions) = match (change.get("DetailsDocument"), change.get("Details")) {
            (Some(document), _) => (format!("{at}.DetailsDocument"), document.clone()),
            (None, Some(Value::String(raw))) => (format!("{at}.Details"), serde_json::from_str(raw).unwrap_or(Value::Null)),
            (None, other) => (format!("{at}.Details"), other.cloned().unwrap_or(Value::Null)),
        };
        let dimensions = dimensions.as_array().ok_or_else(|| err(&field, "AddDimensions details must be a list of dimensions"))?;
        for (i, d) in dimensions.iter().enumerate() {
            let d_at = format!("{field}[{i}]");
            let types = d.get("Types").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let metered = types.iter().any(|t| matches!(t.as_str(), Some("ExternallyMetered" | "Metered")));
            self.added_dimensions.push((get_text(d, "Key", &d_at)?, get_text(d, "Name", &d_at)?, metered));
        }
        Ok(())
    }

    /// The reseller the change set authorizes, as written there.
    pub fn reseller_account_id(&self) -> &str {
        &self.reseller_account_id
    }

    /// The create body, given the product the change set names (when it is the caller's): a
    /// dimension the rate card leaves out keeps its list price.
    pub fn create_body(&self, product: Option<&Product>) -> DomainResult<Value> {
        let contract_currency = match &self.pricing {
            Some(Pricing::RateCard { currency, .. } | Pricing::Grants { currency, .. }) => currency.as_deref(),
            None => None,
        };
        if let (Some(product), Some(Pricing::Grants { .. })) = (product, &self.pricing) {
            self.check_usage_at_list(product)?;
        }
        for currency in [contract_currency, self.usage_currency.as_deref()].into_iter().flatten() {
            if let Some(product) = product.filter(|p| p.currency.code() != currency) {
                let message =
                    format!("the change set prices in {currency}; product {} is priced in {}", product.product_id, product.currency.code());
                return Err(err("CurrencyCode", message));
            }
        }
        let mut body = json!({
            "name": self.name,
            "renewal": self.renewal,
            "renewalAcknowledged": self.renewal,
            "resellerAccountIds": [self.reseller_account_id],
            "productIds": [self.product_id],
            "discount": self.discount()?,
            "duration": self.duration(),
            "buyerAccountIds": self.buyers,
        });
        if let Some(description) = &self.description {
            body["description"] = json!(description);
        }
        if let Some(eula) = &self.eula {
            body["eula"] = eula.clone();
        }
        if let Some(agreement) = &self.reseller_agreement {
            body["resellerAgreement"] = agreement.clone();
        }
        if let Some(days) = self.net_payment_term_days {
            body["netPaymentTermDays"] = json!(days);
        }
        if let Some(latest) = &self.latest_agreement_start_date {
            body["latestAgreementStartDate"] = json!(latest);
        }
        Ok(body)
    }

    /// Under a payment schedule, usage dimensions keep their list rates (see `Discount`): a
    /// change set that gives them others cannot be taken as it is.
    fn check_usage_at_list(&self, product: &Product) -> DomainResult<()> {
        for (key, price) in self.usage_prices.iter().flatten() {
            let list = product.dimension(key).map(|d| d.unit_price);
            let same = crate::money::parse_decimal(price, "Price").ok().zip(list).is_some_and(|(p, l)| p == l);
            if !same {
                return Err(err(
                    "ResaleUsageBasedPricingTerm",
                    format!("under a payment schedule the usage rate of {key} is its list rate; the change set gives {price}"),
                ));
            }
        }
        Ok(())
    }

    fn discount(&self) -> DomainResult<Value> {
        let usage_alone = Pricing::RateCard { currency: None, prices: Vec::new() };
        let pricing = self.pricing.as_ref().or(self.usage_prices.as_ref().map(|_| &usage_alone));
        match pricing {
            // Exactly the dimensions the rate cards name: one they leave out is not authorized,
            // and one `AddDimensions` added is a custom dimension with its name and kind.
            Some(Pricing::RateCard { prices, .. }) => {
                let dimension_prices: Vec<Value> = prices
                    .iter()
                    .chain(self.usage_prices.iter().flatten())
                    .map(|(k, p)| match self.added_dimensions.iter().find(|(key, _, _)| key == k) {
                        Some((_, name, true)) => json!({"dimensionKey": k, "price": p, "name": name, "kind": "usage"}),
                        Some((_, name, false)) => json!({"dimensionKey": k, "price": p, "name": name}),
                        None => json!({"dimensionKey": k, "price": p}),
                    })
                    .collect();
                Ok(json!({"type": "individual", "products": [{"productId": self.product_id, "dimensionPrices": dimension_prices}]}))
            }
            Some(Pricing::Grants { months, units, .. }) => {
                let payments = self
                    .payments
                    .as_ref()
                    .ok_or_else(|| err("ChangeSet", "a fixed upfront price needs its payment schedule (UpdatePaymentScheduleTerms)"))?;
                let units: Vec<Value> = units.iter().map(|(k, u)| json!({"dimensionKey": k, "units": u})).collect();
                Ok(json!({"type": "flexiblePaymentSchedule", "contractMonths": months, "units": units, "payments": payments}))
            }
            None => Err(err("ChangeSet", "the change set must price the authorization (UpdatePricingTerms)")),
        }
    }

    fn duration(&self) -> Value {
        match (self.single_use, &self.end_date) {
            (true, Some(end)) => json!({"type": "singleUse", "endDate": end}),
            (true, None) => json!({"type": "singleUse"}),
            (false, Some(end)) => json!({"type": "endDate", "endDate": end}),
            (false, None) => json!({"type": "noEnd"}),
        }
    }
}

/// The contract's pricing term, if any, and the usage rates of a usage-based one: each type at
/// most once, as the Catalog API takes them.
fn pricing(d: &Value, at: &str) -> DomainResult<(Option<Pricing>, Option<UsageTerm>)> {
    let terms = list(d, "Terms", at)?;
    let mut contract = None;
    let mut usage = None;
    let mut seen: Vec<String> = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let term_at = format!("{at}.Terms[{i}]");
        let kind = get_text(term, "Type", &term_at)?;
        if seen.contains(&kind) {
            return Err(err(format!("{term_at}.Type"), format!("UpdatePricingTerms carries {kind} twice; each term at most once")));
        }
        seen.push(kind.clone());
        if kind == "ResaleUsageBasedPricingTerm" {
            let currency = term.get("CurrencyCode").map(|c| text(c, &format!("{term_at}.CurrencyCode"))).transpose()?;
            usage = Some((currency, rate_cards(term, &term_at)?));
        } else if contract.is_some() {
            return Err(err(format!("{term_at}.Type"), "UpdatePricingTerms carries one contract pricing term beside its usage term"));
        } else {
            contract = Some(contract_term(term, &term_at, &kind)?);
        }
    }
    if contract.is_none() && usage.is_none() {
        return Err(err(format!("{at}.Terms"), "UpdatePricingTerms must carry a pricing term"));
    }
    Ok((contract, usage))
}

fn contract_term(term: &Value, at: &str, kind: &str) -> DomainResult<Pricing> {
    let at = at.to_string();
    let currency = term.get("CurrencyCode").map(|c| text(c, &format!("{at}.CurrencyCode"))).transpose()?;
    match kind {
        "ResaleConfigurableUpfrontPricingTerm" => Ok(Pricing::RateCard { currency, prices: rate_cards(term, &at)? }),
        "ResaleFixedUpfrontPricingTerm" => {
            let price = get_text(term, "Price", &at)?;
            let zero = crate::money::parse_decimal(&price, "Price").is_ok_and(|p| p.is_zero());
            if !zero {
                return Err(err(format!("{at}.Price"), "a fixed upfront price is imported only as 0 with a payment schedule"));
            }
            let duration = get_text(term, "Duration", &at)?;
            let months = parse_months(&duration).ok_or_else(|| err(format!("{at}.Duration"), "Duration must be like P12M"))?;
            let mut units = Vec::new();
            for (i, grant) in list(term, "Grants", &at)?.iter().enumerate() {
                let grant_at = format!("{at}.Grants[{i}]");
                let quantity = grant
                    .get("MaxQuantity")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| err(format!("{grant_at}.MaxQuantity"), "MaxQuantity must be a whole number"))?;
                units.push((get_text(grant, "DimensionKey", &grant_at)?, quantity));
            }
            Ok(Pricing::Grants { currency, months, units })
        }
        other => Err(err(format!("{at}.Type"), format!("pricing term {other} cannot be imported"))),
    }
}

/// Every rate card's prices; cards for several durations must agree, as our prices hold for all.
fn rate_cards(term: &Value, at: &str) -> DomainResult<Vec<(String, String)>> {
    let mut prices: Vec<(String, String)> = Vec::new();
    for (i, card) in list(term, "RateCards", at)?.iter().enumerate() {
        let card_at = format!("{at}.RateCards[{i}]");
        for (j, rate) in list(card, "RateCard", &card_at)?.iter().enumerate() {
            let rate_at = format!("{card_at}.RateCard[{j}]");
            let key = get_text(rate, "DimensionKey", &rate_at)?;
            let price = get_text(rate, "Price", &rate_at)?;
            match prices.iter().find(|(k, _)| *k == key) {
                Some((_, p)) if *p != price => {
                    return Err(err(format!("{rate_at}.Price"), format!("rate cards disagree on the price of {key}")))
                }
                Some(_) => {}
                None => prices.push((key, price)),
            }
        }
    }
    Ok(prices)
}

fn schedule(d: &Value, at: &str) -> DomainResult<Vec<Value>> {
    let terms = list(d, "Terms", at)?;
    let [term] = terms.as_slice() else {
        return Err(err(format!("{at}.Terms"), "UpdatePaymentScheduleTerms must carry exactly one payment schedule term"));
    };
    let at = format!("{at}.Terms[0]");
    list(term, "Schedule", &at)?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let p_at = format!("{at}.Schedule[{i}]");
            let date = get_text(p, "ChargeDate", &p_at)?;
            let day = date.split('T').next().unwrap_or_default();
            Ok(json!({"amount": get_text(p, "ChargeAmount", &p_at)?, "invoiceDate": day}))
        })
        .collect()
}

/// A terms change's one term, if it has one (an empty list removes the term), with its path.
fn only_term<'a>(d: &'a Value, at: &str) -> DomainResult<Option<(&'a Value, String)>> {
    match list(d, "Terms", at)?.as_slice() {
        [] => Ok(None),
        [term] => Ok(Some((term, format!("{at}.Terms[0]")))),
        _ => Err(err(format!("{at}.Terms"), "this change carries at most one term")),
    }
}

/// `P60D` as 60 days.
fn net_days(period: &str, at: &str) -> DomainResult<u32> {
    period
        .strip_prefix('P')
        .and_then(|p| p.strip_suffix('D'))
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| err(format!("{at}.Terms[0].PaymentDuePeriod"), "PaymentDuePeriod must be like P30D"))
}
