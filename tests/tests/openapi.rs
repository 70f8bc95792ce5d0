//! The OpenAPI document and the routes the gateway serves agree, both ways.

mod common;

use common::*;
use local_gateway::server::LOCAL_ROUTES;

#[test]
fn every_served_route_is_documented_and_the_reverse() {
    let (doc, served) = (openapi_operations(), served_routes());
    let undocumented: Vec<_> = served.difference(&doc).collect();
    let unserved: Vec<_> = doc.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {unserved:?}"
    );
}

/// The live gateway answers every documented route: the API's with 401 without a token (a route
/// it did not know would be 404), the local ones with their own answer.
#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_answers_every_documented_route() {
    let stack = Stack::start().await;
    for (method, path) in openapi_operations() {
        let concrete = path.replace("{id}", "x").replace("{productId}", "x");
        let r = stack.call(&method, &concrete, None, None).await;
        let local = LOCAL_ROUTES.contains(&(method.as_str(), path.as_str()));
        if local {
            assert!(![404, 405].contains(&r.status), "{method} {path}: {r:?}");
        } else {
            assert_eq!(r.status, 401, "{method} {path}: {r:?}");
        }
    }
    assert_eq!(stack.call("GET", "/nowhere", None, None).await.body, serde_json::json!({"message": "Not Found"}));
}
