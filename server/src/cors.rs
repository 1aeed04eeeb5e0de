//! CORS for the origins `cors_origins` allows (localhost outside production by default, none in
//! production). A preflight from an allowed origin is answered here (204, the methods and headers
//! the API uses, cached ten minutes); one from any other origin is refused with 403 and a code.
//! An actual request from an allowed origin gets `Access-Control-Allow-Origin` (and the headers a
//! client may read); from another origin it is served without them, so the browser withholds the
//! answer — and since every operation is `application/json`, which needs a preflight, no other
//! page can make the browser send one. Requests without `Origin` (apps, servers) are untouched.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use xqt_kernel::ErrorCode;

use crate::ServerState;
use crate::http::{MediaType, refuse};

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str = "authorization, content-type, accept, x-request-id";
const EXPOSE_HEADERS: &str = "x-request-id, retry-after, etag, content-range, accept-ranges";

pub async fn around<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let allowed =
        origin.to_str().ok().zip(req.data::<ServerState>()).is_some_and(|(o, state)| state.ctx.config.allows_origin(o));
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !allowed {
            let message = format!(
                "pages from {} may not call this API (add the origin to cors_origins)",
                origin.to_str().unwrap_or("this origin")
            );
            return Ok(refuse(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message, MediaType::Json));
        }
        let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        return Ok(resp);
    }
    let mut resp = next.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| e.into_response());
    let h = resp.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    }
    Ok(resp)
}
