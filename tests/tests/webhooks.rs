//! Partner webhooks end to end: a partner registers its endpoint for the events its token's
//! scopes allow; what happens on the platform is posted there, signed, retried with backoff when
//! the endpoint fails, never twice as two events, and visible with its attempts.

use chrono::Duration as Span;
use serde_json::{Value, json};
use xqt_tests::cooperation::{HANGZHOU, approved, internship, published};
use xqt_tests::receiver::Receiver;
use xqt_tests::{Person, TestServer, on_each_backend, run_jobs};

const REGISTER: &str = "mutation($u: String!, $e: [String!]!) { registerWebhook(url: $u, events: $e) { secret webhook { id url events } } }";
const DELIVERIES: &str =
    "{ webhooks { id deliveries { eventId eventType state attempts lastStatus lastError deliveredAt payload } } }";

async fn partner_token(srv: &TestServer, admin: &Person, name: &str, scopes: &[&str]) -> (String, String) {
    let a = srv
        .gql("mutation($n: String!) { createPartner(name: $n) { id } }", json!({ "n": name }), Some(&admin.token))
        .await;
    let partner = a.body["data"]["createPartner"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let a = srv
        .gql(
            "mutation($p: ID!, $s: [String!]!) { createPartnerToken(partnerId: $p, name: \"hooks\", scopes: $s, validDays: 30) { secret token { id } } }",
            json!({ "p": partner, "s": scopes }),
            Some(&admin.token),
        )
        .await;
    let issued = &a.body["data"]["createPartnerToken"];
    (
        issued["secret"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned(),
        issued["token"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn register(srv: &TestServer, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let a = srv.gql(REGISTER, json!({ "u": url, "e": events }), Some(token)).await;
    let r = &a.body["data"]["registerWebhook"];
    (
        r["secret"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned(),
        r["webhook"]["id"].as_str().unwrap().to_owned(),
    )
}

fn deliveries(listed: &Value) -> Vec<Value> {
    listed["webhooks"][0]["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_event_reaches_the_partners_endpoint_signed_retried_and_once() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let hook = Receiver::start().await;
        let (token, _) =
            partner_token(&srv, &admin, "校企对接平台", &["accounts:organizations.read", "cooperation:read"]).await;

        let (secret, _) =
            register(&srv, &token, &hook.url(), &["accounts.organization.verified", "cooperation.post.published"])
                .await;
        assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
        hook.trust(&secret);
        hook.answer(&[500]);

        let owner = srv.verified_person().await;
        let org = approved(&srv, &admin, &owner, "ENTERPRISE", "宁波海天精工有限公司", HANGZHOU).await;
        let ran = run_jobs(&srv.ctx).await;
        assert_eq!(ran.iter().filter(|r| r.kind == "accounts.webhook_delivery").count(), 1, "{ran:?}");

        let first = deliveries(&srv.ok(DELIVERIES, json!({}), Some(&token)).await);
        assert_eq!(first.len(), 1);
        assert_eq!(
            (&first[0]["eventType"], &first[0]["state"], &first[0]["attempts"], &first[0]["lastStatus"]),
            (&json!("accounts.organization.verified"), &json!("PENDING"), &json!(1), &json!(500)),
            "{first:?}"
        );
        assert!(first[0]["lastError"].as_str().unwrap().contains("500"), "{first:?}");

        assert!(run_jobs(&srv.ctx).await.is_empty(), "the retry waits its backoff");
        b.clock.advance(Span::seconds(31));
        run_jobs(&srv.ctx).await;
        let done = deliveries(&srv.ok(DELIVERIES, json!({}), Some(&token)).await);
        assert_eq!((&done[0]["state"], &done[0]["attempts"], &done[0]["lastStatus"]), (&json!("DELIVERED"), &json!(2), &json!(200)));
        assert!(done[0]["deliveredAt"].is_string() && done[0]["lastError"].is_null(), "{done:?}");

        let got = hook.received();
        assert_eq!(got.len(), 2, "one failure, one retry: {got:?}");
        assert!(got.iter().all(|r| r.verified), "every request carries a signature the partner verifies: {got:?}");
        assert_eq!(got[0].raw, got[1].raw, "a retry posts the same event, byte for byte");
        assert_eq!(got[1].event_id.as_deref(), done[0]["eventId"].as_str(), "the event id is the idempotency key");
        assert_eq!(got[1].event_type.as_deref(), Some("accounts.organization.verified"));
        assert_eq!(
            got[1].body["data"],
            json!({ "organizationId": org, "kind": "enterprise", "name": "宁波海天精工有限公司" }),
            "the public profile, nothing more"
        );
        assert_eq!(got[1].raw, done[0]["payload"].as_str().unwrap(), "the partner sees what was sent");

        // A public organisation post tells the partner too; a talent profile (a person) never.
        let mut input = internship();
        input["visibility"] = json!("PUBLIC");
        let post = published(&srv, &owner, Some(&org), input).await;
        run_jobs(&srv.ctx).await;
        let got = hook.received();
        let last = got.last().unwrap();
        assert_eq!(last.event_type.as_deref(), Some("cooperation.post.published"));
        assert_eq!(last.body["data"]["postId"], json!(post));
        assert!(last.verified && !last.duplicate);
        let student = srv.verified_person().await;
        srv.ok(
            "mutation($p: String!) { grantConsent(input: { purpose: $p }) { id } }",
            json!({ "p": "public_profile" }),
            Some(&student.token),
        )
        .await;
        let talent = json!({ "kind": "TALENT", "title": "求数控实习", "body": "数控专业，求实习岗位。", "visibility": "PUBLIC" });
        published(&srv, &student, None, talent).await;
        run_jobs(&srv.ctx).await;
        assert_eq!(hook.received().len(), got.len(), "a person's talent profile is not announced to partners");
    })
    .await;
}

#[tokio::test]
async fn a_partner_registers_only_what_its_scopes_allow_and_an_https_address() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (sender, _) = partner_token(&srv, &admin, "短信通道商", &["notifications:send"]).await;

        let events = srv.ok("{ webhookEvents { id scope } }", json!({}), None).await;
        let listed = events["webhookEvents"].as_array().unwrap();
        for (id, scope) in [
            ("accounts.organization.verified", "accounts:organizations.read"),
            ("cooperation.post.published", "cooperation:read"),
            ("cooperation.post.ended", "cooperation:read"),
        ] {
            assert!(listed.contains(&json!({ "id": id, "scope": scope })), "{id} is listed publicly: {listed:?}");
        }

        let refusals = [
            ("https://partner.example.com/hook", vec!["accounts.organization.verified"], "FORBIDDEN", "scope"),
            ("https://partner.example.com/hook", vec!["accounts.organisation.verified"], "BAD_USER_INPUT", "field"),
            ("https://partner.example.com/hook", vec![], "BAD_USER_INPUT", "field"),
            ("http://partner.example.com/hook", vec!["accounts.organization.verified"], "BAD_USER_INPUT", "field"),
            ("ftp://127.0.0.1/hook", vec!["accounts.organization.verified"], "BAD_USER_INPUT", "field"),
            (
                "https://user:pw@partner.example.com/hook",
                vec!["accounts.organization.verified"],
                "BAD_USER_INPUT",
                "field",
            ),
            ("not an address", vec!["accounts.organization.verified"], "BAD_USER_INPUT", "field"),
        ];
        for (url, events, code, key) in refusals {
            let a = srv.gql(REGISTER, json!({ "u": url, "e": events }), Some(&sender)).await;
            assert_eq!(a.code(), Some(code), "{url} {events:?}: {:?}", a.body);
            assert!(
                a.body["errors"][0]["extensions"][key].is_string(),
                "{url} {events:?} names its {key}: {:?}",
                a.body
            );
            assert!(a.body["data"].is_null() || a.body["data"]["registerWebhook"].is_null());
        }
        let unknown =
            srv.gql(REGISTER, json!({ "u": "https://partner.example.com/h", "e": ["nope"] }), Some(&sender)).await;
        assert!(
            unknown.body["errors"][0]["message"].as_str().unwrap().contains("accounts.organization.verified"),
            "an unknown event lists the real ones: {:?}",
            unknown.body
        );

        let person = srv.person().await;
        let a = srv
            .gql(
                REGISTER,
                json!({ "u": "https://p.example.com/h", "e": ["cooperation.post.published"] }),
                Some(&person.token),
            )
            .await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "people do not register webhooks");
        assert_eq!(srv.gql("{ webhooks { id } }", json!({}), None).await.code(), Some("UNAUTHENTICATED"));
        assert_eq!(srv.gql("{ webhooks { id } }", json!({}), Some(&person.token)).await.code(), Some("FORBIDDEN"));
    })
    .await;
}

#[tokio::test]
async fn a_revoked_scope_stops_events_and_a_ping_proves_the_endpoint() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let hook = Receiver::start().await;
        let (token, token_id) = partner_token(&srv, &admin, "就业数据中心", &["accounts:organizations.read"]).await;
        let (other, _) = partner_token(&srv, &admin, "别家合作方", &["accounts:organizations.read"]).await;
        let (secret, id) = register(&srv, &token, &hook.url(), &["accounts.organization.verified"]).await;
        hook.trust(&secret);

        let a = srv.gql("mutation($i: ID!) { pingWebhook(id: $i) { eventType state } }", json!({ "i": id }), Some(&token)).await;
        assert_eq!(a.body["data"]["pingWebhook"], json!({ "eventType": "accounts.webhook.ping", "state": "PENDING" }));
        run_jobs(&srv.ctx).await;
        let got = hook.received();
        assert_eq!((got.len(), got[0].verified, got[0].event_type.as_deref()), (1, true, Some("accounts.webhook.ping")));

        for (who, token) in [("another partner", &other), ("a person", &srv.person().await.token)] {
            let a = srv.gql("mutation($i: ID!) { pingWebhook(id: $i) { state } }", json!({ "i": id }), Some(token)).await;
            assert!(matches!(a.code(), Some("NOT_FOUND" | "FORBIDDEN")), "{who}: {:?}", a.body);
            let a = srv.gql("mutation($i: ID!) { deleteWebhook(id: $i) }", json!({ "i": id }), Some(token)).await;
            assert_ne!(a.body["data"]["deleteWebhook"], json!(true), "{who} cannot delete it");
        }
        assert_eq!(srv.ok("{ webhooks { id } }", json!({}), Some(&other)).await["webhooks"], json!([]), "own webhooks only");

        srv.ok("mutation($i: ID!) { revokePartnerToken(id: $i) }", json!({ "i": token_id }), Some(&admin.token)).await;
        let owner = srv.verified_person().await;
        approved(&srv, &admin, &owner, "SCHOOL", "温州职业技术学院", HANGZHOU).await;
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().all(|r| r.kind != "accounts.webhook_delivery"), "no live token holds the scope: {ran:?}");
        assert_eq!(hook.received().len(), 1);

        let (fresh, _) = {
            let a = srv.gql("{ partners { id name } }", json!({}), Some(&admin.token)).await;
            let p = a.body["data"]["partners"].as_array().unwrap().iter().find(|p| p["name"] == "就业数据中心").unwrap()["id"].clone();
            let a = srv
                .gql(
                    "mutation($p: ID!) { createPartnerToken(partnerId: $p, name: \"rotated\", scopes: [\"accounts:organizations.read\"], validDays: 30) { secret } }",
                    json!({ "p": p }),
                    Some(&admin.token),
                )
                .await;
            (a.body["data"]["createPartnerToken"]["secret"].as_str().unwrap().to_owned(), ())
        };
        approved(&srv, &admin, &owner, "SCHOOL", "台州职业技术学院", HANGZHOU).await;
        run_jobs(&srv.ctx).await;
        assert_eq!(hook.received().len(), 2, "a rotated token keeps the webhook: the partner holds the scope again");

        let a = srv.gql("mutation($i: ID!) { deleteWebhook(id: $i) }", json!({ "i": id }), Some(&fresh)).await;
        assert_eq!(a.body["data"]["deleteWebhook"], json!(true), "{:?}", a.body);
        assert_eq!(srv.ok("{ webhooks { id } }", json!({}), Some(&fresh)).await["webhooks"], json!([]));
    })
    .await;
}

/// Production endpoints are HTTPS: a delivery verifies the endpoint's certificate against the
/// public roots and `accounts.webhook_ca_file`; an endpoint whose certificate no trusted CA
/// issued is not posted to (the attempt is recorded as failed and retried).
#[tokio::test]
async fn deliveries_go_over_https_to_a_certificate_the_platform_trusts() {
    on_each_backend(async |b| {
        let trusted = xqt_tests::tls::TestPki::new("partner");
        let stranger = xqt_tests::tls::TestPki::new("unknown");
        let ca_file = trusted.ca_file.clone();
        let srv = b
            .start_with(move |c| {
                c.update(|a: &mut xqt_accounts::config::AccountsConfig| a.webhook_ca_file = Some(ca_file))
            })
            .await;
        let admin = srv.admin().await;
        let (token, _) = partner_token(&srv, &admin, "电子签约服务商", &["accounts:organizations.read"]).await;

        let good = Receiver::start().await;
        let good_url = format!("https://localhost:{}/hooks/xqt", trusted.front(good.addr).await.port());
        let (secret, good_id) = register(&srv, &token, &good_url, &["accounts.organization.verified"]).await;
        good.trust(&secret);
        let bad = Receiver::start().await;
        let bad_url = format!("https://localhost:{}/hooks/xqt", stranger.front(bad.addr).await.port());
        let (_, bad_id) = register(&srv, &token, &bad_url, &["accounts.organization.verified"]).await;

        let ping = "mutation($i: ID!) { pingWebhook(id: $i) { id } }";
        srv.ok(ping, json!({ "i": good_id }), Some(&token)).await;
        srv.ok(ping, json!({ "i": bad_id }), Some(&token)).await;
        run_jobs(&srv.ctx).await;

        let got = good.received();
        assert_eq!((got.len(), got[0].verified), (1, true), "posted over TLS, signed: {got:?}");
        assert!(bad.received().is_empty(), "nothing reaches an endpoint whose certificate is not trusted");
        let listed = srv.ok("{ webhooks { id deliveries { state lastError } } }", json!({}), Some(&token)).await;
        let of = |id: &str| {
            listed["webhooks"].as_array().unwrap().iter().find(|w| w["id"] == id).unwrap()["deliveries"][0].clone()
        };
        assert_eq!(of(&good_id)["state"], "DELIVERED");
        let failed = of(&bad_id);
        assert_eq!(failed["state"], "PENDING", "retried later: {failed}");
        assert!(failed["lastError"].as_str().unwrap().starts_with("not reached"), "{failed}");
    })
    .await;
}
