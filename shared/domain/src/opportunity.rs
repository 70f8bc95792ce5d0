//! Opportunities: an ISV's resale authorization of one reseller, with its discount and duration.

pub use crate::discount::{Discount, DiscountInput, Wholesale, WholesaleDimension, WholesaleProduct};
use crate::document::StoredDocument;
use crate::duration::{Duration, DurationInput};
use crate::error::{DomainError, DomainResult};
use crate::ids::{AccountId, IdKind};
use crate::legal::{check_eula, check_reseller_agreement, LegalInput, Library};
pub use crate::legal::{Eula, ResellerAgreement};
use crate::money::Currency;
use crate::product::{Product, ProductType};
use crate::seller::Seller;
use crate::terms::check_net_terms;
use crate::time::{end_instant, is_past, parse_date};
use crate::validate;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /opportunities`. Dates and money arrive as strings so their format is ours to check.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOpportunityInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub renewal: bool,
    #[serde(default)]
    pub renewal_acknowledged: bool,
    pub reseller_account_ids: Vec<String>,
    pub product_ids: Vec<String>,
    pub discount: DiscountInput,
    pub duration: DurationInput,
    #[serde(default)]
    pub buyer_account_ids: Vec<String>,
    #[serde(default)]
    pub eula: Option<LegalInput>,
    #[serde(default)]
    pub reseller_agreement: Option<LegalInput>,
    /// Absent: the seller's default stakeholders.
    #[serde(default)]
    pub notification_emails: Option<Vec<String>>,
    #[serde(default)]
    pub net_payment_term_days: Option<u32>,
    #[serde(default)]
    pub latest_agreement_start_date: Option<String>,
    #[serde(default)]
    pub draft: bool,
}

/// The create body's top-level fields: a PATCH naming one of these (other than the two that may
/// change) is refused as immutable rather than unknown.
pub const CREATE_FIELDS: &[&str] = &[
    "name",
    "description",
    "renewal",
    "renewalAcknowledged",
    "resellerAccountIds",
    "productIds",
    "discount",
    "duration",
    "buyerAccountIds",
    "eula",
    "resellerAgreement",
    "notificationEmails",
    "netPaymentTermDays",
    "latestAgreementStartDate",
    "draft",
];

/// The longest an agreement's start may be put off, as AWS Marketplace's future-dated agreements.
pub const MAX_START_YEARS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductRef {
    pub product_id: String,
    pub title: String,
    pub product_type: ProductType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpportunityStatus {
    Draft,
    Active,
    Expired,
    Restricted,
    Complete,
}

impl OpportunityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityStatus::Draft => "draft",
            OpportunityStatus::Active => "active",
            OpportunityStatus::Expired => "expired",
            OpportunityStatus::Restricted => "restricted",
            OpportunityStatus::Complete => "complete",
        }
    }

    pub fn parse(raw: &str) -> Option<OpportunityStatus> {
        [Self::Draft, Self::Active, Self::Expired, Self::Restricted, Self::Complete].into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Opportunity {
    pub opportunity_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub isv_account_id: AccountId,
    pub reseller_account_id: AccountId,
    pub reseller_name: String,
    pub products: Vec<ProductRef>,
    pub currency: Currency,
    pub discount: Discount,
    pub wholesale: Wholesale,
    pub duration: Duration,
    pub buyer_account_ids: Vec<AccountId>,
    pub renewal: bool,
    pub eula: Eula,
    pub reseller_agreement: ResellerAgreement,
    pub notification_emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_payment_term_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_agreement_start_date: Option<NaiveDate>,
    /// Who ended it, once restricted: either party may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_by: Option<RestrictedBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction_reason: Option<String>,
    /// The stored state; `status(now)` is what callers see.
    pub state: OpportunityStatus,
    pub offers_created: u64,
    /// The events of the authorization itself so far (created, expired, revoked), numbered in order.
    #[serde(default)]
    pub event_count: u32,
    /// The compiled files of its uploaded legal terms, once active: kept for the service's use,
    /// the EULA's hash shown as `eulaSha256`.
    #[serde(default, skip_serializing_if = "Compiled::is_empty")]
    pub compiled: Compiled,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A set of uploaded documents compiled into one PDF in the document bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompiledFile {
    pub key: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// The S3 version written, so a reader gets exactly the file whose hash is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Compiled {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula: Option<CompiledFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller_agreement: Option<CompiledFile>,
}

impl Compiled {
    pub fn is_empty(&self) -> bool {
        self.eula.is_none() && self.reseller_agreement.is_none()
    }
}

/// The key a compiled file is kept at: named after the opportunity (the first, for a create of
/// several), so a file no opportunity records is known for one left by a failed step.
pub fn compiled_key(opportunity_id: &str, part: &str) -> String {
    format!("compiled/{opportunity_id}/{part}.pdf")
}

/// The public page of AWS Marketplace's standardized contracts: the Standard Contract (SCMP) a
/// `standard` EULA is, and the Reseller Contract (RCMP).
pub const STANDARD_CONTRACTS_URL: &str = "https://docs.aws.amazon.com/marketplace/latest/userguide/standardized-license-terms.html";

/// Where a reader finds a legal term's file.
#[derive(Debug, PartialEq)]
pub enum LegalFile<'a> {
    /// AWS Marketplace's own, public contract.
    Public(&'static str),
    /// The ISV's documents where it hosts them, in order.
    Hosted(Vec<&'a str>),
    /// The uploads compiled into one PDF in the document bucket.
    Compiled(&'a CompiledFile),
}

/// The party that ended an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestrictedBy {
    Isv,
    Reseller,
}

/// What a create needs besides the body: who asks, the sellers, products and documents its ids
/// named (those found), the clock, and one fresh id per reseller.
pub struct CreateContext<'a> {
    pub isv: Option<&'a Seller>,
    pub isv_account_id: &'a AccountId,
    pub resellers: &'a [Seller],
    pub products: &'a [Product],
    pub documents: &'a [StoredDocument],
    pub now: DateTime<Utc>,
    pub opportunity_ids: Vec<String>,
}

/// What a create read for the ids its body named.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub sellers: Vec<Seller>,
    pub products: Vec<Product>,
    pub documents: Vec<StoredDocument>,
}

/// The ids a create body names, well formed, as a create reads them in one batch.
#[derive(Debug, Clone, Default)]
pub struct Named {
    pub sellers: Vec<AccountId>,
    pub products: Vec<String>,
    pub documents: Vec<String>,
}

/// The most ids a create may name of each kind; longer lists are refused by `create` anyway.
const MAX_NAMED: usize = 20;

impl CreateOpportunityInput {
    /// The sellers (the ISV itself and the resellers), products and uploaded documents the body
    /// names, well formed, as a create reads them in one batch.
    pub fn named(&self, isv: &AccountId) -> Named {
        let mut sellers: Vec<AccountId> = self.reseller_account_ids.iter().take(MAX_NAMED).filter_map(|r| AccountId::parse(r)).collect();
        sellers.push(isv.clone());
        let products = self.product_ids.iter().take(MAX_NAMED).filter(|p| IdKind::Product.is_valid(p)).cloned().collect();
        let documents = [&self.eula, &self.reseller_agreement]
            .into_iter()
            .flatten()
            .flat_map(|legal| legal.documents.iter().flatten().take(crate::legal::MAX_DOCUMENTS))
            .filter_map(|d| d.document_id.clone())
            .filter(|id| IdKind::Document.is_valid(id))
            .collect();
        Named { sellers, products, documents }
    }
}

impl<'a> CreateContext<'a> {
    /// The context of `isv`'s create from the sellers and products read for it.
    pub fn of(isv_account_id: &'a AccountId, found: &'a Found, now: DateTime<Utc>, opportunity_ids: Vec<String>) -> CreateContext<'a> {
        CreateContext {
            isv: found.sellers.iter().find(|s| &s.account_id == isv_account_id),
            isv_account_id,
            resellers: &found.sellers,
            products: &found.products,
            documents: &found.documents,
            now,
            opportunity_ids,
        }
    }
}

/// The checked, reseller-independent part of a create.
struct Terms {
    products: Vec<Product>,
    currency: Currency,
    discount: Discount,
    wholesale: Wholesale,
    duration: Duration,
    buyers: Vec<AccountId>,
    eula: Eula,
    reseller_agreement: ResellerAgreement,
}

pub fn create(input: CreateOpportunityInput, ctx: CreateContext<'_>) -> DomainResult<Vec<Opportunity>> {
    if !ctx.isv.is_some_and(|s| s.registered) {
        return Err(DomainError::Forbidden("only a registered seller can create opportunities".into()));
    }
    check_name(&input.name)?;
    if let Some(description) = &input.description {
        check_description(description)?;
    }
    if input.renewal && !input.renewal_acknowledged {
        return Err(DomainError::field("renewalAcknowledged", "renewalAcknowledged must be true for a renewal"));
    }
    let resellers = check_resellers(&input.reseller_account_ids, ctx.isv_account_id, ctx.resellers)?;
    let terms = check_terms(&input, &ctx)?;
    let notification_emails = match &input.notification_emails {
        Some(emails) => emails.clone(),
        None => ctx.isv.map(|s| s.notification_emails.clone()).unwrap_or_default(),
    };
    validate::emails(&notification_emails, "notificationEmails", 10)?;
    let net_payment_term_days = input.net_payment_term_days.map(|d| check_net_terms(d, "netPaymentTermDays", None)).transpose()?;
    let latest_agreement_start_date =
        input.latest_agreement_start_date.as_deref().map(|raw| check_latest_start(raw, ctx.now)).transpose()?;
    if ctx.opportunity_ids.len() != resellers.len() {
        return Err(DomainError::invalid("one opportunity id is needed per reseller"));
    }
    Ok(resellers
        .into_iter()
        .zip(ctx.opportunity_ids)
        .map(|(reseller, opportunity_id)| Opportunity {
            opportunity_id,
            name: input.name.clone(),
            description: input.description.clone(),
            isv_account_id: ctx.isv_account_id.clone(),
            reseller_account_id: reseller.account_id.clone(),
            reseller_name: reseller.display_name.clone(),
            products: terms.products.iter().map(product_ref).collect(),
            currency: terms.currency,
            discount: terms.discount.clone(),
            wholesale: terms.wholesale.clone(),
            duration: terms.duration.clone(),
            buyer_account_ids: terms.buyers.clone(),
            renewal: input.renewal,
            eula: terms.eula.clone(),
            reseller_agreement: terms.reseller_agreement.clone(),
            notification_emails: notification_emails.clone(),
            net_payment_term_days,
            latest_agreement_start_date,
            restricted_by: None,
            restriction_reason: None,
            state: if input.draft { OpportunityStatus::Draft } else { OpportunityStatus::Active },
            offers_created: 0,
            event_count: 0,
            compiled: Compiled::default(),
            created_at: ctx.now,
            updated_at: ctx.now,
        })
        .collect())
}

fn check_terms(input: &CreateOpportunityInput, ctx: &CreateContext<'_>) -> DomainResult<Terms> {
    let products = check_products(&input.product_ids, ctx.isv_account_id, ctx.products)?;
    let currency = products[0].currency;
    if products.iter().any(|p| p.currency != currency) {
        return Err(DomainError::field("productIds", "all products of an opportunity must share one currency"));
    }
    let duration = check_duration(&input.duration, ctx.now)?;
    let discount = crate::discount::check(&input.discount, &products, &duration)?;
    let wholesale = discount.wholesale(&products, currency);
    validate::count(&input.buyer_account_ids, "buyerAccountIds", 0, 25)?;
    let buyers = input
        .buyer_account_ids
        .iter()
        .enumerate()
        .map(|(i, raw)| AccountId::parse_field(raw, &format!("buyerAccountIds[{i}]")))
        .collect::<DomainResult<Vec<_>>>()?;
    validate::distinct(&buyers, "buyerAccountIds", Clone::clone)?;
    let library = Library { owner: ctx.isv_account_id, documents: ctx.documents };
    let eula = check_eula(input.eula.as_ref(), library)?;
    let reseller_agreement = check_reseller_agreement(input.reseller_agreement.as_ref(), library)?;
    Ok(Terms { products, currency, discount, wholesale, duration, buyers, eula, reseller_agreement })
}

fn check_name(name: &str) -> DomainResult<()> {
    let ok = (3..=100).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(()).ok_or_else(|| DomainError::field("name", "name must be 3 to 100 ASCII letters and digits"))
}

fn check_description(description: &str) -> DomainResult<()> {
    let allowed = |c: char| c.is_alphanumeric() || " .,-'():;/&".contains(c);
    if description.chars().count() > 256 || !description.chars().all(allowed) {
        return Err(DomainError::field(
            "description",
            "description is at most 256 characters: letters, digits, spaces and . , - ' ( ) : ; / &",
        ));
    }
    Ok(())
}

fn check_resellers(raw: &[String], isv: &AccountId, known: &[Seller]) -> DomainResult<Vec<Seller>> {
    validate::count(raw, "resellerAccountIds", 1, 20)?;
    let mut resellers = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let field = format!("resellerAccountIds[{i}]");
        let id = AccountId::parse_field(id, &field)?;
        if &id == isv {
            return Err(DomainError::field(field, "an ISV cannot authorize itself as a reseller"));
        }
        match known.iter().find(|s| s.account_id == id && s.registered) {
            Some(seller) => resellers.push(seller.clone()),
            None => return Err(DomainError::field(field, format!("{id} is not a registered seller"))),
        }
    }
    validate::distinct(&resellers, "resellerAccountIds", |s| s.account_id.clone())?;
    Ok(resellers)
}

fn check_products(raw: &[String], isv: &AccountId, known: &[Product]) -> DomainResult<Vec<Product>> {
    validate::count(raw, "productIds", 1, 20)?;
    validate::distinct(raw, "productIds", Clone::clone)?;
    raw.iter()
        .enumerate()
        .map(|(i, id)| {
            let field = format!("productIds[{i}]");
            let product = known
                .iter()
                .find(|p| &p.product_id == id && &p.seller_account_id == isv)
                .filter(|_| IdKind::Product.is_valid(id))
                .ok_or_else(|| DomainError::field(&field, format!("{id} is not one of your products")))?;
            if !product.paid {
                return Err(DomainError::field(field, format!("{id} is a free product; only paid products can be resold")));
            }
            Ok(product.clone())
        })
        .collect()
}

fn check_duration(input: &DurationInput, now: DateTime<Utc>) -> DomainResult<Duration> {
    let date = |raw: &str| -> DomainResult<NaiveDate> {
        let field = "duration.endDate";
        let date = parse_date(raw).ok_or_else(|| DomainError::field(field, "endDate must be a date YYYY-MM-DD"))?;
        if is_past(date, now) {
            return Err(DomainError::field(field, "endDate must be today or later"));
        }
        Ok(date)
    };
    let end_date = input.end_date.as_deref();
    Ok(match (input.kind.as_str(), end_date) {
        ("singleUse", _) => Duration::SingleUse { end_date: end_date.map(date).transpose()? },
        ("endDate", Some(raw)) => Duration::EndDate { end_date: date(raw)? },
        ("endDate", None) => return Err(DomainError::field("duration.endDate", "an endDate duration needs its endDate")),
        ("noEnd", None) => Duration::NoEnd,
        ("noEnd", Some(_)) => return Err(DomainError::field("duration.endDate", "a noEnd duration has no endDate")),
        (other, _) => {
            return Err(DomainError::field("duration.type", format!("duration type {other} must be singleUse, endDate or noEnd")))
        }
    })
}

/// The last day `now` allows an agreement to start: three years ahead.
pub fn latest_start_allowed(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive().checked_add_months(chrono::Months::new(12 * MAX_START_YEARS)).unwrap_or(NaiveDate::MAX)
}

fn check_latest_start(raw: &str, now: DateTime<Utc>) -> DomainResult<NaiveDate> {
    let field = "latestAgreementStartDate";
    let date = parse_date(raw).ok_or_else(|| DomainError::field(field, "latestAgreementStartDate must be a date YYYY-MM-DD"))?;
    if is_past(date, now) || date > latest_start_allowed(now) {
        return Err(DomainError::field(field, "latestAgreementStartDate must be between today and 3 years from today"));
    }
    Ok(date)
}

fn product_ref(p: &Product) -> ProductRef {
    ProductRef { product_id: p.product_id.clone(), title: p.title.clone(), product_type: p.product_type }
}

impl Opportunity {
    /// The status at `now`: an active authorization past its end date already reads as expired.
    pub fn status(&self, now: DateTime<Utc>) -> OpportunityStatus {
        match (self.state, self.duration.end_date()) {
            (OpportunityStatus::Active, Some(end)) if is_past(end, now) => OpportunityStatus::Expired,
            (state, _) => state,
        }
    }

    /// When the sweep should expire it, while it still can expire.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        (self.state == OpportunityStatus::Active).then(|| self.duration.end_date().map(end_instant)).flatten()
    }

    /// Its ISV's and its reseller's, once released: a draft is its ISV's alone.
    pub fn is_party(&self, caller: &AccountId) -> bool {
        &self.isv_account_id == caller || (&self.reseller_account_id == caller && self.state != OpportunityStatus::Draft)
    }

    fn require_active(&self, now: DateTime<Utc>, action: &str) -> DomainResult<()> {
        match self.status(now) {
            OpportunityStatus::Active => Ok(()),
            status => Err(DomainError::Conflict(format!(
                "opportunity {} is {}; {action} needs an active one",
                self.opportunity_id,
                status.as_str()
            ))),
        }
    }

    /// Either party ends the authorization, with its reason. Offers already made stay acceptable.
    pub fn revoke(&self, caller: &AccountId, reason: Option<String>, now: DateTime<Utc>) -> DomainResult<Opportunity> {
        if !self.is_party(caller) {
            return Err(self.not_found());
        }
        if let Some(reason) = &reason {
            validate::text(reason, "reason", 1, 256)?;
        }
        self.require_active(now, "revoking")?;
        let by = if caller == &self.isv_account_id { RestrictedBy::Isv } else { RestrictedBy::Reseller };
        Ok(Opportunity {
            state: OpportunityStatus::Restricted,
            restricted_by: Some(by),
            restriction_reason: reason,
            updated_at: now,
            ..self.clone()
        })
    }

    /// The ISV releases a draft: from now on its reseller sees it and can make offers from it.
    pub fn release(&self, caller: &AccountId, now: DateTime<Utc>) -> DomainResult<Opportunity> {
        self.require_isv(caller, "release")?;
        if self.state != OpportunityStatus::Draft {
            return Err(DomainError::Conflict(format!(
                "opportunity {} is {}; only a draft can be released",
                self.opportunity_id,
                self.status(now).as_str()
            )));
        }
        if self.duration.end_date().is_some_and(|end| is_past(end, now)) {
            return Err(DomainError::Conflict(format!(
                "opportunity {}'s end date has passed; a draft past its end date cannot be released",
                self.opportunity_id
            )));
        }
        Ok(Opportunity { state: OpportunityStatus::Active, updated_at: now, ..self.clone() })
    }

    fn not_found(&self) -> DomainError {
        DomainError::NotFound(format!("no opportunity {}", self.opportunity_id))
    }

    /// The sweep's transition once the end date has passed.
    pub fn expire(&self, now: DateTime<Utc>) -> Option<Opportunity> {
        (self.state == OpportunityStatus::Active && self.status(now) == OpportunityStatus::Expired).then(|| Opportunity {
            state: OpportunityStatus::Expired,
            updated_at: now,
            ..self.clone()
        })
    }

    /// Records an offer made from it; a single-use authorization is consumed by the first.
    pub fn record_offer(&self, now: DateTime<Utc>) -> DomainResult<Opportunity> {
        self.require_active(now, "making an offer")?;
        let state = if self.duration.single_use() { OpportunityStatus::Complete } else { OpportunityStatus::Active };
        Ok(Opportunity { state, offers_created: self.offers_created + 1, updated_at: now, ..self.clone() })
    }

    fn require_isv(&self, caller: &AccountId, action: &str) -> DomainResult<()> {
        if &self.isv_account_id == caller {
            Ok(())
        } else if self.is_party(caller) {
            Err(DomainError::Forbidden(format!("only the ISV can {action} an opportunity")))
        } else {
            Err(self.not_found())
        }
    }

    /// True while it is a draft, whose `PATCH` is a revision of its whole create body.
    pub fn is_draft(&self) -> bool {
        self.state == OpportunityStatus::Draft
    }

    /// `PATCH` on a draft: the create body it was made from, each given field replacing its own.
    /// The resellers stay (each draft is one reseller's), and release has its own route.
    pub fn draft_body(&self, caller: &AccountId, body: &Map<String, Value>) -> DomainResult<Value> {
        self.require_isv(caller, "change")?;
        let mut merged = self.create_body();
        for (key, value) in body {
            match key.as_str() {
                "resellerAccountIds" | "draft" => return Err(DomainError::ImmutableField { field: key.clone() }),
                k if CREATE_FIELDS.contains(&k) => merged[k] = value.clone(),
                k => return Err(DomainError::field(k, format!("{k} is not a field of an opportunity"))),
            }
        }
        merged["draft"] = Value::Bool(true);
        Ok(merged)
    }

    /// The draft as its revised create body makes it, checked as a new create.
    pub fn revise(&self, input: CreateOpportunityInput, ctx: CreateContext<'_>) -> DomainResult<Opportunity> {
        let now = ctx.now;
        let revised = create(input, CreateContext { opportunity_ids: vec![self.opportunity_id.clone()], ..ctx })?;
        let [revised] = <[Opportunity; 1]>::try_from(revised).map_err(|_| DomainError::invalid("a draft has one reseller"))?;
        Ok(Opportunity { created_at: self.created_at, event_count: self.event_count, updated_at: now, ..revised })
    }

    /// `PATCH`: only the description and the notification emails change, in any status.
    pub fn patch(&self, caller: &AccountId, body: &Map<String, Value>, now: DateTime<Utc>) -> DomainResult<Opportunity> {
        self.require_isv(caller, "change")?;
        for key in body.keys() {
            match key.as_str() {
                "description" | "notificationEmails" => {}
                k if CREATE_FIELDS.contains(&k) => return Err(DomainError::ImmutableField { field: k.to_string() }),
                k => return Err(DomainError::field(k, format!("{k} is not a field of an opportunity"))),
            }
        }
        let mut next = self.clone();
        if let Some(value) = body.get("description") {
            next.description = match value {
                Value::Null => None,
                Value::String(s) => {
                    check_description(s)?;
                    Some(s.clone())
                }
                _ => return Err(DomainError::field("description", "description must be a string")),
            };
        }
        if let Some(value) = body.get("notificationEmails") {
            let emails: Vec<String> = serde_json::from_value(value.clone())
                .map_err(|_| DomainError::field("notificationEmails", "notificationEmails must be a list of strings"))?;
            validate::emails(&emails, "notificationEmails", 10)?;
            next.notification_emails = emails;
        }
        next.updated_at = now;
        Ok(next)
    }

    /// The API's shape: the stored state replaced by the status at `now`.
    pub fn view(&self, now: DateTime<Utc>) -> Value {
        let mut view = crate::view::with_status(self, self.status(now).as_str(), &["eventCount", "compiled"]);
        if let Some(file) = &self.compiled.eula {
            view["eulaSha256"] = Value::String(file.sha256.clone());
        }
        view
    }

    /// The buyer's EULA's file.
    pub fn eula_file(&self) -> DomainResult<LegalFile<'_>> {
        match &self.eula {
            Eula::Standard => Ok(LegalFile::Public(STANDARD_CONTRACTS_URL)),
            Eula::Custom { documents } => self.custom_file(documents, self.compiled.eula.as_ref(), "EULA"),
        }
    }

    /// The ISV–reseller agreement's file; none is a 404.
    pub fn reseller_agreement_file(&self) -> DomainResult<LegalFile<'_>> {
        match &self.reseller_agreement {
            ResellerAgreement::None => Err(DomainError::NotFound(format!("opportunity {} has no reseller agreement", self.opportunity_id))),
            ResellerAgreement::Rcmp => Ok(LegalFile::Public(STANDARD_CONTRACTS_URL)),
            ResellerAgreement::Custom { documents } => {
                self.custom_file(documents, self.compiled.reseller_agreement.as_ref(), "reseller agreement")
            }
        }
    }

    fn custom_file<'a>(
        &'a self,
        documents: &'a [crate::legal::Document],
        compiled: Option<&'a CompiledFile>,
        what: &str,
    ) -> DomainResult<LegalFile<'a>> {
        if let Some(file) = compiled {
            return Ok(LegalFile::Compiled(file));
        }
        let urls: Vec<&str> = documents.iter().filter_map(|d| d.url()).collect();
        if urls.is_empty() {
            let why = if self.is_draft() {
                "it is compiled when the draft is released"
            } else {
                "its documents were only declared, never uploaded"
            };
            return Err(DomainError::NotFound(format!("the {what} of opportunity {} has no file: {why}", self.opportunity_id)));
        }
        Ok(LegalFile::Hosted(urls))
    }

    /// The uploaded documents to compile as it becomes active: the EULA's, then the reseller
    /// agreement's, each when custom and uploaded.
    pub fn to_compile(&self) -> [(&'static str, Option<Vec<&crate::legal::StoredRef>>); 2] {
        [("eula", self.eula.stored()), ("reseller-agreement", self.reseller_agreement.stored())]
    }

    /// The create body that would make this opportunity again: what a clone starts from.
    pub fn create_body(&self) -> Value {
        let mut body = serde_json::json!({
            "name": self.name,
            "renewal": self.renewal,
            "renewalAcknowledged": self.renewal,
            "resellerAccountIds": [self.reseller_account_id],
            "productIds": self.products.iter().map(|p| p.product_id.as_str()).collect::<Vec<_>>(),
            "discount": self.discount,
            "duration": self.duration,
            "buyerAccountIds": self.buyer_account_ids,
            "eula": self.eula.input(),
            "resellerAgreement": self.reseller_agreement.input(),
            "notificationEmails": self.notification_emails,
        });
        if let Some(description) = &self.description {
            body["description"] = Value::String(description.clone());
        }
        if let Some(days) = self.net_payment_term_days {
            body["netPaymentTermDays"] = Value::from(days);
        }
        if let Some(date) = self.latest_agreement_start_date {
            body["latestAgreementStartDate"] = Value::String(date.to_string());
        }
        body
    }

    /// The opportunity, for an action only its ISV may take in any status (clone, export).
    pub fn for_isv(&self, caller: &AccountId, action: &str) -> DomainResult<&Opportunity> {
        self.require_isv(caller, action)?;
        Ok(self)
    }

    /// One line of the discount for people, e.g. in an email.
    pub fn discount_summary(&self) -> String {
        self.discount.summary()
    }
}

#[cfg(test)]
#[path = "opportunity_tests.rs"]
pub(crate) mod tests;
