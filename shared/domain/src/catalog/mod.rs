//! AWS Marketplace Catalog API interop: the `StartChangeSet` body that publishes an opportunity as
//! a `ResaleAuthorization@1.0` entity, and the opportunity such a body describes.
//!
//! Shapes follow the Catalog API's resale authorization change types: one entity per product,
//! absolute wholesale prices, `OffersMaxQuantity: 1` for single use, at most 25 buyer accounts and
//! 60 installments.

mod export;
mod import;
mod names;

pub use export::{export, Export};
pub use import::{import, Imported};
pub use names::{parse_months, CATALOG, CHANGE_NAME, ENTITY_REF, ENTITY_TYPE, RATE_CARD_DURATION, STANDARD_CONTRACT_VERSION};

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
