//! A local stand-in for JPush's Push API v3 (`POST /v3/push`), checking what JPush checks — HTTP
//! Basic auth with the app key and master secret, a JSON push object with a valid platform, an
//! audience of registration ids it knows (at most 1000), a notification with an alert, and the
//! options' types — and answering in its shapes: `{"sendno","msg_id"}`, or
//! `{"error":{"code","message"}}` with 401/1004, 400/1003, 400/1011. Written from JPush's
//! documentation, not from the client's code.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, EndpointExt, Request, Response, Route, Server, handler, web::Data};
use serde_json::{Value, json};
use xqt_kernel::config::Config;

pub const APP_KEY: &str = "7d431e42dfa6a6d693ac2d04";
pub const MASTER_SECRET: &str = "5e987ac6d2e04d95a9d8f0d1";

/// One push JPush accepted.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub registration_ids: Vec<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    known: HashSet<String>,
    /// Every registration id counts as installed (the compose demo, where real phones register).
    any_installed: bool,
    pushed: Vec<Pushed>,
    refusals: Vec<String>,
}

#[derive(Clone)]
pub struct FakeJpush {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "error": { "code": code, "message": message } }).to_string())
}

fn check(state: &Mutex<State>, req: &Request, body: &[u8]) -> Result<Pushed, (StatusCode, i64, String)> {
    let expected = format!("Basic {}", STANDARD.encode(format!("{APP_KEY}:{MASTER_SECRET}")));
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return Err((StatusCode::UNAUTHORIZED, 1004, "Authen failed".into()));
    }
    let bad = |why: &str| (StatusCode::BAD_REQUEST, 1003, why.to_owned());
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(bad("content type must be application/json"));
    }
    let push: Value = serde_json::from_slice(body).map_err(|_| bad("the push object is not JSON"))?;
    let platforms_ok = push["platform"] == "all"
        || push["platform"].as_array().is_some_and(|p| {
            !p.is_empty() && p.iter().all(|x| matches!(x.as_str(), Some("android" | "ios" | "quickapp" | "hmos")))
        });
    if !platforms_ok {
        return Err(bad("platform must be \"all\" or a list of android, ios, quickapp, hmos"));
    }
    let ids: Vec<String> = push["audience"]["registration_id"]
        .as_array()
        .ok_or_else(|| bad("audience.registration_id must be a list"))?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| bad("registration ids are strings")))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(bad("1 to 1000 registration ids"));
    }
    let n = &push["notification"];
    let android_ok = n["android"]["alert"].as_str().is_some_and(|a| !a.is_empty());
    let ios = &n["ios"]["alert"];
    let ios_ok = ios.as_str().is_some_and(|a| !a.is_empty()) || ios["body"].as_str().is_some_and(|b| !b.is_empty());
    if !(android_ok && ios_ok) && n["alert"].as_str().is_none() {
        return Err(bad("a notification needs an alert"));
    }
    let options = &push["options"];
    if !options["apns_production"].is_null() && !options["apns_production"].is_boolean() {
        return Err(bad("options.apns_production is a boolean"));
    }
    if !options["time_to_live"].is_null() && options["time_to_live"].as_u64().is_none_or(|t| t > 10 * 86_400) {
        return Err(bad("options.time_to_live is 0 to 864000 seconds"));
    }
    if !options["apns_collapse_id"].is_null() && options["apns_collapse_id"].as_str().is_none_or(|c| c.len() > 64) {
        return Err(bad("options.apns_collapse_id is at most 64 bytes"));
    }
    let s = state.lock().unwrap();
    if !s.any_installed && !ids.iter().any(|id| s.known.contains(id)) {
        return Err((StatusCode::BAD_REQUEST, 1011, "cannot find user by this audience".into()));
    }
    Ok(Pushed { registration_ids: ids, body: push })
}

#[handler]
async fn push_v3(req: &Request, body: Body, Data(state): Data<&Arc<Mutex<State>>>) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    match check(state, req, &body) {
        Ok(pushed) => {
            let mut s = state.lock().unwrap();
            s.pushed.push(pushed);
            let n = s.pushed.len();
            Response::builder().content_type("application/json").body(
                json!({ "sendno": "0", "msg_id": format!("{}", 54_043_195_528_405_880u64 + n as u64) }).to_string(),
            )
        }
        Err((status, code, message)) => {
            state.lock().unwrap().refusals.push(format!("{code}: {message}"));
            error(status, code, &message)
        }
    }
}

impl FakeJpush {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// On a given address (the compose demo's `xqt-fakes`).
    pub async fn start_on(listen: &str) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let acceptor = TcpListener::bind(listen.to_owned()).into_acceptor().await.expect("the address is free");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("an address");
        let app = Route::new().at("/v3/push", poem::post(push_v3)).data(state.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self { addr, state }
    }

    /// A registration id the JPush SDK gave an installed app.
    pub fn install(&self, registration_id: &str) {
        self.state.lock().unwrap().known.insert(registration_id.to_owned());
    }

    /// Every registration id counts as an installed app.
    pub fn install_any(&self) {
        self.state.lock().unwrap().any_installed = true;
    }

    /// The app was removed: JPush no longer knows the id.
    pub fn uninstall(&self, registration_id: &str) {
        self.state.lock().unwrap().known.remove(registration_id);
    }

    pub fn pushed(&self) -> Vec<Pushed> {
        self.state.lock().unwrap().pushed.clone()
    }

    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    pub fn configure(&self, config: &mut Config) {
        configure(config, &format!("http://{}", self.addr));
    }
}

/// `[notifications.push]` for JPush at `url`, with the fake's app key and master secret.
pub fn configure(config: &mut Config, url: &str) {
    config.update::<xqt_notifications::config::NotificationsConfig>(|n| {
        n.push.provider = xqt_notifications::config::PushProviderKind::Jpush;
        n.push.jpush_endpoint = url.to_owned();
        n.push.jpush_app_key = Some(APP_KEY.into());
        n.push.jpush_master_secret = Some(MASTER_SECRET.into());
    });
}
