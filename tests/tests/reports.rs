//! Reports and restrictions: filing (with evidence), review with reasons within 15 working days,
//! restrictions that take effect, and both as cancellation blockers.

use std::io::Cursor;

use chrono::{Duration as Span, TimeZone, Utc};
use serde_json::{Value, json};
use xqt_tests::{Person, TestServer, on_each_backend};

const REPORT: &str =
    "mutation($i: ReportInput!) { report(input: $i) { id state dueOn workingDaysLeft targetUserId evidenceUrl } }";
const REVIEW: &str = "mutation($id: ID!, $d: ReportDecision!, $r: String, $x: RestrictInput) { reviewReport(id: $id, decision: $d, reason: $r, restrict: $x) { state resolution } }";

async fn evidence(srv: &TestServer, who: &Person) -> Value {
    let img = image::RgbImage::from_pixel(12, 12, image::Rgb([1, 2, 3]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    let resp = srv
        .http
        .post(srv.url("/files?purpose=report_evidence"))
        .bearer_auth(&who.token)
        .body(out.into_inner())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.json().await.unwrap()
}

async fn blocker_codes(srv: &TestServer, user: uuid::Uuid) -> Vec<String> {
    srv.ctx.modules.cancellation_blockers(&srv.ctx, user).await.unwrap().into_iter().map(|(_, b)| b.code).collect()
}

#[tokio::test]
async fn reports_are_reviewed_with_reasons_and_an_upheld_one_restricts_the_account() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (reporter, target, admin) = (srv.person().await, srv.person().await, srv.admin().await);
        let file = evidence(&srv, &reporter).await;
        let input = json!({ "userId": target.id, "category": "FRAUD", "description": "冒充招聘方收取报名费", "evidenceFileId": file["id"] });
        let a = srv.gql(REPORT, json!({ "i": input }), Some(&reporter.token)).await;
        let filed = a.body["data"]["report"].clone();
        assert_eq!((filed["state"].as_str(), filed["workingDaysLeft"].as_i64()), (Some("OPEN"), Some(15)), "{:?}", a.body);
        assert_eq!(filed["targetUserId"], Value::Null, "the reporter's view does not echo ids");
        assert_eq!(filed["evidenceUrl"], file["url"]);
        let id = filed["id"].as_str().unwrap().to_owned();

        assert_eq!(srv.gql(REPORT, json!({ "i": input }), Some(&reporter.token)).await.code(), Some("CONFLICT"), "one open report per subject");
        let own = json!({ "userId": reporter.id, "category": "SPAM", "description": "举报我自己试试" });
        assert_eq!(srv.gql(REPORT, json!({ "i": own }), Some(&reporter.token)).await.code(), Some("BAD_USER_INPUT"));
        let bad = json!({ "userId": target.id, "category": "rude", "description": "分类不对的举报" });
        let refused = srv.gql(REPORT, json!({ "i": bad }), Some(&reporter.token)).await;
        assert_eq!(refused.code(), Some("GRAPHQL_VALIDATION_FAILED"), "a category outside the set");
        assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("ReportCategory"), "{:?}", refused.body);
        let foreign = json!({ "userId": admin.id, "category": "SPAM", "description": "用别人的证据图片", "evidenceFileId": file["id"] });
        assert_eq!(srv.gql(REPORT, json!({ "i": foreign }), Some(&target.token)).await.code(), Some("NOT_FOUND"), "evidence must be one's own upload");

        let queue = srv.gql("{ reportQueue { edges { node { id targetUserId workingDaysLeft } } } }", json!({}), Some(&admin.token)).await;
        assert_eq!(queue.body["data"]["reportQueue"]["edges"][0]["node"]["targetUserId"], target.id.to_string());
        let audited = xqt_privacy::audit::list(&srv.ctx, Some(target.id), 10).await.unwrap();
        assert_eq!(audited.first().map(|a| (a.resource.as_str(), a.actor_kind.as_str())), Some(("report_queue", "admin")), "the reviewer's read is audited");
        assert_eq!(srv.gql("{ reportQueue { edges { cursor } } }", json!({}), Some(&reporter.token)).await.code(), Some("FORBIDDEN"));
        assert_eq!(srv.gql(REVIEW, json!({ "id": id, "d": "DISMISS", "r": "x" }), Some(&target.token)).await.code(), Some("FORBIDDEN"));

        assert_eq!(srv.gql(REVIEW, json!({ "id": id, "d": "INVESTIGATE" }), Some(&admin.token)).await.body["data"]["reviewReport"]["state"], "INVESTIGATING");
        let a = srv.gql(REVIEW, json!({ "id": id, "d": "UPHOLD" }), Some(&admin.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "reason", "an outcome needs a reason");
        let restrict = json!({ "actions": ["CREATE_ORGANIZATION", "POST"], "days": 30 });
        let a = srv.gql(REVIEW, json!({ "id": id, "d": "UPHOLD", "r": "核实存在收费行为", "x": restrict }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["reviewReport"], json!({ "state": "UPHELD", "resolution": "核实存在收费行为" }));
        assert_eq!(srv.gql(REVIEW, json!({ "id": id, "d": "DISMISS", "r": "改主意" }), Some(&admin.token)).await.code(), Some("CONFLICT"));

        let mine = srv.gql("{ myReports { state resolution } }", json!({}), Some(&reporter.token)).await;
        assert_eq!(mine.body["data"]["myReports"], json!([{ "state": "UPHELD", "resolution": "核实存在收费行为" }]));
        let notes = srv.gql("{ notifications(first: 3) { edges { node { kind } } } }", json!({}), Some(&reporter.token)).await;
        assert_eq!(notes.body["data"]["notifications"]["edges"][0]["node"]["kind"], "REPORT_UPHELD");

        // The restriction is in force: the account may not create organisations for 30 days.
        let r = srv.gql("{ myRestrictions { actions reason } }", json!({}), Some(&target.token)).await;
        assert_eq!(r.body["data"]["myRestrictions"], json!([{ "actions": ["CREATE_ORGANIZATION", "POST"], "reason": "核实存在收费行为" }]));
        let create = "mutation { createOrganization(kind: ENTERPRISE, input: { name: \"新公司\" }) { id } }";
        let a = srv.gql(create, json!({}), Some(&target.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("FORBIDDEN"), Some("RESTRICTED")));
        b.clock.advance(Span::days(31));
        let fresh = srv.token_valid_for(&target, Span::minutes(15));
        assert!(srv.gql(create, json!({}), Some(&fresh)).await.body["data"]["createOrganization"]["id"].is_string(), "it ended");
    })
    .await;
}

#[tokio::test]
async fn open_reports_and_restrictions_block_cancellation_and_nothing_else_does() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (reporter, target, admin) = (srv.person().await, srv.person().await, srv.admin().await);
        assert_eq!(blocker_codes(&srv, target.id).await, Vec::<String>::new(), "nothing blocks a plain account");
        let a = srv
            .gql(
                REPORT,
                json!({ "i": { "userId": target.id, "category": "HARASSMENT", "description": "多次发送骚扰消息" } }),
                Some(&reporter.token),
            )
            .await;
        let id = a.body["data"]["report"]["id"].as_str().unwrap().to_owned();
        assert_eq!(blocker_codes(&srv, target.id).await, ["open_report"]);
        assert_eq!(
            blocker_codes(&srv, reporter.id).await,
            ["open_report_filed"],
            "M 附件一: 投诉举报或被投诉举报 — the one who filed it waits for it too"
        );

        srv.ok(REVIEW, json!({ "id": id, "d": "DISMISS", "r": "证据不足" }), Some(&admin.token)).await;
        assert_eq!(blocker_codes(&srv, target.id).await, Vec::<String>::new());

        let a = srv
            .gql(
                REPORT,
                json!({ "i": { "userId": target.id, "category": "HARASSMENT", "description": "再次发送骚扰消息" } }),
                Some(&reporter.token),
            )
            .await;
        let id = a.body["data"]["report"]["id"].as_str().unwrap().to_owned();
        srv.ok(
            REVIEW,
            json!({ "id": id, "d": "UPHOLD", "r": "属实", "x": { "actions": ["CHAT"] } }),
            Some(&admin.token),
        )
        .await;
        assert_eq!(blocker_codes(&srv, target.id).await, ["restricted"], "until lifted");
        let r = srv.ctx.modules.cancellation_blockers(&srv.ctx, target.id).await.unwrap();
        assert!(r[0].1.description.contains("chat") && r[0].1.description.contains("until lifted"), "{:?}", r);
        let rid = xqt_accounts::reports::active_restrictions(&srv.ctx, target.id).await.unwrap()[0].id;
        let a =
            srv.gql("mutation($id: ID!) { liftRestriction(id: $id) }", json!({ "id": rid }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["liftRestriction"], true);
        assert_eq!(blocker_codes(&srv, target.id).await, Vec::<String>::new());
    })
    .await;
}

#[tokio::test]
async fn the_deadline_counts_chinese_working_days_across_golden_week() {
    on_each_backend(async |b| {
        // Filed on Wednesday 2026-09-30 (China time): 10-01…10-07 are holidays, Saturday 10-10 is a workday.
        b.clock.set(Utc.with_ymd_and_hms(2026, 9, 30, 2, 0, 0).unwrap());
        let srv = b.start().await;
        let (reporter, target) = (srv.person().await, srv.person().await);
        let a = srv
            .gql(
                REPORT,
                json!({ "i": { "userId": target.id, "category": "SPAM", "description": "群发广告信息" } }),
                Some(&reporter.token),
            )
            .await;
        assert_eq!(a.body["data"]["report"]["dueOn"], "2026-10-27", "{:?}", a.body);
        assert_eq!(a.body["data"]["report"]["workingDaysLeft"], 15);
    })
    .await;
}
