//! A local stand-in for Aliyun SMS (`dysmsapi`, `SendSms` 2017-05-25), checking each request the
//! way Aliyun's RPC gateway documents it — the common parameters, a known AccessKeyId, a
//! timestamp within 15 minutes, a nonce never seen before, and `Signature` recomputed from the
//! sorted, RFC 3986-encoded parameters with HMAC-SHA1 under `secret&` — then the SMS rules: an
//! approved sign name and template, a `code` in `TemplateParam`, a mainland number. It answers
//! in Aliyun's shapes (`{ Code, Message, RequestId, BizId }`; gateway refusals with HTTP 4xx).
//! Written from the documentation, not from the client's code.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, EndpointExt, Request, Response, Route, Server, handler, web::Data};
use serde_json::{Value, json};
use sha1::Sha1;
use xqt_kernel::config::Config;

pub const ACCESS_KEY_ID: &str = "LTAI5tXqtTestKeyId0001";
pub const ACCESS_KEY_SECRET: &str = "xqtTestAccessKeySecret0123456789";
pub const SIGN_NAME: &str = "校企通";
pub const TEMPLATE_CODE: &str = "SMS_465930021";

/// One message the fake accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub phone: String,
    pub code: String,
}

/// How the fake answers the next requests, as Aliyun would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `isv.BUSINESS_LIMIT_CONTROL`: Aliyun's own per-number flow control.
    RateLimited,
    /// `isv.AMOUNT_NOT_ENOUGH`.
    NoBalance,
    /// HTTP 503 with `ServiceUnavailable`, this many times, then accept.
    Unavailable(u32),
}

struct State {
    sent: Vec<Sent>,
    refusals: Vec<String>,
    nonces: HashSet<String>,
    mode: Mode,
}

#[derive(Clone)]
pub struct FakeAliyun {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn answer(status: StatusCode, code: &str, message: &str) -> Response {
    let mut body =
        json!({ "Code": code, "Message": message, "RequestId": uuid::Uuid::new_v4().to_string().to_uppercase() });
    if code == "OK" {
        body["BizId"] = json!(format!("{}^0", rand_digits()));
    } else if status != StatusCode::OK {
        body["HostId"] = json!("dysmsapi.aliyuncs.com");
        body["Recommend"] = json!("https://api.aliyun.com/troubleshoot?q=".to_owned() + code);
    }
    Response::builder().status(status).content_type("application/json;charset=utf-8").body(body.to_string())
}

fn rand_digits() -> String {
    format!("{:018}", uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000_000)
}

/// The gateway's checks, in the order Aliyun documents them; `Err` is the refusal to send.
/// A refusal: HTTP status, Aliyun's code, its message.
pub type Refusal = (StatusCode, &'static str, String);

fn check(state: &Mutex<State>, params: &[(String, String)]) -> Result<Sent, Refusal> {
    let nonce_seen = |nonce: String| !state.lock().unwrap().nonces.insert(nonce);
    check_rpc(params, "SendSms", "2017-05-25", nonce_seen)?;
    check_sms(params)
}

/// What Aliyun's RPC gateway checks of every call, whatever the product: the common
/// parameters, the action and version, the AccessKey, the time, the signature, the nonce.
pub fn check_rpc(
    params: &[(String, String)],
    action: &str,
    version: &str,
    nonce_seen: impl FnOnce(String) -> bool,
) -> Result<(), Refusal> {
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let bad = |code: &'static str, why: String| (StatusCode::BAD_REQUEST, code, why);
    for required in [
        "AccessKeyId",
        "Action",
        "Format",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
        "Version",
        "Signature",
    ] {
        if get(required).is_none_or(str::is_empty) {
            return Err(bad("MissingParameter", format!("{required} is mandatory for this action")));
        }
    }
    if get("Action") != Some(action) || get("Version") != Some(version) {
        return Err(bad("InvalidAction.NotFound", "the action or version does not exist".into()));
    }
    if get("SignatureMethod") != Some("HMAC-SHA1") || get("SignatureVersion") != Some("1.0") {
        return Err(bad("InvalidSignatureMethod", "HMAC-SHA1, version 1.0".into()));
    }
    // Aliyun also speaks XML; this fake answers JSON only, which is what the client asks for.
    if get("Format") != Some("JSON") {
        return Err(bad("InvalidParameter.Format", "this fake answers Format=JSON only".into()));
    }
    if get("AccessKeyId") != Some(ACCESS_KEY_ID) {
        return Err((
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.".into(),
        ));
    }
    let stamp = get("Timestamp").unwrap_or_default();
    let Ok(at) = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%SZ") else {
        return Err(bad("InvalidTimeStamp.Format", format!("{stamp} is not yyyy-MM-ddTHH:mm:ssZ in UTC")));
    };
    if (chrono::Utc::now().naive_utc() - at).num_minutes().abs() > 15 {
        return Err(bad("InvalidTimeStamp.Expired", "more than 15 minutes from the server's time".into()));
    }
    let mut unsigned: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").map(|(k, v)| (percent_encode(k), percent_encode(v))).collect();
    unsigned.sort();
    let canonical = unsigned.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let to_sign = format!("POST&{}&{}", percent_encode("/"), percent_encode(&canonical));
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{ACCESS_KEY_SECRET}&").as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    if get("Signature") != Some(expected.as_str()) {
        return Err(bad(
            "SignatureDoesNotMatch",
            format!("Specified signature is not matched with our calculation. server string to sign is:{to_sign}"),
        ));
    }
    let nonce = get("SignatureNonce").unwrap_or_default().to_owned();
    if nonce_seen(nonce) {
        return Err(bad("SignatureNonceUsed", "Specified signature nonce was used already.".into()));
    }
    Ok(())
}

/// The SMS rules (HTTP 200 with an isv code).
fn check_sms(params: &[(String, String)]) -> Result<Sent, Refusal> {
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let ok = StatusCode::OK;
    if get("SignName") != Some(SIGN_NAME) {
        return Err((ok, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名".into()));
    }
    if get("TemplateCode") != Some(TEMPLATE_CODE) {
        return Err((ok, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板".into()));
    }
    let param: Value = get("TemplateParam").and_then(|p| serde_json::from_str(p).ok()).unwrap_or(Value::Null);
    let Some(code) = param["code"].as_str().filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())) else {
        return Err((ok, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值".into()));
    };
    let phone = get("PhoneNumbers").unwrap_or_default();
    let mainland = phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit());
    if !mainland {
        return Err((ok, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号".into()));
    }
    Ok(Sent { phone: phone.to_owned(), code: code.to_owned() })
}

#[handler]
async fn send_sms(req: &Request, body: Body, Data(state): Data<&Arc<Mutex<State>>>) -> Response {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let body = body.into_vec().await.unwrap_or_default();
    let params: Vec<(String, String)> = if content_type.starts_with("application/x-www-form-urlencoded") {
        form_urlencoded::parse(&body).into_owned().collect()
    } else {
        return answer(StatusCode::BAD_REQUEST, "InvalidParameter", "send the parameters form-encoded");
    };
    let refused = |state: &Mutex<State>, (status, code, why): (StatusCode, &str, String)| {
        state.lock().unwrap().refusals.push(format!("{code}: {why}"));
        answer(status, code, &why)
    };
    let sent = match check(state, &params) {
        Ok(sent) => sent,
        Err(refusal) => return refused(state, refusal),
    };
    let mode = state.lock().unwrap().mode;
    match mode {
        Mode::Accept => {}
        Mode::RateLimited => {
            return refused(state, (StatusCode::OK, "isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10".into()));
        }
        Mode::NoBalance => return refused(state, (StatusCode::OK, "isv.AMOUNT_NOT_ENOUGH", "账户余额不足".into())),
        Mode::Unavailable(n) => {
            state.lock().unwrap().mode = if n > 1 { Mode::Unavailable(n - 1) } else { Mode::Accept };
            let why = "The request has failed due to a temporary failure of the server.".to_owned();
            return refused(state, (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", why));
        }
    }
    state.lock().unwrap().sent.push(sent);
    answer(StatusCode::OK, "OK", "OK")
}

impl FakeAliyun {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// On a given address (the compose demo's `xqt-fakes`).
    pub async fn start_on(listen: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            sent: Vec::new(),
            refusals: Vec::new(),
            nonces: HashSet::new(),
            mode: Mode::Accept,
        }));
        let acceptor = TcpListener::bind(listen.to_owned()).into_acceptor().await.expect("the address is free");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("an address");
        let app = Route::new().at("/", poem::post(send_sms)).data(state.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Points `[accounts.sms]` at this fake with its AccessKey, sign name and template.
    pub fn configure(&self, config: &mut Config) {
        configure(config, &self.url());
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    /// The newest code delivered to `phone`.
    pub fn code_for(&self, phone: &str) -> Option<String> {
        self.sent().into_iter().rev().find(|s| s.phone == phone).map(|s| s.code)
    }
}

/// `[accounts.sms]` for Aliyun at `url`, with the fake's AccessKey, sign name and template.
pub fn configure(config: &mut Config, url: &str) {
    config.update::<xqt_accounts::config::AccountsConfig>(|a| {
        a.sms.provider = xqt_accounts::config::SmsProviderKind::Aliyun;
        a.sms.aliyun_endpoint = url.to_owned();
        a.sms.aliyun_access_key_id = Some(ACCESS_KEY_ID.into());
        a.sms.aliyun_access_key_secret = Some(ACCESS_KEY_SECRET.into());
        a.sms.sign_name = Some(SIGN_NAME.into());
        a.sms.template_code = Some(TEMPLATE_CODE.into());
    });
}
