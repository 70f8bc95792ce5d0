//! A seller's legal document: declared, uploaded through a presigned URL, checked, then ready to
//! be named in an opportunity's custom EULA or reseller agreement.

use crate::error::{DomainError, DomainResult};
use crate::ids::AccountId;
use crate::seller::Seller;
use crate::validate;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a presigned upload URL is good for, in real time.
pub const UPLOAD_MINUTES: i64 = 15;
/// How long a presigned download URL of a compiled file is good for, in real time.
pub const DOWNLOAD_MINUTES: i64 = 5;

/// `POST /documents`: what the seller is about to upload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclareDocumentInput {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DocumentStatus {
    PendingUpload,
    Ready,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDocument {
    pub document_id: String,
    pub owner_account_id: AccountId,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub status: DocumentStatus,
    /// The kept copy's S3 version, once ready: what a compile reads, whatever is written later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub upload_expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
/// A document described by its four fields: what `POST /documents` declares, and v1's form of
/// a DOC (recorded, never fetched).
pub struct UploadedDocument {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// Uploaded documents of one set, and any one of them, may total at most 6 MiB.
pub const MAX_SET_BYTES: u64 = 6 * 1024 * 1024;

/// The four fields as sent, each checked by `declared`.
pub(crate) struct Declared {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
}

/// A declaration's four fields by the DOC rules; `at` is where they sit ("" at the top level).
pub(crate) fn declared(d: Declared, at: &str) -> DomainResult<UploadedDocument> {
    let path = |name: &str| if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
    let need = |v: &Option<String>, name: &str| v.clone().ok_or_else(|| DomainError::field(path(name), format!("{name} is required")));
    let file_name = need(&d.file_name, "fileName")?;
    let content_type = need(&d.content_type, "contentType")?;
    let sha256 = need(&d.sha256, "sha256")?;
    validate::text(&file_name, &path("fileName"), 5, 255)?;
    if file_name.contains(['/', '\\']) {
        return Err(DomainError::field(path("fileName"), "fileName must not contain a path"));
    }
    let extension = match content_type.as_str() {
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        _ => return Err(DomainError::field(path("contentType"), "contentType must be application/pdf or text/plain")),
    };
    if !file_name.to_ascii_lowercase().ends_with(extension) {
        return Err(DomainError::field(path("fileName"), format!("a {content_type} document's fileName must end {extension}")));
    }
    let size_bytes = d.size_bytes.ok_or_else(|| DomainError::field(path("sizeBytes"), "sizeBytes is required"))?;
    if !(1..=MAX_SET_BYTES).contains(&size_bytes) {
        return Err(DomainError::field(path("sizeBytes"), "sizeBytes must be 1 to 6 MiB"));
    }
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DomainError::field(path("sha256"), "sha256 must be 64 hexadecimal characters"));
    }
    Ok(UploadedDocument { file_name, content_type, size_bytes, sha256: sha256.to_ascii_lowercase() })
}

/// Where an upload lands (everything there expires within a day) and where a checked one is kept.
pub fn upload_key(document_id: &str) -> String {
    format!("uploads/{document_id}")
}

pub fn kept_key(document_id: &str) -> String {
    format!("documents/{document_id}")
}

/// A declaration checked by the DOC rules, by a registered seller.
pub fn declare(
    input: DeclareDocumentInput,
    seller: Option<&Seller>,
    document_id: String,
    now: DateTime<Utc>,
    real_now: DateTime<Utc>,
) -> DomainResult<StoredDocument> {
    if !seller.is_some_and(|s| s.registered) {
        return Err(DomainError::Forbidden("only a registered seller can upload documents".into()));
    }
    let owner = seller.map(|s| s.account_id.clone()).ok_or_else(|| DomainError::Forbidden("no seller".into()))?;
    let input = Declared {
        file_name: Some(input.file_name),
        content_type: Some(input.content_type),
        size_bytes: Some(input.size_bytes),
        sha256: Some(input.sha256),
    };
    let UploadedDocument { file_name, content_type, size_bytes, sha256 } = declared(input, "")?;
    Ok(StoredDocument {
        document_id,
        owner_account_id: owner,
        file_name,
        content_type,
        size_bytes,
        sha256,
        status: DocumentStatus::PendingUpload,
        version_id: None,
        upload_expires_at: real_now + Duration::minutes(UPLOAD_MINUTES),
        created_at: now,
        updated_at: now,
    })
}

impl StoredDocument {
    /// The document, to its owner alone: to anyone else it does not exist.
    pub fn for_owner(&self, caller: &AccountId) -> DomainResult<&StoredDocument> {
        if &self.owner_account_id != caller {
            return Err(DomainError::NotFound(format!("no document {}", self.document_id)));
        }
        Ok(self)
    }

    pub fn is_pdf(&self) -> bool {
        self.content_type == "application/pdf"
    }

    /// What the uploaded object must be: the declared size and SHA-256. The first that differs is
    /// named, with what was found.
    pub fn check_upload(&self, size_bytes: u64, sha256: &str) -> DomainResult<()> {
        if size_bytes != self.size_bytes {
            return Err(DomainError::field(
                "sizeBytes",
                format!("the uploaded file is {size_bytes} bytes; {} were declared", self.size_bytes),
            ));
        }
        if !sha256.eq_ignore_ascii_case(&self.sha256) {
            return Err(DomainError::field("sha256", format!("the uploaded file's SHA-256 is {sha256}, not the declared {}", self.sha256)));
        }
        Ok(())
    }

    /// Checked and kept: ready to be named in an opportunity.
    pub fn complete(&self, version_id: Option<String>, now: DateTime<Utc>) -> DomainResult<StoredDocument> {
        if self.status == DocumentStatus::Ready {
            return Err(DomainError::Conflict(format!("document {} is already complete", self.document_id)));
        }
        Ok(StoredDocument { status: DocumentStatus::Ready, version_id, updated_at: now, ..self.clone() })
    }

    /// The API's shape: the storage's own version left out.
    pub fn view(&self) -> Value {
        crate::view::with_status(self, self.status_str(), &["versionId", "ownerAccountId"])
    }

    fn status_str(&self) -> &'static str {
        match self.status {
            DocumentStatus::PendingUpload => "pendingUpload",
            DocumentStatus::Ready => "ready",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn seller(registered: bool) -> Seller {
        serde_json::from_value(serde_json::json!({
            "accountId": "111122223333", "displayName": "ISV", "publicProfileComplete": registered,
            "taxAndBankingComplete": registered, "registered": registered, "notificationEmails": [],
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    fn input(name: &str, content_type: &str, size: u64) -> DeclareDocumentInput {
        DeclareDocumentInput { file_name: name.into(), content_type: content_type.into(), size_bytes: size, sha256: "AB".repeat(32) }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_declaration_follows_the_doc_rules_and_needs_a_registered_seller() {
        let s = seller(true);
        let doc = declare(input("eula.pdf", "application/pdf", 10), Some(&s), "doc-1".into(), now(), now()).unwrap();
        assert_eq!(doc.status, DocumentStatus::PendingUpload);
        assert_eq!(doc.sha256, "ab".repeat(32), "hashes are kept in lowercase");
        assert_eq!(doc.upload_expires_at, now() + Duration::minutes(15));
        let refused = |i, s: Option<&Seller>| declare(i, s, "doc-1".into(), now(), now()).unwrap_err();
        assert!(matches!(refused(input("eula.pdf", "application/pdf", 10), Some(&seller(false))), DomainError::Forbidden(_)));
        assert!(matches!(refused(input("eula.pdf", "application/pdf", 10), None), DomainError::Forbidden(_)));
        let field = |e: DomainError| match e {
            DomainError::Validation { field, .. } => field.unwrap_or_default(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(refused(input("eula.txt", "application/pdf", 10), Some(&s))), "fileName");
        assert_eq!(field(refused(input("eula.pdf", "image/png", 10), Some(&s))), "contentType");
        assert_eq!(field(refused(input("eula.pdf", "application/pdf", 0), Some(&s))), "sizeBytes");
        assert_eq!(field(refused(input("eula.pdf", "application/pdf", 6 * 1024 * 1024 + 1), Some(&s))), "sizeBytes");
    }

    #[test]
    fn an_upload_must_be_what_was_declared() {
        let doc = declare(input("eula.pdf", "application/pdf", 10), Some(&seller(true)), "doc-1".into(), now(), now()).unwrap();
        assert!(doc.check_upload(10, &"ab".repeat(32)).is_ok());
        let field = |r: DomainResult<()>| match r {
            Err(DomainError::Validation { field, message }) => (field.unwrap_or_default(), message),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(doc.check_upload(11, &"ab".repeat(32))).0, "sizeBytes");
        let (at, message) = field(doc.check_upload(10, &"cd".repeat(32)));
        assert_eq!(at, "sha256");
        assert!(message.contains(&"cd".repeat(32)), "{message}");
        let ready = doc.complete(Some("v1".into()), now()).unwrap();
        assert_eq!(ready.status, DocumentStatus::Ready);
        assert!(matches!(ready.complete(None, now()), Err(DomainError::Conflict(_))));
        assert_eq!(ready.view()["status"], "ready");
        assert!(ready.view().get("versionId").is_none());
    }

    #[test]
    fn a_document_is_its_owners_alone() {
        let doc = declare(input("eula.pdf", "application/pdf", 10), Some(&seller(true)), "doc-1".into(), now(), now()).unwrap();
        assert!(doc.for_owner(&AccountId::parse("111122223333").unwrap()).is_ok());
        assert!(matches!(doc.for_owner(&AccountId::parse("222233334444").unwrap()), Err(DomainError::NotFound(_))));
    }
}
