//! Metadata removed from every uploaded file before it is stored (COL-5): a phone's video keeps
//! its position and model in MP4/QuickTime atoms, a voice message its recorder in ID3, RIFF or
//! Vorbis comments, a document its author in PDF Info/XMP or Office properties. Each content type
//! the upload purposes accept has its cleaner here; a file a cleaner cannot read, or a kind that
//! cannot be cleaned (legacy OLE Office files, encrypted PDFs, Ogg FLAC/Speex/Theora), is refused
//! with `BAD_USER_INPUT`, `field: "file"` and `reason: "METADATA_NOT_REMOVABLE"` — never stored
//! as sent. Images have their own cleaner (`files::clean_image`: re-encoded from their pixels).
//!
//! The cleaners keep the media playable: MP4 boxes are blanked in place (`free` of the same size,
//! so chunk offsets stay valid), Ogg comments are overwritten and their pages' checksums redone,
//! PDFs and Office files are rewritten by a real parser (lopdf, zip).

mod audio;
mod mp4;
mod office;
mod pdf;

use bytes::Bytes;

use crate::error::{AppError, ErrorCode};

pub use mp4::boxes_named;

/// Why a file was refused: what the uploader is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl Refused {
    fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

impl From<Refused> for AppError {
    fn from(r: Refused) -> Self {
        AppError::new(ErrorCode::BadUserInput, r.0).with("field", "file").with("reason", REASON)
    }
}

/// The `reason` of an upload refused because its metadata could not be removed.
pub const REASON: &str = "METADATA_NOT_REMOVABLE";

/// `raw` of `content_type` (as `uploads::sniff` named it) without its metadata.
pub fn scrub(content_type: &str, raw: Bytes) -> Result<Bytes, Refused> {
    let cleaned = std::panic::catch_unwind(|| match content_type {
        "video/mp4" | "video/quicktime" | "audio/mp4" => mp4::clean(&raw).map(Some),
        "audio/mpeg" => audio::clean_mp3(&raw).map(Some),
        "audio/wav" => audio::clean_wav(&raw).map(Some),
        "audio/ogg" => audio::clean_ogg(&raw).map(Some),
        // Raw codec frames: no container, nowhere for metadata to be.
        "audio/amr" | "audio/aac" | "text/plain; charset=utf-8" => Ok(None),
        "application/pdf" => pdf::clean(&raw).map(Some),
        "application/zip" => office::clean(&raw).map(Some),
        "application/x-ole-storage" => Err(Refused::new(
            "legacy Office files (.doc, .xls, .ppt) keep their author where it cannot be removed: \
             save the file as .docx, .xlsx, .pptx or PDF and send that",
        )),
        other => Err(Refused::new(format!("{other} files cannot be cleaned of their metadata"))),
    })
    .unwrap_or_else(|_| Err(Refused::new("the file cannot be read")))?;
    Ok(cleaned.map(Bytes::from).unwrap_or(raw))
}

/// The sample files under `tests/fixtures/metadata`, made by real tools (see its `make.sh`).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/metadata").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the fixtures carry: a position, a device and an author.
#[cfg(test)]
pub(crate) const MARKERS: [&str; 5] = ["39.9042", "HUAWEI", "Mate 70", "iPhone", "张三"];

#[cfg(test)]
pub(crate) fn carries(bytes: &[u8], marker: &str) -> bool {
    bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_cannot_be_cleaned_is_refused_with_its_reason() {
        let ole = Bytes::from_static(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]);
        let e = AppError::from(scrub("application/x-ole-storage", ole).unwrap_err());
        assert_eq!(e.code(), ErrorCode::BadUserInput);
        assert_eq!(e.detail("reason"), Some(&serde_json::json!(REASON)));
        assert!(scrub("video/mp4", Bytes::from_static(b"\0\0\0\x18ftypmp42\0\0")).is_err(), "cut short");
        assert!(scrub("application/pdf", Bytes::from_static(b"%PDF-1.7 and nothing else")).is_err());
        assert!(scrub("application/zip", Bytes::from_static(b"PK\x03\x04 broken")).is_err());
        let text = Bytes::from_static("实习日志".as_bytes());
        assert_eq!(scrub("text/plain; charset=utf-8", text.clone()).unwrap(), text, "text has no metadata");
    }
}
