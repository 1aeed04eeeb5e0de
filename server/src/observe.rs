//! Request ids, logs and Prometheus metrics, plus `/healthz`, `/readyz` and `/metrics`.

use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Data;
use poem::{Endpoint, IntoResponse, Request, Response, handler};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use tracing::Instrument;
use xqt_kernel::ErrorCode;

use crate::ServerState;
use crate::http::{MediaType, refuse};

pub const REQUEST_ID: &str = "x-request-id";

/// The request id of the request being served (from the client's `x-request-id` when sane).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    errors: IntCounterVec,
    pub open_sockets: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("xqt_http_requests_total", "HTTP requests by route and status"),
            &["route", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("xqt_http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route"],
        )
        .expect("metric");
        let errors =
            IntCounterVec::new(Opts::new("xqt_graphql_errors_total", "GraphQL errors returned, by code"), &["code"])
                .expect("metric");
        let open_sockets =
            IntGauge::new("xqt_websocket_connections", "Open GraphQL WebSocket connections").expect("metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(errors.clone()),
            Box::new(open_sockets.clone()),
        ] {
            registry.register(c).expect("metric registers once");
        }
        Self { registry, requests, latency, errors, open_sockets }
    }

    pub fn count_error(&self, code: Option<ErrorCode>) {
        self.errors.with_label_values(&[code.map_or("UNCODED", ErrorCode::as_str)]).inc();
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        let mut families = self.registry.gather();
        families.extend(xqt_kernel::metrics::registry().gather());
        TextEncoder::new().encode(&families, &mut out).expect("text encoding");
        String::from_utf8(out).expect("prometheus text is utf-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A fixed set of route labels so a scanner cannot blow up the metric's cardinality.
fn route_label(path: &str) -> &'static str {
    match path {
        "/graphql" => "/graphql",
        "/graphql/ws" => "/graphql/ws",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/files" => "/files",
        p if p.starts_with("/files/") => "/files/{id}",
        _ => "other",
    }
}

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| s.to_owned())
}

/// Wraps every request: request id (echoed back), a span every log line inherits, metrics.
pub async fn around<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let id =
        req.headers().get(REQUEST_ID).and_then(sane_request_id).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = route_label(req.uri().path());
    let recorder = req.data::<ServerState>().map(|s| s.metrics.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), route);
    async move {
        let started = Instant::now();
        let mut resp = match next.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let elapsed = started.elapsed();
        if let Some(m) = recorder {
            m.requests.with_label_values(&[route, resp.status().as_str()]).inc();
            m.latency.with_label_values(&[route]).observe(elapsed.as_secs_f64());
        }
        tracing::info!(status = resp.status().as_u16(), elapsed_ms = elapsed.as_secs_f64() * 1e3, "served");
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(REQUEST_ID, v);
        }
        Ok(resp)
    }
    .instrument(span)
    .await
}

#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

#[handler]
pub async fn readyz(Data(state): Data<&ServerState>) -> Response {
    let checks = state.ctx.readiness().await;
    // Without the database nothing works; without Redis (cache, bus) the instance still serves:
    // sessions are read from the database, fail-closed limits refuse sign-in codes, live events
    // wait for the bus. Ready, and saying what is degraded.
    let ready = checks.iter().filter(|c| c.component == "database").all(|c| c.ok);
    let degraded: Vec<&str> =
        checks.iter().filter(|c| !c.ok && c.component != "database").map(|c| c.component).collect();
    let body: serde_json::Map<_, _> =
        checks.iter().map(|c| (c.component.to_owned(), serde_json::json!(if c.ok { "ok" } else { "down" }))).collect();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    poem::web::Json(serde_json::json!({ "ready": ready, "degraded": degraded, "checks": body }))
        .with_status(status)
        .into_response()
}

/// Prometheus' scrape: with `metrics_token` set, only for `Authorization: Bearer <token>`;
/// without one, open outside production and not served in production.
#[handler]
pub fn metrics(req: &Request, Data(state): Data<&ServerState>) -> Response {
    let config = &state.ctx.config;
    match &config.metrics_token {
        Some(token) => {
            let given = req.header(header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
            if !xqt_kernel::crypto::constant_time_eq(given.as_bytes(), token.as_bytes()) {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthenticated,
                    "metrics need the metrics token",
                    MediaType::Json,
                )
                .with_header(header::WWW_AUTHENTICATE, "Bearer")
                .into_response();
            }
        }
        None if config.env == xqt_kernel::config::Environment::Production => {
            return refuse(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "set metrics_token to serve metrics in production",
                MediaType::Json,
            );
        }
        None => {}
    }
    Response::builder().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

/// A handler that panicked answers `500 INTERNAL` like any other internal error (the panic is
/// logged), instead of the connection dropping with no answer at all.
#[derive(Clone)]
pub struct Panicked;

impl poem::middleware::PanicHandler for Panicked {
    type Response = Response;

    fn get_response(&self, err: Box<dyn std::any::Any + Send + 'static>) -> Response {
        let what = err
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "a handler panicked");
        refuse(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error", MediaType::Json)
    }
}

#[cfg(test)]
mod tests {
    use poem::EndpointExt;

    use super::*;

    #[tokio::test]
    async fn a_panic_is_answered_500_internal_with_the_security_headers() {
        let ep = poem::Route::new()
            .at("/", poem::endpoint::make_sync(|_| -> &'static str { panic!("boom in a resolver") }))
            .with(poem::middleware::CatchPanic::new().with_handler(Panicked))
            .around(crate::headers::around);
        let resp = ep.call(Request::default()).await.expect("answered, not dropped");
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let body: serde_json::Value = serde_json::from_slice(&resp.into_body().into_vec().await.unwrap()).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert_eq!(body["errors"][0]["message"], "internal error", "no detail of the panic reaches the client");
    }
}
