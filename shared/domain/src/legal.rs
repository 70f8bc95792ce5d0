//! Legal terms: the buyer's EULA and the ISV–reseller agreement, standard or custom documents.

use crate::error::{DomainError, DomainResult};
use crate::validate;
use serde::{Deserialize, Serialize};

/// A legal term as sent: `{"type": ..., "documents"?: [...]}`, checked per term below.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegalInput {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub documents: Option<Vec<DocumentInput>>,
}

/// An uploaded document's description, or the URL of one already hosted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentInput {
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size_bytes: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedDocument {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Document {
    Uploaded(UploadedDocument),
    Hosted { url: String },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Eula {
    #[default]
    Standard,
    Custom {
        documents: Vec<Document>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ResellerAgreement {
    #[default]
    None,
    Rcmp,
    Custom {
        documents: Vec<Document>,
    },
}

pub const MAX_DOCUMENTS: usize = 5;
/// Uploaded documents of one set may total at most 6 MiB.
pub const MAX_SET_BYTES: u64 = 6 * 1024 * 1024;
const MAX_URL: usize = 2048;

pub fn check_eula(input: Option<&LegalInput>) -> DomainResult<Eula> {
    let Some(input) = input else { return Ok(Eula::Standard) };
    match input.kind.as_str() {
        "standard" => no_documents(input, "eula").map(|_| Eula::Standard),
        "custom" => Ok(Eula::Custom { documents: documents(input, "eula")? }),
        other => Err(DomainError::field("eula.type", format!("eula type {other} must be standard or custom"))),
    }
}

pub fn check_reseller_agreement(input: Option<&LegalInput>) -> DomainResult<ResellerAgreement> {
    let Some(input) = input else { return Ok(ResellerAgreement::None) };
    let field = "resellerAgreement";
    match input.kind.as_str() {
        "none" => no_documents(input, field).map(|_| ResellerAgreement::None),
        "rcmp" => no_documents(input, field).map(|_| ResellerAgreement::Rcmp),
        "custom" => Ok(ResellerAgreement::Custom { documents: documents(input, field)? }),
        other => Err(DomainError::field(format!("{field}.type"), format!("resellerAgreement type {other} must be none, rcmp or custom"))),
    }
}

fn no_documents(input: &LegalInput, field: &str) -> DomainResult<()> {
    match input.documents {
        Some(_) => Err(DomainError::field(format!("{field}.documents"), format!("only a custom {field} has documents"))),
        None => Ok(()),
    }
}

fn documents(input: &LegalInput, field: &str) -> DomainResult<Vec<Document>> {
    let at = format!("{field}.documents");
    let raw = input.documents.as_deref().ok_or_else(|| DomainError::field(&at, format!("a custom {field} needs its documents")))?;
    validate::count(raw, &at, 1, MAX_DOCUMENTS)?;
    let docs = raw.iter().enumerate().map(|(i, d)| document(d, &format!("{at}[{i}]"))).collect::<DomainResult<Vec<_>>>()?;
    let total: u64 = docs.iter().map(|d| if let Document::Uploaded(u) = d { u.size_bytes } else { 0 }).sum();
    if total > MAX_SET_BYTES {
        return Err(DomainError::field(at, "uploaded documents of one set may total at most 6 MiB"));
    }
    Ok(docs)
}

fn document(d: &DocumentInput, at: &str) -> DomainResult<Document> {
    let upload_fields = d.file_name.is_some() || d.content_type.is_some() || d.size_bytes.is_some() || d.sha256.is_some();
    match (&d.url, upload_fields) {
        (Some(url), false) => hosted(url, &format!("{at}.url")).map(|url| Document::Hosted { url }),
        (None, true) => uploaded(d, at).map(Document::Uploaded),
        _ => Err(DomainError::field(at, "a document is either an upload (fileName, contentType, sizeBytes, sha256) or a url")),
    }
}

fn uploaded(d: &DocumentInput, at: &str) -> DomainResult<UploadedDocument> {
    let need =
        |v: &Option<String>, name: &str| v.clone().ok_or_else(|| DomainError::field(format!("{at}.{name}"), format!("{name} is required")));
    let file_name = need(&d.file_name, "fileName")?;
    let content_type = need(&d.content_type, "contentType")?;
    let sha256 = need(&d.sha256, "sha256")?;
    validate::text(&file_name, &format!("{at}.fileName"), 5, 255)?;
    if file_name.contains(['/', '\\']) {
        return Err(DomainError::field(format!("{at}.fileName"), "fileName must not contain a path"));
    }
    let extension = match content_type.as_str() {
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        _ => return Err(DomainError::field(format!("{at}.contentType"), "contentType must be application/pdf or text/plain")),
    };
    if !file_name.to_ascii_lowercase().ends_with(extension) {
        return Err(DomainError::field(format!("{at}.fileName"), format!("a {content_type} document's fileName must end {extension}")));
    }
    let size_bytes = d.size_bytes.ok_or_else(|| DomainError::field(format!("{at}.sizeBytes"), "sizeBytes is required"))?;
    if !(1..=MAX_SET_BYTES).contains(&size_bytes) {
        return Err(DomainError::field(format!("{at}.sizeBytes"), "sizeBytes must be 1 to 6 MiB"));
    }
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DomainError::field(format!("{at}.sha256"), "sha256 must be 64 hexadecimal characters"));
    }
    Ok(UploadedDocument { file_name, content_type, size_bytes, sha256: sha256.to_ascii_lowercase() })
}

/// An https URL whose path ends `.pdf` or `.txt`.
pub fn hosted(url: &str, field: &str) -> DomainResult<String> {
    let bad = || DomainError::field(field, "url must be an https URL of a .pdf or .txt document");
    let rest = url.strip_prefix("https://").ok_or_else(bad)?;
    if url.len() > MAX_URL || !url.is_ascii() || url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return Err(bad());
    }
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = path.split_once('/').ok_or_else(bad)?;
    let path = path.to_ascii_lowercase();
    if host.is_empty() || !(path.ends_with(".pdf") || path.ends_with(".txt")) {
        return Err(bad());
    }
    Ok(url.to_string())
}

impl Document {
    /// How a person recognises the document: its file name or URL.
    pub fn label(&self) -> &str {
        match self {
            Document::Uploaded(u) => &u.file_name,
            Document::Hosted { url } => url,
        }
    }

    pub fn url(&self) -> Option<&str> {
        match self {
            Document::Hosted { url } => Some(url),
            Document::Uploaded(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eula(v: serde_json::Value) -> DomainResult<Eula> {
        let input: LegalInput = serde_json::from_value(v).unwrap();
        check_eula(Some(&input))
    }

    fn upload(name: &str, content_type: &str, size: u64) -> serde_json::Value {
        json!({"fileName": name, "contentType": content_type, "sizeBytes": size, "sha256": "ab".repeat(32)})
    }

    fn field(r: DomainResult<Eula>) -> String {
        match r {
            Err(DomainError::Validation { field: Some(f), .. }) => f,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn custom_documents_are_uploads_or_hosted_urls() {
        let ok = eula(
            json!({"type": "custom", "documents": [upload("eula.pdf", "application/pdf", 1234), {"url": "https://docs.isv.example/terms.TXT?v=2"}]}),
        );
        let Ok(Eula::Custom { documents }) = ok else { panic!("{ok:?}") };
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[1].url(), Some("https://docs.isv.example/terms.TXT?v=2"));
    }

    #[test]
    fn each_document_rule_names_its_field() {
        let cases = [
            (json!({"type": "custom", "documents": []}), "eula.documents"),
            (json!({"type": "custom"}), "eula.documents"),
            (json!({"type": "standard", "documents": [{"url": "https://a.example/e.pdf"}]}), "eula.documents"),
            (json!({"type": "custom", "documents": [upload("eula.txt", "application/pdf", 1)]}), "eula.documents[0].fileName"),
            (json!({"type": "custom", "documents": [upload("eula.doc", "application/msword", 1)]}), "eula.documents[0].contentType"),
            (json!({"type": "custom", "documents": [{"url": "http://a.example/e.pdf"}]}), "eula.documents[0].url"),
            (json!({"type": "custom", "documents": [{"url": "https://a.example/e.docx"}]}), "eula.documents[0].url"),
            (json!({"type": "custom", "documents": [{"url": "https://a.example/e.pdf", "fileName": "e.pdf"}]}), "eula.documents[0]"),
            (
                json!({"type": "custom", "documents": [upload("a.pdf", "application/pdf", 4 << 20), upload("b.pdf", "application/pdf", 3 << 20)]}),
                "eula.documents",
            ),
            (
                json!({"type": "custom", "documents": (0..6).map(|i| upload(&format!("e{i}.pdf"), "application/pdf", 1)).collect::<Vec<_>>()}),
                "eula.documents",
            ),
            (json!({"type": "rcmp"}), "eula.type"),
        ];
        for (input, want) in cases {
            assert_eq!(field(eula(input.clone())), want, "{input}");
        }
    }

    #[test]
    fn exactly_six_mib_is_allowed() {
        let docs =
            json!({"type": "custom", "documents": [upload("a.pdf", "application/pdf", 4 << 20), upload("b.txt", "text/plain", 2 << 20)]});
        assert!(eula(docs).is_ok());
    }
}
