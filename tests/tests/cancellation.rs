//! Account cancellation exactly as M 附件一 says: a pre-check of what blocks it and nothing else
//! (CAN-1), a dispute arising meanwhile halts it (CAN-2), afterwards nothing can be retrieved and
//! a new account on the same phone shares nothing (CAN-3), sign-in, tokens, profile and history
//! are gone (CAN-4), and what the law keeps stays under hold until its period ends (CAN-5).

use chrono::Duration as Span;
use serde_json::{Value, json};
use xqt_tests::{Person, TestServer, hex_of, on_each_backend, run_jobs, search_everywhere};

const SUBMIT: &str = "mutation { submitPrivacyRequest(input: { kind: CANCELLATION }) { id state } }";
const VERIFY: &str = "mutation($id: ID!, $c: String!) { verifyPrivacyRequest(id: $id, code: $c) { id state dueOn } }";
const PRECHECK: &str = "{ cancellationPrecheck { module code description dueOn } }";

async fn report(srv: &TestServer, by: &Person, target: &Person) -> String {
    let a = srv
        .gql(
            "mutation($u: ID!) { report(input: { userId: $u, category: FRAUD, description: \"冒充企业招聘\" }) { id } }",
            json!({ "u": target.id }),
            Some(&by.token),
        )
        .await;
    a.body["data"]["report"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned()
}

/// Files the cancellation and proves it; returns the request.
async fn requested(srv: &TestServer, p: &Person) -> Value {
    let a = srv.gql(SUBMIT, json!({}), Some(&p.token)).await;
    let id = a.body["data"]["submitPrivacyRequest"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let code = srv.sms_code(&p.phone).await;
    srv.gql(VERIFY, json!({ "id": id, "c": code }), Some(&p.token)).await.body["data"]["verifyPrivacyRequest"].clone()
}

async fn state(srv: &TestServer, p: &Person) -> Value {
    let token = srv.token_valid_for(p, Span::minutes(5));
    srv.gql("{ myPrivacyRequests { state reason } }", json!({}), Some(&token)).await.body["data"]["myPrivacyRequests"]
        [0]
    .clone()
}

#[tokio::test]
async fn can_1_the_precheck_lists_exactly_what_blocks_cancellation_and_nothing_else() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, p, reporter) = (srv.admin().await, srv.verified_person().await, srv.person().await);
        // Owning an organisation, verification, consents: none of these block cancellation.
        srv.ok("mutation { createOrganization(kind: SCHOOL, input: { name: \"我的学校\" }) { id } }", json!({}), Some(&p.token)).await;
        srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
        assert_eq!(srv.gql(PRECHECK, json!({}), Some(&p.token)).await.body["data"]["cancellationPrecheck"], json!([]));

        let report_id = report(&srv, &reporter, &p).await;
        let a = srv.gql(PRECHECK, json!({}), Some(&p.token)).await;
        let blockers = a.body["data"]["cancellationPrecheck"].as_array().unwrap().clone();
        assert_eq!(blockers.len(), 1, "{blockers:?}");
        assert_eq!((blockers[0]["module"].as_str(), blockers[0]["code"].as_str()), (Some("accounts"), Some("open_report")));
        let a = srv.gql(SUBMIT, json!({}), Some(&p.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("CONFLICT"), Some("CANCELLATION_BLOCKED")));
        assert_eq!(a.body["errors"][0]["extensions"]["blockers"][0]["code"], "open_report");
        let due = blockers[0]["dueOn"].as_str().expect("a report is handled by a date").to_owned();
        assert!(due > srv.ctx.clock.now().format("%Y-%m-%d").to_string(), "{due}");
        // 附件一: "投诉举报或被投诉举报" — the one who filed it waits for it too, until the same date.
        let a = srv.gql(PRECHECK, json!({}), Some(&reporter.token)).await;
        assert_eq!(
            a.body["data"]["cancellationPrecheck"],
            json!([{ "module": "accounts", "code": "open_report_filed", "description": a.body["data"]["cancellationPrecheck"][0]["description"], "dueOn": due }]),
            "{:?}",
            a.body
        );

        // Upheld with a restriction: the restriction is what blocks now.
        let a = srv.gql("mutation($id: ID!) { reviewReport(id: $id, decision: UPHOLD, reason: \"查实\", restrict: { actions: [POST], days: 30 }) { state } }", json!({ "id": report_id }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["reviewReport"]["state"], "UPHELD", "{:?}", a.body);
        let codes: Vec<Value> = srv.gql(PRECHECK, json!({}), Some(&p.token)).await.body["data"]["cancellationPrecheck"].as_array().unwrap().iter().map(|b| b["code"].clone()).collect();
        assert_eq!(codes, [json!("restricted")]);
        let restricted = &srv.gql(PRECHECK, json!({}), Some(&p.token)).await.body["data"]["cancellationPrecheck"][0];
        assert!(restricted["dueOn"].is_string(), "a 30-day restriction ends on a date: {restricted}");
        let a = srv.gql(PRECHECK, json!({}), Some(&reporter.token)).await;
        assert_eq!(a.body["data"]["cancellationPrecheck"], json!([]), "handled: the reporter is free to go");
    })
    .await;
}

#[tokio::test]
async fn can_2_a_report_filed_while_the_request_is_open_puts_it_on_hold_with_the_reason() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, p, reporter) = (srv.admin().await, srv.person().await, srv.person().await);
        let r = requested(&srv, &p).await;
        assert_eq!(r["state"], "PENDING", "{r}");
        let report_id = report(&srv, &reporter, &p).await;
        b.clock.advance(Span::days(8));
        run_jobs(&srv.ctx).await;
        let now = state(&srv, &p).await;
        assert_eq!(now["state"], "ON_HOLD", "halted, not carried out");
        assert!(now["reason"].as_str().unwrap().contains("fraud"), "{now}");
        assert_eq!(
            xqt_accounts::users::find(&srv.ctx, p.id).await.unwrap().unwrap().status,
            xqt_accounts::users::AccountStatus::Active
        );

        // The dispute is settled: the cancellation goes ahead.
        let admin_token = srv.token_valid_for(&admin, Span::minutes(5));
        srv.ok(
            "mutation($id: ID!) { reviewReport(id: $id, decision: DISMISS, reason: \"不成立\") { state } }",
            json!({ "id": report_id }),
            Some(&admin_token),
        )
        .await;
        // The runner passes over cancellations once a minute.
        b.clock.advance(Span::seconds(61));
        run_jobs(&srv.ctx).await;
        assert_eq!(state(&srv, &p).await["state"], "PENDING");
        b.clock.advance(Span::seconds(61));
        run_jobs(&srv.ctx).await;
        assert_eq!(
            state(&srv, &p).await["state"],
            Value::Null,
            "carried out: the account and its requests are gone from reach"
        );
        assert_eq!(
            xqt_accounts::users::find(&srv.ctx, p.id).await.unwrap().unwrap().status,
            xqt_accounts::users::AccountStatus::Erased
        );
    })
    .await;
}

/// A person with a profile, a consent, an organisation, a chat with a friend and a push device
/// who cancels: filed, proven, and carried out by the runner after the cooling-off. Checks the
/// 15-working-day deadline and that nothing happens during the cooling-off. Returns the person,
/// the friend and their conversation.
async fn cancelled(b: &xqt_tests::Backend, srv: &TestServer) -> (Person, Person, String) {
    let p = srv.verified_person().await;
    let friend = srv.verified_person().await;
    let c = srv
        .gql(
            "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }",
            json!({ "u": friend.id }),
            Some(&p.token),
        )
        .await;
    let c = c.body["data"]["openDirectConversation"]["id"].as_str().unwrap().to_owned();
    let said = srv
        .gql("mutation($c: ID!) { sendMessage(input: { conversationId: $c, clientMessageId: \"old-1\", kind: TEXT, text: \"旧消息内容\" }) { id } }", json!({ "c": c }), Some(&p.token))
        .await;
    assert!(said.body["errors"].is_null(), "{:?}", said.body);
    srv.ok("mutation { grantConsent(input: { purpose: \"push_notifications\" }) { id } }", json!({}), Some(&p.token))
        .await;
    let device = srv
        .gql(
            "mutation { registerPushDevice(platform: HUAWEI, token: \"old-push-token-0001\") { id } }",
            json!({}),
            Some(&p.token),
        )
        .await;
    assert!(device.body["errors"].is_null(), "{:?}", device.body);
    srv.ok(
        "mutation { updateProfile(input: { nickname: \"旧昵称\", username: \"old_name\" }) { id } }",
        json!({}),
        Some(&p.token),
    )
    .await;
    srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
    srv.ok(
        "mutation { createOrganization(kind: ENTERPRISE, input: { name: \"旧公司\" }) { id } }",
        json!({}),
        Some(&p.token),
    )
    .await;

    let r = requested(srv, &p).await;
    assert_eq!(r["state"], "PENDING");
    let due = chrono::NaiveDate::parse_from_str(r["dueOn"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let today = xqt_kernel::clock::china_date(srv.ctx.clock.now());
    assert_eq!(srv.ctx.calendar.working_days_between(today, due), 15, "due in 15 working days");

    // Cooling-off: nothing happens for a week, and the person could still withdraw.
    b.clock.advance(Span::days(6));
    run_jobs(&srv.ctx).await;
    assert_eq!(state(srv, &p).await["state"], "PENDING");
    b.clock.advance(Span::days(2));
    run_jobs(&srv.ctx).await;
    (p, friend, c)
}

#[tokio::test]
async fn rts_4_a_person_cancels_their_own_account_and_the_runner_carries_it_out() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (p, ..) = cancelled(b, &srv).await;
        assert_eq!(
            xqt_accounts::users::find(&srv.ctx, p.id).await.unwrap().unwrap().status,
            xqt_accounts::users::AccountStatus::Erased
        );
        let done = xqt_privacy::requests::find(&srv.ctx, uuid_of(&srv, &p).await).await.unwrap().unwrap();
        assert_eq!(done.state, xqt_privacy::requests::RequestState::Completed);
        assert!(done.response.unwrap().contains("账号已注销"));
    })
    .await;
}

async fn uuid_of(srv: &TestServer, p: &Person) -> uuid::Uuid {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use xqt_privacy::entity::privacy_request as r;
    r::Entity::find().filter(r::Column::UserId.eq(p.id)).one(&srv.ctx.db).await.unwrap().unwrap().id
}

#[tokio::test]
async fn can_4_sign_in_tokens_profile_and_history_are_gone_at_once() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (p, friend, c) = cancelled(b, &srv).await;
        let token = srv.token_valid_for(&p, Span::minutes(5));
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&token)).await.code(), Some("UNAUTHENTICATED"));
        let refresh = srv
            .gql(
                "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
                json!({ "t": p.refresh_token }),
                None,
            )
            .await;
        assert_eq!(refresh.code(), Some("UNAUTHENTICATED"));
        let old = xqt_accounts::users::find(&srv.ctx, p.id).await.unwrap().unwrap();
        assert_eq!(
            (old.status, old.phone_hash, old.phone_sealed, old.nickname, old.username, old.avatar_file_id),
            (xqt_accounts::users::AccountStatus::Erased, None, None, None, None, None)
        );
        // What any module still holds: an anonymous shell and, under legal hold, the security log.
        let export = srv.ctx.modules.export(&srv.ctx, p.id).await.unwrap();
        let accounts = &export["accounts"];
        assert_eq!(
            (accounts["account"]["phone"].clone(), accounts["account"]["status"].clone()),
            (Value::Null, json!("erased"))
        );
        assert_eq!(
            accounts["profile"],
            json!({ "username": null, "nickname": null, "gender": null, "birthDate": null, "hasPassword": false })
        );
        for gone in ["identityVerifications", "memberships", "uploads", "smsMessages"] {
            assert_eq!(accounts[gone], json!([]), "{gone}");
        }
        assert!(export["privacy"]["analyticsEvents"].as_array().unwrap().is_empty());
        assert_eq!(export["chat"], json!({ "conversations": [], "membershipChanges": [], "messages": [], "attachments": [], "calls": [] }));
        assert_eq!(export["notifications"]["pushDevices"], json!([]), "the push token went with the account");
        // The friend keeps the conversation's shape, not the content or the author.
        let h = srv
            .gql("query($c: ID!) { messages(conversationId: $c) { edges { node { seq senderId senderName text } } } conversation(id: $c) { members { userId } } }", json!({ "c": c }), Some(&srv.token_valid_for(&friend, Span::minutes(5))))
            .await;
        assert_eq!(h.body["data"]["messages"]["edges"], json!([{ "node": { "seq": 1, "senderId": null, "senderName": "已注销用户", "text": null } }]));
        assert_eq!(h.body["data"]["conversation"]["members"], json!([{ "userId": friend.id.to_string() }]));
    })
    .await;
}

#[tokio::test]
async fn can_3_nothing_can_be_retrieved_and_the_same_phone_makes_an_unrelated_account() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (p, ..) = cancelled(b, &srv).await;
        // Every table, every column: the old identifiers appear nowhere outside legal hold.
        let hash = xqt_accounts::phone::Phone::parse(&p.phone).unwrap().lookup_hash(&srv.ctx);
        // (The organisation the person created stays, without them: it is the organisation's.)
        let found = search_everywhere(&srv, &["旧昵称", "old_name", &p.phone, &hex_of(&hash), "测试人", "test-device", "旧消息内容", "old-push-token-0001"]).await;
        let held = ["sessions", "security_events"]; // the security log, held six months
        let outside: Vec<_> = found.iter().filter(|(table, _)| !held.contains(&table.as_str())).collect();
        assert!(outside.is_empty(), "left behind outside legal hold: {outside:?}");
        assert!(found.iter().all(|(_, n)| n == "test-device"), "the held log has device records only: {found:?}");

        b.clock.advance(Span::seconds(61));
        let again = srv.sign_in(&p.phone).await;
        assert_ne!(again.id, p.id);
        let a = srv.gql("{ me { nickname username verified } myOrganizations { role } myConsents { purpose } conversations { edges { cursor } } pushDevices { id } }", json!({}), Some(&again.token)).await;
        assert_eq!(a.body["data"], json!({ "me": { "nickname": null, "username": null, "verified": false }, "myOrganizations": [], "myConsents": [], "conversations": { "edges": [] }, "pushDevices": [] }));
    })
    .await;
}

#[tokio::test]
async fn can_5_records_the_law_requires_stay_under_hold_until_their_period_ends() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (p, ..) = cancelled(b, &srv).await;
        let export = srv.ctx.modules.export(&srv.ctx, p.id).await.unwrap();
        assert!(!export["accounts"]["securityLog"].as_array().unwrap().is_empty(), "security log held");
        assert_eq!(
            xqt_privacy::consent::records(&srv.ctx, p.id).await.unwrap().len(),
            4,
            "consent proof kept (the two acceptances at sign-up, analytics, push)"
        );
        assert!(xqt_privacy::audit::verify(&srv.ctx).await.unwrap().iter().all(|r| r.ok()));
        // Out of the person's reach: they cannot sign in, and their phone leads elsewhere.
        b.clock.advance(Span::seconds(61));
        let again = srv.sign_in(&p.phone).await;
        let a = srv.gql("{ mySecurityLog { edges { node { kind } } } }", json!({}), Some(&again.token)).await;
        assert_eq!(
            a.body["data"]["mySecurityLog"]["edges"].as_array().unwrap().len(),
            1,
            "only the new account's sign-in"
        );
        b.clock.advance(Span::days(181));
        run_jobs(&srv.ctx).await;
        let export = srv.ctx.modules.export(&srv.ctx, p.id).await.unwrap();
        assert_eq!(export["accounts"]["securityLog"], json!([]), "purged when its six months end");
    })
    .await;
}
