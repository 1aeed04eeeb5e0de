//! Partner API tokens: issued by admins with scopes the modules declare, shown once, stored as a
//! hash, expiring, revocable at once, rate-limited; each field checks its scope.

use chrono::Duration as Span;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use xqt_tests::{Person, TestServer, on_each_backend};

const CREATE_PARTNER: &str = "mutation($n: String!) { createPartner(name: $n) { id } }";
const CREATE_TOKEN: &str = "mutation($p: ID!, $n: String!, $s: [String!]!, $d: Int!) { createPartnerToken(partnerId: $p, name: $n, scopes: $s, validDays: $d) { secret token { id prefix scopes expiresAt } } }";
const SEND: &str = "mutation($u: ID!) { sendNotification(input: { userId: $u, title: \"来自合作方\" }) { id } }";
const ORG: &str = "query($id: ID!) { organization(id: $id) { name address } }";

async fn partner(srv: &TestServer, admin: &Person, name: &str) -> String {
    let a = srv.gql(CREATE_PARTNER, json!({ "n": name }), Some(&admin.token)).await;
    a.body["data"]["createPartner"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned()
}

async fn token(srv: &TestServer, admin: &Person, partner: &str, scopes: &[&str], days: i64) -> (String, Value) {
    let a =
        srv.gql(CREATE_TOKEN, json!({ "p": partner, "n": "test", "s": scopes, "d": days }), Some(&admin.token)).await;
    let issued = &a.body["data"]["createPartnerToken"];
    (issued["secret"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned(), issued["token"].clone())
}

async fn approved_org(srv: &TestServer, admin: &Person) -> String {
    let owner = srv.verified_person().await;
    let a = srv.gql("mutation { createOrganization(kind: ENTERPRISE, input: { name: \"合作企业\", address: \"不公开的地址\" }) { id } }", json!({}), Some(&owner.token)).await;
    let id = a.body["data"]["createOrganization"]["id"].as_str().unwrap().to_owned();
    srv.ok(
        "mutation($id: ID!) { submitOrganizationVerification(id: $id, creditCode: \"91350100M000100Y43\") { id } }",
        json!({ "id": id }),
        Some(&owner.token),
    )
    .await;
    for action in ["START", "APPROVE"] {
        srv.ok(
            "mutation($id: ID!, $a: ReviewAction!) { reviewOrganizationVerification(id: $id, action: $a) { id } }",
            json!({ "id": id, "a": action }),
            Some(&admin.token),
        )
        .await;
    }
    id
}

#[tokio::test]
async fn a_partner_token_without_the_scope_is_refused_that_field() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, person) = (srv.admin().await, srv.person().await);
        let org = approved_org(&srv, &admin).await;
        let p = partner(&srv, &admin, "学校教务系统").await;
        let (sender, _) = token(&srv, &admin, &p, &["notifications:send"], 30).await;
        let (reader, _) = token(&srv, &admin, &p, &["accounts:organizations.read"], 30).await;

        let a = srv.gql(SEND, json!({ "u": person.id }), Some(&sender)).await;
        assert!(a.body["data"]["sendNotification"]["id"].is_string(), "{:?}", a.body);
        let a = srv.gql(SEND, json!({ "u": person.id }), Some(&reader)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["scope"].as_str()),
            (Some("FORBIDDEN"), Some("notifications:send"))
        );

        let a = srv.gql(ORG, json!({ "id": org }), Some(&reader)).await;
        assert_eq!(
            a.body["data"]["organization"],
            json!({ "name": "合作企业", "address": null }),
            "the public profile only"
        );
        let a = srv.gql(ORG, json!({ "id": org }), Some(&sender)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["scope"].as_str()),
            (Some("FORBIDDEN"), Some("accounts:organizations.read"))
        );

        for personal in ["{ me { id } }", "{ mySessions { id } }", "{ notifications { edges { cursor } } }"] {
            assert_eq!(
                srv.gql(personal, json!({}), Some(&sender)).await.code(),
                Some("FORBIDDEN"),
                "{personal}: partners are not people"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn tokens_are_shown_once_stored_hashed_expire_and_are_revoked_at_once() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let other = if b.has_redis() { Some(b.start().await) } else { None };
        let (admin, person) = (srv.admin().await, srv.person().await);
        let p = partner(&srv, &admin, "电子签章服务").await;
        let (secret, listed) = token(&srv, &admin, &p, &["notifications:send"], 30).await;
        assert!(secret.starts_with("xqt_pat_") && secret.starts_with(listed["prefix"].as_str().unwrap()));

        let rows = xqt_accounts::entity::api_token::Entity::find().all(&srv.ctx.db).await.unwrap();
        assert!(
            rows.iter().all(|r| r.token_hash != secret && !r.token_hash.contains(&secret[8..20])),
            "only a hash is stored"
        );
        let list =
            srv.gql("{ partners { name tokens { prefix scopes lastUsedAt } } }", json!({}), Some(&admin.token)).await;
        assert!(!list.body.to_string().contains(&secret), "lists never show the secret");
        assert_eq!(list.body["data"]["partners"][0]["tokens"][0]["lastUsedAt"], Value::Null);

        assert!(
            srv.gql(SEND, json!({ "u": person.id }), Some(&secret)).await.body["data"]["sendNotification"].is_object()
        );
        let list = srv.gql("{ partners { tokens { lastUsedAt } } }", json!({}), Some(&admin.token)).await;
        assert!(list.body["data"]["partners"][0]["tokens"][0]["lastUsedAt"].is_string(), "last use is recorded");

        let mut typo = secret.clone();
        typo.replace_range(10..11, if &secret[10..11] == "A" { "B" } else { "A" });
        let a = srv.gql("{ __typename }", json!({}), Some(&typo)).await;
        assert_eq!((a.status, a.code()), (401, Some("UNAUTHENTICATED")), "checksum catches a changed character");

        let id = listed["id"].as_str().unwrap();
        let a = srv
            .gql("mutation($id: ID!) { revokePartnerToken(id: $id) }", json!({ "id": id }), Some(&admin.token))
            .await;
        assert_eq!(a.body["data"]["revokePartnerToken"], true);
        assert_eq!(srv.gql("{ __typename }", json!({}), Some(&secret)).await.status, 401, "revoked at once");
        if let Some(o) = &other {
            assert_eq!(
                o.gql("{ __typename }", json!({}), Some(&secret)).await.status,
                401,
                "on the other instance too"
            );
        }

        let (short, _) = token(&srv, &admin, &p, &["notifications:send"], 1).await;
        assert_eq!(srv.gql("{ __typename }", json!({}), Some(&short)).await.status, 200);
        b.clock.advance(Span::days(1) + Span::seconds(1));
        let a = srv.gql("{ __typename }", json!({}), Some(&short)).await;
        assert_eq!((a.status, a.body["errors"][0]["message"].as_str()), (401, Some("partner token has expired")));
    })
    .await;
}

#[tokio::test]
async fn issuing_tokens_is_for_admins_with_declared_scopes_and_an_expiry() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, person) = (srv.admin().await, srv.person().await);
        let p = partner(&srv, &admin, "数据处理方").await;
        for (scopes, days, field) in [
            (vec!["made:up"], 30, "scopes"),
            (vec![], 30, "scopes"),
            (vec!["notifications:send"], 0, "validDays"),
            (vec!["notifications:send"], 400, "validDays"),
        ] {
            let a =
                srv.gql(CREATE_TOKEN, json!({ "p": p, "n": "x", "s": scopes, "d": days }), Some(&admin.token)).await;
            assert_eq!(
                (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
                (Some("BAD_USER_INPUT"), Some(field))
            );
        }
        let a = srv
            .gql(CREATE_TOKEN, json!({ "p": p, "n": "x", "s": ["notifications:send"], "d": 30 }), Some(&person.token))
            .await;
        assert_eq!(a.code(), Some("FORBIDDEN"));
        assert_eq!(
            srv.gql(CREATE_PARTNER, json!({ "n": "冒名" }), Some(&person.token)).await.code(),
            Some("FORBIDDEN")
        );
        assert_eq!(
            srv.gql(CREATE_PARTNER, json!({ "n": "数据处理方" }), Some(&admin.token)).await.code(),
            Some("CONFLICT")
        );
    })
    .await;
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    on_each_backend(async |b| {
        let srv = b
            .start_with(|c| c.update(|s: &mut xqt_accounts::config::AccountsConfig| s.partner_requests_per_minute = 5))
            .await;
        let admin = srv.admin().await;
        let p = partner(&srv, &admin, "高频调用方").await;
        let (busy, _) = token(&srv, &admin, &p, &["notifications:send"], 30).await;
        let (calm, _) = token(&srv, &admin, &p, &["notifications:send"], 30).await;
        for i in 1..=5 {
            assert_eq!(srv.gql("{ __typename }", json!({}), Some(&busy)).await.status, 200, "request {i}");
        }
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .bearer_auth(&busy)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        let retry_after: i64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after));
        let a = TestServer::answer(resp).await;
        assert_eq!((a.status, a.code()), (429, Some("RATE_LIMITED")));
        assert_eq!(
            srv.gql("{ __typename }", json!({}), Some(&calm)).await.status,
            200,
            "another token is not affected"
        );
        b.clock.advance(Span::minutes(1));
        assert_eq!(srv.gql("{ __typename }", json!({}), Some(&busy)).await.status, 200, "a new minute");
    })
    .await;
}

/// A partner learns the scopes before asking for a token; an operator who names one that does
/// not exist is told the real ones; `xqt token revoke` in another process takes effect at the
/// next request on every setup, the embedded default included.
#[tokio::test]
async fn scopes_are_public_and_a_revocation_from_another_process_takes_effect_at_once() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.ok("{ scopes { id module description } }", json!({}), None).await;
        let scopes = a["scopes"].as_array().unwrap();
        let send = scopes.iter().find(|s| s["id"] == "notifications:send").expect("declared by notifications");
        assert_eq!(send["module"], "notifications");
        assert!(!send["description"].as_str().unwrap().is_empty());

        let admin = srv.admin().await;
        let p = partner(&srv, &admin, "学校教务系统").await;
        let a = srv
            .gql(CREATE_TOKEN, json!({ "p": p, "n": "x", "s": ["chat:everything"], "d": 30 }), Some(&admin.token))
            .await;
        let message = a.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("chat:everything") && message.contains("notifications:send"),
            "names the real scopes: {message}"
        );

        let (secret, listed) = token(&srv, &admin, &p, &["notifications:send"], 30).await;
        // Twice: the first use records it; the second finds the token's state as any later one would.
        for _ in 0..2 {
            assert_eq!(srv.gql("{ __typename }", json!({}), Some(&secret)).await.status, 200);
        }
        // `xqt token revoke` is another process: its own context on the same database (and Redis).
        let cli = b.context().await;
        let id = uuid::Uuid::parse_str(listed["id"].as_str().unwrap()).unwrap();
        assert!(xqt_accounts::partners::revoke(&cli, id).await.expect("revoked"));
        assert_eq!(srv.gql("{ __typename }", json!({}), Some(&secret)).await.status, 401, "at the next request");
    })
    .await;
}

#[tokio::test]
async fn a_partners_notification_names_the_partner_and_reaches_only_people_who_exist() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, person) = (srv.admin().await, srv.person().await);
        let p = partner(&srv, &admin, "某职业学院教务系统").await;
        let (sender, _) = token(&srv, &admin, &p, &["notifications:send"], 30).await;

        let a = srv.gql(SEND, json!({ "u": person.id }), Some(&sender)).await;
        assert!(a.body["data"]["sendNotification"]["id"].is_string(), "{:?}", a.body);
        let a = srv
            .gql(
                "mutation($u: ID!) { sendNotification(input: { userId: $u, title: \"平台公告\" }) { id } }",
                json!({ "u": person.id }),
                Some(&admin.token),
            )
            .await;
        assert!(a.body["data"]["sendNotification"]["id"].is_string(), "{:?}", a.body);
        let inbox = srv.ok("{ notifications { nodes { kind title sender } } }", json!({}), Some(&person.token)).await;
        let mut seen = inbox["notifications"]["nodes"].as_array().unwrap().clone();
        seen.sort_by_key(|n| n["title"].as_str().unwrap().to_owned());
        assert_eq!(
            seen,
            vec![
                json!({ "kind": "NOTICE", "title": "平台公告", "sender": null }),
                json!({ "kind": "PARTNER_MESSAGE", "title": "来自合作方", "sender": "某职业学院教务系统" }),
            ],
            "the partner's message is in its own kind and names the partner; the platform's names no one"
        );

        let forged = srv
            .gql(
                "mutation($u: ID!) { sendNotification(input: { userId: $u, kind: NOTICE, title: \"账号异常\" }) { id } }",
                json!({ "u": person.id }),
                Some(&sender),
            )
            .await;
        assert_eq!(
            (forged.code(), forged.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("kind"))
        );

        let nobody = uuid::Uuid::now_v7().to_string();
        let a = srv.gql(SEND, json!({ "u": nobody }), Some(&sender)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("NOT_FOUND"), Some("userId")),
            "{:?}",
            a.body
        );
        let a = srv.gql(SEND, json!({ "u": nobody }), Some(&admin.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "admins too: a notice to nobody is a mistake");
    })
    .await;
}
