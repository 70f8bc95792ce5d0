//! Offers: a reseller's private offer to one buyer, priced at a markup on the wholesale price.

use crate::agreement::{Agreement, AgreementStatus, Intent};
use crate::discount::{Discount, WholesaleDimension};
use crate::error::{DomainError, DomainResult};
use crate::fees::{FeeBasis, FeeSchedule};
use crate::ids::{AccountId, IdKind};
use crate::money::{parse_bounded, Currency};
use crate::opportunity::{latest_start_allowed, Opportunity};
use crate::party::{party_of, Party};
use crate::pricing::{disburse, price, price_schedule, BuyerPricing, LineInput, Pricing, UsageRate};
use crate::product::ProductType;
use crate::terms::{check_metadata, offer_net_terms, Metadata};
use crate::time::{contract_end, end_instant, is_past, parse_date};
use crate::units::{check_named_units, DimensionUnits, UnitsInput};
use crate::validate;
use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /offers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtendOfferInput {
    pub opportunity_id: String,
    pub product_id: String,
    pub buyer_account_id: String,
    pub buyer_company_name: String,
    pub markup_percentage: String,
    #[serde(default)]
    pub units: Option<Vec<UnitsInput>>,
    pub expires_on: String,
    #[serde(default)]
    pub contract_months: Option<u32>,
    #[serde(default)]
    pub replaces_agreement_id: Option<String>,
    #[serde(default)]
    pub agreement_start_date: Option<String>,
    #[serde(default)]
    pub net_payment_term_days: Option<u32>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

/// The create body's fields: a `PATCH` naming one (but `expiresOn`) is refused as immutable.
pub const EXTEND_FIELDS: &[&str] = &[
    "opportunityId",
    "productId",
    "buyerAccountId",
    "buyerCompanyName",
    "markupPercentage",
    "units",
    "expiresOn",
    "contractMonths",
    "replacesAgreementId",
    "agreementStartDate",
    "netPaymentTermDays",
    "metadata",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfferStatus {
    Extended,
    Accepted,
    Expired,
    Cancelled,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Extended => "extended",
            OfferStatus::Accepted => "accepted",
            OfferStatus::Expired => "expired",
            OfferStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub offer_id: String,
    pub opportunity_id: String,
    pub product_id: String,
    pub product_title: String,
    pub product_type: ProductType,
    pub isv_account_id: AccountId,
    pub reseller_account_id: AccountId,
    pub buyer_account_id: AccountId,
    pub buyer_company_name: String,
    pub state: OfferStatus,
    pub currency: Currency,
    pub markup_percentage: Decimal,
    pub expires_on: NaiveDate,
    pub contract_months: u32,
    pub renewal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_agreement_id: Option<String>,
    /// A future-dated agreement's first day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_start_date: Option<NaiveDate>,
    #[serde(default = "crate::terms::default_net_payment_term_days")]
    pub net_payment_term_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The SHA-256 of the compiled EULA its buyer accepts, when the EULA is uploaded documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula_sha256: Option<String>,
    pub pricing: Pricing,
    /// Made from a single-use authorization with named buyers: the sales report then names the
    /// customer, not the reseller, as the ISV's buyer of record.
    #[serde(default)]
    pub non_recurring: bool,
    /// The events this deal has written so far, while the offer carries it (until acceptance):
    /// each event is numbered within its deal, so notify hands them on in order.
    #[serde(default)]
    pub event_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Makes an offer from `opportunity`: the caller must be its reseller, the opportunity active.
/// Returns the opportunity as the offer leaves it (counted, and consumed when single use).
/// `replaces` is the agreement `replacesAgreementId` names, when it was found.
pub fn extend(
    input: &ExtendOfferInput,
    caller: &AccountId,
    opportunity: &Opportunity,
    replaces: Option<&Agreement>,
    offer_id: String,
    now: DateTime<Utc>,
) -> DomainResult<(Opportunity, Offer)> {
    if !opportunity.is_party(caller) {
        return Err(DomainError::NotFound(format!("no opportunity {}", input.opportunity_id)));
    }
    if caller != &opportunity.reseller_account_id {
        return Err(DomainError::Forbidden("only the opportunity's reseller can extend offers from it".into()));
    }
    let product = opportunity
        .products
        .iter()
        .find(|p| p.product_id == input.product_id)
        .ok_or_else(|| DomainError::field("productId", "productId must be one of the opportunity's products"))?;
    let buyer = AccountId::parse_field(&input.buyer_account_id, "buyerAccountId")?;
    if !opportunity.buyer_account_ids.is_empty() && !opportunity.buyer_account_ids.contains(&buyer) {
        return Err(DomainError::field("buyerAccountId", "this opportunity is restricted to other buyers"));
    }
    validate::text(&input.buyer_company_name, "buyerCompanyName", 1, 100)?;
    let markup = parse_bounded(&input.markup_percentage, "markupPercentage", 6, Decimal::ZERO, Decimal::from(1000))?;
    let expires_on = check_expiry(&input.expires_on, now)?;
    let replaces_agreement_id =
        check_replaced(input.replaces_agreement_id.as_deref(), replaces, opportunity, &product.product_id, &buyer, now)?;
    let agreement_start_date = input.agreement_start_date.as_deref().map(|raw| check_start(raw, opportunity, now)).transpose()?;
    let net_payment_term_days = offer_net_terms(input.net_payment_term_days, opportunity.net_payment_term_days)?;
    let metadata = input.metadata.as_ref().map(check_metadata).transpose()?;
    let (contract_months, pricing) = price_offer(input, opportunity, &product.product_id, markup)?;
    let opportunity_after = opportunity.record_offer(now)?;
    let offer = Offer {
        offer_id,
        opportunity_id: opportunity.opportunity_id.clone(),
        product_id: product.product_id.clone(),
        product_title: product.title.clone(),
        product_type: product.product_type,
        isv_account_id: opportunity.isv_account_id.clone(),
        reseller_account_id: opportunity.reseller_account_id.clone(),
        buyer_account_id: buyer,
        buyer_company_name: input.buyer_company_name.clone(),
        state: OfferStatus::Extended,
        currency: opportunity.currency,
        markup_percentage: markup,
        expires_on,
        contract_months,
        renewal: opportunity.renewal,
        replaces_agreement_id,
        agreement_start_date,
        net_payment_term_days,
        metadata,
        eula_sha256: opportunity.compiled.eula.as_ref().map(|f| f.sha256.clone()),
        pricing,
        non_recurring: opportunity.duration.single_use() && !opportunity.buyer_account_ids.is_empty(),
        event_count: 0,
        created_at: now,
        updated_at: now,
    };
    Ok((opportunity_after, offer))
}

/// The agreement an offer replaces: an active one of the same deal, that is the same product,
/// reseller and buyer, and so the same ISV; never another ISV's agreement.
fn check_replaced(
    id: Option<&str>,
    found: Option<&Agreement>,
    opportunity: &Opportunity,
    product_id: &str,
    buyer: &AccountId,
    now: DateTime<Utc>,
) -> DomainResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    let field = "replacesAgreementId";
    if !IdKind::Agreement.is_valid(id) {
        return Err(DomainError::field(field, "replacesAgreementId is not an agreement id"));
    }
    let fits = found.is_some_and(|a| {
        a.agreement_id == id
            && a.product_id == product_id
            && a.isv_account_id == opportunity.isv_account_id
            && a.reseller_account_id == opportunity.reseller_account_id
            && &a.buyer_account_id == buyer
            && a.status(now) == AgreementStatus::Active
    });
    if !fits {
        return Err(DomainError::field(field, "replacesAgreementId must be an active agreement of the same product, reseller and buyer"));
    }
    Ok(Some(id.to_string()))
}

/// The offer's contract months and pricing: per contract dimension, or the opportunity's payment
/// schedule, which also fixes the units and the months; and the rates of its usage dimensions.
fn price_offer(input: &ExtendOfferInput, opportunity: &Opportunity, product_id: &str, markup: Decimal) -> DomainResult<(u32, Pricing)> {
    let wholesale = opportunity.wholesale.product(product_id).map(|p| p.dimensions.as_slice()).unwrap_or_default();
    let (usage, contract): (Vec<&WholesaleDimension>, Vec<&WholesaleDimension>) = wholesale.iter().partition(|d| d.kind.is_usage());
    let (months, mut pricing) = price_contract(input, opportunity, &contract, &usage, markup)?;
    pricing.usage_rates = usage_rates(&usage, markup)?;
    Ok((months, pricing))
}

fn price_contract(
    input: &ExtendOfferInput,
    opportunity: &Opportunity,
    contract: &[&WholesaleDimension],
    usage: &[&WholesaleDimension],
    markup: Decimal,
) -> DomainResult<(u32, Pricing)> {
    let currency = opportunity.currency;
    if let Discount::FlexiblePaymentSchedule { contract_months, units, payments } = &opportunity.discount {
        if input.contract_months.is_some_and(|m| m != *contract_months) {
            return Err(DomainError::field("contractMonths", format!("the payment schedule fixes contractMonths at {contract_months}")));
        }
        if input.units.as_deref().is_some_and(|given| !same_units(given, units)) {
            return Err(DomainError::field("units", "the payment schedule fixes the units"));
        }
        return Ok((*contract_months, price_schedule(units, payments, markup, currency)));
    }
    let contract_months = input.contract_months.unwrap_or(12);
    if !(1..=60).contains(&contract_months) {
        return Err(DomainError::field("contractMonths", "contractMonths must be 1 to 60"));
    }
    if let Some((i, u)) = input.units.iter().flatten().enumerate().find(|(_, u)| usage.iter().any(|d| d.dimension_key == u.dimension_key)) {
        return Err(DomainError::field(
            format!("units[{i}].dimensionKey"),
            format!("{} is a usage dimension: it is metered and billed monthly, not bought in units", u.dimension_key),
        ));
    }
    let units = check_units(input.units.as_deref(), contract.iter().map(|d| d.dimension_key.as_str()).collect())?;
    let mut lines = Vec::with_capacity(contract.len());
    for (d, units) in contract.iter().zip(units) {
        let wholesale_price =
            d.wholesale_price.ok_or_else(|| DomainError::invalid(format!("dimension {} has no wholesale price", d.dimension_key)))?;
        lines.push(LineInput { dimension_key: &d.dimension_key, units, list_price: d.list_price, wholesale_price });
    }
    Ok((contract_months, price(&lines, markup, currency)))
}

/// The buyer's rate of each usage dimension, in the authorization's order.
fn usage_rates(usage: &[&WholesaleDimension], markup: Decimal) -> DomainResult<Vec<UsageRate>> {
    usage
        .iter()
        .map(|d| {
            let wholesale =
                d.wholesale_price.ok_or_else(|| DomainError::invalid(format!("dimension {} has no wholesale rate", d.dimension_key)))?;
            Ok(UsageRate::marked_up(&d.dimension_key, d.list_price, wholesale, markup))
        })
        .collect()
}

/// A future-dated agreement's start: tomorrow up to three years out, and no later than the
/// opportunity's latest start when it sets one.
fn check_start(raw: &str, opportunity: &Opportunity, now: DateTime<Utc>) -> DomainResult<NaiveDate> {
    let field = "agreementStartDate";
    let date = parse_date(raw).ok_or_else(|| DomainError::field(field, "agreementStartDate must be a date YYYY-MM-DD"))?;
    if date <= now.date_naive() || date > latest_start_allowed(now) {
        return Err(DomainError::field(field, "agreementStartDate must be between tomorrow and 3 years from today"));
    }
    if let Some(latest) = opportunity.latest_agreement_start_date.filter(|latest| date > *latest) {
        return Err(DomainError::field(
            field,
            format!("agreementStartDate may be at most the opportunity's latestAgreementStartDate {latest}"),
        ));
    }
    Ok(date)
}

fn same_units(given: &[UnitsInput], fixed: &[DimensionUnits]) -> bool {
    given.len() == fixed.len() && fixed.iter().all(|f| given.iter().any(|g| g.dimension_key == f.dimension_key && g.units == f.units))
}

fn check_expiry(raw: &str, now: DateTime<Utc>) -> DomainResult<NaiveDate> {
    let field = "expiresOn";
    let date = parse_date(raw).ok_or_else(|| DomainError::field(field, "expiresOn must be a date YYYY-MM-DD"))?;
    let today = now.date_naive();
    let last = today.checked_add_days(Days::new(365)).unwrap_or(NaiveDate::MAX);
    if date < today || date > last {
        return Err(DomainError::field(field, "expiresOn must be between today and 365 days from today"));
    }
    Ok(date)
}

/// Units per dimension in the product's order: given ones ≥ 1 and unnamed ones 0, or 1 of each.
fn check_units(input: Option<&[UnitsInput]>, keys: Vec<&str>) -> DomainResult<Vec<u64>> {
    let Some(input) = input else { return Ok(vec![1; keys.len()]) };
    check_named_units(input, &keys, "units")?;
    Ok(keys.iter().map(|k| input.iter().find(|u| u.dimension_key == *k).map_or(0, |u| u.units)).collect())
}

impl Offer {
    pub fn status(&self, now: DateTime<Utc>) -> OfferStatus {
        match self.state {
            OfferStatus::Extended if is_past(self.expires_on, now) => OfferStatus::Expired,
            state => state,
        }
    }

    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        (self.state == OfferStatus::Extended).then(|| end_instant(self.expires_on))
    }

    pub fn party(&self, caller: &AccountId) -> Option<Party> {
        party_of(caller, &self.isv_account_id, &self.reseller_account_id, &self.buyer_account_id)
    }

    fn not_found(&self) -> DomainError {
        DomainError::NotFound(format!("no offer {}", self.offer_id))
    }

    fn conflict(&self, now: DateTime<Utc>, action: &str) -> DomainError {
        DomainError::Conflict(format!("offer {} is {}; only an extended offer can be {action}", self.offer_id, self.status(now).as_str()))
    }

    /// The reseller withdraws an offer the buyer has not accepted.
    pub fn cancel(&self, caller: &AccountId, now: DateTime<Utc>) -> DomainResult<Offer> {
        if self.party(caller).is_none() {
            return Err(self.not_found());
        }
        if caller != &self.reseller_account_id {
            return Err(DomainError::Forbidden("only the reseller can cancel an offer".into()));
        }
        if self.status(now) != OfferStatus::Extended {
            return Err(self.conflict(now, "cancelled"));
        }
        Ok(Offer { state: OfferStatus::Cancelled, updated_at: now, ..self.clone() })
    }

    /// `PATCH`: the reseller moves the buyer's last day, earlier or later, while it is extended.
    pub fn patch(&self, caller: &AccountId, body: &Map<String, Value>, now: DateTime<Utc>) -> DomainResult<Offer> {
        if self.party(caller).is_none() {
            return Err(self.not_found());
        }
        if caller != &self.reseller_account_id {
            return Err(DomainError::Forbidden("only the reseller can change an offer".into()));
        }
        if let Some(key) = body.keys().find(|k| *k != "expiresOn") {
            if EXTEND_FIELDS.contains(&key.as_str()) {
                return Err(DomainError::ImmutableField { field: key.clone() });
            }
            return Err(DomainError::field(key, format!("{key} is not a field of an offer")));
        }
        let raw = match body.get("expiresOn") {
            Some(Value::String(raw)) => raw,
            Some(_) => return Err(DomainError::field("expiresOn", "expiresOn must be a date YYYY-MM-DD")),
            None => return Err(DomainError::field("expiresOn", "expiresOn is required")),
        };
        let expires_on = check_expiry(raw, now)?;
        if self.status(now) != OfferStatus::Extended {
            return Err(self.conflict(now, "changed"));
        }
        Ok(Offer { expires_on, updated_at: now, ..self.clone() })
    }

    pub fn expire(&self, now: DateTime<Utc>) -> Option<Offer> {
        (self.state == OfferStatus::Extended && self.status(now) == OfferStatus::Expired).then(|| Offer {
            state: OfferStatus::Expired,
            updated_at: now,
            ..self.clone()
        })
    }

    /// The buyer accepts: the offer becomes an agreement with its disbursement.
    pub fn accept(
        &self,
        caller: &AccountId,
        agreement_id: String,
        fees: &FeeSchedule,
        now: DateTime<Utc>,
    ) -> DomainResult<(Offer, Agreement)> {
        if self.party(caller).is_none() {
            return Err(self.not_found());
        }
        if caller != &self.buyer_account_id {
            return Err(DomainError::Forbidden("only the buyer can accept an offer".into()));
        }
        if self.status(now) != OfferStatus::Extended {
            return Err(self.conflict(now, "accepted"));
        }
        let basis = FeeBasis {
            product_type: self.product_type,
            renewal: self.renewal,
            buyer_total: self.pricing.buyer_total,
            channel_partner: true,
        };
        // Future-dated: it starts on its date, unless accepted on or after that day.
        let start_date = self.agreement_start_date.map_or(now.date_naive(), |d| d.max(now.date_naive()));
        let agreement = Agreement {
            agreement_id,
            offer_id: self.offer_id.clone(),
            opportunity_id: self.opportunity_id.clone(),
            product_id: self.product_id.clone(),
            isv_account_id: self.isv_account_id.clone(),
            reseller_account_id: self.reseller_account_id.clone(),
            buyer_account_id: self.buyer_account_id.clone(),
            intent: match (self.renewal, &self.replaces_agreement_id) {
                (true, _) => Intent::Renew,
                (false, Some(_)) => Intent::Amend,
                (false, None) => Intent::New,
            },
            state: AgreementStatus::Active,
            accepted_at: now,
            start_date,
            end_date: contract_end(start_date, self.contract_months),
            previous_agreement_id: self.replaces_agreement_id.clone(),
            metadata: self.metadata.clone(),
            eula_sha256: self.eula_sha256.clone(),
            net_payment_term_days: self.net_payment_term_days,
            replaced_on: None,
            ended_on: None,
            reminded_days: None,
            cancellation: None,
            billing: Default::default(),
            pricing: self.pricing.clone(),
            non_recurring: self.non_recurring,
            event_count: self.event_count,
            disbursement: disburse(&self.pricing, self.currency, basis, fees),
        };
        Ok((Offer { state: OfferStatus::Accepted, updated_at: now, ..self.clone() }, agreement))
    }

    /// The API's shape for `caller`: the full offer, or the buyer's view with no wholesale figure.
    pub fn view(&self, caller: &AccountId, now: DateTime<Utc>) -> Value {
        let status = self.status(now).as_str();
        if self.party(caller) == Some(Party::Buyer) {
            return serde_json::to_value(BuyerOfferView::of(self, status)).unwrap_or(Value::Null);
        }
        crate::view::with_status(self, status, &["productTitle", "productType", "nonRecurring", "eventCount"])
    }
}

/// What a buyer may see of a price: an allowlist, so a new wholesale field never leaks by default.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuyerOfferView<'a> {
    offer_id: &'a str,
    opportunity_id: &'a str,
    product_id: &'a str,
    isv_account_id: &'a AccountId,
    reseller_account_id: &'a AccountId,
    buyer_account_id: &'a AccountId,
    buyer_company_name: &'a str,
    status: &'a str,
    currency: Currency,
    expires_on: NaiveDate,
    contract_months: u32,
    renewal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces_agreement_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agreement_start_date: Option<NaiveDate>,
    net_payment_term_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    eula_sha256: Option<&'a str>,
    pricing: BuyerPricing<'a>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> BuyerOfferView<'a> {
    fn of(o: &'a Offer, status: &'a str) -> Self {
        BuyerOfferView {
            offer_id: &o.offer_id,
            opportunity_id: &o.opportunity_id,
            product_id: &o.product_id,
            isv_account_id: &o.isv_account_id,
            reseller_account_id: &o.reseller_account_id,
            buyer_account_id: &o.buyer_account_id,
            buyer_company_name: &o.buyer_company_name,
            status,
            currency: o.currency,
            expires_on: o.expires_on,
            contract_months: o.contract_months,
            renewal: o.renewal,
            replaces_agreement_id: o.replaces_agreement_id.as_deref(),
            agreement_start_date: o.agreement_start_date,
            net_payment_term_days: o.net_payment_term_days,
            eula_sha256: o.eula_sha256.as_deref(),
            pricing: BuyerPricing::of(&o.pricing),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[cfg(test)]
#[path = "offer_tests.rs"]
pub(crate) mod tests;
