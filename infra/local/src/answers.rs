//! API Gateway's own answers: what the HTTP API says before any function runs. Their bodies are
//! API Gateway's (`{"message": ...}`), not the functions' error shape, here as in AWS; clients go
//! by the status code.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use cppo_platform::http::json_response;
use http::HeaderValue;
use serde_json::json;

fn message(status: u16, text: &str) -> ApiGatewayV2httpResponse {
    json_response(status, &json!({ "message": text }))
}

/// The JWT authorizer's 401. A token that was given but failed says why in `www-authenticate`,
/// as API Gateway does; a missing one gets the bare 401.
pub fn unauthorized(why: Option<&str>) -> ApiGatewayV2httpResponse {
    let mut response = message(401, "Unauthorized");
    if let Some(why) = why {
        let challenge = format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{why}\"");
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers.insert("www-authenticate", value);
        }
    }
    response
}

/// No route for this method and path: HTTP APIs have no 405, an unknown method is this 404 too.
pub fn not_found() -> ApiGatewayV2httpResponse {
    message(404, "Not Found")
}

/// The stage's throttling (`ThrottlingRateLimit`, `ThrottlingBurstLimit`).
pub fn too_many_requests() -> ApiGatewayV2httpResponse {
    message(429, "Too Many Requests")
}

/// A body over API Gateway's own 10 MB payload limit (the functions refuse 64 KiB and more).
pub fn too_large() -> ApiGatewayV2httpResponse {
    message(413, "Request Entity Too Large")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::encodings::Body;

    fn body(response: &ApiGatewayV2httpResponse) -> serde_json::Value {
        match &response.body {
            Some(Body::Text(text)) => serde_json::from_str(text).unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }

    #[test]
    fn bodies_are_api_gateways() {
        assert_eq!((not_found().status_code, body(&not_found())), (404, json!({"message": "Not Found"})));
        assert_eq!(body(&too_many_requests()), json!({"message": "Too Many Requests"}));
        let refused = unauthorized(Some("the token has expired"));
        assert_eq!((refused.status_code, body(&refused)), (401, json!({"message": "Unauthorized"})));
        assert!(refused.headers["www-authenticate"].to_str().unwrap_or_default().contains("error=\"invalid_token\""));
        assert!(!unauthorized(None).headers.contains_key("www-authenticate"));
    }
}
