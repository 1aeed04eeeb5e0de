//! The authorisation matrix (SEC-5, issue 16): every query, mutation and subscription field of
//! the committed SDL, called by each kind of outsider against the demo's data — anonymous, a
//! signed-in person without a verified identity, the verified owner of another organisation, a
//! child awaiting a guardian, and a partner token without the field's scope and with it. Each
//! field's arguments are made from its SDL types, with the ids of the demo's organisations,
//! conversations, posts, programmes and attendance groups wherever an argument names one.
//!
//! Every field has a door in `DOORS`; the test fails on a field without one (so a new field
//! cannot go unchecked) and on a door without a field. What a door means for each viewer is
//! `expect`: anything not public refuses the anonymous, no outsider reaches what belongs to the
//! demo's members, no answer carries a demo person's phone number or real name, and nothing is
//! ever `INTERNAL`. It prints fields × viewers checked.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::parser::types::{BaseType, ServiceDocument, Type, TypeKind, TypeSystemDefinition};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_tests::{Answer, Person, TestServer, WsEvent, on_each_backend};

/// Who may pass a field's door, for people; partners are `Scope`d separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    /// Anyone at all, a child awaiting a guardian included: the policies, the permissions list,
    /// the guardian's own steps.
    Public,
    /// Anyone signed out, partners and people in good standing (published posts, the directory,
    /// public profiles); a child awaiting a guardian is held at the guardian step.
    Open,
    /// The sign-in steps: anyone may try, and made-up credentials get a coded refusal.
    Credentials,
    /// Any signed-in person, about themselves (their profile, consents, sessions) — even a child
    /// awaiting a guardian, who must be able to see why and take the guardian step.
    Guardian,
    /// Any signed-in person, about themselves; not a child awaiting a guardian.
    Person,
    /// A person with a verified identity (to apply to a post, open a conversation, create an
    /// organisation's programme…), acting on what is theirs or public.
    Verified,
    /// Only the members of the organisation, conversation, programme or group the arguments name:
    /// every outsider is refused.
    Member,
    /// Platform staff only.
    Admin,
    /// Partners' own fields (their webhooks, what they receive): no person passes.
    Partner,
}

/// Every root field's door, and the partner scope that also opens it.
const DOORS: &[(&str, Door, Option<&str>)] = {
    use Door::*;
    &[
        ("Query.notifications", Person, None),
        ("Query.unreadNotificationCount", Person, None),
        ("Query.pushDevices", Person, None),
        ("Query.me", Guardian, None),
        ("Query.mySessions", Guardian, None),
        ("Query.mySecurityLog", Person, None),
        ("Query.identityVerificationQueue", Admin, None),
        ("Query.organization", Open, Some("accounts:organizations.read")),
        ("Query.myOrganizations", Person, None),
        ("Query.organizationVerificationQueue", Admin, None),
        ("Query.scopes", Open, None),
        ("Query.partners", Admin, None),
        ("Query.myReports", Person, None),
        ("Query.myRestrictions", Person, None),
        ("Query.reportQueue", Admin, None),
        ("Query.webhookEvents", Open, None),
        ("Query.webhooks", Partner, None),
        ("Query.policyDocuments", Public, None),
        ("Query.policyVersions", Public, None),
        ("Query.policyVersion", Public, None),
        ("Query.pendingPolicies", Guardian, None),
        ("Query.privacyStatus", Guardian, None),
        ("Query.purposes", Public, None),
        ("Query.clientPermissions", Public, None),
        ("Query.myConsents", Person, None),
        ("Query.partnerRegister", Public, None),
        ("Query.mySharingLedger", Person, None),
        ("Query.myProfileVisibility", Person, None),
        ("Query.publicProfile", Open, None),
        ("Query.partnerPerson", Partner, Some("privacy:people.read")),
        ("Query.peopleStatistics", Admin, Some("privacy:statistics.read")),
        ("Query.myPrivacyRequests", Person, None),
        ("Query.cancellationPrecheck", Person, None),
        ("Query.privacyRequestQueue", Admin, None),
        ("Query.incidents", Admin, None),
        ("Query.incidentNotices", Open, None),
        ("Query.auditLog", Admin, None),
        ("Query.conversations", Person, None),
        ("Query.conversation", Member, None),
        ("Query.messages", Member, None),
        ("Query.searchMessages", Person, None),
        ("Query.conversationPresence", Member, None),
        ("Query.inboxCursor", Person, None),
        ("Query.directory", Open, None),
        ("Query.posts", Open, Some("cooperation:read")),
        ("Query.nearbyPosts", Person, None),
        ("Query.nearbyOrganizations", Person, None),
        ("Query.post", Open, Some("cooperation:read")),
        ("Query.postHistory", Member, None),
        ("Query.myTalentProfile", Person, None),
        ("Query.organizationPosts", Member, None),
        ("Query.applications", Person, None),
        ("Query.application", Member, None),
        ("Query.favourites", Person, None),
        ("Query.programme", Member, None),
        ("Query.myProgrammes", Person, None),
        ("Query.agreement", Member, None),
        ("Query.attendanceGroups", Person, None),
        ("Query.attendanceGroup", Member, None),
        ("Query.attendanceDays", Member, None),
        ("Query.attendanceCheckIns", Member, None),
        ("Query.attendanceMonth", Member, None),
        ("Query.attendanceGroupMonth", Member, None),
        ("Query.makeUpRequests", Member, None),
        ("Query.node", Open, None),
        ("Query.nodes", Open, None),
        ("Mutation.markNotificationsRead", Person, None),
        ("Mutation.sendNotification", Admin, Some("notifications:send")),
        ("Mutation.registerPushDevice", Person, None),
        ("Mutation.unregisterPushDevice", Person, None),
        ("Mutation.requestSignInCode", Credentials, None),
        ("Mutation.signInWithCode", Credentials, None),
        ("Mutation.signInWithPassword", Credentials, None),
        ("Mutation.refreshSession", Credentials, None),
        ("Mutation.signOut", Guardian, None),
        ("Mutation.signOutEverywhere", Guardian, None),
        ("Mutation.endSession", Guardian, None),
        ("Mutation.changePhone", Person, None),
        ("Mutation.setPassword", Person, None),
        ("Mutation.updateProfile", Person, None),
        ("Mutation.submitIdentityVerification", Person, None),
        ("Mutation.reviewIdentityVerification", Admin, None),
        ("Mutation.createOrganization", Person, None),
        ("Mutation.updateOrganization", Member, None),
        ("Mutation.submitOrganizationVerification", Member, None),
        ("Mutation.reviewOrganizationVerification", Admin, None),
        ("Mutation.createOrganizationInvite", Member, None),
        ("Mutation.joinOrganization", Person, None),
        ("Mutation.changeMemberRole", Member, None),
        ("Mutation.removeMember", Member, None),
        ("Mutation.createPartner", Admin, None),
        ("Mutation.createPartnerToken", Admin, None),
        ("Mutation.revokePartnerToken", Admin, None),
        ("Mutation.report", Person, None),
        ("Mutation.reviewReport", Admin, None),
        ("Mutation.liftRestriction", Admin, None),
        ("Mutation.registerWebhook", Partner, None),
        ("Mutation.deleteWebhook", Partner, None),
        ("Mutation.pingWebhook", Partner, None),
        ("Mutation.publishPolicyVersion", Admin, None),
        ("Mutation.acceptPolicy", Guardian, None),
        ("Mutation.grantConsent", Person, None),
        ("Mutation.refuseConsent", Person, None),
        ("Mutation.withdrawConsent", Person, None),
        ("Mutation.recordAnalyticsEvents", Person, None),
        ("Mutation.deleteMyAnalyticsData", Person, None),
        ("Mutation.setProfileVisibility", Person, None),
        ("Mutation.unmaskPersonalData", Admin, None),
        ("Mutation.registerPartnerProcessing", Admin, None),
        ("Mutation.submitPrivacyRequest", Person, None),
        ("Mutation.resendPrivacyRequestCode", Person, None),
        ("Mutation.verifyPrivacyRequest", Person, None),
        ("Mutation.cancelPrivacyRequest", Person, None),
        ("Mutation.actOnPrivacyRequest", Admin, None),
        ("Mutation.recordIncident", Admin, None),
        ("Mutation.notifyIncident", Admin, None),
        ("Mutation.publishIncidentNotice", Admin, None),
        ("Mutation.recordRegulatorReport", Admin, None),
        ("Mutation.requestGuardianCode", Public, None),
        ("Mutation.confirmGuardianConsent", Guardian, None),
        ("Mutation.withdrawGuardianConsent", Public, None),
        ("Mutation.openDirectConversation", Verified, None),
        ("Mutation.createGroup", Verified, None),
        ("Mutation.openOrganizationChannel", Member, None),
        ("Mutation.addGroupMembers", Member, None),
        ("Mutation.removeGroupMember", Member, None),
        ("Mutation.leaveConversation", Member, None),
        ("Mutation.setGroupAdmin", Member, None),
        ("Mutation.updateGroup", Member, None),
        ("Mutation.setConversationMuted", Member, None),
        ("Mutation.sendMessage", Member, None),
        ("Mutation.editMessage", Member, None),
        ("Mutation.recallMessage", Member, None),
        ("Mutation.deleteMessageForMe", Member, None),
        ("Mutation.markConversationRead", Member, None),
        ("Mutation.sendTyping", Member, None),
        ("Mutation.reportMessage", Member, None),
        ("Mutation.inviteCall", Member, None),
        ("Mutation.callRinging", Member, None),
        ("Mutation.acceptCall", Member, None),
        ("Mutation.rejectCall", Member, None),
        ("Mutation.cancelCall", Member, None),
        ("Mutation.hangUpCall", Member, None),
        ("Mutation.createPost", Verified, None),
        ("Mutation.updatePost", Member, None),
        ("Mutation.publishPost", Member, None),
        ("Mutation.closePost", Member, None),
        ("Mutation.withdrawPost", Member, None),
        ("Mutation.setPostVisibility", Member, None),
        ("Mutation.applyToPost", Verified, None),
        ("Mutation.inviteTalent", Member, None),
        ("Mutation.stepApplication", Member, None),
        ("Mutation.addFavourite", Person, None),
        ("Mutation.removeFavourite", Person, None),
        ("Mutation.reportPost", Person, None),
        ("Mutation.reportApplication", Member, None),
        ("Mutation.createProgramme", Member, None),
        ("Mutation.inviteStudent", Member, None),
        ("Mutation.answerProgrammeInvitation", Member, None),
        ("Mutation.createAgreement", Member, None),
        ("Mutation.linkPartnerSync", Member, None),
        ("Mutation.syncTalentPool", Partner, Some("cooperation:write")),
        ("Mutation.sendAgreement", Member, None),
        ("Mutation.revokeAgreement", Member, None),
        ("Mutation.createAttendanceGroup", Member, None),
        ("Mutation.updateAttendanceGroup", Member, None),
        ("Mutation.setAttendanceSites", Member, None),
        ("Mutation.addAttendanceMembers", Member, None),
        ("Mutation.removeAttendanceMember", Member, None),
        ("Mutation.syncAttendanceGroup", Member, None),
        ("Mutation.checkIn", Member, None),
        ("Mutation.requestMakeUp", Member, None),
        ("Mutation.decideMakeUp", Member, None),
        ("Mutation.attendanceReport", Member, None),
        ("Subscription.notificationAdded", Person, None),
        ("Subscription.inboxEvents", Person, None),
        ("Subscription.conversationEvents", Member, None),
    ]
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Viewer {
    Anonymous,
    Unverified,
    OtherOrganisation,
    AwaitingGuardian,
    PartnerWithoutScope,
    PartnerWithScope,
}

const VIEWERS: [Viewer; 6] = [
    Viewer::Anonymous,
    Viewer::Unverified,
    Viewer::OtherOrganisation,
    Viewer::AwaitingGuardian,
    Viewer::PartnerWithoutScope,
    Viewer::PartnerWithScope,
];

/// What a viewer must meet at a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Not refused at the door: no `UNAUTHENTICATED` or `FORBIDDEN` (the made-up arguments may
    /// still be `BAD_USER_INPUT` or `NOT_FOUND`).
    Passes,
    /// Any coded answer: made-up credentials are refused `UNAUTHENTICATED`, as they should be.
    Answers,
    /// Refused with one of these codes, and no data for the field.
    Refused(&'static [&'static str]),
}

const UNAUTHENTICATED: &[&str] = &["UNAUTHENTICATED"];
const FORBIDDEN: &[&str] = &["FORBIDDEN"];
const OUTSIDER: &[&str] = &["FORBIDDEN", "NOT_FOUND"];
const NOT_A_PERSON: &[&str] = &["UNAUTHENTICATED", "FORBIDDEN"];

fn expect(door: Door, scope: Option<&str>, viewer: Viewer) -> Expect {
    use Expect::*;
    use Viewer::*;
    match (viewer, door) {
        (_, Door::Credentials) => Answers,
        (_, Door::Public) => Passes,
        (PartnerWithScope, _) if scope.is_some() => Passes,
        (PartnerWithoutScope, _) if scope.is_some() => Refused(FORBIDDEN),
        (PartnerWithScope | PartnerWithoutScope, Door::Open | Door::Partner) => Passes,
        (PartnerWithScope | PartnerWithoutScope, _) => Refused(NOT_A_PERSON),
        (Anonymous, Door::Open) => Passes,
        (Anonymous, _) => Refused(UNAUTHENTICATED),
        (AwaitingGuardian, Door::Guardian) => Passes,
        (AwaitingGuardian, _) => Refused(FORBIDDEN),
        (Unverified | OtherOrganisation, Door::Open | Door::Guardian | Door::Person) => Passes,
        (Unverified, Door::Verified | Door::Admin | Door::Partner) => Refused(FORBIDDEN),
        (OtherOrganisation, Door::Verified) => Passes,
        (OtherOrganisation, Door::Admin | Door::Partner) => Refused(FORBIDDEN),
        (Unverified | OtherOrganisation, Door::Member) => Refused(OUTSIDER),
    }
}

/// One root field, ready to call.
struct Call {
    coordinate: String,
    document: String,
    variables: Value,
}

/// The SDL's types by name, to make arguments from.
struct Types<'a>(BTreeMap<String, &'a TypeKind>);

impl Types<'_> {
    /// A value of `ty` for the argument or input field `name` of `coordinate`.
    fn value(&self, ty: &Type, name: &str, coordinate: &str, ids: &Ids, depth: usize) -> Value {
        match &ty.base {
            BaseType::List(inner) => json!([self.value(inner, name, coordinate, ids, depth)]),
            BaseType::Named(n) => match n.as_str() {
                "ID" => json!(ids.for_argument(coordinate, name)),
                "String" => json!(string_for(name)),
                "Int" if name.to_lowercase().contains("radius") => json!(500),
                "Int" if name.ends_with("Minutes") => json!(30),
                "Int" => json!(1),
                "Float" => json!(if name.contains("lon") { 120.1551 } else { 30.2741 }),
                "Boolean" => json!(true),
                "DateTime" => json!(chrono::Utc::now().to_rfc3339()),
                "NaiveDate" => json!(chrono::Utc::now().date_naive()),
                "JSON" => json!({}),
                other => match self.0.get(other) {
                    Some(TypeKind::Enum(e)) => json!(e.values[0].node.value.node.as_str()),
                    Some(TypeKind::InputObject(input)) if depth < 4 => {
                        let mut object = serde_json::Map::new();
                        for f in &input.fields {
                            let f = &f.node;
                            // Required fields, and optional scalars (and the organisation): a
                            // plausible whole input, so what answers is the door, not validation.
                            let named = match &f.ty.node.base {
                                BaseType::Named(n) => n.as_str(),
                                BaseType::List(_) => "",
                            };
                            let optional = f.ty.node.nullable
                                && (f.name.node.as_str() == "organizationId"
                                    || (named != "ID" && !matches!(self.0.get(named), Some(TypeKind::InputObject(_)))));
                            if (!f.ty.node.nullable && f.default_value.is_none()) || optional {
                                let field = f.name.node.as_str();
                                object.insert(
                                    field.to_owned(),
                                    self.value(&f.ty.node, field, coordinate, ids, depth + 1),
                                );
                            }
                        }
                        Value::Object(object)
                    }
                    _ => Value::Null,
                },
            },
        }
    }

    /// `{ __typename }` for anything with fields; nothing for scalars and enums.
    fn selection(&self, ty: &Type) -> &'static str {
        match &ty.base {
            BaseType::List(inner) => self.selection(inner),
            BaseType::Named(n) => match self.0.get(n.as_str()) {
                Some(TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)) => " { __typename }",
                _ => "",
            },
        }
    }
}

/// A string argument that reads like one (a phone where a phone is asked for).
fn string_for(name: &str) -> String {
    let lower = name.to_lowercase();
    if lower.contains("phone") {
        "13900000999".into()
    } else if lower.contains("month") {
        chrono::Utc::now().format("%Y-%m").to_string()
    } else if lower == "start" || lower == "end" || lower.ends_with("time") {
        "09:00".into()
    } else if lower == "bssid" {
        "aa:bb:cc:dd:ee:ff".into()
    } else if lower.ends_with("id") {
        "matrix-1".into()
    } else if lower.contains("code") {
        "123456".into()
    } else if lower.contains("scope") {
        "notifications:send".into()
    } else if lower.contains("url") {
        "https://example.com/hook".into()
    } else {
        "矩阵检查".into()
    }
}

/// Every root field of the committed SDL as a call with made-up arguments.
fn calls(sdl: &str, ids: &Ids) -> Vec<Call> {
    let doc: ServiceDocument = async_graphql::parser::parse_schema(sdl).expect("the committed SDL parses");
    let mut kinds = BTreeMap::new();
    for def in &doc.definitions {
        if let TypeSystemDefinition::Type(t) = def {
            kinds.insert(t.node.name.node.to_string(), &t.node.kind);
        }
    }
    let types = Types(kinds);
    let mut out = Vec::new();
    for (root, operation) in [("Query", "query"), ("Mutation", "mutation"), ("Subscription", "subscription")] {
        let Some(TypeKind::Object(object)) = types.0.get(root) else { continue };
        for field in &object.fields {
            let field = &field.node;
            let name = field.name.node.as_str();
            let coordinate = format!("{root}.{name}");
            let (mut params, mut args, mut variables) = (Vec::new(), Vec::new(), serde_json::Map::new());
            for arg in &field.arguments {
                let arg = &arg.node;
                if arg.ty.node.nullable || arg.default_value.is_some() {
                    continue;
                }
                let a = arg.name.node.as_str();
                params.push(format!("${a}: {}", arg.ty.node));
                args.push(format!("{a}: ${a}"));
                variables.insert(a.to_owned(), types.value(&arg.ty.node, a, &coordinate, ids, 0));
            }
            let params = if params.is_empty() { String::new() } else { format!("({})", params.join(", ")) };
            let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
            let selection = types.selection(&field.ty.node);
            out.push(Call {
                document: format!("{operation} Matrix{params} {{ {name}{args}{selection} }}"),
                coordinate,
                variables: Value::Object(variables),
            });
        }
    }
    out
}

/// The demo's ids, by what they are.
#[derive(Debug, Default)]
struct Ids(BTreeMap<&'static str, Uuid>);

impl Ids {
    /// The id an argument names: by its name (`conversationId`), or for a bare `id` by its field
    /// (`updatePost(id)` is a post's); anything else gets an id that is no one's.
    fn for_argument(&self, coordinate: &str, argument: &str) -> Uuid {
        let field = coordinate.split('.').nth(1).unwrap_or_default().to_lowercase();
        let argument = argument.to_lowercase();
        let what = match argument.as_str() {
            "organizationid" | "orgid" => "organization",
            "conversationid" => "conversation",
            "messageid" => "message",
            "userid" | "personid" | "studentid" | "memberid" => "student",
            "postid" => "post",
            "programmeid" => "programme",
            "applicationid" => "application",
            "agreementid" => "agreement",
            "groupid" if field.contains("attendance") || field.contains("makeup") || field.contains("checkin") => {
                "attendance_group"
            }
            "groupid" => "conversation",
            "id" | "ids" => [
                ("attendance", "attendance_group"),
                ("makeup", "make_up"),
                ("organization", "organization"),
                ("conversation", "conversation"),
                ("group", "conversation"),
                ("message", "message"),
                ("post", "post"),
                ("programme", "programme"),
                ("application", "application"),
                ("agreement", "agreement"),
                ("node", "organization"),
            ]
            .into_iter()
            .find(|(part, _)| field.contains(part))
            .map_or("none", |(_, what)| what),
            _ => "none",
        };
        self.0.get(what).copied().unwrap_or_else(Uuid::now_v7)
    }
}

async fn demo_ids(srv: &TestServer) -> Ids {
    let db = &srv.ctx.db;
    let mut ids = Ids::default();
    macro_rules! first {
        ($what:literal, $entity:path) => {{
            use $entity as e;
            if let Some(row) = e::Entity::find().one(db).await.expect("reads") {
                ids.0.insert($what, row.id);
            }
        }};
    }
    first!("organization", xqt_accounts::entity::organization);
    first!("conversation", xqt_chat::entity::conversation);
    first!("message", xqt_chat::entity::message);
    first!("post", xqt_cooperation::entity::post);
    first!("programme", xqt_cooperation::entity::programme);
    first!("application", xqt_cooperation::entity::application);
    first!("agreement", xqt_cooperation::entity::agreement);
    first!("attendance_group", xqt_attendance::entity::group);
    let phone = xqt_accounts::phone::Phone::parse(xqt::demo::PEOPLE[5].0).expect("a phone");
    let student =
        xqt_accounts::users::find_by_phone(&srv.ctx, &phone).await.expect("reads").expect("the demo's student");
    ids.0.insert("student", student.id);
    for what in
        ["organization", "conversation", "message", "post", "programme", "application", "agreement", "attendance_group"]
    {
        assert!(ids.0.contains_key(what), "the demo has no {what}");
    }
    ids
}

/// Fields that end the caller's session.
const ENDS_SESSIONS: [&str; 2] = ["Mutation.signOut", "Mutation.signOutEverywhere"];

/// The signed-in outsiders: a person who has not verified their identity, the verified owner
/// of another organisation, and a child of ten awaiting a guardian.
struct People {
    unverified: Person,
    other: Person,
    child: Person,
}

impl People {
    async fn new(srv: &TestServer) -> Self {
        let unverified = srv.person().await;
        let other = srv.verified_person().await;
        srv.ok(
            "mutation { createOrganization(kind: ENTERPRISE, input: { name: \"另一家企业\", address: \"别处\" }) { id } }",
            json!({}),
            Some(&other.token),
        )
        .await;
        let child = srv.person().await;
        let birth = (chrono::Utc::now() - chrono::Duration::days(365 * 10)).date_naive();
        srv.ok(
            "mutation($d: NaiveDate!) { updateProfile(input: { birthDate: $d }) { id } }",
            json!({ "d": birth }),
            Some(&child.token),
        )
        .await;
        Self { unverified, other, child }
    }
}

/// How an answer came out: the first error's code and reason, if any.
fn outcome(body: &Value) -> (Option<String>, Option<String>) {
    let e = &body["errors"][0]["extensions"];
    (e["code"].as_str().map(str::to_owned), e["reason"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn sec_5_every_field_of_the_schema_refuses_every_outsider_it_should() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let now = chrono::Utc::now();
        xqt::demo::seed_on(&srv.ctx, &b.clock, now).await.expect("the demo seeds");
        b.clock.set(now);
        let mut members = Vec::new();
        for (phone, ..) in &xqt::demo::PEOPLE[1..] {
            members.push(srv.sign_in(phone).await);
        }
        // The demo signs no agreement: its programme's school drafts one, so there is one to ask for.
        let programme = xqt_cooperation::entity::programme::Entity::find().one(&srv.ctx.db).await.unwrap().expect("a programme");
        let mut drafted = false;
        for m in &members {
            let a = srv.gql("mutation($p: ID!) { createAgreement(programmeId: $p) { id } }", json!({ "p": programme.id }), Some(&m.token)).await;
            drafted |= a.body["data"]["createAgreement"]["id"].is_string();
        }
        assert!(drafted, "a demo member drafts the programme's agreement");
        let ids = demo_ids(&srv).await;
        let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/schema.graphql")).unwrap();
        let calls = calls(&sdl, &ids);

        // Every field has a door, and every door a field.
        let fields: BTreeSet<&str> = calls.iter().map(|c| c.coordinate.as_str()).collect();
        let doors: BTreeMap<&str, (Door, Option<&str>)> = DOORS.iter().map(|(f, d, s)| (*f, (*d, *s))).collect();
        let missing: Vec<&&str> = fields.iter().filter(|f| !doors.contains_key(**f)).collect();
        let stale: Vec<&&str> = doors.keys().filter(|f| !fields.contains(**f)).collect();
        let discovering = std::env::var("XQT_MATRIX_DISCOVER").is_ok();
        assert!(discovering || (missing.is_empty() && stale.is_empty()), "fields without a door: {missing:?}; doors without a field: {stale:?}");

        // The viewers.
        let admin = srv.admin().await;
        let people = People::new(&srv).await;
        let partner = srv.ok("mutation { createPartner(name: \"矩阵合作方\") { id } }", json!({}), Some(&admin.token)).await["createPartner"]["id"].clone();
        let scopes: Vec<String> = srv.ok("{ scopes { id } }", json!({}), Some(&admin.token)).await["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        let token = async |held: Vec<&String>| -> String {
            let issued = srv
                .ok(
                    "mutation($p: ID!, $s: [String!]!) { createPartnerToken(partnerId: $p, name: \"矩阵\", scopes: $s, validDays: 1) { secret } }",
                    json!({ "p": partner, "s": held }),
                    Some(&admin.token),
                )
                .await;
            issued["createPartnerToken"]["secret"].as_str().unwrap().to_owned()
        };
        let all_scopes = token(scopes.iter().collect()).await;
        let mut without = BTreeMap::new();
        for s in &scopes {
            without.insert(s.clone(), token(scopes.iter().filter(|x| *x != s).collect()).await);
        }

        // Nothing of the demo's people is shown unmasked to any of them.
        let secrets: Vec<&str> = xqt::demo::PEOPLE.iter().flat_map(|(phone, name, _, _)| [*phone, *name]).collect();

        let mut checked = 0;
        let mut failures = Vec::new();
        let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for call in &calls {
            let (door, scope) = doors.get(call.coordinate.as_str()).copied().unwrap_or((Door::Admin, None));
            // Signing out ends the viewer's session: those fields get people of their own.
            let fresh;
            let people = if ENDS_SESSIONS.contains(&call.coordinate.as_str()) {
                fresh = People::new(&srv).await;
                &fresh
            } else {
                &people
            };
            for viewer in VIEWERS {
                let token = match viewer {
                    Viewer::Anonymous => None,
                    Viewer::Unverified => Some(people.unverified.token.clone()),
                    Viewer::OtherOrganisation => Some(people.other.token.clone()),
                    Viewer::AwaitingGuardian => Some(people.child.token.clone()),
                    Viewer::PartnerWithScope => Some(all_scopes.clone()),
                    Viewer::PartnerWithoutScope => Some(scope.map_or(all_scopes.clone(), |s| without[s].clone())),
                };
                let body = if call.coordinate.starts_with("Subscription.") {
                    subscribe(&srv, &admin, token.as_deref(), viewer, call).await
                } else {
                    srv.gql(&call.document, call.variables.clone(), token.as_deref()).await.body
                };
                checked += 1;
                let (code, reason) = outcome(&body);
                table.entry(call.coordinate.clone()).or_default().push(format!(
                    "{viewer:?}={}{}",
                    code.as_deref().unwrap_or("ok"),
                    reason.map(|r| format!("/{r}")).unwrap_or_default()
                ));
                let text = body.to_string();
                if code.as_deref() == Some("INTERNAL") {
                    failures.push(format!("{} as {viewer:?}: INTERNAL {body}", call.coordinate));
                }
                if let Some(s) = secrets.iter().find(|s| text.contains(**s)) {
                    failures.push(format!("{} as {viewer:?} shows {s}: {body}", call.coordinate));
                }
                let field = call.coordinate.split('.').nth(1).unwrap();
                match expect(door, scope, viewer) {
                    Expect::Answers => {
                        if code.is_none() && body["data"][field].is_null() {
                            failures.push(format!("{} as {viewer:?}: neither data nor a code {body}", call.coordinate));
                        }
                    }
                    Expect::Passes => {
                        if matches!(code.as_deref(), Some("UNAUTHENTICATED" | "FORBIDDEN")) {
                            failures.push(format!("{} ({door:?}) as {viewer:?}: refused {body}", call.coordinate));
                        }
                    }
                    Expect::Refused(codes) => {
                        let refused = code.as_deref().is_some_and(|c| codes.contains(&c));
                        let data = &body["data"][field];
                        if !refused || !(data.is_null()) {
                            failures.push(format!("{} ({door:?}) as {viewer:?}: expected {codes:?}, got {body}", call.coordinate));
                        }
                    }
                }
            }
        }
        // The control: a demo member asking the same Member queries with the same ids gets
        // through, so the outsiders' refusals above were the door and not ids that are no one's.
        let mut controlled = 0;
        let mut uncontrolled = Vec::new();
        for call in calls.iter().filter(|c| c.coordinate.starts_with("Query.")) {
            if doors.get(call.coordinate.as_str()).map(|d| d.0) != Some(Door::Member) {
                continue;
            }
            let mut passed = false;
            for member in &members {
                let body = srv.gql(&call.document, call.variables.clone(), Some(&member.token)).await.body;
                if body["errors"].is_null() {
                    passed = true;
                    break;
                }
            }
            if passed {
                controlled += 1;
            } else {
                uncontrolled.push(call.coordinate.clone());
            }
        }
        assert!(
            uncontrolled.is_empty(),
            "member-only queries no demo member could answer with the demo's ids (so the ids are wrong): {uncontrolled:?}"
        );
        if discovering {
            for (field, row) in &table {
                println!("{field}: {}", row.join(" "));
            }
        }
        println!(
            "matrix ({}): {} fields × {} viewers = {checked} checked, {} not as expected; \
             {controlled} member-only queries answered to a demo member with the same ids",
            b.name,
            calls.len(),
            VIEWERS.len(),
            failures.len()
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    })
    .await;
}

/// A subscription as a viewer: the refusal it gets, or — when it is let through — the first event
/// after a notification is sent to the viewer, so an accepted subscription is seen to work.
async fn subscribe(srv: &TestServer, admin: &Person, token: Option<&str>, viewer: Viewer, call: &Call) -> Value {
    let mut ws = match srv.ws_init(token).await {
        Ok(ws) => ws,
        // Refused at the handshake: 4401 is graphql-ws' "unauthorised", 4403 "forbidden".
        Err(WsEvent::Closed(4401, why)) => return refusal("UNAUTHENTICATED", &why),
        Err(WsEvent::Closed(4403, why)) => return refusal("FORBIDDEN", &why),
        Err(other) => panic!("{} as {viewer:?}: the handshake ended {other:?}", call.coordinate),
    };
    ws.subscribe("m", &call.document, call.variables.clone()).await;
    let me = match viewer {
        Viewer::Unverified | Viewer::OtherOrganisation | Viewer::AwaitingGuardian => {
            srv.gql("{ me { id } }", json!({}), token).await.body["data"]["me"]["id"].clone()
        }
        _ => Value::Null,
    };
    if !me.is_null() {
        let _: Answer = srv
            .gql(
                "mutation($u: ID!) { sendNotification(input: { userId: $u, title: \"矩阵\" }) { id } }",
                json!({ "u": me }),
                Some(&admin.token),
            )
            .await;
    }
    match ws.next().await {
        WsEvent::Message(m) if m["type"] == "next" => m["payload"].clone(),
        WsEvent::Message(m) if m["type"] == "error" => json!({ "errors": m["payload"] }),
        WsEvent::Closed(4401, why) => refusal("UNAUTHENTICATED", &why),
        WsEvent::Closed(4403, why) => refusal("FORBIDDEN", &why),
        other => panic!("{} as {viewer:?}: {other:?}", call.coordinate),
    }
}

/// A WebSocket's refusal, written as GraphQL's.
fn refusal(code: &str, why: &str) -> Value {
    json!({ "errors": [{ "message": why, "extensions": { "code": code } }] })
}
