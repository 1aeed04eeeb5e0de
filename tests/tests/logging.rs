//! Logs: JSON lines where every line written while serving a request names that request.
//! (Its own test binary: it installs the process-wide log subscriber.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use xqt_kernel::config::{Config, LogFormat};

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let lines = Lines::default();
    let config = Config { log_format: LogFormat::Json, log_filter: "info,xqt_chat=debug".into(), ..Config::default() };
    xqt::init_tracing_to(&config, lines.clone());

    xqt_tests::on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ids = Vec::new();
        for body in [json!({ "query": "{ __typename }" }), json!({ "query": "{ nope }" })] {
            let resp = srv.http.post(srv.url("/graphql")).json(&body).send().await.unwrap();
            ids.push(resp.headers()["x-request-id"].to_str().unwrap().to_owned());
        }
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
        for id in &ids {
            let of_request: Vec<&Value> = parsed.iter().filter(|l| l["span"]["request_id"] == id.as_str()).collect();
            assert!(
                of_request.iter().any(|l| l["message"] == "served"),
                "the request's completion is logged with its id {id}"
            );
        }
        // Lines written by a service (an account created while signing in) and by a DataLoader's
        // batch task (its own tokio task) name the request that caused them.
        let phone = xqt_tests::random_phone();
        srv.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": phone }), None).await;
        let code = srv.sms_code(&phone).await;
        let sign_in = json!({
            "query": "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken } }",
            "variables": { "i": { "phone": phone, "code": code, "device": { "deviceId": "log-test" } } },
        });
        let resp = srv.http.post(srv.url("/graphql")).json(&sign_in).send().await.unwrap();
        let signed_in = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        assert!(body["data"]["signInWithCode"]["accessToken"].is_string(), "signed in: {body}");
        let (alice, bob) = (srv.verified_person().await, srv.verified_person().await);
        let open = "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }";
        srv.ok(open, json!({ "u": bob.id }), Some(&alice.token)).await;
        let list = json!({ "query": "{ conversations { edges { node { unreadCount } } } }" });
        let resp = srv.http.post(srv.url("/graphql")).bearer_auth(&alice.token).json(&list).send().await.unwrap();
        let listed = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(resp.json::<Value>().await.unwrap()["errors"].is_null());
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
        let request_of = |message: &str| -> Vec<Value> {
            parsed.iter().filter(|l| l["message"] == message).map(|l| l["span"]["request_id"].clone()).collect()
        };
        assert!(request_of("account created").contains(&json!(signed_in)), "a service's line: {text}");
        // (The lines of every backend's run are in `lines`: this one's is among them, none lacks an id.)
        let batches = request_of("unread counts loaded in one batch");
        assert!(
            batches.contains(&json!(listed)) && batches.iter().all(Value::is_string),
            "a DataLoader task's line: {batches:?}"
        );

        // Outside development the log never holds a phone number or a code whole…
        assert!(!text.contains(&phone) && !text.contains(&code), "masked outside development: {text}");
        // …in development the built-in provider shows both, so a developer can sign in.
        let dev = b.start_with(|c| c.env = xqt_kernel::config::Environment::Development).await;
        let phone = xqt_tests::random_phone();
        dev.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": phone }), None).await;
        let code = dev.sms_code(&phone).await;
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        // (`lines` holds every backend's run: find this phone's line.)
        let shown = text
            .lines()
            .find(|l| l.contains("sms written to the outbox (development") && l.contains(&phone))
            .expect(&text);
        assert!(shown.contains(&code), "{shown}");

        // Nothing logged from inside a request handler lacks the id.
        let served_without_id =
            parsed.iter().filter(|l| l["target"] == "xqt::observe" && l["span"]["request_id"].is_null()).count();
        assert_eq!(served_without_id, 0, "{text}");
    })
    .await;
}
