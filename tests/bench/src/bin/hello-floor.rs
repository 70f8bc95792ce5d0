//! The cold-start floor: a hello-world `lambda_runtime` function, built with the same release
//! profile as the service's functions, in the same build.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move { Ok::<Value, Error>(json!({"hello": event.payload})) })).await
}
