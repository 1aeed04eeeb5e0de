//! GraphQL over HTTP: `POST /graphql` with `application/json` only (no CSRF through forms or
//! GET), responses per the GraphQL-over-HTTP spec; `GET /graphql` serves GraphiQL.

use async_graphql::{BatchResponse, Request as GqlRequest, Response as GqlResponse};
use poem::http::{Method, StatusCode, header};
use poem::web::{Data, Html, Path};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde_json::json;
use xqt_kernel::error::code_of;
use xqt_kernel::{AppError, ErrorCode};

use xqt_kernel::auth::RequestMeta;

use crate::ServerState;
use crate::observe::RequestId;

/// Request id and client address for the operations of this request.
pub(crate) fn request_meta(req: &Request, state: &ServerState) -> RequestMeta {
    let forwarded = || {
        let header = req.headers().get("x-forwarded-for")?.to_str().ok()?;
        header.split(',').next()?.trim().parse().ok()
    };
    let ip = if state.ctx.config.trust_forwarded_for { forwarded() } else { None }
        .or_else(|| req.remote_addr().as_socket_addr().map(|a| a.ip()));
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    RequestMeta { request_id, ip }
}

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The body of a POST: an array is a batch (so `[]` is an empty batch rather than a request with
/// every field defaulted), anything else a single operation.
enum Operations {
    Batch(Vec<GqlRequest>),
    Single(Box<GqlRequest>),
}

impl Operations {
    /// Reads the body as the shape its first character says, once (an untagged enum tried the
    /// batch first and built an error for every single request).
    fn from_slice(bytes: &[u8]) -> serde_json::Result<Self> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            serde_json::from_slice(bytes).map(Operations::Batch)
        } else {
            serde_json::from_slice(bytes).map(|r| Operations::Single(Box::new(r)))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaType {
    GraphqlResponseJson,
    /// Legacy clients: every well-formed request answers 200, as the spec asks.
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }
}

fn negotiate(req: &Request) -> Option<MediaType> {
    // No Accept, or only a wildcard, is a client from before application/graphql-response+json:
    // the spec asks for application/json then.
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let types: Vec<&str> = accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
    if types.contains(&GRAPHQL_RESPONSE_JSON) {
        Some(MediaType::GraphqlResponseJson)
    } else if types.iter().any(|t| matches!(*t, JSON | "*/*" | "application/*")) {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// A refusal before any operation ran: `{"errors":[…]}` with no `data`.
pub(crate) fn refuse(status: StatusCode, code: ErrorCode, message: impl Into<String>, media: MediaType) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message.into(), "extensions": { "code": code.as_str() } }] });
    Response::builder().status(status).content_type(media.as_str()).body(body.to_string())
}

/// The HTTP status an error code takes when it is answered outside GraphQL execution.
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        // Understood and refused until the person acts (grants, accepts): not a malformed request.
        ErrorCode::Forbidden | ErrorCode::ConsentRequired | ErrorCode::PolicyAcceptanceRequired => {
            StatusCode::FORBIDDEN
        }
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// An `AppError` raised outside GraphQL execution, as `{"errors":[…]}` with its status; internal
/// ones carry the request id, rate-limited ones a `Retry-After`.
pub(crate) fn error_response(state: &ServerState, e: &AppError, meta: &RequestMeta, media: MediaType) -> Response {
    state.metrics.count_error(Some(e.code()));
    let mut extensions = json!({ "code": e.code().as_str() });
    for key in ["field", "reason", "retryAfter", "scope"] {
        if let Some(v) = e.detail(key) {
            extensions[key] = v.clone();
        }
    }
    if e.code() == ErrorCode::Internal {
        extensions["requestId"] = json!(meta.request_id);
    }
    let body = json!({ "errors": [{ "message": e.message(), "extensions": extensions }] });
    let mut resp = Response::builder().status(status_of(e.code())).content_type(media.as_str()).body(body.to_string());
    if let Some(retry) = e.detail("retryAfter").and_then(|v| v.as_i64()) {
        resp.headers_mut().insert(header::RETRY_AFTER, retry.into());
    }
    resp
}

fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mut parts = ct.split(';').map(str::trim);
    let essence_ok = parts.next().is_some_and(|t| t.eq_ignore_ascii_case(JSON));
    let charset_ok = parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    essence_ok && charset_ok
}

/// True when the response is a request error: no data, and every error says the document was refused.
pub(crate) fn is_request_error(resp: &GqlResponse) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| code_of(e).is_some_and(ErrorCode::is_request_error))
}

/// Counts error codes and tags internal errors with the request id, so a user can report it.
fn finish(state: &ServerState, mut resp: GqlResponse, request_id: &str) -> GqlResponse {
    for e in &mut resp.errors {
        let code = code_of(e);
        state.metrics.count_error(code);
        if code == Some(ErrorCode::Internal) {
            e.extensions.get_or_insert_with(Default::default).set("requestId", request_id);
        }
    }
    resp
}

fn render(resp: &GqlResponse, media: MediaType) -> Response {
    if is_request_error(resp) {
        let status = if media == MediaType::Json { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        let body = json!({ "errors": resp.errors });
        return Response::builder().status(status).content_type(media.as_str()).body(body.to_string());
    }
    let body = serde_json::to_string(resp).expect("responses serialize");
    Response::builder().content_type(media.as_str()).body(body)
}

#[handler]
pub async fn post(req: &Request, body: Body, Data(state): Data<&ServerState>) -> Response {
    let Some(media) = negotiate(req) else {
        return refuse(
            StatusCode::NOT_ACCEPTABLE,
            ErrorCode::BadRequest,
            "accept application/graphql-response+json or application/json",
            MediaType::Json,
        );
    };
    if !is_json(req) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            "send operations as application/json (utf-8)",
            media,
        );
    }
    let limits = &state.ctx.config.limits;
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {} bytes", limits.max_body_bytes),
            media,
        )
    };
    let bytes = match crate::request::body(req, body, limits.max_body_bytes).await {
        Ok(b) => b,
        Err(crate::request::BodyError::TooLarge) => return too_large(),
        Err(crate::request::BodyError::Unreadable) => {
            return refuse(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, "the request body could not be read", media);
        }
    };
    let batch = match Operations::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, what_is_wrong(&bytes, &e), media),
    };
    if let Operations::Batch(items) = &batch {
        let refused = match (limits.max_batch, items.len()) {
            (_, 0) => Some("an empty batch has nothing to run".to_owned()),
            (0, _) => Some("batched requests are turned off".to_owned()),
            (max, n) if n > max => Some(format!("a batch of {n} operations is more than the {max} allowed")),
            _ => None,
        };
        if let Some(message) = refused {
            return refuse(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message, media);
        }
    }

    let meta = request_meta(req, state);
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let viewer = match state.ctx.authenticate(authorization).await {
        Ok(auth) => auth.viewer,
        Err(e) => return error_response(state, &e, &meta, media),
    };
    let request_id = meta.request_id.clone();
    let prepare = |r: GqlRequest| r.data(viewer.clone()).data(meta.clone());
    match batch {
        Operations::Single(r) => {
            let resp = finish(state, state.schema.execute(prepare(*r)).await, &request_id);
            render(&resp, media)
        }
        Operations::Batch(items) => {
            let mut out = Vec::with_capacity(items.len());
            for r in items {
                out.push(finish(state, state.schema.execute(prepare(r)).await, &request_id));
            }
            let body = serde_json::to_string(&BatchResponse::Batch(out)).expect("responses serialize");
            Response::builder().content_type(media.as_str()).body(body)
        }
    }
}

/// GraphiQL for people exploring the API; operations themselves are POST-only.
#[handler]
pub fn get(req: &Request, Data(state): Data<&ServerState>) -> Response {
    let runs_operation =
        req.uri().query().is_some_and(|q| q.split('&').any(|kv| kv.split('=').next() == Some("query")));
    if runs_operation || req.method() != Method::GET {
        let resp = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadRequest,
            "operations run only as POST with application/json",
            MediaType::GraphqlResponseJson,
        );
        return resp.with_header(header::ALLOW, "POST").into_response();
    }
    if !state.ctx.config.introspection_enabled() {
        return refuse(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "GraphiQL is off in production",
            MediaType::GraphqlResponseJson,
        );
    }
    let dir = &state.ctx.config.graphiql_dir;
    if !GRAPHIQL_ASSETS.iter().all(|(file, _)| dir.join(file).is_file()) {
        return Html(format!(
            "<!doctype html><meta charset=utf-8><title>GraphiQL is not built</title>\
             <p>GraphiQL's assets are not in <code>{}</code>. Build them once (from the npm registry, no CDN):\
             <pre>npm --prefix web ci && npm --prefix web run build</pre>\
             or set <code>graphiql_dir</code>. The API itself works without them: POST /graphql.</p>",
            dir.display()
        ))
        .into_response();
    }
    Html(GRAPHIQL_PAGE).into_response()
}

/// GraphiQL's page: its script and styles come from this server, never from a CDN.
const GRAPHIQL_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>校企通 API · GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.css">
</head>
<body style="margin:0">
<div id="graphiql" style="height:100vh"></div>
<script src="/graphiql/graphiql.js"></script>
</body>
</html>
"#;

/// The files `web/` builds, and their types: nothing else is served from `graphiql_dir`.
const GRAPHIQL_ASSETS: [(&str, &str); 2] =
    [("graphiql.js", "text/javascript; charset=utf-8"), ("graphiql.css", "text/css; charset=utf-8")];

/// GraphiQL's script and styles, from `graphiql_dir`, outside production.
#[handler]
pub async fn graphiql_asset(Path(file): Path<String>, Data(state): Data<&ServerState>) -> Response {
    let found = GRAPHIQL_ASSETS.iter().find(|(name, _)| *name == file);
    let Some((name, content_type)) = found.filter(|_| state.ctx.config.introspection_enabled()) else {
        return refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such file", MediaType::Json);
    };
    match tokio::fs::read(state.ctx.config.graphiql_dir.join(name)).await {
        Ok(bytes) => {
            Response::builder().content_type(*content_type).header(header::CACHE_CONTROL, "no-cache").body(bytes)
        }
        Err(_) => refuse(StatusCode::NOT_FOUND, ErrorCode::NotFound, "GraphiQL is not built", MediaType::Json),
    }
}

/// Why a body is not a GraphQL request, in words a client developer can act on (never serde's
/// own wording, which names our types).
fn what_is_wrong(bytes: &[u8], error: &serde_json::Error) -> String {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => {
            return format!(
                "the body is not JSON (line {}, column {}): send {{\"query\": \"…\", \"variables\": {{…}}}}",
                error.line(),
                error.column()
            );
        }
    };
    let one = |v: &serde_json::Value| -> Option<String> {
        let Some(o) = v.as_object() else {
            return Some("a request is a JSON object: {\"query\": \"…\", \"variables\": {…}}".into());
        };
        match o.get("query") {
            None => return Some("`query` is missing: it holds the GraphQL document as a string".into()),
            Some(q) if !q.is_string() => return Some("`query` must be a string holding the GraphQL document".into()),
            _ => {}
        }
        for (key, ok) in [
            ("variables", o.get("variables").is_none_or(|v| v.is_object() || v.is_null())),
            ("operationName", o.get("operationName").is_none_or(|v| v.is_string() || v.is_null())),
            ("extensions", o.get("extensions").is_none_or(|v| v.is_object() || v.is_null())),
        ] {
            if !ok {
                let wants = if key == "operationName" { "a string" } else { "an object" };
                return Some(format!("`{key}` must be {wants} (or left out)"));
            }
        }
        None
    };
    let found = match &value {
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| one(v).map(|m| format!("batch item {i}: {m}")))
        }
        v => one(v),
    };
    found.unwrap_or_else(|| "the body is not a GraphQL request".into())
}
