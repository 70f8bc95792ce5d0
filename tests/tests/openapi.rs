//! The OpenAPI document and the routes the gateway serves agree, both ways.

mod common;

use common::*;
use cppo_platform::routes::ROUTES;
use local_gateway::server::LOCAL_ROUTES;
use std::collections::BTreeSet;

fn documented() -> BTreeSet<(String, String)> {
    let doc = repo_yaml("infra/openapi.yaml");
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("a path item") {
            let method = method.as_str().unwrap_or_default();
            if ["get", "put", "post", "patch", "delete"].contains(&method) {
                ops.insert((method.to_uppercase(), path.as_str().unwrap_or_default().to_string()));
            }
        }
    }
    ops
}

fn served() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .chain(LOCAL_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect()
}

#[test]
fn every_served_route_is_documented_and_the_reverse() {
    let (doc, served) = (documented(), served());
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
    for (method, path) in documented() {
        let concrete = path.replace("{id}", "x").replace("{productId}", "x");
        let r = stack.call(&method, &concrete, None, None).await;
        let local = LOCAL_ROUTES.contains(&(method.as_str(), path.as_str()));
        if local {
            assert!(![404, 405].contains(&r.status), "{method} {path}: {r:?}");
        } else {
            assert_eq!(r.status, 401, "{method} {path}: {r:?}");
        }
    }
    assert_eq!(stack.call("GET", "/nowhere", None, None).await.status, 404);
}
