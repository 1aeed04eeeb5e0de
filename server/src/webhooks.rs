//! `POST /webhooks/<name>`: providers' callbacks (e-signature events, …), handed to the module
//! that registered the name with the exact bytes received, so it can check their signature.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use xqt_kernel::module::Inbound;

use crate::ServerState;

/// Largest callback body accepted (providers send small JSON documents).
const MAX_BODY: usize = 256 * 1024;

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    Response::builder().status(status).content_type("application/json").body(body.to_string())
}

#[handler]
pub async fn receive(req: &Request, Path(name): Path<String>, body: Body, Data(state): Data<&ServerState>) -> Response {
    let Some(hook) = state.ctx.modules.webhook(&name) else {
        return reply(StatusCode::NOT_FOUND, serde_json::json!({ "code": "NOT_FOUND" }));
    };
    let body = match body.into_bytes_limit(MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return reply(StatusCode::PAYLOAD_TOO_LARGE, serde_json::json!({ "code": "TOO_LARGE" })),
    };
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let inbound = Inbound { headers, query: req.uri().query().unwrap_or_default().to_owned(), body };
    let answer = hook.receive(&state.ctx, inbound).await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    reply(status, answer.body)
}
