use super::*;
use crate::opportunity::tests::{body, create_from, isv_id, now, opportunity, reseller_id, PRODUCT};
use chrono::TimeZone;
use serde_json::json;

const OFFER_ID: &str = "offer-0123456789abcdef0123456789abcdef";

pub fn buyer_id() -> AccountId {
    AccountId::parse("333344445555").unwrap()
}

pub fn input(v: serde_json::Value) -> ExtendOfferInput {
    let mut base = json!({
        "opportunityId": "opp-x",
        "productId": PRODUCT,
        "buyerAccountId": "333344445555",
        "buyerCompanyName": "Acme Corp",
        "markupPercentage": "10",
        "expiresOn": "2027-01-31"
    });
    for (k, val) in v.as_object().unwrap() {
        base[k] = val.clone();
    }
    serde_json::from_value(base).unwrap()
}

pub fn offer() -> Offer {
    extend(&input(json!({})), &reseller_id(), &opportunity(), None, OFFER_ID.into(), now()).unwrap().1
}

#[test]
fn one_of_each_dimension_by_default() {
    let o = offer();
    let totals: Vec<String> = o.pricing.lines.iter().map(|l| format!("{}:{}:{}", l.dimension_key, l.units, l.line_total)).collect();
    // users 100 → 80 → 88; admins 49.99 → 39.992 → 43.9912 → 43.99
    assert_eq!(totals, vec!["users:1:88.00", "admins:1:43.99"]);
    assert_eq!(o.pricing.wholesale_total.to_string(), "119.99");
    assert_eq!(o.pricing.buyer_total.to_string(), "131.99");
    assert_eq!(o.pricing.markup_total.to_string(), "12.00");
    assert_eq!(o.contract_months, 12);
}

#[test]
fn named_units_leave_the_rest_at_zero() {
    let o = extend(
        &input(json!({"units": [{"dimensionKey": "users", "units": 5}]})),
        &reseller_id(),
        &opportunity(),
        None,
        OFFER_ID.into(),
        now(),
    )
    .unwrap()
    .1;
    let units: Vec<u64> = o.pricing.lines.iter().map(|l| l.units).collect();
    assert_eq!(units, vec![5, 0]);
    assert_eq!(o.pricing.buyer_total.to_string(), "440.00");
}

#[test]
fn only_the_reseller_extends_and_outsiders_see_nothing() {
    let i = input(json!({}));
    assert!(matches!(extend(&i, &isv_id(), &opportunity(), None, OFFER_ID.into(), now()), Err(DomainError::Forbidden(_))));
    assert!(matches!(extend(&i, &buyer_id(), &opportunity(), None, OFFER_ID.into(), now()), Err(DomainError::NotFound(_))));
}

#[test]
fn each_offer_rule_names_its_field() {
    let cases = [
        (json!({"productId": "prod-ffffffffffffffffffffffffffffffff"}), "productId"),
        (json!({"buyerAccountId": "12"}), "buyerAccountId"),
        (json!({"buyerCompanyName": ""}), "buyerCompanyName"),
        (json!({"markupPercentage": "1000.5"}), "markupPercentage"),
        (json!({"markupPercentage": "1.1234567"}), "markupPercentage"),
        (json!({"expiresOn": "2027-01-09"}), "expiresOn"),
        (json!({"expiresOn": "2028-01-11"}), "expiresOn"),
        (json!({"contractMonths": 61}), "contractMonths"),
        (json!({"contractMonths": 0}), "contractMonths"),
        (json!({"units": [{"dimensionKey": "nope", "units": 1}]}), "units[0].dimensionKey"),
        (json!({"units": [{"dimensionKey": "users", "units": 0}]}), "units[0].units"),
        (json!({"units": [{"dimensionKey": "users", "units": 1}, {"dimensionKey": "users", "units": 2}]}), "units[1]"),
    ];
    for (v, field) in cases {
        match extend(&input(v.clone()), &reseller_id(), &opportunity(), None, OFFER_ID.into(), now()) {
            Err(DomainError::Validation { field: f, .. }) => assert_eq!(f.as_deref(), Some(field), "{v}"),
            other => panic!("{v}: expected a validation error, got {other:?}"),
        }
    }
}

#[test]
fn a_restricted_buyer_list_is_enforced() {
    let mut b = body();
    b["buyerAccountIds"] = json!(["999988887777"]);
    let restricted = create_from(b).unwrap().remove(0);
    assert!(matches!(
        extend(&input(json!({})), &reseller_id(), &restricted, None, OFFER_ID.into(), now()),
        Err(DomainError::Validation { .. })
    ));
    assert!(extend(&input(json!({"buyerAccountId": "999988887777"})), &reseller_id(), &restricted, None, OFFER_ID.into(), now()).is_ok());
}

#[test]
fn no_offer_from_an_inactive_opportunity() {
    let revoked = opportunity().revoke(&isv_id(), None, now()).unwrap();
    assert!(matches!(extend(&input(json!({})), &reseller_id(), &revoked, None, OFFER_ID.into(), now()), Err(DomainError::Conflict(_))));
}

#[test]
fn acceptance_makes_an_agreement_that_adds_up() {
    let (accepted, agreement) = offer().accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), now()).unwrap();
    assert_eq!(accepted.status(now()), OfferStatus::Accepted);
    assert_eq!(agreement.intent, Intent::New);
    assert_eq!(agreement.start_date.to_string(), "2027-01-10");
    assert_eq!(agreement.end_date.to_string(), "2028-01-09");
    let d = &agreement.disbursement;
    assert_eq!(d.fee_rate.to_string(), "0.035");
    assert_eq!(d.isv_fee.to_string(), "4.20");
    assert_eq!(d.reseller_fee.to_string(), "0.42");
    assert_eq!(d.isv_net + d.isv_fee + d.reseller_net + d.reseller_fee, d.buyer_total);
}

#[test]
fn only_the_buyer_accepts_and_only_once() {
    let o = offer();
    assert!(matches!(o.accept(&reseller_id(), "agr-1".into(), &FeeSchedule::default(), now()), Err(DomainError::Forbidden(_))));
    assert!(matches!(
        o.accept(&AccountId::parse("555555555555").unwrap(), "agr-1".into(), &FeeSchedule::default(), now()),
        Err(DomainError::NotFound(_))
    ));
    let (accepted, _) = o.accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), now()).unwrap();
    assert!(matches!(accepted.accept(&buyer_id(), "agr-2".into(), &FeeSchedule::default(), now()), Err(DomainError::Conflict(_))));
    assert!(matches!(accepted.cancel(&reseller_id(), now()), Err(DomainError::Conflict(_))));
}

#[test]
fn an_offer_past_its_last_day_reads_expired_and_cannot_be_accepted() {
    let o = offer();
    let last_moment = Utc.with_ymd_and_hms(2027, 1, 31, 23, 59, 59).unwrap();
    assert_eq!(o.status(last_moment), OfferStatus::Extended);
    let after = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
    assert_eq!(o.status(after), OfferStatus::Expired);
    assert_eq!(o.due_at(), Some(after));
    assert!(matches!(o.accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), after), Err(DomainError::Conflict(_))));
}

#[test]
fn cancel_is_the_resellers() {
    let o = offer();
    assert!(matches!(o.cancel(&buyer_id(), now()), Err(DomainError::Forbidden(_))));
    assert!(matches!(o.cancel(&isv_id(), now()), Err(DomainError::Forbidden(_))));
    assert_eq!(o.cancel(&reseller_id(), now()).unwrap().state, OfferStatus::Cancelled);
}

fn wholesale_keys(v: &serde_json::Value, found: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, child) in m {
                let lower = k.to_lowercase();
                let money_key =
                    ["feeRate", "isvFee", "isvNet", "resellerFee", "resellerNet", "discount", "resellerAgreement"].contains(&k.as_str());
                if lower.contains("wholesale") || lower.contains("markup") || money_key {
                    found.push(k.clone());
                }
                wholesale_keys(child, found);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| wholesale_keys(c, found)),
        _ => {}
    }
}

#[test]
fn the_buyer_never_sees_a_wholesale_figure() {
    let o = offer();
    let (_, agreement) = o.accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), now()).unwrap();
    for view in [o.view(&buyer_id(), now()), agreement.view(&buyer_id(), now())] {
        let mut found = vec![];
        wholesale_keys(&view, &mut found);
        assert!(found.is_empty(), "buyer view shows {found:?}: {view}");
        assert_eq!(view["pricing"]["buyerTotal"], "131.99");
    }
    let mut found = vec![];
    wholesale_keys(&o.view(&reseller_id(), now()), &mut found);
    assert!(found.contains(&"wholesaleTotal".to_string()));
}

#[test]
fn a_deals_events_are_numbered_in_order_from_the_offer_through_its_agreement() {
    use crate::event::{Event, EventType};
    let mut o = offer();
    let extended = Event::for_offer(EventType::OfferExtended, &mut o, "evt-1".into(), now(), None);
    assert_eq!((extended.deal_id.as_str(), extended.sequence), (OFFER_ID, 1));
    let (_, mut agreement) = o.accept(&buyer_id(), "agr-1".into(), &crate::fees::FeeSchedule::default(), now()).unwrap();
    let accepted = Event::for_agreement(EventType::OfferAccepted, &mut agreement, None, "evt-2".into(), now(), None);
    assert_eq!((accepted.deal_id.as_str(), accepted.sequence), (OFFER_ID, 2), "the agreement carries the offer's deal on");
    let later = now() + chrono::Duration::days(400);
    let mut expired = agreement.expire(later).unwrap();
    let ended = Event::for_agreement(EventType::AgreementExpired, &mut expired, None, "evt-3".into(), later, None);
    assert_eq!(ended.sequence, 3);
    // What the bus gets: AWS Marketplace's names, one entry per side of an agreement.
    let names = |e: &Event| e.marketplace.iter().map(|m| m.detail_type.clone()).collect::<Vec<_>>();
    assert_eq!(names(&extended), ["Offer Released"]);
    assert_eq!(names(&accepted), ["Purchase Agreement Created - Proposer", "Purchase Agreement Created - Manufacturer"]);
    assert_eq!(names(&ended), ["Purchase Agreement Ended - Proposer", "Purchase Agreement Ended - Manufacturer"]);
    assert_eq!(ended.marketplace[0].detail["agreement"], json!({"id": "agr-1", "status": "EXPIRED"}));
    for (event, request_id) in [(&extended, "evt-1"), (&accepted, "evt-2"), (&ended, "evt-3")] {
        for entry in &event.marketplace {
            let text = entry.detail.to_string();
            assert!(!text.contains("wholesale") && !text.contains("119.99") && !text.contains("disbursement"), "{text}");
            assert_eq!(entry.detail["requestId"], request_id, "every copy of a fact names its event");
        }
    }
}

/// An offer made now by the reseller from `opportunity`, with `extra` fields in its body.
fn made_from(opportunity: &Opportunity, extra: serde_json::Value) -> DomainResult<(Opportunity, Offer)> {
    extend(&input(extra), &reseller_id(), opportunity, None, OFFER_ID.into(), now())
}

/// A 12-month agreement accepted at `now()` (2027-01-10): it ends 2028-01-09.
pub fn agreement() -> Agreement {
    issued(offer().accept(&buyer_id(), "agr-0123456789abcdef0123456789abcdef".into(), &FeeSchedule::default(), now()).unwrap().1)
}

/// An agreement as its acceptance stores it: its upfront invoice issued at once.
fn issued(a: Agreement) -> Agreement {
    crate::invoice::issue_due(&a, now(), 30).0
}

fn at(date: &str, hms: (u32, u32, u32)) -> DateTime<Utc> {
    let d = parse_date(date).unwrap();
    Utc.with_ymd_and_hms(chrono::Datelike::year(&d), chrono::Datelike::month(&d), chrono::Datelike::day(&d), hms.0, hms.1, hms.2).unwrap()
}

#[test]
fn a_future_dated_agreement_starts_on_its_date_and_runs_its_months_from_then() {
    let o = made_from(&opportunity(), json!({"agreementStartDate": "2027-03-01"})).unwrap().1;
    let (_, a) = o.accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), now()).unwrap();
    assert_eq!((a.start_date.to_string(), a.end_date.to_string()), ("2027-03-01".into(), "2028-02-29".into()));
    assert_eq!(a.status(now()), AgreementStatus::Active, "accepted now, active now");
    // Accepted on or after its date, it starts on the day of acceptance.
    let late = at("2027-03-05", (9, 0, 0));
    let o = Offer { expires_on: parse_date("2027-03-31").unwrap(), ..o };
    let (_, a) = o.accept(&buyer_id(), "agr-2".into(), &FeeSchedule::default(), late).unwrap();
    assert_eq!(a.start_date.to_string(), "2027-03-05");
}

#[test]
fn an_agreement_start_date_is_tomorrow_to_three_years_and_within_the_opportunitys_latest() {
    for (raw, ok) in [("2027-01-10", false), ("2027-01-11", true), ("2030-01-10", true), ("2030-01-11", false), ("2027-1-11", false)] {
        let got = made_from(&opportunity(), json!({"agreementStartDate": raw}));
        assert_eq!(got.is_ok(), ok, "{raw}: {got:?}");
        if !ok {
            assert_eq!(crate::opportunity::tests::field_of(got.unwrap_err()).as_deref(), Some("agreementStartDate"));
        }
    }
    let bounded = Opportunity { latest_agreement_start_date: parse_date("2027-06-30"), ..opportunity() };
    assert!(made_from(&bounded, json!({"agreementStartDate": "2027-06-30"})).is_ok());
    let err = made_from(&bounded, json!({"agreementStartDate": "2027-07-01"})).unwrap_err();
    assert_eq!(crate::opportunity::tests::field_of(err).as_deref(), Some("agreementStartDate"));
}

#[test]
fn net_payment_terms_default_to_thirty_days_or_the_opportunitys_shorter_ones() {
    assert_eq!(offer().net_payment_term_days, 30);
    let short = Opportunity { net_payment_term_days: Some(15), ..opportunity() };
    let o = made_from(&short, json!({})).unwrap().1;
    assert_eq!(o.net_payment_term_days, 15);
    let long = Opportunity { net_payment_term_days: Some(60), ..opportunity() };
    let o = made_from(&long, json!({"netPaymentTermDays": 45})).unwrap().1;
    assert_eq!(o.net_payment_term_days, 45);
    for (opp, days) in [(&long, 90), (&long, 31), (&short, 30)] {
        let err = made_from(opp, json!({"netPaymentTermDays": days})).unwrap_err();
        assert_eq!(crate::opportunity::tests::field_of(err).as_deref(), Some("netPaymentTermDays"), "{days}");
    }
}

#[test]
fn metadata_is_bounded_and_kept_from_the_buyer() {
    let o = made_from(&opportunity(), json!({"metadata": {"crmOpportunityId": "006A1", "quote.number": "Q-7"}})).unwrap().1;
    assert_eq!(o.view(&reseller_id(), now())["metadata"]["crmOpportunityId"], "006A1");
    assert!(o.view(&buyer_id(), now()).get("metadata").is_none());
    let (_, a) = o.accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), now()).unwrap();
    assert_eq!(a.view(&isv_id(), now())["metadata"]["quote.number"], "Q-7");
    assert!(a.view(&buyer_id(), now()).get("metadata").is_none());
    let many: serde_json::Map<String, serde_json::Value> = (0..21).map(|i| (format!("k{i}"), json!("v"))).collect();
    for bad in [json!({"bad key": "v"}), json!({"": "v"}), json!({"k": "x".repeat(257)}), serde_json::Value::Object(many)] {
        let err = made_from(&opportunity(), json!({"metadata": bad})).unwrap_err();
        assert!(crate::opportunity::tests::field_of(err).is_some_and(|f| f.starts_with("metadata")));
    }
}

#[test]
fn the_reseller_moves_the_last_day_while_extended_and_nothing_else() {
    let o = offer();
    let body = |v: serde_json::Value| v.as_object().unwrap().clone();
    let moved = o.patch(&reseller_id(), &body(json!({"expiresOn": "2027-06-30"})), now()).unwrap();
    assert_eq!(moved.expires_on.to_string(), "2027-06-30");
    assert_eq!(moved.due_at(), Some(at("2027-07-01", (0, 0, 0))));
    let earlier = o.patch(&reseller_id(), &body(json!({"expiresOn": "2027-01-10"})), now()).unwrap();
    assert_eq!(earlier.expires_on.to_string(), "2027-01-10");
    assert!(matches!(o.patch(&isv_id(), &body(json!({"expiresOn": "2027-06-30"})), now()), Err(DomainError::Forbidden(_))));
    let outsider = AccountId::parse("999988887777").unwrap();
    assert!(matches!(o.patch(&outsider, &body(json!({"expiresOn": "2027-06-30"})), now()), Err(DomainError::NotFound(_))));
    assert!(matches!(o.patch(&reseller_id(), &body(json!({"markupPercentage": "5"})), now()), Err(DomainError::ImmutableField { .. })));
    for bad in ["2027-01-09", "2028-01-11", "soon"] {
        let err = o.patch(&reseller_id(), &body(json!({"expiresOn": bad})), now()).unwrap_err();
        assert_eq!(crate::opportunity::tests::field_of(err).as_deref(), Some("expiresOn"), "{bad}");
    }
    let cancelled = o.cancel(&reseller_id(), now()).unwrap();
    assert!(matches!(cancelled.patch(&reseller_id(), &body(json!({"expiresOn": "2027-06-30"})), now()), Err(DomainError::Conflict(_))));
}

#[test]
fn renewal_reminders_fall_due_at_midnight_ninety_sixty_and_thirty_days_before_the_end() {
    let a = agreement();
    assert_eq!(a.end_date.to_string(), "2028-01-09");
    // 90 days before 2028-01-09 is 2027-10-11.
    assert_eq!(a.due_at(), Some(at("2027-10-11", (0, 0, 0))));
    assert!(a.remind(at("2027-10-10", (23, 59, 59))).is_none(), "91 days left: not yet");
    let a = a.remind(at("2027-10-11", (0, 0, 0))).unwrap();
    let days = a.days_left(at("2027-10-11", (0, 0, 0)));
    assert_eq!((days, a.reminded_days), (90, Some(90)));
    assert!(a.remind(at("2027-10-12", (0, 0, 0))).is_none(), "once each");
    assert_eq!(a.due_at(), Some(at("2027-11-10", (0, 0, 0))));
    let a = a.remind(at("2027-11-10", (6, 0, 0))).unwrap();
    let days = a.days_left(at("2027-11-10", (6, 0, 0)));
    assert_eq!(days, 60);
    let a = a.remind(at("2027-12-11", (0, 0, 0))).unwrap();
    let days = a.days_left(at("2027-12-11", (0, 0, 0)));
    assert_eq!((days, a.reminded_days), (29, Some(30)), "a late sweep says the days actually left");
    assert_eq!(a.due_at(), Some(at("2028-01-10", (0, 0, 0))), "then only its end is due");
}

#[test]
fn when_several_reminders_are_due_only_the_nearest_is_sent() {
    let a = agreement().remind(at("2027-11-10", (0, 0, 0))).unwrap();
    let days = a.days_left(at("2027-11-10", (0, 0, 0)));
    assert_eq!((days, a.reminded_days), (60, Some(60)));
    assert_eq!(a.due_at(), Some(at("2027-12-10", (0, 0, 0))), "the 90-day one is passed over for good");
}

#[test]
fn a_short_agreement_skips_the_reminders_longer_than_its_term() {
    let o = made_from(&opportunity(), json!({"contractMonths": 2})).unwrap().1;
    let a = issued(o.accept(&buyer_id(), "agr-1".into(), &FeeSchedule::default(), now()).unwrap().1);
    // 2027-01-10 to 2027-03-09: 30 days before is 2027-02-07, after its start; 60 and 90 are not.
    assert_eq!(a.due_at(), Some(at("2027-02-07", (0, 0, 0))));
    let a = a.remind(at("2027-02-07", (0, 0, 0))).unwrap();
    let days = a.days_left(at("2027-02-07", (0, 0, 0)));
    assert_eq!(days, 30);
    assert!(a.remind(at("2027-03-01", (0, 0, 0))).is_none());
}

#[test]
fn a_future_dated_successor_replaces_its_predecessor_on_the_day_it_starts() {
    let current = agreement();
    let successor = Agreement { agreement_id: "agr-next".into(), start_date: parse_date("2028-01-10").unwrap(), ..current.clone() };
    let marked = current.replace(&successor, now()).unwrap();
    assert_eq!(marked.state, AgreementStatus::Active);
    assert_eq!(marked.status(at("2028-01-09", (23, 59, 59))), AgreementStatus::Active, "active until the day before");
    assert_eq!(marked.status(at("2028-01-10", (0, 0, 0))), AgreementStatus::Replaced, "replaced, not expired, from then");
    assert!(marked.remind(at("2027-10-11", (0, 0, 0))).is_none(), "no renewal reminder once its successor is on its way");
    assert_eq!(marked.due_at(), Some(at("2028-01-10", (0, 0, 0))));
    assert!(marked.settle_replacement(at("2028-01-09", (12, 0, 0))).is_none());
    let settled = marked.settle_replacement(at("2028-01-10", (0, 0, 0))).unwrap();
    assert_eq!((settled.state, settled.due_at()), (AgreementStatus::Replaced, None));
    assert!(matches!(marked.replace(&successor, now()), Err(DomainError::Conflict(_))), "one successor at a time");
}
