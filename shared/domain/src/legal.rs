//! Legal terms: the buyer's EULA and the ISV–reseller agreement, standard or custom documents.

use crate::document::{declared, Declared, DocumentStatus, StoredDocument};
pub use crate::document::{UploadedDocument, MAX_SET_BYTES};
use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
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

/// An uploaded document's ID, a document's description, or the URL of one already hosted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentInput {
    #[serde(default)]
    pub document_id: Option<String>,
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

/// A ready document of the ISV's, named by its ID: the file is in the document bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRef {
    pub document_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// Tried in this order when read back: a stored one is the only form with a `documentId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Document {
    Stored(StoredRef),
    Uploaded(UploadedDocument),
    Hosted { url: String },
}

impl Declared {
    fn of(d: &DocumentInput) -> Declared {
        Declared {
            file_name: d.file_name.clone(),
            content_type: d.content_type.clone(),
            size_bytes: d.size_bytes,
            sha256: d.sha256.clone(),
        }
    }
}

/// The caller's documents a create may name: those its body named that were found.
#[derive(Debug, Clone, Copy)]
pub struct Library<'a> {
    pub owner: &'a AccountId,
    pub documents: &'a [StoredDocument],
}

impl Library<'_> {
    /// A ready document of the owner's; another's and one not ready are refused alike.
    fn ready(&self, document_id: &str, at: &str) -> DomainResult<StoredRef> {
        let found = self.documents.iter().find(|d| d.document_id == document_id && &d.owner_account_id == self.owner);
        match found {
            Some(d) if d.status == DocumentStatus::Ready => Ok(StoredRef {
                document_id: d.document_id.clone(),
                file_name: d.file_name.clone(),
                content_type: d.content_type.clone(),
                size_bytes: d.size_bytes,
                sha256: d.sha256.clone(),
            }),
            Some(_) => Err(DomainError::field(at, format!("document {document_id} is not complete: upload it and complete it first"))),
            None => Err(DomainError::field(at, format!("{document_id} is not a document of yours"))),
        }
    }
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
const MAX_URL: usize = 2048;

pub fn check_eula(input: Option<&LegalInput>, library: Library<'_>) -> DomainResult<Eula> {
    let Some(input) = input else { return Ok(Eula::Standard) };
    match input.kind.as_str() {
        "standard" => no_documents(input, "eula").map(|_| Eula::Standard),
        "custom" => Ok(Eula::Custom { documents: documents(input, "eula", library)? }),
        other => Err(DomainError::field("eula.type", format!("eula type {other} must be standard or custom"))),
    }
}

pub fn check_reseller_agreement(input: Option<&LegalInput>, library: Library<'_>) -> DomainResult<ResellerAgreement> {
    let Some(input) = input else { return Ok(ResellerAgreement::None) };
    let field = "resellerAgreement";
    match input.kind.as_str() {
        "none" => no_documents(input, field).map(|_| ResellerAgreement::None),
        "rcmp" => no_documents(input, field).map(|_| ResellerAgreement::Rcmp),
        "custom" => Ok(ResellerAgreement::Custom { documents: documents(input, field, library)? }),
        other => Err(DomainError::field(format!("{field}.type"), format!("resellerAgreement type {other} must be none, rcmp or custom"))),
    }
}

fn no_documents(input: &LegalInput, field: &str) -> DomainResult<()> {
    match input.documents {
        Some(_) => Err(DomainError::field(format!("{field}.documents"), format!("only a custom {field} has documents"))),
        None => Ok(()),
    }
}

fn documents(input: &LegalInput, field: &str, library: Library<'_>) -> DomainResult<Vec<Document>> {
    let at = format!("{field}.documents");
    let raw = input.documents.as_deref().ok_or_else(|| DomainError::field(&at, format!("a custom {field} needs its documents")))?;
    validate::count(raw, &at, 1, MAX_DOCUMENTS)?;
    let docs = raw.iter().enumerate().map(|(i, d)| document(d, &format!("{at}[{i}]"), library)).collect::<DomainResult<Vec<_>>>()?;
    let stored = docs.iter().filter(|d| matches!(d, Document::Stored(_))).count();
    if stored > 0 && stored < docs.len() {
        return Err(DomainError::field(at, "a set's documents are all uploads (documentId) or all hosted (url), never mixed"));
    }
    let total: u64 = docs.iter().map(Document::size_bytes).sum();
    if total > MAX_SET_BYTES {
        return Err(DomainError::field(at, "uploaded documents of one set may total at most 6 MiB"));
    }
    Ok(docs)
}

fn document(d: &DocumentInput, at: &str, library: Library<'_>) -> DomainResult<Document> {
    let upload_fields = d.file_name.is_some() || d.content_type.is_some() || d.size_bytes.is_some() || d.sha256.is_some();
    match (&d.document_id, &d.url, upload_fields) {
        (Some(id), None, false) => library.ready(id, &format!("{at}.documentId")).map(Document::Stored),
        (None, Some(url), false) => hosted(url, &format!("{at}.url")).map(|url| Document::Hosted { url }),
        (None, None, true) => declared(Declared::of(d), at).map(Document::Uploaded),
        _ => Err(DomainError::field(
            at,
            "a document is one of: a documentId, a url, or a declaration (fileName, contentType, sizeBytes, sha256)",
        )),
    }
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
            Document::Stored(d) => &d.file_name,
            Document::Uploaded(u) => &u.file_name,
            Document::Hosted { url } => url,
        }
    }

    pub fn url(&self) -> Option<&str> {
        match self {
            Document::Hosted { url } => Some(url),
            Document::Stored(_) | Document::Uploaded(_) => None,
        }
    }

    /// What counts toward a set's 6 MiB: the files the service holds or was told of.
    pub fn size_bytes(&self) -> u64 {
        match self {
            Document::Stored(d) => d.size_bytes,
            Document::Uploaded(u) => u.size_bytes,
            Document::Hosted { .. } => 0,
        }
    }

    /// The form a create body names it by: a clone names an upload by its ID alone.
    pub fn input(&self) -> serde_json::Value {
        match self {
            Document::Stored(d) => serde_json::json!({ "documentId": d.document_id }),
            other => serde_json::to_value(other).unwrap_or_default(),
        }
    }
}

/// A custom term in the create body's form: its documents as `Document::input` names them.
fn custom_input(documents: &[Document]) -> serde_json::Value {
    serde_json::json!({"type": "custom", "documents": documents.iter().map(Document::input).collect::<Vec<_>>()})
}

/// A set of documents the service compiles into one PDF: uploads only.
pub fn stored(documents: &[Document]) -> Option<Vec<&StoredRef>> {
    let refs: Vec<&StoredRef> = documents.iter().filter_map(|d| if let Document::Stored(r) = d { Some(r) } else { None }).collect();
    (!refs.is_empty()).then_some(refs)
}

impl Eula {
    /// The documents the service compiles, when the EULA is custom and uploaded.
    pub fn stored(&self) -> Option<Vec<&StoredRef>> {
        match self {
            Eula::Custom { documents } => stored(documents),
            Eula::Standard => None,
        }
    }

    /// The create body's form (see `Document::input`).
    pub fn input(&self) -> serde_json::Value {
        match self {
            Eula::Custom { documents } => custom_input(documents),
            Eula::Standard => serde_json::json!({"type": "standard"}),
        }
    }
}

impl ResellerAgreement {
    pub fn stored(&self) -> Option<Vec<&StoredRef>> {
        match self {
            ResellerAgreement::Custom { documents } => stored(documents),
            _ => None,
        }
    }

    pub fn input(&self) -> serde_json::Value {
        match self {
            ResellerAgreement::Custom { documents } => custom_input(documents),
            other => serde_json::to_value(other).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eula(v: serde_json::Value) -> DomainResult<Eula> {
        let input: LegalInput = serde_json::from_value(v).unwrap();
        let owner = AccountId::parse("111122223333").unwrap();
        check_eula(Some(&input), Library { owner: &owner, documents: &[] })
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

    fn stored(id: &str, owner: &str, status: DocumentStatus, size: u64) -> StoredDocument {
        serde_json::from_value(json!({
            "documentId": id, "ownerAccountId": owner, "fileName": format!("{id}.pdf"), "contentType": "application/pdf",
            "sizeBytes": size, "sha256": "ab".repeat(32), "status": status, "uploadExpiresAt": "2027-01-01T00:15:00Z",
            "createdAt": "2027-01-01T00:00:00Z", "updatedAt": "2027-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    fn with_library(v: serde_json::Value, documents: &[StoredDocument]) -> DomainResult<Eula> {
        let input: LegalInput = serde_json::from_value(v).unwrap();
        let owner = AccountId::parse("111122223333").unwrap();
        check_eula(Some(&input), Library { owner: &owner, documents })
    }

    #[test]
    fn an_uploaded_document_is_a_ready_one_of_the_callers_and_a_set_is_never_mixed() {
        let library = [
            stored("doc-a", "111122223333", DocumentStatus::Ready, 4 << 20),
            stored("doc-b", "111122223333", DocumentStatus::Ready, 2 << 20),
            stored("doc-c", "111122223333", DocumentStatus::PendingUpload, 1),
            stored("doc-d", "999988887777", DocumentStatus::Ready, 1),
            stored("doc-e", "111122223333", DocumentStatus::Ready, 1),
        ];
        let set = |ids: &[&str]| json!({"type": "custom", "documents": ids.iter().map(|i| json!({"documentId": i})).collect::<Vec<_>>()});
        let Ok(Eula::Custom { documents }) = with_library(set(&["doc-a", "doc-b"]), &library) else { panic!() };
        assert_eq!(documents[0].label(), "doc-a.pdf");
        assert!(matches!(&documents[1], Document::Stored(d) if d.document_id == "doc-b" && d.size_bytes == 2 << 20));
        let custom = Eula::Custom { documents: documents.clone() };
        assert_eq!(custom.input()["documents"], json!([{"documentId": "doc-a"}, {"documentId": "doc-b"}]), "a clone names them by ID");
        assert_eq!(custom.stored().unwrap().len(), 2);
        let field = |r: DomainResult<Eula>| field(r);
        assert_eq!(field(with_library(set(&["doc-c"]), &library)), "eula.documents[0].documentId", "not complete");
        assert_eq!(field(with_library(set(&["doc-a", "doc-d"]), &library)), "eula.documents[1].documentId", "another's");
        assert_eq!(field(with_library(set(&["doc-zz"]), &library)), "eula.documents[0].documentId", "none such");
        assert_eq!(field(with_library(set(&["doc-a", "doc-b", "doc-e"]), &library)), "eula.documents", "over 6 MiB");
        let mixed = json!({"type": "custom", "documents": [{"documentId": "doc-e"}, {"url": "https://a.example/e.pdf"}]});
        assert_eq!(field(with_library(mixed, &library)), "eula.documents");
        let both = json!({"type": "custom", "documents": [{"documentId": "doc-e", "url": "https://a.example/e.pdf"}]});
        assert_eq!(field(with_library(both, &library)), "eula.documents[0]");
        let round_trip: Document = serde_json::from_value(serde_json::to_value(&documents[0]).unwrap()).unwrap();
        assert_eq!(round_trip, documents[0], "a stored document reads back as stored");
    }

    #[test]
    fn exactly_six_mib_is_allowed() {
        let docs =
            json!({"type": "custom", "documents": [upload("a.pdf", "application/pdf", 4 << 20), upload("b.txt", "text/plain", 2 << 20)]});
        assert!(eula(docs).is_ok());
    }
}
