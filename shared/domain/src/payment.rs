//! One payment of a flexible payment schedule: an amount and the date it is invoiced.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub amount: Decimal,
    pub invoice_date: NaiveDate,
}
