//! A local stand-in for e签宝's open platform (SaaS API v3), checking every request the way its
//! gateway does — app id, auth mode, a timestamp within 15 minutes, `Content-MD5` against the
//! body, and `X-Tsign-Open-Ca-Signature` recomputed from the canonical request — and answering
//! in its shapes (`{ code, message, data }`, `401` with its codes). It also signs callbacks the
//! way e签宝 does, to post to the server's `/webhooks/esign`. Written from the provider's
//! documentation, not from the client's code, so a client that drifts from the documentation
//! fails here.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use poem::http::StatusCode;
use poem::{Body, EndpointExt, Request, Response, Route, Server, handler, listener::TcpListener, web::Data};
use serde_json::{Value, json};
use sha2::Sha256;

pub const APP_ID: &str = "7438807359";
pub const SECRET: &str = "a5f2c8e1d9b74f60a3e2c1b0d9f8e7a6";

/// One request the fake received and accepted.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    refusals: Vec<String>,
    /// The next request is refused with this business code and message.
    refuse_next: Option<(i64, String)>,
}

#[derive(Clone)]
pub struct FakeEsign {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn refuse(state: &Mutex<State>, status: StatusCode, code: &str, why: &str) -> Response {
    state.lock().unwrap().refusals.push(format!("{code}: {why}"));
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({ "code": 401, "message": code, "reason": why }).to_string())
}

/// The gateway's check of a signed request ("请求签名鉴权").
fn check(req: &Request, body: &[u8]) -> Result<(), (&'static str, String)> {
    if header(req, "X-Tsign-Open-App-Id") != Some(APP_ID) {
        return Err(("INVALID_APP_ID", "unknown app".into()));
    }
    if header(req, "X-Tsign-Open-Auth-Mode") != Some("Signature") {
        return Err(("INVALID_AUTH_MODE", "X-Tsign-Open-Auth-Mode must be Signature".into()));
    }
    let ts: i64 = header(req, "X-Tsign-Open-Ca-Timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or(("INVALID_TIMESTAMP", "missing or not milliseconds".to_owned()))?;
    if (chrono::Utc::now().timestamp_millis() - ts).abs() > 15 * 60 * 1000 {
        return Err(("INVALID_TIMESTAMP", "older than 15 minutes".into()));
    }
    let md5 = STANDARD.encode(Md5::digest(body));
    if header(req, "Content-MD5") != Some(md5.as_str()) {
        return Err(("INVALID_CONTENT_MD5", "Content-MD5 does not match the body".into()));
    }
    let accept = header(req, "Accept").unwrap_or_default();
    let content_type = header(req, "Content-Type").unwrap_or_default();
    let date = header(req, "Date").unwrap_or_default();
    // Url: the path, and the query sorted by key.
    let mut url = req.uri().path().to_owned();
    if let Some(q) = req.uri().query().filter(|q| !q.is_empty()) {
        let mut pairs: Vec<&str> = q.split('&').collect();
        pairs.sort();
        url = format!("{url}?{}", pairs.join("&"));
    }
    let to_sign = format!("{}\n{accept}\n{md5}\n{content_type}\n{date}\n{url}", req.method().as_str());
    let expected = STANDARD.encode(hmac_sha256(SECRET, to_sign.as_bytes()));
    if header(req, "X-Tsign-Open-Ca-Signature") != Some(expected.as_str()) {
        return Err(("INVALID_SIGNATURE", format!("string to sign was {to_sign:?}")));
    }
    Ok(())
}

#[handler]
async fn gateway(req: &Request, body: Body, Data(state): Data<&Arc<Mutex<State>>>) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    if let Err((code, why)) = check(req, &body) {
        return refuse(state, StatusCode::UNAUTHORIZED, code, &why);
    }
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = req.uri().path().to_owned();
    let mut s = state.lock().unwrap();
    if let Some((code, message)) = s.refuse_next.take() {
        return Response::builder()
            .content_type("application/json")
            .body(json!({ "code": code, "message": message }).to_string());
    }
    s.calls.push(Call { path: path.clone(), body: parsed.clone() });
    let data = if path == "/v3/files/create-by-doc-template" {
        if parsed["docTemplateId"].as_str().unwrap_or_default().is_empty() {
            return Response::builder()
                .content_type("application/json")
                .body(json!({ "code": 1437100, "message": "模板ID不能为空" }).to_string());
        }
        json!({ "fileId": format!("file-{}", s.calls.len()), "fileDownloadUrl": "https://example.invalid/f" })
    } else if path == "/v3/sign-flow/create-by-file" {
        json!({ "signFlowId": format!("flow-{}", uuid::Uuid::new_v4().simple()) })
    } else if path.starts_with("/v3/sign-flow/") {
        json!({})
    } else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("no such API");
    };
    Response::builder()
        .content_type("application/json")
        .body(json!({ "code": 0, "message": "成功", "data": data }).to_string())
}

impl FakeEsign {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// On a given address (the compose demo's `xqt-fakes`).
    pub async fn start_on(listen: &str) -> Self {
        let std = std::net::TcpListener::bind(listen).unwrap();
        let addr = std.local_addr().unwrap();
        drop(std);
        let state = Arc::new(Mutex::new(State::default()));
        let app = Route::new().at("/*path", poem::post(gateway)).data(state.clone());
        tokio::spawn(Server::new(TcpListener::bind(addr)).run(app));
        // The listener binds in the spawned task: wait until it answers.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Requests the gateway refused, with why.
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    pub fn refuse_next(&self, code: i64, message: &str) {
        self.state.lock().unwrap().refuse_next = Some((code, message.into()));
    }

    /// Headers e签宝 sends with a callback: hex HMAC-SHA256 over timestamp + query values + body.
    pub fn callback_headers(body: &[u8], timestamp_ms: i64, secret: &str) -> Vec<(String, String)> {
        let ts = timestamp_ms.to_string();
        let mut data = ts.as_bytes().to_vec();
        data.extend_from_slice(body);
        vec![
            ("X-Tsign-Open-App-Id".into(), APP_ID.into()),
            ("X-Tsign-Open-TIMESTAMP".into(), ts),
            ("X-Tsign-Open-SIGNATURE-ALGORITHM".into(), "hmac-sha256".into()),
            ("X-Tsign-Open-SIGNATURE".into(), hex::encode(hmac_sha256(secret, &data))),
        ]
    }
}

/// Points the configuration at a real e签宝 client (the fake at `base_url`).
pub fn configure(config: &mut xqt_kernel::config::Config, base_url: &str) {
    use xqt_cooperation::config::{CooperationConfig, SignatureProviderKind};
    let base_url = base_url.to_owned();
    config.update(move |s: &mut CooperationConfig| {
        s.signature_provider = SignatureProviderKind::Esign;
        s.esign_base_url = base_url;
        s.esign_app_id = APP_ID.into();
        s.esign_app_secret = SECRET.into();
        s.esign_template_id = "tpl-internship-v1".into();
        s.esign_notify_url = "https://xqt.example.cn/webhooks/esign".into();
    });
}
