//! Security headers on every response, whatever answered it: no MIME sniffing, no framing (no
//! clickjacking of GraphiQL or a download), no referrer leaking a signed link, and a content
//! security policy — GraphiQL's page may load only its own script, styles and this server's
//! API; everything else (JSON, files) may load nothing at all, so an uploaded file opened in a
//! browser cannot run script. No header names the server or its version.

use poem::http::{HeaderValue, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// GraphiQL's page: its own script and styles (the editor sets some inline), the API over HTTP
/// and WebSocket on this origin, nothing framed or posted elsewhere.
pub const HTML_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";
/// Everything else: a document that may load nothing.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

pub async fn around<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let mut resp = next.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| e.into_response());
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if html { HTML_POLICY } else { API_POLICY };
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    h.remove(header::SERVER);
    h.remove("x-powered-by");
    Ok(resp)
}
