//! What the job runner does for privacy: each category deleted when its period ends (SEC-2),
//! withdrawn consents' data deleted (RTS-3), children no guardian confirmed in time erased
//! (MIN-2).

use chrono::{Duration as Span, Utc};
use serde_json::json;
use xqt_accounts::users::AccountStatus;
use xqt_tests::{Person, TestServer, on_each_backend, run_jobs};

async fn with_analytics(srv: &TestServer, p: &Person) {
    srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
    let events = json!([{ "name": "page_view", "occurredAt": srv.ctx.clock.now().to_rfc3339() }]);
    let a = srv
        .gql(
            "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored } }",
            json!({ "e": events }),
            Some(&p.token),
        )
        .await;
    assert_eq!(a.body["data"]["recordAnalyticsEvents"]["stored"], 1, "{:?}", a.body);
}

async fn security_events(srv: &TestServer, p: &Person) -> usize {
    let export = srv.ctx.modules.export(&srv.ctx, p.id).await.unwrap();
    export["accounts"]["securityLog"].as_array().unwrap().len()
}

#[tokio::test]
async fn sec_2_the_runner_deletes_each_category_when_its_period_ends_and_not_before() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        with_analytics(&srv, &p).await;
        assert!(security_events(&srv, &p).await >= 1);

        b.clock.advance(Span::days(179));
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().any(|r| r.kind == "privacy.retention" && r.ok), "{ran:?}");
        assert_eq!(xqt_privacy::analytics::of(&srv.ctx, p.id).await.unwrap().len(), 1, "kept within its period");
        assert!(security_events(&srv, &p).await >= 1, "security log kept at least six months");

        b.clock.advance(Span::days(2));
        run_jobs(&srv.ctx).await;
        assert!(xqt_privacy::analytics::of(&srv.ctx, p.id).await.unwrap().is_empty(), "analytics: 180 days");
        assert_eq!(security_events(&srv, &p).await, 0, "security log: 180 days");
        assert_eq!(
            xqt_privacy::consent::records(&srv.ctx, p.id).await.unwrap().len(),
            3,
            "consent records (the two acceptances at sign-up, the grant) are kept three years"
        );
    })
    .await;
}

#[tokio::test]
async fn rts_3_a_withdrawal_stops_collection_at_once_and_the_runner_deletes_the_purposes_data() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (p, other) = (srv.person().await, srv.person().await);
        with_analytics(&srv, &p).await;
        with_analytics(&srv, &other).await;
        srv.ok("mutation { withdrawConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token))
            .await;
        let events = json!([{ "name": "page_view", "occurredAt": Utc::now().to_rfc3339() }]);
        let a = srv
            .gql(
                "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored dropped } }",
                json!({ "e": events }),
                Some(&p.token),
            )
            .await;
        assert_eq!(
            a.body["data"]["recordAnalyticsEvents"],
            json!({ "stored": 0, "dropped": 1 }),
            "collection stops at once"
        );
        assert_eq!(
            xqt_privacy::analytics::of(&srv.ctx, p.id).await.unwrap().len(),
            1,
            "deletion is queued, not yet run"
        );

        run_jobs(&srv.ctx).await;
        assert!(xqt_privacy::analytics::of(&srv.ctx, p.id).await.unwrap().is_empty());
        assert_eq!(
            xqt_privacy::analytics::of(&srv.ctx, other.id).await.unwrap().len(),
            1,
            "only the withdrawing person's"
        );
        let queued = xqt_privacy::consent::queued_erasures(&srv.ctx, p.id).await.unwrap();
        assert!(queued.iter().all(|q| q.completed_at.is_some()), "{queued:?}");
        assert!(run_jobs(&srv.ctx).await.iter().all(|r| r.kind != "privacy.erasure" || r.ok));
    })
    .await;
}

async fn child(srv: &TestServer) -> Person {
    let p = srv.person().await;
    let birth = (srv.ctx.clock.now() - Span::days(365 * 9)).date_naive();
    srv.ok(
        "mutation($d: NaiveDate!) { updateProfile(input: { birthDate: $d }) { id } }",
        json!({ "d": birth }),
        Some(&p.token),
    )
    .await;
    p
}

async fn status(srv: &TestServer, p: &Person) -> AccountStatus {
    xqt_accounts::users::find(&srv.ctx, p.id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn min_2_a_child_account_no_guardian_confirmed_in_time_is_erased() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.update(|s: &mut xqt_privacy::config::PrivacyConfig| s.guardian_confirm_days = 7)).await;
        let (late, confirmed) = (child(&srv).await, child(&srv).await);
        let guardian = xqt_tests::random_phone();
        srv.ok("mutation($g: String!) { requestGuardianCode(guardianPhone: $g) }", json!({ "g": guardian }), None).await;
        let code = srv.sms_code(&guardian).await;
        let a = srv.gql("mutation($g: String!, $c: String!) { confirmGuardianConsent(input: { guardianPhone: $g, code: $c, relationship: \"父亲\" }) { action } }", json!({ "g": guardian, "c": code }), Some(&confirmed.token)).await;
        assert_eq!(a.body["data"]["confirmGuardianConsent"]["action"], "GUARDIAN_GRANT", "{:?}", a.body);

        b.clock.advance(Span::days(6));
        let recent = child(&srv).await;
        run_jobs(&srv.ctx).await;
        assert_eq!(status(&srv, &late).await, AccountStatus::Active, "six days: still waiting for a guardian");

        b.clock.advance(Span::days(2));
        run_jobs(&srv.ctx).await;
        assert_eq!(status(&srv, &late).await, AccountStatus::Erased);
        assert_eq!(status(&srv, &confirmed).await, AccountStatus::Active);
        assert_eq!(status(&srv, &recent).await, AccountStatus::Active, "its seven days have not passed");
        let old_token = srv.token_valid_for(&late, Span::minutes(5));
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&old_token)).await.code(), Some("UNAUTHENTICATED"));
        let again = srv.sign_in(&late.phone).await;
        assert_ne!(again.id, late.id, "the phone now makes an unrelated account");
    })
    .await;
}
