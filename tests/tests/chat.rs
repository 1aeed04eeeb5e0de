//! Chat end to end, over HTTP and real graphql-transport-ws sockets: live delivery, resume
//! without gap or duplicate, idempotent sends, delivery across instances, recall and edit
//! windows, membership, unread counts, push, calls and attachments.

use std::time::Duration;
use xqt_chat::config::ChatConfig;

use chrono::Duration as Span;
use serde_json::{Value, json};
use xqt_tests::{Person, TestServer, WsClient, WsEvent, on_each_backend, run_jobs, search_everywhere};

const EVENTS: &str = "subscription($c: ID!, $a: Int) { conversationEvents(conversationId: $c, afterSeq: $a) { kind message { id seq text senderId recalled } userId readSeq signal call { id state } memberIds change } }";
const SEND: &str =
    "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq text kind clientMessageId recalled } }";
const UNREAD: &str = "query($c: ID!) { conversation(id: $c) { unreadCount lastReadSeq lastSeq } }";

/// Two verified people and their direct conversation.
async fn pair(srv: &TestServer) -> (Person, Person, String) {
    let (a, b) = (srv.verified_person().await, srv.verified_person().await);
    let c = open_direct(srv, &a, &b).await;
    (a, b, c)
}

async fn open_direct(srv: &TestServer, from: &Person, to: &Person) -> String {
    let r = srv
        .gql(
            "mutation($u: ID!) { openDirectConversation(userId: $u) { id kind } }",
            json!({ "u": to.id }),
            Some(&from.token),
        )
        .await;
    assert_eq!(r.body["data"]["openDirectConversation"]["kind"], "DIRECT", "{:?}", r.body);
    r.body["data"]["openDirectConversation"]["id"].as_str().unwrap().to_owned()
}

async fn send_as(srv: &TestServer, p: &Person, c: &str, client_id: &str, text: &str) -> Value {
    let r = srv
        .gql(
            SEND,
            json!({ "i": { "conversationId": c, "clientMessageId": client_id, "kind": "TEXT", "text": text } }),
            Some(&p.token),
        )
        .await;
    assert!(r.body["errors"].is_null(), "send: {:?}", r.body);
    r.body["data"]["sendMessage"].clone()
}

/// A socket following the conversation after `after`.
async fn follow(srv: &TestServer, p: &Person, c: &str, id: &str, after: Option<i64>) -> WsClient {
    let mut ws = srv.ws_as(&p.token).await;
    ws.subscribe(id, EVENTS, json!({ "c": c, "a": after })).await;
    ws
}

/// Follows from just before the newest message and waits for it: the server subscribes to the
/// bus before it reads the backlog, so that arrival proves the socket is live.
async fn follow_live(srv: &TestServer, p: &Person, c: &str, id: &str) -> WsClient {
    let last = srv.gql(UNREAD, json!({ "c": c }), Some(&p.token)).await.body["data"]["conversation"]["lastSeq"]
        .as_i64()
        .expect("a member sees the conversation");
    assert!(last >= 1, "follow_live needs a message to wait for");
    let mut ws = follow(srv, p, c, id, Some(last - 1)).await;
    assert_eq!(event(&mut ws, id).await["message"]["seq"], last);
    ws
}

async fn event(ws: &mut WsClient, id: &str) -> Value {
    ws.next_payload(id).await["data"]["conversationEvents"].clone()
}

async fn unread(srv: &TestServer, p: &Person, c: &str) -> i64 {
    let r = srv.gql(UNREAD, json!({ "c": c }), Some(&p.token)).await;
    r.body["data"]["conversation"]["unreadCount"].as_i64().unwrap_or_else(|| panic!("{:?}", r.body))
}

#[tokio::test]
async fn chat_two_people_talk_live_with_typing_and_read_receipts() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        send_as(&srv, &alice, &c, "a-0", "在吗").await;
        let mut bob_ws = follow_live(&srv, &bob, &c, "b").await;
        let mut alice_ws = follow_live(&srv, &alice, &c, "a").await;

        let hello = send_as(&srv, &alice, &c, "a-1", "你好，实习的事").await;
        assert_eq!(hello["seq"], 2);
        let got = event(&mut bob_ws, "b").await;
        assert_eq!((got["kind"].clone(), got["message"]["text"].clone()), (json!("MESSAGE"), json!("你好，实习的事")));
        assert_eq!(got["message"]["senderId"], alice.id.to_string());
        assert_eq!(event(&mut alice_ws, "a").await["message"]["seq"], 2, "the sender's other devices see it too");

        send_as(&srv, &bob, &c, "b-1", "好的，明天聊").await;
        assert_eq!(event(&mut alice_ws, "a").await["message"]["text"], "好的，明天聊");
        assert_eq!(event(&mut bob_ws, "b").await["message"]["seq"], 3);

        let t = srv
            .gql("mutation($c: ID!) { sendTyping(conversationId: $c) }", json!({ "c": c }), Some(&alice.token))
            .await;
        assert_eq!(t.body["data"]["sendTyping"], true);
        let typing = event(&mut bob_ws, "b").await;
        assert_eq!((typing["kind"].clone(), typing["userId"].clone()), (json!("TYPING"), json!(alice.id.to_string())));
        let t = srv
            .gql("mutation($c: ID!) { sendTyping(conversationId: $c) }", json!({ "c": c }), Some(&alice.token))
            .await;
        assert_eq!(t.body["data"]["sendTyping"], false, "keystrokes moments apart are one announcement");

        let r = srv
            .gql(
                "mutation($c: ID!) { markConversationRead(conversationId: $c, seq: 3) }",
                json!({ "c": c }),
                Some(&alice.token),
            )
            .await;
        assert_eq!(r.body["data"]["markConversationRead"], 3);
        let receipt = event(&mut bob_ws, "b").await;
        assert_eq!(
            (receipt["kind"].clone(), receipt["userId"].clone(), receipt["readSeq"].clone()),
            (json!("READ"), json!(alice.id.to_string()), json!(3))
        );
        // Her own typing is not echoed back to her; her receipt is (for her other devices).
        assert_eq!(event(&mut alice_ws, "a").await["kind"], "READ");
        assert_eq!(alice_ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent);
        let read_by = srv
            .gql(
                "query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { seq readBy } } } }",
                json!({ "c": c }),
                Some(&bob.token),
            )
            .await;
        assert_eq!(
            read_by.body["data"]["messages"]["edges"][0]["node"],
            json!({ "seq": 3, "readBy": [alice.id.to_string()] })
        );
    })
    .await;
}

#[tokio::test]
async fn chat_a_subscriber_that_missed_fifty_messages_resumes_with_exactly_those_in_order() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        send_as(&srv, &alice, &c, "m-0", "第0条").await;
        let mut ws = follow_live(&srv, &bob, &c, "s").await;
        drop(ws);
        for i in 1..=50 {
            send_as(&srv, &alice, &c, &format!("m-{i}"), &format!("第{i}条")).await;
        }
        ws = follow(&srv, &bob, &c, "r", Some(1)).await;
        let mut got = Vec::new();
        for _ in 0..50 {
            let e = event(&mut ws, "r").await;
            got.push((e["message"]["seq"].as_i64().unwrap(), e["message"]["text"].as_str().unwrap().to_owned()));
        }
        let expected: Vec<(i64, String)> = (1..=50).map(|i| (i + 1, format!("第{i}条"))).collect();
        assert_eq!(got, expected, "exactly the missed ones, in order");
        send_as(&srv, &alice, &c, "m-51", "直播").await;
        assert_eq!(event(&mut ws, "r").await["message"]["seq"], 52, "then live");
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "no duplicates");

        // History pages both ways by sequence.
        let q = "query($c: ID!, $b: String) { messages(conversationId: $c, last: 20, before: $b) { edges { cursor node { seq } } pageInfo { hasPreviousPage } } }";
        let newest = srv.gql(q, json!({ "c": c }), Some(&bob.token)).await;
        let edges = newest.body["data"]["messages"]["edges"].as_array().unwrap().clone();
        assert_eq!((edges[0]["node"]["seq"].clone(), edges[19]["node"]["seq"].clone()), (json!(33), json!(52)));
        let older = srv.gql(q, json!({ "c": c, "b": edges[0]["cursor"] }), Some(&bob.token)).await;
        assert_eq!(older.body["data"]["messages"]["edges"][19]["node"]["seq"], 32);
        let fwd = "query($c: ID!, $a: String) { messages(conversationId: $c, first: 5, after: $a) { edges { node { seq } } } }";
        let r = srv.gql(fwd, json!({ "c": c, "a": edges[19]["cursor"] }), Some(&bob.token)).await;
        assert_eq!(r.body["data"]["messages"]["edges"], json!([]), "nothing after the newest");
    })
    .await;
}

#[tokio::test]
async fn chat_the_same_client_message_id_sent_twice_stores_one_message() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        let first = send_as(&srv, &alice, &c, "retry-1", "只存一次").await;
        let again = send_as(&srv, &alice, &c, "retry-1", "只存一次").await;
        assert_eq!((again["id"].clone(), again["seq"].clone()), (first["id"].clone(), first["seq"].clone()));
        assert_eq!(again["clientMessageId"], "retry-1");
        // Retries racing each other still leave one copy.
        let racing = futures::future::join_all((0..4).map(|_| send_as(&srv, &alice, &c, "retry-2", "并发重试"))).await;
        assert!(racing.iter().all(|m| m["id"] == racing[0]["id"]), "{racing:?}");
        // Across a restart the unique constraint still answers.
        let restarted = b.start().await;
        let after = send_as(&restarted, &alice, &c, "retry-1", "只存一次").await;
        assert_eq!(after["id"], first["id"]);
        let history = srv
            .gql(
                "query($c: ID!) { messages(conversationId: $c) { edges { node { seq text clientMessageId } } } }",
                json!({ "c": c }),
                Some(&bob.token),
            )
            .await;
        assert_eq!(
            history.body["data"]["messages"]["edges"],
            json!([
                { "node": { "seq": 1, "text": "只存一次", "clientMessageId": null } },
                { "node": { "seq": 2, "text": "并发重试", "clientMessageId": null } },
            ]),
            "one copy each, dense sequence; the client's id is shown to its sender only"
        );
        // The same id in another conversation is a client bug, not a retry.
        let other = open_direct(&srv, &alice, &srv.verified_person().await).await;
        let r = srv
            .gql(
                SEND,
                json!({ "i": { "conversationId": other, "clientMessageId": "retry-1", "kind": "TEXT", "text": "x" } }),
                Some(&alice.token),
            )
            .await;
        assert_eq!(r.code(), Some("CONFLICT"));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL + Redis: instances share live delivery only through Redis"]
async fn chat_a_message_sent_through_one_instance_reaches_a_subscriber_on_another() {
    xqt_tests::on_shared_backend(async |b| {
        let (one, two) = (b.start().await, b.start().await);
        let (alice, bob, c) = pair(&one).await;
        send_as(&one, &alice, &c, "x-0", "预热").await;
        let mut ws = follow_live(&two, &bob, &c, "x").await;
        send_as(&one, &alice, &c, "x-1", "跨实例").await;
        let got = event(&mut ws, "x").await;
        assert_eq!((got["message"]["seq"].clone(), got["message"]["text"].clone()), (json!(2), json!("跨实例")));
    })
    .await;
}

#[tokio::test]
async fn chat_recall_after_the_window_is_refused_and_a_recall_leaves_a_tombstone() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        let recall = "mutation($m: ID!) { recallMessage(messageId: $m) { seq text recalled } }";
        let early = send_as(&srv, &alice, &c, "r-1", "发错了").await;
        let late = send_as(&srv, &alice, &c, "r-2", "两分钟后才想撤回").await;
        run_jobs(&srv.ctx).await; // bob is away: both are pushed
        let r = srv.gql(recall, json!({ "m": early["id"] }), Some(&bob.token)).await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "only the sender recalls in a direct conversation");
        let r = srv.gql(recall, json!({ "m": early["id"] }), Some(&alice.token)).await;
        assert_eq!(r.body["data"]["recallMessage"], json!({ "seq": 1, "text": null, "recalled": true }));

        b.clock.advance(Span::seconds(121));
        let r = srv.gql(recall, json!({ "m": late["id"] }), Some(&alice.token)).await;
        assert_eq!(r.code(), Some("FORBIDDEN"));
        assert_eq!(r.body["errors"][0]["extensions"]["reason"], "WINDOW_PASSED");
        let edit = srv
            .gql(
                "mutation($m: ID!) { editMessage(messageId: $m, text: \"改\") { text } }",
                json!({ "m": late["id"] }),
                Some(&alice.token),
            )
            .await;
        assert_eq!(edit.body["data"]["editMessage"]["text"], "改", "editing lasts 10 minutes");
        b.clock.advance(Span::minutes(10));
        let edit = srv
            .gql(
                "mutation($m: ID!) { editMessage(messageId: $m, text: \"再改\") { text } }",
                json!({ "m": late["id"] }),
                Some(&alice.token),
            )
            .await;
        assert_eq!(edit.body["errors"][0]["extensions"]["reason"], "WINDOW_PASSED");

        // The tombstone stays: it cannot be deleted or recalled again, and its push is replaced.
        let del = "mutation($m: ID!) { deleteMessageForMe(messageId: $m) }";
        assert_eq!(srv.gql(del, json!({ "m": early["id"] }), Some(&bob.token)).await.code(), Some("CONFLICT"));
        assert_eq!(srv.gql(recall, json!({ "m": early["id"] }), Some(&alice.token)).await.code(), Some("CONFLICT"));
        run_jobs(&srv.ctx).await;
        let pushes = xqt_notifications::push::sent_to(&srv.ctx, bob.id).await.unwrap();
        let bodies: Vec<&str> = pushes.iter().map(|p| p.body.as_str()).collect();
        assert_eq!(
            bodies,
            ["撤回了一条消息", "发来一条消息"],
            "the recalled message's push was replaced, the other kept"
        );
        let stored = xqt_chat::messages::visible(&srv.ctx, bob.id, early["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap()
            .0;
        assert_eq!((stored.body, stored.payload), (None, None), "the content is erased, not hidden");
    })
    .await;
}

#[tokio::test]
async fn chat_group_owners_and_admins_recall_any_message_at_any_time() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, admin, member) = (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let g = srv
            .gql("mutation($i: CreateGroupInput!) { createGroup(input: $i) { id myRole } }", json!({ "i": { "name": "2026届订单班", "memberIds": [admin.id, member.id] } }), Some(&owner.token))
            .await;
        let c = g.body["data"]["createGroup"]["id"].as_str().unwrap().to_owned();
        assert_eq!(g.body["data"]["createGroup"]["myRole"], "OWNER");
        let promote = "mutation($c: ID!, $u: ID!, $a: Boolean!) { setGroupAdmin(conversationId: $c, userId: $u, admin: $a) }";
        assert_eq!(srv.gql(promote, json!({ "c": c, "u": member.id, "a": true }), Some(&admin.token)).await.code(), Some("FORBIDDEN"));
        assert_eq!(srv.gql(promote, json!({ "c": c, "u": admin.id, "a": true }), Some(&owner.token)).await.body["data"]["setGroupAdmin"], true);
        let spam = send_as(&srv, &member, &c, "g-1", "广告").await;
        b.clock.advance(Span::minutes(10)); // long past the sender's two minutes
        let recall = "mutation($m: ID!) { recallMessage(messageId: $m) { recalled } }";
        assert_eq!(srv.gql(recall, json!({ "m": spam["id"] }), Some(&admin.token)).await.body["data"]["recallMessage"]["recalled"], true);
        // An admin removes a member, never the owner; the removed member loses the history.
        let kick = "mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) }";
        assert_eq!(srv.gql(kick, json!({ "c": c, "u": owner.id }), Some(&admin.token)).await.code(), Some("FORBIDDEN"));
        assert_eq!(srv.gql(kick, json!({ "c": c, "u": member.id }), Some(&admin.token)).await.body["data"]["removeGroupMember"], true);
        let h = srv.gql("query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }", json!({ "c": c }), Some(&member.token)).await;
        assert_eq!(h.code(), Some("NOT_FOUND"));
        // The owner leaves; the admin inherits the group.
        let leave = "mutation($c: ID!) { leaveConversation(conversationId: $c) }";
        assert_eq!(srv.gql(leave, json!({ "c": c }), Some(&owner.token)).await.body["data"]["leaveConversation"], true);
        let r = srv.gql("query($c: ID!) { conversation(id: $c) { myRole members { userId role } } }", json!({ "c": c }), Some(&admin.token)).await;
        assert_eq!(r.body["data"]["conversation"], json!({ "myRole": "OWNER", "members": [{ "userId": admin.id.to_string(), "role": "OWNER" }] }));
        let events: Vec<Value> = {
            let h = srv.gql("query($c: ID!) { messages(conversationId: $c) { edges { node { kind systemEvent } } } }", json!({ "c": c }), Some(&admin.token)).await;
            h.body["data"]["messages"]["edges"].as_array().unwrap().iter().filter(|e| e["node"]["kind"] == "SYSTEM").map(|e| e["node"]["systemEvent"]["event"].clone()).collect()
        };
        assert_eq!(events, [json!("group.created"), json!("group.removed"), json!("group.left")]);
    })
    .await;
}

#[tokio::test]
async fn chat_non_members_can_neither_read_history_nor_subscribe() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, _bob, c) = pair(&srv).await;
        let secret = send_as(&srv, &alice, &c, "s-1", "只给鲍勃看").await;
        let eve = srv.verified_person().await;
        for (query, vars) in [
            ("query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }", json!({ "c": c })),
            ("query($c: ID!) { conversation(id: $c) { id } }", json!({ "c": c })),
            ("query($c: ID!) { conversationPresence(conversationId: $c) { online } }", json!({ "c": c })),
            ("query($c: ID!) { searchMessages(text: \"鲍勃\", conversationId: $c) { id } }", json!({ "c": c })),
            ("mutation($c: ID!) { markConversationRead(conversationId: $c, seq: 1) }", json!({ "c": c })),
            ("mutation($c: ID!) { sendTyping(conversationId: $c) }", json!({ "c": c })),
            ("mutation($c: ID!) { inviteCall(conversationId: $c, media: AUDIO) { id } }", json!({ "c": c })),
            ("mutation($m: ID!) { recallMessage(messageId: $m) { id } }", json!({ "m": secret["id"] })),
            ("mutation($m: ID!) { deleteMessageForMe(messageId: $m) }", json!({ "m": secret["id"] })),
            (
                "mutation($m: ID!) { reportMessage(messageId: $m, category: SPAM, description: \"我看不到它\") }",
                json!({ "m": secret["id"] }),
            ),
        ] {
            let a = srv.gql(query, vars, Some(&eve.token)).await;
            assert_eq!(a.code(), Some("NOT_FOUND"), "{query}: {:?}", a.body);
            assert!(!a.body.to_string().contains("只给鲍勃看"));
        }
        let r = srv
            .gql(
                SEND,
                json!({ "i": { "conversationId": c, "clientMessageId": "e-1", "kind": "TEXT", "text": "混进来" } }),
                Some(&eve.token),
            )
            .await;
        assert_eq!(r.code(), Some("NOT_FOUND"));
        let all = srv
            .gql(
                "{ conversations { edges { cursor } } searchMessages(text: \"鲍勃\") { id } }",
                json!({}),
                Some(&eve.token),
            )
            .await;
        assert_eq!(all.body["data"], json!({ "conversations": { "edges": [] }, "searchMessages": [] }));

        let mut ws = follow(&srv, &eve, &c, "e", Some(0)).await;
        match ws.next().await {
            WsEvent::Message(m) if m["type"] == "error" || m["type"] == "next" => {
                let errors = if m["type"] == "error" { m["payload"].clone() } else { m["payload"]["errors"].clone() };
                assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{m}");
                assert!(!m.to_string().contains("只给鲍勃看"));
            }
            other => panic!("a non-member's subscription is refused, got {other:?}"),
        }
        let mut anonymous = srv.ws().await;
        anonymous.send(json!({ "type": "connection_init" })).await;
        assert_eq!(anonymous.next().await, WsEvent::Message(json!({ "type": "connection_ack" })));
        anonymous.subscribe("a", EVENTS, json!({ "c": c, "a": 0 })).await;
        let WsEvent::Message(m) = anonymous.next().await else { panic!("an answer") };
        assert!(m.to_string().contains("UNAUTHENTICATED") && !m.to_string().contains("只给鲍勃看"), "{m}");
    })
    .await;
}

#[tokio::test]
async fn chat_unread_counts_are_right_after_reads_recalls_and_deletes() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        let mut sent = Vec::new();
        for i in 1..=5 {
            sent.push(send_as(&srv, &alice, &c, &format!("u-{i}"), &format!("消息{i}")).await);
        }
        assert_eq!(unread(&srv, &bob, &c).await, 5);
        assert_eq!(unread(&srv, &alice, &c).await, 0, "one's own messages are read");
        let read = "mutation($c: ID!, $s: Int!) { markConversationRead(conversationId: $c, seq: $s) }";
        srv.ok(read, json!({ "c": c, "s": 2 }), Some(&bob.token)).await;
        assert_eq!(unread(&srv, &bob, &c).await, 3);
        let back = srv.gql(read, json!({ "c": c, "s": 1 }), Some(&bob.token)).await;
        assert_eq!(back.body["data"]["markConversationRead"], 2, "the read position never moves back");
        srv.ok(
            "mutation($m: ID!) { recallMessage(messageId: $m) { id } }",
            json!({ "m": sent[4]["id"] }),
            Some(&alice.token),
        )
        .await;
        assert_eq!(unread(&srv, &bob, &c).await, 2, "a recalled message is no longer unread");
        srv.ok(
            "mutation($m: ID!) { deleteMessageForMe(messageId: $m) }",
            json!({ "m": sent[3]["id"] }),
            Some(&bob.token),
        )
        .await;
        assert_eq!(unread(&srv, &bob, &c).await, 1, "nor one deleted for oneself");
        let h = srv
            .gql(
                "query($c: ID!) { messages(conversationId: $c) { edges { node { seq recalled } } } }",
                json!({ "c": c }),
                Some(&bob.token),
            )
            .await;
        let seqs: Vec<i64> = h.body["data"]["messages"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [1, 2, 3, 5], "the deleted one is gone from bob's history only; the tombstone stays");
        assert_eq!(unread(&srv, &alice, &c).await, 0);
        send_as(&srv, &alice, &c, "u-6", "消息6").await;
        assert_eq!(unread(&srv, &bob, &c).await, 2);
        srv.ok(read, json!({ "c": c, "s": 6 }), Some(&bob.token)).await;
        assert_eq!(unread(&srv, &bob, &c).await, 0);
        let r = srv.gql(read, json!({ "c": c, "s": 99 }), Some(&bob.token)).await;
        assert_eq!(r.body["data"]["markConversationRead"], 6, "clamped to the newest message");
    })
    .await;
}

#[tokio::test]
async fn chat_only_verified_real_names_send_and_restricted_people_cannot() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (unverified, verified) = (srv.person().await, srv.verified_person().await);
        let r = srv.gql("mutation($u: ID!) { openDirectConversation(userId: $u) { id } }", json!({ "u": verified.id }), Some(&unverified.token)).await;
        assert_eq!((r.code(), r.body["errors"][0]["extensions"]["reason"].clone()), (Some("FORBIDDEN"), json!("VERIFICATION_REQUIRED")));
        // Someone may open a conversation with an unverified person, who still cannot answer.
        let c = open_direct(&srv, &verified, &unverified).await;
        let r = srv.gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "v-1", "kind": "TEXT", "text": "你好" } }), Some(&unverified.token)).await;
        assert_eq!(r.body["errors"][0]["extensions"]["reason"], "VERIFICATION_REQUIRED");
        for (i, bad) in [json!({ "kind": "TEXT", "text": "  " }), json!({ "kind": "IMAGE" }), json!({ "kind": "LOCATION", "location": { "latitude": 99.0, "longitude": 1.0, "name": "x" } }), json!({ "kind": "TEXT", "text": "x", "replyToSeq": 7 })].into_iter().enumerate() {
            let mut input = bad.clone();
            input["conversationId"] = json!(c);
            input["clientMessageId"] = json!(format!("bad-{i}"));
            let r = srv.gql(SEND, json!({ "i": input }), Some(&verified.token)).await;
            assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{bad}: {:?}", r.body);
        }
        let r = srv
            .gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "loc", "kind": "LOCATION", "location": { "latitude": 39.9, "longitude": 116.4, "name": "实习单位" } } }), Some(&verified.token))
            .await;
        assert_eq!(r.body["data"]["sendMessage"]["kind"], "LOCATION", "{:?}", r.body);

        // An upheld report's restriction: from posting, the person still chats; from chatting,
        // neither messages nor calls go through until it ends.
        let admin = srv.admin().await;
        let restrict = async |actions: Value, days: i64| {
            let reporter = srv.person().await;
            let report = srv
                .ok("mutation($i: ReportInput!) { report(input: $i) { id } }", json!({ "i": { "userId": verified.id, "category": "HARASSMENT", "description": "多次发送骚扰消息" } }), Some(&reporter.token))
                .await;
            let review = "mutation($id: ID!, $x: RestrictInput) { reviewReport(id: $id, decision: UPHOLD, reason: \"查实\", restrict: $x) { state } }";
            srv.ok(review, json!({ "id": report["report"]["id"], "x": { "actions": actions, "days": days } }), Some(&admin.token)).await;
        };
        restrict(json!(["POST"]), 30).await;
        send_as(&srv, &verified, &c, "r-1", "只限制了发帖").await;
        restrict(json!(["CHAT"]), 7).await;
        let r = srv.gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "r-2", "kind": "TEXT", "text": "被限制了" } }), Some(&verified.token)).await;
        assert_eq!((r.code(), r.body["errors"][0]["extensions"]["reason"].clone()), (Some("FORBIDDEN"), json!("RESTRICTED")), "{:?}", r.body);
        let call = srv.gql("mutation($c: ID!) { inviteCall(conversationId: $c, media: AUDIO) { id } }", json!({ "c": c }), Some(&verified.token)).await;
        assert_eq!(call.body["errors"][0]["extensions"]["reason"], "RESTRICTED", "{:?}", call.body);
        b.clock.advance(Span::days(8));
        let fresh = srv.token_valid_for(&verified, Span::minutes(15));
        let r = srv.gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "r-3", "kind": "TEXT", "text": "限制到期" } }), Some(&fresh)).await;
        assert_eq!(r.body["data"]["sendMessage"]["seq"], 3, "it ended: {:?}", r.body);
    })
    .await;
}

#[tokio::test]
async fn chat_calls_ring_until_answered_or_missed_and_land_in_history() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        send_as(&srv, &alice, &c, "c-0", "方便通话吗").await;
        let mut ws = follow_live(&srv, &bob, &c, "b").await;
        let invite = "mutation($c: ID!) { inviteCall(conversationId: $c, media: VIDEO) { id state } }";
        let call = srv.gql(invite, json!({ "c": c }), Some(&alice.token)).await.body["data"]["inviteCall"].clone();
        assert_eq!(call["state"], "RINGING");
        let e = event(&mut ws, "b").await;
        assert_eq!((e["kind"].clone(), e["signal"].clone(), e["call"]["id"].clone()), (json!("CALL"), json!("INVITE"), call["id"].clone()));
        assert_eq!(srv.gql(invite, json!({ "c": c }), Some(&bob.token)).await.code(), Some("CONFLICT"), "one call at a time");
        srv.ok("mutation($i: ID!) { callRinging(callId: $i) { state } }", json!({ "i": call["id"] }), Some(&bob.token)).await;
        assert_eq!(event(&mut ws, "b").await["signal"], "RINGING");

        // Nobody answers: after the ring timeout the runner marks it missed, in the history.
        b.clock.advance(Span::seconds(61));
        let late = srv.gql("mutation($i: ID!) { acceptCall(callId: $i) { state } }", json!({ "i": call["id"] }), Some(&bob.token)).await;
        assert_eq!(late.code(), Some("CONFLICT"));
        run_jobs(&srv.ctx).await;
        let missed = event(&mut ws, "b").await;
        assert_eq!((missed["signal"].clone(), missed["call"]["state"].clone()), (json!("MISSED"), json!("MISSED")));
        let record = event(&mut ws, "b").await;
        assert_eq!(record["message"]["seq"], 2);

        // Answered, then hung up with a reason: an ended call with its duration.
        let call = srv.gql(invite, json!({ "c": c }), Some(&alice.token)).await.body["data"]["inviteCall"].clone();
        let accepted = srv.gql("mutation($i: ID!) { acceptCall(callId: $i) { state } }", json!({ "i": call["id"] }), Some(&bob.token)).await;
        assert_eq!(accepted.body["data"]["acceptCall"]["state"], "ACCEPTED");
        b.clock.advance(Span::seconds(95));
        let bad = srv.gql("mutation($i: ID!) { hangUpCall(callId: $i, reason: TIMEOUT) { state } }", json!({ "i": call["id"] }), Some(&alice.token)).await;
        assert_eq!(bad.code(), Some("BAD_USER_INPUT"));
        let ended = srv.gql("mutation($i: ID!) { hangUpCall(callId: $i, reason: NORMAL) { state endReason } }", json!({ "i": call["id"] }), Some(&alice.token)).await;
        assert_eq!(ended.body["data"]["hangUpCall"], json!({ "state": "ENDED", "endReason": "NORMAL" }));
        // Declined, and called off before anyone answered.
        let call = srv.gql(invite, json!({ "c": c }), Some(&alice.token)).await.body["data"]["inviteCall"].clone();
        let r = srv.gql("mutation($i: ID!) { cancelCall(callId: $i) { state } }", json!({ "i": call["id"] }), Some(&bob.token)).await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "only the caller cancels");
        let r = srv.gql("mutation($i: ID!) { rejectCall(callId: $i) { state } }", json!({ "i": call["id"] }), Some(&bob.token)).await;
        assert_eq!(r.body["data"]["rejectCall"]["state"], "REJECTED");
        let r = srv.gql("mutation($i: ID!) { hangUpCall(callId: $i, reason: NORMAL) { state } }", json!({ "i": call["id"] }), Some(&alice.token)).await;
        assert_eq!(r.code(), Some("CONFLICT"), "a declined call cannot be hung up");
        let call = srv.gql(invite, json!({ "c": c }), Some(&alice.token)).await.body["data"]["inviteCall"].clone();
        let r = srv.gql("mutation($i: ID!) { cancelCall(callId: $i) { state } }", json!({ "i": call["id"] }), Some(&alice.token)).await;
        assert_eq!(r.body["data"]["cancelCall"]["state"], "CANCELLED");
        let h = srv.gql("query($c: ID!) { messages(conversationId: $c) { edges { node { kind call { media outcome durationSecs } } } } }", json!({ "c": c }), Some(&bob.token)).await;
        let calls: Vec<Value> = h.body["data"]["messages"]["edges"].as_array().unwrap().iter().filter(|e| e["node"]["kind"] == "CALL").map(|e| e["node"]["call"].clone()).collect();
        assert_eq!(
            calls,
            [
                json!({ "media": "VIDEO", "outcome": "MISSED", "durationSecs": null }),
                json!({ "media": "VIDEO", "outcome": "ENDED", "durationSecs": 95 }),
                json!({ "media": "VIDEO", "outcome": "REJECTED", "durationSecs": null }),
                json!({ "media": "VIDEO", "outcome": "CANCELLED", "durationSecs": null }),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn chat_attachments_are_cleaned_and_only_members_download_them() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        let eve = srv.verified_person().await;
        let upload = |who: &Person, kind: &str, body: Vec<u8>| {
            srv.http
                .post(srv.url(&format!("/files?purpose=chat_{kind}&conversation={c}&name=%E7%AE%80%E5%8E%86.pdf")))
                .bearer_auth(&who.token)
                .body(body)
                .send()
        };
        let jpeg = jpeg_with_gps();
        assert!(jpeg.windows(3).any(|w| w == b"GPS"));
        let r = upload(&eve, "image", jpeg.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "only members upload to a conversation");
        let r = upload(&alice, "file", b"MZ\x90\x00\x03\x00\x00\x00".to_vec()).await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "executables are refused");
        let nowhere = srv.http.post(srv.url("/files?purpose=chat_image")).bearer_auth(&alice.token).body(jpeg.clone()).send().await.unwrap();
        assert_eq!(nowhere.status().as_u16(), 400);
        assert_eq!(nowhere.json::<Value>().await.unwrap()["errors"][0]["extensions"]["field"], "conversation", "which conversation, asked before the body is read");
        // The first address of chat uploads and downloads still works.
        let first = srv.http.post(srv.url(&format!("/chat/attachments?conversation={c}&kind=image"))).bearer_auth(&alice.token).body(jpeg.clone()).send().await.unwrap();
        assert_eq!(first.status().as_u16(), 201);
        let first: Value = first.json().await.unwrap();
        let old_url = srv.url(&format!("/chat/attachments/{}", first["id"].as_str().unwrap()));
        assert_eq!(srv.http.get(&old_url).bearer_auth(&bob.token).send().await.unwrap().status().as_u16(), 200);
        let r = upload(&alice, "image", jpeg).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let image: Value = r.json().await.unwrap();
        assert_eq!(image["url"], format!("/files/{}", image["id"].as_str().unwrap()), "one download path for every module");
        let sent = srv
            .gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "img", "kind": "IMAGE", "attachmentId": image["id"] } }), Some(&alice.token))
            .await;
        assert_eq!(sent.body["data"]["sendMessage"]["kind"], "IMAGE", "{:?}", sent.body);
        let url = srv.url(image["url"].as_str().unwrap());
        let got = srv.http.get(&url).bearer_auth(&bob.token).send().await.unwrap();
        assert_eq!(got.status().as_u16(), 200);
        let bytes = got.bytes().await.unwrap();
        assert!(!bytes.windows(3).any(|w| w == b"GPS"), "metadata stripped before storage");
        assert_eq!(srv.http.get(&url).bearer_auth(&eve.token).send().await.unwrap().status().as_u16(), 404);
        assert_eq!(srv.http.get(&url).send().await.unwrap().status().as_u16(), 401);
        let pdf = upload(&alice, "file", xqt_tests::fixture("report.pdf")).await.unwrap();
        let pdf: Value = pdf.json().await.unwrap();
        assert_eq!((pdf["contentType"].clone(), pdf["fileName"].clone()), (json!("application/pdf"), json!("简历.pdf")));
        // One attachment, one message: the same upload cannot ride along twice.
        let twice = srv
            .gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "img-2", "kind": "IMAGE", "attachmentId": image["id"] } }), Some(&alice.token))
            .await;
        assert_eq!((twice.code(), twice.body["errors"][0]["extensions"]["field"].clone()), (Some("BAD_USER_INPUT"), json!("attachmentId")));
        // A signed link for `<img src>`: no header needed, a member's only, checked when fetched.
        let listed = srv.ok("query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { attachment { signedUrl } } } } }", json!({ "c": c }), Some(&bob.token)).await;
        let signed = srv.url(listed["messages"]["edges"][0]["node"]["attachment"]["signedUrl"].as_str().expect("a signed link"));
        let got = srv.http.get(&signed).send().await.unwrap();
        assert_eq!((got.status().as_u16(), got.headers()["content-type"].to_str().unwrap()), (200, "image/jpeg"));
        let part = srv.http.get(&signed).header("range", "bytes=0-1").send().await.unwrap();
        assert_eq!((part.status().as_u16(), &part.bytes().await.unwrap()[..]), (206, &[0xFF, 0xD8][..]), "players ask for ranges");
        let forged = signed.replace("sig=", "sig=0");
        assert_eq!(srv.http.get(&forged).send().await.unwrap().status().as_u16(), 404);
        // A recall deletes the attachment itself: neither address serves it.
        srv.ok("mutation($m: ID!) { recallMessage(messageId: $m) { id } }", json!({ "m": sent.body["data"]["sendMessage"]["id"] }), Some(&alice.token)).await;
        assert_eq!(srv.http.get(&url).bearer_auth(&bob.token).send().await.unwrap().status().as_u16(), 404);
        assert_eq!(srv.http.get(&signed).send().await.unwrap().status().as_u16(), 404);
        // Uploaded and never sent, the document goes after a day.
        let pdf_url = srv.url(pdf["url"].as_str().unwrap());
        run_jobs(&srv.ctx).await;
        assert_eq!(srv.http.get(&pdf_url).bearer_auth(&alice.token).send().await.unwrap().status().as_u16(), 200);
        b.clock.advance(Span::hours(25));
        run_jobs(&srv.ctx).await;
        let alice_token = srv.token_valid_for(&alice, Span::minutes(5));
        assert_eq!(srv.http.get(&pdf_url).bearer_auth(&alice_token).send().await.unwrap().status().as_u16(), 404);
    })
    .await;
}

fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    let clean = out.into_inner();
    let payload = b"Exif\0\0MM\0*GPSLatitude 31.2304N GPSLongitude 121.4737E";
    let mut dirty = clean[..2].to_vec();
    dirty.extend([0xFF, 0xE1]);
    dirty.extend(((payload.len() + 2) as u16).to_be_bytes());
    dirty.extend(payload);
    dirty.extend(&clean[2..]);
    dirty
}

#[tokio::test]
async fn chat_pushes_reach_away_members_respect_mute_and_always_carry_mentions() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, muted, online) = (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let g = srv
            .gql("mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }", json!({ "i": { "name": "实习交流群", "memberIds": [muted.id, online.id] } }), Some(&owner.token))
            .await;
        let c = g.body["data"]["createGroup"]["id"].as_str().unwrap().to_owned();
        srv.ok("mutation($c: ID!) { setConversationMuted(conversationId: $c, muted: true) { muted } }", json!({ "c": c }), Some(&muted.token)).await;
        send_as(&srv, &owner, &c, "p-0", "大家好").await;
        let _ws = follow_live(&srv, &online, &c, "o").await;
        run_jobs(&srv.ctx).await;
        let ctx = srv.ctx.clone();
        let pushes = |u| {
            let ctx = ctx.clone();
            async move { xqt_notifications::push::sent_to(&ctx, u).await.unwrap() }
        };
        assert!(pushes(muted.id).await.is_empty(), "muted");
        send_as(&srv, &owner, &c, "p-1", "明天集合").await;
        let r = srv
            .gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "p-2", "kind": "TEXT", "text": "@你 记得带证件", "mentions": [muted.id, online.id] } }), Some(&owner.token))
            .await;
        assert!(r.body["errors"].is_null(), "{:?}", r.body);
        run_jobs(&srv.ctx).await;
        let got = pushes(muted.id).await;
        assert_eq!(got.iter().map(|p| p.body.as_str()).collect::<Vec<_>>(), ["有人@了你"], "a mention comes through a mute");
        assert!(pushes(online.id).await.is_empty(), "someone online gets it live, not by push");
        assert!(got.iter().all(|p| !p.body.contains("证件") && !p.title.contains("证件")), "no content in pushes");
    })
    .await;
}

const INBOX: &str = "subscription($a: String) { inboxEvents(after: $a) { cursor conversationEvent { conversationId kind message { seq text } } notification { title } } }";

/// What an inbox item says, compactly: `<conversation>#<seq> <text>` or `notice <title>`.
fn inbox_item(v: &Value) -> String {
    let e = &v["data"]["inboxEvents"];
    match e["notification"]["title"].as_str() {
        Some(title) => format!("notice {title}"),
        None => format!(
            "{}#{} {}",
            e["conversationEvent"]["conversationId"].as_str().unwrap(),
            e["conversationEvent"]["message"]["seq"],
            e["conversationEvent"]["message"]["text"].as_str().unwrap_or("")
        ),
    }
}

#[tokio::test]
async fn chat_the_inbox_follows_every_conversation_and_notification_and_resumes_from_its_cursor() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (alice, bob, c1) = pair(&srv).await;
        let carol = srv.verified_person().await;
        let notify = async |title: &str| {
            let r = srv
                .gql(
                    "mutation($u: ID!, $t: String!) { sendNotification(input: { userId: $u, title: $t }) { id } }",
                    json!({ "u": bob.id, "t": title }),
                    Some(&admin.token),
                )
                .await;
            r.body["data"]["sendNotification"]["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap()
        };
        send_as(&srv, &alice, &c1, "i-1", "第一条").await;
        let warm = notify("预热").await;
        // Resume from just before the first message and after the warm-up notice: the backlog
        // arriving proves the stream is live in both.
        let mut start = xqt_chat::inbox::Cursor { notification: Some(warm), ..Default::default() };
        start.conversations.insert(c1.parse().unwrap(), 0);
        let mut ws = srv.ws_as(&bob.token).await;
        ws.subscribe("i", INBOX, json!({ "a": start.encode() })).await;
        assert_eq!(inbox_item(&ws.next_payload("i").await), format!("{c1}#1 第一条"));

        send_as(&srv, &alice, &c1, "i-2", "第二条").await;
        notify("通知二").await;
        let c2 = open_direct(&srv, &carol, &bob).await; // joined while the stream runs
        send_as(&srv, &carol, &c2, "i-3", "新会话").await;
        let mut got = std::collections::BTreeSet::new();
        let mut cursor = String::new();
        for _ in 0..3 {
            let v = ws.next_payload("i").await;
            cursor = v["data"]["inboxEvents"]["cursor"].as_str().unwrap().to_owned();
            got.insert(inbox_item(&v));
        }
        let expected: std::collections::BTreeSet<String> =
            [format!("{c1}#2 第二条"), "notice 通知二".into(), format!("{c2}#1 新会话")].into();
        assert_eq!(got, expected);
        drop(ws);

        // Away: more in both conversations and another notice; resuming gets exactly those.
        send_as(&srv, &alice, &c1, "i-4", "第三条").await;
        send_as(&srv, &alice, &c1, "i-5", "第四条").await;
        send_as(&srv, &carol, &c2, "i-6", "还在吗").await;
        notify("通知三").await;
        let mut ws = srv.ws_as(&bob.token).await;
        ws.subscribe("r", INBOX, json!({ "a": cursor })).await;
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(inbox_item(&ws.next_payload("r").await));
        }
        let in_c1: Vec<&String> = got.iter().filter(|g| g.starts_with(&c1)).collect();
        assert_eq!(in_c1, [&format!("{c1}#3 第三条"), &format!("{c1}#4 第四条")], "in order within a conversation");
        assert!(got.contains(&format!("{c2}#2 还在吗")) && got.contains(&"notice 通知三".to_owned()), "{got:?}");
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "no duplicates");
        let r = srv.ws_as(&bob.token).await;
        let mut r = r;
        r.subscribe("bad", INBOX, json!({ "a": "garbage!" })).await;
        assert!(matches!(r.next().await, WsEvent::Message(m) if m.to_string().contains("BAD_USER_INPUT")));
    })
    .await;
}

#[tokio::test]
async fn col_2_message_content_serves_delivery_history_member_search_and_export_only() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (alice, bob, c) = pair(&srv).await;
        let eve = srv.verified_person().await;
        let secret = "实习薪资每月六千";
        send_as(&srv, &alice, &c, "col2", secret).await;
        run_jobs(&srv.ctx).await; // bob is away: he gets a push

        // Delivery and history: the members read it; search finds it for them and no one else.
        let search = "query($t: String!) { searchMessages(text: $t) { text } }";
        for member in [&alice, &bob] {
            let found = srv.gql(search, json!({ "t": "薪资" }), Some(&member.token)).await;
            assert_eq!(found.body["data"]["searchMessages"], json!([{ "text": secret }]));
        }
        let found = srv.gql(search, json!({ "t": "薪资" }), Some(&eve.token)).await;
        assert_eq!(found.body["data"]["searchMessages"], json!([]));
        // Export: the author's archive has it.
        let export = srv.ctx.modules.export(&srv.ctx, alice.id).await.unwrap();
        assert_eq!(export["chat"]["messages"][0]["body"], secret);
        assert_eq!(export["chat"]["conversations"][0]["id"], c.as_str());

        // Nowhere else: not in the push (the push provider is a third party), not in
        // notifications, jobs, analytics, audit or sharing records. Only the messages table.
        assert_eq!(xqt_notifications::push::sent_to(&srv.ctx, bob.id).await.unwrap().len(), 1);
        let found = search_everywhere(&srv, &[secret]).await;
        assert_eq!(found, [("chat_messages".to_owned(), secret.to_owned())]);

        // Partners: chat content cannot even be registered as shared with one.
        let partner = srv.gql("mutation { createPartner(name: \"统计合作方\") { id } }", json!({}), Some(&admin.token)).await;
        let partner = partner.body["data"]["createPartner"]["id"].clone();
        let r = srv
            .gql("mutation($p: ID!) { registerPartnerProcessing(input: { partnerId: $p, purpose: \"chat\", dataCategories: [\"chat_content\"], description: \"分析聊天\" }) { purpose } }", json!({ "p": partner }), Some(&admin.token))
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{:?}", r.body);
        let purposes = srv.gql("{ purposes { id legalBasis dataCategories } }", json!({}), None).await;
        let chat = purposes.body["data"]["purposes"].as_array().unwrap().iter().find(|p| p["id"] == "chat").cloned();
        assert_eq!(chat, Some(json!({ "id": "chat", "legalBasis": "CONTRACT", "dataCategories": ["chat_content", "chat_membership"] })));
    })
    .await;
}

#[tokio::test]
async fn prm_2_a_push_token_needs_the_push_consent_is_in_the_register_and_goes_on_withdrawal() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        let (p, q) = (srv.person().await, srv.person().await);
        let register = "mutation($t: String!) { registerPushDevice(platform: XIAOMI, token: $t) { platform tokenSuffix } }";
        let r = srv.gql(register, json!({ "t": "mi-token-000123" }), Some(&p.token)).await;
        assert_eq!(r.code(), Some("CONSENT_REQUIRED"), "no token without the push consent");
        assert_eq!(srv.gql("{ pushDevices { id } }", json!({}), Some(&p.token)).await.body["data"]["pushDevices"], json!([]));

        let permissions = srv.gql("{ clientPermissions { permission purpose { id } } }", json!({}), None).await;
        assert!(permissions.body["data"]["clientPermissions"].as_array().unwrap().contains(&json!({ "permission": "notifications", "purpose": { "id": "push_notifications" } })), "{:?}", permissions.body);
        for who in [&p, &q] {
            srv.ok("mutation { grantConsent(input: { purpose: \"push_notifications\" }) { id } }", json!({}), Some(&who.token)).await;
        }
        let r = srv.gql(register, json!({ "t": "mi-token-000123" }), Some(&p.token)).await;
        assert_eq!(r.body["data"]["registerPushDevice"], json!({ "platform": "XIAOMI", "tokenSuffix": "000123" }));
        let bad = srv.gql("mutation { registerPushDevice(platform: PAGER, token: \"x\") { id } }", json!({}), Some(&p.token)).await;
        assert_eq!(bad.code(), Some("GRAPHQL_VALIDATION_FAILED"), "a platform outside the set");
        // A phone that changes hands: the token follows its latest owner.
        srv.ok(register, json!({ "t": "mi-token-000123" }), Some(&q.token)).await;
        assert_eq!(srv.gql("{ pushDevices { id } }", json!({}), Some(&p.token)).await.body["data"]["pushDevices"], json!([]));
        srv.ok(register, json!({ "t": "mi-token-000456" }), Some(&p.token)).await;

        // The push provider is in the public register, with what it receives and why.
        let provider = srv.gql("mutation { createPartner(name: \"推送服务商\") { id } }", json!({}), Some(&admin.token)).await;
        let provider = provider.body["data"]["createPartner"]["id"].clone();
        let r = srv
            .gql("mutation($p: ID!) { registerPartnerProcessing(input: { partnerId: $p, purpose: \"push_notifications\", dataCategories: [\"push_tokens\"], description: \"向设备送达通知\" }) { purpose } }", json!({ "p": provider }), Some(&admin.token))
            .await;
        assert_eq!(r.body["data"]["registerPartnerProcessing"]["purpose"], "push_notifications", "{:?}", r.body);
        let listed = srv.gql("{ partnerRegister { purpose dataCategories } }", json!({}), None).await;
        assert!(listed.body["data"]["partnerRegister"].as_array().unwrap().contains(&json!({ "purpose": "push_notifications", "dataCategories": ["push_tokens"] })), "{:?}", listed.body);

        // Withdrawing the consent drops the token.
        let w = srv.gql("mutation { withdrawConsent(input: { purpose: \"push_notifications\" }) { action } }", json!({}), Some(&p.token)).await;
        assert_eq!(w.body["data"]["withdrawConsent"]["action"], "WITHDRAW");
        run_jobs(&srv.ctx).await;
        assert_eq!(srv.gql("{ pushDevices { id } }", json!({}), Some(&p.token)).await.body["data"]["pushDevices"], json!([]));
        assert_eq!(xqt_notifications::push::devices(&srv.ctx, q.id).await.unwrap().len(), 1, "the other person's stays");
    })
    .await;
}

#[tokio::test]
async fn chat_sending_is_rate_limited_per_person_but_retries_are_free() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.update(|s: &mut ChatConfig| s.messages_per_minute = 3)).await;
        let (alice, bob, c) = pair(&srv).await;
        for i in 1..=3 {
            send_as(&srv, &alice, &c, &format!("rl-{i}"), "快").await;
        }
        let r = srv
            .gql(
                SEND,
                json!({ "i": { "conversationId": c, "clientMessageId": "rl-4", "kind": "TEXT", "text": "太快" } }),
                Some(&alice.token),
            )
            .await;
        assert_eq!(r.code(), Some("RATE_LIMITED"));
        assert!(r.body["errors"][0]["extensions"]["retryAfter"].as_i64().is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(send_as(&srv, &alice, &c, "rl-2", "快").await["seq"], 2, "a retry of a stored message is answered");
        send_as(&srv, &bob, &c, "rl-b", "我不受影响").await;
        b.clock.advance(Span::seconds(60));
        assert_eq!(send_as(&srv, &alice, &c, "rl-4", "下一分钟").await["seq"], 5);
    })
    .await;
}

#[tokio::test]
async fn chat_presence_shows_who_is_connected_until_the_ttl_runs_out() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.update(|s: &mut ChatConfig| s.presence_ttl_secs = 5)).await;
        let (alice, bob, c) = pair(&srv).await;
        send_as(&srv, &alice, &c, "pr-0", "在线吗").await;
        let q = "query($c: ID!) { conversationPresence(conversationId: $c) { userId online } }";
        let online = |v: &Value, who: &Person| {
            v["data"]["conversationPresence"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["userId"] == who.id.to_string())
                .unwrap()["online"]
                .clone()
        };
        let before = srv.gql(q, json!({ "c": c }), Some(&alice.token)).await.body;
        assert_eq!((online(&before, &alice), online(&before, &bob)), (json!(false), json!(false)));
        let ws = follow_live(&srv, &bob, &c, "p").await;
        let during = srv.gql(q, json!({ "c": c }), Some(&alice.token)).await.body;
        assert_eq!((online(&during, &alice), online(&during, &bob)), (json!(false), json!(true)));
        drop(ws);
        // No goodbye is needed: without a live connection refreshing it, presence lapses.
        let mut lapsed = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if online(&srv.gql(q, json!({ "c": c }), Some(&alice.token)).await.body, &bob) == json!(false) {
                lapsed = true;
                break;
            }
        }
        assert!(lapsed, "offline within the TTL after the socket closed");
    })
    .await;
}

#[tokio::test]
async fn chat_an_organisation_channel_holds_exactly_its_members() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, staff, outsider) =
            (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let org = srv
            .gql(
                "mutation { createOrganization(kind: ENTERPRISE, input: { name: \"星火科技\" }) { id } }",
                json!({}),
                Some(&owner.token),
            )
            .await;
        let org = org.body["data"]["createOrganization"]["id"].as_str().unwrap().to_owned();
        let code = srv
            .gql(
                "mutation($o: ID!) { createOrganizationInvite(organizationId: $o, role: MEMBER) { code } }",
                json!({ "o": org }),
                Some(&owner.token),
            )
            .await
            .body["data"]["createOrganizationInvite"]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        srv.ok("mutation($c: String!) { joinOrganization(code: $c) { id } }", json!({ "c": code }), Some(&staff.token))
            .await;
        let open = "mutation($o: ID!) { openOrganizationChannel(organizationId: $o) { id kind name myRole } }";
        let ch = srv.gql(open, json!({ "o": org }), Some(&owner.token)).await.body["data"]["openOrganizationChannel"]
            .clone();
        assert_eq!(
            (ch["kind"].clone(), ch["name"].clone(), ch["myRole"].clone()),
            (json!("CHANNEL"), json!("星火科技"), json!("ADMIN"))
        );
        let c = ch["id"].as_str().unwrap().to_owned();
        send_as(&srv, &owner, &c, "ch-1", "全员通知：周五团建").await;
        // A member reaches the same channel and sees what was said; an outsider reaches nothing.
        let again =
            srv.gql(open, json!({ "o": org }), Some(&staff.token)).await.body["data"]["openOrganizationChannel"]
                .clone();
        assert_eq!((again["id"].clone(), again["myRole"].clone()), (json!(c), json!("MEMBER")));
        let h = srv
            .gql(
                "query($c: ID!) { messages(conversationId: $c) { edges { node { text } } } }",
                json!({ "c": c }),
                Some(&staff.token),
            )
            .await;
        assert_eq!(h.body["data"]["messages"]["edges"], json!([{ "node": { "text": "全员通知：周五团建" } }]));
        assert_eq!(srv.gql(open, json!({ "o": org }), Some(&outsider.token)).await.code(), Some("NOT_FOUND"));
        let h = srv
            .gql(
                "query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }",
                json!({ "c": c }),
                Some(&outsider.token),
            )
            .await;
        assert_eq!(h.code(), Some("NOT_FOUND"));
        // Leaving the organisation is leaving its channel.
        srv.ok(
            "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }",
            json!({ "o": org, "u": staff.id }),
            Some(&owner.token),
        )
        .await;
        let r = srv
            .gql(
                "query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }",
                json!({ "c": c }),
                Some(&staff.token),
            )
            .await;
        assert_eq!(r.code(), Some("NOT_FOUND"));
        let r = srv.gql("{ conversations { edges { cursor } } }", json!({}), Some(&staff.token)).await;
        assert_eq!(r.body["data"]["conversations"]["edges"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn chat_replies_mentions_and_reports_name_the_right_people() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        let first = send_as(&srv, &alice, &c, "q-1", "这是广告链接").await;
        let r = srv
            .gql("mutation($i: SendMessageInput!) { sendMessage(input: $i) { replyToSeq mentions } }", json!({ "i": { "conversationId": c, "clientMessageId": "q-2", "kind": "TEXT", "text": "这是什么？", "replyToSeq": 1, "mentions": [alice.id] } }), Some(&bob.token))
            .await;
        assert_eq!(r.body["data"]["sendMessage"], json!({ "replyToSeq": 1, "mentions": [alice.id.to_string()] }));
        let stranger = srv.verified_person().await;
        let r = srv
            .gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": "q-3", "kind": "TEXT", "text": "@陌生人", "mentions": [stranger.id] } }), Some(&bob.token))
            .await;
        assert_eq!((r.code(), r.body["errors"][0]["extensions"]["field"].clone()), (Some("BAD_USER_INPUT"), json!("mentions")));

        let report = "mutation($m: ID!, $d: String!) { reportMessage(messageId: $m, category: SPAM, description: $d) }";
        let r = srv.gql(report, json!({ "m": first["id"], "d": "对方发送广告链接" }), Some(&bob.token)).await;
        let id = r.body["data"]["reportMessage"].as_str().unwrap_or_else(|| panic!("{:?}", r.body)).to_owned();
        let mine = srv.gql("{ myReports { id subjectKind state } }", json!({}), Some(&bob.token)).await;
        assert_eq!(mine.body["data"]["myReports"], json!([{ "id": id, "subjectKind": "MESSAGE", "state": "OPEN" }]));
        let admin = srv.admin().await;
        let queue = srv.gql("{ reportQueue { edges { node { id targetUserId } } } }", json!({}), Some(&admin.token)).await;
        assert!(queue.body["data"]["reportQueue"]["edges"].as_array().unwrap().contains(&json!({ "node": { "id": id, "targetUserId": alice.id.to_string() } })), "{:?}", queue.body);
        // The sender is named, so the report holds their cancellation (CAN-2) like any other.
        let blockers = srv.gql("{ cancellationPrecheck { code } }", json!({}), Some(&alice.token)).await;
        assert!(blockers.body.to_string().contains("open_report"), "{:?}", blockers.body);
        let again = srv.gql(report, json!({ "m": first["id"], "d": "再举报一次试试" }), Some(&bob.token)).await;
        assert_eq!(again.code(), Some("CONFLICT"), "one open report per message per reporter");
    })
    .await;
}

#[tokio::test]
async fn chat_a_socket_following_a_conversation_closes_4403_when_its_token_expires() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (alice, bob, c) = pair(&srv).await;
        send_as(&srv, &alice, &c, "t-0", "快过期了").await;
        // Long enough for the socket to connect and deliver the backlog on a loaded machine (at
        // one second, CI once saw the token expire first), short enough to wait for.
        let short = srv.token_valid_for(&bob, Span::seconds(5));
        let mut ws = srv.ws_as(&short).await;
        ws.subscribe("t", EVENTS, json!({ "c": c, "a": 0 })).await;
        assert_eq!(event(&mut ws, "t").await["message"]["seq"], 1);
        assert_eq!(ws.close_code().await, 4403);
    })
    .await;
}

#[tokio::test]
async fn chat_the_conversation_list_pages_most_recently_active_first() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let me = srv.verified_person().await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let other = srv.verified_person().await;
            let c = open_direct(&srv, &me, &other).await;
            send_as(&srv, &other, &c, &format!("l-{i}"), "你好").await;
            ids.push(c);
        }
        let q = "query($a: String) { conversations(first: 2, after: $a) { edges { cursor node { id unreadCount } } pageInfo { hasNextPage } } }";
        let page = srv.gql(q, json!({}), Some(&me.token)).await.body["data"]["conversations"].clone();
        let first: Vec<Value> = page["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect();
        assert_eq!(first, [json!(ids[2]), json!(ids[1])]);
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        assert_eq!(page["edges"][0]["node"]["unreadCount"], 1);
        let rest = srv.gql(q, json!({ "a": page["edges"][1]["cursor"] }), Some(&me.token)).await.body["data"]["conversations"].clone();
        assert_eq!(rest["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect::<Vec<_>>(), [json!(ids[0])]);
        // A new message brings the oldest conversation to the top, as its preview.
        send_as(&srv, &me, &ids[0], "l-back", "我回来了").await;
        let q = "{ conversations(first: 1) { edges { node { id lastMessage { seq text } } } } }";
        let page = srv.gql(q, json!({}), Some(&me.token)).await.body["data"]["conversations"].clone();
        assert_eq!(page["edges"][0]["node"], json!({ "id": ids[0], "lastMessage": { "seq": 2, "text": "我回来了" } }));
        // Deleted for oneself, the preview falls back to the message before.
        let newest = srv.gql("query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { id } } } }", json!({ "c": ids[0] }), Some(&me.token)).await;
        let newest = newest.body["data"]["messages"]["edges"][0]["node"]["id"].clone();
        srv.ok("mutation($m: ID!) { deleteMessageForMe(messageId: $m) }", json!({ "m": newest }), Some(&me.token)).await;
        let page = srv.gql(q, json!({}), Some(&me.token)).await.body["data"]["conversations"].clone();
        assert_eq!(page["edges"][0]["node"]["lastMessage"], json!({ "seq": 1, "text": "你好" }));
    })
    .await;
}

#[tokio::test]
async fn chat_a_removed_member_stops_receiving_at_once() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, member) = (srv.verified_person().await, srv.verified_person().await);
        let g = srv
            .gql(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                json!({ "i": { "name": "项目组", "memberIds": [member.id] } }),
                Some(&owner.token),
            )
            .await;
        let c = g.body["data"]["createGroup"]["id"].as_str().unwrap().to_owned();
        let mut ws = follow_live(&srv, &member, &c, "m").await;
        srv.ok(
            "mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) }",
            json!({ "c": c, "u": member.id }),
            Some(&owner.token),
        )
        .await;
        let removed = event(&mut ws, "m").await;
        assert_eq!(
            (removed["kind"].clone(), removed["change"].clone(), removed["memberIds"].clone()),
            (json!("MEMBERS"), json!("REMOVED"), json!([member.id.to_string()]))
        );
        let WsEvent::Message(end) = ws.next().await else { panic!("the stream ends") };
        assert_eq!(end["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{end}");
        assert_eq!(ws.next().await, WsEvent::Message(json!({ "type": "complete", "id": "m" })));
        send_as(&srv, &owner, &c, "after", "踢出后的消息").await;
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "nothing after removal");
    })
    .await;
}

#[tokio::test]
async fn chat_subscribing_while_messages_arrive_yields_each_once_in_sequence() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.update(|s: &mut ChatConfig| s.messages_per_minute = 1000)).await;
        let (alice, bob, c) = pair(&srv).await;
        const TOTAL: i64 = 120;
        // Messages keep arriving while the subscriber reads the backlog and goes live: some are
        // both in its backlog read and on the bus, and must still come once each.
        let sender = async {
            for i in 1..=TOTAL {
                send_as(&srv, &alice, &c, &format!("race-{i}"), &format!("{i}")).await;
            }
        };
        let receiver = async {
            while srv.gql(UNREAD, json!({ "c": c }), Some(&bob.token)).await.body["data"]["conversation"]["lastSeq"]
                .as_i64()
                < Some(20)
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut ws = follow(&srv, &bob, &c, "race", Some(0)).await;
            let mut seqs = Vec::new();
            while seqs.last() != Some(&TOTAL) {
                seqs.push(event(&mut ws, "race").await["message"]["seq"].as_i64().unwrap());
            }
            assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "nothing twice");
            seqs
        };
        let ((), seqs) = tokio::join!(sender, receiver);
        assert_eq!(seqs, (1..=TOTAL).collect::<Vec<_>>(), "each once, in sequence");
    })
    .await;
}

#[tokio::test]
async fn chat_the_inbox_follows_a_group_again_after_its_member_is_removed_and_added_back() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, member) = (srv.verified_person().await, srv.verified_person().await);
        let g = srv
            .gql(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                json!({ "i": { "name": "去而复返", "memberIds": [member.id] } }),
                Some(&owner.token),
            )
            .await;
        let c = g.body["data"]["createGroup"]["id"].as_str().unwrap().to_owned();
        let mut start = xqt_chat::inbox::Cursor::default();
        start.conversations.insert(c.parse().unwrap(), 0);
        let mut ws = srv.ws_as(&member.token).await;
        ws.subscribe("i", INBOX, json!({ "a": start.encode() })).await;
        assert_eq!(inbox_item(&ws.next_payload("i").await), format!("{c}#1 "), "the creation notice: live now");
        let kick = "mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) }";
        srv.ok(kick, json!({ "c": c, "u": member.id }), Some(&owner.token)).await;
        let removed = ws.next_payload("i").await;
        assert_eq!(removed["data"]["inboxEvents"]["conversationEvent"]["kind"], "MEMBERS");
        let add = "mutation($c: ID!, $u: ID!) { addGroupMembers(conversationId: $c, userIds: [$u]) }";
        srv.ok(add, json!({ "c": c, "u": member.id }), Some(&owner.token)).await;
        send_as(&srv, &owner, &c, "back", "欢迎回来").await;
        let mut got = Vec::new();
        while !got.iter().any(|g: &String| g.ends_with("欢迎回来")) {
            got.push(inbox_item(&ws.next_payload("i").await));
        }
        assert!(got.iter().filter(|g| g.ends_with("欢迎回来")).count() == 1, "{got:?}");
    })
    .await;
}

const RESUME: &str = "subscription($c: ID!, $after: String, $seq: Int) { conversationEvents(conversationId: $c, after: $after, afterSeq: $seq) { cursor kind message { seq text recalled } memberIds change } }";
const INBOX_RESUME: &str = "subscription($after: String) { inboxEvents(after: $after) { cursor conversationEvent { conversationId kind message { seq text recalled } memberIds change } } }";

/// Each event as `(kind, what)`: a message's sequence and text (or `recalled`), or who joined,
/// left or was removed.
fn summary(e: &Value) -> (String, String) {
    let kind = e["kind"].as_str().unwrap_or_else(|| panic!("an event: {e}")).to_owned();
    let what = match kind.as_str() {
        "MESSAGE" | "UPDATED" if e["message"]["recalled"] == true => format!("{} recalled", e["message"]["seq"]),
        "MESSAGE" | "UPDATED" => format!("{} {}", e["message"]["seq"], e["message"]["text"].as_str().unwrap_or("-")),
        _ => format!("{} {}", e["change"].as_str().unwrap_or("?"), e["memberIds"]),
    };
    (kind, what)
}

#[tokio::test]
async fn chat_a_client_offline_through_edits_recalls_and_removals_learns_each_once_in_order_on_resume() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, reader, other) =
            (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let g = srv
            .ok(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                json!({ "i": { "name": "实习小组", "memberIds": [reader.id, other.id] } }),
                Some(&owner.token),
            )
            .await;
        let c = g["createGroup"]["id"].as_str().unwrap().to_owned();
        let first = send_as(&srv, &owner, &c, "r-1", "第一条").await;

        // The reader follows live, sees the first message, takes its cursor, and goes offline.
        let inbox_cursor = srv.ok("{ inboxCursor }", json!({}), Some(&reader.token)).await["inboxCursor"].clone();
        let mut ws = srv.ws_as(&reader.token).await;
        ws.subscribe("e", RESUME, json!({ "c": c, "seq": first["seq"] })).await;
        let second = send_as(&srv, &owner, &c, "r-2", "第二条").await;
        let seen = ws.next_payload("e").await["data"]["conversationEvents"].clone();
        assert_eq!(summary(&seen), ("MESSAGE".into(), "3 第二条".into()));
        let cursor = seen["cursor"].as_str().unwrap().to_owned();
        drop(ws);

        // Offline: an edit, a recall, a removal, a new message.
        srv.ok(
            "mutation($m: ID!) { editMessage(messageId: $m, text: \"第一条（已改）\") { id } }",
            json!({ "m": first["id"] }),
            Some(&owner.token),
        )
        .await;
        srv.ok(
            "mutation($m: ID!) { recallMessage(messageId: $m) { id } }",
            json!({ "m": second["id"] }),
            Some(&owner.token),
        )
        .await;
        srv.ok(
            "mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) }",
            json!({ "c": c, "u": other.id }),
            Some(&owner.token),
        )
        .await;
        send_as(&srv, &owner, &c, "r-3", "第三条").await;

        let expected: Vec<(String, String)> = [
            ("UPDATED", "2 第一条（已改）".to_owned()),
            ("UPDATED", "3 recalled".to_owned()),
            ("MEMBERS", format!("REMOVED [\"{}\"]", other.id)),
            ("MESSAGE", "4 -".to_owned()), // the system line "removed from the group"
            ("MESSAGE", "5 第三条".to_owned()),
        ]
        .into_iter()
        .map(|(k, w)| (k.to_owned(), w))
        .collect();

        // Resuming the conversation from the cursor: each change once, in order, then nothing.
        let mut ws = srv.ws_as(&reader.token).await;
        ws.subscribe("e", RESUME, json!({ "c": c, "after": cursor })).await;
        let mut got = Vec::new();
        let mut cursors = Vec::new();
        for _ in 0..expected.len() {
            let e = ws.next_payload("e").await["data"]["conversationEvents"].clone();
            cursors.push(e["cursor"].as_str().unwrap().to_owned());
            got.push(summary(&e));
        }
        assert_eq!(got, expected);
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "no duplicate");
        drop(ws);
        // Cursors are opaque and move on; resuming from the last one replays nothing.
        assert!(cursors.windows(2).all(|w| w[0] != w[1]), "{cursors:?}");
        let mut ws = srv.ws_as(&reader.token).await;
        ws.subscribe("e", RESUME, json!({ "c": c, "after": cursors.last() })).await;
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent);
        // A cursor is bound to its conversation.
        let elsewhere = open_direct(&srv, &reader, &owner).await;
        ws.subscribe("x", RESUME, json!({ "c": elsewhere, "after": cursor })).await;
        let refused = ws.next_payload("x").await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
        drop(ws);

        // The inbox, resumed from a cursor taken before all of it, tells the same story.
        let mut ws = srv.ws_as(&reader.token).await;
        ws.subscribe("i", INBOX_RESUME, json!({ "after": inbox_cursor })).await;
        let mut got = Vec::new();
        for _ in 0..expected.len() + 1 {
            let e = ws.next_payload("i").await["data"]["inboxEvents"]["conversationEvent"].clone();
            assert_eq!(e["conversationId"], json!(c));
            got.push(summary(&e));
        }
        assert_eq!(got[0], ("MESSAGE".into(), "3 recalled".into()), "the second message, as it is now");
        assert_eq!(got[1..], expected[..]);
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "no duplicate");
    })
    .await;
}

/// An enterprise owned by `owner` with `members` joined through an invite; its id.
async fn organization_with(srv: &TestServer, owner: &Person, members: &[&Person]) -> String {
    let org = srv
        .ok(
            "mutation { createOrganization(kind: ENTERPRISE, input: { name: \"远航物流\" }) { id } }",
            json!({}),
            Some(&owner.token),
        )
        .await["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for m in members {
        join_organization(srv, owner, &org, m).await;
    }
    org
}

async fn join_organization(srv: &TestServer, owner: &Person, org: &str, member: &Person) {
    let code = srv
        .ok(
            "mutation($o: ID!) { createOrganizationInvite(organizationId: $o, role: MEMBER) { code } }",
            json!({ "o": org }),
            Some(&owner.token),
        )
        .await["createOrganizationInvite"]["code"]
        .clone();
    srv.ok("mutation($c: String!) { joinOrganization(code: $c) { id } }", json!({ "c": code }), Some(&member.token))
        .await;
}

async fn conversation_ids(srv: &TestServer, p: &Person) -> Vec<Value> {
    let list = srv.ok("{ conversations { edges { node { id } } } }", json!({}), Some(&p.token)).await;
    list["conversations"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect()
}

#[tokio::test]
async fn chat_an_organisation_channel_lists_everyone_who_joined_before_or_after_it_was_opened() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, early, late) =
            (srv.verified_person().await, srv.verified_person().await, srv.verified_person().await);
        let org = organization_with(&srv, &owner, &[&early]).await;
        let open = "mutation($o: ID!) { openOrganizationChannel(organizationId: $o) { id } }";
        let c = srv.ok(open, json!({ "o": org }), Some(&owner.token)).await["openOrganizationChannel"]["id"].clone();
        // Joined before the channel existed, never opened it: it is in their list all the same.
        assert_eq!(conversation_ids(&srv, &early).await, vec![c.clone()]);
        // Joining afterwards puts it in the list at once, and their inbox follows it.
        let from = srv.ok("{ inboxCursor }", json!({}), Some(&late.token)).await["inboxCursor"].clone();
        let mut ws = srv.ws_as(&late.token).await;
        ws.subscribe("i", INBOX_RESUME, json!({ "after": from })).await;
        join_organization(&srv, &owner, &org, &late).await;
        assert_eq!(conversation_ids(&srv, &late).await, vec![c.clone()]);
        let joined = ws.next_payload("i").await["data"]["inboxEvents"]["conversationEvent"].clone();
        assert_eq!(summary(&joined), ("MEMBERS".into(), format!("JOINED [\"{}\"]", late.id)));
        send_as(&srv, &owner, c.as_str().unwrap(), "welcome", "欢迎新同事").await;
        let said = ws.next_payload("i").await["data"]["inboxEvents"]["conversationEvent"].clone();
        assert_eq!((said["conversationId"].clone(), said["message"]["text"].clone()), (c, json!("欢迎新同事")));
    })
    .await;
}

#[tokio::test]
async fn chat_someone_removed_from_the_organisation_loses_its_channel_at_once_everywhere() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, staff) = (srv.verified_person().await, srv.verified_person().await);
        let org = organization_with(&srv, &owner, &[&staff]).await;
        let open = "mutation($o: ID!) { openOrganizationChannel(organizationId: $o) { id } }";
        let c = srv.ok(open, json!({ "o": org }), Some(&owner.token)).await["openOrganizationChannel"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        send_as(&srv, &owner, &c, "n-1", "内部通知").await;
        // Staff follow the channel and their inbox, both live.
        let mut channel = follow_live(&srv, &staff, &c, "c").await;
        let from = srv.ok("{ inboxCursor }", json!({}), Some(&staff.token)).await["inboxCursor"].clone();
        let mut inbox = srv.ws_as(&staff.token).await;
        inbox.subscribe("i", INBOX_RESUME, json!({ "after": from })).await;
        send_as(&srv, &owner, &c, "n-2", "第二条通知").await;
        assert_eq!(event(&mut channel, "c").await["message"]["text"], "第二条通知");
        let e = inbox.next_payload("i").await["data"]["inboxEvents"]["conversationEvent"].clone();
        assert_eq!(e["message"]["text"], "第二条通知");

        srv.ok(
            "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }",
            json!({ "o": org, "u": staff.id }),
            Some(&owner.token),
        )
        .await;
        // The live stream says so and ends; the inbox says so; the list no longer has it — all
        // without the person touching the channel again.
        let removed = event(&mut channel, "c").await;
        assert_eq!((removed["kind"].clone(), removed["change"].clone()), (json!("MEMBERS"), json!("REMOVED")));
        let WsEvent::Message(end) = channel.next().await else { panic!("the stream ends") };
        assert_eq!(end["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{end}");
        let e = inbox.next_payload("i").await["data"]["inboxEvents"]["conversationEvent"].clone();
        assert_eq!(summary(&e), ("MEMBERS".into(), format!("REMOVED [\"{}\"]", staff.id)));
        assert_eq!(conversation_ids(&srv, &staff).await, Vec::<Value>::new());
        send_as(&srv, &owner, &c, "n-3", "离职后的通知").await;
        assert_eq!(inbox.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "nothing after removal");
    })
    .await;
}

#[tokio::test]
async fn chat_the_inbox_cursor_names_only_what_changed_lately_and_resumes_every_conversation_exactly() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, reader) = (srv.verified_person().await, srv.verified_person().await);
        let mut groups = Vec::new();
        let mut welcomes = Vec::new();
        for i in 0..24 {
            let g = srv
                .ok(
                    "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                    json!({ "i": { "name": format!("实习{i}组"), "memberIds": [reader.id] } }),
                    Some(&owner.token),
                )
                .await;
            let c = g["createGroup"]["id"].as_str().unwrap().to_owned();
            welcomes.push(send_as(&srv, &owner, &c, &format!("w-{i}"), &format!("欢迎{i}")).await);
            groups.push(c);
        }
        let cursor_of = |v: &Value| xqt_chat::inbox::Cursor::decode(v.as_str().unwrap()).unwrap();
        let busy = srv.ok("{ inboxCursor }", json!({}), Some(&reader.token)).await["inboxCursor"].clone();
        assert_eq!(cursor_of(&busy).conversations.len(), 24, "all of them changed just now");

        // Quiet for longer than a transaction can stay open: one point in time covers them all.
        b.clock.advance(Span::minutes(6));
        let quiet = srv.ok("{ inboxCursor }", json!({}), Some(&reader.token)).await["inboxCursor"].clone();
        assert_eq!(cursor_of(&quiet).conversations.len(), 0);
        assert!(quiet.as_str().unwrap().len() * 10 < busy.as_str().unwrap().len(), "{quiet} vs {busy}");

        // Offline: a message in one group, an edit in another, removed from a third.
        send_as(&srv, &owner, &groups[7], "n-7", "第七组的新消息").await;
        srv.ok(
            "mutation($m: ID!) { editMessage(messageId: $m, text: \"欢迎3（已改）\") { id } }",
            json!({ "m": welcomes[3]["id"] }),
            Some(&owner.token),
        )
        .await;
        srv.ok(
            "mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) }",
            json!({ "c": groups[11], "u": reader.id }),
            Some(&owner.token),
        )
        .await;

        let mut ws = srv.ws_as(&reader.token).await;
        ws.subscribe("i", INBOX_RESUME, json!({ "after": quiet })).await;
        let mut got = Vec::new();
        let mut last = Value::Null;
        for _ in 0..3 {
            let e = ws.next_payload("i").await["data"]["inboxEvents"].clone();
            let c = e["conversationEvent"]["conversationId"].as_str().unwrap().to_owned();
            let group = groups.iter().position(|g| *g == c).expect("one of the groups");
            got.push((group, summary(&e["conversationEvent"])));
            last = e["cursor"].clone();
        }
        got.sort();
        assert_eq!(
            got,
            [
                (3, ("UPDATED".into(), "2 欢迎3（已改）".into())),
                (7, ("MESSAGE".into(), "3 第七组的新消息".into())),
                (11, ("MEMBERS".into(), format!("REMOVED [\"{}\"]", reader.id))),
            ]
        );
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent, "nothing else, nothing twice");
        drop(ws);
        assert!(cursor_of(&last).conversations.len() <= 3, "only what changed: {:?}", cursor_of(&last));

        // From the last cursor: nothing again, though the removal is older than nothing now.
        let mut ws = srv.ws_as(&reader.token).await;
        ws.subscribe("i", INBOX_RESUME, json!({ "after": last })).await;
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent);
        // And a quiet conversation that speaks up later is still followed.
        send_as(&srv, &owner, &groups[20], "n-20", "第二十组").await;
        let e = ws.next_payload("i").await["data"]["inboxEvents"]["conversationEvent"].clone();
        assert_eq!(
            (e["conversationId"].clone(), summary(&e)),
            (json!(groups[20]), ("MESSAGE".into(), "3 第二十组".into()))
        );
    })
    .await;
}

/// In a group one member's "no" declines for them only (the call rings on for the others, and
/// ends rejected once everyone has declined), and only the call's participants — the caller and
/// who answered — hang up.
#[tokio::test]
async fn only_a_calls_participants_end_it_and_a_group_call_rings_on_past_one_decline() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (owner, ann, ben, cai) = (
            srv.verified_person().await,
            srv.verified_person().await,
            srv.verified_person().await,
            srv.verified_person().await,
        );
        let g = srv
            .ok(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                json!({ "i": { "name": "实习小组", "memberIds": [ann.id, ben.id, cai.id] } }),
                Some(&owner.token),
            )
            .await;
        let c = g["createGroup"]["id"].clone();
        let invite = "mutation($c: ID!) { inviteCall(conversationId: $c, media: AUDIO) { id state } }";
        let reject = "mutation($i: ID!) { rejectCall(callId: $i) { state declinedBy } }";
        let hang_up = "mutation($i: ID!) { hangUpCall(callId: $i, reason: NORMAL) { state answeredBy } }";

        let call = srv.ok(invite, json!({ "c": c }), Some(&owner.token)).await["inviteCall"].clone();
        let r = srv.ok(reject, json!({ "i": call["id"] }), Some(&ann.token)).await;
        assert_eq!(r["rejectCall"], json!({ "state": "RINGING", "declinedBy": [ann.id] }), "Ann declines for herself");
        let a = srv
            .ok(
                "mutation($i: ID!) { acceptCall(callId: $i) { state answeredBy } }",
                json!({ "i": call["id"] }),
                Some(&ben.token),
            )
            .await;
        assert_eq!(a["acceptCall"], json!({ "state": "ACCEPTED", "answeredBy": ben.id }), "Ben still can answer");
        for (who, p) in [("Ann, who declined", &ann), ("Cai, who never joined", &cai)] {
            let r = srv.gql(hang_up, json!({ "i": call["id"] }), Some(&p.token)).await;
            assert_eq!(r.code(), Some("FORBIDDEN"), "{who} cannot end the others' call: {:?}", r.body);
        }
        let r = srv.ok(hang_up, json!({ "i": call["id"] }), Some(&ben.token)).await;
        assert_eq!(r["hangUpCall"]["state"], "ENDED", "a participant can");

        let call = srv.ok(invite, json!({ "c": c }), Some(&owner.token)).await["inviteCall"].clone();
        for p in [&ann, &ben] {
            assert_eq!(
                srv.ok(reject, json!({ "i": call["id"] }), Some(&p.token)).await["rejectCall"]["state"],
                "RINGING"
            );
        }
        let again = srv.ok(reject, json!({ "i": call["id"] }), Some(&ben.token)).await;
        assert_eq!(again["rejectCall"]["declinedBy"].as_array().unwrap().len(), 2, "declining twice counts once");
        let last = srv.ok(reject, json!({ "i": call["id"] }), Some(&cai.token)).await;
        assert_eq!(last["rejectCall"]["state"], "REJECTED", "everyone declined: {last}");
        let r = srv.gql(invite, json!({ "c": c }), Some(&owner.token)).await;
        assert_eq!(r.body["data"]["inviteCall"]["state"], "RINGING", "the line is free again: {:?}", r.body);
    })
    .await;
}

/// A text message is stored in one statement on PostgreSQL (sequence and change position, the
/// row, the sender's read marker and the push job: one round trip and its commit) and in one
/// transaction on SQLite. Either way, senders racing into one group leave a dense sequence, every
/// sender's read marker on their own last message, and one push job per message.
#[tokio::test]
async fn chat_a_send_is_one_statement_on_postgres_and_racing_senders_keep_the_sequence_dense() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use xqt_kernel::jobs::job;

    on_each_backend(async |b| {
        let mut ctx = b.context().await;
        let counting = Arc::new(AtomicBool::new(false));
        let (combined, message_inserts, other_writes) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (on, c1, c2, c3) = (counting.clone(), combined.clone(), message_inserts.clone(), other_writes.clone());
        ctx.parts_mut().db.set_metric_callback(move |info| {
            if !on.load(Ordering::SeqCst) {
                return;
            }
            let sql = info.statement.sql.to_lowercase();
            if sql.starts_with("with") && sql.contains("insert into \"chat_messages\"") {
                assert!(
                    sql.contains("update \"chat_conversations\"")
                        && sql.contains("update \"chat_members\"")
                        && sql.contains("insert into \"jobs\""),
                    "counters, read marker and push job in the message's statement: {sql}"
                );
                c1.fetch_add(1, Ordering::SeqCst);
            } else if sql.starts_with("insert into \"chat_messages\"") {
                c2.fetch_add(1, Ordering::SeqCst);
            } else if sql.starts_with("update \"chat_conversations\"")
                || sql.starts_with("update \"chat_members\"")
                || sql.starts_with("insert into \"jobs\"")
            {
                c3.fetch_add(1, Ordering::SeqCst);
            }
        });
        let srv = b.start_on(ctx).await;
        let senders: Vec<Person> = futures::future::join_all((0..6).map(|_| srv.verified_person())).await;
        let ids: Vec<String> = senders[1..].iter().map(|p| p.id.to_string()).collect();
        let g = srv
            .ok(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                json!({ "i": { "name": "并发发送", "memberIds": ids } }),
                Some(&senders[0].token),
            )
            .await;
        let c = g["createGroup"]["id"].as_str().unwrap().to_owned();
        let before = srv.ok(UNREAD, json!({ "c": c }), Some(&senders[0].token)).await["conversation"]["lastSeq"]
            .as_i64()
            .unwrap();
        counting.store(true, Ordering::SeqCst);
        let sent: Vec<Vec<Value>> = futures::future::join_all(senders.iter().enumerate().map(|(i, p)| {
            let (srv, c) = (&srv, &c);
            async move {
                let mut mine = Vec::new();
                for n in 0..5 {
                    mine.push(send_as(srv, p, c, &format!("race-{i}-{n}"), &format!("第{n}条")).await);
                }
                mine
            }
        }))
        .await;
        counting.store(false, Ordering::SeqCst);
        let (combined, message_inserts, other_writes) = (
            combined.load(Ordering::SeqCst),
            message_inserts.load(Ordering::SeqCst),
            other_writes.load(Ordering::SeqCst),
        );
        if b.database().is_some() {
            assert_eq!((combined, message_inserts, other_writes), (30, 0, 0), "PostgreSQL: one statement per send");
        } else {
            assert_eq!((combined, message_inserts), (0, 30), "SQLite: the transaction's insert per send");
            assert!(other_writes >= 3 * 30, "counters, read marker and push job each: {other_writes}");
        }
        let mut seqs: Vec<i64> = sent.iter().flatten().map(|m| m["seq"].as_i64().unwrap()).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (before + 1..=before + 30).collect::<Vec<_>>(), "dense, each number once");
        for (p, mine) in senders.iter().zip(&sent) {
            let last = mine.iter().map(|m| m["seq"].as_i64().unwrap()).max().unwrap();
            let seen = srv.ok(UNREAD, json!({ "c": c }), Some(&p.token)).await;
            assert_eq!(seen["conversation"]["lastReadSeq"], last, "what one sends, one has read");
            assert_eq!(seen["conversation"]["lastSeq"], before + 30);
        }
        let pushes = job::Entity::find()
            .filter(job::Column::Kind.eq(xqt_chat::jobs::PUSH))
            .all(&srv.ctx.db)
            .await
            .expect("jobs");
        let mut pushed: Vec<String> = pushes
            .iter()
            .map(|j| serde_json::from_str::<Value>(&j.payload).unwrap()["message"].as_str().unwrap().to_owned())
            .collect();
        let mut stored: Vec<String> = sent.iter().flatten().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        pushed.sort();
        stored.sort();
        assert_eq!(pushed, stored, "one push job per message, committed with it");
        assert!(pushes.iter().all(|j| j.dedupe_key.as_deref()
            == Some(&format!(
                "{}:{}:send",
                xqt_chat::jobs::PUSH,
                serde_json::from_str::<Value>(&j.payload).unwrap()["message"].as_str().unwrap()
            ))));
    })
    .await;
}
