//! The table's stream as a pipe hands it on: records of event items, in DynamoDB's JSON. Both
//! pipes read it: the queue's gets the records as they are (notify reads the event's body), and
//! the bus's has each record turned into the entries its event item carries, by the enrichment
//! function in AWS and by the local relay alike, through `bus_entries`.

use cppo_domain::marketplace::MarketplaceEntry;
use cppo_domain::time::stamp;
use serde_json::{json, Value};

/// A pipe's target takes at most 10 entries a call; no event makes more than 4.
pub const MAX_ENTRIES_PER_RECORD: usize = 10;
const _: () = assert!(MAX_ENTRIES_PER_RECORD <= 10, "PutEvents takes 10 entries at most");

/// The entries of one stream record's event item, as the bus pipe's target reads them:
/// `detailType`, `time` and `detail` (the pipe puts `cppo.marketplace` as the source). A record
/// that is no event item, or whose entries cannot be read, gives none (and is logged).
pub fn record_entries(record: &Value) -> Vec<Value> {
    let Some(Value::String(raw)) = record.pointer("/dynamodb/NewImage/busEntries/S") else { return Vec::new() };
    match serde_json::from_str::<Vec<MarketplaceEntry>>(raw) {
        Ok(entries) => entries
            .into_iter()
            .take(MAX_ENTRIES_PER_RECORD)
            .map(|e| json!({"detailType": e.detail_type, "time": stamp(e.time), "detail": e.detail}))
            .collect(),
        Err(error) => {
            tracing::error!(%error, "an event item's bus entries cannot be read; none published for it");
            Vec::new()
        }
    }
}

/// Every record's entries, in the records' order: what the enrichment answers for a batch.
pub fn bus_entries(records: &[Value]) -> Vec<Value> {
    records.iter().flat_map(record_entries).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_gives_the_entries_its_event_item_carries_and_anything_else_none() {
        let entries = r#"[{"detailType":"Offer Released","detail":{"offer":{"id":"offer-1"}},"time":"2027-01-10T12:00:00Z"}]"#;
        let record = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "EVENT"}, "busEntries": {"S": entries}}}});
        assert_eq!(
            bus_entries(&[record.clone(), json!({"dynamodb": {"NewImage": {"kind": {"S": "OFFER"}}}}), record]),
            vec![json!({"detailType": "Offer Released", "time": "2027-01-10T12:00:00.000Z", "detail": {"offer": {"id": "offer-1"}}}); 2]
        );
        let broken = json!({"dynamodb": {"NewImage": {"busEntries": {"S": "not json"}}}});
        assert!(record_entries(&broken).is_empty());
    }
}
