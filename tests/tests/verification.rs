//! Real-name verification: submit, review (start → approve | reject with a reason), resubmit;
//! the owner sees it unmasked, reviewers masked; ID numbers are sealed at rest.

use sea_orm::EntityTrait;
use serde_json::json;
use xqt_tests::{id_number, on_each_backend};

const SUBMIT: &str = "mutation($n: String!, $i: String!) { submitIdentityVerification(realName: $n, idNumber: $i) { id state realName idNumber } }";
const REVIEW: &str = "mutation($id: ID!, $a: ReviewAction!, $r: String) { reviewIdentityVerification(id: $id, action: $a, reason: $r) { state reason realName idNumber } }";
const MINE: &str = "{ me { verified identityVerification { state reason realName idNumber } } }";
const QUEUE: &str = "query($s: ReviewState) { identityVerificationQueue(state: $s, first: 50) { edges { node { id userId realName idNumber state } } } }";

#[tokio::test]
async fn submit_review_approve_and_the_person_is_verified() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (person, admin) = (srv.person().await, srv.admin().await);
        let id = id_number(101);
        let a = srv.gql(SUBMIT, json!({ "n": "张三丰", "i": id }), Some(&person.token)).await;
        let submitted = &a.body["data"]["submitIdentityVerification"];
        assert_eq!((submitted["state"].as_str(), submitted["realName"].as_str(), submitted["idNumber"].as_str()), (Some("SUBMITTED"), Some("张三丰"), Some(id.as_str())));
        let vid = submitted["id"].as_str().unwrap().to_owned();
        assert_eq!(srv.gql(MINE, json!({}), Some(&person.token)).await.body["data"]["me"]["verified"], false);

        // Reviewers see it masked in the queue.
        let q = srv.gql(QUEUE, json!({}), Some(&admin.token)).await;
        let node = &q.body["data"]["identityVerificationQueue"]["edges"][0]["node"];
        assert_eq!(node["realName"], "张**");
        assert_eq!(node["idNumber"], format!("1101**********{}", &id[14..]));

        // The reviewer sees who submitted it, and may see the identifiers in full only by the
        // audited unmasking, with a reason.
        assert_eq!(node["userId"], person.id.to_string());
        let unmask = "mutation($u: ID!, $r: String!) { unmaskPersonalData(userId: $u, reason: $r) { realName idNumber } }";
        xqt_privacy::audit::grant_permission(&srv.ctx, admin.id, "unmask", None).await.unwrap();
        let a = srv.gql(unmask, json!({ "u": node["userId"], "r": "实名审核：核对证件" }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["unmaskPersonalData"], json!({ "realName": "张三丰", "idNumber": id }), "{:?}", a.body);

        // Approved in one step (taking it up first stays possible, for a team of reviewers).
        assert_eq!(srv.gql(REVIEW, json!({ "id": vid, "a": "APPROVE" }), Some(&admin.token)).await.body["data"]["reviewIdentityVerification"]["state"], "APPROVED");
        let a = srv.gql(REVIEW, json!({ "id": vid, "a": "START" }), Some(&admin.token)).await;
        assert_eq!(a.code(), Some("CONFLICT"), "a decision is final");

        let mine = srv.gql(MINE, json!({}), Some(&person.token)).await;
        assert_eq!(mine.body["data"]["me"], json!({ "verified": true, "identityVerification": { "state": "APPROVED", "reason": null, "realName": "张三丰", "idNumber": id } }));
        let a = srv.gql(SUBMIT, json!({ "n": "张三丰", "i": id }), Some(&person.token)).await;
        assert_eq!(a.code(), Some("CONFLICT"), "already verified");

        let notes = srv.gql("{ notifications(first: 5) { edges { node { kind } } } }", json!({}), Some(&person.token)).await;
        assert_eq!(notes.body["data"]["notifications"]["edges"][0]["node"]["kind"], "IDENTITY_APPROVED");
    })
    .await;
}

#[tokio::test]
async fn a_rejection_states_its_reason_and_the_person_may_resubmit() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (person, admin) = (srv.person().await, srv.admin().await);
        let a = srv.gql(SUBMIT, json!({ "n": "李四", "i": id_number(202) }), Some(&person.token)).await;
        let vid = a.body["data"]["submitIdentityVerification"]["id"].as_str().unwrap().to_owned();
        let again = srv.gql(SUBMIT, json!({ "n": "李四", "i": id_number(202) }), Some(&person.token)).await;
        assert_eq!(again.code(), Some("CONFLICT"), "one open submission at a time");

        srv.ok(REVIEW, json!({ "id": vid, "a": "START" }), Some(&admin.token)).await;
        let a = srv.gql(REVIEW, json!({ "id": vid, "a": "REJECT" }), Some(&admin.token)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("reason"))
        );
        let a = srv.gql(REVIEW, json!({ "id": vid, "a": "REJECT", "r": "姓名与证件不一致" }), Some(&admin.token)).await;
        assert_eq!(a.body["data"]["reviewIdentityVerification"]["state"], "REJECTED");

        let mine = srv.gql(MINE, json!({}), Some(&person.token)).await;
        assert_eq!(mine.body["data"]["me"]["identityVerification"]["reason"], "姓名与证件不一致");
        assert_eq!(mine.body["data"]["me"]["verified"], false);
        let notes = srv
            .gql("{ notifications(first: 5) { edges { node { kind body } } } }", json!({}), Some(&person.token))
            .await;
        let latest = &notes.body["data"]["notifications"]["edges"][0]["node"];
        assert_eq!(latest["kind"], "IDENTITY_REJECTED");
        assert!(latest["body"].as_str().unwrap().contains("姓名与证件不一致"));

        let a = srv.gql(SUBMIT, json!({ "n": "李四", "i": id_number(203) }), Some(&person.token)).await;
        assert_eq!(
            a.body["data"]["submitIdentityVerification"]["state"], "SUBMITTED",
            "resubmission after a rejection"
        );
    })
    .await;
}

#[tokio::test]
async fn only_reviewers_review_and_bad_input_is_named() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (person, other) = (srv.person().await, srv.person().await);
        let a = srv.gql(SUBMIT, json!({ "n": "王五", "i": id_number(303) }), Some(&person.token)).await;
        let vid = a.body["data"]["submitIdentityVerification"]["id"].as_str().unwrap().to_owned();
        for token in [&person.token, &other.token] {
            assert_eq!(
                srv.gql(REVIEW, json!({ "id": vid, "a": "START" }), Some(token)).await.code(),
                Some("FORBIDDEN")
            );
            assert_eq!(srv.gql(QUEUE, json!({}), Some(token)).await.code(), Some("FORBIDDEN"));
        }
        assert_eq!(srv.gql(QUEUE, json!({}), None).await.code(), Some("UNAUTHENTICATED"));
        let mine = srv.gql(MINE, json!({}), Some(&other.token)).await;
        assert_eq!(
            mine.body["data"]["me"]["identityVerification"],
            json!(null),
            "another person's submission is not theirs"
        );

        let mut wrong_check = id_number(304);
        let last = wrong_check.pop().unwrap();
        wrong_check.push(if last == '0' { '1' } else { '0' });
        for (name, id, field) in [
            ("赵六", wrong_check.as_str(), "idNumber"),
            ("赵六", "12345", "idNumber"),
            ("X", &id_number(305), "realName"),
        ] {
            let a = srv.gql(SUBMIT, json!({ "n": name, "i": id }), Some(&other.token)).await;
            assert_eq!(
                (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
                (Some("BAD_USER_INPUT"), Some(field))
            );
        }
    })
    .await;
}

#[tokio::test]
async fn one_identity_cannot_verify_two_accounts() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (first, second, admin) = (srv.person().await, srv.person().await, srv.admin().await);
        let id = id_number(404);
        let a = srv.gql(SUBMIT, json!({ "n": "钱七", "i": id }), Some(&first.token)).await;
        let vid = a.body["data"]["submitIdentityVerification"]["id"].as_str().unwrap().to_owned();
        srv.ok(REVIEW, json!({ "id": vid, "a": "START" }), Some(&admin.token)).await;
        srv.ok(REVIEW, json!({ "id": vid, "a": "APPROVE" }), Some(&admin.token)).await;
        let a = srv.gql(SUBMIT, json!({ "n": "钱七", "i": id.to_lowercase() }), Some(&second.token)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("CONFLICT"), Some("idNumber"))
        );
    })
    .await;
}

#[tokio::test]
async fn id_numbers_and_real_names_are_stored_sealed_with_a_lookup_hash() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let id = id_number(505);
        srv.ok(SUBMIT, json!({ "n": "孙八", "i": id }), Some(&person.token)).await;
        let rows = xqt_accounts::entity::identity_verification::Entity::find().all(&srv.ctx.db).await.unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        for bytes in [&row.id_number_sealed, &row.id_number_hash, &row.real_name_sealed] {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(&id) && !text.contains(&id[6..14]) && !text.contains("孙八"));
        }
        assert_eq!(srv.ctx.keys.open(&row.id_number_sealed).unwrap(), id);
        let export = srv.ctx.modules.export(&srv.ctx, person.id).await.unwrap();
        assert_eq!(
            export["accounts"]["identityVerifications"][0]["idNumber"], id,
            "the person's export has it in full"
        );
    })
    .await;
}

/// The ID card's photos are evidence for the reviewer, uploaded like any image (metadata
/// stripped), shown to the submitter and to reviewers (each look audited), and deleted — files
/// and all — the moment the review ends.
#[tokio::test]
async fn id_card_photos_are_evidence_for_the_review_only_and_go_when_it_ends() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (person, stranger, admin) = (srv.person().await, srv.person().await, srv.admin().await);
        let upload = |who, w| srv.upload(who, "?purpose=id_photo", xqt_tests::jpeg(w, 40));
        let (front, back, theirs) = (upload(&person, 64).await, upload(&person, 65).await, upload(&stranger, 66).await);
        assert_eq!((front.status, back.status, theirs.status), (201, 201, 201), "{:?}", front.body);
        let (f, bk) = (front.body["id"].clone(), back.body["id"].clone());
        let submit = "mutation($n: String!, $i: String!, $f: ID, $b: ID) { submitIdentityVerification(realName: $n, idNumber: $i, idFrontFileId: $f, idBackFileId: $b) { id idFrontUrl idBackUrl } }";
        let card = id_number(9101);
        let field = |a: &xqt_tests::Answer| (a.code().map(str::to_owned), a.body["errors"][0]["extensions"]["field"].as_str().map(str::to_owned));
        let a = srv.gql(submit, json!({ "n": "陈明", "i": card, "f": f }), Some(&person.token)).await;
        assert_eq!(field(&a), (Some("BAD_USER_INPUT".into()), Some("idBackFileId".into())), "both sides or neither");
        let a = srv.gql(submit, json!({ "n": "陈明", "i": card, "f": f, "b": theirs.body["id"] }), Some(&person.token)).await;
        assert_eq!(field(&a), (Some("BAD_USER_INPUT".into()), Some("idBackFileId".into())), "someone else's photo");
        let a = srv.ok(submit, json!({ "n": "陈明", "i": card, "f": f, "b": bk }), Some(&person.token)).await;
        let front_url = format!("/files/{}", f.as_str().unwrap());
        assert_eq!(a["submitIdentityVerification"]["idFrontUrl"], front_url.as_str());

        // The reviewer finds it in the queue and looks; the look is in the audit log.
        let queue = "{ identityVerificationQueue(first: 50) { edges { node { userId idFrontUrl idBackUrl } } } }";
        let q = srv.ok(queue, json!({}), Some(&admin.token)).await;
        let node = q["identityVerificationQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .find(|n| n["userId"] == person.id.to_string())
            .expect("in the queue")
            .clone();
        assert_eq!(node["idFrontUrl"], front_url.as_str());
        let audit = "query($u: ID) { auditLog(subjectUserId: $u) { resource fields allowed } }";
        let looks = |log: serde_json::Value| -> Vec<bool> {
            log["auditLog"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["resource"] == "identity_evidence" && r["fields"] == json!(["id_photo"]))
                .map(|r| r["allowed"].as_bool().unwrap())
                .collect()
        };
        assert_eq!(srv.download(&admin, &front_url).await.status, 404, "an admin without the unmask permission");
        assert_eq!(looks(srv.ok(audit, json!({ "u": person.id }), Some(&admin.token)).await), [false]);
        xqt_privacy::audit::grant_permission(&srv.ctx, admin.id, "unmask", None).await.unwrap();
        assert_eq!(srv.download(&admin, &front_url).await.status, 200);
        assert_eq!(looks(srv.ok(audit, json!({ "u": person.id }), Some(&admin.token)).await), [true, false], "newest first");
        assert_eq!(srv.download(&stranger, &front_url).await.status, 404, "nobody else sees the card");

        // Decided: the photos have served their purpose and are gone, rows and bytes.
        let review = "mutation($id: ID!) { reviewIdentityVerification(id: $id, action: APPROVE) { state idFrontUrl } }";
        let id = a["submitIdentityVerification"]["id"].clone();
        let done = srv.ok(review, json!({ "id": id }), Some(&admin.token)).await;
        assert_eq!(done["reviewIdentityVerification"], json!({ "state": "APPROVED", "idFrontUrl": null }));
        assert_eq!(srv.download(&admin, &front_url).await.status, 404);
        assert!(xqt_accounts::uploads::all_for(&srv.ctx, person.id).await.unwrap().is_empty(), "no ID photo is kept");
    })
    .await;
}
