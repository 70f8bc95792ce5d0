//! Products an ISV lists, with the dimensions a buyer pays for.

use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::money::{parse_bounded, Currency, UNIT_PRICE_PLACES, USAGE_RATE_PLACES};
use crate::validate;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProductType {
    SaasContract,
    SaasSubscription,
    Ami,
    Container,
    ProfessionalServices,
    DataProduct,
}

/// How a dimension is bought: in units for the contract's term, or metered and billed monthly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DimensionKind {
    #[default]
    Contract,
    Usage,
}

impl DimensionKind {
    pub fn is_usage(self) -> bool {
        self == DimensionKind::Usage
    }

    /// The places its price may have: a unit price 6, a usage rate 8.
    pub fn price_places(self) -> u32 {
        match self {
            DimensionKind::Contract => UNIT_PRICE_PLACES,
            DimensionKind::Usage => USAGE_RATE_PLACES,
        }
    }

    pub fn parse_field(raw: Option<&str>, field: &str) -> DomainResult<DimensionKind> {
        match raw {
            None | Some("contract") => Ok(DimensionKind::Contract),
            Some("usage") => Ok(DimensionKind::Usage),
            Some(other) => Err(DomainError::field(field, format!("kind {other} must be contract or usage"))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DimensionInput {
    pub key: String,
    pub name: String,
    pub unit_price: String,
    #[serde(default)]
    pub kind: Option<String>,
}

/// `POST /products`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductInput {
    pub title: String,
    pub product_type: ProductType,
    pub paid: bool,
    #[serde(default)]
    pub currency: Option<String>,
    pub dimensions: Vec<DimensionInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dimension {
    pub key: String,
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
    #[serde(default)]
    pub kind: DimensionKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub product_id: String,
    pub seller_account_id: AccountId,
    pub title: String,
    pub product_type: ProductType,
    pub paid: bool,
    pub currency: Currency,
    pub dimensions: Vec<Dimension>,
    pub created_at: DateTime<Utc>,
}

/// The highest list price we accept: far above any real one, far below decimal overflow.
const MAX_UNIT_PRICE: &str = "1000000000";

impl Product {
    pub fn create(product_id: String, seller: AccountId, input: ProductInput, now: DateTime<Utc>) -> DomainResult<Product> {
        validate::text(&input.title, "title", 1, 200)?;
        let currency = match &input.currency {
            Some(raw) => Currency::parse_field(raw, "currency")?,
            None => Currency::USD,
        };
        validate::count(&input.dimensions, "dimensions", 1, 24)?;
        validate::distinct(&input.dimensions, "dimensions", |d| d.key.clone())?;
        let dimensions = input
            .dimensions
            .iter()
            .enumerate()
            .map(|(i, d)| dimension(d, &format!("dimensions[{i}]"), currency))
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(Product {
            product_id,
            seller_account_id: seller,
            title: input.title,
            product_type: input.product_type,
            paid: input.paid,
            currency,
            dimensions,
            created_at: now,
        })
    }

    pub fn dimension(&self, key: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.key == key)
    }
}

/// A dimension key: 1 to 60 of `[A-Za-z0-9_.-]`, as the Catalog API's rate cards take.
pub fn is_dimension_key(key: &str) -> bool {
    (1..=60).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The highest list price accepted, as a decimal.
pub fn max_unit_price() -> Decimal {
    MAX_UNIT_PRICE.parse().unwrap_or(Decimal::MAX)
}

fn dimension(input: &DimensionInput, field: &str, currency: Currency) -> DomainResult<Dimension> {
    if !is_dimension_key(&input.key) {
        return Err(DomainError::field(format!("{field}.key"), "a dimension key is 1 to 60 of A-Z a-z 0-9 _ . -"));
    }
    validate::text(&input.name, &format!("{field}.name"), 1, 100)?;
    let kind = DimensionKind::parse_field(input.kind.as_deref(), &format!("{field}.kind"))?;
    let price_field = format!("{field}.unitPrice");
    let unit_price = parse_bounded(&input.unit_price, &price_field, kind.price_places(), Decimal::ZERO, max_unit_price())?;
    if unit_price.is_zero() {
        return Err(DomainError::field(price_field, "unitPrice must be greater than 0"));
    }
    // A usage rate is per unit of usage: fractions of a yen add up over the month's usage.
    if currency == Currency::JPY && kind == DimensionKind::Contract && !unit_price.fract().is_zero() {
        return Err(DomainError::field(price_field, "JPY prices are whole yen"));
    }
    Ok(Dimension { key: input.key.clone(), name: input.name.clone(), unit_price, kind })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn input(prices: &[(&str, &str)]) -> ProductInput {
        ProductInput {
            title: "Analytics Suite".into(),
            product_type: ProductType::SaasContract,
            paid: true,
            currency: None,
            dimensions: prices
                .iter()
                .map(|(key, price)| DimensionInput {
                    key: key.to_string(),
                    name: format!("{key} seats"),
                    unit_price: price.to_string(),
                    kind: None,
                })
                .collect(),
        }
    }

    fn create(input: ProductInput) -> DomainResult<Product> {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        Product::create("prod-1".into(), AccountId::parse("111122223333").unwrap(), input, now)
    }

    #[test]
    fn a_product_defaults_to_usd() {
        let p = create(input(&[("users", "100.00")])).unwrap();
        assert_eq!(p.currency, Currency::USD);
        assert_eq!(p.dimensions[0].unit_price.to_string(), "100.00");
    }

    #[test]
    fn dimension_rules() {
        assert!(create(input(&[])).is_err());
        assert!(create(input(&[("users", "0")])).is_err());
        assert!(create(input(&[("users", "1"), ("users", "2")])).is_err());
        assert!(create(input(&[("bad key", "1")])).is_err());
        assert!(create(input(&[("users", "1.1234567")])).is_err());
        let many: Vec<(String, &str)> = (0..25).map(|i| (format!("d{i}"), "1")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, p)| (k.as_str(), *p)).collect();
        assert!(create(input(&many)).is_err());
        assert!(create(input(&many[..24])).is_ok());
    }

    #[test]
    fn a_usage_dimension_takes_a_rate_of_up_to_eight_places() {
        let mut i = input(&[("users", "100.00"), ("gb", "0.0456789")]);
        i.dimensions[1].kind = Some("usage".into());
        let p = create(i.clone()).unwrap();
        assert_eq!((p.dimensions[0].kind, p.dimensions[1].kind), (DimensionKind::Contract, DimensionKind::Usage));
        i.dimensions[1].unit_price = "0.000000001".into();
        assert!(create(i.clone()).is_err(), "9 places");
        i.dimensions[1].kind = Some("metered".into());
        assert!(matches!(create(i), Err(DomainError::Validation { field: Some(f), .. }) if f == "dimensions[1].kind"));
        let mut contract = input(&[("gb", "0.0456789")]);
        contract.dimensions[0].kind = Some("contract".into());
        assert!(create(contract).is_err(), "a unit price keeps 6 places");
    }

    #[test]
    fn yen_prices_are_whole() {
        let mut i = input(&[("users", "100.5")]);
        i.currency = Some("JPY".into());
        assert!(create(i).is_err());
    }
}
