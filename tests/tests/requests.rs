//! Privacy II, data-subject requests: access and correction (RTS-1), deletion (RTS-2), identity
//! proven by SMS before anything happens (RTS-5), deadlines in Chinese working days with overdue
//! requests flagged (RTS-6), a copy of everything behind a short-lived signed link (RTS-7,
//! COL-9), and refusals that give their reasons (RTS-8).

use chrono::{Duration as Span, TimeZone, Utc};
use serde_json::{Value, json};
use xqt_tests::{Answer, Person, TestServer, on_each_backend};

const SUBMIT: &str = "mutation($i: PrivacyRequestInput!) { submitPrivacyRequest(input: $i) { id kind state dueOn } }";
const VERIFY: &str = "mutation($id: ID!, $c: String!) { verifyPrivacyRequest(id: $id, code: $c) { id state dueOn workingDaysLeft response exportJsonUrl exportHtmlUrl exportExpiresAt } }";
const ACT: &str = "mutation($id: ID!, $a: PrivacyRequestAction!, $t: String) { actOnPrivacyRequest(id: $id, action: $a, text: $t) { state reason response reviewerId } }";
const MINE: &str = "{ myPrivacyRequests { id kind state reason response dueOn workingDaysLeft overdue } }";

async fn submit(srv: &TestServer, p: &Person, input: Value) -> Answer {
    srv.gql(SUBMIT, json!({ "i": input }), Some(&p.token)).await
}

/// Files a request and proves it with the code texted to the account's phone.
pub(crate) async fn filed_and_verified(srv: &TestServer, p: &Person, input: Value) -> Value {
    let a = submit(srv, p, input).await;
    let id = a.body["data"]["submitPrivacyRequest"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let code = srv.sms_code(&p.phone).await;
    let a = srv.gql(VERIFY, json!({ "id": id, "c": code }), Some(&p.token)).await;
    a.body["data"]["verifyPrivacyRequest"].clone()
}

#[tokio::test]
async fn rts_5_a_request_moves_past_identity_unverified_only_after_a_fresh_sms_code() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, p, stranger) = (srv.admin().await, srv.person().await, srv.person().await);
        b.clock.advance(Span::seconds(61));
        let a = submit(&srv, &p, json!({ "kind": "EXPLANATION", "description": "你们为什么需要我的出生日期？" })).await;
        let filed = &a.body["data"]["submitPrivacyRequest"];
        assert_eq!((filed["state"].as_str(), filed["dueOn"].as_str()), (Some("IDENTITY_UNVERIFIED"), None), "{:?}", a.body);
        let id = filed["id"].as_str().unwrap().to_owned();
        let code = srv.sms_code(&p.phone).await;

        assert_eq!(srv.gql(ACT, json!({ "id": id, "a": "START" }), Some(&admin.token)).await.code(), Some("CONFLICT"), "not before identity is proven");
        assert_eq!(srv.gql("{ privacyRequestQueue { id } }", json!({}), Some(&admin.token)).await.body["data"]["privacyRequestQueue"], json!([]));
        let a = srv.gql(VERIFY, json!({ "id": id, "c": "000000" }), Some(&p.token)).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"));
        let a = srv.gql(VERIFY, json!({ "id": id, "c": code }), Some(&stranger.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "someone else's request, someone else's code");

        let a = srv.gql(VERIFY, json!({ "id": id, "c": code }), Some(&p.token)).await;
        let verified = &a.body["data"]["verifyPrivacyRequest"];
        assert_eq!(verified["state"], "PENDING", "{:?}", a.body);
        assert!(verified["dueOn"].is_string());
        assert_eq!(srv.gql(VERIFY, json!({ "id": id, "c": code }), Some(&p.token)).await.code(), Some("CONFLICT"), "a code proves once");
        let a = srv.gql("{ privacyRequestQueue { id state userId } }", json!({}), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["privacyRequestQueue"], json!([{ "id": id, "state": "PENDING", "userId": p.id }]));

        // A second identical request while the first is open is a duplicate.
        let a = submit(&srv, &p, json!({ "kind": "EXPLANATION", "description": "你们为什么需要我的出生日期？" })).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["requestId"].as_str()), (Some("CONFLICT"), Some(id.as_str())));
        // Every transition is in the audit log.
        let audit = xqt_privacy::audit::list(&srv.ctx, Some(p.id), 50).await.unwrap();
        let steps: Vec<&str> = audit.iter().filter(|r| r.action == xqt_kernel::privacy::AuditAction::Request).filter_map(|r| r.reason.as_deref()).collect();
        assert_eq!(steps, ["identity_unverified → pending: identity verified by SMS code", "filed (identity_unverified)"]);
    })
    .await;
}

#[tokio::test]
async fn rts_6_requests_are_due_in_chinese_working_days_and_overdue_ones_are_flagged() {
    on_each_backend(async |b| {
        // Wednesday 30 September 2026, 10:00 in Beijing: National Day (1–7 October) and the
        // make-up Saturday (10 October) fall in the next five working days.
        b.clock.set(Utc.with_ymd_and_hms(2026, 9, 30, 2, 0, 0).unwrap());
        let srv = b.start().await;
        let (admin, p) = (srv.admin().await, srv.person().await);
        let r =
            filed_and_verified(&srv, &p, json!({ "kind": "CORRECTION", "description": "我的昵称被系统改错了" })).await;
        assert_eq!((r["dueOn"].as_str(), r["workingDaysLeft"].as_i64()), (Some("2026-10-13"), Some(5)), "{r}");

        b.clock.set(Utc.with_ymd_and_hms(2026, 10, 9, 2, 0, 0).unwrap());
        let admin_token = srv.token_valid_for(&admin, Span::minutes(10));
        let q = "{ privacyRequestQueue { id dueOn workingDaysLeft overdue reviewerId createdAt verifiedAt } }";
        let a = srv.gql(q, json!({}), Some(&admin_token)).await;
        let row = &a.body["data"]["privacyRequestQueue"][0];
        // Friday 9 October: Saturday 10 (a make-up workday), Monday 12 and Tuesday 13 are left.
        assert_eq!((row["workingDaysLeft"].as_i64(), row["overdue"].as_bool()), (Some(3), Some(false)), "{a:?}");

        b.clock.set(Utc.with_ymd_and_hms(2026, 10, 14, 2, 0, 0).unwrap());
        let admin_token = srv.token_valid_for(&admin, Span::minutes(10));
        let row = srv.gql(q, json!({}), Some(&admin_token)).await.body["data"]["privacyRequestQueue"][0].clone();
        assert_eq!((row["workingDaysLeft"].as_i64(), row["overdue"].as_bool()), (Some(-1), Some(true)), "{row}");
        assert!(row["createdAt"].is_string() && row["verifiedAt"].is_string() && row["reviewerId"].is_null());

        let a = srv.gql(ACT, json!({ "id": row["id"], "a": "START" }), Some(&admin_token)).await;
        assert_eq!(a.body["data"]["actOnPrivacyRequest"]["reviewerId"], admin.id.to_string());
        let a = srv
            .gql(ACT, json!({ "id": row["id"], "a": "COMPLETE", "t": "已更正为您提供的昵称" }), Some(&admin_token))
            .await;
        assert_eq!(a.body["data"]["actOnPrivacyRequest"]["state"], "COMPLETED");
        let mine = srv.gql(MINE, json!({}), Some(&srv.token_valid_for(&p, Span::minutes(10)))).await;
        let mine = &mine.body["data"]["myPrivacyRequests"][0];
        assert_eq!(
            (mine["response"].as_str(), mine["workingDaysLeft"].as_i64(), mine["overdue"].as_bool()),
            (Some("已更正为您提供的昵称"), None, Some(false))
        );
    })
    .await;
}

#[tokio::test]
async fn rts_8_a_refusal_needs_a_reason_and_the_person_is_told_it() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, p) = (srv.admin().await, srv.person().await);
        let r =
            filed_and_verified(&srv, &p, json!({ "kind": "COMPLAINT", "description": "客服泄露了我的手机号" })).await;
        let id = r["id"].clone();
        for text in [Value::Null, json!("  ")] {
            let a = srv.gql(ACT, json!({ "id": id, "a": "DENY", "t": text }), Some(&admin.token)).await;
            assert_eq!(
                (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
                (Some("BAD_USER_INPUT"), Some("text"))
            );
        }
        assert_eq!(
            srv.gql(ACT, json!({ "id": id, "a": "DENY", "t": "x" }), Some(&p.token)).await.code(),
            Some("FORBIDDEN"),
            "operators only"
        );
        let reason = "经核查，该手机号系您本人在公开页面填写，不属于泄露";
        let a = srv.gql(ACT, json!({ "id": id, "a": "DENY", "t": reason }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["actOnPrivacyRequest"]["state"], "DENIED", "{:?}", a.body);
        let mine = srv.gql(MINE, json!({}), Some(&p.token)).await;
        assert_eq!(
            (
                mine.body["data"]["myPrivacyRequests"][0]["state"].as_str(),
                mine.body["data"]["myPrivacyRequests"][0]["reason"].as_str()
            ),
            (Some("DENIED"), Some(reason))
        );
        let n = srv.gql("{ notifications { edges { node { kind body } } } }", json!({}), Some(&p.token)).await;
        let notice = &n.body["data"]["notifications"]["edges"][0]["node"];
        assert_eq!(notice["kind"], "PRIVACY_REQUEST_DENIED");
        assert!(notice["body"].as_str().unwrap().contains(reason));
        assert_eq!(
            srv.gql(ACT, json!({ "id": id, "a": "START" }), Some(&admin.token)).await.code(),
            Some("CONFLICT"),
            "closed stays closed"
        );
    })
    .await;
}

#[tokio::test]
async fn rts_2_a_deletion_request_erases_the_chosen_categories_through_every_module() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        srv.ok(
            "mutation { updateProfile(input: { nickname: \"要删掉的昵称\", gender: MALE }) { id } }",
            json!({}),
            Some(&p.token),
        )
        .await;
        srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
        let events = json!([{ "name": "page_view", "occurredAt": srv.ctx.clock.now().to_rfc3339() }]);
        srv.ok(
            "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored } }",
            json!({ "e": events }),
            Some(&p.token),
        )
        .await;

        let a = submit(&srv, &p, json!({ "kind": "DELETION", "categories": ["security_log"] })).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "the security log is kept six months by law");
        assert!(
            a.body["errors"][0]["extensions"]["deletable"].as_array().unwrap().contains(&json!("analytics_events"))
        );
        assert_eq!(submit(&srv, &p, json!({ "kind": "DELETION" })).await.code(), Some("BAD_USER_INPUT"));

        let r =
            filed_and_verified(&srv, &p, json!({ "kind": "DELETION", "categories": ["analytics_events", "profile"] }))
                .await;
        assert_eq!(r["state"], "COMPLETED", "{r}");
        assert!(r["response"].as_str().unwrap().contains("records deleted"));
        assert!(xqt_privacy::analytics::of(&srv.ctx, p.id).await.unwrap().is_empty());
        let me = srv.gql("{ me { nickname gender phone } }", json!({}), Some(&p.token)).await;
        assert_eq!(
            me.body["data"]["me"],
            json!({ "nickname": null, "gender": null, "phone": p.phone }),
            "the account itself stays"
        );
    })
    .await;
}

#[tokio::test]
async fn rts_7_an_access_request_yields_every_modules_data_behind_a_short_lived_link() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (admin, p, friend) = (srv.admin().await, srv.verified_person().await, srv.verified_person().await);
        srv.ok("mutation { updateProfile(input: { nickname: \"<b>小明</b>\" }) { id } }", json!({}), Some(&p.token))
            .await;
        let c = srv.gql("mutation($u: ID!) { openDirectConversation(userId: $u) { id } }", json!({ "u": friend.id }), Some(&p.token)).await;
        let c = c.body["data"]["openDirectConversation"]["id"].clone();
        srv.ok("mutation($c: ID!) { sendMessage(input: { conversationId: $c, clientMessageId: \"x-1\", kind: TEXT, text: \"导出我的聊天\" }) { id } }", json!({ "c": c }), Some(&p.token)).await;
        srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
        let events = json!([{ "name": "click:apply", "occurredAt": srv.ctx.clock.now().to_rfc3339() }]);
        srv.ok(
            "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored } }",
            json!({ "e": events }),
            Some(&p.token),
        )
        .await;

        let r = filed_and_verified(&srv, &p, json!({ "kind": "ACCESS" })).await;
        assert_eq!(r["state"], "COMPLETED", "{r}");
        let json_url = r["exportJsonUrl"].as_str().unwrap().to_owned();
        let html_url = r["exportHtmlUrl"].as_str().unwrap().to_owned();

        let resp = srv.http.get(srv.url(&json_url)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let archive: Value = resp.json().await.unwrap();
        let m = &archive["modules"];
        assert_eq!(m["accounts"]["profile"]["nickname"], "<b>小明</b>");
        assert_eq!(m["accounts"]["account"]["phone"], p.phone.as_str());
        assert!(!m["accounts"]["sessions"][0]["deviceModel"].is_null(), "device records (COL-9)");
        assert!(
            m["accounts"]["securityLog"].as_array().unwrap().iter().any(|e| e["kind"] == "sign_in"),
            "security log (COL-9)"
        );
        assert_eq!(m["privacy"]["analyticsEvents"][0]["name"], "click:apply", "analytics (COL-9)");
        let consents = m["privacy"]["consentRecords"].as_array().unwrap();
        assert!(consents.iter().any(|r| r["purpose"] == "analytics"), "consents: {consents:?}");
        assert!(consents.iter().any(|r| r["action"] == "accept_policy"), "what they accepted at sign-up");
        assert!(m["notifications"].is_object());
        assert_eq!(m["chat"]["conversations"][0]["id"], c, "the person's conversations");
        assert_eq!(m["chat"]["messages"][0]["body"], "导出我的聊天", "and what they said in them");
        let page = srv.http.get(srv.url(&html_url)).send().await.unwrap();
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = page.text().await.unwrap();
        assert!(page.contains("&lt;b&gt;小明&lt;/b&gt;") && !page.contains("<b>小明"), "escaped");

        // The link is the credential: a changed signature or another request's id opens nothing.
        let forged = json_url.replace("sig=", "sig=0");
        assert_eq!(srv.http.get(srv.url(&forged)).send().await.unwrap().status().as_u16(), 404);
        // Each download is audited; an operator never sees the link.
        let downloads = xqt_privacy::audit::list(&srv.ctx, Some(p.id), 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action == xqt_kernel::privacy::AuditAction::Download)
            .count();
        assert_eq!(downloads, 2);
        let q = srv.gql("{ privacyRequestQueue { exportJsonUrl } }", json!({}), Some(&admin.token)).await;
        assert_eq!(q.body["data"]["privacyRequestQueue"], json!([]), "completed requests leave the queue");
        // After a day the link is dead.
        b.clock.advance(Span::hours(25));
        let resp = srv.http.get(srv.url(&json_url)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 403);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["reason"], "LINK_EXPIRED", "{body}");
        let mine = srv
            .gql("{ myPrivacyRequests { exportJsonUrl } }", json!({}), Some(&srv.token_valid_for(&p, Span::minutes(5))))
            .await;
        assert_eq!(mine.body["data"]["myPrivacyRequests"][0]["exportJsonUrl"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn rts_1_the_person_sees_every_personal_field_unmasked_and_can_correct_each() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        let fields = "id phone username nickname gender birthDate hasPassword identityVerification { realName idNumber }";
        let id_number = xqt_tests::id_number(6998);
        srv.ok("mutation($n: String!) { submitIdentityVerification(realName: \"欧阳娜娜\", idNumber: $n) { id } }", json!({ "n": id_number }), Some(&p.token)).await;
        let a = srv
            .gql(
                &format!("mutation {{ updateProfile(input: {{ username: \"nana_ouyang\", nickname: \"娜娜\", gender: FEMALE, birthDate: \"2001-05-04\" }}) {{ {fields} }} }}"),
                json!({}),
                Some(&p.token),
            )
            .await;
        let me = &a.body["data"]["updateProfile"];
        assert_eq!(me["phone"], p.phone.as_str(), "unmasked to the person");
        assert_eq!((me["username"].as_str(), me["nickname"].as_str(), me["gender"].as_str(), me["birthDate"].as_str()), (Some("nana_ouyang"), Some("娜娜"), Some("FEMALE"), Some("2001-05-04")));
        assert_eq!(me["identityVerification"], json!({ "realName": "欧阳娜娜", "idNumber": id_number }));
        srv.ok("mutation { setPassword(newPassword: \"Nana#2026x\") }", json!({}), Some(&p.token)).await;
        b.clock.advance(Span::seconds(61));
        let new_phone = xqt_tests::random_phone();
        srv.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": new_phone }), None).await;
        let code = srv.sms_code(&new_phone).await;
        let a = srv.gql("mutation($p: String!, $c: String!) { changePhone(newPhone: $p, code: $c) { phone hasPassword } }", json!({ "p": new_phone, "c": code }), Some(&p.token)).await;
        assert_eq!(a.body["data"]["changePhone"], json!({ "phone": new_phone, "hasPassword": true }));
        let a = srv.gql(&format!("{{ me {{ {fields} }} }}"), json!({}), Some(&p.token)).await;
        assert_eq!(a.body["data"]["me"]["phone"], new_phone.as_str());
    })
    .await;
}

#[tokio::test]
async fn col_9_device_records_logs_and_analytics_linked_to_a_person_are_exported_and_erased_with_the_account() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&p.token)).await;
        let events = json!([{ "name": "page_view", "occurredAt": srv.ctx.clock.now().to_rfc3339() }]);
        srv.ok(
            "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored } }",
            json!({ "e": events }),
            Some(&p.token),
        )
        .await;
        let r = filed_and_verified(&srv, &p, json!({ "kind": "ACCESS" })).await;
        let archive: Value =
            srv.http.get(srv.url(r["exportJsonUrl"].as_str().unwrap())).send().await.unwrap().json().await.unwrap();
        let m = &archive["modules"];
        assert_eq!(m["accounts"]["sessions"][0]["deviceModel"], "TestPhone", "device records");
        assert_eq!(m["accounts"]["securityLog"][0]["os"], "TestOS 1", "sign-in log");
        assert_eq!(m["privacy"]["analyticsEvents"].as_array().unwrap().len(), 1, "analytics");
        // Erased with the account (the security log under its legal period, then purged).
        let everything = xqt_privacy::requests::deletable_categories(&srv.ctx).into_iter().map(str::to_owned).collect();
        srv.ctx.modules.erase(&srv.ctx, p.id, &xqt_kernel::module::Erasure::Categories(everything)).await.unwrap();
        let export = srv.ctx.modules.export(&srv.ctx, p.id).await.unwrap();
        assert!(export["privacy"]["analyticsEvents"].as_array().unwrap().is_empty());
        assert_eq!(export["accounts"]["account"]["phone"], Value::Null);
    })
    .await;
}
