//! SEC-7: an incident is recorded with the PIPL Art. 57 fields, each affected person is told
//! in-app with all of them (once), a public notice covers those who cannot be reached, and the
//! report to the regulator is kept.

use serde_json::{Value, json};
use xqt_tests::on_each_backend;

fn incident(occurred_at: &str) -> Value {
    json!({
        "title": "简历附件存储桶配置错误", "whatHappened": "一个存储桶被错误设为公开读取约 3 小时",
        "dataTypes": "简历附件中的姓名、手机号", "cause": "运维变更未经复核", "impact": "附件可能被未授权下载",
        "measures": "已恢复私有权限并轮换访问密钥", "advice": "警惕冒充招聘方的来电与短信",
        "remedies": "为受影响用户提供一年期号码保护服务", "contact": "隐私保护负责人 privacy@example.com",
        "occurredAt": occurred_at,
    })
}

#[tokio::test]
async fn sec_7_an_incident_reaches_each_affected_person_with_every_field_and_is_published_and_reported() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (hit, also_hit, spared) = (srv.person().await, srv.person().await, srv.person().await);
        let record = "mutation($i: IncidentInput!) { recordIncident(input: $i) { id title } }";
        let when = (srv.ctx.clock.now() - chrono::Duration::hours(5)).to_rfc3339();

        let mut missing = incident(&when);
        missing["advice"] = json!(" ");
        let a = srv.gql(record, json!({ "i": missing }), Some(&admin.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("advice")));
        assert_eq!(srv.gql(record, json!({ "i": incident(&when) }), Some(&hit.token)).await.code(), Some("FORBIDDEN"));
        let a = srv.gql(record, json!({ "i": incident(&when) }), Some(&admin.token)).await;
        let id = a.body["data"]["recordIncident"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();

        let notify = "mutation($id: ID!, $u: [ID!]!) { notifyIncident(id: $id, userIds: $u) }";
        let a = srv.gql(notify, json!({ "id": id, "u": [hit.id, also_hit.id] }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["notifyIncident"], 2, "{:?}", a.body);
        let a = srv.gql(notify, json!({ "id": id, "u": [hit.id] }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["notifyIncident"], 0, "each person is told once");
        let q = "{ notifications { edges { node { kind title body } } } }";
        for p in [&hit, &also_hit] {
            let a = srv.gql(q, json!({}), Some(&p.token)).await;
            let notice = a.body["data"]["notifications"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["kind"] == "PRIVACY_INCIDENT").expect("told").clone();
            let body = notice["node"]["body"].as_str().unwrap();
            for part in ["一个存储桶被错误设为公开读取", "简历附件中的姓名", "运维变更未经复核", "附件可能被未授权下载", "已恢复私有权限", "警惕冒充招聘方", "号码保护服务", "privacy@example.com"] {
                assert!(body.contains(part), "the notice says {part}: {body}");
            }
        }
        for p in [&hit, &also_hit] {
            let pushed = xqt_notifications::push::sent_to(&srv.ctx, p.id).await.unwrap();
            assert_eq!(pushed.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(), ["privacy.incident"], "and by push, once");
            assert!(pushed[0].title.contains("简历附件存储桶配置错误"));
        }
        assert!(xqt_notifications::push::sent_to(&srv.ctx, spared.id).await.unwrap().is_empty());
        let a = srv.gql(q, json!({}), Some(&spared.token)).await;
        assert!(!a.body.to_string().contains("PRIVACY_INCIDENT"), "only the affected are told");

        assert_eq!(srv.gql("{ incidentNotices { title } }", json!({}), None).await.body["data"]["incidentNotices"], json!([]));
        let publish = "mutation($id: ID!) { publishIncidentNotice(id: $id, notice: \"关于简历附件存储桶配置错误的公告……\") { publicNoticeAt } }";
        srv.ok(publish, json!({ "id": id }), Some(&admin.token)).await;
        let a = srv.gql("{ incidentNotices { title notice contact } }", json!({}), None).await;
        assert_eq!(a.body["data"]["incidentNotices"], json!([{ "title": "简历附件存储桶配置错误", "notice": "关于简历附件存储桶配置错误的公告……", "contact": "隐私保护负责人 privacy@example.com" }]));

        let report = "mutation($id: ID!, $t: DateTime!) { recordRegulatorReport(id: $id, authority: \"省网信办\", reference: \"网信报〔2026〕17号\", reportedAt: $t) { regulatorAuthority regulatorReference } }";
        srv.ok(report, json!({ "id": id, "t": srv.ctx.clock.now().to_rfc3339() }), Some(&admin.token)).await;
        let a = srv.gql("{ incidents { id notifiedCount regulatorAuthority regulatorReference publicNotice } }", json!({}), Some(&admin.token)).await;
        let kept = &a.body["data"]["incidents"][0];
        assert_eq!((kept["notifiedCount"].as_u64(), kept["regulatorAuthority"].as_str(), kept["regulatorReference"].as_str()), (Some(2), Some("省网信办"), Some("网信报〔2026〕17号")));
    })
    .await;
}
