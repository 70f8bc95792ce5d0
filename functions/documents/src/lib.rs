//! A seller's legal documents: `POST /documents` declares one and gives a presigned upload,
//! `POST /documents/{id}/complete` checks what was uploaded and keeps it, `GET /documents/{id}`
//! shows it to its owner.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use cppo_domain::document::{declare, kept_key, upload_key, DeclareDocumentInput, DocumentStatus, StoredDocument};
use cppo_domain::ids::IdKind;
use cppo_platform::api::{commit, path_id, until_committed, Step};
use cppo_platform::http::{unknown_route, ApiError, ApiRequest};
use cppo_platform::idempotent::serve;
use cppo_platform::pdf;
use cppo_platform::store::{document_item, Versioned, Write, DOCUMENT};
use cppo_platform::App;
use serde_json::{Map, Value};

type Answer = Result<(u16, Value), ApiError>;

pub async fn handle(app: &App, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    serve(app, &event, |req| async move {
        match req.route_key() {
            "POST /documents" => declare_document(app, &req).await,
            "POST /documents/{id}/complete" => complete(app, &req).await,
            "GET /documents/{id}" => get_document(app, &req).await,
            _ => unknown_route(&req),
        }
    })
    .await
}

async fn declare_document(app: &App, req: &ApiRequest<'_>) -> Answer {
    let input: DeclareDocumentInput = req.body()?;
    let seller = app.store.seller(&req.caller).await?;
    let doc = declare(input, seller.as_ref().map(|s| &s.value), app.new_id(IdKind::Document), app.now(), chrono::Utc::now())?;
    let upload = app.bucket()?.presign_upload(&doc).await?;
    let mut body = doc.view();
    let headers: Map<String, Value> = upload.headers.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    body["uploadUrl"] = Value::String(upload.url);
    body["uploadHeaders"] = Value::Object(headers);
    body["expiresAt"] = Value::String(cppo_domain::time::stamp(upload.expires_at));
    commit(app, req, vec![Write::Create(document_item(&doc, 1)?)], 201, &body).await?;
    Ok((201, body))
}

async fn load(app: &App, req: &ApiRequest<'_>) -> Result<Versioned<StoredDocument>, ApiError> {
    let id = path_id(req, "id", IdKind::Document, "document")?;
    let found = app.store.load::<StoredDocument>(DOCUMENT, id).await?;
    match found {
        Some(d) if d.value.for_owner(&req.caller).is_ok() => Ok(d),
        _ => Err(ApiError::NotFound(format!("no document {id}"))),
    }
}

async fn get_document(app: &App, req: &ApiRequest<'_>) -> Answer {
    Ok((200, load(app, req).await?.value.view()))
}

/// Reads the upload back and checks it against the declaration and its type; a file that fails
/// is deleted, one that passes is copied to where it is kept, and only then is the document ready.
async fn complete(app: &App, req: &ApiRequest<'_>) -> Answer {
    req.empty_body()?;
    let bucket = app.bucket()?;
    let body = until_committed(|| async {
        let read = load(app, req).await?;
        let doc = &read.value;
        if doc.status == DocumentStatus::Ready {
            return Ok(doc.view());
        }
        let upload = upload_key(&doc.document_id);
        let object = bucket.read(&upload, None).await?.ok_or_else(|| {
            ApiError::Conflict(format!("nothing has been uploaded for {} yet: PUT the file to its uploadUrl first", doc.document_id))
        })?;
        let checked = doc.check_upload(object.bytes.len() as u64, &object.sha256).map_err(ApiError::from).and_then(|_| {
            pdf::check(&pdf::Part::of(&doc.content_type, &object.bytes)).map_err(|why| ApiError::validation("contentType", why))
        });
        if let Err(refused) = checked {
            bucket.discard(&upload).await;
            return Err(Step::Refused(refused));
        }
        let version = bucket.keep(&upload, &kept_key(&doc.document_id)).await?;
        let ready = doc.complete(version, app.now())?;
        let body = ready.view();
        commit(app, req, vec![Write::Replace(document_item(&ready, read.version + 1)?, read.version)], 200, &body).await?;
        Ok(body)
    })
    .await?;
    // The upload's own copy is no longer needed; the lifecycle removes it within a day regardless.
    bucket.discard(&upload_key(path_id(req, "id", IdKind::Document, "document")?)).await;
    Ok((200, body))
}
