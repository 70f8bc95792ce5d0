//! The JWT authorizer's work, locally: HS256 tokens signed with a shared secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::HashMap;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Malformed,
    BadSignature,
    Expired,
}

fn sign(secret: &str, signing_input: &str) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(signing_input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A token for `account_id` under `claim`, valid for `ttl_seconds` from `now_unix`.
pub fn mint(secret: &str, claim: &str, account_id: &str, now_unix: i64, ttl_seconds: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(account_id.into()));
    claims.insert(claim.into(), Value::String(account_id.into()));
    claims.insert("iat".into(), json!(now_unix));
    claims.insert("exp".into(), json!(now_unix + ttl_seconds));
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(secret, &signing_input));
    format!("{signing_input}.{signature}")
}

/// Verifies an `Authorization` header's bearer token against real time, and returns the claims
/// as API Gateway hands them to a function: every value a string.
pub fn verify(secret: &str, authorization: Option<&str>, now_unix: i64) -> Result<HashMap<String, String>, AuthError> {
    let token = authorization.and_then(|h| h.strip_prefix("Bearer ")).ok_or(AuthError::Missing)?.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else { return Err(AuthError::Malformed) };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| AuthError::Malformed);
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| AuthError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(AuthError::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| AuthError::Malformed)?;
    mac.update(format!("{}.{}", parts[0], payload).as_bytes());
    mac.verify_slice(&decode(signature)?).map_err(|_| AuthError::BadSignature)?;
    let claims: Map<String, Value> = serde_json::from_slice(&decode(payload)?).map_err(|_| AuthError::Malformed)?;
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now_unix => {}
        Some(_) => return Err(AuthError::Expired),
        None => return Err(AuthError::Malformed),
    }
    Ok(claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let token = mint("s3cret", "account_id", "111122223333", 1_000, 60);
        let header = format!("Bearer {token}");
        let claims = verify("s3cret", Some(&header), 1_030).unwrap();
        assert_eq!(claims["account_id"], "111122223333");
        assert_eq!(claims["exp"], "1060");
        assert_eq!(verify("s3cret", Some(&header), 1_060), Err(AuthError::Expired));
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let token = mint("s3cret", "account_id", "111122223333", 1_000, 60);
        assert_eq!(verify("other", Some(&format!("Bearer {token}")), 1_000), Err(AuthError::BadSignature));
        assert_eq!(verify("s3cret", None, 1_000), Err(AuthError::Missing));
        assert_eq!(verify("s3cret", Some(&token), 1_000), Err(AuthError::Missing));
        assert_eq!(verify("s3cret", Some("Bearer a.b"), 1_000), Err(AuthError::Malformed));
        let none_alg = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), token.split('.').nth(1).unwrap());
        assert_eq!(verify("s3cret", Some(&format!("Bearer {none_alg}")), 1_000), Err(AuthError::Malformed));
    }
}
