//! AWS Marketplace's listing fee for private offers, held as configuration with the contract's defaults.

use crate::product::ProductType;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq)]
pub struct FeeSchedule {
    pub professional_services: Decimal,
    pub renewal: Decimal,
    /// Tiers by buyer total, highest threshold first: (from, rate).
    pub tiers: Vec<(Decimal, Decimal)>,
    pub base: Decimal,
    pub channel_partner_surcharge: Decimal,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            professional_services: Decimal::new(25, 3),
            renewal: Decimal::new(15, 3),
            tiers: vec![(Decimal::from(10_000_000), Decimal::new(15, 3)), (Decimal::from(1_000_000), Decimal::new(2, 2))],
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
            self.tiers.iter().find(|(from, _)| basis.buyer_total >= *from).map_or(self.base, |(_, rate)| *rate)
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
    fn without_a_channel_partner_there_is_no_surcharge() {
        let basis = FeeBasis { product_type: ProductType::Ami, renewal: false, buyer_total: Decimal::ONE, channel_partner: false };
        assert_eq!(FeeSchedule::default().rate(basis).to_string(), "0.03");
    }
}
