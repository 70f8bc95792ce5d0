use super::*;
use crate::product::tests::input as product_input;
use crate::seller::SellerInput;
use chrono::TimeZone;
use serde_json::json;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 10, 12, 0, 0).unwrap()
}

pub fn isv_id() -> AccountId {
    AccountId::parse("111122223333").unwrap()
}

pub fn reseller_id() -> AccountId {
    AccountId::parse("222233334444").unwrap()
}

pub fn seller(id: &AccountId, registered: bool) -> Seller {
    let input = SellerInput {
        display_name: format!("Seller {id}"),
        contact_email: None,
        notification_emails: vec![],
        public_profile_complete: true,
        tax_and_banking_complete: registered,
    };
    Seller::upsert(id.clone(), input, None, now()).unwrap()
}

pub fn product(id: &str) -> Product {
    Product::create(id.into(), isv_id(), product_input(&[("users", "100.00"), ("admins", "49.99")]), now()).unwrap()
}

pub const PRODUCT: &str = "prod-0123456789abcdef0123456789abcdef";
/// An AMI product of the same ISV, with the same dimensions.
pub const AMI_PRODUCT: &str = "prod-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const OPP_ID: &str = "opp-0123456789abcdef0123456789abcdef";

pub fn body() -> serde_json::Value {
    json!({
        "name": "ResellQ3Acme",
        "resellerAccountIds": ["222233334444"],
        "productIds": [PRODUCT],
        "discount": {"type": "percentage", "percentage": "20"},
        "duration": {"type": "endDate", "endDate": "2027-03-31"},
        "notificationEmails": ["ops@isv.example"]
    })
}

pub fn create_from(body: serde_json::Value) -> DomainResult<Vec<Opportunity>> {
    let input: CreateOpportunityInput = serde_json::from_value(body).map_err(|e| DomainError::invalid(e.to_string()))?;
    let isv = seller(&isv_id(), true);
    let resellers = vec![seller(&reseller_id(), true), seller(&AccountId::parse("999900001111").unwrap(), false)];
    let ami = Product { product_id: AMI_PRODUCT.into(), product_type: crate::product::ProductType::Ami, ..product(PRODUCT) };
    let products = vec![product(PRODUCT), ami];
    let ids = input.reseller_account_ids.iter().enumerate().map(|(i, _)| format!("{OPP_ID}{i}")).collect();
    create(
        input,
        CreateContext {
            isv: Some(&isv),
            isv_account_id: &isv_id(),
            resellers: &resellers,
            products: &products,
            documents: &[],
            now: now(),
            opportunity_ids: ids,
        },
    )
}

pub fn opportunity() -> Opportunity {
    create_from(body()).unwrap().remove(0)
}

pub fn field_of(err: DomainError) -> Option<String> {
    match err {
        DomainError::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

pub fn with(path: &str, value: serde_json::Value) -> serde_json::Value {
    let mut b = body();
    b[path] = value;
    b
}

#[test]
fn a_percentage_discount_sets_every_wholesale_price() {
    let o = opportunity();
    assert_eq!(o.status(now()), OpportunityStatus::Active);
    assert_eq!(o.reseller_name, "Seller 222233334444");
    let dims = &o.wholesale.products[0].dimensions;
    assert_eq!(dims[0].wholesale_price.unwrap().to_string(), "80");
    assert_eq!(dims[1].wholesale_price.unwrap().to_string(), "39.992");
}

#[test]
fn only_a_registered_isv_creates() {
    let input: CreateOpportunityInput = serde_json::from_value(body()).unwrap();
    let unregistered = seller(&isv_id(), false);
    let ctx = CreateContext {
        isv: Some(&unregistered),
        isv_account_id: &isv_id(),
        resellers: &[],
        products: &[],
        documents: &[],
        now: now(),
        opportunity_ids: vec![],
    };
    assert!(matches!(create(input, ctx), Err(DomainError::Forbidden(_))));
}

#[test]
fn each_field_rule_names_its_field() {
    let cases = [
        (with("name", json!("ab")), "name"),
        (with("name", json!("Resell Q3")), "name"),
        (with("description", json!("no <html> please")), "description"),
        (with("renewal", json!(true)), "renewalAcknowledged"),
        (with("resellerAccountIds", json!([])), "resellerAccountIds"),
        (with("resellerAccountIds", json!(["111122223333"])), "resellerAccountIds[0]"),
        (with("resellerAccountIds", json!(["999900001111"])), "resellerAccountIds[0]"),
        (with("resellerAccountIds", json!(["22223333444"])), "resellerAccountIds[0]"),
        (with("resellerAccountIds", json!(["222233334444", "222233334444"])), "resellerAccountIds[1]"),
        (with("productIds", json!(["prod-ffffffffffffffffffffffffffffffff"])), "productIds[0]"),
        (with("productIds", json!([PRODUCT, PRODUCT])), "productIds[1]"),
        (with("discount", json!({"type": "percentage", "percentage": "100"})), "discount.percentage"),
        (with("discount", json!({"type": "percentage", "percentage": "0"})), "discount.percentage"),
        (with("discount", json!({"type": "percentage", "percentage": "12.345"})), "discount.percentage"),
        (with("duration", json!({"type": "endDate", "endDate": "2027-01-09"})), "duration.endDate"),
        (with("duration", json!({"type": "endDate", "endDate": "2027-13-01"})), "duration.endDate"),
        (with("buyerAccountIds", json!(["1"])), "buyerAccountIds[0]"),
        (with("buyerAccountIds", json!(["333344445555", "333344445555"])), "buyerAccountIds[1]"),
        (with("notificationEmails", json!(["nope"])), "notificationEmails[0]"),
    ];
    for (body, field) in cases {
        assert_eq!(field_of(create_from(body.clone()).unwrap_err()).as_deref(), Some(field), "{body}");
    }
}

#[test]
fn a_renewal_needs_its_acknowledgement() {
    let mut b = with("renewal", json!(true));
    b["renewalAcknowledged"] = json!(true);
    assert!(create_from(b).unwrap()[0].renewal);
}

#[test]
fn twenty_five_buyers_at_most() {
    let buyers: Vec<String> = (0..26).map(|i| format!("3333444455{i:02}")).collect();
    assert_eq!(field_of(create_from(with("buyerAccountIds", json!(buyers))).unwrap_err()).as_deref(), Some("buyerAccountIds"));
    assert!(create_from(with("buyerAccountIds", json!(buyers[..25]))).is_ok());
}

#[test]
fn an_end_date_of_today_is_allowed_and_expires_tomorrow() {
    let o = create_from(with("duration", json!({"type": "endDate", "endDate": "2027-01-10"}))).unwrap().remove(0);
    assert_eq!(o.status(now()), OpportunityStatus::Active);
    let tomorrow = Utc.with_ymd_and_hms(2027, 1, 11, 0, 0, 0).unwrap();
    assert_eq!(o.status(tomorrow), OpportunityStatus::Expired);
    assert_eq!(o.due_at(), Some(tomorrow));
    assert_eq!(o.expire(tomorrow).unwrap().state, OpportunityStatus::Expired);
    assert!(o.expire(now()).is_none());
}

#[test]
fn open_ended_durations_never_fall_due() {
    let o = create_from(with("duration", json!({"type": "noEnd"}))).unwrap().remove(0);
    assert_eq!(o.due_at(), None);
    assert_eq!(o.status(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap()), OpportunityStatus::Active);
    let single = create_from(with("duration", json!({"type": "singleUse"}))).unwrap().remove(0);
    assert_eq!(single.due_at(), None);
}

#[test]
fn a_single_use_authorization_is_consumed_by_its_first_offer() {
    let o = create_from(with("duration", json!({"type": "singleUse", "endDate": "2027-02-01"}))).unwrap().remove(0);
    let used = o.record_offer(now()).unwrap();
    assert_eq!((used.state, used.offers_created), (OpportunityStatus::Complete, 1));
    assert!(matches!(used.record_offer(now()), Err(DomainError::Conflict(_))));
    let reusable = opportunity().record_offer(now()).unwrap().record_offer(now()).unwrap();
    assert_eq!((reusable.state, reusable.offers_created), (OpportunityStatus::Active, 2));
}

#[test]
fn either_party_ends_it_with_a_reason_and_only_while_active() {
    let o = opportunity();
    assert!(matches!(o.revoke(&AccountId::parse("555555555555").unwrap(), None, now()), Err(DomainError::NotFound(_))));
    let revoked = o.revoke(&isv_id(), None, now()).unwrap();
    assert_eq!((revoked.status(now()), revoked.restricted_by), (OpportunityStatus::Restricted, Some(RestrictedBy::Isv)));
    assert_eq!(revoked.due_at(), None);
    assert!(matches!(revoked.revoke(&isv_id(), None, now()), Err(DomainError::Conflict(_))));
    let ended = o.revoke(&reseller_id(), Some("we no longer sell this line".into()), now()).unwrap();
    assert_eq!(ended.restricted_by, Some(RestrictedBy::Reseller));
    assert_eq!(ended.restriction_reason.as_deref(), Some("we no longer sell this line"));
    let view = ended.view(now());
    assert_eq!((view["restrictedBy"].as_str(), view["status"].as_str()), (Some("reseller"), Some("restricted")));
    assert_eq!(field_of(o.revoke(&isv_id(), Some("x".repeat(257)), now()).unwrap_err()).as_deref(), Some("reason"));
    let later = Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap();
    assert!(matches!(o.revoke(&isv_id(), None, later), Err(DomainError::Conflict(_))));
}

#[test]
fn a_draft_is_the_isvs_alone_until_released_and_never_expires_by_itself() {
    let draft = create_from(with("draft", serde_json::json!(true))).unwrap().remove(0);
    assert_eq!(draft.status(now()), OpportunityStatus::Draft);
    assert!(!draft.is_party(&reseller_id()) && draft.is_party(&isv_id()));
    assert_eq!(draft.due_at(), None);
    let past_end = Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap();
    assert_eq!(draft.status(past_end), OpportunityStatus::Draft);
    assert!(matches!(draft.record_offer(now()), Err(DomainError::Conflict(_))), "a draft takes no offer");
    assert!(matches!(draft.release(&reseller_id(), now()), Err(DomainError::NotFound(_))));
    assert!(matches!(draft.release(&isv_id(), past_end), Err(DomainError::Conflict(_))), "its end date has passed");
    let active = draft.release(&isv_id(), now()).unwrap();
    assert_eq!(active.status(now()), OpportunityStatus::Active);
    assert!(active.is_party(&reseller_id()));
    assert!(matches!(active.release(&isv_id(), now()), Err(DomainError::Conflict(_))), "only a draft is released");
}

#[test]
fn a_drafts_patch_is_its_create_body_revised_but_for_the_resellers() {
    let draft = create_from(with("draft", serde_json::json!(true))).unwrap().remove(0);
    let body = |v: serde_json::Value| v.as_object().unwrap().clone();
    let merged = draft.draft_body(&isv_id(), &body(serde_json::json!({"name": "Renamed2027", "netPaymentTermDays": 60}))).unwrap();
    assert_eq!((merged["name"].as_str(), merged["draft"].as_bool()), (Some("Renamed2027"), Some(true)));
    assert_eq!(merged["netPaymentTermDays"], 60);
    for fixed in ["resellerAccountIds", "draft"] {
        let err = draft.draft_body(&isv_id(), &body(serde_json::json!({fixed: []}))).unwrap_err();
        assert!(matches!(err, DomainError::ImmutableField { .. }), "{fixed}");
    }
    assert!(matches!(draft.draft_body(&isv_id(), &body(serde_json::json!({"colour": 1}))), Err(DomainError::Validation { .. })));
}

#[test]
fn net_payment_terms_and_the_latest_start_are_checked() {
    let o = create_from(with("netPaymentTermDays", serde_json::json!(90))).unwrap().remove(0);
    assert_eq!(o.net_payment_term_days, Some(90));
    assert_eq!(
        field_of(create_from(with("netPaymentTermDays", serde_json::json!(31))).unwrap_err()).as_deref(),
        Some("netPaymentTermDays")
    );
    let o = create_from(with("latestAgreementStartDate", serde_json::json!("2030-01-10"))).unwrap().remove(0);
    assert_eq!(o.latest_agreement_start_date.map(|d| d.to_string()).as_deref(), Some("2030-01-10"));
    for bad in ["2030-01-11", "2027-01-09", "someday"] {
        let err = create_from(with("latestAgreementStartDate", serde_json::json!(bad))).unwrap_err();
        assert_eq!(field_of(err).as_deref(), Some("latestAgreementStartDate"), "{bad}");
    }
}

#[test]
fn patch_changes_only_description_and_emails() {
    let o = opportunity();
    let body = |v: serde_json::Value| v.as_object().unwrap().clone();
    let patched = o.patch(&isv_id(), &body(json!({"description": "Q3 resale", "notificationEmails": ["a@b.example"]})), now()).unwrap();
    assert_eq!(patched.description.as_deref(), Some("Q3 resale"));
    assert_eq!(patched.notification_emails, vec!["a@b.example"]);
    assert_eq!(
        o.patch(&isv_id(), &body(json!({"duration": {"type": "noEnd"}})), now()),
        Err(DomainError::ImmutableField { field: "duration".into() })
    );
    assert!(matches!(o.patch(&isv_id(), &body(json!({"colour": "red"})), now()), Err(DomainError::Validation { .. })));
    assert!(matches!(o.patch(&reseller_id(), &body(json!({"description": "x"})), now()), Err(DomainError::Forbidden(_))));
}

#[test]
fn a_view_shows_the_status_at_the_moment_of_reading() {
    let later = Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap();
    let view = opportunity().view(later);
    assert_eq!(view["status"], "expired");
    assert!(view.get("state").is_none());
    assert_eq!(view["wholesale"]["products"][0]["dimensions"][0]["wholesalePrice"], "80");
}

#[test]
fn unknown_fields_and_discount_types_are_refused() {
    assert!(create_from(with("colour", json!("red"))).is_err());
    assert!(create_from(with("discount", json!({"type": "percentage", "percentage": 20}))).is_err());
    assert!(create_from(with("discount", json!({"type": "percentage", "percentage": "20", "extra": 1}))).is_err());
}

#[test]
fn duration_and_discount_types_are_checked() {
    let bad = [
        (with("duration", json!({"type": "forever"})), "duration.type"),
        (with("duration", json!({"type": "endDate"})), "duration.endDate"),
        (with("duration", json!({"type": "noEnd", "endDate": "2027-02-01"})), "duration.endDate"),
        (with("discount", json!({"type": "individual"})), "discount.products"),
        (with("discount", json!({"type": "tiered"})), "discount.type"),
        (with("discount", json!({"type": "percentage"})), "discount.percentage"),
    ];
    for (body, field) in bad {
        assert_eq!(field_of(create_from(body.clone()).unwrap_err()).as_deref(), Some(field), "{body}");
    }
}
