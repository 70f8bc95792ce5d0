//! The parties to a deal, and which of them a caller is.

use crate::ids::AccountId;

/// Who the caller is to an offer or agreement. The buyer view applies only to a buyer who is
/// neither the ISV nor the reseller of the deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Isv,
    Reseller,
    Buyer,
}

pub fn party_of(caller: &AccountId, isv: &AccountId, reseller: &AccountId, buyer: &AccountId) -> Option<Party> {
    if caller == isv {
        Some(Party::Isv)
    } else if caller == reseller {
        Some(Party::Reseller)
    } else if caller == buyer {
        Some(Party::Buyer)
    } else {
        None
    }
}
