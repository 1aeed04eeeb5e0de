//! SEC-5: every root field is authorised. A stranger tries each query and mutation against a
//! victim who has data everywhere; nothing of the victim's is read or changed. The test also
//! checks it covered every root field the schema has, so a new field cannot skip this.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use xqt_tests::{Answer, Person, TestServer, on_each_backend};

struct Run<'a> {
    srv: &'a TestServer,
    exercised: BTreeSet<String>,
}

impl Run<'_> {
    async fn call(&mut self, field: &str, query: &str, vars: Value, who: Option<&Person>) -> Answer {
        self.exercised.insert(field.to_owned());
        self.srv.gql(query, vars, who.map(|p| p.token.as_str())).await
    }
}

async fn schema_fields(srv: &TestServer) -> BTreeSet<String> {
    let a = srv
        .gql("{ __schema { queryType { fields { name } } mutationType { fields { name } } } }", json!({}), None)
        .await;
    let mut out = BTreeSet::new();
    for (root, key) in [("Query", "queryType"), ("Mutation", "mutationType")] {
        for f in a.body["data"]["__schema"][key]["fields"].as_array().unwrap() {
            out.insert(format!("{root}.{}", f["name"].as_str().unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn sec_5_no_one_reads_or_changes_another_persons_account_or_organisation() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let victim = srv.verified_person().await;
        let third = srv.person().await;
        let stranger = srv.person().await;

        // The victim's data, everywhere.
        srv.ok("mutation { updateProfile(input: { nickname: \"受害者\" }) { id } }", json!({}), Some(&victim.token)).await;
        srv.ok("mutation($u: ID!) { sendNotification(input: { userId: $u, title: \"给受害者的通知\" }) { id } }", json!({ "u": victim.id }), Some(&admin.token)).await;
        let org = |name: &str| format!("mutation {{ createOrganization(kind: SCHOOL, input: {{ name: \"{name}\", address: \"保密地址\" }}) {{ id }} }}");
        let hidden = srv.gql(&org("受害者的未认证学校"), json!({}), Some(&victim.token)).await.body["data"]["createOrganization"]["id"].clone();
        let public = srv.gql(&org("受害者的已认证学校"), json!({}), Some(&victim.token)).await.body["data"]["createOrganization"]["id"].clone();
        srv.ok("mutation($id: ID!) { submitOrganizationVerification(id: $id, creditCode: \"91350100M000100Y43\") { id } }", json!({ "id": public }), Some(&victim.token)).await;
        for a in ["START", "APPROVE"] {
            srv.ok("mutation($id: ID!, $a: ReviewAction!) { reviewOrganizationVerification(id: $id, action: $a) { id } }", json!({ "id": public, "a": a }), Some(&admin.token)).await;
        }
        let report = srv.gql("mutation($u: ID!) { report(input: { userId: $u, category: SPAM, description: \"受害者提交的举报\" }) { id } }", json!({ "u": third.id }), Some(&victim.token)).await;
        let report_id = report.body["data"]["report"]["id"].clone();
        let victim_iv = xqt_accounts::verification::latest(&srv.ctx, victim.id).await.unwrap().unwrap().id;
        srv.ok("mutation { grantConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), Some(&victim.token)).await;
        let events = json!([{ "name": "page_view", "occurredAt": chrono::Utc::now().to_rfc3339() }, { "name": "click", "occurredAt": chrono::Utc::now().to_rfc3339() }]);
        srv.ok("mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored } }", json!({ "e": events }), Some(&victim.token)).await;
        let policy = srv.gql("{ policyDocuments { current { id } } }", json!({}), None).await.body["data"]["policyDocuments"][0]["current"]["id"].clone();
        let victim_request = srv.gql("mutation { submitPrivacyRequest(input: { kind: EXPLANATION, description: \"受害者的请求\" }) { id } }", json!({}), Some(&victim.token)).await.body["data"]["submitPrivacyRequest"]["id"].clone();

        let unread_before = srv.gql("{ unreadNotificationCount }", json!({}), Some(&victim.token)).await.body["data"]["unreadNotificationCount"].clone();
        assert!(unread_before.as_i64().unwrap() >= 1);
        let mut run = Run { srv: &srv, exercised: BTreeSet::new() };
        let s = Some(&stranger);

        // Admin-only fields: a signed-in stranger is FORBIDDEN, an anonymous caller UNAUTHENTICATED.
        let admin_only: Vec<(&str, &str, Value)> = vec![
            ("Query.identityVerificationQueue", "{ identityVerificationQueue { edges { cursor } } }", json!({})),
            ("Query.organizationVerificationQueue", "{ organizationVerificationQueue { edges { cursor } } }", json!({})),
            ("Query.partners", "{ partners { id } }", json!({})),
            ("Query.reportQueue", "{ reportQueue { edges { cursor } } }", json!({})),
            ("Mutation.reviewIdentityVerification", "mutation($id: ID!) { reviewIdentityVerification(id: $id, action: START) { state } }", json!({ "id": victim_iv })),
            ("Mutation.reviewOrganizationVerification", "mutation($id: ID!) { reviewOrganizationVerification(id: $id, action: START) { id } }", json!({ "id": hidden })),
            ("Mutation.createPartner", "mutation { createPartner(name: \"冒名合作方\") { id } }", json!({})),
            ("Mutation.createPartnerToken", "mutation($id: ID!) { createPartnerToken(partnerId: $id, name: \"x\", scopes: [\"notifications:send\"], validDays: 1) { secret } }", json!({ "id": uuid::Uuid::now_v7() })),
            ("Mutation.revokePartnerToken", "mutation($id: ID!) { revokePartnerToken(id: $id) }", json!({ "id": uuid::Uuid::now_v7() })),
            ("Mutation.reviewReport", "mutation($id: ID!) { reviewReport(id: $id, decision: DISMISS, reason: \"x\") { state } }", json!({ "id": report_id })),
            ("Mutation.liftRestriction", "mutation($id: ID!) { liftRestriction(id: $id) }", json!({ "id": uuid::Uuid::now_v7() })),
            ("Mutation.sendNotification", "mutation($u: ID!) { sendNotification(input: { userId: $u, title: \"伪造通知\" }) { id } }", json!({ "u": victim.id })),
            ("Query.auditLog", "query($u: ID) { auditLog(subjectUserId: $u) { action } }", json!({ "u": victim.id })),
            ("Query.partnerPerson", "query($u: ID!) { partnerPerson(userId: $u) { phone } }", json!({ "u": victim.id })),
            ("Query.peopleStatistics", "{ peopleStatistics(dimension: GENDER) { suppressedGroups } }", json!({})),
            ("Mutation.publishPolicyVersion", "mutation($t: DateTime!) { publishPolicyVersion(input: { document: PRIVACY_POLICY, version: \"6.6\", title: \"伪造\", body: \"伪造\", summary: \"伪造\", effectiveAt: $t, majorKinds: [], affects: [] }) { id } }", json!({ "t": chrono::Utc::now().to_rfc3339() })),
            ("Mutation.registerPartnerProcessing", "mutation($p: ID!) { registerPartnerProcessing(input: { partnerId: $p, purpose: \"partner_sharing\", dataCategories: [\"profile\"], description: \"x\" }) { purpose } }", json!({ "p": uuid::Uuid::now_v7() })),
            ("Query.privacyRequestQueue", "{ privacyRequestQueue { id } }", json!({})),
            ("Mutation.actOnPrivacyRequest", "mutation($id: ID!) { actOnPrivacyRequest(id: $id, action: DENY, text: \"伪造\") { state } }", json!({ "id": victim_request })),
            ("Query.incidents", "{ incidents { id } }", json!({})),
            ("Mutation.recordIncident", "mutation($t: DateTime!) { recordIncident(input: { title: \"x\", whatHappened: \"x\", dataTypes: \"x\", cause: \"x\", impact: \"x\", measures: \"x\", advice: \"x\", remedies: \"x\", contact: \"x\", occurredAt: $t }) { id } }", json!({ "t": chrono::Utc::now().to_rfc3339() })),
            ("Mutation.notifyIncident", "mutation($u: ID!) { notifyIncident(id: $u, userIds: [$u]) }", json!({ "u": victim.id })),
            ("Mutation.publishIncidentNotice", "mutation($u: ID!) { publishIncidentNotice(id: $u, notice: \"伪造公告\") { id } }", json!({ "u": uuid::Uuid::now_v7() })),
            ("Mutation.recordRegulatorReport", "mutation($u: ID!, $t: DateTime!) { recordRegulatorReport(id: $u, authority: \"x\", reference: \"x\", reportedAt: $t) { id } }", json!({ "u": uuid::Uuid::now_v7(), "t": chrono::Utc::now().to_rfc3339() })),
            ("Mutation.unmaskPersonalData", "mutation($u: ID!) { unmaskPersonalData(userId: $u, reason: \"我想看看\") { phone } }", json!({ "u": victim.id })),
            // Partner-only: a person is refused the same way.
            ("Query.webhooks", "{ webhooks { id } }", json!({})),
            ("Mutation.registerWebhook", "mutation { registerWebhook(url: \"https://evil.example.com/h\", events: [\"accounts.organization.verified\"]) { secret } }", json!({})),
            ("Mutation.deleteWebhook", "mutation($u: ID!) { deleteWebhook(id: $u) }", json!({ "u": uuid::Uuid::now_v7() })),
            ("Mutation.pingWebhook", "mutation($u: ID!) { pingWebhook(id: $u) { id } }", json!({ "u": uuid::Uuid::now_v7() })),
        ];
        for (field, query, vars) in &admin_only {
            assert_eq!(run.call(field, query, vars.clone(), s).await.code(), Some("FORBIDDEN"), "{field} as a stranger");
            assert_eq!(run.call(field, query, vars.clone(), None).await.code(), Some("UNAUTHENTICATED"), "{field} anonymously");
        }

        // Self-scoped reads: the stranger sees only their own.
        let a = run.call("Query.me", "{ me { id nickname phone } }", json!({}), s).await;
        assert_eq!(a.body["data"]["me"]["id"], stranger.id.to_string());
        let a = run.call("Query.notifications", "{ notifications { edges { node { title } } } }", json!({}), s).await;
        assert!(!a.body.to_string().contains("给受害者的通知"));
        let a = run.call("Query.unreadNotificationCount", "{ unreadNotificationCount }", json!({}), s).await;
        assert_eq!(a.body["data"]["unreadNotificationCount"], 0);
        let a = run.call("Query.mySessions", "{ mySessions { id } }", json!({}), s).await;
        assert!(!a.body.to_string().contains(&victim.session.to_string()));
        let a = run.call("Query.mySecurityLog", "{ mySecurityLog { edges { node { kind } } } }", json!({}), s).await;
        assert_eq!(a.body["data"]["mySecurityLog"]["edges"].as_array().unwrap().len(), 1, "the stranger's one sign-in, not the victim's log");
        let a = run.call("Query.myOrganizations", "{ myOrganizations { role } }", json!({}), s).await;
        assert_eq!(a.body["data"]["myOrganizations"], json!([]));
        let a = run.call("Query.myReports", "{ myReports { id } }", json!({}), s).await;
        assert_eq!(a.body["data"]["myReports"], json!([]));
        let a = run.call("Query.myRestrictions", "{ myRestrictions { id } }", json!({}), s).await;
        assert_eq!(a.body["data"]["myRestrictions"], json!([]));

        // Privacy: the stranger's own consents, policies, ledger and settings; the victim's
        // profile shows nothing the victim did not make public.
        for (field, query) in [
            ("Query.pendingPolicies", "{ pendingPolicies { id } }"),
            ("Query.myConsents", "{ myConsents { purpose } }"),
            ("Query.myProfileVisibility", "{ myProfileVisibility { field } }"),
            ("Query.mySharingLedger", "{ mySharingLedger { purpose } }"),
        ] {
            let a = run.call(field, query, json!({}), s).await;
            let key = field.trim_start_matches("Query.");
            assert_eq!(a.body["data"][key], json!([]), "{field}: {:?}", a.body);
            assert_eq!(run.call(field, query, json!({}), None).await.code(), Some("UNAUTHENTICATED"), "{field}");
        }
        let a = run.call("Query.cancellationPrecheck", "{ cancellationPrecheck { code } }", json!({}), s).await;
        assert_eq!(a.body["data"]["cancellationPrecheck"], json!([]), "the stranger's own blockers: none");
        let a = run.call("Query.myPrivacyRequests", "{ myPrivacyRequests { id } }", json!({}), s).await;
        assert_eq!(a.body["data"]["myPrivacyRequests"], json!([]));
        for (field, query) in [
            ("Mutation.resendPrivacyRequestCode", "mutation($id: ID!) { resendPrivacyRequestCode(id: $id) }"),
            ("Mutation.verifyPrivacyRequest", "mutation($id: ID!) { verifyPrivacyRequest(id: $id, code: \"000000\") { id } }"),
            ("Mutation.cancelPrivacyRequest", "mutation($id: ID!) { cancelPrivacyRequest(id: $id) { id } }"),
        ] {
            assert_eq!(run.call(field, query, json!({ "id": victim_request }), s).await.code(), Some("NOT_FOUND"), "{field}");
        }
        let a = run.call("Mutation.submitPrivacyRequest", "mutation { submitPrivacyRequest(input: { kind: ACCESS }) { state } }", json!({}), s).await;
        assert_eq!(a.body["data"]["submitPrivacyRequest"]["state"], "IDENTITY_UNVERIFIED", "the stranger's own request");
        let a = run.call("Query.privacyStatus", "{ privacyStatus { accountState pendingPolicies { id } } }", json!({}), s).await;
        assert_eq!(a.body["data"]["privacyStatus"], json!({ "accountState": "ACTIVE", "pendingPolicies": [] }));
        let a = run.call("Query.publicProfile", "query($u: ID!) { publicProfile(userId: $u) { nickname realName } }", json!({ "u": victim.id }), s).await;
        assert_eq!(a.body["data"]["publicProfile"], json!({ "nickname": null, "realName": null }), "nothing the victim kept private");
        for (field, query, vars) in [
            ("Query.policyDocuments", "{ policyDocuments { document } }", json!({})),
            ("Query.policyVersions", "{ policyVersions(document: PRIVACY_POLICY) { version } }", json!({})),
            ("Query.policyVersion", "query($id: ID!) { policyVersion(id: $id) { version } }", json!({ "id": policy })),
            ("Query.purposes", "{ purposes { id } }", json!({})),
            ("Query.scopes", "{ scopes { id module description } }", json!({})),
            ("Query.webhookEvents", "{ webhookEvents { id scope description } }", json!({})),
            ("Query.node", "query($id: ID!) { node(id: $id) { id } }", json!({ "id": uuid::Uuid::now_v7() })),
            ("Query.nodes", "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": [uuid::Uuid::now_v7()] })),
            ("Query.clientPermissions", "{ clientPermissions { permission } }", json!({})),
            ("Query.partnerRegister", "{ partnerRegister { purpose } }", json!({})),
            ("Query.incidentNotices", "{ incidentNotices { title } }", json!({})),
        ] {
            let a = run.call(field, query, vars, None).await;
            assert_eq!(a.body.get("errors"), None, "{field} is public: {:?}", a.body);
        }
        run.call("Mutation.acceptPolicy", "mutation($v: ID!) { acceptPolicy(versionId: $v) { id } }", json!({ "v": policy }), s).await;
        run.call("Mutation.grantConsent", "mutation { grantConsent(input: { purpose: \"public_profile\" }) { id } }", json!({}), s).await;
        run.call("Mutation.refuseConsent", "mutation { refuseConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), s).await;
        let a = run.call("Mutation.withdrawConsent", "mutation { withdrawConsent(input: { purpose: \"analytics\" }) { id } }", json!({}), s).await;
        assert_eq!(a.code(), Some("CONFLICT"), "the victim's grant is not the stranger's to withdraw");
        run.call("Mutation.recordAnalyticsEvents", "mutation($e: [AnalyticsEventInput!]!) { recordAnalyticsEvents(events: $e) { stored } }", json!({ "e": events }), s).await;
        let a = run.call("Mutation.deleteMyAnalyticsData", "mutation { deleteMyAnalyticsData }", json!({}), s).await;
        assert_eq!(a.body["data"]["deleteMyAnalyticsData"], 0);
        run.call("Mutation.setProfileVisibility", "mutation { setProfileVisibility(field: NICKNAME, visible: true) }", json!({}), s).await;
        b.clock.advance(chrono::Duration::seconds(61)); // the stranger's request texted them a code
        let a = run.call("Mutation.requestGuardianCode", "mutation($p: String!) { requestGuardianCode(guardianPhone: $p) }", json!({ "p": stranger.phone }), None).await;
        assert_eq!(a.body, json!({ "data": { "requestGuardianCode": true } }), "the code goes to the phone, never into the response");
        let a = run.call("Mutation.confirmGuardianConsent", "mutation($p: String!) { confirmGuardianConsent(input: { guardianPhone: $p, code: \"000000\", relationship: \"父亲\" }) { id } }", json!({ "p": stranger.phone }), s).await;
        assert_eq!(a.code(), Some("CONFLICT"), "an adult's account has no guardian step");
        let a = run.call("Mutation.withdrawGuardianConsent", "mutation($c: String!, $p: String!) { withdrawGuardianConsent(input: { childPhone: $c, guardianPhone: $p, code: \"000000\" }) { id } }", json!({ "c": victim.phone, "p": stranger.phone }), None).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "without the guardian's code nothing happens: {:?}", a.body);

        // Organisations: an unverified one is invisible, a verified one shows only its public face.
        let q = "query($id: ID!) { organization(id: $id) { name address creditCode myRole } }";
        assert_eq!(run.call("Query.organization", q, json!({ "id": hidden }), s).await.body["data"]["organization"], Value::Null);
        assert_eq!(
            run.call("Query.organization", q, json!({ "id": public }), s).await.body["data"]["organization"],
            json!({ "name": "受害者的已认证学校", "address": null, "creditCode": null, "myRole": null })
        );
        let targeted: Vec<(&str, &str, Value)> = vec![
            ("Mutation.updateOrganization", "mutation($o: ID!) { updateOrganization(id: $o, input: { name: \"被改名\" }) { id } }", json!({})),
            ("Mutation.submitOrganizationVerification", "mutation($o: ID!) { submitOrganizationVerification(id: $o, creditCode: \"91350100M000100Y43\") { id } }", json!({})),
            ("Mutation.createOrganizationInvite", "mutation($o: ID!) { createOrganizationInvite(organizationId: $o, role: ADMIN) { code } }", json!({})),
            ("Mutation.changeMemberRole", "mutation($o: ID!, $u: ID!) { changeMemberRole(organizationId: $o, userId: $u, role: MEMBER) }", json!({ "u": victim.id })),
            ("Mutation.removeMember", "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }", json!({ "u": victim.id })),
        ];
        for (field, query, extra) in &targeted {
            for (org, expected) in [(&hidden, "NOT_FOUND"), (&public, "FORBIDDEN")] {
                let mut vars = extra.clone();
                vars["o"] = org.clone();
                assert_eq!(run.call(field, query, vars, s).await.code(), Some(expected), "{field} on {org}");
            }
        }
        let a = run.call("Mutation.joinOrganization", "mutation { joinOrganization(code: \"xqt_inv_guessed\") { id } }", json!({}), s).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "no way in without an invite");

        // Sessions and sign-in: nothing reaches the victim's.
        let a = run.call("Mutation.endSession", "mutation($id: ID!) { endSession(id: $id) }", json!({ "id": victim.session }), s).await;
        assert_eq!(a.code(), Some("NOT_FOUND"));
        let a = run.call("Mutation.requestSignInCode", "mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": victim.phone }), None).await;
        assert_eq!(a.body, json!({ "data": { "requestSignInCode": true } }), "the code goes to the phone, never into the response");
        let a = run.call("Mutation.signInWithCode", "mutation($p: String!) { signInWithCode(input: { phone: $p, code: \"000000\" }) { accessToken } }", json!({ "p": victim.phone }), None).await;
        assert!(matches!(a.code(), Some("BAD_USER_INPUT") | Some("RATE_LIMITED")), "{:?}", a.body);
        let a = run.call("Mutation.signInWithPassword", "mutation($p: String!) { signInWithPassword(input: { login: $p, password: \"Guess!1234\" }) { accessToken } }", json!({ "p": victim.phone }), None).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"));
        let a = run.call("Mutation.refreshSession", "mutation { refreshSession(refreshToken: \"xqt_rt_guessed\") { accessToken } }", json!({}), None).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"));
        let a = run.call("Mutation.changePhone", "mutation($p: String!) { changePhone(newPhone: $p, code: \"123456\") { phone } }", json!({ "p": victim.phone }), s).await;
        assert!(a.code().is_some(), "the victim's number cannot be taken without its code: {:?}", a.body);

        // Chat: the victim's conversations, messages and calls are invisible and untouchable.
        let direct = srv.gql("mutation($u: ID!) { openDirectConversation(userId: $u) { id } }", json!({ "u": third.id }), Some(&victim.token)).await.body["data"]["openDirectConversation"]["id"].clone();
        let group = srv.gql("mutation($u: ID!) { createGroup(input: { name: \"受害者的群\", memberIds: [$u] }) { id } }", json!({ "u": third.id }), Some(&victim.token)).await.body["data"]["createGroup"]["id"].clone();
        let said = srv.gql("mutation($c: ID!) { sendMessage(input: { conversationId: $c, clientMessageId: \"v-1\", kind: TEXT, text: \"受害者的私信\" }) { id } }", json!({ "c": direct }), Some(&victim.token)).await.body["data"]["sendMessage"]["id"].clone();
        let call = srv.gql("mutation($c: ID!) { inviteCall(conversationId: $c, media: AUDIO) { id } }", json!({ "c": group }), Some(&victim.token)).await.body["data"]["inviteCall"]["id"].clone();
        assert!(!said.is_null() && !call.is_null() && !group.is_null());
        let chat: Vec<(&str, &str, Value)> = vec![
            ("Query.conversation", "query($c: ID!) { conversation(id: $c) { id } }", json!({ "c": direct })),
            ("Query.messages", "query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }", json!({ "c": direct })),
            ("Query.conversationPresence", "query($c: ID!) { conversationPresence(conversationId: $c) { online } }", json!({ "c": direct })),
            ("Mutation.openOrganizationChannel", "mutation($o: ID!) { openOrganizationChannel(organizationId: $o) { id } }", json!({ "o": public })),
            ("Mutation.addGroupMembers", "mutation($c: ID!, $u: ID!) { addGroupMembers(conversationId: $c, userIds: [$u]) }", json!({ "c": group, "u": stranger.id })),
            ("Mutation.removeGroupMember", "mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) }", json!({ "c": group, "u": third.id })),
            ("Mutation.leaveConversation", "mutation($c: ID!) { leaveConversation(conversationId: $c) }", json!({ "c": group })),
            ("Mutation.setGroupAdmin", "mutation($c: ID!, $u: ID!) { setGroupAdmin(conversationId: $c, userId: $u, admin: true) }", json!({ "c": group, "u": third.id })),
            ("Mutation.updateGroup", "mutation($c: ID!) { updateGroup(conversationId: $c, name: \"被改名的群\") { id } }", json!({ "c": group })),
            ("Mutation.setConversationMuted", "mutation($c: ID!) { setConversationMuted(conversationId: $c, muted: true) { id } }", json!({ "c": direct })),
            ("Mutation.sendMessage", "mutation($c: ID!) { sendMessage(input: { conversationId: $c, clientMessageId: \"s-1\", kind: TEXT, text: \"混进来\" }) { id } }", json!({ "c": direct })),
            ("Mutation.editMessage", "mutation($m: ID!) { editMessage(messageId: $m, text: \"篡改\") { id } }", json!({ "m": said })),
            ("Mutation.recallMessage", "mutation($m: ID!) { recallMessage(messageId: $m) { id } }", json!({ "m": said })),
            ("Mutation.deleteMessageForMe", "mutation($m: ID!) { deleteMessageForMe(messageId: $m) }", json!({ "m": said })),
            ("Mutation.markConversationRead", "mutation($c: ID!) { markConversationRead(conversationId: $c, seq: 1) }", json!({ "c": direct })),
            ("Mutation.sendTyping", "mutation($c: ID!) { sendTyping(conversationId: $c) }", json!({ "c": direct })),
            ("Mutation.reportMessage", "mutation($m: ID!) { reportMessage(messageId: $m, category: SPAM, description: \"看不到的消息\") }", json!({ "m": said })),
            ("Mutation.inviteCall", "mutation($c: ID!) { inviteCall(conversationId: $c, media: AUDIO) { id } }", json!({ "c": direct })),
            ("Mutation.callRinging", "mutation($i: ID!) { callRinging(callId: $i) { id } }", json!({ "i": call })),
            ("Mutation.acceptCall", "mutation($i: ID!) { acceptCall(callId: $i) { id } }", json!({ "i": call })),
            ("Mutation.rejectCall", "mutation($i: ID!) { rejectCall(callId: $i) { id } }", json!({ "i": call })),
            ("Mutation.cancelCall", "mutation($i: ID!) { cancelCall(callId: $i) { id } }", json!({ "i": call })),
            ("Mutation.hangUpCall", "mutation($i: ID!) { hangUpCall(callId: $i, reason: NORMAL) { id } }", json!({ "i": call })),
        ];
        for (field, query, vars) in &chat {
            let a = run.call(field, query, vars.clone(), s).await;
            assert_eq!(a.code(), Some("NOT_FOUND"), "{field} as a stranger: {:?}", a.body);
            assert_eq!(run.call(field, query, vars.clone(), None).await.code(), Some("UNAUTHENTICATED"), "{field} anonymously");
        }
        let a = run.call("Query.conversations", "{ conversations { edges { cursor } } }", json!({}), s).await;
        assert_eq!(a.body["data"]["conversations"]["edges"], json!([]));
        let a = run.call("Query.searchMessages", "{ searchMessages(text: \"私信\") { id } }", json!({}), s).await;
        assert_eq!(a.body["data"]["searchMessages"], json!([]));
        let a = run.call("Query.inboxCursor", "{ inboxCursor }", json!({}), s).await;
        let cursor = xqt_chat::inbox::Cursor::decode(a.body["data"]["inboxCursor"].as_str().unwrap()).unwrap();
        assert!(cursor.conversations.is_empty(), "a stranger's cursor names none of the victim's conversations");
        assert_eq!(run.call("Query.inboxCursor", "{ inboxCursor }", json!({}), None).await.code(), Some("UNAUTHENTICATED"));
        let a = run.call("Query.pushDevices", "{ pushDevices { id } }", json!({}), s).await;
        assert_eq!(a.body["data"]["pushDevices"], json!([]));
        let a = run.call("Mutation.openDirectConversation", "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }", json!({ "u": victim.id }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "an unverified stranger cannot start chatting");
        let a = run.call("Mutation.createGroup", "mutation($u: ID!) { createGroup(input: { name: \"陌生人的群\", memberIds: [$u] }) { id } }", json!({ "u": victim.id }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"));
        let a = run.call("Mutation.registerPushDevice", "mutation { registerPushDevice(platform: APNS, token: \"stranger-token\") { id } }", json!({}), s).await;
        assert_eq!(a.code(), Some("CONSENT_REQUIRED"));
        let a = run.call("Mutation.unregisterPushDevice", "mutation($i: ID!) { unregisterPushDevice(id: $i) }", json!({ "i": uuid::Uuid::now_v7() }), s).await;
        assert_eq!(a.body["data"]["unregisterPushDevice"], false);
        let victims_chat = srv.gql("query($c: ID!) { conversation(id: $c) { muted lastSeq } messages(conversationId: $c) { edges { node { text recalled } } } }", json!({ "c": direct }), Some(&victim.token)).await;
        assert_eq!(victims_chat.body["data"]["conversation"], json!({ "muted": false, "lastSeq": 1 }));
        assert_eq!(victims_chat.body["data"]["messages"]["edges"], json!([{ "node": { "text": "受害者的私信", "recalled": false } }]));
        let members = srv.gql("query($c: ID!) { conversation(id: $c) { name members { role } } }", json!({ "c": group }), Some(&victim.token)).await;
        assert_eq!(members.body["data"]["conversation"], json!({ "name": "受害者的群", "members": [{ "role": "OWNER" }, { "role": "MEMBER" }] }));

        // Cooperation: the victim's draft is invisible, their published post unchangeable, and
        // nothing of their applications, programmes or agreements can be reached by id.
        let post = |title: &str| format!("mutation($o: ID!) {{ createPost(organizationId: $o, input: {{ kind: INTERNSHIP, title: \"{title}\", body: \"实习内容\" }}) {{ id }} }}");
        let draft = srv.gql(&post("受害者的草稿"), json!({ "o": public }), Some(&victim.token)).await.body["data"]["createPost"]["id"].clone();
        let published = srv.gql(&post("受害者的实习岗位"), json!({ "o": public }), Some(&victim.token)).await.body["data"]["createPost"]["id"].clone();
        srv.ok("mutation($p: ID!) { publishPost(id: $p) { id } }", json!({ "p": published }), Some(&victim.token)).await;
        assert!(!draft.is_null() && !published.is_null());
        let input = "{ kind: INTERNSHIP, title: \"被篡改\", body: \"篡改\" }";
        let on_posts: Vec<(&str, String)> = vec![
            ("Query.post", "query($p: ID!) { post(id: $p) { id } }".into()),
            ("Query.postHistory", "query($p: ID!) { postHistory(id: $p) { version } }".into()),
            ("Mutation.updatePost", format!("mutation($p: ID!) {{ updatePost(id: $p, input: {input}) {{ id }} }}")),
            ("Mutation.publishPost", "mutation($p: ID!) { publishPost(id: $p) { id } }".into()),
            ("Mutation.closePost", "mutation($p: ID!) { closePost(id: $p) { id } }".into()),
            ("Mutation.withdrawPost", "mutation($p: ID!) { withdrawPost(id: $p) { id } }".into()),
            ("Mutation.setPostVisibility", "mutation($p: ID!) { setPostVisibility(id: $p, visibility: PRIVATE) { id } }".into()),
            ("Mutation.addFavourite", "mutation($p: ID!) { addFavourite(kind: POST, id: $p) }".into()),
            ("Mutation.reportPost", "mutation($p: ID!) { reportPost(id: $p, category: SPAM, description: \"看不到的岗位\") { id } }".into()),
        ];
        for (field, query) in &on_posts {
            let a = run.call(field, query, json!({ "p": draft }), s).await;
            assert_eq!(a.code(), Some("NOT_FOUND"), "{field} on the victim's draft: {:?}", a.body);
        }
        for (field, query) in on_posts.iter().filter(|(f, _)| f.contains("Post") && !f.contains("report")) {
            if *field == "Query.post" {
                continue;
            }
            let a = run.call(field, query, json!({ "p": published }), s).await;
            assert_eq!(a.code(), Some("FORBIDDEN"), "{field} on the victim's published post: {:?}", a.body);
        }
        let nobody = json!({ "i": uuid::Uuid::now_v7() });
        let by_id: Vec<(&str, &str)> = vec![
            ("Query.application", "query($i: ID!) { application(id: $i) { id } }"),
            ("Query.programme", "query($i: ID!) { programme(id: $i) { id } }"),
            ("Query.agreement", "query($i: ID!) { agreement(id: $i) { id } }"),
            ("Mutation.stepApplication", "mutation($i: ID!) { stepApplication(id: $i, step: ACCEPT) { id } }"),
            ("Mutation.reportApplication", "mutation($i: ID!) { reportApplication(id: $i, category: FRAUD, description: \"看不到的申请\") { id } }"),
            ("Mutation.createProgramme", "mutation($i: ID!) { createProgramme(input: { applicationId: $i, title: \"项目\", startsOn: \"2027-03-01\", endsOn: \"2027-06-30\", schoolSupervisorId: $i, enterpriseSupervisorId: $i, sites: [{ name: \"厂区\", latitude: 30.0, longitude: 120.0 }] }) { id } }"),
            ("Mutation.inviteStudent", "mutation($i: ID!) { inviteStudent(programmeId: $i, studentId: $i) }"),
            ("Mutation.answerProgrammeInvitation", "mutation($i: ID!) { answerProgrammeInvitation(programmeId: $i, join: true) }"),
            ("Mutation.createAgreement", "mutation($i: ID!) { createAgreement(programmeId: $i) { id } }"),
            ("Mutation.sendAgreement", "mutation($i: ID!) { sendAgreement(id: $i) { id } }"),
            ("Mutation.revokeAgreement", "mutation($i: ID!) { revokeAgreement(id: $i, reason: \"撤销\") { id } }"),
            ("Query.organizationPosts", "query($i: ID!) { organizationPosts(organizationId: $i) { id } }"),
        ];
        for (field, query) in &by_id {
            let a = run.call(field, query, nobody.clone(), s).await;
            assert_eq!(a.code(), Some("NOT_FOUND"), "{field}: {:?}", a.body);
            assert_eq!(run.call(field, query, nobody.clone(), None).await.code(), Some("UNAUTHENTICATED"), "{field} anonymously");
        }
        let a = run.call("Query.organizationPosts", "query($o: ID!) { organizationPosts(organizationId: $o) { id } }", json!({ "o": public }), s).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "only members list an organisation's drafts");
        let a = run.call("Mutation.inviteTalent", "mutation($p: ID!, $t: ID!) { inviteTalent(postId: $p, talentPostId: $t) { id } }", json!({ "p": published, "t": draft }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "{:?}", a.body);
        let a = run.call("Mutation.createPost", &post("陌生人的岗位"), json!({ "o": public }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "an unverified stranger posts nothing, least of all for the victim's school");
        let a = run.call("Mutation.applyToPost", "mutation($p: ID!) { applyToPost(postId: $p) { id } }", json!({ "p": published }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "applying needs a verified real name");
        let a = run.call("Mutation.linkPartnerSync", "mutation($o: ID!, $p: ID!) { linkPartnerSync(organizationId: $o, partnerId: $p) }", json!({ "o": hidden, "p": uuid::Uuid::now_v7() }), s).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "{:?}", a.body);
        let a = run.call("Mutation.linkPartnerSync", "mutation($o: ID!, $p: ID!) { linkPartnerSync(organizationId: $o, partnerId: $p) }", json!({ "o": public, "p": uuid::Uuid::now_v7() }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"));
        let a = run.call("Mutation.syncTalentPool", "mutation($o: ID!) { syncTalentPool(organizationId: $o, entries: []) { postId } }", json!({ "o": public }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "a person is not a school's system");
        let a = run.call("Mutation.removeFavourite", "mutation($p: ID!) { removeFavourite(kind: POST, id: $p) }", json!({ "p": published }), s).await;
        assert_eq!(a.body["data"]["removeFavourite"], false);
        let a = run.call("Query.posts", "{ posts { edges { node { title } } } }", json!({}), s).await;
        assert_eq!(a.body["data"]["posts"]["edges"], json!([{ "node": { "title": "受害者的实习岗位" } }]), "the published post only, never the draft");
        let a = run.call("Query.directory", "{ directory { edges { node { name address } } } }", json!({}), None).await;
        assert!(a.body["data"]["directory"]["edges"].as_array().unwrap().iter().all(|e| e["node"]["address"].is_null()), "{:?}", a.body);
        for (field, query) in [
            ("Query.nearbyPosts", "{ nearbyPosts(latitude: 30.0, longitude: 120.0) { edges { cursor } } }"),
            ("Query.nearbyOrganizations", "{ nearbyOrganizations(latitude: 30.0, longitude: 120.0) { distanceBand } }"),
        ] {
            assert_eq!(run.call(field, query, json!({}), s).await.code(), Some("CONSENT_REQUIRED"), "{field}");
        }
        for (field, query, key, empty) in [
            ("Query.myTalentProfile", "{ myTalentProfile { id } }", "myTalentProfile", Value::Null),
            ("Query.applications", "{ applications(received: true) { id } }", "applications", json!([])),
            ("Query.favourites", "{ favourites { id } }", "favourites", json!([])),
            ("Query.myProgrammes", "{ myProgrammes { id } }", "myProgrammes", json!([])),
        ] {
            let a = run.call(field, query, json!({}), s).await;
            assert_eq!((a.code(), &a.body["data"][key]), (None, &empty), "{field}: {:?}", a.body);
        }
        let victims_posts = srv.gql("query($o: ID!) { organizationPosts(organizationId: $o) { title state version } }", json!({ "o": public }), Some(&victim.token)).await;
        assert_eq!(
            victims_posts.body["data"]["organizationPosts"],
            json!([{ "title": "受害者的实习岗位", "state": "PUBLISHED", "version": 1 }, { "title": "受害者的草稿", "state": "DRAFT", "version": 1 }])
        );

        // Attendance: the victim's group, its checks, days, statistics and make-ups are out of
        // reach; nobody sets up attendance for another's organisation.
        let group = srv.ok("mutation($o: ID!) { createAttendanceGroup(input: { organizationId: $o, settings: { name: \"受害者的考勤组\" }, sites: [{ name: \"校区\", latitude: 30.0, longitude: 120.0 }] }) { id } }", json!({ "o": public }), Some(&victim.token)).await["createAttendanceGroup"]["id"].clone();
        let on_group: Vec<(&str, &str)> = vec![
            ("Query.attendanceGroup", "query($g: ID!) { attendanceGroup(id: $g) { id } }"),
            ("Query.attendanceDays", "query($g: ID!) { attendanceDays(groupId: $g, month: \"2026-10\") { date } }"),
            ("Query.attendanceCheckIns", "query($g: ID!) { attendanceCheckIns(groupId: $g, date: \"2026-10-08\") { id } }"),
            ("Query.attendanceMonth", "query($g: ID!) { attendanceMonth(groupId: $g, month: \"2026-10\") { daysDue } }"),
            ("Query.attendanceGroupMonth", "query($g: ID!) { attendanceGroupMonth(groupId: $g, month: \"2026-10\") { daysDue } }"),
            ("Query.makeUpRequests", "query($g: ID!) { makeUpRequests(groupId: $g) { id } }"),
            ("Mutation.updateAttendanceGroup", "mutation($g: ID!) { updateAttendanceGroup(id: $g, version: 1, settings: { name: \"被篡改\" }) { id } }"),
            ("Mutation.setAttendanceSites", "mutation($g: ID!) { setAttendanceSites(groupId: $g, sites: [{ name: \"假地点\", latitude: 31.0, longitude: 121.0 }]) { id } }"),
            ("Mutation.addAttendanceMembers", "mutation($g: ID!) { addAttendanceMembers(groupId: $g, userIds: [$g]) { userId } }"),
            ("Mutation.removeAttendanceMember", "mutation($g: ID!) { removeAttendanceMember(groupId: $g, userId: $g) }"),
            ("Mutation.syncAttendanceGroup", "mutation($g: ID!) { syncAttendanceGroup(groupId: $g) { userId } }"),
            ("Mutation.checkIn", "mutation($g: ID!) { checkIn(input: { groupId: $g, kind: IN, latitude: 30.0, longitude: 120.0, accuracyM: 10 }) { id } }"),
            ("Mutation.requestMakeUp", "mutation($g: ID!) { requestMakeUp(groupId: $g, date: \"2026-10-08\", kind: IN, reason: \"冒名补卡\") { id } }"),
            ("Mutation.attendanceReport", "mutation($g: ID!) { attendanceReport(groupId: $g, month: \"2026-10\") { url } }"),
        ];
        for (field, query) in &on_group {
            let a = run.call(field, query, json!({ "g": group }), s).await;
            assert_eq!(a.code(), Some("NOT_FOUND"), "{field} on the victim's group: {:?}", a.body);
            assert_eq!(run.call(field, query, json!({ "g": group }), None).await.code(), Some("UNAUTHENTICATED"), "{field} anonymously");
        }
        let a = run.call("Mutation.decideMakeUp", "mutation($i: ID!) { decideMakeUp(id: $i, approve: true) { state } }", nobody.clone(), s).await;
        assert_eq!(a.code(), Some("NOT_FOUND"));
        let a = run.call("Mutation.createAttendanceGroup", "mutation($o: ID!) { createAttendanceGroup(input: { organizationId: $o, settings: { name: \"陌生人的考勤组\" }, sites: [{ name: \"校区\", latitude: 30.0, longitude: 120.0 }] }) { id } }", json!({ "o": public }), s).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "{:?}", a.body);
        let a = run.call("Query.attendanceGroups", "{ attendanceGroups { id } }", json!({}), s).await;
        assert_eq!(a.body["data"]["attendanceGroups"], json!([]));
        let victims_group = srv.gql("query($g: ID!) { attendanceGroup(id: $g) { name version sites { name } } }", json!({ "g": group }), Some(&victim.token)).await;
        assert_eq!(victims_group.body["data"]["attendanceGroup"], json!({ "name": "受害者的考勤组", "version": 1, "sites": [{ "name": "校区" }] }));

        // Self-scoped writes change only the caller.
        run.call("Mutation.markNotificationsRead", "mutation { markNotificationsRead }", json!({}), s).await;
        run.call("Mutation.setPassword", "mutation { setPassword(newPassword: \"Stranger#2026\") }", json!({}), s).await;
        run.call("Mutation.updateProfile", "mutation { updateProfile(input: { nickname: \"陌生人\" }) { id } }", json!({}), s).await;
        run.call("Mutation.submitIdentityVerification", "mutation { submitIdentityVerification(realName: \"陌生人\", idNumber: \"110105194912310021\") { id } }", json!({}), s).await;
        run.call("Mutation.createOrganization", "mutation { createOrganization(kind: SCHOOL, input: { name: \"陌生人的学校\" }) { id } }", json!({}), s).await;
        run.call("Mutation.report", "mutation($u: ID!) { report(input: { userId: $u, category: SPAM, description: \"陌生人的举报\" }) { id } }", json!({ "u": third.id }), s).await;
        run.call("Mutation.signOutEverywhere", "mutation { signOutEverywhere }", json!({}), s).await;
        run.call("Mutation.signOut", "mutation { signOut }", json!({}), s).await;

        // The victim is untouched: still signed in, same profile, same unread notice, same organisations.
        let mine = srv.gql("{ me { nickname hasPassword verified } unreadNotificationCount myOrganizations { organization { name address } } }", json!({}), Some(&victim.token)).await;
        assert_eq!(mine.status, 200, "the victim's session survived the stranger's sign-outs");
        assert_eq!(mine.body["data"]["me"], json!({ "nickname": "受害者", "hasPassword": false, "verified": true }));
        assert_eq!(mine.body["data"]["unreadNotificationCount"], unread_before, "the stranger's mark-read touched only their own");
        let orgs: Vec<&str> = mine.body["data"]["myOrganizations"].as_array().unwrap().iter().map(|m| m["organization"]["name"].as_str().unwrap()).collect();
        assert_eq!(orgs, ["受害者的未认证学校", "受害者的已认证学校"]);
        assert_eq!(mine.body["data"]["myOrganizations"][0]["organization"]["address"], "保密地址");

        assert_eq!(xqt_privacy::analytics::of(&srv.ctx, victim.id).await.unwrap().len(), 2, "the victim's analytics stay");
        let consents = srv.gql("{ myConsents { purpose decision } privacyStatus { accountState } }", json!({}), Some(&victim.token)).await;
        assert_eq!(consents.body["data"]["myConsents"], json!([{ "purpose": "analytics", "decision": "GRANTED" }]));
        assert_eq!(consents.body["data"]["privacyStatus"]["accountState"], "ACTIVE");
        let requests = srv.gql("{ myPrivacyRequests { state } }", json!({}), Some(&victim.token)).await;
        assert_eq!(requests.body["data"]["myPrivacyRequests"], json!([{ "state": "IDENTITY_UNVERIFIED" }]));

        let all = schema_fields(&srv).await;
        let missing: Vec<&String> = all.difference(&run.exercised).collect();
        assert!(missing.is_empty(), "root fields with no access check in this test: {missing:?}");
    })
    .await;
}
