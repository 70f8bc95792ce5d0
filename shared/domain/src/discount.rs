//! The ISV's discount: one percentage, a price per product, or a flexible payment schedule, and
//! the wholesale price list each one grants.

use crate::duration::Duration;
use crate::error::{DomainError, DomainResult};
use crate::money::{parse_bounded, Currency};
use crate::payment::Payment;
use crate::pricing::{wholesale_rate, wholesale_unit};
use crate::product::{is_dimension_key, max_unit_price, Dimension, DimensionKind, Product, ProductType};
use crate::time::parse_date;
use crate::units::{check_named_units, DimensionUnits, UnitsInput};
use crate::validate;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The discount as sent. Flat rather than a tagged enum, so a bad field inside it is reported by
/// its own path (`discount.payments[2].invoiceDate`); which fields a type allows is checked here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscountInput {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub percentage: Option<String>,
    #[serde(default)]
    pub products: Option<Vec<ProductDiscountInput>>,
    #[serde(default)]
    pub contract_months: Option<u32>,
    #[serde(default)]
    pub units: Option<Vec<UnitsInput>>,
    #[serde(default)]
    pub payments: Option<Vec<PaymentInput>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductDiscountInput {
    pub product_id: String,
    #[serde(default)]
    pub percentage: Option<String>,
    #[serde(default)]
    pub dimension_prices: Option<Vec<DimensionPriceInput>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DimensionPriceInput {
    pub dimension_key: String,
    pub price: String,
    /// Only for a custom dimension, one the product does not have.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentInput {
    pub amount: String,
    pub invoice_date: String,
}

/// The checked discount, stored and shown in the same shape the create body uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Discount {
    Percentage {
        percentage: Decimal,
    },
    Individual {
        products: Vec<ProductPricing>,
    },
    #[serde(rename_all = "camelCase")]
    FlexiblePaymentSchedule {
        contract_months: u32,
        units: Vec<DimensionUnits>,
        payments: Vec<Payment>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPricing {
    pub product_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension_prices: Option<Vec<DimensionPrice>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionPrice {
    pub dimension_key: String,
    pub price: Decimal,
    /// A custom dimension's name: the authorization adds it to the product's (a SaaS contract's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A custom dimension's kind; a product's own dimension keeps the product's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DimensionKind>,
}

impl DimensionPrice {
    pub fn is_custom(&self) -> bool {
        self.name.is_some()
    }
}

/// The largest single payment accepted: far above real deals, far from overflow.
const MAX_PAYMENT: i64 = 1_000_000_000_000;

fn pct(raw: &str, field: &str) -> DomainResult<Decimal> {
    parse_bounded(raw, field, 2, Decimal::new(1, 2), Decimal::new(9999, 2))
}

/// Refuses a field that belongs to another discount type.
fn absent<T>(value: &Option<T>, field: &str, kind: &str) -> DomainResult<()> {
    match value {
        Some(_) => Err(DomainError::field(format!("discount.{field}"), format!("a {kind} discount has no {field}"))),
        None => Ok(()),
    }
}

fn required<'a, T>(value: &'a Option<T>, field: &str) -> DomainResult<&'a T> {
    value.as_ref().ok_or_else(|| DomainError::field(format!("discount.{field}"), format!("discount.{field} is required")))
}

pub fn check(input: &DiscountInput, products: &[Product], duration: &Duration) -> DomainResult<Discount> {
    match input.kind.as_str() {
        "percentage" => {
            absent(&input.products, "products", "percentage")?;
            absent(&input.contract_months, "contractMonths", "percentage")?;
            absent(&input.units, "units", "percentage")?;
            absent(&input.payments, "payments", "percentage")?;
            let percentage = pct(required(&input.percentage, "percentage")?, "discount.percentage")?;
            if products.iter().any(|p| p.product_type == ProductType::ProfessionalServices) {
                return Err(DomainError::field("discount.type", "a percentage discount cannot cover a professional-services product"));
            }
            Ok(Discount::Percentage { percentage })
        }
        "individual" => {
            absent(&input.percentage, "percentage", "individual")?;
            absent(&input.contract_months, "contractMonths", "individual")?;
            absent(&input.units, "units", "individual")?;
            absent(&input.payments, "payments", "individual")?;
            check_individual(required(&input.products, "products")?, products)
        }
        "flexiblePaymentSchedule" => {
            absent(&input.percentage, "percentage", "flexiblePaymentSchedule")?;
            absent(&input.products, "products", "flexiblePaymentSchedule")?;
            check_schedule(input, products, duration)
        }
        other => Err(DomainError::field(
            "discount.type",
            format!("discount type {other} must be percentage, individual or flexiblePaymentSchedule"),
        )),
    }
}

fn check_individual(entries: &[ProductDiscountInput], products: &[Product]) -> DomainResult<Discount> {
    validate::count(entries, "discount.products", 1, products.len())?;
    validate::distinct(entries, "discount.products", |e| e.product_id.clone())?;
    let mut priced = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("discount.products[{i}]");
        let product = products.iter().find(|p| p.product_id == entry.product_id).ok_or_else(|| {
            DomainError::field(format!("{at}.productId"), format!("{} is not one of the selected products", entry.product_id))
        })?;
        priced.push(match (&entry.percentage, &entry.dimension_prices) {
            // Any product type, professional services included: only the one-rate type refuses them.
            (Some(raw), None) => ProductPricing {
                product_id: product.product_id.clone(),
                percentage: Some(pct(raw, &format!("{at}.percentage"))?),
                dimension_prices: None,
            },
            (None, Some(prices)) => ProductPricing {
                product_id: product.product_id.clone(),
                percentage: None,
                dimension_prices: Some(check_dimension_prices(prices, product, &format!("{at}.dimensionPrices"))?),
            },
            _ => return Err(DomainError::field(at, "give each product either a percentage or dimensionPrices")),
        });
    }
    if let Some(missing) = products.iter().find(|p| !entries.iter().any(|e| e.product_id == p.product_id)) {
        return Err(DomainError::field(
            "discount.products",
            format!("every selected product needs its pricing; {} has none", missing.product_id),
        ));
    }
    Ok(Discount::Individual { products: priced })
}

/// The dimensions an individual price list authorizes: some of the product's (each ≤ its list
/// price; those it leaves out are not part of the authorization) and, for a SaaS contract, custom
/// ones of its own. At least one stays.
fn check_dimension_prices(prices: &[DimensionPriceInput], product: &Product, at: &str) -> DomainResult<Vec<DimensionPrice>> {
    validate::count(prices, at, 1, 48)?;
    validate::distinct(prices, at, |p| p.dimension_key.clone())?;
    prices
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = format!("{at}[{i}]");
            match product.dimension(&entry.dimension_key) {
                Some(dimension) => listed_price(entry, dimension, product, &at),
                None => custom_price(entry, product, &at),
            }
        })
        .collect()
}

fn listed_price(entry: &DimensionPriceInput, dimension: &Dimension, product: &Product, at: &str) -> DomainResult<DimensionPrice> {
    if entry.name.is_some() || entry.kind.is_some() {
        let field = if entry.name.is_some() { "name" } else { "kind" };
        return Err(DomainError::field(
            format!("{at}.{field}"),
            format!("{} is a dimension of the product; name and kind are only for a custom dimension", entry.dimension_key),
        ));
    }
    let price = dimension_price(&entry.price, &format!("{at}.price"), dimension.unit_price, dimension.kind, product)?;
    Ok(DimensionPrice { dimension_key: entry.dimension_key.clone(), price, name: None, kind: None })
}

fn custom_price(entry: &DimensionPriceInput, product: &Product, at: &str) -> DomainResult<DimensionPrice> {
    let key_field = format!("{at}.dimensionKey");
    let Some(name) = &entry.name else {
        return Err(DomainError::field(
            key_field,
            format!("{} is not a dimension of {}; give a custom dimension a name", entry.dimension_key, product.product_id),
        ));
    };
    if product.product_type != ProductType::SaasContract {
        return Err(DomainError::field(format!("{at}.name"), "custom dimensions are only for saas-contract products"));
    }
    if !is_dimension_key(&entry.dimension_key) {
        return Err(DomainError::field(key_field, "a dimension key is 1 to 60 of A-Z a-z 0-9 _ . -"));
    }
    validate::text(name, &format!("{at}.name"), 1, 100)?;
    let kind = DimensionKind::parse_field(entry.kind.as_deref(), &format!("{at}.kind"))?;
    let field = format!("{at}.price");
    let price = dimension_price(&entry.price, &field, max_unit_price(), kind, product)?;
    if price.is_zero() {
        return Err(DomainError::field(field, "a custom dimension's price must be more than 0"));
    }
    let kind = kind.is_usage().then_some(kind);
    Ok(DimensionPrice { dimension_key: entry.dimension_key.clone(), price, name: Some(name.clone()), kind })
}

/// A price 0..=`most`: a unit price with at most the currency's minor-unit places, a usage rate
/// with at most 8.
fn dimension_price(raw: &str, field: &str, most: Decimal, kind: DimensionKind, product: &Product) -> DomainResult<Decimal> {
    let price = parse_bounded(raw, field, kind.price_places(), Decimal::ZERO, most)?;
    if kind == DimensionKind::Contract && price.normalize().scale() > product.currency.minor_places() {
        return Err(DomainError::field(
            field,
            format!("a {} price has at most {} decimal places", product.currency.code(), product.currency.minor_places()),
        ));
    }
    Ok(price)
}

fn check_schedule(input: &DiscountInput, products: &[Product], duration: &Duration) -> DomainResult<Discount> {
    let [product] = products else {
        return Err(DomainError::field("productIds", "a flexible payment schedule covers exactly one product"));
    };
    let Duration::SingleUse { end_date: Some(end) } = duration else {
        return Err(DomainError::field("duration.type", "a flexible payment schedule needs a singleUse duration with an endDate"));
    };
    let contract_months = *required(&input.contract_months, "contractMonths")?;
    if !(1..=60).contains(&contract_months) {
        return Err(DomainError::field("discount.contractMonths", "contractMonths must be 1 to 60"));
    }
    let units = check_schedule_units(required(&input.units, "units")?, product)?;
    let payments = check_payments(required(&input.payments, "payments")?, product.currency, *end)?;
    Ok(Discount::FlexiblePaymentSchedule { contract_months, units, payments })
}

fn check_schedule_units(units: &[UnitsInput], product: &Product) -> DomainResult<Vec<DimensionUnits>> {
    // A usage dimension is metered, never granted in units.
    let keys: Vec<&str> = product.dimensions.iter().filter(|d| !d.kind.is_usage()).map(|d| d.key.as_str()).collect();
    check_named_units(units, &keys, "discount.units")?;
    Ok(units.iter().map(|u| DimensionUnits { dimension_key: u.dimension_key.clone(), units: u.units }).collect())
}

fn check_payments(payments: &[PaymentInput], currency: Currency, after: NaiveDate) -> DomainResult<Vec<Payment>> {
    validate::count(payments, "discount.payments", 1, 60)?;
    let mut checked: Vec<Payment> = Vec::with_capacity(payments.len());
    for (i, p) in payments.iter().enumerate() {
        let field = format!("discount.payments[{i}].amount");
        let amount = parse_bounded(&p.amount, &field, currency.minor_places(), Decimal::ZERO, Decimal::from(MAX_PAYMENT))?;
        if amount.is_zero() {
            return Err(DomainError::field(field, "a payment amount must be more than 0"));
        }
        let field = format!("discount.payments[{i}].invoiceDate");
        let invoice_date =
            parse_date(&p.invoice_date).ok_or_else(|| DomainError::field(&field, "invoiceDate must be a date YYYY-MM-DD"))?;
        if invoice_date <= after {
            return Err(DomainError::field(field, "every invoiceDate must be after the authorization's endDate"));
        }
        if checked.last().is_some_and(|prev| invoice_date <= prev.invoice_date) {
            return Err(DomainError::field(field, "invoice dates must be strictly increasing"));
        }
        checked.push(Payment { amount: currency.round(amount), invoice_date });
    }
    Ok(checked)
}

/// One dimension of the wholesale price list. A payment schedule prices the whole contract, so
/// its contract dimensions carry no unit wholesale price. A usage dimension's prices are rates,
/// per unit of usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WholesaleDimension {
    pub dimension_key: String,
    pub name: String,
    #[serde(default)]
    pub kind: DimensionKind,
    pub list_price: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wholesale_price: Option<Decimal>,
    /// Added by the authorization, not the product's own (its list price is its price).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WholesaleProduct {
    pub product_id: String,
    pub dimensions: Vec<WholesaleDimension>,
}

/// The wholesale price list the authorization grants, fixed at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wholesale {
    pub products: Vec<WholesaleProduct>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<DimensionUnits>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<Payment>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_due_to_isv: Option<Decimal>,
}

impl Wholesale {
    pub fn product(&self, product_id: &str) -> Option<&WholesaleProduct> {
        self.products.iter().find(|p| p.product_id == product_id)
    }
}

impl Discount {
    /// The wholesale price of one dimension: a unit price to 6 places, a usage rate to 8; `None`
    /// for a contract dimension under a payment schedule, which prices the whole contract. Its
    /// usage dimensions, billed beside the schedule, stay at their list rate.
    fn unit_price(&self, product: &Product, dimension: &Dimension) -> Option<Decimal> {
        let (list, usage) = (dimension.unit_price, dimension.kind.is_usage());
        let off = |pct: Decimal| if usage { wholesale_rate(list, pct) } else { wholesale_unit(list, pct) };
        match self {
            Discount::Percentage { percentage } => Some(off(*percentage)),
            Discount::Individual { .. } => {
                let pricing = self.pricing_of(product)?;
                match (&pricing.percentage, &pricing.dimension_prices) {
                    (Some(pct), _) => Some(off(*pct)),
                    (None, Some(prices)) => prices.iter().find(|p| p.dimension_key == dimension.key).map(|p| p.price),
                    (None, None) => None,
                }
            }
            Discount::FlexiblePaymentSchedule { .. } => usage.then_some(list),
        }
    }

    /// An individual discount's pricing of `product`.
    fn pricing_of(&self, product: &Product) -> Option<&ProductPricing> {
        match self {
            Discount::Individual { products } => products.iter().find(|p| p.product_id == product.product_id),
            _ => None,
        }
    }

    /// The dimensions the authorization grants of `product`: all of them, or those a price list
    /// names, then its custom ones.
    fn authorized(&self, product: &Product) -> Vec<WholesaleDimension> {
        let prices = self.pricing_of(product).and_then(|p| p.dimension_prices.as_deref());
        let listed = product.dimensions.iter().filter(|d| prices.is_none_or(|prices| prices.iter().any(|p| p.dimension_key == d.key)));
        let mut dimensions: Vec<WholesaleDimension> = listed
            .map(|d| WholesaleDimension {
                dimension_key: d.key.clone(),
                name: d.name.clone(),
                kind: d.kind,
                list_price: d.unit_price,
                wholesale_price: self.unit_price(product, d),
                custom: false,
            })
            .collect();
        for custom in prices.into_iter().flatten().filter(|p| p.is_custom()) {
            dimensions.push(WholesaleDimension {
                dimension_key: custom.dimension_key.clone(),
                name: custom.name.clone().unwrap_or_default(),
                kind: custom.kind.unwrap_or_default(),
                list_price: custom.price,
                wholesale_price: Some(custom.price),
                custom: true,
            });
        }
        dimensions
    }

    pub fn wholesale(&self, products: &[Product], currency: Currency) -> Wholesale {
        let products =
            products.iter().map(|p| WholesaleProduct { product_id: p.product_id.clone(), dimensions: self.authorized(p) }).collect();
        match self {
            Discount::FlexiblePaymentSchedule { contract_months, units, payments } => Wholesale {
                products,
                contract_months: Some(*contract_months),
                units: Some(units.clone()),
                payments: Some(payments.clone()),
                total_due_to_isv: Some(payments.iter().fold(currency.round(Decimal::ZERO), |sum, p| sum + p.amount)),
            },
            _ => Wholesale { products, contract_months: None, units: None, payments: None, total_due_to_isv: None },
        }
    }

    /// One line of the discount for people, e.g. in an email.
    pub fn summary(&self) -> String {
        match self {
            Discount::Percentage { percentage } => format!("{percentage}% off list price on every product"),
            Discount::Individual { products } => format!("individual pricing for {} product(s)", products.len()),
            Discount::FlexiblePaymentSchedule { contract_months, payments, .. } => {
                format!("a flexible payment schedule of {} payment(s) over {contract_months} months", payments.len())
            }
        }
    }
}

#[cfg(test)]
#[path = "discount_tests.rs"]
mod tests;
