//! A graphql-transport-ws client for tests: answers server pings, surfaces close codes.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// How long a test waits for the next frame before it calls the server silent.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub enum WsEvent {
    Message(Value),
    Closed(u16, String),
    /// Nothing arrived in time.
    Silent,
}

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn connect(url: &str, protocol: Option<&str>) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        Self::connect_with(url, protocol, None).await
    }

    /// `connect`, trusting `tls` for a `wss://` address.
    pub async fn connect_with(
        url: &str,
        protocol: Option<&str>,
        tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request()?;
        if let Some(p) = protocol {
            request.headers_mut().insert("sec-websocket-protocol", p.parse().expect("header"));
        }
        let connector = tls.map(Connector::Rustls);
        let (stream, _) = tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector).await?;
        Ok(Self { stream })
    }

    /// The underlying socket, for tests that read frames the helper would otherwise handle.
    pub fn into_raw(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.stream
    }

    pub async fn send(&mut self, message: Value) {
        self.stream.send(Message::text(message.to_string())).await.expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.expect("send");
    }

    pub async fn next(&mut self) -> WsEvent {
        self.next_within(WAIT).await
    }

    /// The next protocol message or close; server pings are answered and skipped.
    pub async fn next_within(&mut self, wait: Duration) -> WsEvent {
        loop {
            let frame = match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return WsEvent::Silent,
                Ok(None) => return WsEvent::Closed(0, "stream ended".into()),
                Ok(Some(Err(e))) => return WsEvent::Closed(0, e.to_string()),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("server sends JSON");
                    if v["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return WsEvent::Message(v);
                }
                Message::Close(frame) => {
                    return match frame {
                        Some(f) => WsEvent::Closed(f.code.into(), f.reason.to_string()),
                        None => WsEvent::Closed(1005, String::new()),
                    };
                }
                _ => continue,
            }
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The payload of the next `next` message for `id`; panics on anything else.
    pub async fn next_payload(&mut self, id: &str) -> Value {
        match self.next().await {
            WsEvent::Message(m) if m["type"] == "next" && m["id"] == id => m["payload"].clone(),
            other => panic!("expected `next` for {id}, got {other:?}"),
        }
    }

    /// The close code the server closes with (skipping any messages before it).
    pub async fn close_code(&mut self) -> u16 {
        loop {
            match self.next().await {
                WsEvent::Closed(code, _) => return code,
                WsEvent::Message(_) => continue,
                WsEvent::Silent => panic!("the server did not close the socket"),
            }
        }
    }
}
