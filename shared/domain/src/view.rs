//! The API's shape of a stored aggregate: its stored state swapped for the status at the moment
//! of reading, and the fields kept only for our own use left out.

use serde::Serialize;
use serde_json::Value;

pub fn with_status<T: Serialize>(stored: &T, status: &str, internal: &[&str]) -> Value {
    let mut value = serde_json::to_value(stored).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("state");
        for field in internal {
            map.remove(*field);
        }
        map.insert("status".into(), Value::String(status.into()));
    }
    value
}
