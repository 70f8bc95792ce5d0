//! The private document bucket: presigned uploads and downloads, the checked copies of uploads,
//! and the compiled legal files. Its errors are the store's, so a handler treats both alike.
//!
//! | prefix        | what                                   | kept                              |
//! |---------------|----------------------------------------|-----------------------------------|
//! | `uploads/`    | what a presigned `PUT` wrote           | a day (lifecycle), checked or not |
//! | `documents/`  | a checked upload's copy, by version    | for good                          |
//! | `compiled/`   | an opportunity's compiled EULA / agreement | for good                      |

use crate::store::StoreError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use chrono::{DateTime, Utc};
use cppo_domain::document::{kept_key, StoredDocument, DOWNLOAD_MINUTES, UPLOAD_MINUTES};
use cppo_domain::legal::StoredRef;
use cppo_domain::opportunity::{compiled_key, Compiled, CompiledFile, Opportunity};
use cppo_domain::DomainError;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

pub use crate::config::DOCUMENT_BUCKET;

#[derive(Clone)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
}

/// A presigned request: the URL, the headers it was signed with, and when it stops working.
#[derive(Debug, Clone, PartialEq)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// An object read back: its bytes and their SHA-256 in hex.
pub struct Object {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// S3's checksum header takes the digest in base64.
fn sha256_base64(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error().and_then(|e| e.code()) {
        Some("SlowDown" | "ThrottlingException" | "RequestLimitExceeded") => StoreError::Throttled,
        _ => StoreError::Aws(aws_sdk_s3::error::DisplayErrorContext(&err).to_string()),
    }
}

fn presigning(minutes: i64) -> Result<PresigningConfig, StoreError> {
    // Real time, never the service's clock: S3 checks the signature's date against its own.
    PresigningConfig::builder()
        .start_time(SystemTime::now())
        .expires_in(Duration::from_secs(minutes as u64 * 60))
        .build()
        .map_err(|e| StoreError::Aws(e.to_string()))
}

fn expiry(minutes: i64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(minutes)
}

fn presigned(request: aws_sdk_s3::presigning::PresignedRequest, minutes: i64) -> Presigned {
    Presigned {
        url: request.uri().to_string(),
        headers: request.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        expires_at: expiry(minutes),
    }
}

impl Bucket {
    pub fn new(client: aws_sdk_s3::Client, name: impl Into<String>) -> Bucket {
        Bucket { client, name: name.into() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `PUT` of exactly the declared file: its type, length and SHA-256 are signed, so S3 refuses
    /// any other body.
    pub async fn presign_upload(&self, doc: &StoredDocument) -> Result<Presigned, StoreError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(cppo_domain::document::upload_key(&doc.document_id))
            .content_type(&doc.content_type)
            .content_length(doc.size_bytes as i64)
            .checksum_sha256(sha256_base64(&doc.sha256))
            .presigned(presigning(UPLOAD_MINUTES)?)
            .await
            .map_err(classify)?;
        Ok(presigned(request, UPLOAD_MINUTES))
    }

    /// A `GET` of a compiled file (the version recorded), named for the reader's download.
    pub async fn presign_download(&self, file: &CompiledFile, file_name: &str) -> Result<Presigned, StoreError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(&file.key)
            .set_version_id(file.version_id.clone())
            .response_content_type("application/pdf")
            .response_content_disposition(format!("inline; filename=\"{file_name}\""))
            .presigned(presigning(DOWNLOAD_MINUTES)?)
            .await
            .map_err(classify)?;
        Ok(presigned(request, DOWNLOAD_MINUTES))
    }

    /// The object at `key` (at `version` when given), or `None` when there is none.
    pub async fn read(&self, key: &str, version: Option<&str>) -> Result<Option<Object>, StoreError> {
        let sent = self.client.get_object().bucket(&self.name).key(key).set_version_id(version.map(str::to_string)).send().await;
        let output = match sent {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(err) => return Err(classify(err)),
        };
        let bytes = output.body.collect().await.map_err(|e| StoreError::Aws(e.to_string()))?.into_bytes().to_vec();
        let sha256 = sha256_hex(&bytes);
        Ok(Some(Object { bytes, sha256 }))
    }

    /// Copies a checked upload to where it is kept; the copy's version is what compiles read.
    pub async fn keep(&self, from: &str, to: &str) -> Result<Option<String>, StoreError> {
        let copied = self
            .client
            .copy_object()
            .bucket(&self.name)
            .copy_source(format!("{}/{from}", self.name))
            .key(to)
            .send()
            .await
            .map_err(classify)?;
        Ok(copied.version_id().map(str::to_string))
    }

    /// Writes a compiled PDF, its SHA-256 checked by S3 on the way in; returns its version.
    pub async fn put_pdf(&self, key: &str, bytes: Vec<u8>, sha256: &str) -> Result<Option<String>, StoreError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type("application/pdf")
            .checksum_sha256(sha256_base64(sha256))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(classify)?;
        Ok(put.version_id().map(str::to_string))
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client.delete_object().bucket(&self.name).key(key).send().await.map_err(classify)?;
        Ok(())
    }

    /// Deletes what a failed step left, logging rather than failing: the caller already has its
    /// answer, and the lifecycle or the orphan check removes what this could not.
    pub async fn discard(&self, key: &str) {
        if let Err(error) = self.delete(key).await {
            tracing::warn!(%error, key, "could not delete an object a failed step left");
        }
    }
}

/// Compiles an opportunity's uploaded legal terms into the bucket as it becomes active, each set
/// into one PDF at `compiled/<key_id>/...`, from the kept copies `documents` record. Nothing it
/// writes is recorded until the caller's transaction commits: see `compiled_key`.
pub async fn compile_terms(
    bucket: &Bucket,
    o: &Opportunity,
    documents: &[StoredDocument],
    key_id: &str,
) -> Result<Compiled, crate::api::Step> {
    let mut compiled = Compiled::default();
    for (part, refs) in o.to_compile() {
        let Some(refs) = refs else { continue };
        let file = compile_set(bucket, &refs, documents, &compiled_key(key_id, part), part).await?;
        match part {
            "eula" => compiled.eula = Some(file),
            _ => compiled.reseller_agreement = Some(file),
        }
    }
    Ok(compiled)
}

async fn compile_set(
    bucket: &Bucket,
    refs: &[&StoredRef],
    documents: &[StoredDocument],
    key: &str,
    part: &str,
) -> Result<CompiledFile, crate::api::Step> {
    let field = if part == "eula" { "eula.documents" } else { "resellerAgreement.documents" };
    let mut files = Vec::with_capacity(refs.len());
    for (i, r) in refs.iter().enumerate() {
        let at = format!("{field}[{i}].documentId");
        let record = documents.iter().find(|d| d.document_id == r.document_id && d.sha256 == r.sha256);
        let record = record.ok_or_else(|| DomainError::field(&at, format!("document {} is no longer as it was", r.document_id)))?;
        let object = bucket.read(&kept_key(&record.document_id), record.version_id.as_deref()).await?;
        // The kept copy is what was checked at completion; anything else is not this document.
        let object = object.filter(|o| o.sha256 == record.sha256).ok_or_else(|| {
            tracing::error!(document = %record.document_id, "a ready document's kept copy is missing or changed");
            StoreError::Corrupt(format!("document {} has no kept copy", record.document_id))
        })?;
        files.push((record.content_type.clone(), object.bytes));
    }
    let parts: Vec<crate::pdf::Part<'_>> = files.iter().map(|(t, b)| crate::pdf::Part::of(t, b)).collect();
    let bytes = crate::pdf::compile(&parts).map_err(|why| DomainError::field(field, why))?;
    let sha256 = sha256_hex(&bytes);
    let size_bytes = bytes.len() as u64;
    let version_id = bucket.put_pdf(key, bytes, &sha256).await?;
    Ok(CompiledFile { key: key.to_string(), sha256, size_bytes, version_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_header_is_the_digest_in_base64() {
        let hex = sha256_hex(b"hello");
        assert_eq!(hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(sha256_base64(&hex), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
    }
}
