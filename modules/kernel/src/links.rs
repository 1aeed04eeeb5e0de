//! Signed links that expire: a file a person fetches without a bearer token (a month's
//! attendance as CSV opened in a spreadsheet, a browser download). The link is the credential:
//! it names the file, when it stops working and an HMAC over both under the server's data key,
//! so it cannot be altered or extended. A module serves its files under `GET /links/<name>/…`
//! through `LinkedFiles`; the server checks the signature and the expiry before the module is
//! asked. The privacy module's data exports are signed the same way (a keyed hash under the data
//! key, over the file and its expiry) under their own `/exports/…` path, kept for links already
//! handed out.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::context::AppContext;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::uploads::Download;

/// The signature of `file` under the link family `name`, valid until `expires` (Unix seconds).
pub fn signature(ctx: &AppContext, name: &str, file: &str, expires: i64) -> String {
    ctx.keys.lookup_hex(&format!("link:{name}"), &format!("{file}:{expires}"))
}

/// The path of a signed link to `file`, served by the module that registered `name`.
pub fn link(ctx: &AppContext, name: &str, file: &str, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    format!("/links/{name}/{file}?expires={expires}&sig={}", signature(ctx, name, file, expires))
}

/// When a media link issued at `now` expires: on the hour, one to two hours ahead, so the same
/// link is handed out for an hour (image caches keep it) and none works for long once issued.
pub fn media_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    let hour = now.timestamp().div_euclid(3600);
    DateTime::from_timestamp((hour + 2) * 3600, 0).unwrap_or(now)
}

/// A file and the person a link to it was issued to, as a link's file segment: `<file>_<person>`.
pub fn for_person(file: uuid::Uuid, person: uuid::Uuid) -> String {
    format!("{file}_{person}")
}

/// The file and person of a `for_person` segment.
pub fn parse_for_person(segment: &str) -> Option<(uuid::Uuid, uuid::Uuid)> {
    let (file, person) = segment.split_once('_')?;
    Some((uuid::Uuid::parse_str(file).ok()?, uuid::Uuid::parse_str(person).ok()?))
}

/// `NOT_FOUND` for a link whose signature does not match (nothing to probe), `FORBIDDEN` with
/// `reason: LINK_EXPIRED` for one past its time (ask for a new one).
pub fn verify(ctx: &AppContext, name: &str, file: &str, expires: i64, sig: &str) -> AppResult<()> {
    let expected = signature(ctx, name, file, expires);
    if !crate::crypto::constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
        return Err(AppError::not_found("file"));
    }
    if ctx.clock.now().timestamp() >= expires {
        return Err(AppError::new(ErrorCode::Forbidden, "the link has expired; ask for a new one")
            .with("reason", "LINK_EXPIRED"));
    }
    Ok(())
}

/// A family of files one module serves behind signed links, at `GET /links/<name>/<file>`.
#[async_trait]
pub trait LinkedFiles: Send + Sync + 'static {
    /// The path segment after `/links/`; unique across modules.
    fn name(&self) -> &'static str;
    /// The file, once its link is verified. The module checks again whatever the link was
    /// issued on (the requester may have lost access since) and audits the download.
    async fn open(&self, ctx: &AppContext, file: &str) -> AppResult<Download>;
}
