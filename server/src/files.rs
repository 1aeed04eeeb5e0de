//! Uploads and downloads: `POST /files?purpose=…` with the image as the body, `GET /files/{id}`.
//! Both need `Authorization: Bearer …`, which a cross-site form cannot send, so no CSRF.

use bytes::Bytes;
use poem::http::{StatusCode, header};
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::uploads::{self, Params, UploadPurpose};
use xqt_kernel::{AppError, Viewer};

use crate::ServerState;
use crate::http::{MediaType, error_response, request_meta};

const JSON: MediaType = MediaType::Json;

async fn viewer(req: &Request, state: &ServerState) -> Result<Viewer, AppError> {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    Ok(state.ctx.authenticate(authorization).await?.viewer)
}

use crate::request::params;

/// `POST /files?purpose=<id>&…` with the file as the body: any module's upload purpose.
#[handler]
pub async fn upload(req: &Request, body: Body, Data(state): Data<&ServerState>) -> Response {
    let meta = request_meta(req, state);
    let result = async {
        let params = params(req)?;
        let purpose = params.get("purpose").unwrap_or_default().to_owned();
        store(req, body, state, &purpose, &params).await
    }
    .await;
    created(state, result, &meta)
}

/// `POST /chat/attachments?conversation=…&kind=image|video|voice|file[&name=…]`: the chat
/// purposes under their first address (clients built on it keep working).
#[handler]
pub async fn chat_upload(req: &Request, body: Body, Data(state): Data<&ServerState>) -> Response {
    let meta = request_meta(req, state);
    let result = async {
        let params = params(req)?;
        let kind = params.get("kind").unwrap_or_default();
        let purpose = match kind {
            "image" | "video" | "voice" | "file" => format!("chat_{kind}"),
            _ => return Err(AppError::bad_input("kind", "kind=image, video, voice or file")),
        };
        store(req, body, state, &purpose, &params).await
    }
    .await;
    created(state, result, &meta)
}

fn created(state: &ServerState, result: Result<serde_json::Value, AppError>, meta: &RequestMeta) -> Response {
    match result {
        Ok(body) => {
            Response::builder().status(StatusCode::CREATED).content_type("application/json").body(body.to_string())
        }
        Err(e) => error_response(state, &e, meta, JSON),
    }
}

/// Who may upload is asked before the body is read; then the body within the purpose's limit,
/// its content checked (images cleaned), and the module stores it.
async fn store(
    req: &Request,
    body: Body,
    state: &ServerState,
    purpose: &str,
    params: &Params,
) -> Result<serde_json::Value, AppError> {
    let viewer = viewer(req, state).await?;
    let purpose = find_purpose(state, purpose)?;
    purpose.handler.allow(&state.ctx, &viewer, params).await?;
    let bytes = read_upload(req, body, purpose).await?;
    let checked = uploads::prepare(purpose, bytes)?;
    purpose.handler.store(&state.ctx, &viewer, params, checked).await
}

fn find_purpose<'a>(state: &'a ServerState, id: &str) -> Result<&'a UploadPurpose, AppError> {
    state.ctx.modules.upload_purpose(id).ok_or_else(|| {
        let known: Vec<&str> = state.ctx.modules.upload_purposes().iter().map(|p| p.id).collect();
        AppError::bad_input("purpose", format!("say what the upload is for: purpose={}", known.join(", ")))
    })
}

/// An upload's body within the purpose's limit (`PAYLOAD_TOO_LARGE` beyond it).
async fn read_upload(req: &Request, body: Body, purpose: &UploadPurpose) -> Result<Bytes, AppError> {
    crate::request::body(req, body, purpose.max_bytes).await.map_err(|e| match e {
        crate::request::BodyError::TooLarge => uploads::too_large(purpose),
        crate::request::BodyError::Unreadable => AppError::bad_input("file", "the upload could not be read"),
    })
}

/// `GET /files/{id}` (and `/chat/attachments/{id}`): the file from whichever module holds it,
/// for a viewer that module lets read it.
#[handler]
pub async fn download(req: &Request, Path(id): Path<String>, Data(state): Data<&ServerState>) -> Response {
    let meta: RequestMeta = request_meta(req, state);
    let result = async {
        let viewer = viewer(req, state).await?;
        if viewer == Viewer::Anonymous {
            return Err(AppError::unauthenticated());
        }
        let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::not_found("file"))?;
        state.ctx.modules.open_file(&state.ctx, &viewer, id).await
    }
    .await;
    match result {
        Ok(file) => file_response(file, "private, max-age=300"),
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

/// `GET /exports/{request}.{json|html}?expires=…&sig=…`: a person's data export. The signed
/// link is the credential (it is only ever shown to the person); it expires, and each download
/// is audited.
#[handler]
pub async fn export(req: &Request, Path(file): Path<String>, Data(state): Data<&ServerState>) -> Response {
    let meta: RequestMeta = request_meta(req, state);
    let result = async {
        let params = params(req).map_err(|_| AppError::not_found("export"))?;
        let expires = params.get("expires").and_then(|e| e.parse().ok()).ok_or(AppError::not_found("export"))?;
        let sig = params.get("sig").ok_or(AppError::not_found("export"))?;
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

/// `GET /links/{name}/{file}?expires=…&sig=…`: a file a module serves behind a signed link (a
/// month's attendance as CSV). The signature and the expiry are checked before the module is
/// asked; the module checks again who the link was issued to and audits the download.
#[handler]
pub async fn linked(
    req: &Request,
    Path((name, file)): Path<(String, String)>,
    Data(state): Data<&ServerState>,
) -> Response {
    let meta: RequestMeta = request_meta(req, state);
    let result = async {
        let files = state.ctx.modules.linked_files(&name).ok_or(AppError::not_found("file"))?;
        let params = params(req).map_err(|_| AppError::not_found("file"))?;
        let expires = params.get("expires").and_then(|e| e.parse().ok()).ok_or(AppError::not_found("file"))?;
        let sig = params.get("sig").ok_or(AppError::not_found("file"))?;
        xqt_kernel::links::verify(&state.ctx, files.name(), &file, expires, sig)?;
        files.open(&state.ctx, &file).await
    }
    .await;
    match result {
        Ok(file) => file_response(file, "no-store"),
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

/// A file as the module described it, never sniffed by the browser.
fn file_response(file: xqt_kernel::uploads::Download, cache: &'static str) -> Response {
    let mut r = Response::builder()
        .content_type(file.content_type)
        .header(header::CACHE_CONTROL, cache)
        .header("x-content-type-options", "nosniff");
    if file.as_attachment {
        r = r.header(header::CONTENT_DISPOSITION, "attachment");
    }
    r.body(file.bytes)
}
