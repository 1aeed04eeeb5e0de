//! Uploads and downloads: `POST /files?purpose=…` with the image as the body, `GET /files/{id}`.
//! Both need `Authorization: Bearer …`, which a cross-site form cannot send, so no CSRF.

use bytes::Bytes;
use poem::http::{StatusCode, header};
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use serde_json::json;
use xqt_accounts::uploads::{self, MAX_UPLOAD_BYTES, Purpose};
use xqt_chat::entity::message::MessageKind;
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::{AppError, ErrorCode, Viewer};

use crate::ServerState;
use crate::http::{MediaType, error_response, request_meta};

const JSON: MediaType = MediaType::Json;

async fn viewer(req: &Request, state: &ServerState) -> Result<Viewer, AppError> {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    Ok(state.ctx.authenticate(authorization).await?.viewer)
}

fn purpose_of(req: &Request) -> Result<Purpose, AppError> {
    let given = req.uri().query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("purpose="));
    given.and_then(Purpose::parse).ok_or_else(|| {
        AppError::bad_input("purpose", "say what the upload is for: purpose=avatar, licence or report_evidence")
    })
}

#[handler]
pub async fn upload(req: &Request, body: Body, Data(state): Data<&ServerState>) -> Response {
    let meta = request_meta(req, state);
    match store(req, body, state).await {
        Ok(file) => {
            let body = json!({ "id": file.id, "purpose": file.purpose, "contentType": file.content_type, "size": file.size, "url": format!("/files/{}", file.id) });
            Response::builder().status(StatusCode::CREATED).content_type("application/json").body(body.to_string())
        }
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

async fn store(req: &Request, body: Body, state: &ServerState) -> Result<xqt_accounts::entity::file::Model, AppError> {
    let owner = viewer(req, state).await?.require_person()?;
    let purpose = purpose_of(req)?;
    let bytes = read_upload(req, body, purpose.max_bytes().min(MAX_UPLOAD_BYTES), purpose.as_str()).await?;
    uploads::upload(&state.ctx, owner, purpose, &bytes).await
}

/// An upload's body, refused as `PAYLOAD_TOO_LARGE` over `limit` bytes (by its declared length
/// before reading anything), and never empty.
async fn read_upload(req: &Request, body: Body, limit: usize, what: &str) -> Result<Bytes, AppError> {
    let too_large = || AppError::new(ErrorCode::PayloadTooLarge, format!("a {what} may be at most {limit} bytes"));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let bytes = body.into_bytes_limit(limit).await.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => too_large(),
        _ => AppError::bad_input("file", "the upload could not be read"),
    })?;
    if bytes.is_empty() {
        return Err(AppError::bad_input("file", "the upload is empty"));
    }
    Ok(bytes)
}

#[handler]
pub async fn download(req: &Request, Path(id): Path<String>, Data(state): Data<&ServerState>) -> Response {
    let meta: RequestMeta = request_meta(req, state);
    let result = async {
        let viewer = viewer(req, state).await?;
        let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::not_found("file"))?;
        uploads::read(&state.ctx, &viewer, id).await
    }
    .await;
    match result {
        Ok((file, bytes)) => Response::builder()
            .content_type(file.content_type)
            .header(header::CACHE_CONTROL, "private, max-age=300")
            .header("x-content-type-options", "nosniff")
            .body(bytes),
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

/// `POST /chat/attachments?conversation=…&kind=image|video|voice|file[&name=…]` with the file as
/// the body: an attachment for a conversation the uploader is in.
#[handler]
pub async fn chat_upload(req: &Request, body: Body, Data(state): Data<&ServerState>) -> Response {
    let meta = request_meta(req, state);
    match store_chat(req, body, state).await {
        Ok(a) => {
            let body = json!({ "id": a.id, "kind": a.kind, "contentType": a.content_type, "size": a.size, "fileName": a.file_name, "url": format!("/chat/attachments/{}", a.id) });
            Response::builder().status(StatusCode::CREATED).content_type("application/json").body(body.to_string())
        }
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

/// The query of a chat upload, decoded (a file name arrives percent-encoded).
#[derive(serde::Deserialize)]
struct ChatUpload {
    conversation: Option<String>,
    kind: Option<String>,
    name: Option<String>,
}

async fn store_chat(
    req: &Request,
    body: Body,
    state: &ServerState,
) -> Result<xqt_chat::entity::attachment::Model, AppError> {
    let me = viewer(req, state).await?.require_person()?;
    let q: ChatUpload = req.params().map_err(|_| AppError::bad_input("query", "the query string could not be read"))?;
    let conversation = q
        .conversation
        .and_then(|c| uuid::Uuid::parse_str(&c).ok())
        .ok_or_else(|| AppError::bad_input("conversation", "say which conversation: conversation=<id>"))?;
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| <MessageKind as sea_orm::ActiveEnum>::try_from_value(&k.to_owned()).ok())
        .filter(|k| k.attached())
        .ok_or_else(|| AppError::bad_input("kind", "kind=image, video, voice or file"))?;
    let bytes =
        read_upload(req, body, xqt_chat::attachments::max_bytes(kind), &sea_orm::ActiveEnum::to_value(&kind)).await?;
    xqt_chat::attachments::upload(&state.ctx, me, conversation, kind, q.name.as_deref(), &bytes).await
}

/// `GET /chat/attachments/{id}`: for members of the attachment's conversation only.
#[handler]
pub async fn chat_download(req: &Request, Path(id): Path<String>, Data(state): Data<&ServerState>) -> Response {
    let meta: RequestMeta = request_meta(req, state);
    let result = async {
        let me = viewer(req, state).await?.require_person()?;
        let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::not_found("attachment"))?;
        xqt_chat::attachments::read(&state.ctx, me, id).await
    }
    .await;
    match result {
        Ok((a, bytes)) => {
            let mut r = Response::builder()
                .content_type(a.content_type)
                .header(header::CACHE_CONTROL, "private, max-age=300")
                .header("x-content-type-options", "nosniff");
            if a.kind == MessageKind::File {
                r = r.header(header::CONTENT_DISPOSITION, "attachment");
            }
            r.body(bytes)
        }
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.uri().query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
}

/// `GET /exports/{request}.{json|html}?expires=…&sig=…`: a person's data export. The signed
/// link is the credential (it is only ever shown to the person); it expires, and each download
/// is audited.
#[handler]
pub async fn export(req: &Request, Path(file): Path<String>, Data(state): Data<&ServerState>) -> Response {
    let meta: RequestMeta = request_meta(req, state);
    let result = async {
        let expires = query_param(req, "expires").and_then(|e| e.parse().ok()).ok_or(AppError::not_found("export"))?;
        let sig = query_param(req, "sig").ok_or(AppError::not_found("export"))?;
        xqt_privacy::export::open(&state.ctx, &file, expires, sig).await
    }
    .await;
    match result {
        Ok((bytes, format)) => Response::builder()
            .content_type(format.content_type())
            .header(header::CACHE_CONTROL, "no-store")
            .header("x-content-type-options", "nosniff")
            .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
            .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"xqt-personal-data.{}\"", format.ext()))
            .body(bytes),
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}
