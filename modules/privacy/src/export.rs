//! A copy of everything the platform holds about a person (RTS-7, COL-9): every module's
//! personal-data handler is asked, the answers are kept as a JSON archive and a readable HTML
//! page, and both are reachable only through signed links that expire.

use crate::error::PrivacyError;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::privacy::AuditEntry;
use xqt_kernel::{AppContext, AppError, AppResult, Viewer};

use crate::audit;
use crate::entity::privacy_request;

/// How long the links to an export work.
pub const LINK_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Format::Json, Format::Html].into_iter().find(|f| f.ext() == s)
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

fn key(request: Uuid, format: Format) -> String {
    format!("exports/{request}.{}", format.ext())
}

/// Gathers every module's data about the person and stores both forms; returns when the links
/// stop working.
pub async fn produce(ctx: &AppContext, request: &privacy_request::Model) -> AppResult<DateTime<Utc>> {
    let now = ctx.clock.now();
    let modules = ctx.modules.export(ctx, request.user_id).await?;
    let archive = json!({
        "format": "xqt-personal-data-export/1",
        "userId": request.user_id,
        "requestId": request.id,
        "generatedAt": now,
        "modules": modules,
    });
    let raw = serde_json::to_vec_pretty(&archive).map_err(AppError::internal)?;
    ctx.files.put(&key(request.id, Format::Json), Bytes::from(raw)).await?;
    ctx.files.put(&key(request.id, Format::Html), Bytes::from(html(&archive))).await?;
    tracing::info!(request = %request.id, user = %request.user_id, "export produced");
    Ok(now + Duration::hours(LINK_HOURS))
}

/// Removes an export's files (when its request is erased or superseded).
pub async fn discard(ctx: &AppContext, request: Uuid) -> AppResult<()> {
    for f in [Format::Json, Format::Html] {
        ctx.files.delete(&key(request, f)).await?;
    }
    Ok(())
}

fn signature(ctx: &AppContext, request: Uuid, format: Format, expires: i64) -> String {
    ctx.keys.lookup_hex("export-link", &format!("{request}.{}:{expires}", format.ext()))
}

/// The signed path of one form of an export.
pub fn link(ctx: &AppContext, request: Uuid, format: Format, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    let sig = signature(ctx, request, format, expires);
    format!("/exports/{request}.{}?expires={expires}&sig={sig}", format.ext())
}

/// Opens a signed link: the file's bytes and type. Every download is audited.
pub async fn open(ctx: &AppContext, file: &str, expires: i64, sig: &str) -> AppResult<(Bytes, Format)> {
    let not_found = || AppError::from(PrivacyError::NotFound("export"));
    let (id, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
    let (request, format) = (Uuid::parse_str(id).map_err(|_| not_found())?, Format::parse(ext).ok_or_else(not_found)?);
    if !xqt_kernel::crypto::constant_time_eq(signature(ctx, request, format, expires).as_bytes(), sig.as_bytes()) {
        return Err(not_found());
    }
    let row = crate::requests::find(ctx, request).await?.ok_or_else(not_found)?;
    let until = row.export_expires_at.filter(|at| at.timestamp() == expires).ok_or_else(not_found)?;
    if ctx.clock.now() >= until {
        return Err(PrivacyError::LinkExpired.into());
    }
    let bytes = ctx.files.get(&key(request, format)).await.map_err(|_| not_found())?;
    let entry = AuditEntry {
        subject: Some(row.user_id),
        action: xqt_kernel::privacy::AuditAction::Download,
        resource: format!("export:{request}.{}", format.ext()),
        fields: vec![],
        reason: None,
        allowed: true,
    };
    audit::append(ctx, &Viewer::Anonymous, entry).await?;
    Ok((bytes, format))
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '&' => "&amp;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn render(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) if map.is_empty() => out.push_str("<em>（无）</em>"),
        Value::Object(map) => {
            out.push_str("<dl>");
            for (k, v) in map {
                out.push_str(&format!("<dt>{}</dt><dd>", escape(k)));
                render(v, out);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
        Value::Array(items) if items.is_empty() => out.push_str("<em>（无）</em>"),
        Value::Array(items) => {
            out.push_str("<ol>");
            for v in items {
                out.push_str("<li>");
                render(v, out);
                out.push_str("</li>");
            }
            out.push_str("</ol>");
        }
        Value::Null => out.push_str("<em>—</em>"),
        Value::String(s) => out.push_str(&escape(s)),
        other => out.push_str(&escape(&other.to_string())),
    }
}

/// The same archive as a page a person can read in a browser.
pub fn html(archive: &Value) -> String {
    let generated = archive["generatedAt"].as_str().unwrap_or_default();
    let mut body = String::new();
    render(&archive["modules"], &mut body);
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>个人信息副本</title>\
         <meta name=\"robots\" content=\"noindex\"><style>body{{font-family:sans-serif;margin:2em}}\
         dt{{font-weight:bold;margin-top:.5em}}dd{{margin-left:1.5em}}</style></head><body>\
         <h1>您在校企通的个人信息副本</h1><p>生成时间（UTC）：{}</p>{body}</body></html>",
        escape(generated)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_people_wrote() {
        let page = html(
            &json!({ "generatedAt": "2026-11-23T00:00:00Z", "modules": { "accounts": { "nickname": "<script>x</script>", "tags": [] } } }),
        );
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("<dt>nickname</dt>"));
    }
}
