//! Uploads and downloads: `POST /files?purpose=…` with the file as the body — raw, or as the
//! `file` part of `multipart/form-data` (what uni-app's and mini-programs' `uploadFile` and React
//! Native send) — and `GET /files/{id}` with `ETag`, `Range` and cache headers. Both need
//! `Authorization: Bearer …`, which a cross-site form cannot send, so no CSRF.

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
    // The request guard GraphQL's mutations pass: a child awaiting a guardian, a suspended
    // account, a pending major policy naming the module, ceased operation — refused here too.
    let module = state.ctx.modules.upload_purpose_module(purpose.id).unwrap_or("files");
    state.ctx.modules.privacy().standing.check(&state.ctx, &viewer, "Mutation", module, "upload", false).await?;
    purpose.handler.allow(&state.ctx, &viewer, params).await?;
    let (bytes, file_name) = read_upload(req, body, purpose).await?;
    let params = params.clone().or_with("name", file_name);
    let cleaning = purpose.clone();
    let checked =
        tokio::task::spawn_blocking(move || uploads::prepare(&cleaning, bytes)).await.map_err(AppError::internal)??;
    purpose.handler.store(&state.ctx, &viewer, &params, checked).await
}

fn find_purpose<'a>(state: &'a ServerState, id: &str) -> Result<&'a UploadPurpose, AppError> {
    state.ctx.modules.upload_purpose(id).ok_or_else(|| {
        let known: Vec<&str> = state.ctx.modules.upload_purposes().iter().map(|p| p.id).collect();
        AppError::bad_input("purpose", format!("say what the upload is for: purpose={}", known.join(", ")))
    })
}

/// Room for a multipart body's boundaries and part headers around the file itself.
const MULTIPART_OVERHEAD: usize = 16 * 1024;

/// An upload's bytes within the purpose's limit (`PAYLOAD_TOO_LARGE` beyond it), and the file
/// name a multipart part gave.
async fn read_upload(req: &Request, body: Body, purpose: &UploadPurpose) -> Result<(Bytes, Option<String>), AppError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(content_type))
        .transpose()
        .map_err(|_| AppError::bad_input("file", "multipart/form-data needs its boundary= parameter"))?;
    let limit = purpose.max_bytes + if boundary.is_some() { MULTIPART_OVERHEAD } else { 0 };
    let raw = crate::request::body(req, body, limit).await.map_err(|e| match e {
        crate::request::BodyError::TooLarge => uploads::too_large(purpose),
        crate::request::BodyError::Unreadable => AppError::bad_input("file", "the upload could not be read"),
    })?;
    let Some(boundary) = boundary else { return Ok((raw, None)) };
    let (bytes, name) = file_part(raw, boundary).await?;
    if bytes.len() > purpose.max_bytes {
        return Err(uploads::too_large(purpose));
    }
    Ok((bytes, name))
}

/// The file of a multipart body: the part named `file`, or else the first part with a file name.
async fn file_part(raw: Bytes, boundary: String) -> Result<(Bytes, Option<String>), AppError> {
    let malformed = |e: multer::Error| AppError::bad_input("file", format!("the multipart body is malformed: {e}"));
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(raw) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut fallback = None;
    while let Some(part) = parts.next_field().await.map_err(malformed)? {
        let named_file = part.name() == Some("file");
        let file_name = part.file_name().map(str::to_owned);
        if named_file || (fallback.is_none() && file_name.is_some()) {
            let bytes = part.bytes().await.map_err(malformed)?;
            if named_file {
                return Ok((bytes, file_name));
            }
            fallback = Some((bytes, file_name));
        }
    }
    fallback.ok_or_else(|| AppError::bad_input("file", "a multipart upload needs its file in a part named file"))
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
        let width = thumbnail_width(req)?;
        let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::not_found("file"))?;
        let file = state.ctx.modules.open_file(&state.ctx, &viewer, id).await?;
        Ok((thumbnailed(&state.ctx, file, width).await?, width))
    }
    .await;
    match result {
        // An upload never changes under its id: the id is its entity tag, no hashing per request.
        Ok((file, None)) => ranged(req, file, "private, max-age=300", Some(&id)),
        Ok((file, Some(w))) => ranged(req, file, "private, max-age=300", Some(&format!("{id}-w{w}"))),
        Err(e) => error_response(state, &e, &meta, JSON),
    }
}

/// `?w=128` on a download or a media link: a thumbnail of the image that fits the width.
fn thumbnail_width(req: &Request) -> Result<Option<u32>, AppError> {
    let Some(w) = params(req)?.get("w").map(str::to_owned) else { return Ok(None) };
    w.parse::<u32>().map(Some).map_err(|_| AppError::bad_input("w", "a thumbnail width in pixels"))
}

/// How long an instance keeps a thumbnail it made (small ones only). Keyed by the original's
/// bytes, and only reached after the original was opened for this viewer: an erased or
/// replaced file's thumbnail is never served, and is gone from memory within this time.
const THUMBNAIL_KEEP: std::time::Duration = std::time::Duration::from_secs(600);
const THUMBNAIL_CACHED_UP_TO: u32 = 256;

/// The file, or its thumbnail when a width was asked for (made off the async threads).
async fn thumbnailed(
    ctx: &xqt_kernel::AppContext,
    file: xqt_kernel::uploads::Download,
    width: Option<u32>,
) -> Result<xqt_kernel::uploads::Download, AppError> {
    let Some(width) = width else { return Ok(file) };
    // Only small ones are kept, so only they are hashed and looked up.
    let key = (width <= THUMBNAIL_CACHED_UP_TO)
        .then(|| format!("thumbnail:{}:{width}", xqt_kernel::crypto::sha256_hex(&file.bytes)));
    if let Some(key) = &key
        && let Some(hit) = ctx.local.get(key).await?
    {
        let content_type = if hit.starts_with(&[0xFF, 0xD8]) { "image/jpeg" } else { "image/png" };
        return Ok(xqt_kernel::uploads::Download {
            content_type: content_type.to_owned(),
            bytes: hit,
            as_attachment: false,
        });
    }
    let original = file.bytes;
    let made = tokio::task::spawn_blocking(move || xqt_kernel::files::thumbnail(&original, width))
        .await
        .map_err(AppError::internal)??;
    if let Some(key) = &key {
        ctx.local.set(key, made.bytes.clone(), THUMBNAIL_KEEP).await?;
    }
    Ok(xqt_kernel::uploads::Download {
        content_type: made.content_type.to_owned(),
        bytes: made.bytes,
        as_attachment: false,
    })
}

/// Conditional and partial answers for a file (what `<video>` players and image caches ask):
/// a strong `ETag` (`tag`, or the SHA-256 of the bytes) with `If-None-Match` → 304, and one `Range` of
/// bytes → 206 with `Content-Range`, or 416 when it lies outside the file.
fn ranged(req: &Request, file: xqt_kernel::uploads::Download, cache: &'static str, tag: Option<&str>) -> Response {
    let etag = match tag {
        Some(t) => format!("\"{t}\""),
        None => format!("\"{}\"", &xqt_kernel::crypto::sha256_hex(&file.bytes)[..32]),
    };
    let bytes = file.bytes.clone();
    let mut resp = file_response(xqt_kernel::uploads::Download { bytes: Bytes::new(), ..file }, cache);
    resp.headers_mut().insert(header::ACCEPT_RANGES, header::HeaderValue::from_static("bytes"));
    if let Ok(v) = header::HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    let matches_etag = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches_etag {
        resp.set_status(StatusCode::NOT_MODIFIED);
        return resp;
    }
    let total = bytes.len();
    match req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| byte_range(r, total)) {
        None => resp.set_body(bytes),
        Some(Some((start, end))) => {
            resp.set_status(StatusCode::PARTIAL_CONTENT);
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {start}-{end}/{total}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            resp.set_body(bytes.slice(start..=end));
        }
        Some(None) => {
            resp.set_status(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{total}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
        }
    }
    resp
}

/// One `bytes=` range within a file of `len` bytes, inclusive: `a-b`, `a-` or `-n` (the last n).
fn byte_range(header: &str, len: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len - 1)
        }
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<usize>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn byte_ranges_as_rfc_9110_reads_them() {
        assert_eq!(byte_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(byte_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=50-500", 100), Some((50, 99)), "an end past the file is the file's end");
        assert_eq!(byte_range("bytes=100-", 100), None, "starts past the end");
        assert_eq!(byte_range("bytes=9-0", 100), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None, "one range only");
        assert_eq!(byte_range("items=0-1", 100), None);
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
        let width = thumbnail_width(req)?;
        let found = files.open(&state.ctx, &file).await?;
        thumbnailed(&state.ctx, found, width).await
    }
    .await;
    match result {
        // A linked file may change under its link (a month's report): tagged by its bytes.
        Ok(file) => ranged(req, file, "no-store", None),
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
