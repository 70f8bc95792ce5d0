//! The Catalog API's own names and formats, shared by the export and the import.

pub const CATALOG: &str = "AWSMarketplace";
pub const ENTITY_TYPE: &str = "ResaleAuthorization@1.0";
/// A SaaS product, to which `AddDimensions` adds a custom dimension before a rate card names it.
pub const PRODUCT_ENTITY_TYPE: &str = "SaaSProduct@1.0";
/// How the changes after the first refer to the entity the first one creates.
pub const ENTITY_REF: &str = "$ResaleAuthorization.Entity.Identifier";
pub const CHANGE_NAME: &str = "ResaleAuthorization";
/// The version of AWS Marketplace's standard contracts (SCMP EULA and reseller contract).
pub const STANDARD_CONTRACT_VERSION: &str = "2022-07-14";
/// A configurable-upfront rate card is keyed by a contract duration; our wholesale prices hold
/// for every duration, so the export names the common one and the import takes any.
pub const RATE_CARD_DURATION: &str = "P12M";

/// `P12M` or `P1Y` as months.
pub fn parse_months(raw: &str) -> Option<u32> {
    let body = raw.strip_prefix('P')?;
    // Digits only: `str::parse` would also take a sign ("P+12M").
    if !body.trim_end_matches(['M', 'Y']).bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(m) = body.strip_suffix('M') {
        return m.parse().ok();
    }
    body.strip_suffix('Y')?.parse::<u32>().ok()?.checked_mul(12)
}
