//! List → wholesale → buyer pricing and the disbursement, in the contract's rounding order.

use crate::fees::{FeeBasis, FeeSchedule};
use crate::money::{round_unit_price, round_usage_rate, Currency};
use crate::payment::Payment;
use crate::units::DimensionUnits;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Wholesale unit price from a list price and the ISV's discount percentage.
pub fn wholesale_unit(list: Decimal, discount_pct: Decimal) -> Decimal {
    round_unit_price(list * (HUNDRED - discount_pct) / HUNDRED)
}

/// Buyer unit price from a wholesale price and the reseller's markup percentage.
pub fn buyer_unit(wholesale: Decimal, markup_pct: Decimal) -> Decimal {
    round_unit_price(wholesale * (HUNDRED + markup_pct) / HUNDRED)
}

/// Wholesale usage rate from a list rate and the ISV's discount percentage, to 8 places.
pub fn wholesale_rate(list: Decimal, discount_pct: Decimal) -> Decimal {
    round_usage_rate(list * (HUNDRED - discount_pct) / HUNDRED)
}

/// Buyer usage rate from a wholesale rate and the reseller's markup percentage, to 8 places.
pub fn buyer_rate(wholesale: Decimal, markup_pct: Decimal) -> Decimal {
    round_usage_rate(wholesale * (HUNDRED + markup_pct) / HUNDRED)
}

/// A metered dimension's rates: billed monthly on what is used, never in the contract's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRate {
    pub dimension_key: String,
    pub list_rate: Decimal,
    pub wholesale_rate: Decimal,
    pub buyer_rate: Decimal,
}

impl UsageRate {
    /// Marks up a wholesale rate: the buyer's rate, rounded once to 8 places.
    pub fn marked_up(dimension_key: &str, list_rate: Decimal, wholesale_rate: Decimal, markup_pct: Decimal) -> UsageRate {
        UsageRate { dimension_key: dimension_key.into(), list_rate, wholesale_rate, buyer_rate: buyer_rate(wholesale_rate, markup_pct) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceLine {
    pub dimension_key: String,
    pub units: u64,
    pub list_price: Decimal,
    pub wholesale_price: Decimal,
    pub buyer_price: Decimal,
    /// The buyer's line total.
    pub line_total: Decimal,
}

/// One payment of a flexible payment schedule, marked up like every price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentLine {
    pub invoice_date: chrono::NaiveDate,
    pub wholesale_amount: Decimal,
    pub buyer_amount: Decimal,
}

/// A price per dimension (`lines`), or for a payment schedule the units it grants and its payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<PriceLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<DimensionUnits>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<PaymentLine>,
    pub wholesale_total: Decimal,
    pub markup_total: Decimal,
    pub buyer_total: Decimal,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_rates: Vec<UsageRate>,
}

/// One dimension to price: key, units, list and wholesale unit prices.
pub struct LineInput<'a> {
    pub dimension_key: &'a str,
    pub units: u64,
    pub list_price: Decimal,
    pub wholesale_price: Decimal,
}

/// Prices every line, rounds each line total to the minor unit, and sums the rounded lines.
pub fn price(lines: &[LineInput<'_>], markup_pct: Decimal, currency: Currency) -> Pricing {
    let mut wholesale_total = currency.round(Decimal::ZERO);
    let mut buyer_total = wholesale_total;
    let lines = lines
        .iter()
        .map(|l| {
            let buyer_price = buyer_unit(l.wholesale_price, markup_pct);
            let units = Decimal::from(l.units);
            let line_total = currency.round(units * buyer_price);
            wholesale_total += currency.round(units * l.wholesale_price);
            buyer_total += line_total;
            PriceLine {
                dimension_key: l.dimension_key.to_string(),
                units: l.units,
                list_price: l.list_price,
                wholesale_price: l.wholesale_price,
                buyer_price,
                line_total,
            }
        })
        .collect();
    Pricing {
        lines,
        units: Vec::new(),
        payments: Vec::new(),
        wholesale_total,
        markup_total: buyer_total - wholesale_total,
        buyer_total,
        usage_rates: Vec::new(),
    }
}

/// Marks up every payment of a schedule, each rounded to the minor unit; totals are their sums.
pub fn price_schedule(units: &[DimensionUnits], payments: &[Payment], markup_pct: Decimal, currency: Currency) -> Pricing {
    let zero = currency.round(Decimal::ZERO);
    let payments: Vec<PaymentLine> = payments
        .iter()
        .map(|p| PaymentLine {
            invoice_date: p.invoice_date,
            wholesale_amount: p.amount,
            buyer_amount: currency.round(p.amount * (HUNDRED + markup_pct) / HUNDRED),
        })
        .collect();
    let wholesale_total = payments.iter().fold(zero, |sum, p| sum + p.wholesale_amount);
    let buyer_total = payments.iter().fold(zero, |sum, p| sum + p.buyer_amount);
    Pricing {
        lines: Vec::new(),
        units: units.to_vec(),
        payments,
        wholesale_total,
        markup_total: buyer_total - wholesale_total,
        buyer_total,
        usage_rates: Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disbursement {
    pub currency: Currency,
    pub buyer_total: Decimal,
    pub wholesale_total: Decimal,
    pub markup_total: Decimal,
    pub fee_rate: Decimal,
    pub isv_fee: Decimal,
    pub isv_net: Decimal,
    pub reseller_fee: Decimal,
    pub reseller_net: Decimal,
}

/// Splits the buyer total: each share pays the same fee rate, each net is its share less its fee.
pub fn disburse(pricing: &Pricing, currency: Currency, basis: FeeBasis, fees: &FeeSchedule) -> Disbursement {
    split(pricing.wholesale_total, pricing.buyer_total, currency, fees.rate(basis))
}

/// The four parts of a buyer total at `fee_rate`: each fee rounded to the minor unit, each net
/// its share less its fee.
pub fn split(wholesale_total: Decimal, buyer_total: Decimal, currency: Currency, fee_rate: Decimal) -> Disbursement {
    let markup_total = buyer_total - wholesale_total;
    let isv_fee = currency.round(wholesale_total * fee_rate);
    let reseller_fee = currency.round(markup_total * fee_rate);
    Disbursement {
        currency,
        buyer_total,
        wholesale_total,
        markup_total,
        fee_rate,
        isv_fee,
        isv_net: wholesale_total - isv_fee,
        reseller_fee,
        reseller_net: markup_total - reseller_fee,
    }
}

/// The buyer's view of a price: what the buyer pays, never a wholesale figure.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerLine<'a> {
    dimension_key: &'a str,
    units: u64,
    list_price: Decimal,
    buyer_price: Decimal,
    line_total: Decimal,
}

/// A payment as the buyer sees it: what it pays and when.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerPayment {
    invoice_date: NaiveDate,
    buyer_amount: Decimal,
}

/// A usage rate as the buyer sees it: its own rate alone.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerRate<'a> {
    dimension_key: &'a str,
    buyer_rate: Decimal,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuyerPricing<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lines: Vec<BuyerLine<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    units: &'a [DimensionUnits],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    payments: Vec<BuyerPayment>,
    buyer_total: Decimal,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    usage_rates: Vec<BuyerRate<'a>>,
}

impl<'a> BuyerPricing<'a> {
    pub fn of(pricing: &'a Pricing) -> Self {
        BuyerPricing {
            lines: pricing
                .lines
                .iter()
                .map(|l| BuyerLine {
                    dimension_key: &l.dimension_key,
                    units: l.units,
                    list_price: l.list_price,
                    buyer_price: l.buyer_price,
                    line_total: l.line_total,
                })
                .collect(),
            units: &pricing.units,
            payments: pricing
                .payments
                .iter()
                .map(|p: &PaymentLine| BuyerPayment { invoice_date: p.invoice_date, buyer_amount: p.buyer_amount })
                .collect(),
            buyer_total: pricing.buyer_total,
            usage_rates: pricing
                .usage_rates
                .iter()
                .map(|r| BuyerRate { dimension_key: &r.dimension_key, buyer_rate: r.buyer_rate })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::ProductType;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn basis(total: Decimal) -> FeeBasis {
        FeeBasis { product_type: ProductType::SaasContract, renewal: false, buyer_total: total, channel_partner: true }
    }

    #[test]
    fn the_contracts_worked_example() {
        let wholesale = wholesale_unit(d("100.00"), d("20"));
        let pricing = price(
            &[LineInput { dimension_key: "users", units: 1, list_price: d("100.00"), wholesale_price: wholesale }],
            d("10"),
            Currency::USD,
        );
        assert_eq!(pricing.buyer_total.to_string(), "88.00");
        assert_eq!(pricing.wholesale_total.to_string(), "80.00");
        assert_eq!(pricing.markup_total.to_string(), "8.00");
        let split = disburse(&pricing, Currency::USD, basis(pricing.buyer_total), &FeeSchedule::default());
        assert_eq!(split.fee_rate.to_string(), "0.035");
        assert_eq!(split.isv_fee.to_string(), "2.80");
        assert_eq!(split.isv_net.to_string(), "77.20");
        assert_eq!(split.reseller_fee.to_string(), "0.28");
        assert_eq!(split.reseller_net.to_string(), "7.72");
    }

    #[test]
    fn usage_rates_round_half_even_to_eight_places() {
        // The figures: 0.0456789 × 0.85 = 0.038827065, half-even to 0.03882706.
        let wholesale = wholesale_rate(d("0.0456789"), d("15"));
        assert_eq!(wholesale.to_string(), "0.03882706");
        let rate = UsageRate::marked_up("gb", d("0.0456789"), wholesale, d("12"));
        assert_eq!(rate.buyer_rate.to_string(), "0.04348631");
        assert_eq!(Currency::USD.round(Decimal::from(2500) * rate.buyer_rate).to_string(), "108.72");
    }

    #[test]
    fn unit_prices_round_to_six_places_before_lines_round_to_cents() {
        // 49.99 × 0.667 = 33.34333 exactly; × 3 units = 100.02999, rounded once per line to 100.03.
        let wholesale = wholesale_unit(d("49.99"), d("33.3"));
        assert_eq!(wholesale.to_string(), "33.34333");
        let pricing =
            price(&[LineInput { dimension_key: "u", units: 3, list_price: d("49.99"), wholesale_price: wholesale }], d("0"), Currency::USD);
        assert_eq!(pricing.wholesale_total.to_string(), "100.03");
        assert_eq!(pricing.markup_total.to_string(), "0.00");
    }

    #[test]
    fn yen_stays_whole() {
        let wholesale = wholesale_unit(d("10001"), d("20"));
        let pricing = price(
            &[LineInput { dimension_key: "u", units: 1, list_price: d("10001"), wholesale_price: wholesale }],
            d("10"),
            Currency::JPY,
        );
        assert_eq!(pricing.wholesale_total.to_string(), "8001");
        assert_eq!(pricing.buyer_total.to_string(), "8801");
        let split = disburse(&pricing, Currency::JPY, basis(pricing.buyer_total), &FeeSchedule::default());
        assert_eq!(split.isv_fee.to_string(), "280");
        assert_eq!(split.reseller_fee.to_string(), "28");
    }

    #[test]
    fn a_large_deal_drops_to_the_two_percent_tier() {
        let wholesale = wholesale_unit(d("2000000"), d("20"));
        let pricing = price(
            &[LineInput { dimension_key: "u", units: 1, list_price: d("2000000"), wholesale_price: wholesale }],
            d("10"),
            Currency::USD,
        );
        assert_eq!(pricing.buyer_total.to_string(), "1760000.00");
        let split = disburse(&pricing, Currency::USD, basis(pricing.buyer_total), &FeeSchedule::default());
        assert_eq!(split.fee_rate.to_string(), "0.025");
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop_oneof![Just(Currency::USD), Just(Currency::EUR), Just(Currency::GBP), Just(Currency::AUD), Just(Currency::JPY)]
    }

    proptest! {
        #[test]
        fn a_marked_up_schedule_splits_exactly(
            amounts in proptest::collection::vec(1u64..10_000_000_000, 1..60),
            markup_micro in 0u64..1_000_000_000,
            currency in currency(),
            professional_services: bool,
        ) {
            let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
            let payments: Vec<Payment> = amounts
                .iter()
                .enumerate()
                .map(|(i, a)| Payment { amount: currency.round(Decimal::new(*a as i64, currency.minor_places())), invoice_date: start + chrono::Days::new(i as u64 * 31) })
                .collect();
            let pricing = price_schedule(&[], &payments, Decimal::new(markup_micro as i64, 6), currency);
            prop_assert!(pricing.buyer_total >= pricing.wholesale_total);
            for (line, payment) in pricing.payments.iter().zip(&payments) {
                prop_assert!(line.buyer_amount >= payment.amount);
            }
            let product_type = if professional_services { ProductType::ProfessionalServices } else { ProductType::SaasContract };
            let basis = FeeBasis { product_type, renewal: false, buyer_total: pricing.buyer_total, channel_partner: true };
            let split = disburse(&pricing, currency, basis, &FeeSchedule::default());
            prop_assert_eq!(split.isv_net + split.isv_fee + split.reseller_net + split.reseller_fee, pricing.buyer_total);
            prop_assert_eq!(split.wholesale_total, payments.iter().map(|p| p.amount).sum::<Decimal>());
        }

        #[test]
        fn a_disbursement_adds_up_exactly_and_never_goes_negative(
            cents in 1u64..100_000_000_000,
            discount_bp in 1u32..9_999,
            markup_micro in 0u64..1_000_000_000,
            units in 1u64..10_000_000,
            dims in 1usize..5,
            currency in currency(),
            renewal: bool,
        ) {
            let list = Decimal::new(cents as i64, 2);
            let discount = Decimal::new(discount_bp as i64, 2);
            let markup = Decimal::new(markup_micro as i64, 6);
            let wholesale = wholesale_unit(list, discount);
            prop_assert!(wholesale <= list);
            let keys: Vec<String> = (0..dims).map(|i| format!("d{i}")).collect();
            let lines: Vec<LineInput> = keys.iter().map(|k| LineInput { dimension_key: k, units, list_price: list, wholesale_price: wholesale }).collect();
            let pricing = price(&lines, markup, currency);
            let basis = FeeBasis { product_type: ProductType::SaasContract, renewal, buyer_total: pricing.buyer_total, channel_partner: true };
            let split = disburse(&pricing, currency, basis, &FeeSchedule::default());
            prop_assert_eq!(split.isv_net + split.isv_fee + split.reseller_net + split.reseller_fee, pricing.buyer_total);
            prop_assert!(pricing.buyer_total >= pricing.wholesale_total);
            for part in [split.isv_net, split.isv_fee, split.reseller_net, split.reseller_fee] {
                prop_assert!(part >= Decimal::ZERO, "negative part {}", part);
                prop_assert!(part.scale() <= currency.minor_places());
            }
        }
    }
}
