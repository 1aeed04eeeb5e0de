//! Cooperation end to end: an enterprise posts an internship, a school finds it by Chinese
//! keyword and nearby, applies, both sides accept and see each other's contacts in a new
//! conversation, a programme is agreed with a student, and the agreement is signed through the
//! real e签宝 client against a local e签宝 that checks every signature — then every refusal.

use std::sync::Arc;

use chrono::Duration as Span;
use serde_json::{Value, json};
use xqt_tests::cooperation::*;
use xqt_tests::esign::{self, FakeEsign};
use xqt_tests::{Person, TestServer, on_each_backend};

const SEARCH: &str = "query($f: PostFilter, $s: PostSort, $n: Int, $a: String) { posts(filter: $f, sort: $s, first: $n, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { node { id title kind } } } }";
const NEARBY: &str = "query($lat: Float!, $lng: Float!, $r: Float) { nearbyPosts(latitude: $lat, longitude: $lng, radiusKm: $r) { edges { node { id title distanceKm distanceBand } } } }";
const GRANT: &str = "mutation($p: String!) { grantConsent(input: { purpose: $p }) { id } }";
const WITHDRAW: &str = "mutation($p: String!) { withdrawConsent(input: { purpose: $p }) { action } }";
const CONTACT: &str = "query($i: ID!) { application(id: $i) { state contact { name phone organization { name } } } }";
const PRECHECK: &str = "{ cancellationPrecheck { module code } }";

fn titles(a: &xqt_tests::Answer, field: &str) -> Vec<String> {
    a.body["data"][field]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", a.body))
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn post_callback(srv: &TestServer, body: &Value, timestamp_ms: i64, secret: &str) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut req = srv.http.post(srv.url("/webhooks/esign")).header("Content-Type", "application/json");
    for (k, v) in FakeEsign::callback_headers(&bytes, timestamp_ms, secret) {
        req = req.header(k, v);
    }
    let resp = req.body(bytes).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn agreement_notices(srv: &TestServer, _p: &Person) -> impl std::future::Future<Output = usize> {
    let ctx = srv.ctx.clone();
    let user = _p.id;
    async move {
        xqt_notifications::inbox::all_for(&ctx, user)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.kind == xqt_notifications::NotificationKind::AgreementUpdated && n.title.contains("签署完成"))
            .count()
    }
}

#[tokio::test]
async fn cooperation_the_whole_lifecycle_from_an_internship_post_to_a_signed_agreement() {
    on_each_backend(async |b| {
        let provider = FakeEsign::start().await;
        let srv = b.start_with(|c| esign::configure(c, &provider.url())).await;
        let mut events = srv.ctx.bus.subscribe(xqt_cooperation::events::TOPIC).await.unwrap();
        let s = sides(&srv).await;

        // The enterprise posts; a draft is nobody else's business.
        let a = srv.gql(CREATE_POST, json!({ "o": s.enterprise, "i": internship() }), Some(&s.enterprise_owner.token)).await;
        let post = a.body["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        assert_eq!(a.body["data"]["createPost"]["state"], "DRAFT");
        let a = srv.gql(SEARCH, json!({ "f": { "keyword": "数控" } }), Some(&s.school_owner.token)).await;
        assert_eq!(a.body["data"]["posts"]["totalCount"], 0, "{:?}", a.body);
        srv.ok(PUBLISH, json!({ "p": post }), Some(&s.enterprise_owner.token)).await;
        published(&srv, &s.enterprise_owner, Some(&s.enterprise), json!({ "kind": "RECRUITMENT", "title": "销售代表招聘", "body": "负责华东区域设备销售，护理背景亦可。" })).await;

        // The school finds it by two-character Chinese words, with filters and a count.
        for keyword in ["数控", "实习", "机床", "数控 实习"] {
            let a = srv.gql(SEARCH, json!({ "f": { "keyword": keyword } }), Some(&s.school_owner.token)).await;
            assert_eq!(titles(&a, "posts"), ["数控机床操作实习生"], "{keyword}: {:?}", a.body);
            assert_eq!(a.body["data"]["posts"]["totalCount"], 1);
        }
        let a = srv.gql(SEARCH, json!({ "f": { "keyword": "护理" } }), Some(&s.school_owner.token)).await;
        assert_eq!(titles(&a, "posts"), ["销售代表招聘"]);
        let a = srv.gql(SEARCH, json!({ "f": { "keyword": "数控", "kinds": ["RECRUITMENT"] } }), Some(&s.school_owner.token)).await;
        assert!(titles(&a, "posts").is_empty());
        let a = srv.gql(SEARCH, json!({ "f": { "organizationKind": "ENTERPRISE", "region": "浙江省杭州市", "periodFrom": "2027-05-01" }, "s": "RECENT" }), Some(&s.school_owner.token)).await;
        assert_eq!(titles(&a, "posts"), ["数控机床操作实习生"], "the recruitment post has no period and no region");
        let a = srv.gql(SEARCH, json!({ "n": 1, "s": "RECENT" }), Some(&s.school_owner.token)).await;
        assert_eq!(titles(&a, "posts"), ["销售代表招聘"], "newest first");
        assert_eq!(a.body["data"]["posts"]["pageInfo"]["hasNextPage"], true);
        let after = a.body["data"]["posts"]["pageInfo"]["endCursor"].clone();
        let a = srv.gql(SEARCH, json!({ "n": 1, "s": "RECENT", "a": after }), Some(&s.school_owner.token)).await;
        assert_eq!(titles(&a, "posts"), ["数控机床操作实习生"]);

        // …and nearby, once it allowed location.
        srv.ok(GRANT, json!({ "p": "location" }), Some(&s.school_owner.token)).await;
        let a = srv.gql(NEARBY, json!({ "lat": NEAR.0, "lng": NEAR.1, "r": 5.0 }), Some(&s.school_owner.token)).await;
        let edges = a.body["data"]["nearbyPosts"]["edges"].as_array().unwrap_or_else(|| panic!("{:?}", a.body)).clone();
        assert_eq!(edges.len(), 1, "the recruitment post has no location: {edges:?}");
        let d = edges[0]["node"]["distanceKm"].as_f64().unwrap();
        assert!((2.0..2.5).contains(&d), "{d}");
        assert_eq!(edges[0]["node"]["distanceBand"], "< 3 km");

        // It applies; the enterprise is told and sees it; contacts stay hidden.
        let a = srv.gql(APPLY, json!({ "p": post, "o": s.school, "m": "我校数控专业学生五名申请实习" }), Some(&s.school_owner.token)).await;
        let application = a.body["data"]["applyToPost"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        assert_eq!(a.body["data"]["applyToPost"]["state"], "APPLIED");
        let told = xqt_notifications::inbox::all_for(&srv.ctx, s.enterprise_owner.id).await.unwrap();
        assert!(told.iter().any(|n| n.kind == xqt_notifications::NotificationKind::ApplicationReceived), "{told:?}");
        let a = srv.gql(CONTACT, json!({ "i": application }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["application"]["state"], "VIEWED", "opening it marks it viewed: {:?}", a.body);
        assert!(a.body["data"]["application"]["contact"].is_null());
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("FORBIDDEN"), Some("NOT_ACCEPTED")));
        let a = srv.gql(CONTACT, json!({ "i": application }), Some(&s.school_owner.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "NOT_ACCEPTED");
        srv.ok(STEP, json!({ "i": application, "s": "SHORTLIST" }), Some(&s.enterprise_owner.token)).await;
        let a = srv.gql(STEP, json!({ "i": application, "s": "ACCEPT" }), Some(&s.school_owner.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "the applicant does not accept its own application");

        // The enterprise accepts: both sides see each other's contact, and a conversation opens.
        let a = srv.gql(STEP, json!({ "i": application, "s": "ACCEPT" }), Some(&s.enterprise_owner.token)).await;
        let accepted = &a.body["data"]["stepApplication"];
        assert_eq!(accepted["state"], "ACCEPTED", "{:?}", a.body);
        let conversation = accepted["conversationId"].as_str().unwrap().to_owned();
        let a = srv.gql(CONTACT, json!({ "i": application }), Some(&s.school_owner.token)).await;
        assert_eq!(
            a.body["data"]["application"]["contact"],
            json!({ "name": "测试人", "phone": s.enterprise_owner.phone, "organization": { "name": "杭州精工数控机床有限公司" } })
        );
        let a = srv.gql(CONTACT, json!({ "i": application }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["application"]["contact"]["phone"], s.school_owner.phone);
        let a = srv.gql("query($c: ID!) { conversation(id: $c) { kind members { userId } } }", json!({ "c": conversation }), Some(&s.school_owner.token)).await;
        let mut members: Vec<String> = a.body["data"]["conversation"]["members"].as_array().unwrap_or_else(|| panic!("{:?}", a.body)).iter().map(|m| m["userId"].as_str().unwrap().to_owned()).collect();
        members.sort();
        let mut expected = vec![s.school_owner.id.to_string(), s.enterprise_owner.id.to_string()];
        expected.sort();
        assert_eq!(members, expected);

        // A programme with a student, read by attendance through the service API.
        let programme_id = programme(&srv, &s, &application).await;
        let roster = xqt_cooperation::programmes::roster(&srv.ctx, programme_id.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(roster.students, [s.student.id]);
        assert_eq!(roster.supervisors, [s.teacher.id, s.supervisor.id]);
        assert_eq!((roster.sites.len(), roster.sites[0].radius_m), (1, 500));

        // The agreement goes to e签宝: a refusal leaves the draft; then it is sent for real.
        let a = srv.gql("mutation($p: ID!, $s: ID) { createAgreement(programmeId: $p, studentId: $s) { id state fields } }", json!({ "p": programme_id, "s": s.student.id }), Some(&s.teacher.token)).await;
        let agreement = a.body["data"]["createAgreement"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        assert!(a.body["data"]["createAgreement"]["fields"].as_str().unwrap().contains("杭州职业技术学院"));
        provider.refuse_next(1435002, "账号不存在");
        let a = srv.gql("mutation($a: ID!) { sendAgreement(id: $a) { state } }", json!({ "a": agreement }), Some(&s.teacher.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("CONFLICT"), Some("PROVIDER_REFUSED")), "{:?}", a.body);
        assert_eq!(a.body["errors"][0]["extensions"]["providerCode"], "1435002");
        let a = srv.gql("mutation($a: ID!) { sendAgreement(id: $a) { state provider flowId } }", json!({ "a": agreement }), Some(&s.teacher.token)).await;
        let sent = &a.body["data"]["sendAgreement"];
        assert_eq!((sent["state"].as_str(), sent["provider"].as_str()), (Some("SIGNING"), Some("esign")), "{:?}", a.body);
        let flow = sent["flowId"].as_str().unwrap().to_owned();
        assert!(provider.refusals().is_empty(), "every request passed the gateway's checks: {:?}", provider.refusals());
        let calls = provider.calls();
        let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            &paths[paths.len() - 4..],
            [
                "/v3/files/create-by-doc-template".to_owned(),
                "/v3/sign-flow/create-by-file".to_owned(),
                format!("/v3/sign-flow/{flow}/signers/sign-fields/add"),
                format!("/v3/sign-flow/{flow}/start"),
            ]
        );
        // Only what signing needs: the organisations, and the signers' names and phones.
        let signers = &calls[calls.len() - 2].body["signers"];
        assert_eq!(signers.as_array().unwrap().len(), 3);
        assert_eq!(signers[2]["psnSignerInfo"]["psnAccount"], s.student.phone);
        assert_eq!(signers[0]["orgSignerInfo"]["orgName"], "杭州职业技术学院");
        let everything_sent = format!("{:?}", calls.iter().map(|c| &c.body).collect::<Vec<_>>());
        assert!(!everything_sent.contains("idNumber") && !everything_sent.contains("110105"), "no ID numbers leave");
        let ledger = xqt_privacy::sharing::ledger(&srv.ctx, s.student.id).await.unwrap();
        // Both sends reached the provider (the refused one too), so both are on the ledger.
        assert_eq!(ledger.len(), 2, "each disclosure is on the student's sharing ledger");
        assert!(ledger.iter().all(|r| (r.purpose.as_str(), r.categories.as_str()) == ("internship_agreements", "signer_identity")));

        // While it is being signed, the student cannot cancel (CAN-1).
        let a = srv.gql(PRECHECK, json!({}), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["cancellationPrecheck"], json!([{ "module": "cooperation", "code": "agreement_signing" }]));

        // Callbacks: a bad signature, a stale timestamp and another app are refused.
        let now = srv.ctx.clock.now().timestamp_millis();
        let done = json!({ "action": "SIGN_FLOW_COMPLETE", "signFlowId": flow, "signFlowStatus": "2", "timestamp": now });
        let (status, body) = post_callback(&srv, &done, now, "not-the-secret").await;
        assert_eq!((status, body["code"].as_str()), (401, Some("INVALID_SIGNATURE")));
        let stale = now - 16 * 60 * 1000;
        let (status, body) = post_callback(&srv, &done, stale, esign::SECRET).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("STALE_TIMESTAMP")));
        let resp = srv.http.post(srv.url("/webhooks/esign")).body(serde_json::to_vec(&done).unwrap()).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "unsigned");
        let state = |srv: &TestServer| {
            let (ctx, id) = (srv.ctx.clone(), agreement.parse::<uuid::Uuid>().unwrap());
            async move { xqt_cooperation::agreements::find(&ctx, id).await.unwrap().unwrap() }
        };
        assert_eq!(state(&srv).await.state.as_str(), "signing", "nothing refused moved it");

        // The genuine one signs it, once; a replay and a late event change nothing.
        let (status, body) = post_callback(&srv, &done, now, esign::SECRET).await;
        assert_eq!((status, body["msg"].as_str()), (200, Some("success")));
        let signed = state(&srv).await;
        assert_eq!(signed.state.as_str(), "signed");
        assert!(signed.hold_until.unwrap() > signed.signed_at.unwrap() + Span::days(365 * 4));
        let (status, body) = post_callback(&srv, &done, now, esign::SECRET).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("REPLAYED")), "the very same request again");
        let (status, body) = post_callback(&srv, &done, now + 1000, esign::SECRET).await;
        assert_eq!((status, body["msg"].as_str()), (200, Some("duplicate")), "the provider's retry, signed anew");
        let refused_late = json!({ "action": "SIGN_MISSON_COMPLETE", "signFlowId": flow, "signOrder": 3, "signResult": 4, "timestamp": now });
        let (status, _) = post_callback(&srv, &refused_late, now, esign::SECRET).await;
        assert_eq!(status, 200);
        assert_eq!(state(&srv).await.state.as_str(), "signed", "a finished flow never moves again");
        assert_eq!(agreement_notices(&srv, &s.student).await, 1, "told once");
        assert_eq!(agreement_notices(&srv, &s.teacher).await, 1);
        let a = srv.gql(PRECHECK, json!({}), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["cancellationPrecheck"], json!([]), "signed: nothing holds the student any more");

        // The two organisations' own agreement is sent, then revoked at e签宝 too.
        let a = srv.gql("mutation($p: ID!) { createAgreement(programmeId: $p) { id } }", json!({ "p": programme_id }), Some(&s.supervisor.token)).await;
        let second = a.body["data"]["createAgreement"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        let a = srv.gql("mutation($a: ID!) { sendAgreement(id: $a) { state flowId } }", json!({ "a": second }), Some(&s.supervisor.token)).await;
        let second_flow = a.body["data"]["sendAgreement"]["flowId"].as_str().unwrap().to_owned();
        let revoke = "mutation($a: ID!, $r: String!) { revokeAgreement(id: $a, reason: $r) { state } }";
        let a = srv.gql(revoke, json!({ "a": second, "r": "条款需修改" }), Some(&s.student.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "the student sees the programme's agreements but does not revoke them: {:?}", a.body);
        let a = srv.gql(revoke, json!({ "a": second, "r": "条款需修改" }), Some(&s.teacher.token)).await;
        assert_eq!(a.body["data"]["revokeAgreement"]["state"], "REVOKED", "{:?}", a.body);
        let last = provider.calls().last().cloned().unwrap();
        assert_eq!((last.path, last.body["revokeReason"].as_str()), (format!("/v3/sign-flow/{second_flow}/revoke"), Some("条款需修改")));
        let a = srv.gql(revoke, json!({ "a": agreement, "r": "已签不能撤" }), Some(&s.teacher.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["state"].as_str()), (Some("CONFLICT"), Some("SIGNED")));

        // Everyone in the programme sees where it stands.
        let a = srv.gql("query($p: ID!) { programme(id: $p) { school { name } enterprise { name } members { role state } agreements { state } } }", json!({ "p": programme_id }), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["programme"]["agreements"], json!([{ "state": "SIGNED" }, { "state": "REVOKED" }]), "{:?}", a.body);
        assert_eq!(a.body["data"]["programme"]["members"].as_array().unwrap().len(), 3);

        // Each committed change was announced for the partner hooks, the signing once.
        let mut seen = Vec::new();
        while let Ok(Some(xqt_kernel::bus::BusEvent::Message(m))) =
            tokio::time::timeout(std::time::Duration::from_millis(200), events.recv()).await
        {
            let e: Value = serde_json::from_slice(&m).unwrap();
            seen.push(format!("{} {}", e["event"].as_str().unwrap(), e["state"].as_str().unwrap()));
        }
        for expected in ["post_changed published", "application_changed applied", "application_changed accepted", "agreement_changed signing"] {
            assert!(seen.iter().any(|e| e == expected), "{expected} in {seen:?}");
        }
        assert_eq!(seen.iter().filter(|e| *e == "agreement_changed signed").count(), 1, "{seen:?}");
    })
    .await;
}

#[tokio::test]
async fn cooperation_every_refusal_has_its_code() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        let unverified = srv.person().await;

        // An unverified person posts nothing; nor does anyone for an organisation not yet approved.
        let a = srv.gql(CREATE_POST, json!({ "i": { "kind": "TALENT", "title": "我的简历", "body": "数控专业" } }), Some(&unverified.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("FORBIDDEN"), Some("VERIFICATION_REQUIRED")), "{:?}", a.body);
        let pending = srv.gql(CREATE_ORG, json!({ "k": "ENTERPRISE", "i": { "name": "尚未认证的公司" } }), Some(&s.supervisor.token)).await.body["data"]["createOrganization"]["id"].clone();
        let a = srv.gql(CREATE_POST, json!({ "o": pending, "i": internship() }), Some(&s.supervisor.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("FORBIDDEN"), Some("NOT_VERIFIED")));
        let a = srv.gql(CREATE_POST, json!({ "o": s.school, "i": internship() }), Some(&s.student.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "a student does not post for the school");
        let a = srv.gql(CREATE_POST, json!({ "i": internship() }), Some(&s.supervisor.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("organizationId")));
        let mut bad = internship();
        bad["title"] = json!("实");
        let a = srv.gql(CREATE_POST, json!({ "o": s.enterprise, "i": bad }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "title");
        let mut bad = internship();
        bad["endsOn"] = json!("2027-01-01");
        let a = srv.gql(CREATE_POST, json!({ "o": s.enterprise, "i": bad }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "period");
        let mut bad = internship();
        bad["latitude"] = json!(95.0);
        let a = srv.gql(CREATE_POST, json!({ "o": s.enterprise, "i": bad }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "location");

        // Someone else's post: a draft does not exist for them, a published one is not theirs.
        let post = published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        let update = "mutation($p: ID!, $i: PostInput!) { updatePost(id: $p, input: $i) { id } }";
        let a = srv.gql(update, json!({ "p": post, "i": internship() }), Some(&s.school_owner.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"));
        let a = srv.gql("mutation($p: ID!) { closePost(id: $p) { id } }", json!({ "p": post }), Some(&s.supervisor.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "a plain member of the enterprise did not write it and does not manage it");
        let a = srv.gql(PUBLISH, json!({ "p": post }), Some(&s.enterprise_owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["state"].as_str()), (Some("CONFLICT"), Some("PUBLISHED")));

        // Applying: not to your own organisation's post, not twice.
        let a = srv.gql(APPLY, json!({ "p": post }), Some(&s.supervisor.token)).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"));
        let a = srv.gql(APPLY, json!({ "p": post, "o": s.school }), Some(&s.school_owner.token)).await;
        let application = a.body["data"]["applyToPost"]["id"].clone();
        let a = srv.gql(APPLY, json!({ "p": post, "o": s.school }), Some(&s.school_owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("CONFLICT"), Some("ALREADY_APPLIED")));
        let a = srv.gql(APPLY, json!({ "p": post, "o": s.enterprise }), Some(&s.teacher.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "not on behalf of an organisation you are not in");
        let a = srv.gql(CONTACT, json!({ "i": application }), Some(&s.school_owner.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "NOT_ACCEPTED", "contacts before acceptance");
        let a = srv.gql(STEP, json!({ "i": application, "s": "WITHDRAW" }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "only the applicant withdraws");
        srv.ok(STEP, json!({ "i": application, "s": "WITHDRAW" }), Some(&s.school_owner.token)).await;
        let a = srv.gql(STEP, json!({ "i": application, "s": "ACCEPT" }), Some(&s.enterprise_owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["state"].as_str()), (Some("CONFLICT"), Some("WITHDRAWN")));
        let a = srv.gql(APPLY, json!({ "p": post, "o": s.school }), Some(&s.school_owner.token)).await;
        assert_eq!(a.body["data"]["applyToPost"]["state"], "APPLIED", "once withdrawn, one may apply again");

        // A programme needs an application both sides accepted.
        let input = json!({ "applicationId": a.body["data"]["applyToPost"]["id"], "title": "项目", "startsOn": "2027-03-01", "endsOn": "2027-06-30", "schoolSupervisorId": s.teacher.id, "enterpriseSupervisorId": s.supervisor.id, "sites": [{ "name": "厂区", "latitude": 30.0, "longitude": 120.0 }] });
        let a = srv.gql("mutation($i: ProgrammeInput!) { createProgramme(input: $i) { id } }", json!({ "i": input }), Some(&s.school_owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["state"].as_str()), (Some("CONFLICT"), Some("APPLIED")));

        // Nearby without location consent (COL-4's refusal, here with the purpose named).
        let a = srv.gql(NEARBY, json!({ "lat": 30.0, "lng": 120.0 }), Some(&s.school_owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["purpose"].as_str()), (Some("CONSENT_REQUIRED"), Some("location")));

        // Callbacks for a provider that is not configured are not taken.
        let (status, _) = post_callback(&srv, &json!({ "action": "SIGN_FLOW_COMPLETE", "signFlowId": "x" }), srv.ctx.clock.now().timestamp_millis(), esign::SECRET).await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn col_3_a_post_holds_only_what_was_submitted_and_its_author_edits_and_withdraws_it() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        let minimal = json!({ "kind": "JOINT_LAB", "title": "共建数控实训基地", "body": "寻找职业院校共建实训基地。" });
        let post = published(&srv, &s.enterprise_owner, Some(&s.enterprise), minimal.clone()).await;
        let row = xqt_cooperation::posts::find(&srv.ctx, post.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(
            (
                row.industry,
                row.region,
                row.address,
                row.latitude,
                row.headcount,
                row.starts_on,
                row.talent,
                row.tags.as_str()
            ),
            (None, None, None, None, None, None, None, "[]"),
            "nothing is filled in that the author did not submit (not even from the organisation's profile)"
        );

        // Edited: the new fields are what it holds, the old version is in its history.
        let update =
            "mutation($p: ID!, $i: PostInput!) { updatePost(id: $p, input: $i) { version headcount tags region } }";
        let mut edited = minimal.clone();
        edited["headcount"] = json!(2);
        edited["tags"] = json!(["实训"]);
        let a = srv.gql(update, json!({ "p": post, "i": edited }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(
            a.body["data"]["updatePost"],
            json!({ "version": 2, "headcount": 2, "tags": ["实训"], "region": null }),
            "{:?}",
            a.body
        );
        let a = srv.gql(update, json!({ "p": post, "i": minimal }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(
            a.body["data"]["updatePost"],
            json!({ "version": 3, "headcount": null, "tags": [], "region": null }),
            "a field left out is cleared"
        );
        let a = srv
            .gql(
                "query($p: ID!) { postHistory(id: $p) { version fields } }",
                json!({ "p": post }),
                Some(&s.enterprise_owner.token),
            )
            .await;
        let history = a.body["data"]["postHistory"].as_array().unwrap_or_else(|| panic!("{:?}", a.body)).clone();
        assert_eq!(history.iter().map(|h| h["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1]);
        let v2: Value = serde_json::from_str(history[0]["fields"].as_str().unwrap()).unwrap();
        assert_eq!((v2["headcount"].as_i64(), v2["tags"].clone()), (Some(2), json!(["实训"])));
        let a = srv
            .gql(
                "query($p: ID!) { postHistory(id: $p) { version } }",
                json!({ "p": post }),
                Some(&s.school_owner.token),
            )
            .await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "the history is its author's and organisation's");

        // Withdrawn: gone for everyone else, kept for the organisation.
        let a = srv
            .gql(
                "mutation($p: ID!) { withdrawPost(id: $p) { state } }",
                json!({ "p": post }),
                Some(&s.enterprise_owner.token),
            )
            .await;
        assert_eq!(a.body["data"]["withdrawPost"]["state"], "WITHDRAWN");
        let a =
            srv.gql("query($p: ID!) { post(id: $p) { id } }", json!({ "p": post }), Some(&s.school_owner.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"));
        let a = srv.gql(SEARCH, json!({ "f": { "keyword": "实训" } }), Some(&s.school_owner.token)).await;
        assert_eq!(a.body["data"]["posts"]["totalCount"], 0);
        let a = srv
            .gql(
                "query($o: ID!) { organizationPosts(organizationId: $o) { state } }",
                json!({ "o": s.enterprise }),
                Some(&s.supervisor.token),
            )
            .await;
        assert_eq!(a.body["data"]["organizationPosts"], json!([{ "state": "WITHDRAWN" }]));
    })
    .await;
}

#[tokio::test]
async fn col_4_nearby_needs_location_consent_and_coarse_consent_shows_distance_bands_only() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        let viewer = &s.school_owner;
        let orgs = "query($lat: Float!, $lng: Float!) { nearbyOrganizations(latitude: $lat, longitude: $lng, radiusKm: 20) { organization { name latitude } distanceKm distanceBand } }";

        for query in [NEARBY, orgs] {
            let a = srv.gql(query, json!({ "lat": NEAR.0, "lng": NEAR.1 }), Some(&viewer.token)).await;
            assert_eq!((a.code(), a.body["errors"][0]["extensions"]["purpose"].as_str()), (Some("CONSENT_REQUIRED"), Some("location")), "{:?}", a.body);
        }

        // Coarse consent: the point is rounded to ~1 km, only bands are shown.
        srv.ok(GRANT, json!({ "p": "location_coarse" }), Some(&viewer.token)).await;
        let a = srv.gql(NEARBY, json!({ "lat": NEAR.0, "lng": NEAR.1 }), Some(&viewer.token)).await;
        assert_eq!(a.body["data"]["nearbyPosts"]["edges"][0]["node"]["distanceKm"], Value::Null, "{:?}", a.body);
        assert_eq!(a.body["data"]["nearbyPosts"]["edges"][0]["node"]["distanceBand"], "< 3 km");
        let a = srv.gql(orgs, json!({ "lat": NEAR.0, "lng": NEAR.1 }), Some(&viewer.token)).await;
        let found = a.body["data"]["nearbyOrganizations"].as_array().unwrap_or_else(|| panic!("{:?}", a.body)).clone();
        assert_eq!(found.iter().map(|o| o["organization"]["name"].as_str().unwrap()).collect::<Vec<_>>(), ["杭州精工数控机床有限公司", "杭州职业技术学院"]);
        assert!(found.iter().all(|o| o["distanceKm"].is_null() && o["organization"]["latitude"].is_null()), "{found:?}");

        // Precise consent: distances in kilometres.
        srv.ok(GRANT, json!({ "p": "location" }), Some(&viewer.token)).await;
        let a = srv.gql(NEARBY, json!({ "lat": NEAR.0, "lng": NEAR.1, "r": 1.0 }), Some(&viewer.token)).await;
        assert_eq!(a.body["data"]["nearbyPosts"]["edges"], json!([]), "2.2 km is outside a 1 km radius");
        let a = srv.gql(NEARBY, json!({ "lat": NEAR.0, "lng": NEAR.1 }), Some(&viewer.token)).await;
        assert!(a.body["data"]["nearbyPosts"]["edges"][0]["node"]["distanceKm"].as_f64().is_some());

        // Withdrawn: refused again at once.
        for p in ["location", "location_coarse"] {
            srv.ok(WITHDRAW, json!({ "p": p }), Some(&viewer.token)).await;
        }
        let a = srv.gql(NEARBY, json!({ "lat": NEAR.0, "lng": NEAR.1 }), Some(&viewer.token)).await;
        assert_eq!(a.code(), Some("CONSENT_REQUIRED"));
        let a = srv.gql(NEARBY, json!({ "lat": 91.0, "lng": 0.0 }), Some(&viewer.token)).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"));
    })
    .await;
}

#[tokio::test]
async fn shr_3_a_talent_profile_is_private_until_its_person_makes_it_visible_under_consent() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        let profile = json!({
            "kind": "TALENT", "title": "护理专业应届生", "body": "三年护理专业学习，持护士执业资格证。",
            "talent": { "major": "护理", "graduationYear": 2027, "skills": ["静脉输液", "急救"], "certificates": ["护士执业资格证"], "preferredRegions": ["杭州"] },
        });
        let a = srv.gql(CREATE_POST, json!({ "i": profile }), Some(&s.student.token)).await;
        let id = a.body["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        assert_eq!(a.body["data"]["createPost"]["visibility"], "PRIVATE");
        srv.ok(PUBLISH, json!({ "p": id }), Some(&s.student.token)).await;
        let find = |who: &Person| {
            let (srv, token) = (&srv, who.token.clone());
            async move { srv.gql(SEARCH, json!({ "f": { "keyword": "护理" } }), Some(&token)).await }
        };
        let a = find(&s.enterprise_owner).await;
        assert_eq!(a.body["data"]["posts"]["totalCount"], 0, "published, but private");
        let a = srv.gql("query($p: ID!) { post(id: $p) { id } }", json!({ "p": id }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"));

        // Visible only under the public-profile consent.
        let visibility = "mutation($p: ID!, $v: PostVisibility!) { setPostVisibility(id: $p, visibility: $v) { visibility } }";
        let a = srv.gql(visibility, json!({ "p": id, "v": "PUBLIC" }), Some(&s.student.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["purpose"].as_str()), (Some("CONSENT_REQUIRED"), Some("public_profile")));
        srv.ok(GRANT, json!({ "p": "public_profile" }), Some(&s.student.token)).await;
        srv.ok(visibility, json!({ "p": id, "v": "PUBLIC" }), Some(&s.student.token)).await;
        let a = find(&s.enterprise_owner).await;
        assert_eq!(titles(&a, "posts"), ["护理专业应届生"], "{:?}", a.body);
        let a = srv.gql("query($p: ID!) { post(id: $p) { talent { major skills } author { id } } }", json!({ "p": id }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["post"], json!({ "talent": { "major": "护理", "skills": ["静脉输液", "急救"] }, "author": null }));

        // Withdrawing the consent hides it at once, everywhere.
        srv.ok(WITHDRAW, json!({ "p": "public_profile" }), Some(&s.student.token)).await;
        let a = find(&s.enterprise_owner).await;
        assert!(titles(&a, "posts").is_empty(), "{:?}", a.body);
        let a = srv.gql("query($p: ID!) { post(id: $p) { id } }", json!({ "p": id }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"));
        let a = srv.gql("{ myTalentProfile { title visibility } }", json!({}), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["myTalentProfile"]["title"], "护理专业应届生", "the person still has it");
        let a = srv.gql(CREATE_POST, json!({ "i": { "kind": "TALENT", "title": "第二份简历", "body": "重复" } }), Some(&s.student.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "kind", "one talent profile per person");
    })
    .await;
}

#[tokio::test]
async fn can_2_a_report_on_a_post_filed_while_cancellation_is_pending_puts_it_on_hold() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        let post = published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        let a = srv.gql("mutation($p: ID!) { reportPost(id: $p, category: FRAUD, description: \"岗位信息虚假，要求缴纳押金\") { id dueOn } }", json!({ "p": post }), Some(&s.teacher.token)).await;
        assert!(a.body["data"]["reportPost"]["dueOn"].is_string(), "{:?}", a.body);
        // The post's author answers for it: their cancellation is blocked (CAN-1).
        let a = srv.gql(PRECHECK, json!({}), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["cancellationPrecheck"], json!([{ "module": "accounts", "code": "open_report" }]));
        let a = srv.gql("mutation($p: ID!) { reportPost(id: $p, category: FRAUD, description: \"再次举报同一岗位\") { id } }", json!({ "p": post }), Some(&s.teacher.token)).await;
        assert_eq!(a.code(), Some("CONFLICT"), "one open report per reporter and post");

        // A dispute over an application, filed while the other side's cancellation is pending.
        let (application, _) = accepted_application(&srv, &s, &post).await;
        let token = srv.token_valid_for(&s.school_owner, Span::minutes(30));
        let a = srv.gql("mutation { submitPrivacyRequest(input: { kind: CANCELLATION }) { id } }", json!({}), Some(&token)).await;
        let request = a.body["data"]["submitPrivacyRequest"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        let code = srv.sms_code(&s.school_owner.phone).await;
        srv.ok("mutation($id: ID!, $c: String!) { verifyPrivacyRequest(id: $id, code: $c) { state } }", json!({ "id": request, "c": code }), Some(&token)).await;
        let a = srv.gql("mutation($i: ID!) { reportApplication(id: $i, category: FRAUD, description: \"对方收取费用后失联\") { id } }", json!({ "i": application }), Some(&s.enterprise_owner.token)).await;
        assert!(a.body["data"]["reportApplication"]["id"].is_string(), "{:?}", a.body);
        b.clock.advance(Span::days(8));
        xqt_tests::run_jobs(&srv.ctx).await;
        let token = srv.token_valid_for(&s.school_owner, Span::minutes(5));
        let a = srv.gql("{ myPrivacyRequests { state reason } }", json!({}), Some(&token)).await;
        assert_eq!(a.body["data"]["myPrivacyRequests"][0]["state"], "ON_HOLD", "{:?}", a.body);
    })
    .await;
}

#[tokio::test]
async fn can_4_and_can_5_favourites_go_with_the_account_and_a_signed_agreement_stays_under_legal_hold() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        let post = published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        let fav = "mutation($k: FavouriteKind!, $i: ID!) { addFavourite(kind: $k, id: $i) }";
        srv.ok(fav, json!({ "k": "POST", "i": post }), Some(&s.student.token)).await;
        srv.ok(fav, json!({ "k": "ORGANIZATION", "i": s.enterprise }), Some(&s.student.token)).await;
        srv.ok(fav, json!({ "k": "POST", "i": post }), Some(&s.student.token)).await;
        let a = srv.gql("{ favourites { kind } }", json!({}), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["favourites"].as_array().unwrap().len(), 2, "marking twice is one mark");

        // A signed agreement with the student (the built-in provider signs at once).
        let (application, _) = accepted_application(&srv, &s, &post).await;
        let programme_id = programme(&srv, &s, &application).await;
        let a = srv
            .gql(
                "mutation($p: ID!, $s: ID) { createAgreement(programmeId: $p, studentId: $s) { id } }",
                json!({ "p": programme_id, "s": s.student.id }),
                Some(&s.teacher.token),
            )
            .await;
        let agreement: uuid::Uuid =
            a.body["data"]["createAgreement"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).parse().unwrap();
        let a = srv
            .gql(
                "mutation($a: ID!) { sendAgreement(id: $a) { state provider holdUntil } }",
                json!({ "a": agreement }),
                Some(&s.teacher.token),
            )
            .await;
        assert_eq!(a.body["data"]["sendAgreement"]["state"], "SIGNED", "{:?}", a.body);

        // The student's account is erased: favourites go, the agreement stays (legal hold).
        let export = srv.ctx.modules.export(&srv.ctx, s.student.id).await.unwrap();
        assert_eq!(export["cooperation"]["favourites"].as_array().unwrap().len(), 2);
        assert_eq!(export["cooperation"]["agreements"].as_array().unwrap().len(), 1);
        srv.ctx.modules.erase(&srv.ctx, s.student.id, &xqt_kernel::module::Erasure::Everything).await.unwrap();
        assert!(xqt_cooperation::favourites::list(&srv.ctx, s.student.id).await.unwrap().is_empty());
        let kept =
            xqt_cooperation::agreements::find(&srv.ctx, agreement).await.unwrap().expect("kept under legal hold");
        assert_eq!(kept.state.as_str(), "signed");
        let roster =
            xqt_cooperation::programmes::roster(&srv.ctx, programme_id.parse().unwrap()).await.unwrap().unwrap();
        assert!(roster.students.is_empty(), "the student left the programme");

        // Retention purges it once the hold ends, not before.
        srv.ctx.modules.run_retention(&srv.ctx, srv.ctx.clock.now() + Span::days(365)).await.unwrap();
        assert!(xqt_cooperation::agreements::find(&srv.ctx, agreement).await.unwrap().is_some());
        srv.ctx.modules.run_retention(&srv.ctx, kept.hold_until.unwrap() + Span::days(1)).await.unwrap();
        assert!(xqt_cooperation::agreements::find(&srv.ctx, agreement).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_page_of_fifty_posts_costs_the_same_statements_as_a_page_of_five() {
    on_each_backend(async |b| {
        let statements = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let mut ctx = b.context().await;
        let log = statements.clone();
        ctx.parts_mut().db.set_metric_callback(move |info| {
            log.lock().unwrap().push(info.statement.sql.chars().take(90).collect());
        });
        let srv = b.start_on(ctx).await;
        let s = sides(&srv).await;
        for i in 0..50 {
            let mut p = internship();
            p["title"] = json!(format!("数控实习岗位 {i}"));
            published(&srv, &s.enterprise_owner, Some(&s.enterprise), p).await;
        }
        let page = "query($n: Int) { posts(first: $n, sort: RECENT) { edges { node { id title organization { name kind } author { nickname } applicationCount mine } } } }";
        let mut cost = Vec::new();
        for n in [5, 50] {
            let before = statements.lock().unwrap().len();
            let a = srv.gql(page, json!({ "n": n }), Some(&s.supervisor.token)).await;
            let ran: Vec<String> = statements.lock().unwrap()[before..].to_vec();
            let edges = a.body["data"]["posts"]["edges"].as_array().unwrap_or_else(|| panic!("{:?}", a.body));
            assert_eq!(edges.len(), n);
            assert!(edges.iter().all(|e| e["node"]["applicationCount"] == 0 && e["node"]["mine"] == true && e["node"]["organization"]["kind"] == "ENTERPRISE"));
            assert!(edges.iter().all(|e| e["node"]["author"].is_object()), "members see the author");
            cost.push(ran);
        }
        assert_eq!(cost[0].len(), cost[1].len(), "statements for 5 and for 50 posts: {cost:#?}");
        assert!(cost[1].len() < 20, "{cost:#?}");
    })
    .await;
}

#[tokio::test]
async fn production_refuses_the_built_in_signature_provider() {
    on_each_backend(async |b| {
        let mut config = b.config();
        config.env = xqt_kernel::config::Environment::Production;
        xqt_tests::aliyun::configure(&mut config, "http://127.0.0.1:9");
        xqt_tests::jpush::configure(&mut config, "http://127.0.0.1:9");
        let refused = xqt::prepare(config.clone(), Arc::new(b.clock.clone())).await;
        let message = format!("{:#}", refused.err().expect("refused"));
        assert!(message.contains("built-in e-signature provider"), "{message}");
        esign::configure(&mut config, "http://127.0.0.1:9");
        assert!(xqt::prepare(config, Arc::new(b.clock.clone())).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn partners_read_public_posts_only_and_a_schools_system_syncs_its_talent_pool_idempotently() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        let mut members_only = internship();
        members_only["title"] = json!("仅认证机构可见的数控岗位");
        members_only["visibility"] = json!("VERIFIED");
        published(&srv, &s.enterprise_owner, Some(&s.enterprise), members_only).await;
        let profile = json!({ "kind": "TALENT", "title": "数控专业学生", "body": "熟悉数控编程", "visibility": "PUBLIC" });
        srv.ok(GRANT, json!({ "p": "public_profile" }), Some(&s.student.token)).await;
        published(&srv, &s.student, None, profile).await;
        let a = srv.gql(SEARCH, json!({ "f": { "keyword": "数控" } }), Some(&s.school_owner.token)).await;
        assert_eq!(a.body["data"]["posts"]["totalCount"], 3, "a member of an approved organisation sees all three: {:?}", a.body);

        let partner = xqt_accounts::partners::create_partner(&srv.ctx, "某职业院校教务系统").await.unwrap();
        let token = |scopes: &[&str]| {
            let (ctx, id) = (srv.ctx.clone(), partner.id);
            let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
            async move { xqt_accounts::partners::create_token(&ctx, None, id, "sync", &scopes, 30).await.unwrap().0 }
        };
        let reader = token(&["cooperation:read"]).await;
        let writer = token(&["cooperation:write"]).await;
        let other = token(&["notifications:send"]).await;

        // A reader sees public posts of organisations: never verified-only ones, never a person's
        // profile, never who wrote them or their applications.
        let q = "query($f: PostFilter) { posts(filter: $f) { totalCount edges { node { title author { id } applicationCount } } } }";
        let a = srv.gql(q, json!({ "f": { "keyword": "数控" } }), Some(&reader)).await;
        assert_eq!(a.body["data"]["posts"]["edges"], json!([{ "node": { "title": "数控机床操作实习生", "author": null, "applicationCount": null } }]), "{:?}", a.body);
        let a = srv.gql("{ directory { totalCount edges { node { name address latitude } } } }", json!({}), Some(&reader)).await;
        assert_eq!(a.body["data"]["directory"]["totalCount"], 2);
        assert!(a.body["data"]["directory"]["edges"].as_array().unwrap().iter().all(|e| e["node"]["address"].is_null() && e["node"]["latitude"].is_null()));
        let a = srv.gql("{ applications { id } }", json!({}), Some(&reader)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "applications and their contacts are people's, not partners'");
        let a = srv.gql(q, json!({}), Some(&other)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["scope"].as_str()), (Some("FORBIDDEN"), Some("cooperation:read")));

        // Syncing: only once a manager of the school linked the partner.
        let sync = "mutation($o: ID!, $e: [TalentEntryInput!]!) { syncTalentPool(organizationId: $o, entries: $e) { externalId postId created } }";
        let entries = json!([
            { "externalId": "2027-NC-01", "entry": { "kind": "TALENT", "title": "2027届数控技术专业毕业生", "body": "共 32 人，可于 2027 年 3 月起实习。", "tags": ["数控"], "talent": { "major": "数控技术", "graduationYear": 2027 } } },
            { "externalId": "2027-HL-01", "entry": { "kind": "TALENT", "title": "2027届护理专业毕业生", "body": "共 45 人。", "talent": { "major": "护理" } } },
        ]);
        let a = srv.gql(sync, json!({ "o": s.school, "e": entries }), Some(&writer)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "not linked yet: {:?}", a.body);
        let link = "mutation($o: ID!, $p: ID!) { linkPartnerSync(organizationId: $o, partnerId: $p) }";
        let a = srv.gql(link, json!({ "o": s.school, "p": partner.id }), Some(&s.teacher.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "a teacher does not manage the school");
        srv.ok(link, json!({ "o": s.school, "p": partner.id }), Some(&s.school_owner.token)).await;
        let a = srv.gql(sync, json!({ "o": s.school, "e": entries }), Some(&reader)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "reading is not writing");
        let first = srv.gql(sync, json!({ "o": s.school, "e": entries }), Some(&writer)).await;
        let done = first.body["data"]["syncTalentPool"].as_array().unwrap_or_else(|| panic!("{:?}", first.body)).clone();
        assert!(done.iter().all(|d| d["created"] == true));
        let again = srv.gql(sync, json!({ "o": s.school, "e": entries }), Some(&writer)).await;
        let redone = again.body["data"]["syncTalentPool"].as_array().unwrap().clone();
        assert!(redone.iter().all(|d| d["created"] == false));
        assert_eq!(done.iter().map(|d| &d["postId"]).collect::<Vec<_>>(), redone.iter().map(|d| &d["postId"]).collect::<Vec<_>>(), "the same entries, by the school's ids");
        let a = srv.gql("query($p: ID!) { post(id: $p) { version state organization { name } } }", json!({ "p": done[0]["postId"] }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["post"], json!({ "version": 1, "state": "PUBLISHED", "organization": { "name": "杭州职业技术学院" } }), "a retry changes nothing");
        let mut changed = entries.clone();
        changed[0]["entry"]["body"] = json!("共 30 人，可于 2027 年 3 月起实习。");
        srv.ok(sync, json!({ "o": s.school, "e": changed }), Some(&writer)).await;
        let a = srv.gql("query($p: ID!) { post(id: $p) { version body } }", json!({ "p": done[0]["postId"] }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["post"]["version"], 2);
        let a = srv.gql(SEARCH, json!({ "f": { "keyword": "护理", "kinds": ["TALENT"] } }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(titles(&a, "posts"), ["2027届护理专业毕业生"]);

        // Bad batches are refused whole.
        let mut wrong = entries.clone();
        wrong[1]["entry"]["kind"] = json!("INTERNSHIP");
        let a = srv.gql(sync, json!({ "o": s.school, "e": wrong }), Some(&writer)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "entries.kind");
        let twice = json!([entries[0].clone(), entries[0].clone()]);
        let a = srv.gql(sync, json!({ "o": s.school, "e": twice }), Some(&writer)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "entries.externalId");
    })
    .await;
}

#[tokio::test]
async fn an_enterprise_invites_a_talent_entry_and_its_person_decides() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let s = sides(&srv).await;
        let post = published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        srv.ok(GRANT, json!({ "p": "public_profile" }), Some(&s.student.token)).await;
        let talent = published(&srv, &s.student, None, json!({ "kind": "TALENT", "title": "数控专业学生", "body": "熟悉数控编程", "visibility": "PUBLIC" })).await;
        let invite = "mutation($p: ID!, $t: ID!) { inviteTalent(postId: $p, talentPostId: $t, message: \"欢迎来实习\") { id state direction mySide } }";
        let a = srv.gql(invite, json!({ "p": post, "t": talent }), Some(&s.school_owner.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "only the post's side invites through it");
        let a = srv.gql(invite, json!({ "p": post, "t": talent }), Some(&s.enterprise_owner.token)).await;
        let inv = a.body["data"]["inviteTalent"].clone();
        assert_eq!((inv["state"].as_str(), inv["direction"].as_str(), inv["mySide"].as_str()), (Some("APPLIED"), Some("INVITE"), Some("OWNER")), "{:?}", a.body);
        let told = xqt_notifications::inbox::all_for(&srv.ctx, s.student.id).await.unwrap();
        assert!(told.iter().any(|n| n.title == "收到合作邀请"));
        let a = srv.gql(STEP, json!({ "i": inv["id"], "s": "ACCEPT" }), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "the invited person decides");
        let a = srv.gql(STEP, json!({ "i": inv["id"], "s": "ACCEPT" }), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["stepApplication"]["state"], "ACCEPTED", "{:?}", a.body);
        assert!(a.body["data"]["stepApplication"]["conversationId"].is_string());
        let a = srv.gql(CONTACT, json!({ "i": inv["id"] }), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["application"]["contact"]["phone"], s.enterprise_owner.phone);
        let a = srv.gql("{ applications { direction state } }", json!({}), Some(&s.student.token)).await;
        assert_eq!(a.body["data"]["applications"], json!([{ "direction": "INVITE", "state": "ACCEPTED" }]));
        let a = srv.gql("{ applications(received: true) { direction } }", json!({}), Some(&s.enterprise_owner.token)).await;
        assert_eq!(a.body["data"]["applications"], json!([{ "direction": "INVITE" }]));
    })
    .await;
}
