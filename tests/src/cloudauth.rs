//! A local stand-in for Aliyun ID Verification's two-element check (`Id2MetaVerify`, cloudauth
//! 2019-03-07): the RPC gateway's checks (`aliyun::check_rpc`: AccessKey, time, signature, nonce),
//! then the action's — `ParamType=normal`, a name and an ID number — answered from a register of
//! people: `{"Code":"200","ResultObject":{"BizCode":"1"}}` for a match, `"2"` for a number held
//! under another name, `"3"` for no record; `"401"` for a malformed number. Written from
//! Aliyun's documentation.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, EndpointExt, Request, Response, Route, Server, handler, web::Data};
use serde_json::json;
use xqt_kernel::config::Config;

use crate::aliyun::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, check_rpc};

#[derive(Default)]
struct State {
    /// ID number → the name on record.
    register: HashMap<String, String>,
    nonces: HashSet<String>,
    checked: Vec<(String, String)>,
    refusals: Vec<String>,
}

#[derive(Clone)]
pub struct FakeCloudauth {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

#[handler]
async fn gateway(req: &Request, body: Body, Data(state): Data<&Arc<Mutex<State>>>) -> Response {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let body = body.into_vec().await.unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return crate::aliyun::answer(StatusCode::BAD_REQUEST, "InvalidParameter", "send the parameters form-encoded");
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let nonce_seen = |nonce: String| !state.lock().unwrap().nonces.insert(nonce);
    if let Err((status, code, why)) = check_rpc(&params, "Id2MetaVerify", "2019-03-07", nonce_seen) {
        state.lock().unwrap().refusals.push(format!("{code}: {why}"));
        return crate::aliyun::answer(status, code, &why);
    }
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let reply = |code: &str, message: &str, biz: Option<&str>| {
        let mut body =
            json!({ "Code": code, "Message": message, "RequestId": uuid::Uuid::new_v4().to_string().to_uppercase() });
        if let Some(b) = biz {
            body["ResultObject"] = json!({ "BizCode": b });
        }
        Response::builder().content_type("application/json;charset=utf-8").body(body.to_string())
    };
    let (name, number) = (get("UserName"), get("IdentifyNum"));
    if get("ParamType") != "normal" || name.is_empty() || number.is_empty() {
        return reply("400", "参数不能为空", None);
    }
    if number.len() != 18 {
        return reply("401", "参数非法(identifyNum)", None);
    }
    let mut s = state.lock().unwrap();
    s.checked.push((name.clone(), number.clone()));
    match s.register.get(&number) {
        Some(on_record) if *on_record == name => reply("200", "success", Some("1")),
        Some(_) => reply("200", "success", Some("2")),
        None => reply("200", "success", Some("3")),
    }
}

impl FakeCloudauth {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("a free port");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("an address");
        let app = Route::new().at("/", poem::post(gateway)).data(state.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self { addr, state }
    }

    /// A person on the authoritative record.
    pub fn register(&self, name: &str, id_number: &str) {
        self.state.lock().unwrap().register.insert(id_number.to_owned(), name.to_owned());
    }

    pub fn checked(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().checked.clone()
    }

    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    /// `[accounts.identity]` for this fake.
    pub fn configure(&self, config: &mut Config) {
        let url = format!("http://{}/", self.addr);
        config.update::<xqt_accounts::config::AccountsConfig>(|a| {
            a.identity.provider = xqt_accounts::config::IdentityProviderKind::Aliyun;
            a.identity.aliyun_endpoint = url;
            a.identity.aliyun_access_key_id = Some(ACCESS_KEY_ID.into());
            a.identity.aliyun_access_key_secret = Some(ACCESS_KEY_SECRET.into());
        });
    }
}
