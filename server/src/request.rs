//! Reading a request, in one place: its query string (percent-decoded) and its body within a
//! limit (refused by its declared length before anything is read).

use bytes::Bytes;
use poem::http::header;
use poem::{Body, Request};
use xqt_kernel::AppError;
use xqt_kernel::uploads::Params;

/// The query string, percent-decoded; a malformed one is refused rather than half read.
pub fn params(req: &Request) -> Result<Params, AppError> {
    let pairs: Vec<(String, String)> =
        req.params().map_err(|_| AppError::bad_input("query", "the query string could not be read"))?;
    Ok(Params::new(pairs))
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// The body, at most `limit` bytes: a larger declared `Content-Length` is refused before reading,
/// and reading stops at the limit whatever was declared.
pub async fn body(req: &Request, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    body.into_bytes_limit(limit).await.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => BodyError::TooLarge,
        _ => BodyError::Unreadable,
    })
}
