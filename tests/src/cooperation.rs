//! The actors of a cooperation, shared by the cooperation and attendance tests: approved
//! organisations, their people, an accepted application and a programme with a student in it.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::{Person, TestServer, credit_code};

pub const CREATE_ORG: &str =
    "mutation($k: OrganizationKind!, $i: OrganizationInput!) { createOrganization(kind: $k, input: $i) { id } }";
pub const INVITE: &str = "mutation($o: ID!, $r: MemberRole!) { createOrganizationInvite(organizationId: $o, role: $r, maxUses: 1) { code } }";
pub const JOIN: &str = "mutation($c: String!) { joinOrganization(code: $c) { id } }";
pub const SUBMIT: &str =
    "mutation($id: ID!, $c: String!) { submitOrganizationVerification(id: $id, creditCode: $c) { id } }";
pub const REVIEW: &str =
    "mutation($id: ID!, $a: ReviewAction!) { reviewOrganizationVerification(id: $id, action: $a) { verification } }";
pub const APPLY: &str = "mutation($p: ID!, $o: ID, $m: String) { applyToPost(postId: $p, organizationId: $o, message: $m) { id state mySide } }";
pub const STEP: &str =
    "mutation($i: ID!, $s: ApplicationStep!) { stepApplication(id: $i, step: $s) { id state conversationId } }";

pub const CREATE_POST: &str =
    "mutation($o: ID, $i: PostInput!) { createPost(organizationId: $o, input: $i) { id state visibility version } }";
pub const PUBLISH: &str = "mutation($p: ID!) { publishPost(id: $p) { id state publishedAt } }";

static SEED: AtomicUsize = AtomicUsize::new(1);

/// An approved organisation owned by `owner`, located at `at`.
pub async fn approved(
    srv: &TestServer,
    admin: &Person,
    owner: &Person,
    kind: &str,
    name: &str,
    at: (f64, f64),
) -> String {
    let input =
        json!({ "name": name, "region": "浙江省杭州市", "industry": "制造业", "latitude": at.0, "longitude": at.1 });
    let a = srv.gql(CREATE_ORG, json!({ "k": kind, "i": input }), Some(&owner.token)).await;
    let id = a.body["data"]["createOrganization"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let seed = SEED.fetch_add(1, Ordering::Relaxed) as u64 + std::process::id() as u64 * 1000;
    srv.ok(SUBMIT, json!({ "id": id, "c": credit_code(seed) }), Some(&owner.token)).await;
    srv.ok(REVIEW, json!({ "id": id, "a": "START" }), Some(&admin.token)).await;
    let a = srv.gql(REVIEW, json!({ "id": id, "a": "APPROVE" }), Some(&admin.token)).await;
    assert_eq!(a.body["data"]["reviewOrganizationVerification"]["verification"], "APPROVED", "{:?}", a.body);
    id
}

/// A published post; returns its id.
pub async fn published(srv: &TestServer, who: &Person, org: Option<&str>, input: Value) -> String {
    let a = srv.gql(CREATE_POST, json!({ "o": org, "i": input }), Some(&who.token)).await;
    let id = a.body["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let a = srv.gql(PUBLISH, json!({ "p": id }), Some(&who.token)).await;
    assert_eq!(a.body["data"]["publishPost"]["state"], "PUBLISHED", "{:?}", a.body);
    id
}

pub async fn join(srv: &TestServer, manager: &Person, org: &str, person: &Person, role: &str) {
    let a = srv.gql(INVITE, json!({ "o": org, "r": role }), Some(&manager.token)).await;
    let code = a.body["data"]["createOrganizationInvite"]["code"].as_str().unwrap_or_else(|| panic!("{:?}", a.body));
    srv.ok(JOIN, json!({ "c": code }), Some(&person.token)).await;
}

pub const HANGZHOU: (f64, f64) = (30.2741, 120.1551);
/// About 2.2 km north-east of HANGZHOU.
pub const NEAR: (f64, f64) = (30.2900, 120.1700);

pub fn internship() -> Value {
    json!({
        "kind": "INTERNSHIP",
        "title": "数控机床操作实习生",
        "body": "招聘数控专业实习生五名，负责数控机床的操作与日常维护，表现优秀者可留用。",
        "industry": "制造业",
        "region": "浙江省杭州市",
        "address": "杭州市拱墅区莫干山路 100 号",
        "latitude": HANGZHOU.0,
        "longitude": HANGZHOU.1,
        "headcount": 5,
        "startsOn": "2027-03-01",
        "endsOn": "2027-06-30",
        "tags": ["数控", "实习", "制造"],
    })
}

/// The actors of a cooperation: an enterprise with a supervisor, a school with a teacher and a
/// student, all verified.
pub struct Sides {
    pub enterprise_owner: Person,
    pub supervisor: Person,
    pub school_owner: Person,
    pub teacher: Person,
    pub student: Person,
    pub enterprise: String,
    pub school: String,
}

pub async fn sides(srv: &TestServer) -> Sides {
    let admin = srv.admin().await;
    let (enterprise_owner, supervisor) = (srv.verified_person().await, srv.verified_person().await);
    let (school_owner, teacher, student) =
        (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
    let enterprise = approved(srv, &admin, &enterprise_owner, "ENTERPRISE", "杭州精工数控机床有限公司", HANGZHOU).await;
    let school = approved(srv, &admin, &school_owner, "SCHOOL", "杭州职业技术学院", (30.3, 120.2)).await;
    join(srv, &enterprise_owner, &enterprise, &supervisor, "MEMBER").await;
    join(srv, &school_owner, &school, &teacher, "TEACHER").await;
    join(srv, &school_owner, &school, &student, "STUDENT").await;
    Sides { enterprise_owner, supervisor, school_owner, teacher, student, enterprise, school }
}

/// An application by the school to the post, accepted by the enterprise; returns its id.
pub async fn accepted_application(srv: &TestServer, s: &Sides, post: &str) -> (String, Value) {
    let a = srv
        .gql(
            APPLY,
            json!({ "p": post, "o": s.school, "m": "我校数控专业学生五名申请实习" }),
            Some(&s.school_owner.token),
        )
        .await;
    let id = a.body["data"]["applyToPost"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let a = srv.gql(STEP, json!({ "i": id, "s": "ACCEPT" }), Some(&s.enterprise_owner.token)).await;
    (id, a.body["data"]["stepApplication"].clone())
}

pub async fn programme(srv: &TestServer, s: &Sides, application: &str) -> String {
    let input = json!({
        "applicationId": application,
        "title": "2027 春季数控实习",
        "startsOn": "2027-03-01",
        "endsOn": "2027-06-30",
        "schoolSupervisorId": s.teacher.id,
        "enterpriseSupervisorId": s.supervisor.id,
        "sites": [{ "name": "莫干山路厂区", "latitude": HANGZHOU.0, "longitude": HANGZHOU.1, "radiusM": 500 }],
    });
    let a = srv
        .gql(
            "mutation($i: ProgrammeInput!) { createProgramme(input: $i) { id state sites { radiusM } } }",
            json!({ "i": input }),
            Some(&s.school_owner.token),
        )
        .await;
    let id = a.body["data"]["createProgramme"]["id"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
    let a = srv
        .gql(
            "mutation($p: ID!, $s: ID!) { inviteStudent(programmeId: $p, studentId: $s) }",
            json!({ "p": id, "s": s.student.id }),
            Some(&s.teacher.token),
        )
        .await;
    assert_eq!(a.body["data"]["inviteStudent"], "INVITED", "{:?}", a.body);
    let a = srv
        .gql(
            "mutation($p: ID!) { answerProgrammeInvitation(programmeId: $p, join: true) }",
            json!({ "p": id }),
            Some(&s.student.token),
        )
        .await;
    assert_eq!(a.body["data"]["answerProgrammeInvitation"], "JOINED", "{:?}", a.body);
    id
}
