//! The CPPO domain: the commercial rules of channel partner private offers, pure and clock-injected.
//!
//! Nothing here performs I/O or reads the time: callers pass `now` and the ids they generated, so
//! every rule is testable with fixed inputs.

pub mod agreement;
pub mod billing;
pub mod cancellation;
pub mod catalog;
pub mod discount;
pub mod document;
pub mod duration;
pub mod error;
pub mod event;
pub mod fees;
pub mod ids;
pub mod invoice;
pub mod legal;
pub mod marketplace;
pub mod money;
pub mod offer;
pub mod opportunity;
pub mod party;
pub mod payment;
pub mod pricing;
pub mod product;
pub mod report;
pub mod seller;
pub mod terms;
pub mod time;
pub mod units;
pub mod usage;
pub mod validate;
pub mod view;

pub use error::{DomainError, DomainResult};
pub use ids::AccountId;
