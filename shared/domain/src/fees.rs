//! AWS Marketplace's listing fee for private offers, held as configuration with the contract's defaults.

use crate::product::ProductType;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Rates are decimal fractions (`"0.03"`). Deployments may override any part through the
/// environment (see the platform's config); what is not given keeps the contract's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FeeSchedule {
    #[serde(with = "rust_decimal::serde::str")]
    pub professional_services: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub renewal: Decimal,
    /// Tiers by buyer total; the highest threshold reached applies.
    pub tiers: Vec<FeeTier>,
    #[serde(with = "rust_decimal::serde::str")]
    pub base: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub channel_partner_surcharge: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeeTier {
    #[serde(with = "rust_decimal::serde::str")]
    pub from: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            professional_services: Decimal::new(25, 3),
            renewal: Decimal::new(15, 3),
            tiers: vec![
                FeeTier { from: Decimal::from(1_000_000), rate: Decimal::new(2, 2) },
                FeeTier { from: Decimal::from(10_000_000), rate: Decimal::new(15, 3) },
            ],
            base: Decimal::new(3, 2),
            channel_partner_surcharge: Decimal::new(5, 3),
        }
    }
}

/// What the fee depends on.
#[derive(Debug, Clone, Copy)]
pub struct FeeBasis {
    pub product_type: ProductType,
    pub renewal: bool,
    pub buyer_total: Decimal,
    pub channel_partner: bool,
}

impl FeeSchedule {
    /// The first rule that applies, then the channel partner surcharge.
    pub fn rate(&self, basis: FeeBasis) -> Decimal {
        let rate = if basis.product_type == ProductType::ProfessionalServices {
            self.professional_services
        } else if basis.renewal {
            self.renewal
        } else {
            let reached = self.tiers.iter().filter(|t| basis.buyer_total >= t.from).max_by_key(|t| t.from);
            reached.map_or(self.base, |t| t.rate)
        };
        let surcharge = if basis.channel_partner { self.channel_partner_surcharge } else { Decimal::ZERO };
        (rate + surcharge).normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(product_type: ProductType, renewal: bool, total: i64) -> String {
        let basis = FeeBasis { product_type, renewal, buyer_total: Decimal::from(total), channel_partner: true };
        FeeSchedule::default().rate(basis).to_string()
    }

    #[test]
    fn the_first_rule_that_applies_then_the_surcharge() {
        assert_eq!(rate(ProductType::ProfessionalServices, true, 20_000_000), "0.03");
        assert_eq!(rate(ProductType::SaasContract, true, 20_000_000), "0.02");
        assert_eq!(rate(ProductType::SaasContract, false, 999_999), "0.035");
        assert_eq!(rate(ProductType::SaasContract, false, 1_000_000), "0.025");
        assert_eq!(rate(ProductType::Ami, false, 9_999_999), "0.025");
        assert_eq!(rate(ProductType::Ami, false, 10_000_000), "0.02");
    }

    #[test]
    fn a_schedule_from_configuration_keeps_the_defaults_it_does_not_name() {
        let custom: FeeSchedule = serde_json::from_str(r#"{"base": "0.04", "tiers": [{"from": "500", "rate": "0.01"}]}"#).unwrap();
        let basis = |total: i64| FeeBasis {
            product_type: ProductType::Ami,
            renewal: false,
            buyer_total: Decimal::from(total),
            channel_partner: true,
        };
        assert_eq!(custom.rate(basis(499)).to_string(), "0.045");
        assert_eq!(custom.rate(basis(500)).to_string(), "0.015");
        assert_eq!(custom.renewal, FeeSchedule::default().renewal);
        assert!(serde_json::from_str::<FeeSchedule>(r#"{"bse": "0.04"}"#).is_err());
    }

    #[test]
    fn without_a_channel_partner_there_is_no_surcharge() {
        let basis = FeeBasis { product_type: ProductType::Ami, renewal: false, buyer_total: Decimal::ONE, channel_partner: false };
        assert_eq!(FeeSchedule::default().rate(basis).to_string(), "0.03");
    }
}
