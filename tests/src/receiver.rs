//! A partner's webhook endpoint, as a partner would write it from `docs/webhooks.md`: it checks
//! `Xqt-Signature` (HMAC-SHA256 over `"{t}.{body}"` with the endpoint's secret, constant-time,
//! the timestamp within five minutes of the signature's own clock) and refuses with 400 what
//! does not verify, and remembers each event id so a redelivery is acknowledged, not processed
//! twice. It answers with the statuses a test queues (e.g. 500 once, to force a retry).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use poem::http::StatusCode;
use poem::{EndpointExt, Request, Response, Route, Server, handler, listener::TcpListener, web::Data};
use serde_json::Value;
use sha2::Sha256;

/// One request that arrived, verified or not.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub body: Value,
    pub raw: String,
    pub verified: bool,
    /// A redelivery of an event already processed.
    pub duplicate: bool,
    pub status: u16,
}

#[derive(Default)]
struct State {
    secret: Option<String>,
    answers: VecDeque<u16>,
    received: Vec<Received>,
    processed: HashSet<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// What a partner does with the header: split, recompute, compare in constant time.
pub fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&v1).is_ok()
}

#[handler]
async fn hook(req: &Request, body: poem::Body, Data(state): Data<&Arc<Mutex<State>>>) -> Response {
    let raw = body.into_string().await.unwrap_or_default();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut s = state.lock().unwrap();
    let verified = match (&s.secret, header("Xqt-Signature")) {
        (Some(secret), Some(sig)) => verify(secret, &sig, &raw),
        _ => false,
    };
    let event_id = header("Xqt-Event-Id");
    let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let verified = verified && content_type_is_json(req) && body["id"].as_str() == event_id.as_deref();
    let status = if verified { s.answers.pop_front().unwrap_or(200) } else { 400 };
    // Processed only when acknowledged; a redelivery of a processed event is acknowledged again.
    let duplicate = status == 200 && !s.processed.insert(event_id.clone().unwrap_or_default());
    s.received.push(Received {
        event_id,
        event_type: header("Xqt-Event-Type"),
        body,
        raw,
        verified,
        duplicate,
        status,
    });
    Response::builder().status(StatusCode::from_u16(status).unwrap()).body("")
}

fn content_type_is_json(req: &Request) -> bool {
    req.headers().get("content-type").and_then(|v| v.to_str().ok()) == Some("application/json")
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let state = Arc::new(Mutex::new(State::default()));
        let app = Route::new().at("/hooks/xqt", poem::post(hook)).data(state.clone());
        tokio::spawn(async move { Server::new(TcpListener::bind(addr)).run(app).await });
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Receiver { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/xqt", self.addr)
    }

    /// The secret the endpoint verifies with (from `registerWebhook`).
    pub fn trust(&self, secret: &str) {
        self.state.lock().unwrap().secret = Some(secret.to_owned());
    }

    /// The next answers to verified requests (200 once they run out).
    pub fn answer(&self, statuses: &[u16]) {
        self.state.lock().unwrap().answers.extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}
