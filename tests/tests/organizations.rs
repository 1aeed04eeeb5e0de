//! Organisations: create, invite and join with roles, manage members, verify with a credit code;
//! outsiders can neither read an unverified organisation nor change any.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration as Span;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use xqt_tests::{Person, TestServer, credit_code, on_each_backend};

const CREATE: &str = "mutation($k: OrganizationKind!, $i: OrganizationInput!) { createOrganization(kind: $k, input: $i) { id name myRole verification } }";
const INVITE: &str = "mutation($o: ID!, $r: MemberRole!, $n: Int, $h: Int) { createOrganizationInvite(organizationId: $o, role: $r, maxUses: $n, validHours: $h) { code role maxUses } }";
const JOIN: &str = "mutation($c: String!) { joinOrganization(code: $c) { id myRole } }";
const ORG: &str = "query($id: ID!) { organization(id: $id) { id name address creditCode verification myRole } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members { role person { id nickname } } } }";
const SUBMIT: &str = "mutation($id: ID!, $c: String!) { submitOrganizationVerification(id: $id, creditCode: $c) { verification creditCode } }";
const REVIEW: &str = "mutation($id: ID!, $a: ReviewAction!, $r: String) { reviewOrganizationVerification(id: $id, action: $a, reason: $r) { verification creditCode } }";

async fn create(srv: &TestServer, owner: &Person, kind: &str, name: &str) -> String {
    let input = json!({ "name": name, "region": "北京市海淀区", "address": "学院路 1 号", "industry": "教育", "latitude": 39.99, "longitude": 116.33 });
    let a = srv.gql(CREATE, json!({ "k": kind, "i": input }), Some(&owner.token)).await;
    let org = &a.body["data"]["createOrganization"];
    assert_eq!(
        (org["myRole"].as_str(), org["verification"].as_str()),
        (Some("OWNER"), Some("UNVERIFIED")),
        "{:?}",
        a.body
    );
    org["id"].as_str().unwrap().to_owned()
}

async fn invite(srv: &TestServer, by: &Person, org: &str, role: &str, uses: i32) -> String {
    let a = srv.gql(INVITE, json!({ "o": org, "r": role, "n": uses }), Some(&by.token)).await;
    a.body["data"]["createOrganizationInvite"]["code"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned()
}

async fn approve(srv: &TestServer, owner: &Person, admin: &Person, org: &str, seed: u64) {
    srv.ok(SUBMIT, json!({ "id": org, "c": credit_code(seed) }), Some(&owner.token)).await;
    srv.ok(REVIEW, json!({ "id": org, "a": "START" }), Some(&admin.token)).await;
    let a = srv.gql(REVIEW, json!({ "id": org, "a": "APPROVE" }), Some(&admin.token)).await;
    assert_eq!(a.body["data"]["reviewOrganizationVerification"]["verification"], "APPROVED", "{:?}", a.body);
}

#[tokio::test]
async fn invites_bring_members_in_with_their_roles_and_managers_manage_them() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, teacher, student, late) = (srv.person().await, srv.person().await, srv.person().await, srv.person().await);
        let school = create(&srv, &owner, "SCHOOL", "某某职业技术学院").await;

        let code = invite(&srv, &owner, &school, "TEACHER", 1).await;
        assert_eq!(srv.gql(JOIN, json!({ "c": code }), Some(&teacher.token)).await.body["data"]["joinOrganization"]["myRole"], "TEACHER");
        let a = srv.gql(JOIN, json!({ "c": code }), Some(&late.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("code")), "used up");

        let code = invite(&srv, &owner, &school, "STUDENT", 5).await;
        srv.ok(JOIN, json!({ "c": code }), Some(&student.token)).await;
        assert_eq!(srv.gql(JOIN, json!({ "c": code }), Some(&student.token)).await.code(), Some("CONFLICT"), "already a member");
        let unused = invite(&srv, &owner, &school, "STUDENT", 5).await;

        // Members see each other by nickname and role; roles change; members leave.
        let members = srv.gql(MEMBERS, json!({ "id": school }), Some(&student.token)).await;
        let roles: Vec<&str> = members.body["data"]["organization"]["members"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["OWNER", "TEACHER", "STUDENT"]);
        assert!(members.body["data"]["organization"]["members"][0]["person"].get("phone").is_none());

        let change = "mutation($o: ID!, $u: ID!, $r: MemberRole!) { changeMemberRole(organizationId: $o, userId: $u, role: $r) }";
        let a = srv.gql(change, json!({ "o": school, "u": teacher.id, "r": "ADMIN" }), Some(&student.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "a student manages nothing");
        assert_eq!(srv.gql(change, json!({ "o": school, "u": teacher.id, "r": "ADMIN" }), Some(&owner.token)).await.body["data"]["changeMemberRole"], true);
        let a = srv.gql(change, json!({ "o": school, "u": owner.id, "r": "MEMBER" }), Some(&teacher.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "nobody demotes the owner");
        let a = srv.gql(INVITE, json!({ "o": school, "r": "OWNER" }), Some(&teacher.token)).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "ownership is not handed out by invite");

        let remove = "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }";
        assert_eq!(srv.gql(remove, json!({ "o": school, "u": student.id }), Some(&student.token)).await.body["data"]["removeMember"], true, "leaving");
        assert_eq!(srv.gql(remove, json!({ "o": school, "u": owner.id }), Some(&owner.token)).await.code(), Some("CONFLICT"));
        let mine = srv.gql("{ myOrganizations { role organization { name } } }", json!({}), Some(&teacher.token)).await;
        assert_eq!(mine.body["data"]["myOrganizations"], json!([{ "role": "ADMIN", "organization": { "name": "某某职业技术学院" } }]));

        // Enterprises have no teachers or students.
        let company = create(&srv, &owner, "ENTERPRISE", "某某科技有限公司").await;
        let a = srv.gql(INVITE, json!({ "o": company, "r": "STUDENT" }), Some(&owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("role")));

        // Invites expire (72 hours by default).
        b.clock.advance(Span::hours(73));
        let late_token = srv.token_valid_for(&late, Span::minutes(15));
        assert_eq!(srv.gql(JOIN, json!({ "c": unused }), Some(&late_token)).await.code(), Some("BAD_USER_INPUT"), "expired");
    })
    .await;
}

#[tokio::test]
async fn verification_by_credit_code_and_what_outsiders_see() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, outsider, admin) = (srv.verified_person().await, srv.verified_person().await, srv.admin().await);
        let company = create(&srv, &owner, "ENTERPRISE", "某某科技有限公司").await;
        assert_eq!(srv.gql(ORG, json!({ "id": company }), Some(&outsider.token)).await.body["data"]["organization"], Value::Null, "unverified: invisible");

        let a = srv.gql(SUBMIT, json!({ "id": company, "c": "91350100M000100Y44" }), Some(&owner.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("creditCode")));
        let code = credit_code(42);
        let a = srv.gql(SUBMIT, json!({ "id": company, "c": code }), Some(&owner.token)).await;
        assert_eq!(a.body["data"]["submitOrganizationVerification"], json!({ "verification": "SUBMITTED", "creditCode": code }));

        let queue = srv.gql("{ organizationVerificationQueue(first: 10) { edges { node { id name creditCode } } } }", json!({}), Some(&admin.token)).await;
        let node = &queue.body["data"]["organizationVerificationQueue"]["edges"][0]["node"];
        assert_eq!(node["creditCode"], format!("{}**********{}", &code[..4], &code[14..]), "reviewers see it masked");
        srv.ok(REVIEW, json!({ "id": company, "a": "START" }), Some(&admin.token)).await;
        let a = srv.gql(REVIEW, json!({ "id": company, "a": "REJECT", "r": "营业执照照片不清晰" }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["reviewOrganizationVerification"]["verification"], "REJECTED");
        let mine = srv.gql("query($id: ID!) { organization(id: $id) { verification verificationReason } }", json!({ "id": company }), Some(&owner.token)).await;
        assert_eq!(mine.body["data"]["organization"], json!({ "verification": "REJECTED", "verificationReason": "营业执照照片不清晰" }));

        approve(&srv, &owner, &admin, &company, 42).await;
        let seen = srv.gql(ORG, json!({ "id": company }), Some(&outsider.token)).await;
        assert_eq!(
            seen.body["data"]["organization"],
            json!({ "id": company, "name": "某某科技有限公司", "address": null, "creditCode": null, "verification": "APPROVED", "myRole": null }),
            "outsiders see the public profile only"
        );
        assert_eq!(srv.gql(MEMBERS, json!({ "id": company }), Some(&outsider.token)).await.code(), Some("FORBIDDEN"));

        let copycat = create(&srv, &outsider, "ENTERPRISE", "山寨公司").await;
        let a = srv.gql(SUBMIT, json!({ "id": copycat, "c": code }), Some(&outsider.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("CONFLICT"), Some("creditCode")));
    })
    .await;
}

#[tokio::test]
async fn outsiders_cannot_change_an_organisation_in_any_way() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, outsider, admin) = (srv.verified_person().await, srv.verified_person().await, srv.admin().await);
        let hidden = create(&srv, &owner, "SCHOOL", "未认证学校").await;
        let public = create(&srv, &owner, "SCHOOL", "已认证学校").await;
        approve(&srv, &owner, &admin, &public, 7).await;
        let attempts = [
            ("mutation($o: ID!) { updateOrganization(id: $o, input: { name: \"被改了\" }) { id } }", json!({})),
            ("mutation($o: ID!) { submitOrganizationVerification(id: $o, creditCode: \"91350100M000100Y43\") { id } }", json!({})),
            ("mutation($o: ID!) { createOrganizationInvite(organizationId: $o, role: MEMBER) { code } }", json!({})),
            ("mutation($o: ID!, $u: ID!) { changeMemberRole(organizationId: $o, userId: $u, role: ADMIN) }", json!({ "u": owner.id })),
            ("mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }", json!({ "u": owner.id })),
        ];
        for (org, expected) in [(&hidden, "NOT_FOUND"), (&public, "FORBIDDEN")] {
            for (query, extra) in &attempts {
                let mut vars = extra.clone();
                vars["o"] = json!(org);
                let a = srv.gql(query, vars, Some(&outsider.token)).await;
                assert_eq!(a.code(), Some(expected), "{query}");
            }
        }
        let a = srv.gql(REVIEW, json!({ "id": public, "a": "START" }), Some(&owner.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "only platform reviewers review");
        let still = srv.gql(ORG, json!({ "id": hidden }), Some(&owner.token)).await;
        assert_eq!(still.body["data"]["organization"]["name"], "未认证学校");
    })
    .await;
}

#[tokio::test]
async fn listing_members_loads_people_in_one_query() {
    on_each_backend(async |b| {
        let mut ctx = b.context().await;
        let user_selects = Arc::new(AtomicUsize::new(0));
        let counter = user_selects.clone();
        ctx.parts_mut().db.set_metric_callback(move |info| {
            let sql = info.statement.sql.to_lowercase();
            if sql.starts_with("select") && sql.contains("from \"users\"") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let srv = b.start_on(ctx).await;
        let owner = srv.person().await;
        let school = create(&srv, &owner, "SCHOOL", "人数很多的学校").await;
        let code = invite(&srv, &owner, &school, "STUDENT", 100).await;
        for _ in 0..15 {
            let student = srv.person().await;
            srv.ok(JOIN, json!({ "c": code }), Some(&student.token)).await;
        }
        user_selects.store(0, Ordering::SeqCst);
        let members = srv.gql(MEMBERS, json!({ "id": school }), Some(&owner.token)).await;
        assert_eq!(members.body["data"]["organization"]["members"].as_array().unwrap().len(), 16);
        assert_eq!(user_selects.load(Ordering::SeqCst), 1, "16 members, one query for their people");
    })
    .await;
}

#[tokio::test]
async fn sec_6_phone_id_and_licence_numbers_are_encrypted_at_rest_with_lookup_hashes() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, admin) = (srv.person().await, srv.admin().await);
        // ID number (valid sample) and credit code; the real name is approved before the organisation.
        let id = "11010519491231002X";
        srv.ok(
            "mutation($i: String!) { submitIdentityVerification(realName: \"测试\", idNumber: $i) { id } }",
            json!({ "i": id }),
            Some(&owner.token),
        )
        .await;
        let ivs = xqt_accounts::entity::identity_verification::Entity::find().all(&srv.ctx.db).await.unwrap();
        for action in ["START", "APPROVE"] {
            srv.ok(
                "mutation($id: ID!, $a: ReviewAction!) { reviewIdentityVerification(id: $id, action: $a) { state } }",
                json!({ "id": ivs[0].id, "a": action }),
                Some(&admin.token),
            )
            .await;
        }
        let company = create(&srv, &owner, "ENTERPRISE", "加密测试公司").await;
        let code = credit_code(99);
        approve(&srv, &owner, &admin, &company, 99).await;

        let user = xqt_accounts::entity::user::Entity::find_by_id(owner.id).one(&srv.ctx.db).await.unwrap().unwrap();
        let ivs = xqt_accounts::entity::identity_verification::Entity::find().all(&srv.ctx.db).await.unwrap();
        let org = xqt_accounts::entity::organization::Entity::find_by_id(uuid::Uuid::parse_str(&company).unwrap())
            .one(&srv.ctx.db)
            .await
            .unwrap()
            .unwrap();
        let stored: Vec<(&str, &Vec<u8>, &Vec<u8>, &str)> = vec![
            ("phone", user.phone_sealed.as_ref().unwrap(), user.phone_hash.as_ref().unwrap(), owner.phone.as_str()),
            ("id number", &ivs[0].id_number_sealed, &ivs[0].id_number_hash, id),
            (
                "credit code",
                org.credit_code_sealed.as_ref().unwrap(),
                org.credit_code_hash.as_ref().unwrap(),
                code.as_str(),
            ),
        ];
        for (what, sealed, hash, plain) in stored {
            for bytes in [sealed, hash] {
                assert!(!String::from_utf8_lossy(bytes).contains(plain), "{what} readable at rest");
            }
            assert_eq!(hash.len(), 32, "{what} has a 32-byte lookup hash");
            assert_eq!(srv.ctx.keys.open(sealed).unwrap(), plain, "{what} opens with the data key");
        }
        // The lookup hash finds without decrypting: the phone signs in, the code is unique.
        assert!(
            xqt_accounts::users::find_by_phone(&srv.ctx, &xqt_accounts::phone::Phone::parse(&owner.phone).unwrap())
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn col_1_sign_up_takes_a_phone_and_code_and_being_seen_takes_a_verified_real_name() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        // Sign-up: a phone and an SMS code, nothing else.
        let person = srv.person().await;
        let a = srv.gql("mutation { updateProfile(input: { nickname: \"新用户\" }) { nickname } }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body["data"]["updateProfile"]["nickname"], "新用户", "unverified people can sign in and edit their profile");
        let company = create(&srv, &person, "ENTERPRISE", "尚未认证的公司").await;

        // What others and partners see needs a verified real name first.
        let a = srv.gql(SUBMIT, json!({ "id": company, "c": credit_code(5) }), Some(&person.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (Some("FORBIDDEN"), Some("VERIFICATION_REQUIRED")));
        let p = srv.gql("mutation { createPartner(name: \"可见性测试\") { id } }", json!({}), Some(&admin.token)).await;
        let pid = p.body["data"]["createPartner"]["id"].clone();
        let t = srv.gql("mutation($p: ID!) { createPartnerToken(partnerId: $p, name: \"r\", scopes: [\"accounts:organizations.read\"], validDays: 30) { secret } }", json!({ "p": pid }), Some(&admin.token)).await;
        let partner = t.body["data"]["createPartnerToken"]["secret"].as_str().unwrap().to_owned();
        assert_eq!(srv.gql(ORG, json!({ "id": company }), Some(&partner)).await.body["data"]["organization"], Value::Null, "partners do not see it");

        let a = srv.gql("mutation($i: String!) { submitIdentityVerification(realName: \"周九\", idNumber: $i) { id } }", json!({ "i": "11010519491231002X" }), Some(&person.token)).await;
        let iv = a.body["data"]["submitIdentityVerification"]["id"].clone();
        for action in ["START", "APPROVE"] {
            srv.ok("mutation($id: ID!, $a: ReviewAction!) { reviewIdentityVerification(id: $id, action: $a) { state } }", json!({ "id": iv, "a": action }), Some(&admin.token)).await;
        }
        let a = srv.gql(SUBMIT, json!({ "id": company, "c": credit_code(5) }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["submitOrganizationVerification"]["verification"], "SUBMITTED", "{:?}", a.body);
        for action in ["START", "APPROVE"] {
            srv.ok(REVIEW, json!({ "id": company, "a": action }), Some(&admin.token)).await;
        }
        assert_eq!(srv.gql(ORG, json!({ "id": company }), Some(&partner)).await.body["data"]["organization"]["name"], "尚未认证的公司");
    })
    .await;
}

#[tokio::test]
async fn an_owner_whose_account_is_erased_hands_each_organisation_on() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, student, teacher, admin) =
            (srv.person().await, srv.person().await, srv.person().await, srv.person().await);
        let school = create(&srv, &owner, "SCHOOL", "交接学院").await;
        let small = create(&srv, &owner, "SCHOOL", "只剩学生的学院").await;
        for (org, who, role) in [
            (&school, &student, "STUDENT"),
            (&school, &teacher, "TEACHER"),
            (&school, &admin, "ADMIN"),
            (&small, &student, "STUDENT"),
        ] {
            let code = invite(&srv, &owner, org, role, 1).await;
            srv.ok(JOIN, json!({ "c": code }), Some(&who.token)).await;
        }
        let empty = create(&srv, &owner, "ENTERPRISE", "无人公司").await;
        srv.ctx.modules.erase(&srv.ctx, owner.id, &xqt_kernel::module::Erasure::Everything).await.unwrap();
        let role = |who: &Person, org: &String| {
            let (srv, token, org) = (&srv, who.token.clone(), org.clone());
            async move {
                srv.gql(ORG, json!({ "id": org }), Some(&token)).await.body["data"]["organization"]["myRole"].clone()
            }
        };
        assert_eq!(role(&admin, &school).await, "OWNER", "the admin before the teacher and the student");
        assert_eq!(role(&teacher, &school).await, "TEACHER");
        assert_eq!(role(&student, &small).await, "OWNER", "a student when no one else is left");
        let members = xqt_accounts::organizations::members(&srv.ctx, empty.parse().unwrap()).await.unwrap();
        assert!(members.is_empty(), "an organisation with no one else stays, without members");
    })
    .await;
}
