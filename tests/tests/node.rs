//! Relay's Node: any object with a root field of its own refetched by its id alone, seen and
//! refused exactly as its typed field sees and refuses it.

use chrono::Duration as Span;
use serde_json::json;
use xqt_tests::cooperation::{HANGZHOU, approved, internship, published};
use xqt_tests::{TestServer, on_each_backend};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id ... on Post { title } ... on Conversation { kind } ... on Organization { name } } }";

async fn direct(srv: &TestServer, from: &xqt_tests::Person, to: &xqt_tests::Person) -> String {
    let r = srv
        .ok("mutation($u: ID!) { openDirectConversation(userId: $u) { id } }", json!({ "u": to.id }), Some(&from.token))
        .await;
    r["openDirectConversation"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn node_refetches_any_object_by_its_id_as_its_own_field_would() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (owner, peer, stranger) =
            (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let org = approved(&srv, &admin, &owner, "ENTERPRISE", "常州智能装备有限公司", HANGZHOU).await;
        let mut input = internship();
        input["visibility"] = json!("PUBLIC");
        let post = published(&srv, &owner, Some(&org), input).await;
        let chat = direct(&srv, &owner, &peer).await;

        let a = srv.ok(NODE, json!({ "id": post }), None).await;
        assert_eq!(
            a["node"],
            json!({ "__typename": "Post", "id": post, "title": "数控机床操作实习生" }),
            "a public post, anonymously"
        );
        let a = srv.ok(NODE, json!({ "id": org }), Some(&stranger.token)).await;
        assert_eq!(a["node"], json!({ "__typename": "Organization", "id": org, "name": "常州智能装备有限公司" }));
        let a = srv.ok(NODE, json!({ "id": chat }), Some(&peer.token)).await;
        assert_eq!(
            a["node"],
            json!({ "__typename": "Conversation", "id": chat, "kind": "DIRECT" }),
            "a member's conversation"
        );

        // Refused exactly as the typed field refuses it.
        for (who, token) in [("a stranger", Some(&stranger.token)), ("anyone", None)] {
            let typed = srv
                .gql(
                    "query($id: ID!) { conversation(id: $id) { id } }",
                    json!({ "id": chat }),
                    token.map(|t| t.as_str()),
                )
                .await;
            let by_node = srv.gql(NODE, json!({ "id": chat }), token.map(|t| t.as_str())).await;
            assert!(typed.code().is_some(), "{who}: {:?}", typed.body);
            assert_eq!(by_node.code(), typed.code(), "{who}: {:?}", by_node.body);
            assert_eq!(by_node.body["data"]["node"], json!(null));
            assert!(!by_node.body.to_string().contains("DIRECT"), "{who} learns nothing: {:?}", by_node.body);
        }

        let nobody = uuid::Uuid::now_v7().to_string();
        let a = srv.gql(NODE, json!({ "id": nobody }), Some(&stranger.token)).await;
        assert_eq!((a.body["data"]["node"].clone(), a.code()), (json!(null), None), "an id that is no one's is null");
        let a = srv.gql(NODE, json!({ "id": "Post:1" }), None).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("id"))
        );

        let a = srv
            .ok(
                "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
                json!({ "ids": [org, nobody, post] }),
                Some(&peer.token),
            )
            .await;
        assert_eq!(
            a["nodes"],
            json!([{ "__typename": "Organization", "id": org }, null, { "__typename": "Post", "id": post }]),
            "in the order asked, null for no one's"
        );
        let many: Vec<String> = (0..51).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        let a = srv.gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": many }), None).await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "at most 50 at once: {:?}", a.body);
    })
    .await;
}

#[tokio::test]
async fn node_is_held_back_by_a_pending_major_policy_like_the_field_it_stands_for() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (a_person, b_person) = (srv.verified_person().await, srv.verified_person().await);
        let chat = direct(&srv, &a_person, &b_person).await;
        let org = approved(&srv, &admin, &a_person, "SCHOOL", "无锡职业技术学院", HANGZHOU).await;

        b.clock.advance(Span::seconds(1));
        let major = json!({
            "document": "PRIVACY_POLICY", "version": "2.0", "title": "校企通数字化校企合作平台隐私政策",
            "body": "第 2.0 版全文。", "summary": "2.0：调整聊天记录的保存", "effectiveAt": srv.ctx.clock.now().to_rfc3339(),
            "majorKinds": ["SHARING_RECIPIENTS"], "affects": ["chat"],
        });
        srv.ok("mutation($i: PublishPolicyVersionInput!) { publishPolicyVersion(input: $i) { id } }", json!({ "i": major }), Some(&admin.token)).await;

        let typed = srv.gql("query($id: ID!) { conversation(id: $id) { id } }", json!({ "id": chat }), Some(&b_person.token)).await;
        assert_eq!(typed.code(), Some("POLICY_ACCEPTANCE_REQUIRED"));
        let by_node = srv.gql(NODE, json!({ "id": chat }), Some(&b_person.token)).await;
        assert_eq!(by_node.code(), Some("POLICY_ACCEPTANCE_REQUIRED"), "{:?}", by_node.body);
        let other = srv.ok(NODE, json!({ "id": org }), Some(&b_person.token)).await;
        assert_eq!(other["node"]["__typename"], "Organization", "what the policy does not name still answers");
    })
    .await;
}
