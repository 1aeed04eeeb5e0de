//! POL-4: ceasing operation stops collection at once, tells every user, and erases everyone's
//! data (what the law keeps for a period stays until it ends).

use serde_json::json;
use xqt_tests::{on_each_backend, random_phone, run_jobs};

#[tokio::test]
async fn pol_4_ceasing_operation_stops_collection_tells_everyone_and_erases_everyone() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, p, q) = (srv.admin().await, srv.person().await, srv.person().await);
        srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
        let newcomer = random_phone();

        let done =
            xqt_privacy::ceasing::cease(&srv.ctx, "校企通将于 2026 年 12 月 31 日停止运营，届时删除全部个人信息。")
                .await
                .unwrap();
        assert!(done.newly);
        assert_eq!((done.notified, done.erasures_queued), (3, 3));

        // Collection stops at once: no events, no profile changes, no new accounts.
        let events = json!([{ "name": "page_view", "occurredAt": srv.ctx.clock.now().to_rfc3339() }]);
        let a = srv
            .gql(
                "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored dropped } }",
                json!({ "e": events }),
                Some(&p.token),
            )
            .await;
        assert_eq!(a.body["data"]["recordAnalyticsEvents"], json!({ "stored": 0, "dropped": 1 }));
        let a = srv
            .gql("mutation { updateProfile(input: { nickname: \"还想改\" }) { id } }", json!({}), Some(&q.token))
            .await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()),
            (Some("FORBIDDEN"), Some("SERVICE_CEASED"))
        );
        let a = srv.upload(&q, "?purpose=avatar", xqt_tests::jpeg(16, 16)).await;
        assert_eq!(
            (a.status, a.body["errors"][0]["extensions"]["reason"].as_str()),
            (403, Some("SERVICE_CEASED")),
            "uploads collect too: {:?}",
            a.body
        );
        srv.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": newcomer }), None).await;
        let code = srv.sms_code(&newcomer).await;
        let a = srv
            .gql(
                "mutation($p: String!, $c: String!) { signInWithCode(input: { phone: $p, code: $c }) { accessToken } }",
                json!({ "p": newcomer, "c": code }),
                None,
            )
            .await;
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "SERVICE_CEASED", "{:?}", a.body);

        // Everyone is told, and can still read it and exercise their rights.
        for person in [&admin, &p, &q] {
            let a = srv.gql("{ notifications { edges { node { kind body } } } }", json!({}), Some(&person.token)).await;
            let kinds: Vec<&str> = a.body["data"]["notifications"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["node"]["kind"].as_str())
                .collect();
            assert!(kinds.contains(&"SERVICE_CEASED"), "{:?}", a.body);
        }
        let a = srv
            .gql("mutation { submitPrivacyRequest(input: { kind: ACCESS }) { state } }", json!({}), Some(&p.token))
            .await;
        assert_eq!(a.body["data"]["submitPrivacyRequest"]["state"], "IDENTITY_UNVERIFIED", "{:?}", a.body);

        // The runner erases everyone; their tokens stop working.
        run_jobs(&srv.ctx).await;
        for person in [&admin, &p, &q] {
            assert_eq!(
                xqt_accounts::users::find(&srv.ctx, person.id).await.unwrap().unwrap().status,
                xqt_accounts::users::AccountStatus::Erased
            );
            assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&person.token)).await.code(), Some("UNAUTHENTICATED"));
        }
        let again = xqt_privacy::ceasing::cease(&srv.ctx, "重复执行").await.unwrap();
        assert_eq!(
            (again.newly, again.notified, again.erasures_queued),
            (false, 0, 0),
            "running it again changes nothing"
        );
    })
    .await;
}
