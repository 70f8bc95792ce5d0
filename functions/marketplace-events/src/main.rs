//! marketplace-events: the enrichment of the pipe from the table's stream to the EventBridge bus.
//! EventBridge Pipes calls it with a batch of stream records (a JSON array) and sends each entry it
//! answers to the bus: `detailType` and `time` as the event's, `detail` as its detail. What the
//! entries say was decided when the event was written; this only hands them on, so the local
//! relay, calling the same `bus_entries`, publishes exactly what AWS will.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cppo_platform::telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Vec<Value>>| async move {
        Ok::<_, lambda_runtime::Error>(cppo_platform::stream::bus_entries(&event.payload))
    }))
    .await
}
