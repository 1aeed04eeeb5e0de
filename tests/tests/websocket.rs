//! graphql-transport-ws on /graphql/ws: handshake, close codes, pings, caps, token expiry.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use xqt_tests::{WsClient, WsEvent, on_each_backend};

const FOLLOW: &str = "subscription { notificationAdded { id title } }";

#[tokio::test]
async fn the_subprotocol_is_required() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let err = WsClient::connect(&format!("{}/graphql/ws", srv.ws_base), None).await.err().expect("refused");
        assert!(err.to_string().contains("400"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn init_is_acknowledged_and_pings_are_answered() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ws = srv.ws_as(&srv.person().await.token).await;
        ws.send(json!({ "type": "ping", "payload": { "n": 1 } })).await;
        assert_eq!(ws.next().await, WsEvent::Message(json!({ "type": "pong", "payload": { "n": 1 } })));
        // A query over the socket runs once and completes.
        ws.subscribe("q", "{ __typename }", json!({})).await;
        assert_eq!(ws.next_payload("q").await, json!({ "data": { "__typename": "Query" } }));
        assert_eq!(ws.next().await, WsEvent::Message(json!({ "type": "complete", "id": "q" })));
    })
    .await;
}

#[tokio::test]
async fn the_server_pings_on_its_interval() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.websocket.ping_interval_secs = 1).await;
        let ws = srv.ws_as(&srv.person().await.token).await;
        // The raw stream is read here, so the ping is seen rather than answered by the helper.
        let mut raw = ws.into_raw();
        let frame = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut raw))
            .await
            .expect("a ping in time");
        let Some(Ok(Message::Text(t))) = frame else { panic!("expected a text frame, got {frame:?}") };
        assert_eq!(serde_json::from_str::<serde_json::Value>(&t).unwrap(), json!({ "type": "ping" }));
    })
    .await;
}

#[tokio::test]
async fn no_init_in_time_closes_4408() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.websocket.init_timeout_secs = 1).await;
        let mut ws = srv.ws().await;
        assert_eq!(ws.close_code().await, 4408);
    })
    .await;
}

#[tokio::test]
async fn subscribe_before_ack_closes_4401() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ws = srv.ws().await;
        ws.subscribe("1", FOLLOW, json!({})).await;
        assert_eq!(ws.close_code().await, 4401);
    })
    .await;
}

#[tokio::test]
async fn a_bad_token_at_init_closes_4403() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ws = srv.ws().await;
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer not-a-token" } })).await;
        assert_eq!(ws.close_code().await, 4403);
    })
    .await;
}

#[tokio::test]
async fn a_second_init_closes_4429() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ws = srv.ws_as(&srv.person().await.token).await;
        ws.send(json!({ "type": "connection_init" })).await;
        assert_eq!(ws.close_code().await, 4429);
    })
    .await;
}

#[tokio::test]
async fn a_reused_subscription_id_closes_4409() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ws = srv.ws_as(&srv.person().await.token).await;
        ws.subscribe("same", FOLLOW, json!({})).await;
        ws.subscribe("same", FOLLOW, json!({})).await;
        assert_eq!(ws.close_code().await, 4409);
    })
    .await;
}

#[tokio::test]
async fn invalid_messages_close_4400() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        for bad in [
            Message::text("not json"),
            Message::text(r#"{"type":"subscribe"}"#),
            Message::text(r#"{"type":"dance"}"#),
            Message::binary(vec![1, 2, 3]),
        ] {
            let mut ws = srv.ws_as(&srv.person().await.token).await;
            ws.send_raw(bad.clone()).await;
            assert_eq!(ws.close_code().await, 4400, "{bad:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_expiring_token_closes_the_socket_4403() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        // Seconds to spare for connecting on a loaded machine (see the chat test of the same).
        let token = srv.token_valid_for(&person, chrono::Duration::seconds(5));
        let mut ws = srv.ws_as(&token).await;
        ws.subscribe("1", FOLLOW, json!({})).await;
        assert_eq!(ws.next_within(Duration::from_millis(500)).await, WsEvent::Silent, "open while the token holds");
        match ws.next().await {
            WsEvent::Closed(code, reason) => assert_eq!((code, reason.as_str()), (4403, "Forbidden: token expired")),
            other => panic!("expected a close, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn subscriptions_per_socket_are_capped() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.websocket.max_subscriptions = 2).await;
        let mut ws = srv.ws_as(&srv.person().await.token).await;
        ws.subscribe("1", FOLLOW, json!({})).await;
        ws.subscribe("2", FOLLOW, json!({})).await;
        ws.subscribe("3", FOLLOW, json!({})).await;
        let WsEvent::Message(m) = ws.next().await else { panic!("expected an error message") };
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("3")));
        assert_eq!(m["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        // Completing one frees a place; the socket stayed open.
        ws.send(json!({ "type": "complete", "id": "1" })).await;
        ws.subscribe("3", FOLLOW, json!({})).await;
        assert_eq!(ws.next_within(Duration::from_millis(300)).await, WsEvent::Silent);
    })
    .await;
}

#[tokio::test]
async fn invalid_subscriptions_get_an_error_and_the_socket_stays_open() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut ws = srv.ws_as(&srv.person().await.token).await;
        ws.subscribe("bad", "subscription { noSuchThing }", json!({})).await;
        let WsEvent::Message(m) = ws.next().await else { panic!("expected an error") };
        assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("bad")));
        assert_eq!(m["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
        ws.send(json!({ "type": "ping" })).await;
        assert_eq!(ws.next().await, WsEvent::Message(json!({ "type": "pong", "payload": null })));
    })
    .await;
}

#[tokio::test]
async fn a_message_over_the_body_limit_closes_1009() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.limits.max_body_bytes = 64 * 1024).await;
        let mut ws = srv.ws_as(&srv.person().await.token).await;
        // Within the limit, a ping with a payload is answered.
        ws.send(json!({ "type": "ping", "payload": { "pad": "x".repeat(32 * 1024) } })).await;
        assert!(matches!(ws.next().await, WsEvent::Message(m) if m["type"] == "pong"));
        // Over it, the socket closes instead of buffering whatever the client sends.
        ws.send(json!({ "type": "ping", "payload": { "pad": "x".repeat(100 * 1024) } })).await;
        assert_eq!(ws.close_code().await, 1009);
    })
    .await;
}
