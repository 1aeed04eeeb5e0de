//! Privacy I, one test per promise of POLICY.md it keeps: analytics under consent (COL-7), only
//! registered purposes (COL-10), legal bases (COL-11), partners under consent with a ledger
//! (SHR-1), the partner register (SHR-2), private-until-public profiles (SHR-3), suppressed small
//! groups (SHR-4), masking and audited unmasking (SEC-4), versioned policies (POL-1), the
//! acceptance gate (POL-2), major-change notices (POL-3), client permissions (PRM-1), and the
//! guardian step for children (MIN-1, MIN-3); plus the tamper-evident ledger and audit log.

use std::time::Duration as StdDuration;

use chrono::{Duration as Span, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use xqt_kernel::ErrorCode;
use xqt_tests::{Answer, Person, TestServer, WsEvent, on_each_backend, random_phone};

const GRANT: &str = "mutation($p: String!, $partner: ID) { grantConsent(input: { purpose: $p, partnerId: $partner, device: \"TestPhone / TestOS 1\" }) { id seq action purpose partnerId policyVersionId hash } }";
const WITHDRAW: &str =
    "mutation($p: String!, $partner: ID) { withdrawConsent(input: { purpose: $p, partnerId: $partner }) { action } }";
const EVENTS: &str = "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored dropped } }";
const PARTNER_PERSON: &str =
    "query($u: ID!) { partnerPerson(userId: $u) { id dataCategories nickname gender phone realName } }";
const REGISTER: &str = "mutation($p: ID!, $purpose: String!, $c: [String!]!) { registerPartnerProcessing(input: { partnerId: $p, purpose: $purpose, dataCategories: $c, description: \"电子签约：核验签署人身份\" }) { partnerName purpose legalBasis dataCategories } }";
const PUBLISH: &str = "mutation($i: PublishPolicyVersionInput!) { publishPolicyVersion(input: $i) { id version major majorKinds affects effectiveAt } }";

async fn grant(srv: &TestServer, who: &Person, purpose: &str, partner: Option<&str>) -> Answer {
    srv.gql(GRANT, json!({ "p": purpose, "partner": partner }), Some(&who.token)).await
}

fn events(n: usize) -> Value {
    let now = Utc::now().to_rfc3339();
    json!(
        (0..n)
            .map(|i| json!({ "name": "page_view", "properties": { "page": format!("/posts/{i}") }, "occurredAt": now }))
            .collect::<Vec<_>>()
    )
}

async fn stored_events(srv: &TestServer, who: &Person) -> usize {
    xqt_privacy::analytics::of(&srv.ctx, who.id).await.unwrap().len()
}

async fn partner_with_token(srv: &TestServer, admin: &Person, name: &str, scopes: &[&str]) -> (String, String) {
    let a = srv
        .gql("mutation($n: String!) { createPartner(name: $n) { id } }", json!({ "n": name }), Some(&admin.token))
        .await;
    let id = a.body["data"]["createPartner"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let a = srv
        .gql(
            "mutation($p: ID!, $s: [String!]!) { createPartnerToken(partnerId: $p, name: \"t\", scopes: $s, validDays: 30) { secret } }",
            json!({ "p": id, "s": scopes }),
            Some(&admin.token),
        )
        .await;
    (id, a.body["data"]["createPartnerToken"]["secret"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned())
}

async fn audit_about(srv: &TestServer, subject: uuid::Uuid) -> Vec<xqt_privacy::entity::audit_record::Model> {
    xqt_privacy::audit::list(&srv.ctx, Some(subject), 200).await.unwrap()
}

fn version_input(
    document: &str,
    version: &str,
    kinds: &[&str],
    affects: &[&str],
    effective: chrono::DateTime<Utc>,
) -> Value {
    json!({
        "document": document, "version": version, "title": "校企通数字化校企合作平台隐私政策",
        "body": format!("第 {version} 版全文。"), "summary": format!("{version}：调整合作方共享范围"),
        "effectiveAt": effective.to_rfc3339(), "majorKinds": kinds, "affects": affects,
    })
}

#[tokio::test]
async fn col_7_analytics_events_are_stored_only_under_consent_and_the_person_can_delete_them() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        let a = srv.gql(EVENTS, json!({ "e": events(2) }), Some(&p.token)).await;
        assert_eq!(a.body["data"]["recordAnalyticsEvents"], json!({ "stored": 0, "dropped": 2 }));
        assert_eq!(stored_events(&srv, &p).await, 0, "nothing is kept without the analytics consent");

        let a = grant(&srv, &p, "analytics", None).await;
        let receipt = &a.body["data"]["grantConsent"];
        assert_eq!(receipt["action"], "GRANT", "{:?}", a.body);
        assert_eq!(receipt["hash"].as_str().unwrap().len(), 64);
        assert!(receipt["policyVersionId"].is_string(), "the consent names the policy version it was given under");

        let a = srv.gql(EVENTS, json!({ "e": events(3) }), Some(&p.token)).await;
        assert_eq!(a.body["data"]["recordAnalyticsEvents"], json!({ "stored": 3, "dropped": 0 }));
        assert_eq!(stored_events(&srv, &p).await, 3);

        // Bad input is refused with a code, and nothing of it is stored.
        let a = srv.gql(EVENTS, json!({ "e": events(51) }), Some(&p.token)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("events"))
        );
        let bad = json!([{ "name": "Page View!", "occurredAt": Utc::now().to_rfc3339() }]);
        assert_eq!(srv.gql(EVENTS, json!({ "e": bad }), Some(&p.token)).await.code(), Some("BAD_USER_INPUT"));
        let bad =
            json!([{ "name": "click", "properties": ["not", "an", "object"], "occurredAt": Utc::now().to_rfc3339() }]);
        assert_eq!(srv.gql(EVENTS, json!({ "e": bad }), Some(&p.token)).await.code(), Some("BAD_USER_INPUT"));
        assert_eq!(stored_events(&srv, &p).await, 3);
        assert_eq!(srv.gql(EVENTS, json!({ "e": events(1) }), None).await.code(), Some("UNAUTHENTICATED"));

        // The person deletes theirs; another person's stay.
        let other = srv.person().await;
        grant(&srv, &other, "analytics", None).await;
        srv.ok(EVENTS, json!({ "e": events(1) }), Some(&other.token)).await;
        let a = srv.gql("mutation { deleteMyAnalyticsData }", json!({}), Some(&p.token)).await;
        assert_eq!(a.body["data"]["deleteMyAnalyticsData"], 3);
        assert_eq!(stored_events(&srv, &p).await, 0);
        assert_eq!(stored_events(&srv, &other).await, 1);

        // Withdrawal stops collection at once and queues the purpose's data for deletion.
        let a = srv.gql(WITHDRAW, json!({ "p": "analytics" }), Some(&p.token)).await;
        assert_eq!(a.body["data"]["withdrawConsent"]["action"], "WITHDRAW", "{:?}", a.body);
        let a = srv.gql(EVENTS, json!({ "e": events(2) }), Some(&p.token)).await;
        assert_eq!(a.body["data"]["recordAnalyticsEvents"], json!({ "stored": 0, "dropped": 2 }));
        // The person's export holds the ledger and the events; erasing the category removes them.
        srv.ok(GRANT, json!({ "p": "analytics" }), Some(&p.token)).await;
        srv.ok(EVENTS, json!({ "e": events(2) }), Some(&p.token)).await;
        let export = srv.ctx.modules.export(&srv.ctx, p.id).await.unwrap();
        assert_eq!(export["privacy"]["analyticsEvents"].as_array().unwrap().len(), 2);
        let actions: Vec<&str> = export["privacy"]["consentRecords"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["accept_policy", "accept_policy", "grant", "withdraw", "grant"],
            "signing up, then analytics"
        );
        let erasure = xqt_kernel::module::Erasure::Categories(vec!["analytics_events".into()]);
        assert_eq!(srv.ctx.modules.erase(&srv.ctx, p.id, &erasure).await.unwrap()["privacy"], 2);
        assert_eq!(stored_events(&srv, &p).await, 0);
        assert_eq!(stored_events(&srv, &other).await, 1, "only that person's");
        let queued = xqt_privacy::consent::queued_erasures(&srv.ctx, p.id).await.unwrap();
        assert_eq!(
            queued.iter().map(|q| (q.categories.as_str(), q.reason.as_str())).collect::<Vec<_>>(),
            [("analytics_events", "withdrawn:analytics")]
        );
    })
    .await;
}

struct Unregistered;
impl xqt_kernel::Module for Unregistered {
    fn name(&self) -> &'static str {
        "unregistered"
    }
    fn client_permissions(&self) -> Vec<xqt_kernel::module::ClientPermission> {
        vec![xqt_kernel::module::ClientPermission { id: "microphone", description: "x", purpose: "voice_marketing" }]
    }
}

#[tokio::test]
async fn col_10_every_consent_check_and_grant_names_a_registered_purpose() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        let a = grant(&srv, &p, "marketing_calls", None).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"));
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "UNKNOWN_PURPOSE");
        assert_eq!(a.body["data"], Value::Null);
        // A module asking about an unregistered purpose gets an error, never a pass.
        let gate = &srv.ctx.modules.privacy().consent;
        let err = gate.require(&srv.ctx, p.id, "marketing_calls", None).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Internal);
        let err = gate.require(&srv.ctx, p.id, "analytics", None).await.unwrap_err();
        assert_eq!((err.code(), err.detail("purpose")), (ErrorCode::ConsentRequired, Some(&json!("analytics"))));
        assert!(
            gate.require(&srv.ctx, p.id, "account_security", None).await.is_ok(),
            "a legal-obligation purpose needs no consent"
        );
        // Nothing can be registered against a purpose that does not exist.
        let mut modules = xqt_schema::modules();
        modules.push(std::sync::Arc::new(Unregistered));
        let refused = xqt_kernel::Modules::new(modules).err().expect("refused");
        assert!(refused.0.contains("voice_marketing"), "{}", refused.0);
        // Every consent the ledger holds names a registered purpose.
        grant(&srv, &p, "analytics", None).await;
        for r in xqt_privacy::consent::records(&srv.ctx, p.id).await.unwrap() {
            match r.action {
                // Accepting a policy (at sign-up, or a major version) names the version instead.
                xqt_privacy::consent::Action::AcceptPolicy => assert!(r.policy_version_id.is_some(), "{r:?}"),
                _ => assert!(srv.ctx.modules.purpose(r.purpose.as_deref().unwrap()).is_some(), "{r:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn col_11_each_purpose_shows_its_legal_basis_and_only_consent_can_be_withdrawn() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        let a = srv.gql("{ purposes { id module legalBasis withdrawable separateConsent sensitive dataCategories retentionDays } }", json!({}), None).await;
        let purposes = a.body["data"]["purposes"].as_array().unwrap().clone();
        assert!(purposes.len() >= 9, "{purposes:?}");
        let find = |id: &str| purposes.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("{id} listed")).clone();
        assert_eq!(find("account_security")["legalBasis"], "LEGAL_OBLIGATION");
        assert_eq!(find("account_security")["withdrawable"], false);
        assert_eq!(find("account_security")["retentionDays"], 180);
        assert_eq!(find("real_name_verification")["sensitive"], true);
        assert_eq!(find("analytics")["legalBasis"], "CONSENT");
        assert_eq!(find("analytics")["withdrawable"], true);
        assert_eq!(find("partner_sharing")["separateConsent"], true);
        assert_eq!(find("minor_guardian_consent")["module"], "privacy");
        for purpose in &purposes {
            assert!(purpose["legalBasis"].is_string() && !purpose["dataCategories"].as_array().unwrap().is_empty(), "{purpose}");
            assert_eq!(purpose["withdrawable"], purpose["legalBasis"] == "CONSENT");
        }
        for mutation in [GRANT, WITHDRAW] {
            let a = srv.gql(mutation, json!({ "p": "account_security" }), Some(&p.token)).await;
            assert_eq!(a.body["errors"][0]["extensions"]["reason"], "NOT_CONSENT_BASED", "{:?}", a.body);
        }
        let a = srv.gql(WITHDRAW, json!({ "p": "analytics" }), Some(&p.token)).await;
        assert_eq!(a.code(), Some("CONFLICT"), "nothing granted, nothing to withdraw");
        let a = grant(&srv, &p, "minor_guardian_consent", None).await;
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "GUARDIAN_ONLY");
        // The app asks about undecided consent purposes only; a refusal is not asked again.
        let prompts = "{ privacyStatus { consentPrompts } }";
        assert_eq!(srv.gql(prompts, json!({}), Some(&p.token)).await.body["data"]["privacyStatus"]["consentPrompts"], json!(["push_notifications", "analytics", "public_profile", "location", "location_coarse"]));
        let a = srv.gql("mutation { refuseConsent(input: { purpose: \"analytics\" }) { action } }", json!({}), Some(&p.token)).await;
        assert_eq!(a.body["data"]["refuseConsent"]["action"], "REFUSE");
        assert_eq!(srv.gql(prompts, json!({}), Some(&p.token)).await.body["data"]["privacyStatus"]["consentPrompts"], json!(["push_notifications", "public_profile", "location", "location_coarse"]));
        let a = srv.gql("{ myConsents { purpose decision } }", json!({}), Some(&p.token)).await;
        assert_eq!(a.body["data"]["myConsents"], json!([{ "purpose": "analytics", "decision": "REFUSED" }]));
        let a = grant(&srv, &p, "partner_sharing", None).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "partnerId", "sharing consent names its partner");
    })
    .await;
}

#[tokio::test]
async fn shr_1_a_partner_reads_a_person_only_under_their_consent_and_every_disclosure_is_recorded() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let person = srv.verified_person().await;
        srv.ok(
            "mutation { updateProfile(input: { nickname: \"小明\", gender: MALE }) { id } }",
            json!({}),
            Some(&person.token),
        )
        .await;
        let (esign, esign_token) = partner_with_token(&srv, &admin, "电子签约服务商", &["privacy:people.read"]).await;
        let a = srv
            .gql(
                REGISTER,
                json!({ "p": esign, "purpose": "partner_sharing", "c": ["profile", "account_identity"] }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(a.body["data"]["registerPartnerProcessing"]["legalBasis"], "CONSENT", "{:?}", a.body);

        // No consent: nothing personal, and the attempt is audited.
        let a = srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&esign_token)).await;
        assert_eq!(a.code(), Some("CONSENT_REQUIRED"));
        assert_eq!(a.body["errors"][0]["extensions"]["purpose"], "partner_sharing");
        assert_eq!(a.body["data"], Value::Null);
        assert!(!a.body.to_string().contains("小明") && !a.body.to_string().contains(&person.phone[7..]));
        let audit = audit_about(&srv, person.id).await;
        assert_eq!(
            (audit[0].actor_kind.as_str(), audit[0].allowed, audit[0].actor_id),
            ("partner", false, Some(esign.parse().unwrap()))
        );

        // Consent to this partner: it sees its registered categories, masked, and it is on record.
        let a = grant(&srv, &person, "partner_sharing", Some(&esign)).await;
        assert_eq!(a.body["data"]["grantConsent"]["partnerId"], esign.as_str());
        let a = srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&esign_token)).await;
        let seen = &a.body["data"]["partnerPerson"];
        assert_eq!(seen["nickname"], "小明", "{:?}", a.body);
        assert_eq!(seen["phone"], xqt_kernel::mask::phone(&person.phone));
        assert_eq!(seen["realName"], Value::Null, "identity was not registered for this partner");
        assert_eq!(seen["dataCategories"], json!(["account_identity", "profile"]));
        let audit = audit_about(&srv, person.id).await;
        assert_eq!((audit[0].allowed, audit[0].fields.as_str()), (true, "nickname,gender,phone"));
        let ledger = srv
            .gql(
                "{ mySharingLedger { partnerId partnerName purpose legalBasis dataCategories sharedAt } }",
                json!({}),
                Some(&person.token),
            )
            .await;
        let ledger = ledger.body["data"]["mySharingLedger"].as_array().unwrap().clone();
        assert_eq!(ledger.len(), 1);
        assert_eq!(
            (ledger[0]["partnerName"].as_str(), ledger[0]["legalBasis"].as_str()),
            (Some("电子签约服务商"), Some("CONSENT"))
        );

        // Another partner, or a token without the scope, gets nothing.
        let (_, other_token) = partner_with_token(&srv, &admin, "另一合作方", &["privacy:people.read"]).await;
        assert_eq!(
            srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&other_token)).await.code(),
            Some("CONSENT_REQUIRED")
        );
        let (_, unscoped) = partner_with_token(&srv, &admin, "无权限合作方", &["notifications:send"]).await;
        assert_eq!(srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&unscoped)).await.code(), Some("FORBIDDEN"));
        assert_eq!(
            srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&person.token)).await.code(),
            Some("FORBIDDEN")
        );

        // Withdrawal takes effect at once.
        srv.ok(WITHDRAW, json!({ "p": "partner_sharing", "partner": esign }), Some(&person.token)).await;
        assert_eq!(
            srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&esign_token)).await.code(),
            Some("CONSENT_REQUIRED")
        );

        // A purpose on a non-consent basis the registry declares lets a registered partner read
        // without consent; the ledger says on which basis.
        let (school, school_token) = partner_with_token(&srv, &admin, "学校教务系统", &["privacy:people.read"]).await;
        srv.ok(
            REGISTER,
            json!({ "p": school, "purpose": "real_name_verification", "c": ["real_name_identity"] }),
            Some(&admin.token),
        )
        .await;
        let a = srv.gql(PARTNER_PERSON, json!({ "u": person.id }), Some(&school_token)).await;
        assert_eq!(a.body["data"]["partnerPerson"]["realName"], "测**", "{:?}", a.body);
        assert_eq!(a.body["data"]["partnerPerson"]["nickname"], Value::Null);
        let ledger = xqt_privacy::sharing::ledger(&srv.ctx, person.id).await.unwrap();
        assert_eq!((ledger.len(), ledger[0].legal_basis.as_str()), (2, "legal_obligation"));
    })
    .await;
}

#[tokio::test]
async fn shr_2_the_partner_register_lists_each_partner_purpose_and_data_category_for_anyone() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (esign, _) = partner_with_token(&srv, &admin, "电子签约服务商", &["privacy:people.read"]).await;
        srv.ok(REGISTER, json!({ "p": esign, "purpose": "partner_sharing", "c": ["real_name_identity", "account_identity"] }), Some(&admin.token)).await;
        let a = srv.gql("{ partnerRegister { partnerId partnerName purpose legalBasis dataCategories description } }", json!({}), None).await;
        assert_eq!(
            a.body["data"]["partnerRegister"],
            json!([{ "partnerId": esign, "partnerName": "电子签约服务商", "purpose": "partner_sharing", "legalBasis": "CONSENT",
                     "dataCategories": ["account_identity", "real_name_identity"], "description": "电子签约：核验签署人身份" }])
        );
        let bad = |purpose: &str, cats: Value| json!({ "p": esign, "purpose": purpose, "c": cats });
        for (vars, code) in [
            (bad("partner_sharing", json!(["security_log"])), "BAD_USER_INPUT"),
            (bad("analytics", json!(["analytics_events"])), "BAD_USER_INPUT"),
            (bad("no_such_purpose", json!(["profile"])), "BAD_USER_INPUT"),
            (bad("partner_sharing", json!([])), "BAD_USER_INPUT"),
            (json!({ "p": uuid::Uuid::now_v7(), "purpose": "partner_sharing", "c": ["profile"] }), "NOT_FOUND"),
        ] {
            assert_eq!(srv.gql(REGISTER, vars.clone(), Some(&admin.token)).await.code(), Some(code), "{vars}");
        }
        let someone = srv.person().await;
        assert_eq!(srv.gql(REGISTER, bad("partner_sharing", json!(["profile"])), Some(&someone.token)).await.code(), Some("FORBIDDEN"));
        let entries = xqt_privacy::sharing::register_entries(&srv.ctx, None).await.unwrap();
        assert_eq!(entries.len(), 1, "refused entries left the register as it was");
    })
    .await;
}

#[tokio::test]
async fn shr_3_profile_fields_are_private_until_the_person_makes_them_public() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, viewer) = (srv.verified_person().await, srv.person().await);
        srv.ok("mutation { updateProfile(input: { nickname: \"公开昵称\", gender: FEMALE }) { id } }", json!({}), Some(&owner.token)).await;
        let q = "query($u: ID!) { publicProfile(userId: $u) { id nickname gender realName } }";
        let nothing = json!({ "id": owner.id, "nickname": null, "gender": null, "realName": null });
        for who in [Some(viewer.token.as_str()), None] {
            assert_eq!(srv.gql(q, json!({ "u": owner.id }), who).await.body["data"]["publicProfile"], nothing);
        }
        let set = "mutation($f: ProfileField!, $v: Boolean!) { setProfileVisibility(field: $f, visible: $v) }";
        let a = srv.gql(set, json!({ "f": "NICKNAME", "v": true }), Some(&owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["purpose"].as_str()), (Some("CONSENT_REQUIRED"), Some("public_profile")));
        grant(&srv, &owner, "public_profile", None).await;
        for f in ["NICKNAME", "REAL_NAME"] {
            assert_eq!(srv.gql(set, json!({ "f": f, "v": true }), Some(&owner.token)).await.body["data"]["setProfileVisibility"], true);
        }
        let a = srv.gql(q, json!({ "u": owner.id }), Some(&viewer.token)).await;
        assert_eq!(a.body["data"]["publicProfile"], json!({ "id": owner.id, "nickname": "公开昵称", "gender": null, "realName": "测**" }));
        srv.ok(set, json!({ "f": "NICKNAME", "v": false }), Some(&owner.token)).await;
        assert_eq!(srv.gql(q, json!({ "u": owner.id }), None).await.body["data"]["publicProfile"]["nickname"], Value::Null);
        srv.ok(WITHDRAW, json!({ "p": "public_profile" }), Some(&owner.token)).await;
        assert_eq!(srv.gql(q, json!({ "u": owner.id }), None).await.body["data"]["publicProfile"], nothing, "withdrawal hides everything");
        assert_eq!(srv.gql(q, json!({ "u": uuid::Uuid::now_v7() }), None).await.body["data"]["publicProfile"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn shr_4_statistics_for_partners_leave_out_groups_below_the_minimum() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.update(|s: &mut xqt_privacy::config::PrivacyConfig| s.min_group_size = 3)).await;
        let admin = srv.admin().await;
        for gender in ["MALE", "MALE", "MALE", "FEMALE"] {
            let p = srv.person().await;
            srv.ok("mutation($g: Gender!) { updateProfile(input: { gender: $g }) { id } }", json!({ "g": gender }), Some(&p.token)).await;
        }
        let (_, token) = partner_with_token(&srv, &admin, "统计合作方", &["privacy:statistics.read"]).await;
        let q = "query($d: StatisticsDimension!) { peopleStatistics(dimension: $d) { groups { key count } suppressedGroups minGroupSize } }";
        let a = srv.gql(q, json!({ "d": "GENDER" }), Some(&token)).await;
        // Three men are shown; the one woman and the one admin without a gender are not.
        assert_eq!(a.body["data"]["peopleStatistics"], json!({ "groups": [{ "key": "male", "count": 3 }], "suppressedGroups": 2, "minGroupSize": 3 }));
        let a = srv.gql(q, json!({ "d": "AGE_BAND" }), Some(&token)).await;
        assert_eq!(a.body["data"]["peopleStatistics"]["groups"], json!([{ "key": "unknown", "count": 5 }]));
        let (_, unscoped) = partner_with_token(&srv, &admin, "无统计权限", &["notifications:send"]).await;
        assert_eq!(srv.gql(q, json!({ "d": "GENDER" }), Some(&unscoped)).await.code(), Some("FORBIDDEN"));
    })
    .await;
}

#[tokio::test]
async fn sec_4_identifiers_are_masked_for_all_but_the_person_and_unmasking_needs_permission_and_reason() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let person = srv.person().await;
        let id_number = xqt_tests::id_number(6999);
        let a = srv.gql("mutation($n: String!) { submitIdentityVerification(realName: \"欧阳娜娜\", idNumber: $n) { realName idNumber } }", json!({ "n": id_number }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["submitIdentityVerification"], json!({ "realName": "欧阳娜娜", "idNumber": id_number }), "the person sees their own");
        let a = srv.gql("{ me { phone } }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body["data"]["me"]["phone"], person.phone.as_str());

        // The reviewer sees it masked, and the read is audited.
        let a = srv.gql("{ identityVerificationQueue { edges { node { realName idNumber } } } }", json!({}), Some(&admin.token)).await;
        let nodes: Vec<Value> = a.body["data"]["identityVerificationQueue"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
        assert!(nodes.contains(&json!({ "realName": "欧***", "idNumber": xqt_kernel::mask::id_number(&id_number) })), "{nodes:?}");
        assert!(!a.body.to_string().contains("娜娜") && !a.body.to_string().contains(&id_number));
        let audit = audit_about(&srv, person.id).await;
        assert_eq!((audit[0].actor_kind.as_str(), audit[0].resource.as_str()), ("admin", "identity_verification_queue"));

        // Unmasking: refused without the permission (and that is audited), then needs a reason.
        let unmask = "mutation($u: ID!, $r: String!) { unmaskPersonalData(userId: $u, reason: $r) { phone realName idNumber } }";
        let a = srv.gql(unmask, json!({ "u": person.id, "r": "处理投诉工单 #123" }), Some(&admin.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("FORBIDDEN"), Some("UNMASK_NOT_PERMITTED")));
        assert_eq!(a.body["data"], Value::Null);
        let refused = &audit_about(&srv, person.id).await[0];
        assert_eq!((refused.action.as_str(), refused.allowed), ("unmask", false));
        xqt_privacy::audit::grant_permission(&srv.ctx, admin.id, "unmask", None).await.unwrap();
        let a = srv.gql(unmask, json!({ "u": person.id, "r": "  " }), Some(&admin.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("reason")));
        let a = srv.gql(unmask, json!({ "u": person.id, "r": "处理投诉工单 #123" }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["unmaskPersonalData"], json!({ "phone": person.phone, "realName": "欧阳娜娜", "idNumber": id_number }));
        let done = &audit_about(&srv, person.id).await[0];
        assert_eq!((done.action.as_str(), done.allowed, done.reason.as_deref()), ("unmask", true, Some("处理投诉工单 #123")));
        let a = srv.gql(unmask, json!({ "u": person.id, "r": "好奇看看这个人" }), Some(&person.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "people cannot unmask anyone");
        let a = srv.gql("query($u: ID) { auditLog(subjectUserId: $u) { action allowed reason actorKind } }", json!({ "u": person.id }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["auditLog"][0], json!({ "action": "UNMASK", "allowed": true, "reason": "处理投诉工单 #123", "actorKind": "ADMIN" }));
    })
    .await;
}

#[tokio::test]
async fn pol_1_every_version_of_each_policy_is_kept_and_readable_with_its_date_and_summary() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let docs = srv
            .gql(
                "{ policyDocuments { document current { version title effectiveAt summary major body } } }",
                json!({}),
                None,
            )
            .await;
        let docs = docs.body["data"]["policyDocuments"].as_array().unwrap().clone();
        let doc = |d: &str| docs.iter().find(|x| x["document"] == d).unwrap()["current"].clone();
        assert_eq!(doc("PRIVACY_POLICY")["title"], "校企通数字化校企合作平台隐私政策");
        assert!(doc("PRIVACY_POLICY")["body"].as_str().unwrap().contains("我们如何处理儿童的个人信息"));
        assert_eq!(
            doc("MOBILE_OFFICE_PRIVACY_POLICY")["effectiveAt"],
            "2024-04-29T16:00:00+00:00",
            "the date the text states"
        );
        assert!(doc("CANCELLATION_AGREEMENT")["body"].as_str().unwrap().starts_with("附件一"));
        assert!(doc("USER_AGREEMENT")["body"].as_str().unwrap().contains("用户服务协议"), "{}", doc("USER_AGREEMENT"));
        assert!(doc("CHILDREN_RULES")["body"].as_str().unwrap().contains("不满十四周岁"));
        let permissions = doc("PERMISSIONS_LIST")["body"].as_str().unwrap().to_owned();
        for listed in ["system_alert_window", "install_packages", "location", "需要您的同意"] {
            assert!(
                permissions.contains(listed),
                "the permissions list is the registered one: {listed} in {permissions}"
            );
        }

        let admin = srv.admin().await;
        let a = srv
            .gql(
                PUBLISH,
                json!({ "i": version_input("PRIVACY_POLICY", "1.1", &[], &[], srv.ctx.clock.now()) }),
                Some(&admin.token),
            )
            .await;
        assert_eq!(a.body["data"]["publishPolicyVersion"]["major"], false, "{:?}", a.body);
        let q = "{ policyVersions(document: PRIVACY_POLICY) { version summary effectiveAt body bodySha256 } }";
        let versions = srv.gql(q, json!({}), None).await.body["data"]["policyVersions"].as_array().unwrap().clone();
        assert_eq!(versions.iter().map(|v| v["version"].as_str().unwrap()).collect::<Vec<_>>(), ["1.1", "1.0"]);
        assert_eq!(versions[0]["summary"], "1.1：调整合作方共享范围");
        assert!(
            versions[1]["body"].as_str().unwrap().contains("校企通数字化校企合作平台隐私政策"),
            "the first version is still readable"
        );
        assert_eq!(
            versions[1]["bodySha256"],
            xqt_kernel::crypto::sha256_hex(versions[1]["body"].as_str().unwrap().as_bytes())
        );

        let mut blank_summary = version_input("PRIVACY_POLICY", "1.2", &[], &[], srv.ctx.clock.now());
        blank_summary["summary"] = json!(" ");
        for (input, code) in [
            (version_input("PRIVACY_POLICY", "1.1", &[], &[], srv.ctx.clock.now()), "CONFLICT"),
            (blank_summary, "BAD_USER_INPUT"),
            (version_input("PRIVACY_POLICY", "1.2", &[], &["notifications"], srv.ctx.clock.now()), "BAD_USER_INPUT"),
            (version_input("PRIVACY_POLICY", "2.0", &["USER_RIGHTS"], &[], srv.ctx.clock.now()), "BAD_USER_INPUT"),
            (
                version_input("PRIVACY_POLICY", "2.0", &["USER_RIGHTS"], &["privacy"], srv.ctx.clock.now()),
                "BAD_USER_INPUT",
            ),
            (
                version_input("PRIVACY_POLICY", "2.0", &["USER_RIGHTS"], &["no_such_module"], srv.ctx.clock.now()),
                "BAD_USER_INPUT",
            ),
            (version_input("PRIVACY_POLICY", "2 0", &[], &[], srv.ctx.clock.now()), "BAD_USER_INPUT"),
            // Versions publish in order: nothing numbered before the newest.
            (version_input("PRIVACY_POLICY", "1.0.9", &[], &[], srv.ctx.clock.now()), "BAD_USER_INPUT"),
            (version_input("PRIVACY_POLICY", "0.9", &[], &[], srv.ctx.clock.now()), "BAD_USER_INPUT"),
        ] {
            assert_eq!(srv.gql(PUBLISH, json!({ "i": input }), Some(&admin.token)).await.code(), Some(code), "{input}");
        }
        let someone = srv.person().await;
        let a = srv
            .gql(
                PUBLISH,
                json!({ "i": version_input("PRIVACY_POLICY", "9.9", &[], &[], srv.ctx.clock.now()) }),
                Some(&someone.token),
            )
            .await;
        assert_eq!(a.code(), Some("FORBIDDEN"));

        // Starting again seeds nothing twice.
        drop(srv);
        let srv = b.start().await;
        let versions = srv.gql(q, json!({}), None).await.body["data"]["policyVersions"].as_array().unwrap().len();
        assert_eq!(versions, 2);
    })
    .await;
}

#[tokio::test]
async fn pol_2_a_major_version_holds_back_the_features_it_names_until_the_person_accepts_it() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let person = srv.person().await;
        b.clock.advance(Span::seconds(1));
        let major = version_input("PRIVACY_POLICY", "2.0", &["SHARING_RECIPIENTS"], &["notifications"], srv.ctx.clock.now());
        let a = srv.gql(PUBLISH, json!({ "i": major }), Some(&admin.token)).await;
        let id = a.body["data"]["publishPolicyVersion"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();

        let a = srv.gql("{ unreadNotificationCount }", json!({}), Some(&person.token)).await;
        assert_eq!(a.code(), Some("POLICY_ACCEPTANCE_REQUIRED"));
        assert_eq!(a.body["errors"][0]["extensions"]["policyVersionIds"], json!([id]));
        assert_eq!(a.body["errors"][0]["path"], json!(["unreadNotificationCount"]));
        let mut ws = srv.ws_as(&person.token).await;
        ws.subscribe("n", "subscription { notificationAdded { id } }", json!({})).await;
        assert_eq!(ws.next_payload("n").await["errors"][0]["extensions"]["code"], "POLICY_ACCEPTANCE_REQUIRED");
        // Features of other modules, and the rights themselves, keep working.
        let a = srv.gql("{ me { id } mySecurityLog { edges { cursor } } myConsents { purpose } pendingPolicies { id major majorKinds } }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body.get("errors"), None, "{:?}", a.body);
        assert_eq!(a.body["data"]["pendingPolicies"], json!([{ "id": id, "major": true, "majorKinds": ["SHARING_RECIPIENTS"] }]));
        let a = srv.gql("{ me { id } unreadNotificationCount }", json!({}), Some(&person.token)).await;
        assert_eq!((a.body["data"]["me"]["id"].as_str(), a.code()), (Some(person.id.to_string().as_str()), Some("POLICY_ACCEPTANCE_REQUIRED")), "one field held back, the other answered");

        // Someone who signs up afterwards accepted the version in force then.
        b.clock.advance(Span::seconds(1));
        let newcomer = srv.person().await;
        assert_eq!(srv.gql("{ unreadNotificationCount }", json!({}), Some(&newcomer.token)).await.code(), None);

        let a = srv.gql("mutation($v: ID!) { acceptPolicy(versionId: $v) { action policyVersionId seq } }", json!({ "v": id }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["acceptPolicy"]["action"], "ACCEPT_POLICY");
        let seq = a.body["data"]["acceptPolicy"]["seq"].clone();
        let again = srv.gql("mutation($v: ID!) { acceptPolicy(versionId: $v) { seq } }", json!({ "v": id }), Some(&person.token)).await;
        assert_eq!(again.body["data"]["acceptPolicy"]["seq"], seq, "accepting twice records once");
        let a = srv.gql("{ unreadNotificationCount pendingPolicies { id } }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body.get("errors"), None, "{:?}", a.body);
        assert_eq!(a.body["data"]["pendingPolicies"], json!([]));

        let avatar = srv.upload(&person, "?purpose=avatar", xqt_tests::jpeg(16, 16)).await;
        assert_eq!(avatar.status, 201, "accounts is not held back yet: {:?}", avatar.body);
        let avatar_url = avatar.body["url"].as_str().unwrap().to_owned();

        // A version that takes effect later holds nothing back until then.
        let later = version_input("PRIVACY_POLICY", "3.0", &["SERVICE_MODEL"], &["notifications", "accounts"], srv.ctx.clock.now() + Span::days(2));
        srv.ok(PUBLISH, json!({ "i": later }), Some(&admin.token)).await;
        let backdated = version_input("PRIVACY_POLICY", "3.1", &[], &[], srv.ctx.clock.now());
        let a = srv.gql(PUBLISH, json!({ "i": backdated }), Some(&admin.token)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("effectiveAt")),
            "a later version cannot take effect before an earlier one: {:?}",
            a.body
        );
        assert_eq!(srv.gql("{ unreadNotificationCount }", json!({}), Some(&person.token)).await.code(), None);
        b.clock.advance(Span::days(3));
        let fresh = srv.token_valid_for(&person, Span::minutes(5));
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        let a = srv.gql("{ unreadNotificationCount }", json!({}), Some(&fresh)).await;
        assert_eq!(a.code(), Some("POLICY_ACCEPTANCE_REQUIRED"), "{:?}", a.body);
        let a = srv.gql("{ me { id } mySecurityLog { edges { cursor } } }", json!({}), Some(&fresh)).await;
        assert_eq!(a.code(), Some("POLICY_ACCEPTANCE_REQUIRED"), "accounts is named too; only its essential fields answer");
        assert!(a.body["data"]["me"]["id"].is_string(), "{:?}", a.body);
        // The HTTP doors of accounts' files wait for acceptance too.
        let fresh_person = Person { token: fresh.clone(), ..person.clone() };
        let a = srv.upload(&fresh_person, "?purpose=avatar", xqt_tests::jpeg(16, 16)).await;
        assert_eq!((a.status, a.code()), (403, Some("POLICY_ACCEPTANCE_REQUIRED")), "{:?}", a.body);
        let a = srv.download(&fresh_person, &avatar_url).await;
        assert_eq!((a.status, a.code()), (403, Some("POLICY_ACCEPTANCE_REQUIRED")), "{:?}", a.body);
    })
    .await;
}

#[tokio::test]
async fn pol_3_a_major_version_records_its_kinds_notifies_everyone_and_stays_pending_until_accepted() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let people = [srv.person().await, srv.person().await];
        b.clock.advance(Span::seconds(1));
        let minor = version_input("PRIVACY_POLICY", "1.1", &[], &[], srv.ctx.clock.now());
        srv.ok(PUBLISH, json!({ "i": minor }), Some(&admin.token)).await;
        let major = version_input(
            "PRIVACY_POLICY",
            "2.0",
            &["SERVICE_MODEL", "USER_RIGHTS"],
            &["accounts"],
            srv.ctx.clock.now(),
        );
        let a = srv.gql(PUBLISH, json!({ "i": major }), Some(&admin.token)).await;
        let published = &a.body["data"]["publishPolicyVersion"];
        assert_eq!(published["majorKinds"], json!(["SERVICE_MODEL", "USER_RIGHTS"]));
        assert_eq!(published["affects"], json!(["accounts"]));
        let id = published["id"].as_str().unwrap().to_owned();

        for p in &people {
            let mut titles = Vec::new();
            for _ in 0..100 {
                let a = srv
                    .gql("{ notifications { edges { node { kind title body } } } }", json!({}), Some(&p.token))
                    .await;
                titles = a.body["data"]["notifications"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["node"]["kind"] == "POLICY_MAJOR")
                    .map(|e| e["node"].clone())
                    .collect();
                if !titles.is_empty() {
                    break;
                }
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
            assert_eq!(titles.len(), 1, "exactly one notice for the major version, none for the minor one");
            assert!(titles[0]["body"].as_str().unwrap().contains("服务模式发生重大变化"), "{titles:?}");
            let a = srv.gql("{ privacyStatus { pendingPolicies { id version } } }", json!({}), Some(&p.token)).await;
            assert_eq!(a.body["data"]["privacyStatus"]["pendingPolicies"], json!([{ "id": id, "version": "2.0" }]));
        }
        srv.ok("mutation($v: ID!) { acceptPolicy(versionId: $v) { seq } }", json!({ "v": id }), Some(&people[0].token))
            .await;
        let q = "{ pendingPolicies { id } }";
        assert_eq!(srv.gql(q, json!({}), Some(&people[0].token)).await.body["data"]["pendingPolicies"], json!([]));
        let a = srv.gql(q, json!({}), Some(&people[1].token)).await;
        assert_eq!(a.body["data"]["pendingPolicies"], json!([{ "id": id }]), "until each person accepts");
    })
    .await;
}

#[tokio::test]
async fn prm_1_every_client_permission_is_listed_with_the_purpose_it_serves_and_the_consent_it_needs() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.gql("{ clientPermissions { permission module description consentNeeded purpose { id legalBasis description } } purposes { id } }", json!({}), None).await;
        let perms = a.body["data"]["clientPermissions"].as_array().unwrap().clone();
        let ids: Vec<&str> = perms.iter().map(|p| p["permission"].as_str().unwrap()).collect();
        // Every permission the two policies name, transcribed from their text (not from the
        // code), and those the app's features need, which M 三(2) says are asked for first.
        let from_policies = [
            ("network", "M 三(一)1 使用网络权限"),
            ("storage", "M 三(一)2 读写SD卡权限"),
            ("install_packages", "M 三(一)3 安装apk需要的权限"),
            ("phone_state", "M 三(一)4 读取电话状态"),
            ("network_state", "M 三(一)4 获取网络状态"),
            ("wifi_state", "M 三(一)4 改变/获取WiFi状态"),
            ("boot_completed", "M 三(一)4 开机自动允许"),
            ("vibrate", "M 三(一)4 使用振动"),
            ("get_tasks", "M 三(一)4 获取任务信息"),
            ("camera", "X 一2(4) 相机权限"),
            ("photo_library", "X 一2(4) 相册权限"),
            ("location", "X 一2(3) 位置信息"),
            ("device_info", "X 一2(5) 设备信息"),
            ("microphone", "voice messages and calls"),
            ("notifications", "push notices (PRM-2)"),
            ("system_alert_window", "incoming-call overlay"),
        ];
        let mut expected: Vec<&str> = from_policies.iter().map(|(id, _)| *id).collect();
        expected.sort_unstable();
        let mut listed = ids.clone();
        listed.sort_unstable();
        assert_eq!(listed, expected, "exactly the permissions the policies name: {from_policies:?}");
        let purposes: Vec<&Value> = a.body["data"]["purposes"].as_array().unwrap().iter().map(|p| &p["id"]).collect();
        for p in &perms {
            assert!(purposes.contains(&&p["purpose"]["id"]), "{p} serves a registered purpose");
            assert!(!p["description"].as_str().unwrap().is_empty());
            let needs = p["purpose"]["legalBasis"] == "CONSENT";
            assert_eq!(p["consentNeeded"].is_string(), needs, "{p}");
        }
        let camera = perms.iter().find(|p| p["permission"] == "camera").unwrap();
        assert_eq!((camera["purpose"]["id"].as_str(), camera["module"].as_str()), (Some("uploads"), Some("accounts")));
    })
    .await;
}

async fn child(srv: &TestServer) -> Person {
    let p = srv.person().await;
    let birth = (Utc::now() - Span::days(365 * 10)).date_naive();
    let a = srv
        .gql(
            "mutation($d: NaiveDate!) { updateProfile(input: { birthDate: $d }) { id } }",
            json!({ "d": birth }),
            Some(&p.token),
        )
        .await;
    assert!(a.body["data"]["updateProfile"]["id"].is_string(), "{:?}", a.body);
    p
}

const CONFIRM: &str = "mutation($g: String!, $c: String!) { confirmGuardianConsent(input: { guardianPhone: $g, code: $c, relationship: \"母亲\" }) { action purpose } }";
const WITHDRAW_GUARDIAN: &str = "mutation($child: String!, $g: String!, $c: String!) { withdrawGuardianConsent(input: { childPhone: $child, guardianPhone: $g, code: $c }) { action } }";

async fn guardian_code(srv: &TestServer, phone: &str) -> String {
    let a =
        srv.gql("mutation($g: String!) { requestGuardianCode(guardianPhone: $g) }", json!({ "g": phone }), None).await;
    assert_eq!(a.body["data"]["requestGuardianCode"], true, "{:?}", a.body);
    srv.sms_code(phone).await
}

fn reason(a: &Answer) -> Option<&str> {
    a.body["errors"][0]["extensions"]["reason"].as_str()
}

#[tokio::test]
async fn min_1_a_child_under_14_can_use_nothing_but_the_guardian_step_until_a_guardian_consents() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let kid = child(&srv).await;
        for q in [
            "{ unreadNotificationCount }",
            "{ myOrganizations { role } }",
            "mutation { updateProfile(input: { nickname: \"x\" }) { id } }",
            "mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }",
        ] {
            let a = srv.gql(q, json!({}), Some(&kid.token)).await;
            assert_eq!((a.code(), reason(&a)), (Some("FORBIDDEN"), Some("PENDING_GUARDIAN")), "{q}");
        }
        // The upload door too, not only GraphQL.
        let a = srv.upload(&kid, "?purpose=avatar", xqt_tests::jpeg(16, 16)).await;
        assert_eq!(
            (a.status, a.code(), reason(&a)),
            (403, Some("FORBIDDEN"), Some("PENDING_GUARDIAN")),
            "{:?}",
            a.body
        );
        let a = srv
            .gql(
                "{ me { id } privacyStatus { accountState } policyDocuments { document } }",
                json!({}),
                Some(&kid.token),
            )
            .await;
        assert_eq!(a.body["data"]["privacyStatus"]["accountState"], "PENDING_GUARDIAN", "{:?}", a.body);
        // Live subscriptions too: refused before they start, with the reason, then completed.
        let mut ws = srv.ws_as(&kid.token).await;
        ws.subscribe("n", "subscription { notificationAdded { id } }", json!({})).await;
        let refused = ws.next_payload("n").await;
        assert_eq!(refused["errors"][0]["extensions"]["reason"], "PENDING_GUARDIAN", "{refused:?}");
        assert_eq!(refused["errors"][0]["path"], json!(["notificationAdded"]));
        assert_eq!(ws.next().await, WsEvent::Message(json!({ "type": "complete", "id": "n" })));

        let a = srv.gql(CONFIRM, json!({ "g": kid.phone, "c": "123456" }), Some(&kid.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "guardianPhone", "a child cannot be their own guardian");
        let guardian = random_phone();
        let a = srv.gql(CONFIRM, json!({ "g": guardian, "c": "000000" }), Some(&kid.token)).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "no code, no consent");
        let code = guardian_code(&srv, &guardian).await;
        let a = srv.gql(CONFIRM, json!({ "g": guardian, "c": code }), Some(&kid.token)).await;
        assert_eq!(
            a.body["data"]["confirmGuardianConsent"],
            json!({ "action": "GUARDIAN_GRANT", "purpose": "minor_guardian_consent" })
        );
        let a =
            srv.gql("{ unreadNotificationCount privacyStatus { accountState } }", json!({}), Some(&kid.token)).await;
        assert_eq!(a.body.get("errors"), None, "{:?}", a.body);
        assert_eq!(a.body["data"]["privacyStatus"]["accountState"], "ACTIVE");
        ws.subscribe("m", "subscription { notificationAdded { id } }", json!({})).await;
        let live = ws.next_within(StdDuration::from_millis(300)).await;
        assert_eq!(live, WsEvent::Silent, "live now: no refusal, no completion");
        let record = xqt_privacy::consent::records(&srv.ctx, kid.id).await.unwrap().pop().unwrap();
        assert_eq!(record.guardian.as_deref(), Some(format!("母亲 {}", xqt_kernel::mask::phone(&guardian)).as_str()));

        let adult = srv.person().await;
        b.clock.advance(Span::seconds(61));
        let code = guardian_code(&srv, &guardian).await;
        assert_eq!(
            srv.gql(CONFIRM, json!({ "g": guardian, "c": code }), Some(&adult.token)).await.code(),
            Some("CONFLICT")
        );
    })
    .await;
}

#[tokio::test]
async fn min_3_a_guardian_who_withdraws_suspends_the_account_and_queues_its_erasure() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let kid = child(&srv).await;
        let guardian = random_phone();
        let code = guardian_code(&srv, &guardian).await;
        srv.ok(CONFIRM, json!({ "g": guardian, "c": code }), Some(&kid.token)).await;

        let stranger = random_phone();
        let code = guardian_code(&srv, &stranger).await;
        let a = srv.gql(WITHDRAW_GUARDIAN, json!({ "child": kid.phone, "g": stranger, "c": code }), None).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "only the guardian who consented");
        assert_eq!(
            srv.gql("{ unreadNotificationCount }", json!({}), Some(&kid.token)).await.code(),
            None,
            "nothing changed"
        );

        b.clock.advance(Span::seconds(61));
        let code = guardian_code(&srv, &guardian).await;
        let a = srv.gql(WITHDRAW_GUARDIAN, json!({ "child": kid.phone, "g": guardian, "c": code }), None).await;
        assert_eq!(a.body["data"]["withdrawGuardianConsent"]["action"], "GUARDIAN_WITHDRAW", "{:?}", a.body);

        assert_eq!(
            srv.gql("{ me { id } }", json!({}), Some(&kid.token)).await.code(),
            Some("UNAUTHENTICATED"),
            "every session ended at once"
        );
        b.clock.advance(Span::seconds(61));
        let again = srv.sign_in(&kid.phone).await;
        let a = srv.gql("{ unreadNotificationCount }", json!({}), Some(&again.token)).await;
        assert_eq!((a.code(), reason(&a)), (Some("FORBIDDEN"), Some("SUSPENDED_BY_GUARDIAN")));
        let a = srv.gql("{ privacyStatus { accountState } }", json!({}), Some(&again.token)).await;
        assert_eq!(a.body["data"]["privacyStatus"]["accountState"], "SUSPENDED_BY_GUARDIAN");
        let queued = xqt_privacy::consent::queued_erasures(&srv.ctx, kid.id).await.unwrap();
        assert_eq!(
            queued.iter().map(|q| (q.categories.as_str(), q.reason.as_str())).collect::<Vec<_>>(),
            [("*", "guardian_withdrew")]
        );
        // The runner carries the erasure out: the account is gone and its phone is free.
        xqt_tests::run_jobs(&srv.ctx).await;
        assert_eq!(
            xqt_accounts::users::find(&srv.ctx, kid.id).await.unwrap().unwrap().status,
            xqt_accounts::users::AccountStatus::Erased
        );
    })
    .await;
}

#[tokio::test]
async fn the_consent_ledger_and_audit_log_reveal_a_record_altered_in_the_database() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        // Appends from many people at once still form one unbroken chain.
        let mut people = Vec::new();
        for _ in 0..6 {
            people.push(srv.person().await);
        }
        let grants = people.iter().map(|p| grant(&srv, p, "analytics", None));
        for a in futures::future::join_all(grants).await {
            assert_eq!(a.body["data"]["grantConsent"]["action"], "GRANT", "{:?}", a.body);
        }
        srv.ok("{ identityVerificationQueue { edges { cursor } } }", json!({}), Some(&admin.token)).await;
        xqt_privacy::audit::unmask(
            &srv.ctx,
            &xqt_kernel::Viewer::Admin { user_id: admin.id, session_id: admin.session },
            people[0].id,
            "核对身份",
        )
        .await
        .ok();
        let reports = xqt_privacy::audit::verify(&srv.ctx).await.unwrap();
        assert!(reports.iter().all(|r| r.ok()), "{reports:?}");
        assert_eq!(reports[0].records, 6 * 3, "each of the six: two acceptances at sign-up, one grant");
        assert!(reports[1].records >= 1);

        // Someone with database access rewrites a grant into a withdrawal.
        let db = &srv.ctx.db;
        let grants = xqt_privacy::consent::records(&srv.ctx, people[2].id).await.unwrap();
        let seq = grants.iter().find(|r| r.action == xqt_privacy::consent::Action::Grant).unwrap().seq;
        db.execute_unprepared(&format!("UPDATE privacy_consent_records SET action = 'withdraw' WHERE seq = {seq}"))
            .await
            .unwrap();
        let reports = xqt_privacy::audit::verify(&srv.ctx).await.unwrap();
        assert_eq!(reports[0].broken.as_ref().map(|(s, _)| *s), Some(seq), "{reports:?}");
        assert!(reports[0].broken.as_ref().unwrap().1.contains("altered"));
        db.execute_unprepared(&format!("UPDATE privacy_consent_records SET action = 'grant' WHERE seq = {seq}"))
            .await
            .unwrap();
        assert!(xqt_privacy::audit::verify(&srv.ctx).await.unwrap()[0].ok(), "restored, it verifies again");

        // Deleting the newest audit record is found too: the head names it.
        let last = xqt_privacy::entity::audit_record::Entity::find().all(db).await.unwrap().len();
        db.execute_unprepared(&format!("DELETE FROM privacy_audit_records WHERE seq = {last}")).await.unwrap();
        let reports = xqt_privacy::audit::verify(&srv.ctx).await.unwrap();
        assert!(reports[1].broken.as_ref().is_some_and(|(_, what)| what.contains("cut")), "{reports:?}");
    })
    .await;
}

#[tokio::test]
async fn min_1_a_child_is_detected_from_the_birth_date_in_a_verified_id_number_too() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let kid = srv.person().await;
        // The profile claims an adult (or says nothing); the ID number says twelve.
        srv.ok("mutation { updateProfile(input: { birthDate: \"1990-01-01\" }) { id } }", json!({}), Some(&kid.token))
            .await;
        let born = (srv.ctx.clock.now() - Span::days(12 * 365)).format("%Y%m%d").to_string();
        let id_number = xqt_accounts::verification::with_id_check(&format!("330106{born}123"));
        let a = srv
            .gql(
                "mutation($n: String!) { submitIdentityVerification(realName: \"王小明\", idNumber: $n) { id } }",
                json!({ "n": id_number }),
                Some(&kid.token),
            )
            .await;
        let id = a.body["data"]["submitIdentityVerification"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{:?}", a.body))
            .to_owned();
        assert_eq!(
            srv.gql("{ unreadNotificationCount }", json!({}), Some(&kid.token)).await.code(),
            None,
            "not known yet"
        );
        for action in ["START", "APPROVE"] {
            srv.ok(
                "mutation($id: ID!, $a: ReviewAction!) { reviewIdentityVerification(id: $id, action: $a) { state } }",
                json!({ "id": id, "a": action }),
                Some(&admin.token),
            )
            .await;
        }
        let a = srv.gql("{ unreadNotificationCount }", json!({}), Some(&kid.token)).await;
        assert_eq!((a.code(), reason(&a)), (Some("FORBIDDEN"), Some("PENDING_GUARDIAN")), "{:?}", a.body);
        let a = srv.gql("{ privacyStatus { accountState } }", json!({}), Some(&kid.token)).await;
        assert_eq!(a.body["data"]["privacyStatus"]["accountState"], "PENDING_GUARDIAN");
    })
    .await;
}

#[tokio::test]
async fn signing_up_records_acceptance_of_the_privacy_policy_and_user_agreement_in_force() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let current = |d: &'static str| {
            let srv = &srv;
            async move {
                let a = srv.ok("{ policyDocuments { document current { id } } }", json!({}), None).await;
                a["policyDocuments"].as_array().unwrap().iter().find(|x| x["document"] == d).unwrap()["current"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let (policy, agreement) = (current("PRIVACY_POLICY").await, current("USER_AGREEMENT").await);
        let person = srv.person().await;
        let records = xqt_privacy::consent::records(&srv.ctx, person.id).await.unwrap();
        let accepted: Vec<(String, String)> = records
            .iter()
            .filter(|r| r.action == xqt_privacy::consent::Action::AcceptPolicy)
            .map(|r| (r.policy_version_id.unwrap().to_string(), r.method.clone()))
            .collect();
        assert_eq!(
            accepted,
            vec![(policy, "sign_up".to_owned()), (agreement, "sign_up".to_owned())],
            "the first consent is on the ledger, with how it was given"
        );
        let chains = xqt_privacy::audit::verify(&srv.ctx).await.unwrap();
        assert!(chains.iter().all(|c| c.ok()), "in the hash chain: {chains:?}");
        // Signing in again records nothing more.
        srv.sign_in(&person.phone).await;
        let again = xqt_privacy::consent::records(&srv.ctx, person.id).await.unwrap();
        assert_eq!(again.len(), records.len());
    })
    .await;
}
