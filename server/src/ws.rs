//! GraphQL over WebSocket, the graphql-transport-ws protocol, on `/graphql/ws`.
//!
//! Close codes as the protocol defines them: 4400 invalid message, 4401 subscribe before the
//! connection was acknowledged, 4403 forbidden (bad token at init, or the token expired while
//! open), 4408 no `connection_init` in time, 4409 a subscription id already in use, 4429 a second
//! `connection_init`; and 1013 "try again later" when the token or session cannot be checked
//! just now (the database or Redis failed), which clients retry. The server pings on an interval; each socket holds a bounded number of
//! subscriptions (one more gets an `error` for that id, the socket stays open).

use std::time::Duration;

use async_graphql::Response as GqlResponse;
use futures::{SinkExt, Stream, StreamExt};
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::web::websocket::{CloseCode, Message, WebSocket, WebSocketStream};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::StreamMap;
use xqt_kernel::ErrorCode;
use xqt_kernel::auth::{Authenticated, RequestMeta};
use xqt_kernel::error::code_of;

use crate::ServerState;
use crate::http::{MediaType, is_request_error, refuse};
use crate::session_ends::SessionWatch;

pub const PROTOCOL: &str = "graphql-transport-ws";

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
}

enum Close {
    Invalid(String),
    Unauthorized,
    Forbidden(&'static str),
    /// The token could not be checked just now (the database or Redis failed): 1013 "try again
    /// later", which graphql-ws clients retry, not 4403, which sends them back to sign in.
    Unavailable(&'static str),
    InitTimeout,
    DuplicateId(String),
    TooManyInits,
    /// A frame larger than the request body limit.
    TooBig,
}

impl Close {
    fn frame(self) -> Message {
        let (code, reason) = match self {
            Close::Invalid(why) => (4400, why),
            Close::Unauthorized => (4401, "Unauthorized".to_owned()),
            Close::Forbidden(why) => (4403, format!("Forbidden: {why}")),
            Close::Unavailable(why) => (1013, format!("Try again later: {why}")),
            Close::InitTimeout => (4408, "Connection initialisation timeout".to_owned()),
            Close::DuplicateId(id) => (4409, format!("Subscriber for {id} already exists")),
            Close::TooManyInits => (4429, "Too many initialisation requests".to_owned()),
            Close::TooBig => (1009, "Message too big".to_owned()),
        };
        Message::Close(Some((CloseCode::from(code), fit_close_reason(reason))))
    }
}

/// A close frame's reason is at most 123 bytes; longer ones make the frame invalid.
fn fit_close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut cut = MAX;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    reason
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_reasons_fit_a_frame_without_splitting_characters() {
        let long = "无效消息".repeat(20);
        let fitted = super::fit_close_reason(long.clone());
        assert!(fitted.len() <= 123 && long.starts_with(&fitted));
        assert_eq!(super::fit_close_reason("short".into()), "short");
    }
}

#[handler]
pub fn upgrade(req: &Request, ws: WebSocket, Data(state): Data<&ServerState>) -> Response {
    let offered = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim))
        .any(|p| p == PROTOCOL);
    if !offered {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("use the `{PROTOCOL}` WebSocket subprotocol"),
            MediaType::GraphqlResponseJson,
        );
    }
    let state = state.clone();
    let meta = crate::http::request_meta(req, &state);
    ws.protocols([PROTOCOL])
        .config(socket_config(&state))
        .on_upgrade(move |socket| serve(socket, state, meta))
        .into_response()
}

/// Buffers sized for many mostly idle sockets: tungstenite reads into a 128 KiB buffer by default,
/// zero-filled on every read, which made each subscribed socket hold about 230 KiB and cost a
/// quarter of the server's CPU during fan-out. Clients send small frames (`connection_init` with
/// a token, a subscription's query and variables, pongs): 512 bytes take most in one read, and the
/// buffer grows to a larger frame's length once its header is read, up to the request body limit.
/// An idle socket keeps this, or the largest frame it has read (4 KiB was an eighth of a
/// subscribed socket).
fn socket_config(state: &ServerState) -> poem::web::websocket::WebSocketConfig {
    let max = state.ctx.config.limits.max_body_bytes;
    poem::web::websocket::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

const READ_BUFFER: usize = 512;

/// A `next` frame, the response serialised once straight into the frame's text (not through a
/// `serde_json::Value` first): the hot path of every live delivery.
fn next_frame(id: &str, resp: &GqlResponse) -> Message {
    let (Ok(id), Ok(payload)) = (serde_json::to_string(id), serde_json::to_string(resp)) else {
        return text(
            json!({ "type": "next", "id": id, "payload": { "errors": [{ "message": "unserialisable response" }] } }),
        );
    };
    Message::Text(format!(r#"{{"type":"next","id":{id},"payload":{payload}}}"#))
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string())
}

fn parse(message: Message) -> Result<Option<ClientMessage>, Close> {
    match message {
        Message::Text(t) => {
            serde_json::from_str(&t).map(Some).map_err(|e| Close::Invalid(format!("Invalid message received: {e}")))
        }
        Message::Binary(_) => {
            Err(Close::Invalid("Invalid message received: binary frames are not part of the protocol".into()))
        }
        Message::Ping(_) | Message::Pong(_) => Ok(None),
        Message::Close(_) => Err(Close::Invalid(String::new())),
    }
}

/// A read that failed because the client's message exceeded the limit closes 1009; any other
/// failure means the connection is gone.
fn too_big(e: &std::io::Error) -> Option<Close> {
    e.to_string().contains("Space limit exceeded").then_some(Close::TooBig)
}

fn token_from(payload: Option<&Value>) -> Option<String> {
    let p = payload?;
    ["authorization", "Authorization", "token"].iter().find_map(|k| p.get(*k)?.as_str().map(str::to_owned))
}

struct OpenSocket(prometheus::IntGauge);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The socket's task. Not an `async fn`: that would keep the unsplit socket (328 bytes) in the
/// task's state for the socket's life; split first, the task holds only the two halves.
fn serve(socket: WebSocketStream, state: ServerState, meta: RequestMeta) -> impl Future<Output = ()> {
    let (mut sink, mut incoming) = socket.split();
    async move {
        state.metrics.open_sockets.inc();
        let _open = OpenSocket(state.metrics.open_sockets.clone());
        let outcome = match tokio::time::timeout(
            Duration::from_secs(state.ctx.config.websocket.init_timeout_secs),
            // Boxed, as the checks in `run` are: a socket's task is as large as its largest await
            // for its whole life, and token and session checks are database queries.
            Box::pin(initialise(&mut sink, &mut incoming, &state)),
        )
        .await
        {
            Err(_) => Err(Some(Close::InitTimeout)),
            Ok(result) => result,
        };
        let closing = match outcome {
            Ok((auth, session_ended)) => run(&mut sink, &mut incoming, &state, auth, session_ended, meta).await,
            Err(close) => close,
        };
        if let Some(close) = closing {
            let _ = sink.send(close.frame()).await;
        }
        let _ = sink.close().await;
    }
}

/// Waits for `connection_init`, answering pings; returns the authenticated viewer and, for a
/// signed-in person, the subscription that says their session ended.
async fn initialise<S, R>(
    sink: &mut S,
    incoming: &mut R,
    state: &ServerState,
) -> Result<(Authenticated, Option<SessionWatch>), Option<Close>>
where
    S: futures::Sink<Message> + Unpin,
    R: Stream<Item = std::io::Result<Message>> + Unpin,
{
    while let Some(frame) = incoming.next().await {
        let frame = frame.map_err(|e| too_big(&e))?;
        if matches!(frame, Message::Close(_)) {
            return Err(None);
        }
        match parse(frame).map_err(Some)? {
            None => {}
            Some(ClientMessage::ConnectionInit { payload }) => {
                let token = token_from(payload.as_ref());
                let auth = state.ctx.authenticate(token.as_deref()).await.map_err(|e| {
                    Some(match e.code() {
                        ErrorCode::Unauthenticated | ErrorCode::Forbidden => {
                            Close::Forbidden("invalid or expired token")
                        }
                        _ => Close::Unavailable("the token cannot be checked"),
                    })
                })?;
                // Watch for the session's end before acknowledging, then look once more: a
                // sign-out in between is caught by one or the other, never by neither.
                let session_ended = match (auth.viewer.person_id(), auth.viewer.session_id()) {
                    (Some(user), Some(session)) => {
                        let watch = state
                            .session_ends
                            .watch(session)
                            .ok_or(Some(Close::Unavailable("live delivery is unavailable")))?;
                        let active = state
                            .ctx
                            .modules
                            .session_active(&state.ctx, user, session)
                            .await
                            .map_err(|_| Some(Close::Unavailable("the session cannot be checked")))?;
                        if !active {
                            return Err(Some(Close::Forbidden("session ended")));
                        }
                        Some(watch)
                    }
                    _ => None,
                };
                sink.send(text(json!({ "type": "connection_ack" }))).await.map_err(|_| None)?;
                return Ok((auth, session_ended));
            }
            Some(ClientMessage::Ping { payload }) => {
                sink.send(text(json!({ "type": "pong", "payload": payload }))).await.map_err(|_| None)?;
            }
            Some(ClientMessage::Pong {}) => {}
            Some(ClientMessage::Subscribe { .. } | ClientMessage::Complete { .. }) => {
                return Err(Some(Close::Unauthorized));
            }
        }
    }
    Err(None)
}

/// Serves subscriptions until the client leaves or the socket must close; returns the close reason.
/// Not an `async fn`, whose arguments are kept twice in its state (as passed and as bound) for
/// the socket's life.
#[allow(clippy::manual_async_fn, reason = "an async fn keeps its arguments twice in its state")]
fn run<S, R>(
    sink: &mut S,
    incoming: &mut R,
    state: &ServerState,
    auth: Authenticated,
    mut session_ended: Option<SessionWatch>,
    meta: RequestMeta,
) -> impl Future<Output = Option<Close>>
where
    S: futures::Sink<Message> + Unpin,
    R: Stream<Item = std::io::Result<Message>> + Unpin,
{
    async move {
        let config = &state.ctx.config.websocket;
        let mut operations: StreamMap<String, std::pin::Pin<Box<dyn Stream<Item = Option<GqlResponse>> + Send>>> =
            StreamMap::new();
        let mut ping = tokio::time::interval(Duration::from_secs(config.ping_interval_secs.max(1)));
        ping.tick().await;
        let expiry = auth.expires_at.map(|at| {
            let left = (at - state.ctx.clock.now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + left
        });
        let expired = async {
            match expiry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => futures::future::pending().await,
            }
        };
        tokio::pin!(expired);
        // Signing out or revoking the session closes its sockets at once, on every instance
        // (`session_ended` was subscribed before the connection was acknowledged).
        let mut data = async_graphql::Data::default();
        data.insert(auth.viewer.clone());
        data.insert(meta);
        let data = std::sync::Arc::new(data);

        loop {
            tokio::select! {
                frame = incoming.next() => {
                    let frame = match frame {
                        None => return None,
                        Some(Err(e)) => return too_big(&e),
                        Some(Ok(frame)) => frame,
                    };
                    if matches!(frame, Message::Close(_)) {
                        return None;
                    }
                    let message = match parse(frame) {
                        Ok(Some(m)) => m,
                        Ok(None) => continue,
                        Err(close) => return Some(close),
                    };
                    match message {
                        ClientMessage::ConnectionInit { .. } => return Some(Close::TooManyInits),
                        ClientMessage::Ping { payload } => {
                            if sink.send(text(json!({ "type": "pong", "payload": payload }))).await.is_err() { return None; }
                        }
                        ClientMessage::Pong {} => {}
                        ClientMessage::Complete { id } => { operations.remove(&id); }
                        ClientMessage::Subscribe { id, payload } => {
                            if operations.contains_key(&id) {
                                return Some(Close::DuplicateId(id));
                            }
                            if operations.len() >= config.max_subscriptions {
                                state.metrics.count_error(Some(ErrorCode::RateLimited));
                                let error = json!({ "type": "error", "id": id, "payload": [{
                                    "message": format!("at most {} subscriptions per connection", config.max_subscriptions),
                                    "extensions": { "code": ErrorCode::RateLimited.as_str() },
                                }]});
                                if sink.send(text(error)).await.is_err() { return None; }
                                continue;
                            }
                            let stream = state
                                .schema
                                .execute_stream(*payload, data.clone())
                                .map(Some)
                                .chain(futures::stream::once(async { None }));
                            operations.insert(id, Box::pin(stream));
                        }
                    }
                }
                Some((id, item)) = operations.next(), if !operations.is_empty() => {
                    let message = match item {
                        None => json!({ "type": "complete", "id": id }),
                        Some(resp) => {
                            for e in &resp.errors {
                                state.metrics.count_error(code_of(e));
                            }
                            // Refused outright (it never ran): sent as `error`, not `next`.
                            if is_request_error(&resp) {
                                operations.remove(&id);
                                json!({ "type": "error", "id": id, "payload": resp.errors })
                            } else {
                                if sink.send(next_frame(&id, &resp)).await.is_err() { return None; }
                                continue;
                            }
                        }
                    };
                    if sink.send(text(message)).await.is_err() { return None; }
                }
                _ = ping.tick() => {
                    if sink.send(text(json!({ "type": "ping" }))).await.is_err() { return None; }
                }
                _ = &mut expired => return Some(Close::Forbidden("token expired")),
                () = async { match session_ended.as_mut() { Some(s) => s.changed().await, None => futures::future::pending().await } } => {
                    // Its end was announced, or an announcement may have been missed: check.
                    let (Some(user), Some(session)) = (auth.viewer.person_id(), auth.viewer.session_id()) else { continue };
                    if !Box::pin(state.ctx.modules.session_active(&state.ctx, user, session)).await.unwrap_or(false) {
                        return Some(Close::Forbidden("session ended"));
                    }
                }
            }
        }
    }
}
