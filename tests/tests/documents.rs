//! Legal documents end to end: declared, uploaded through the presigned URL as curl would, checked,
//! compiled into one EULA, and shown to each party by its own route, the buyer never the reseller
//! agreement.

mod common;

use common::*;
use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A PDF of `pages` pages, page k saying "<label> page k".
fn pdf(label: &str, pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font =
        doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding" });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for k in 1..=pages {
        let operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 14.into()]),
            Operation::new("Td", vec![72.into(), 700.into()]),
            Operation::new("Tj", vec![Object::string_literal(format!("{label} page {k}"))]),
            Operation::new("ET", vec![]),
        ];
        let contents = doc.add_object(Stream::new(dictionary! {}, Content { operations }.encode().unwrap()));
        // The page inherits its MediaBox and Resources from the tree, as many real PDFs do.
        kids.push(Object::Reference(doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => contents })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// The SHA-256 of `bytes` as `x-amz-checksum-sha256` carries it.
fn base64_of_sha256(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn declaration(file_name: &str, content_type: &str, bytes: &[u8]) -> Value {
    json!({"fileName": file_name, "contentType": content_type, "sizeBytes": bytes.len(), "sha256": sha256(bytes)})
}

/// Declares a document and PUTs `bytes` to its presigned URL with the headers it gave, as curl
/// would: the declaration's answer.
async fn declare_and_put(stack: &Stack, owner: &str, declared: Value, bytes: Vec<u8>) -> Value {
    let r = stack.post("/documents", owner, declared).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["status"], "pendingUpload");
    let mut put = reqwest::Client::new().put(r.body["uploadUrl"].as_str().expect("an upload URL")).body(bytes);
    for (name, value) in r.body["uploadHeaders"].as_object().expect("upload headers") {
        put = put.header(name, value.as_str().unwrap());
    }
    let sent = put.send().await.expect("the bucket answers");
    let status = sent.status();
    assert!(status.is_success(), "the presigned PUT: {status} {}", sent.text().await.unwrap_or_default());
    r.body
}

async fn upload(stack: &Stack, owner: &str, file_name: &str, content_type: &str, bytes: Vec<u8>) -> String {
    let declared = declare_and_put(stack, owner, declaration(file_name, content_type, &bytes), bytes).await;
    let id = id(&declared, "documentId");
    let done = stack.post(&format!("/documents/{id}/complete"), owner, json!({})).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.body["status"], "ready");
    id
}

fn custom(ids: &[&str]) -> Value {
    json!({"type": "custom", "documents": ids.iter().map(|i| json!({"documentId": i})).collect::<Vec<_>>()})
}

/// What a presigned URL from the answer downloads.
async fn download(answer: &Value) -> Vec<u8> {
    let got = reqwest::get(answer["url"].as_str().expect("a url")).await.expect("the bucket answers");
    let status = got.status();
    assert!(status.is_success(), "{status}: {}", if status.is_success() { String::new() } else { got.text().await.unwrap_or_default() });
    got.bytes().await.unwrap().to_vec()
}

fn page_texts(bytes: &[u8]) -> Vec<String> {
    let doc = Document::load_mem(bytes).expect("the compiled EULA parses");
    let pages = doc.get_pages().len() as u32;
    (1..=pages).map(|p| doc.extract_text(&[p]).unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compiled_eula_is_one_pdf_the_buyer_reads_and_its_agreement_records() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    // 1. Declare, upload with the presigned URL, complete.
    let first = upload(&stack, ISV, "terms.pdf", "application/pdf", pdf("Master terms", 2)).await;
    let second = upload(&stack, ISV, "privacy.pdf", "application/pdf", pdf("Privacy addendum", 1)).await;
    let text = upload(&stack, ISV, "support.txt", "text/plain", "Support policy\nResponses within one business day.".into()).await;
    let contract = upload(&stack, ISV, "reseller.pdf", "application/pdf", pdf("Reseller terms", 1)).await;
    let shown = stack.get(&format!("/documents/{first}"), ISV).await;
    assert_eq!((shown.status, shown.body["status"].as_str()), (200, Some("ready")), "{shown:?}");
    assert_eq!(stack.get(&format!("/documents/{first}"), RESELLER).await.status, 404, "a document is its owner's alone");

    // 2. An opportunity with two PDFs and a text file as its EULA, and a reseller agreement.
    let body = opportunity_body(&product, json!({"eula": custom(&[&first, &second, &text]), "resellerAgreement": custom(&[&contract])}));
    let opportunity = stack.opportunity(body).await;
    let opportunity_id = id(&opportunity, "opportunityId");
    let eula_sha = id(&opportunity, "eulaSha256");

    // 3. The reseller fetches the compiled EULA: one PDF, the parts' pages in order.
    let eula = stack.get(&format!("/opportunities/{opportunity_id}/eula"), RESELLER).await;
    assert_eq!(eula.status, 200, "{eula:?}");
    assert_eq!(eula.body["sha256"], eula_sha.as_str());
    assert!(eula.body["expiresAt"].is_string(), "{eula:?}");
    let compiled = download(&eula.body).await;
    assert_eq!(sha256(&compiled), eula_sha, "the file is the one whose hash is recorded");
    let texts = page_texts(&compiled);
    assert_eq!(texts.len(), 2 + 1 + 1, "the page count is the sum of the parts: {texts:?}");
    assert!(texts[0].contains("Master terms page 1") && texts[1].contains("Master terms page 2"), "{texts:?}");
    assert!(texts[2].contains("Privacy addendum page 1"), "{texts:?}");
    assert!(texts[3].contains("Support policy") && texts[3].contains("Responses within one business day."), "{texts:?}");

    // Through an offer, the buyer reads the same EULA, and its agreement records its hash.
    let offer_id = id(&stack.offer(&opportunity_id, &product, json!({})).await.body, "offerId");
    let buyers = stack.get(&format!("/offers/{offer_id}/eula"), BUYER).await;
    assert_eq!(buyers.status, 200, "{buyers:?}");
    assert_eq!(sha256(&download(&buyers.body).await), eula_sha);
    assert_eq!(stack.get(&format!("/offers/{offer_id}/eula"), OUTSIDER).await.status, 404);
    let agreement = stack.accept(&offer_id).await;
    assert_eq!(agreement["eulaSha256"], eula_sha.as_str(), "{agreement}");

    // The reseller agreement: the ISV and the reseller; the buyer never, by any route.
    let path = format!("/opportunities/{opportunity_id}/reseller-agreement");
    let agreement_file = stack.get(&path, RESELLER).await;
    assert_eq!(agreement_file.status, 200, "{agreement_file:?}");
    assert!(page_texts(&download(&agreement_file.body).await)[0].contains("Reseller terms page 1"));
    assert_eq!(stack.get(&path, ISV).await.status, 200);
    for route in [path.clone(), format!("/opportunities/{opportunity_id}/eula"), format!("/opportunities/{opportunity_id}")] {
        assert_eq!(stack.get(&route, BUYER).await.status, 404, "{route}");
    }
    for view in [stack.get(&format!("/offers/{offer_id}"), BUYER).await.body, stack.get("/agreements", BUYER).await.body] {
        let named = keys(&view);
        assert!(!named.iter().any(|k| k == "resellerAgreement" || k == "documents"), "{view}");
    }

    // The export names why the uploads are not in it: AWS documents no grant to read them.
    let export = stack.get(&format!("/opportunities/{opportunity_id}/changeset"), ISV).await;
    let warnings = export.body["warnings"].to_string();
    assert!(warnings.contains("AWS documents no grant"), "{warnings}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upload_url_is_bound_to_the_declared_file_for_fifteen_minutes() {
    let stack = Stack::start().await;
    stack.cast().await;
    let bytes = pdf("Terms", 1);
    let r = stack.post("/documents", ISV, declaration("terms.pdf", "application/pdf", &bytes)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let url = r.body["uploadUrl"].as_str().unwrap();
    let query: Vec<(String, String)> =
        url.split_once('?').unwrap().1.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.replace("%3B", ";").to_lowercase()).unwrap_or_default();
    assert_eq!(param("X-Amz-Expires"), "900");
    let signed = param("X-Amz-SignedHeaders");
    for header in ["content-length", "content-type", "x-amz-checksum-sha256"] {
        assert!(signed.split(';').any(|h| h == header), "{header} is not signed: {signed}");
    }
    let expires: chrono::DateTime<chrono::Utc> = r.body["expiresAt"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(15), "real time, not the local clock: {left}");
    assert!(url.contains("/uploads/"), "{url}");
    // Any other file, or the URL after its 15 minutes, gets S3's 403 (held locally by the launcher).
    let headers = r.body["uploadHeaders"].as_object().unwrap().clone();
    let put = |url: &str, bytes: Vec<u8>, swap: Option<(&str, &str)>| {
        let put = reqwest::Client::new().put(url).body(bytes);
        let put = headers.iter().fold(put, |p, (k, v)| match swap {
            Some((name, other)) if name == k => p.header(k, other),
            _ => p.header(k, v.as_str().unwrap()),
        });
        async move {
            let sent = put.send().await.unwrap();
            (sent.status().as_u16(), sent.text().await.unwrap_or_default())
        }
    };
    let longer = [bytes.clone(), b"\n".to_vec()].concat();
    let (other_hash, other_length) = (base64_of_sha256(&longer), longer.len().to_string());
    let refusals = [
        (put(url, longer.clone(), Some(("content-length", other_length.as_str()))).await, "a larger file"),
        (put(url, bytes.clone(), Some(("content-type", "text/plain"))).await, "another type"),
        (put(url, bytes.clone(), Some(("x-amz-checksum-sha256", other_hash.as_str()))).await, "another hash"),
    ];
    for ((status, body), what) in refusals {
        assert_eq!(status, 403, "{what}: {body}");
        assert!(body.contains("SignatureDoesNotMatch"), "{what}: {body}");
    }
    let signed_at = param("X-Amz-Date").to_uppercase();
    let at = chrono::NaiveDateTime::parse_from_str(&signed_at, "%Y%m%dT%H%M%SZ").unwrap();
    let stale = url.replace(&signed_at, &(at - chrono::Duration::minutes(16)).format("%Y%m%dT%H%M%SZ").to_string());
    let (status, body) = put(&stale, bytes.clone(), None).await;
    assert!(status == 403 && body.contains("expired"), "signed 16 minutes ago: {status} {body}");
    // Uploaded, the object is never public: the same URL without its signature is refused.
    let (status, body) = put(url, bytes, None).await;
    assert_eq!(status, 200, "the declared file: {body}");
    let anonymous = reqwest::get(url.split('?').next().unwrap()).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 403, "an unsigned read of an upload");
}

/// Writes `bytes` where the document's upload lands, as a client that ignored the signed headers
/// could in an emulator that does not check them.
async fn put_raw(stack: &Stack, document_id: &str, bytes: Vec<u8>) {
    let bucket = stack.running.gateway.app.bucket().expect("the admin bucket");
    let sha = sha256(&bytes);
    bucket.put_pdf(&cppo_domain::document::upload_key(document_id), bytes, &sha).await.expect("written");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_is_not_what_was_declared_is_refused_and_deleted() {
    let stack = Stack::start().await;
    stack.cast().await;
    let good = pdf("Terms", 1);
    let encrypted = {
        let mut doc = Document::load_mem(&good).unwrap();
        let handler = doc.add_object(dictionary! {
            "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -4,
            "O" => Object::string_literal(vec![1u8; 32]), "U" => Object::string_literal(vec![2u8; 32]),
        });
        doc.trailer.set("Encrypt", Object::Reference(handler));
        doc.trailer.set("ID", vec![Object::string_literal(vec![3u8; 16]), Object::string_literal(vec![3u8; 16])]);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    };
    let not_utf8 = vec![b'o', b'k', 0xff, 0xfe];
    let cases: Vec<(Value, Vec<u8>, &str)> = vec![
        (declaration("terms.pdf", "application/pdf", &good), [good.clone(), b"x".to_vec()].concat(), "sizeBytes"),
        (declaration("terms.pdf", "application/pdf", &good), good[..good.len() - 1].to_vec(), "sizeBytes"),
        (declaration("terms.pdf", "application/pdf", &good), good.iter().map(|b| if *b == b'T' { b'X' } else { *b }).collect(), "sha256"),
        (declaration("terms.pdf", "application/pdf", b"just text, not a PDF"), b"just text, not a PDF".to_vec(), "contentType"),
        (declaration("terms.pdf", "application/pdf", b"%PDF-1.7 torn"), b"%PDF-1.7 torn".to_vec(), "contentType"),
        (declaration("terms.pdf", "application/pdf", &encrypted), encrypted.clone(), "contentType"),
        (declaration("terms.txt", "text/plain", &not_utf8), not_utf8.clone(), "contentType"),
        (declaration("terms.txt", "text/plain", "日本語".as_bytes()), "日本語".as_bytes().to_vec(), "contentType"),
    ];
    for (declared, written, field) in cases {
        let r = stack.post("/documents", ISV, declared.clone()).await;
        assert_eq!(r.status, 201, "{r:?}");
        let doc = id(&r.body, "documentId");
        put_raw(&stack, &doc, written).await;
        let refused = stack.post(&format!("/documents/{doc}/complete"), ISV, json!({})).await;
        assert_eq!((refused.status, refused.body["error"]["field"].as_str()), (400, Some(field)), "{declared}: {refused:?}");
        let bucket = stack.running.gateway.app.bucket().unwrap();
        let left = bucket.read(&cppo_domain::document::upload_key(&doc), None).await.unwrap();
        assert!(left.is_none(), "{declared}: the refused upload is deleted");
        assert_eq!(stack.get(&format!("/documents/{doc}"), ISV).await.body["status"], "pendingUpload");
    }
    // Completing before anything was uploaded: the state forbids it.
    let r = stack.post("/documents", ISV, declaration("terms.pdf", "application/pdf", &good)).await;
    let early = stack.post(&format!("/documents/{}/complete", id(&r.body, "documentId")), ISV, json!({})).await;
    assert_eq!(early.status, 409, "{early:?}");
    // A declaration outside the DOC rules, and a seller not registered.
    let big = json!({"fileName": "t.pdf", "contentType": "application/pdf", "sizeBytes": 6 * 1024 * 1024 + 1, "sha256": "a".repeat(64)});
    assert_eq!(stack.post("/documents", ISV, big).await.body["error"]["field"], "sizeBytes");
    assert_eq!(stack.post("/documents", OUTSIDER, declaration("t.pdf", "application/pdf", &good)).await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opportunity_names_only_its_isvs_ready_documents_at_most_five() {
    let stack = Stack::start().await;
    let product = stack.cast().await;
    let mut ready = Vec::new();
    for n in 0..6 {
        ready.push(upload(&stack, ISV, &format!("part{n}.txt"), "text/plain", format!("Part {n}").into_bytes()).await);
    }
    let theirs = upload(&stack, RESELLER, "theirs.txt", "text/plain", b"Not yours".to_vec()).await;
    let pending = id(&stack.post("/documents", ISV, declaration("p.txt", "text/plain", b"later")).await.body, "documentId");
    let refs: Vec<&str> = ready.iter().map(String::as_str).collect();
    let cases = [
        (json!({"eula": custom(&refs)}), "eula.documents"),
        (json!({"eula": custom(&[&theirs])}), "eula.documents[0].documentId"),
        (json!({"resellerAgreement": custom(&[refs[0], &pending])}), "resellerAgreement.documents[1].documentId"),
        (
            json!({"eula": {"type": "custom", "documents": [{"documentId": refs[0]}, {"url": "https://isv.example/eula.pdf"}]}}),
            "eula.documents",
        ),
    ];
    for (extra, field) in cases {
        let r = stack.post("/opportunities", ISV, opportunity_body(&product, extra.clone())).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (400, Some(field)), "{extra}: {r:?}");
    }
    assert_eq!(stack.get("/opportunities", ISV).await.body["items"].as_array().map(Vec::len), Some(0), "nothing half-stored");

    // A draft is compiled when released, not before; a clone names the same documents again.
    let draft = stack.opportunity(opportunity_body(&product, json!({"draft": true, "eula": custom(&refs[..2])}))).await;
    let draft_id = id(&draft, "opportunityId");
    assert!(draft.get("eulaSha256").is_none(), "{draft}");
    assert_eq!(stack.get(&format!("/opportunities/{draft_id}/eula"), ISV).await.status, 404);
    let released = stack.post(&format!("/opportunities/{draft_id}/release"), ISV, json!({})).await;
    assert_eq!(released.status, 200, "{released:?}");
    let eula = stack.get(&format!("/opportunities/{draft_id}/eula"), RESELLER).await;
    assert_eq!(eula.body["sha256"], released.body["eulaSha256"], "{eula:?}");
    let texts = page_texts(&download(&eula.body).await);
    assert!(texts.len() == 2 && texts[0].contains("Part 0") && texts[1].contains("Part 1"), "{texts:?}");
    let clone = stack.post(&format!("/opportunities/{draft_id}/clone"), ISV, json!({"name": "ClonedTerms"})).await;
    assert_eq!(clone.status, 201, "{clone:?}");
    assert_eq!(clone.body["items"][0]["eulaSha256"], released.body["eulaSha256"], "the same documents compile to the same file");
    // No reseller agreement: 404 to everyone.
    assert_eq!(stack.get(&format!("/opportunities/{draft_id}/reseller-agreement"), ISV).await.status, 404);
    // A standard EULA answers AWS Marketplace's public contract.
    let standard = id(&stack.opportunity(opportunity_body(&product, json!({}))).await, "opportunityId");
    let public = stack.get(&format!("/opportunities/{standard}/eula"), RESELLER).await;
    assert!(public.body["url"].as_str().is_some_and(|u| u.starts_with("https://docs.aws.amazon.com/marketplace/")), "{public:?}");
    assert!(public.body.get("sha256").is_none());
}
