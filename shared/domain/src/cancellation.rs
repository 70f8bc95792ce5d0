//! Cancelling an agreement takes both sides, as on AWS Marketplace: the reseller (the seller of
//! record) asks, with a reason, and the buyer accepts or rejects; the reseller may withdraw a
//! request still pending. The agreement keeps its latest request.

use crate::agreement::{Agreement, AgreementStatus, Cancellation, CancellationStatus};
use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::party::Party;
use crate::validate;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// `POST /agreements/{id}/cancellation`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancellationInput {
    pub reason: String,
}

/// The buyer's answer to a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Reject,
}

impl Agreement {
    fn require_party(&self, caller: &AccountId) -> DomainResult<Party> {
        self.party(caller).ok_or_else(|| DomainError::NotFound(format!("no agreement {}", self.agreement_id)))
    }

    fn require(&self, caller: &AccountId, who: Party, action: &str) -> DomainResult<()> {
        self.require_party(caller)?;
        // One account may hold several places in a deal: what it may do follows from each.
        let holds = match who {
            Party::Isv => caller == &self.isv_account_id,
            Party::Reseller => caller == &self.reseller_account_id,
            Party::Buyer => caller == &self.buyer_account_id,
        };
        if holds {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!("only the {} can {action}", party_name(who))))
        }
    }

    fn pending(&self) -> Option<&Cancellation> {
        self.cancellation.as_ref().filter(|c| c.status == CancellationStatus::PendingApproval)
    }

    fn require_active(&self, now: DateTime<Utc>) -> DomainResult<()> {
        match self.status(now) {
            AgreementStatus::Active => Ok(()),
            status => Err(DomainError::Conflict(format!(
                "agreement {} is {}; only an active agreement can be cancelled",
                self.agreement_id,
                status.as_str()
            ))),
        }
    }

    /// The latest request, to any party of the deal.
    pub fn latest_cancellation(&self, caller: &AccountId) -> DomainResult<&Cancellation> {
        self.require_party(caller)?;
        self.cancellation
            .as_ref()
            .ok_or_else(|| DomainError::NotFound(format!("agreement {} has no cancellation request", self.agreement_id)))
    }

    /// The reseller asks the buyer to cancel; one request may be pending at a time.
    pub fn request_cancellation(
        &self,
        caller: &AccountId,
        input: &CancellationInput,
        request_id: String,
        now: DateTime<Utc>,
    ) -> DomainResult<Agreement> {
        self.require(caller, Party::Reseller, "request a cancellation")?;
        validate::text(&input.reason, "reason", 1, 256)?;
        self.require_active(now)?;
        if self.pending().is_some() {
            return Err(DomainError::Conflict(format!("agreement {} already has a cancellation request pending", self.agreement_id)));
        }
        let request = Cancellation {
            request_id,
            status: CancellationStatus::PendingApproval,
            reason: input.reason.clone(),
            requested_at: now,
            answered_at: None,
        };
        Ok(Agreement { cancellation: Some(request), ..self.clone() })
    }

    /// The reseller takes back its pending request.
    pub fn withdraw_cancellation(&self, caller: &AccountId, now: DateTime<Utc>) -> DomainResult<Agreement> {
        self.require(caller, Party::Reseller, "withdraw a cancellation request")?;
        self.settled(CancellationStatus::Withdrawn, now, None)
    }

    /// The buyer's answer: accepted, the agreement is cancelled; rejected, it stands as it was.
    pub fn answer_cancellation(&self, caller: &AccountId, answer: Answer, now: DateTime<Utc>) -> DomainResult<Agreement> {
        self.require(caller, Party::Buyer, "answer a cancellation request")?;
        match answer {
            Answer::Accept => {
                self.require_active(now)?;
                self.settled(CancellationStatus::Accepted, now, Some(AgreementStatus::Cancelled))
            }
            Answer::Reject => self.settled(CancellationStatus::Rejected, now, None),
        }
    }

    fn settled(&self, status: CancellationStatus, now: DateTime<Utc>, state: Option<AgreementStatus>) -> DomainResult<Agreement> {
        let pending = self
            .pending()
            .ok_or_else(|| DomainError::Conflict(format!("agreement {} has no cancellation request pending", self.agreement_id)))?;
        let answered = Cancellation { status, answered_at: Some(now), ..pending.clone() };
        // Cancelled today: its last day, which ends its invoices still to come.
        let ended_on = if state == Some(AgreementStatus::Cancelled) { Some(now.date_naive()) } else { self.ended_on };
        Ok(Agreement { cancellation: Some(answered), state: state.unwrap_or(self.state), ended_on, ..self.clone() })
    }

    /// The API's shape of the latest request.
    pub fn cancellation_view(&self, cancellation: &Cancellation) -> Value {
        let mut view = serde_json::to_value(cancellation).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut view {
            map.remove("requestId");
            map.insert("agreementId".into(), json!(self.agreement_id));
        }
        view
    }
}

fn party_name(party: Party) -> &'static str {
    match party {
        Party::Isv => "ISV",
        Party::Reseller => "reseller",
        Party::Buyer => "buyer",
    }
}

#[cfg(test)]
#[path = "cancellation_tests.rs"]
mod tests;
