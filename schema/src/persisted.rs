//! Persisted queries as Apollo Client sends them (`extensions.persistedQuery.sha256Hash`), see
//! `xqt_kernel::persisted`. Automatic: a hash alone runs the query this server (any instance)
//! was sent with it before, or is `PERSISTED_QUERY_NOT_FOUND` so the client sends both; a query
//! with a hash that is not its SHA-256 is refused. With an allow-list, only the list's
//! operations run — by hash, or by their exact text — and anything else is `BAD_REQUEST` with
//! `reason: OPERATION_NOT_ALLOWED`. The stored text is parsed, validated and limited like any
//! other: the hash only stands for it.

use async_graphql::extensions::ExtensionContext;
use async_graphql::{Request, ServerError, ServerResult, Value};
use xqt_kernel::persisted::{cache_key, sha256_hex};
use xqt_kernel::{AppContext, ErrorCode};

/// Longest query text kept for automatic persistence (a bigger one still runs, sent in full).
const MAX_PERSISTED_BYTES: usize = 64 * 1024;

fn refusal(code: ErrorCode, reason: Option<&str>, message: impl Into<String>) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    if let Some(r) = reason {
        ext.set("reason", r);
    }
    e.extensions = Some(ext);
    e
}

/// The hash of `extensions.persistedQuery`, version 1.
fn hash_of(value: Value) -> ServerResult<String> {
    let invalid = || {
        refusal(
            ErrorCode::BadRequest,
            Some("PERSISTED_QUERY_INVALID"),
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}",
        )
    };
    let Value::Object(map) = value else { return Err(invalid()) };
    let version = map.get("version").and_then(|v| if let Value::Number(n) = v { n.as_i64() } else { None });
    let hash =
        map.get("sha256Hash").and_then(|v| if let Value::String(s) = v { Some(s.to_ascii_lowercase()) } else { None });
    match (version, hash) {
        (Some(1), Some(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(h),
        _ => Err(invalid()),
    }
}

/// The request with the text its hash stands for (or the allow-list's text), its hash checked
/// and remembered; or the refusal. Runs before anything else looks at the request.
pub(crate) async fn resolve(ctx: &ExtensionContext<'_>, mut request: Request) -> ServerResult<Request> {
    let app = ctx.data::<AppContext>().map_err(|_| ServerError::new("no context", None))?;
    let hash = request.extensions.remove("persistedQuery").map(hash_of).transpose()?;
    if let Some(hash) = &hash
        && !request.query.is_empty()
        && sha256_hex(&request.query) != *hash
    {
        return Err(refusal(
            ErrorCode::BadRequest,
            Some("PERSISTED_QUERY_HASH_MISMATCH"),
            "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
        ));
    }
    if let Some(list) = &app.allow_list {
        let wanted = hash.clone().unwrap_or_else(|| sha256_hex(&request.query));
        let Some(body) = list.get(&wanted) else {
            return Err(refusal(
                ErrorCode::BadRequest,
                Some("OPERATION_NOT_ALLOWED"),
                "this server runs only its registered operations (persisted_queries.allow_list)",
            ));
        };
        request.query = body.to_owned();
        return Ok(request);
    }
    let Some(hash) = hash else { return Ok(request) };
    let key = cache_key(&hash);
    if request.query.is_empty() {
        let stored = app.cache.get(&key).await.map_err(|e| refusal(e.code(), None, e.message()))?;
        let Some(text) = stored.and_then(|b| String::from_utf8(b.to_vec()).ok()) else {
            return Err(refusal(
                ErrorCode::PersistedQueryNotFound,
                None,
                "PersistedQueryNotFound: send the query with its hash once",
            ));
        };
        request.query = text;
    } else if request.query.len() <= MAX_PERSISTED_BYTES {
        let ttl = std::time::Duration::from_secs(u64::from(app.config.persisted_queries.ttl_days) * 86_400);
        app.cache
            .set(&key, bytes::Bytes::from(request.query.clone()), ttl)
            .await
            .map_err(|e| refusal(e.code(), None, e.message()))?;
    }
    Ok(request)
}
