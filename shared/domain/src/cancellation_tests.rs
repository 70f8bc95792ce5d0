use super::*;
use crate::offer::tests::{agreement, buyer_id};
use crate::opportunity::tests::{isv_id, now, reseller_id};

fn ask(reason: &str) -> CancellationInput {
    CancellationInput { reason: reason.into() }
}

fn requested() -> Agreement {
    agreement().request_cancellation(&reseller_id(), &ask("the buyer moved to another plan"), "acr-1".into(), now()).unwrap()
}

#[test]
fn the_reseller_asks_and_one_request_is_pending_at_a_time() {
    let a = requested();
    let c = a.cancellation.as_ref().unwrap();
    assert_eq!((c.status, c.reason.as_str()), (CancellationStatus::PendingApproval, "the buyer moved to another plan"));
    assert_eq!(a.status(now()), AgreementStatus::Active, "a request alone changes nothing");
    let again = a.request_cancellation(&reseller_id(), &ask("again"), "acr-2".into(), now());
    assert!(matches!(again, Err(DomainError::Conflict(_))));
}

#[test]
fn each_step_belongs_to_its_party() {
    let a = agreement();
    let outsider = AccountId::parse("999988887777").unwrap();
    assert!(matches!(a.request_cancellation(&outsider, &ask("x"), "acr-1".into(), now()), Err(DomainError::NotFound(_))));
    for wrong in [isv_id(), buyer_id()] {
        assert!(matches!(a.request_cancellation(&wrong, &ask("x"), "acr-1".into(), now()), Err(DomainError::Forbidden(_))));
    }
    let a = requested();
    for wrong in [isv_id(), reseller_id()] {
        assert!(matches!(a.answer_cancellation(&wrong, Answer::Accept, now()), Err(DomainError::Forbidden(_))));
    }
    assert!(matches!(a.withdraw_cancellation(&buyer_id(), now()), Err(DomainError::Forbidden(_))));
    assert!(matches!(a.latest_cancellation(&outsider), Err(DomainError::NotFound(_))));
    assert!(a.latest_cancellation(&isv_id()).is_ok());
}

#[test]
fn a_reason_is_one_to_256_characters() {
    for bad in ["", &"x".repeat(257)] {
        let err = agreement().request_cancellation(&reseller_id(), &ask(bad), "acr-1".into(), now()).unwrap_err();
        assert!(matches!(err, DomainError::Validation { field: Some(ref f), .. } if f == "reason"), "{err:?}");
    }
}

#[test]
fn accepted_it_cancels_the_agreement_and_nothing_more_can_be_asked() {
    let later = now() + chrono::Duration::days(1);
    let a = requested().answer_cancellation(&buyer_id(), Answer::Accept, later).unwrap();
    assert_eq!((a.status(later), a.due_at()), (AgreementStatus::Cancelled, None));
    let c = a.cancellation.as_ref().unwrap();
    assert_eq!((c.status, c.answered_at), (CancellationStatus::Accepted, Some(later)));
    assert!(matches!(a.request_cancellation(&reseller_id(), &ask("x"), "acr-2".into(), later), Err(DomainError::Conflict(_))));
    assert!(matches!(a.answer_cancellation(&buyer_id(), Answer::Reject, later), Err(DomainError::Conflict(_))));
}

#[test]
fn rejected_or_withdrawn_the_agreement_stands_and_a_new_request_may_follow() {
    let rejected = requested().answer_cancellation(&buyer_id(), Answer::Reject, now()).unwrap();
    assert_eq!(rejected.cancellation.as_ref().unwrap().status, CancellationStatus::Rejected);
    assert_eq!(rejected.status(now()), AgreementStatus::Active);
    let withdrawn = requested().withdraw_cancellation(&reseller_id(), now()).unwrap();
    assert_eq!(withdrawn.cancellation.as_ref().unwrap().status, CancellationStatus::Withdrawn);
    assert!(matches!(withdrawn.withdraw_cancellation(&reseller_id(), now()), Err(DomainError::Conflict(_))), "none pending");
    assert!(withdrawn.request_cancellation(&reseller_id(), &ask("once more"), "acr-3".into(), now()).is_ok());
}

#[test]
fn only_an_active_agreement_can_be_cancelled() {
    let ended = now() + chrono::Duration::days(400);
    assert!(matches!(agreement().request_cancellation(&reseller_id(), &ask("x"), "acr-1".into(), ended), Err(DomainError::Conflict(_))));
    assert!(matches!(requested().answer_cancellation(&buyer_id(), Answer::Accept, ended), Err(DomainError::Conflict(_))));
}

#[test]
fn the_view_is_the_contracts_cancellation() {
    let a = requested();
    let view = a.cancellation_view(a.cancellation.as_ref().unwrap());
    let mut keys: Vec<&String> = view.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["agreementId", "reason", "requestedAt", "status"]);
    assert_eq!(view["status"], "pendingApproval");
}
