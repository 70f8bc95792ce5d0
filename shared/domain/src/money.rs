//! Exact money: decimal strings in, half-even rounding at the contract's three places, nowhere else.

use crate::error::{DomainError, DomainResult};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Unit prices keep 6 places (contract rule 1).
pub const UNIT_PRICE_PLACES: u32 = 6;

/// Usage rates keep 8 places (contract rule 1).
pub const USAGE_RATE_PLACES: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Currency {
    #[default]
    USD,
    EUR,
    GBP,
    AUD,
    JPY,
}

impl Currency {
    pub fn parse_field(raw: &str, field: &str) -> DomainResult<Currency> {
        match raw {
            "USD" => Ok(Currency::USD),
            "EUR" => Ok(Currency::EUR),
            "GBP" => Ok(Currency::GBP),
            "AUD" => Ok(Currency::AUD),
            "JPY" => Ok(Currency::JPY),
            _ => Err(DomainError::field(field, format!("{field} must be one of USD, EUR, GBP, AUD, JPY"))),
        }
    }

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::AUD => "AUD",
            Currency::JPY => "JPY",
        }
    }

    /// Decimal places of the currency's minor unit: cents, or whole yen.
    pub fn minor_places(self) -> u32 {
        match self {
            Currency::JPY => 0,
            _ => 2,
        }
    }

    /// Rounds an amount to the minor unit (contract rules 2 and 3).
    pub fn round(self, amount: Decimal) -> Decimal {
        let rounded = round_half_even(amount, self.minor_places());
        let mut fixed = rounded;
        fixed.rescale(self.minor_places());
        fixed
    }
}

pub fn round_half_even(value: Decimal, places: u32) -> Decimal {
    value.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven)
}

/// Rounds a unit price to 6 places (contract rule 1), keeping trailing zeros out of the way.
pub fn round_unit_price(value: Decimal) -> Decimal {
    round_half_even(value, UNIT_PRICE_PLACES).normalize()
}

/// Rounds a usage rate to 8 places (contract rule 1), keeping trailing zeros out of the way.
pub fn round_usage_rate(value: Decimal) -> Decimal {
    round_half_even(value, USAGE_RATE_PLACES).normalize()
}

/// Parses a decimal string as the contract writes them: optional sign-free digits, one dot.
/// Exponents, signs, spaces and empty parts are refused so "1e3" or " 5" never slip through.
pub fn parse_decimal(raw: &str, field: &str) -> DomainResult<Decimal> {
    let well_formed = !raw.is_empty()
        && raw.len() <= 40
        && raw.split('.').count() <= 2
        && raw.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(DomainError::field(field, format!("{field} must be a decimal string such as \"12.50\"")));
    }
    Decimal::from_str(raw).map_err(|_| DomainError::field(field, format!("{field} is out of range")))
}

/// Parses a decimal and checks its places and bounds in one go.
pub fn parse_bounded(raw: &str, field: &str, max_places: u32, min: Decimal, max: Decimal) -> DomainResult<Decimal> {
    let value = parse_decimal(raw, field)?;
    // Counted on the text: past 28 places the parsed value is already rounded. Trailing zeros
    // add no precision, so "1.50000000" is 1.5.
    let places = raw.split_once('.').map_or(0, |(_, fraction)| fraction.trim_end_matches('0').len());
    if places > max_places as usize {
        return Err(DomainError::field(field, format!("{field} allows at most {max_places} decimal places")));
    }
    if value < min || value > max {
        return Err(DomainError::field(field, format!("{field} must be between {min} and {max}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rounds_half_even_to_the_minor_unit() {
        assert_eq!(Currency::USD.round(d("2.805")).to_string(), "2.80");
        assert_eq!(Currency::USD.round(d("2.815")).to_string(), "2.82");
        assert_eq!(Currency::USD.round(d("3")).to_string(), "3.00");
        assert_eq!(Currency::JPY.round(d("2.5")).to_string(), "2");
        assert_eq!(Currency::JPY.round(d("3.5")).to_string(), "4");
    }

    #[test]
    fn places_are_counted_before_the_value_is_rounded() {
        let six = |raw: &str| parse_bounded(raw, "unitPrice", 6, Decimal::ZERO, Decimal::from(1_000_000_000)).map(|d| d.to_string());
        assert!(six("1.00000000000000000000000000001").is_err(), "29 places are not 6, though they parse as 1");
        assert!(six("1.0000001").is_err());
        assert_eq!(six("1.500000000").ok().as_deref(), Some("1.500000000"));
        assert_eq!(six("0.000001").ok().as_deref(), Some("0.000001"));
    }

    #[test]
    fn unit_prices_keep_six_places() {
        assert_eq!(round_unit_price(d("1.23456750")).to_string(), "1.234568");
        assert_eq!(round_unit_price(d("1.2345665")).to_string(), "1.234566");
        assert_eq!(round_unit_price(d("80.000000")).to_string(), "80");
    }

    #[test]
    fn decimal_strings_only() {
        assert!(parse_decimal("12.50", "p").is_ok());
        for bad in ["", "1e3", "-1", "+1", " 1", "1.", ".5", "1.2.3", "NaN", "0x10"] {
            assert!(parse_decimal(bad, "p").is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn bounds_and_places_are_checked() {
        let pct = |s| parse_bounded(s, "percentage", 2, d("0.01"), d("99.99"));
        assert!(pct("20").is_ok());
        assert!(pct("99.99").is_ok());
        assert!(pct("20.125").is_err());
        assert!(pct("100").is_err());
        assert!(pct("0").is_err());
        assert!(pct("20.10").is_ok(), "a trailing zero is not a third place");
    }
}
