//! Faults (issue 16): Redis taken away from a running server through a fault proxy. Signed-in
//! work goes on (sessions, the guard and partner tokens are read from the database on a cache
//! miss), sign-in codes fail closed (`RATE_LIMITED`, `reason: LIMITER_UNAVAILABLE`), other limits
//! fail open, `/readyz` stays ready and names what is degraded, and once Redis is back live
//! delivery resumes and a subscriber catches up by cursor, missing nothing and seeing nothing
//! twice.

use std::time::Duration;

use serde_json::{Value, json};
use xqt_tests::fault::{Fault, FaultProxy};
use xqt_tests::{TestServer, on_shared_backend, random_phone};

const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq text } }";
const RESUME: &str = "subscription($c: ID!, $after: String) { conversationEvents(conversationId: $c, after: $after) { cursor kind message { seq text } } }";

async fn readyz(srv: &TestServer) -> Value {
    let a = TestServer::answer(srv.http.get(srv.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(a.status, 200, "the instance stays ready: {:?}", a.body);
    a.body
}

/// A fault proxy in front of the Redis at `url`, and the URL that goes through it.
async fn proxied(url: &str) -> (FaultProxy, String) {
    let authority = url.split_once("://").expect("a Redis URL").1;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let proxy = FaultProxy::start(host.split('/').next().expect("host:port")).await;
    let through = proxy.url_for(url);
    (proxy, through)
}

/// Waits until the instance reaches Redis again (a wait for recovery, bounded, not a timing
/// claim).
async fn until_recovered(srv: &TestServer, what: &str) {
    for _ in 0..200 {
        if readyz(srv).await["degraded"] == json!([]) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the instance did not reach Redis again after {what}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL + Redis: it takes Redis away from a running server"]
async fn redis_down_signed_in_work_goes_on_sign_in_fails_closed_and_live_delivery_resumes() {
    on_shared_backend(async |b| {
        let redis = b.redis_url().expect(xqt_tests::NEEDS_SHARED).to_owned();
        let (proxy, through) = proxied(&redis).await;
        let srv = b.start_with(|c| c.redis_url = Some(through.clone())).await;
        let (alice, bob, carol) = (srv.verified_person().await, srv.verified_person().await, srv.person().await);
        let c = srv.ok("mutation($u: ID!) { openDirectConversation(userId: $u) { id } }", json!({ "u": bob.id }), Some(&alice.token)).await
            ["openDirectConversation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let send = async |text: &str, id: &str| {
            srv.gql(SEND, json!({ "i": { "conversationId": c, "clientMessageId": id, "kind": "TEXT", "text": text } }), Some(&alice.token)).await
        };
        let first = send("停机前", "before").await;
        assert!(first.body["data"]["sendMessage"]["seq"].is_i64(), "{:?}", first.body);
        // Bob's cursor before the outage: he will resume from it.
        let (ws, cursor) = live_from_here(&srv, &bob.token, &alice.token, &c).await;
        drop(ws);
        assert_eq!(readyz(&srv).await["degraded"], json!([]));

        proxy.set(Fault::Down);
        // And it comes back empty, as a restarted Redis without persistence does: every cached
        // session, guard state and counter of this server is gone.
        let mut direct = redis::Client::open(redis.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}*", b.redis_prefix)).query_async(&mut direct).await.unwrap();
        assert!(!keys.is_empty(), "the server had cached state in Redis");
        let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut direct).await.unwrap();

        // Signed-in reads and writes go on.
        let me = srv.gql("{ me { id } }", json!({}), Some(&alice.token)).await;
        assert_eq!(me.body["data"]["me"]["id"], json!(alice.id), "{:?}", me.body);
        let edit = srv.gql("mutation { updateProfile(input: { nickname: \"停机中\" }) { id } }", json!({}), Some(&alice.token)).await;
        assert!(edit.body["errors"].is_null(), "{:?}", edit.body);
        let mut acknowledged = Vec::new();
        for i in 0..5 {
            let a = send(&format!("停机中 {i}"), &format!("down-{i}")).await;
            assert!(a.body["errors"].is_null(), "a message sent while Redis is down is stored: {:?}", a.body);
            acknowledged.push(a.body["data"]["sendMessage"]["text"].as_str().unwrap().to_owned());
        }
        // Sign-in codes fail closed, with a code a client can act on.
        let code = srv.gql("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": random_phone() }), None).await;
        let e = &code.body["errors"][0]["extensions"];
        assert_eq!(
            (e["code"].as_str(), e["reason"].as_str(), e["retryAfter"].as_i64()),
            (Some("RATE_LIMITED"), Some("LIMITER_UNAVAILABLE"), Some(30)),
            "{:?}",
            code.body
        );
        // Signing out still ends the session (the database says so).
        srv.ok("mutation { signOut }", json!({}), Some(&carol.token)).await;
        let after = srv.gql("{ me { id } }", json!({}), Some(&carol.token)).await;
        assert_eq!(after.code(), Some("UNAUTHENTICATED"), "{:?}", after.body);
        // Ready, and saying what is missing.
        let ready = readyz(&srv).await;
        assert_eq!((ready["ready"].clone(), ready["checks"]["database"].clone()), (json!(true), json!("ok")));
        assert_eq!(ready["degraded"], json!(["cache", "bus"]), "{ready:?}");

        proxy.set(Fault::None);

        // Redis back: the instance reconnects on its own (waiting for it is not a timing claim).
        until_recovered(&srv, "Redis came back").await;
        // Bob resumes from his cursor: everything sent meanwhile, once each, in order, then live.
        let mut ws = srv.ws_as(&bob.token).await;
        ws.subscribe("e", RESUME, json!({ "c": c, "after": cursor })).await;
        let mut delivered = Vec::new();
        for _ in 0..acknowledged.len() {
            let p = ws.next_payload("e").await;
            delivered.push(p["data"]["conversationEvents"]["message"]["text"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(delivered, acknowledged, "caught up by cursor, in order, once each");
        let live = send("恢复后", "after").await;
        assert!(live.body["errors"].is_null(), "{:?}", live.body);
        let p = ws.next_payload("e").await;
        assert_eq!(p["data"]["conversationEvents"]["message"]["text"], "恢复后", "live delivery resumed");
        let code = srv.gql("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": random_phone() }), None).await;
        assert_eq!(code.body["data"]["requestSignInCode"], true, "sign-in codes are sent again: {:?}", code.body);

        // A slow path: every chunk to and from Redis waits 200 ms. Slower, and nothing fails.
        proxy.set(Fault::Delay(Duration::from_millis(200)));
        let a = send("慢路径", "slow").await;
        assert!(a.body["errors"].is_null(), "{:?}", a.body);
        let p = ws.next_payload("e").await;
        assert_eq!(p["data"]["conversationEvents"]["message"]["text"], "慢路径", "delivered over the slow path");
        assert_eq!(readyz(&srv).await["degraded"], json!([]), "slow is not down");
        proxy.set(Fault::None);

        // A partition: Redis' connection stays open and nothing comes back. The first call waits
        // out the breaker's timeout, then calls fail fast; the work itself goes on.
        proxy.set(Fault::Drop);
        let me = srv.gql("{ me { id } }", json!({}), Some(&alice.token)).await;
        assert_eq!(me.body["data"]["me"]["id"], json!(alice.id), "{:?}", me.body);
        let a = send("分区中", "partition").await;
        assert!(a.body["errors"].is_null(), "{:?}", a.body);
        proxy.set(Fault::None);
        until_recovered(&srv, "the partition healed").await;
        let p = ws.next_payload("e").await;
        assert_eq!(p["data"]["conversationEvents"]["message"]["text"], "分区中", "sent in the partition, delivered once");
        println!(
            "faults (redis down and emptied, slowed, partitioned): {} faults injected; {} messages sent while down, {} acknowledged, {} delivered after, 0 lost, 0 duplicated",
            proxy.injected(),
            acknowledged.len(),
            acknowledged.len(),
            delivered.len()
        );
    })
    .await;
}

/// A live subscription to the conversation's events for `reader`, and a cursor in it: markers
/// are sent until one arrives (a subscription without `after` goes live a moment after it is
/// asked for, and only what comes after that reaches it).
async fn live_from_here(
    srv: &TestServer,
    reader: &str,
    sender: &str,
    conversation: &str,
) -> (xqt_tests::WsClient, String) {
    let mut ws = srv.ws_as(reader).await;
    ws.subscribe("e", RESUME, json!({ "c": conversation, "after": null })).await;
    for i in 0..20 {
        let id = format!("marker-{}-{i}", uuid::Uuid::new_v4().simple());
        let sent = srv.gql(SEND, json!({ "i": { "conversationId": conversation, "clientMessageId": id, "kind": "TEXT", "text": "标记" } }), Some(sender)).await;
        assert!(sent.body["errors"].is_null(), "{:?}", sent.body);
        if let xqt_tests::WsEvent::Message(m) = ws.next_within(Duration::from_secs(2)).await {
            let cursor =
                m["payload"]["data"]["conversationEvents"]["cursor"].as_str().expect("an event's cursor").to_owned();
            return (ws, cursor);
        }
    }
    panic!("the subscription never went live");
}

/// A socket acknowledged for `token`, or `None` when the server says to try again later (1013:
/// the token could not be checked during a fault).
async fn connect(srv: &TestServer, token: &str) -> Option<xqt_tests::WsClient> {
    match srv.ws_init(Some(token)).await {
        Ok(ws) => Some(ws),
        Err(xqt_tests::WsEvent::Closed(1013, _)) => None,
        Err(other) => panic!("a fault must close the handshake 1013, never refuse the token: {other:?}"),
    }
}

/// One sender's messages: sent with client ids, each retried until acknowledged.
async fn send_all(srv: &TestServer, token: &str, conversation: &str, who: usize, count: usize) -> (Vec<String>, usize) {
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for i in 0..count {
        let id = format!("s{who}-{i}");
        loop {
            let a = srv
                .gql(SEND, json!({ "i": { "conversationId": conversation, "clientMessageId": id, "kind": "TEXT", "text": id } }), Some(token))
                .await;
            if a.body["errors"].is_null() {
                acknowledged.push(id.clone());
                break;
            }
            // A fault is seen as INTERNAL with nothing more (or a busy limiter): the client retries
            // with the same id, and the server keeps the first copy.
            let e = &a.body["errors"][0];
            assert!(
                matches!(e["extensions"]["code"].as_str(), Some("INTERNAL")) && e["message"] == "internal error",
                "a fault must surface as a bare INTERNAL: {:?}",
                a.body
            );
            refused += 1;
            assert!(refused < 200, "{id} was never acknowledged: the server did not recover");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (acknowledged, refused)
}

#[tokio::test]
#[ignore = "needs PostgreSQL + Redis: it kills database backends and takes Redis away under load"]
async fn chat_loses_and_duplicates_nothing_while_postgres_backends_die_and_redis_goes_away() {
    on_shared_backend(async |b| {
        const SENDERS: usize = 4;
        const EACH: usize = 40;
        let redis = b.redis_url().expect(xqt_tests::NEEDS_SHARED).to_owned();
        let (proxy, through) = proxied(&redis).await;
        let srv = b
            .start_with(|c| {
                c.redis_url = Some(through.clone());
                c.update(|s: &mut xqt_chat::config::ChatConfig| s.messages_per_minute = 10_000);
            })
            .await;
        let (admin_url, database) = b.database().expect(xqt_tests::NEEDS_SHARED);
        let killer = sea_orm::Database::connect(admin_url).await.expect("the PostgreSQL admin connection");

        let reader = srv.verified_person().await;
        let mut senders = Vec::new();
        for _ in 0..SENDERS {
            senders.push(srv.verified_person().await);
        }
        let members: Vec<_> = senders.iter().map(|p| p.id).collect();
        let group = srv
            .ok(
                "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
                json!({ "i": { "name": "故障演练", "memberIds": members } }),
                Some(&reader.token),
            )
            .await["createGroup"]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // The subscriber's starting point: the cursor of a marker sent before anything else (a
        // subscription without `after` sees only what happens after it starts).
        let start = live_from_here(&srv, &reader.token, &reader.token, &group).await.1;

        // Faults on a bounded schedule while the senders send: PostgreSQL backends terminated,
        // Redis down for a moment, in turn.
        let faults = async {
            let mut killed = 0u64;
            for round in 0..16 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                if round % 4 != 3 {
                    let r = sea_orm::ConnectionTrait::execute_unprepared(
                        &killer,
                        &format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
                        ),
                    )
                    .await
                    .expect("terminate the server's backends");
                    killed += r.rows_affected();
                } else {
                    proxy.set(Fault::Down);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    proxy.set(Fault::None);
                }
            }
            killed
        };
        let sending = futures::future::join_all(
            senders.iter().enumerate().map(|(who, p)| send_all(&srv, &p.token, &group, who, EACH)),
        );
        // A subscriber reconnecting every few events (and whenever it hears nothing for a while),
        // each time resuming from the last cursor it saw.
        let watching = async {
            let (mut cursor, mut delivered, mut reconnects) = (Some(start.clone()), Vec::<(i64, String)>::new(), 0usize);
            while delivered.len() < SENDERS * EACH {
                assert!(reconnects < 500, "the subscriber never caught up: {} of {}", delivered.len(), SENDERS * EACH);
                reconnects += 1;
                let Some(mut ws) = connect(&srv, &reader.token).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                ws.subscribe("e", RESUME, json!({ "c": group, "after": cursor })).await;
                for _ in 0..(3 + reconnects * 7 % 13) {
                    match ws.next_within(Duration::from_secs(2)).await {
                        xqt_tests::WsEvent::Message(m) if m["type"] == "next" => {
                            let event = &m["payload"]["data"]["conversationEvents"];
                            cursor = event["cursor"].as_str().map(str::to_owned).or(cursor);
                            let text = event["message"]["text"].as_str().unwrap_or_default().to_owned();
                            if event["kind"] == "MESSAGE" && text.starts_with('s') {
                                delivered.push((event["message"]["seq"].as_i64().unwrap(), text));
                            }
                        }
                        _ => break,
                    }
                }
            }
            (delivered, reconnects)
        };
        let (killed, sent, (delivered, reconnects)) = tokio::join!(faults, sending, watching);
        let acknowledged: Vec<String> = sent.iter().flat_map(|(a, _)| a.clone()).collect();
        let retried: usize = sent.iter().map(|(_, r)| r).sum();
        assert_eq!(acknowledged.len(), SENDERS * EACH, "every message was acknowledged in the end");

        // Stored exactly once each, and the pool recovered: the reader pages through them all.
        let mut stored: Vec<(i64, String)> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = srv
                .ok(
                    "query($c: ID!, $a: String) { messages(conversationId: $c, first: 100, after: $a) { edges { cursor node { seq text } } pageInfo { hasNextPage } } }",
                    json!({ "c": group, "a": after }),
                    Some(&reader.token),
                )
                .await;
            let edges = page["messages"]["edges"].as_array().unwrap().clone();
            for e in &edges {
                stored.push((e["node"]["seq"].as_i64().unwrap(), e["node"]["text"].as_str().unwrap_or_default().to_owned()));
            }
            after = edges.last().map(|e| e["cursor"].as_str().unwrap().to_owned());
            if page["messages"]["pageInfo"]["hasNextPage"] != true {
                break;
            }
        }
        let texts: std::collections::BTreeSet<&String> = stored.iter().map(|(_, t)| t).filter(|t| t.starts_with('s')).collect();
        let sent_set: std::collections::BTreeSet<&String> = acknowledged.iter().collect();
        let lost = sent_set.difference(&texts).count();
        let duplicated = stored.iter().filter(|(_, t)| t.starts_with('s')).count() - texts.len();

        // The subscriber saw each once, in order.
        let seen: Vec<&String> = delivered.iter().map(|(_, t)| t).collect();
        let seen_once: std::collections::BTreeSet<&String> = seen.iter().copied().collect();
        assert_eq!(seen.len(), seen_once.len(), "the subscriber saw a message twice");
        assert_eq!(seen_once, sent_set, "the subscriber saw exactly what was acknowledged");
        assert!(delivered.windows(2).all(|w| w[0].0 < w[1].0), "in order");
        // And live delivery goes on after the faults.
        let (mut ws, _) = live_from_here(&srv, &reader.token, &senders[0].token, &group).await;
        let marker = srv
            .gql(SEND, json!({ "i": { "conversationId": group, "clientMessageId": "end", "kind": "TEXT", "text": "结束" } }), Some(&senders[0].token))
            .await;
        assert!(marker.body["errors"].is_null(), "{:?}", marker.body);
        let p = ws.next_payload("e").await;
        assert_eq!(p["data"]["conversationEvents"]["message"]["text"], "结束", "live after the faults");
        println!(
            "faults (postgres backends killed, redis down): {killed} backends terminated, {} redis faults injected; \
             {} sent, {} acknowledged after {retried} retries, {} stored, {} delivered to a subscriber \
             that reconnected {reconnects} times, {lost} lost, {duplicated} duplicated",
            proxy.injected(),
            SENDERS * EACH,
            acknowledged.len(),
            texts.len(),
            delivered.len(),
        );
        assert_eq!((lost, duplicated), (0, 0));
        let seqs: Vec<i64> = stored.iter().map(|(s, _)| *s).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers strictly increase");
    })
    .await;
}
