//! How long an opportunity lasts: single use, until an end date, or with no end.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DurationInput {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub end_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Duration {
    #[serde(rename_all = "camelCase")]
    SingleUse {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_date: Option<NaiveDate>,
    },
    #[serde(rename_all = "camelCase")]
    EndDate {
        end_date: NaiveDate,
    },
    NoEnd,
}

impl Duration {
    pub fn end_date(&self) -> Option<NaiveDate> {
        match self {
            Duration::SingleUse { end_date } => *end_date,
            Duration::EndDate { end_date } => Some(*end_date),
            Duration::NoEnd => None,
        }
    }

    pub fn single_use(&self) -> bool {
        matches!(self, Duration::SingleUse { .. })
    }
}
