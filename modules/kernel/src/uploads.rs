//! Uploads and downloads, one HTTP path for every module: `POST /files?purpose=<id>&…` with the
//! file as the body, `GET /files/{id}`. A module registers its *upload purposes* through its
//! `Module` value: the size limit, the content it accepts (read from the bytes, never from a
//! name or a header), who may upload, and what it does with the stored file. The server reads
//! the body within the limit, checks or cleans the content, and hands the module an `Upload`;
//! the module never sees HTTP.

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::files::clean_image;
use crate::scrub::scrub;
use crate::viewer::Viewer;

/// What an upload of a purpose may contain, and what happens to it before it is stored.
#[derive(Debug, Clone, Copy)]
pub enum Content {
    /// A JPEG, PNG or WebP image, re-encoded from its pixels so no metadata survives (COL-5).
    Image,
    /// One of these content types, recognised by the file's first bytes and cleaned of its
    /// metadata by `scrub` (COL-5; refused when it cannot be). The
    /// first that matches wins, so list the narrower type first (`video/quicktime` before
    /// `video/mp4`).
    Sniffed(&'static [&'static str]),
}

/// A kind of upload one module accepts.
#[derive(Clone)]
pub struct UploadPurpose {
    /// `purpose=<id>` in the upload's query; unique across modules.
    pub id: &'static str,
    pub description: &'static str,
    /// The largest upload, in bytes; larger ones are refused before they are read.
    pub max_bytes: usize,
    pub content: Content,
    pub handler: std::sync::Arc<dyn UploadHandler>,
}

/// The query of an upload, decoded (`name=%E7%AE%80%E5%8E%86.pdf` arrives as `简历.pdf`).
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// These parameters with `name` set to `value` unless the request gave it.
    pub fn or_with(mut self, name: &str, value: Option<String>) -> Self {
        if self.get(name).is_none()
            && let Some(v) = value
        {
            self.0.insert(name.to_owned(), v);
        }
        self
    }

    /// A parameter that must be an id, with an error naming it and saying what to send.
    pub fn id(&self, name: &'static str, what: &str) -> AppResult<Uuid> {
        self.get(name)
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or_else(|| AppError::bad_input(name, format!("say which {what}: {name}=<id>")))
    }
}

/// The bytes of an upload after the server checked (and for images cleaned) them.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

#[async_trait]
pub trait UploadHandler: Send + Sync + 'static {
    /// Whether this viewer may upload with these parameters, asked before the body is read: the
    /// error is what the uploader sees (`UNAUTHENTICATED`, `NOT_FOUND`, `FORBIDDEN`, …).
    async fn allow(&self, ctx: &AppContext, viewer: &Viewer, params: &Params) -> AppResult<()>;
    /// Stores the upload (checking again what `allow` checked: it may have changed meanwhile)
    /// and returns the JSON the uploader gets: at least its `id` and `url`.
    async fn store(
        &self,
        ctx: &AppContext,
        viewer: &Viewer,
        params: &Params,
        upload: Upload,
    ) -> AppResult<serde_json::Value>;
}

/// A stored file as a download.
#[derive(Debug, Clone)]
pub struct Download {
    pub content_type: String,
    pub bytes: Bytes,
    /// Sent with `Content-Disposition: attachment` (documents), not shown inline.
    pub as_attachment: bool,
}

/// How `GET /files/{id}` finds a module's file.
#[async_trait]
pub trait Downloads: Send + Sync + 'static {
    /// `Ok(None)` when `id` is not this module's file; `NOT_FOUND` when it is but this viewer may
    /// not read it (no probing others' ids).
    async fn open(&self, ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<Option<Download>>;
}

/// Checks the bytes against what the purpose accepts and removes their metadata (images are
/// re-encoded, other kinds cleaned by `scrub`). CPU-bound: call it off the async workers.
pub fn prepare(purpose: &UploadPurpose, raw: Bytes) -> AppResult<Upload> {
    if raw.is_empty() {
        return Err(AppError::bad_input("file", "the upload is empty"));
    }
    if raw.len() > purpose.max_bytes {
        return Err(too_large(purpose));
    }
    match purpose.content {
        Content::Image => {
            let clean = clean_image(&raw)?;
            Ok(Upload { bytes: clean.bytes, content_type: clean.content_type })
        }
        Content::Sniffed(accepts) => match sniff(&raw, accepts) {
            Some(content_type) => Ok(Upload { bytes: scrub(content_type, raw)?, content_type }),
            None => {
                Err(AppError::bad_input("file", format!("a {} must be one of: {}", purpose.id, accepts.join(", "))))
            }
        },
    }
}

pub fn too_large(purpose: &UploadPurpose) -> AppError {
    AppError::new(ErrorCode::PayloadTooLarge, format!("a {} may be at most {} bytes", purpose.id, purpose.max_bytes))
}

/// The first of `accepts` whose signature the bytes carry. Known types: audio (AMR, Ogg, MP3,
/// AAC, M4A, WAV), video (MP4, QuickTime), PDF, ZIP (and Office files, which are ZIPs), OLE
/// (legacy Office), plain UTF-8 text.
pub fn sniff(raw: &[u8], accepts: &[&'static str]) -> Option<&'static str> {
    let starts = |m: &[u8]| raw.starts_with(m);
    let ftyp = raw.len() > 12 && &raw[4..8] == b"ftyp";
    let brand = |b: &[u8; 4]| ftyp && raw[8..12] == *b;
    accepts.iter().copied().find(|t| match *t {
        "audio/amr" => starts(b"#!AMR"),
        "audio/ogg" => starts(b"OggS"),
        "audio/mpeg" => starts(b"ID3") || starts(&[0xFF, 0xFB]) || starts(&[0xFF, 0xF3]),
        "audio/aac" => starts(&[0xFF, 0xF1]) || starts(&[0xFF, 0xF9]),
        "audio/mp4" => brand(b"M4A ") || brand(b"mp42") || brand(b"isom"),
        "audio/wav" => starts(b"RIFF") && raw.len() > 12 && &raw[8..12] == b"WAVE",
        "video/quicktime" => brand(b"qt  "),
        "video/mp4" => ftyp,
        "application/pdf" => starts(b"%PDF-"),
        "application/zip" => starts(b"PK\x03\x04"),
        "application/x-ole-storage" => starts(&[0xD0, 0xCF, 0x11, 0xE0]),
        "text/plain; charset=utf-8" => !raw.contains(&0) && std::str::from_utf8(raw).is_ok(),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOICE: &[&str] = &["audio/amr", "audio/ogg", "audio/mpeg", "audio/aac", "audio/mp4", "audio/wav"];
    const VIDEO: &[&str] = &["video/quicktime", "video/mp4"];
    const DOCUMENT: &[&str] =
        &["application/pdf", "application/zip", "application/x-ole-storage", "text/plain; charset=utf-8"];

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(sniff(b"#!AMR\n\x3c", VOICE), Some("audio/amr"));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42\0\0\0\0", VIDEO), Some("video/mp4"));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\0\0", VIDEO), Some("video/quicktime"));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42\0\0\0\0", VOICE), Some("audio/mp4"), "the purpose decides");
        assert_eq!(sniff(b"%PDF-1.7", DOCUMENT), Some("application/pdf"));
        assert_eq!(sniff("实习协议".as_bytes(), DOCUMENT), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(b"MZ\x90\0\x03\0", DOCUMENT), None, "executables are refused");
        assert_eq!(sniff(b"%PDF-1.7", VOICE), None, "a document is not a voice message");
    }

    #[test]
    fn params_are_named_in_their_errors() {
        let p = Params::new([("conversation".to_owned(), "nope".to_owned())]);
        let e = p.id("conversation", "conversation").unwrap_err();
        assert_eq!((e.code(), e.detail("field")), (ErrorCode::BadUserInput, Some(&serde_json::json!("conversation"))));
        assert_eq!(p.get("name"), None);
    }
}
