//! Units per dimension: what an offer buys, or a payment schedule grants, of each dimension.

use crate::error::{DomainError, DomainResult};
use crate::validate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionUnits {
    pub dimension_key: String,
    pub units: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnitsInput {
    pub dimension_key: String,
    pub units: u64,
}

/// Most units one dimension of one offer may carry: far above real deals, far from overflow.
pub const MAX_UNITS: u64 = 10_000_000;

/// Units named per dimension (an offer's, or a payment schedule's at `field`): at least one,
/// each a distinct dimension of `keys`, each 1 to `MAX_UNITS`.
pub fn check_named_units(input: &[UnitsInput], keys: &[&str], field: &str) -> DomainResult<()> {
    validate::count(input, field, 1, keys.len().max(1))?;
    validate::distinct(input, field, |u| u.dimension_key.clone())?;
    for (i, u) in input.iter().enumerate() {
        if !keys.contains(&u.dimension_key.as_str()) {
            return Err(DomainError::field(
                format!("{field}[{i}].dimensionKey"),
                format!("{} is not a dimension of the product", u.dimension_key),
            ));
        }
        if !(1..=MAX_UNITS).contains(&u.units) {
            return Err(DomainError::field(format!("{field}[{i}].units"), format!("units must be 1 to {MAX_UNITS}")));
        }
    }
    Ok(())
}
