//! Encrypted transmission (POLICY SEC-3): HTTPS and WSS served with a certificate, renewed
//! without a restart; behind a proxy, only what the trusted proxy forwarded as HTTPS is served.
//! (Production refusing to start on plain HTTP: `sec_3_production_refuses_plain_http` in the
//! kernel's configuration tests, and `server/tests/cli.rs` for the binary.)

use std::time::Duration;

use serde_json::json;
use xqt_tests::tls::TestPki;
use xqt_tests::{Person, TestServer, WsClient, on_each_backend};

#[tokio::test]
async fn sec_3_https_and_wss_are_served_with_a_certificate() {
    on_each_backend(async |b| {
        let pki = TestPki::new("xqt");
        let srv = b.start_tls(&pki, |_| {}).await;
        assert!(srv.base.starts_with("https://"));

        // A person signs in, over HTTPS only.
        let person = srv.person().await;
        let resp = srv.http.post(srv.url("/graphql")).json(&json!({ "query": "{ me { id } }" }));
        let resp = resp.bearer_auth(&person.token).send().await.expect("an HTTPS request");
        assert_eq!(
            resp.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()),
            Some("max-age=31536000"),
            "HSTS on an encrypted response"
        );
        let a = TestServer::answer(resp).await;
        assert_eq!(a.body["data"]["me"]["id"], person.id.to_string(), "{:?}", a.body);

        // The same port does not speak plain HTTP: nothing is sent or answered in the clear.
        let plain = reqwest::Client::new().post(format!("http://{}/graphql", srv.addr)).body("{}").send().await;
        assert!(plain.is_err(), "plain HTTP answered on the TLS port: {plain:?}");
        // A client that does not trust the certificate's issuer is refused in the handshake.
        let stranger = reqwest::Client::builder().resolve("localhost", srv.addr).build().unwrap();
        let refused = stranger.get(srv.url("/healthz")).send().await;
        assert!(refused.is_err(), "a certificate from an unknown CA was accepted: {refused:?}");

        // WSS: a subscription delivers over the encrypted socket.
        assert!(srv.ws_base.starts_with("wss://"));
        let mut ws = xqt_tests::live_inbox(&srv, &person, "inbox").await;
        notify(&srv, &person, "over wss").await;
        assert_eq!(ws.next_payload("inbox").await["data"]["notificationAdded"]["title"], "over wss");
        // And a plain ws:// socket to the same port gets no handshake at all.
        let plain = WsClient::connect(&format!("ws://{}/graphql/ws", srv.addr), Some(xqt::ws::PROTOCOL)).await;
        assert!(plain.is_err(), "a plain WebSocket was accepted on the TLS port");
    })
    .await;
}

#[tokio::test]
async fn sec_3_a_renewed_certificate_is_served_without_a_restart() {
    on_each_backend(async |b| {
        let pki = TestPki::new("xqt");
        let srv = b.start_tls(&pki, |_| {}).await;
        let first = pki.served_at(srv.addr).await.expect("a handshake");
        let person = srv.person().await;
        let mut ws = xqt_tests::live_inbox(&srv, &person, "inbox").await;

        // A renewal caught half-written (or simply wrong) is not loaded: the old certificate
        // keeps serving every handshake meanwhile.
        let (cert, key) = b.tls_files();
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ntruncated").expect("written");
        let renewed = pki.issue();
        assert_ne!(renewed.der, first);
        let mut seen_old_after_bad_write = 0;
        for _ in 0..7 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let served = pki.served_at(srv.addr).await.expect("still serving during a bad renewal");
            assert_eq!(served, first, "nothing else can be served while the files are broken");
            seen_old_after_bad_write += 1;
        }
        assert_eq!(seen_old_after_bad_write, 7);

        std::fs::write(&key, &renewed.key_pem).expect("key written");
        std::fs::write(&cert, &renewed.cert_pem).expect("certificate written");
        let mut served = first.clone();
        for _ in 0..40 {
            served = pki.served_at(srv.addr).await.expect("a handshake during the renewal");
            if served == renewed.der {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(served, renewed.der, "the renewed certificate is served without a restart");
        let a = srv.gql("{ me { id } }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body["data"]["me"]["id"], person.id.to_string(), "new connections work: {:?}", a.body);
        // A socket opened before the renewal is not dropped by it.
        notify(&srv, &person, "after renewal").await;
        assert_eq!(ws.next_payload("inbox").await["data"]["notificationAdded"]["title"], "after renewal");
    })
    .await;
}

#[tokio::test]
async fn sec_3_behind_a_proxy_only_what_it_forwarded_as_https_is_served() {
    on_each_backend(async |b| {
        let srv = b
            .start_with(|c| {
                c.tls.behind_proxy = true;
                c.tls.trusted_proxies = vec!["127.0.0.1".into()];
            })
            .await;
        let typename = json!({ "query": "{ __typename }" });
        let forwarded = srv.http.post(srv.url("/graphql")).header("x-forwarded-proto", "https").json(&typename);
        let resp = forwarded.send().await.unwrap();
        assert_eq!(
            resp.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()),
            Some("max-age=31536000")
        );
        assert_eq!(TestServer::answer(resp).await.body, json!({ "data": { "__typename": "Query" } }));

        // The proxy received it in the clear, or said nothing: refused with a code, no data.
        for proto in [Some("http"), None] {
            let mut req = srv.http.post(srv.url("/graphql")).json(&typename);
            if let Some(p) = proto {
                req = req.header("x-forwarded-proto", p);
            }
            let resp = req.send().await.unwrap();
            assert!(resp.headers().get("strict-transport-security").is_none());
            let a = TestServer::answer(resp).await;
            assert_eq!((a.status, a.code()), (403, Some("FORBIDDEN")), "{proto:?}: {:?}", a.body);
            assert_eq!(a.body["errors"][0]["extensions"]["reason"], "HTTPS_REQUIRED");
            assert!(a.body.get("data").is_none());
        }
        // A WebSocket through the proxy in the clear is refused before it upgrades.
        let plain = WsClient::connect(&format!("{}/graphql/ws", srv.ws_base), Some(xqt::ws::PROTOCOL)).await;
        assert!(plain.is_err(), "a WebSocket the proxy did not forward as wss was upgraded");
        // The load balancer's probes come straight to the server.
        let health = srv.http.get(srv.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200);

        // From an address that is not a trusted proxy, the header proves nothing.
        let untrusted = b
            .start_with(|c| {
                c.tls.behind_proxy = true;
                c.tls.trusted_proxies = vec!["10.0.0.0/8".into()];
            })
            .await;
        let resp = untrusted.http.post(untrusted.url("/graphql")).header("x-forwarded-proto", "https").json(&typename);
        let a = TestServer::answer(resp.send().await.unwrap()).await;
        assert_eq!((a.status, a.body["errors"][0]["extensions"]["reason"].as_str()), (403, Some("HTTPS_REQUIRED")));
    })
    .await;
}

async fn notify(srv: &TestServer, person: &Person, title: &str) {
    let admin = srv.admin().await;
    let send = "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id } }";
    srv.ok(send, json!({ "i": { "userId": person.id, "title": title } }), Some(&admin.token)).await;
}
