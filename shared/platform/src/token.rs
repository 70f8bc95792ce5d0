//! List tokens: where each side of a list stopped, signed with HMAC-SHA256 over the caller, the
//! route and the query, so a token cannot be edited, nor replayed by another caller or for
//! another query. A token carries each position as the listed item's own creation time and id
//! (what the caller has already seen), never a stored key, index or partition.

use crate::store::{Position, Stream};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type Signer = Hmac<Sha256>;

/// What a token is valid for: one caller, one route, one query.
pub struct Binding<'a> {
    pub caller: &'a str,
    pub route: &'a str,
    pub query: &'a str,
}

fn signature(key: &[u8], binding: &Binding<'_>, payload: &[u8]) -> Option<Signer> {
    let mut mac = Signer::new_from_slice(key).ok()?;
    for part in [binding.caller.as_bytes(), binding.route.as_bytes(), binding.query.as_bytes(), payload] {
        // Length-prefixed, so no two different bindings sign the same bytes.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    Some(mac)
}

/// `payload.signature`, both base64url: the payload signed for `binding`.
pub fn sign(key: &[u8], binding: &Binding<'_>, payload: &[u8]) -> Option<String> {
    let tag = signature(key, binding, payload)?.finalize().into_bytes();
    Some(format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag)))
}

/// The payload of a token `sign` made for this key and binding; `None` for anything else.
pub fn verify(key: &[u8], binding: &Binding<'_>, token: &str) -> Option<Vec<u8>> {
    let (payload, tag) = token.split_once('.')?;
    let (payload, tag) = (URL_SAFE_NO_PAD.decode(payload).ok()?, URL_SAFE_NO_PAD.decode(tag).ok()?);
    signature(key, binding, &payload)?.verify_slice(&tag).ok()?;
    Some(payload)
}

/// Inside one item of a list that expands each item it reads into several: the item's id, and
/// how many of its own have been given already.
pub type Within = (String, u32);

/// The token for `positions`, one per stream (after the item a page stopped inside, when it did),
/// and `within`.
pub fn seal(key: &[u8], binding: &Binding<'_>, streams: &[Stream], positions: &[Position], within: Option<&Within>) -> Option<String> {
    let mut raw: Vec<Value> = streams
        .iter()
        .zip(positions)
        .map(|(stream, position)| match position {
            Position::Start => Some(Value::Null),
            Position::Done => Some(Value::Bool(true)),
            Position::After(sort_key) => stream.position_parts(sort_key).map(Value::from),
        })
        .collect::<Option<_>>()?;
    if let Some((id, skip)) = within {
        raw.push(serde_json::json!({"within": id, "skip": skip}));
    }
    sign(key, binding, &serde_json::to_vec(&raw).ok()?)
}

/// The positions, and where inside an item, of a token this list issued for this binding; `None`
/// for anything else.
pub fn open(key: &[u8], binding: &Binding<'_>, streams: &[Stream], token: &str) -> Option<(Vec<Position>, Option<Within>)> {
    let mut raw: Vec<Value> = serde_json::from_slice(&verify(key, binding, token)?).ok()?;
    let within = if raw.len() == streams.len() + 1 {
        let last = raw.pop()?;
        let id = last.get("within")?.as_str().filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))?;
        let skip = u32::try_from(last.get("skip")?.as_u64()?).ok()?;
        Some((id.to_string(), skip))
    } else {
        None
    };
    if raw.len() != streams.len() {
        return None;
    }
    let positions = raw
        .into_iter()
        .zip(streams)
        .map(|(value, stream)| match value {
            Value::Null => Some(Position::Start),
            Value::Bool(true) => Some(Position::Done),
            Value::Array(parts) => {
                let parts: Vec<String> = parts.into_iter().map(|p| p.as_str().map(str::to_string)).collect::<Option<_>>()?;
                stream.position_from(&parts).map(Position::After)
            }
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((positions, within))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Index;

    fn streams() -> Vec<Stream> {
        vec![
            Stream { index: Index::ByIsv, partition: "ISV#1".into(), prefix: "OFFER#".into(), range: None, key_parts: 2 },
            Stream { index: Index::ByBuyer, partition: "BUYER#1".into(), prefix: "OFFER#".into(), range: None, key_parts: 2 },
        ]
    }

    const KEY: &[u8] = b"a key of the test, long enough for HMAC";
    const MINE: Binding<'static> = Binding { caller: "111122223333", route: "GET /offers", query: "" };

    fn positions() -> Vec<Position> {
        vec![Position::After("OFFER#2027-01-01T00:00:00.000Z#offer-1".into()), Position::Done]
    }

    #[test]
    fn a_token_opens_for_its_own_binding_only() {
        let token = seal(KEY, &MINE, &streams(), &positions(), None).unwrap();
        assert_eq!(open(KEY, &MINE, &streams(), &token), Some((positions(), None)));
        let theirs = Binding { caller: "999988887777", ..MINE };
        assert_eq!(open(KEY, &theirs, &streams(), &token), None, "another caller");
        let other_query = Binding { query: "status=active", ..MINE };
        assert_eq!(open(KEY, &other_query, &streams(), &token), None, "another query");
        let other_route = Binding { route: "GET /agreements", ..MINE };
        assert_eq!(open(KEY, &other_route, &streams(), &token), None, "another route");
        assert_eq!(open(b"another key entirely, also long", &MINE, &streams(), &token), None, "another key");
    }

    #[test]
    fn a_place_inside_an_item_travels_signed_with_its_positions() {
        let within: Within = ("agr-1".into(), 7);
        let token = seal(KEY, &MINE, &streams(), &positions(), Some(&within)).unwrap();
        assert_eq!(open(KEY, &MINE, &streams(), &token), Some((positions(), Some(within.clone()))));
        assert_eq!(open(KEY, &MINE, &[], &seal(KEY, &MINE, &[], &[], Some(&within)).unwrap()), Some((vec![], Some(within))));
        assert_eq!(open(KEY, &MINE, &streams(), &seal(KEY, &MINE, &streams(), &positions(), None).unwrap()), Some((positions(), None)));
    }

    #[test]
    fn an_edited_token_is_refused_and_no_token_shows_a_stored_key() {
        let token = seal(KEY, &MINE, &streams(), &positions(), None).unwrap();
        let (payload, tag) = token.split_once('.').unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(!text.contains("OFFER#") && !text.contains("ISV#"), "{text}");
        let edited = URL_SAFE_NO_PAD.encode(text.replace("offer-1", "offer-2"));
        assert_eq!(open(KEY, &MINE, &streams(), &format!("{edited}.{tag}")), None);
        for junk in ["", ".", "not a token", "e30.e30"] {
            assert_eq!(open(KEY, &MINE, &streams(), junk), None, "{junk}");
        }
    }
}
