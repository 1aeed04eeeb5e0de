//! The GraphQL abuse suite: every attack a public GraphQL endpoint meets, each refused with its
//! own code, a 4xx status and no `data`, and ordinary requests answered while a burst of them
//! runs. Prints what it tried (CI's log keeps the counts).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use xqt_tests::{TestServer, on_each_backend};

/// How an attack reaches the server.
enum Send {
    /// `POST /graphql` with a JSON body.
    Json(Value),
    /// `POST /graphql` with this content type and body, as bytes.
    Raw(&'static str, Vec<u8>),
    /// `GET /graphql?{query string}`.
    Get(String),
}

struct Attack {
    name: &'static str,
    send: Send,
    status: u16,
    code: &'static str,
}

fn attack(name: &'static str, send: Send, status: u16, code: &'static str) -> Attack {
    Attack { name, send, status, code }
}

fn query(q: String) -> Send {
    Send::Json(json!({ "query": q }))
}

fn repeat(n: usize, item: &str) -> String {
    vec![item; n].join(" ")
}

/// The attacks a development server refuses; production's own are below.
fn attacks() -> Vec<Attack> {
    let mut deep = String::from("name");
    for _ in 0..12 {
        deep = format!("ofType {{ {deep} }}");
    }
    let heavy = "notifications(first: 100) { edges { node { id kind title body createdAt readAt } } }";
    let nested_variables = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        attack(
            "deep nesting",
            query(format!("{{ unreadNotificationCount __type(name: \"Query\") {{ fields {{ type {{ {deep} }} }} }} }}")),
            400,
            "QUERY_TOO_DEEP",
        ),
        attack(
            "nesting far beyond the parser",
            query(format!("{}{}", "{ a ".repeat(3000), "}".repeat(3000))),
            400,
            "GRAPHQL_PARSE_FAILED",
        ),
        attack(
            "alias flood",
            query(format!("{{ {} }}", (0..200).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "))),
            400,
            "TOO_MANY_ALIASES",
        ),
        attack("500 duplicate fields", query(format!("{{ {} }}", repeat(500, "__typename"))), 400, "TOO_MANY_FIELDS"),
        attack(
            "fragment spread flood",
            query(format!("{{ {} }} fragment F on Query {{ __typename }}", repeat(2000, "...F"))),
            400,
            "TOO_MANY_FIELDS",
        ),
        attack(
            "directive flood",
            query(format!("{{ __typename {} }}", repeat(500, "@include(if: true)"))),
            400,
            "TOO_MANY_DIRECTIVES",
        ),
        attack(
            "circular fragments",
            query("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }".into()),
            400,
            // async-graphql stops following spreads 32 deep while parsing, before validation.
            "GRAPHQL_PARSE_FAILED",
        ),
        attack(
            "a fragment that spreads itself",
            query("{ ...A } fragment A on Query { __typename ...A }".into()),
            400,
            "GRAPHQL_PARSE_FAILED",
        ),
        attack("heavy lists", query(format!("{{ a: {heavy} b: {heavy} c: {heavy} }}")), 400, "QUERY_TOO_COMPLEX"),
        attack(
            "batch flood",
            Send::Json(Value::Array((0..1000).map(|_| json!({ "query": "{ __typename }" })).collect())),
            400,
            "BAD_REQUEST",
        ),
        attack(
            "oversized body",
            query(format!("{{ __typename }} # {}", "x".repeat(2 * 1024 * 1024))),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        attack(
            "huge variables",
            Send::Json(json!({ "query": "{ __typename }", "variables": { "v": vec![7; 600_000] } })),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        attack(
            "deeply nested variables",
            Send::Raw(
                "application/json",
                format!(r#"{{"query":"{{ __typename }}","variables":{{"v":{nested_variables}}}}}"#).into_bytes(),
            ),
            400,
            "BAD_REQUEST",
        ),
        attack("a body that is not UTF-8", Send::Raw("application/json", b"{\"query\":\"\xff\xfe\"}".to_vec()), 400, "BAD_REQUEST"),
        attack("mutation over GET", Send::Get("query=mutation%20%7B%20markNotificationsRead%20%7D".into()), 405, "BAD_REQUEST"),
        attack("query over GET", Send::Get("query=%7B__typename%7D".into()), 405, "BAD_REQUEST"),
        attack(
            "text/plain without a preflight (CSRF)",
            Send::Raw("text/plain", br#"{"query":"mutation { markNotificationsRead }"}"#.to_vec()),
            415,
            "BAD_REQUEST",
        ),
        attack(
            "form post without a preflight (CSRF)",
            Send::Raw("application/x-www-form-urlencoded", b"query=mutation%20%7B%20markNotificationsRead%20%7D".to_vec()),
            415,
            "BAD_REQUEST",
        ),
        attack(
            "multipart without a preflight (CSRF)",
            Send::Raw(
                "multipart/form-data; boundary=b",
                b"--b\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"mutation { markNotificationsRead }\"}\r\n--b--\r\n".to_vec(),
            ),
            415,
            "BAD_REQUEST",
        ),
        attack(
            "unknown operation name",
            Send::Json(json!({ "query": "query A { __typename }", "operationName": "Z" })),
            400,
            "BAD_REQUEST",
        ),
    ]
}

/// Sends one attack; `Err` says how the answer differs from a refusal with the attack's code.
async fn try_attack(srv: &TestServer, a: &Attack) -> Result<(), String> {
    let http = &srv.http;
    let req = match &a.send {
        Send::Json(body) => http.post(srv.url("/graphql")).json(body),
        Send::Raw(content_type, body) => {
            http.post(srv.url("/graphql")).header("content-type", *content_type).body(body.clone())
        }
        Send::Get(q) => http.get(srv.url(&format!("/graphql?{q}"))),
    };
    let resp = req.send().await.map_err(|e| format!("{}: no answer: {e}", a.name))?;
    let answer = TestServer::answer(resp).await;
    let got = (answer.status, answer.code());
    if got != (a.status, Some(a.code)) || answer.body.get("data").is_some() {
        return Err(format!(
            "{}: wanted {} {}, got {got:?}: {:.300}",
            a.name,
            a.status,
            a.code,
            answer.body.to_string()
        ));
    }
    Ok(())
}

/// A signed-in person's ordinary query, which must be answered in full.
async fn ordinary(srv: &TestServer, token: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let a = srv.gql("query Ordinary { __typename unreadNotificationCount }", json!({}), Some(token)).await;
    if a.status != 200 || a.body["data"]["unreadNotificationCount"] != 0 || a.body.get("errors").is_some() {
        return Err(format!("an ordinary request failed: {} {:?}", a.status, a.body));
    }
    Ok(started.elapsed())
}

#[tokio::test]
async fn every_attack_is_refused_with_its_code_and_no_data() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let attacks = attacks();
        let mut failed = Vec::new();
        let mut slowest = (Duration::ZERO, "");
        for a in &attacks {
            let started = Instant::now();
            if let Err(e) = try_attack(&srv, a).await {
                failed.push(e);
            }
            slowest = slowest.max((started.elapsed(), a.name));
        }
        assert!(failed.is_empty(), "not refused as they should be:\n{}", failed.join("\n"));
        ordinary(&srv, &srv.person().await.token).await.unwrap();

        // Production: nothing about the schema leaves, neither by introspection nor by the
        // suggestions in a validation message.
        let production = b
            .start_with(|c| {
                c.env = xqt_kernel::config::Environment::Production;
                xqt_tests::real_providers(c, "http://127.0.0.1:9");
            })
            .await;
        let mut refused_in_production = 0;
        for q in [
            "{ __schema { types { name } } }",
            "{ __type(name: \"Query\") { fields { name } } }",
            "{ ...F } fragment F on Query { __schema { queryType { name } } }",
        ] {
            let a = production.gql(q, json!({}), None).await;
            assert_eq!((a.status, a.code()), (400, Some("GRAPHQL_VALIDATION_FAILED")), "{q}: {:?}", a.body);
            assert!(a.body.get("data").is_none(), "{q}: {:?}", a.body);
            refused_in_production += 1;
        }
        // `__typename` is no introspection of the schema.
        let a = production.gql("{ __typename }", json!({}), None).await;
        assert_eq!(a.body["data"]["__typename"], "Query");
        let a = production.gql("{ unreadNotificationCoun }", json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("GRAPHQL_VALIDATION_FAILED")), "{:?}", a.body);
        let message = a.body["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("Did you mean"), "suggestions leak the schema: {message}");
        refused_in_production += 1;
        println!(
            "abuse ({}): {} attacks tried, {} refused with their code; production: {refused_in_production} \
             schema probes refused; slowest refusal {:?} ({})",
            b.name,
            attacks.len() + refused_in_production,
            attacks.len() + refused_in_production,
            slowest.0,
            slowest.1
        );
    })
    .await;
}

#[tokio::test]
async fn ordinary_requests_are_answered_during_a_burst_of_attacks() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let token = srv.person().await.token;
        let attacks = std::sync::Arc::new(attacks());
        let srv = std::sync::Arc::new(srv);
        let (attackers, rounds) = (8, 5);
        let mut burst = Vec::new();
        for n in 0..attackers {
            let (srv, attacks) = (srv.clone(), attacks.clone());
            burst.push(tokio::spawn(async move {
                let mut refused = 0;
                for round in 0..rounds {
                    // Each attacker walks the list from its own place, so every kind overlaps.
                    for i in 0..attacks.len() {
                        let a = &attacks[(i + n * 3 + round) % attacks.len()];
                        try_attack(&srv, a).await?;
                        refused += 1;
                    }
                }
                Ok::<usize, String>(refused)
            }));
        }
        let mut answered = 0;
        let mut slowest = Duration::ZERO;
        while !burst.iter().all(|h| h.is_finished()) {
            slowest = slowest.max(ordinary(&srv, &token).await.unwrap());
            answered += 1;
        }
        let mut refused = 0;
        for h in burst {
            refused += h.await.unwrap().unwrap();
        }
        assert_eq!(refused, attackers * rounds * attacks.len(), "every attack of the burst was refused");
        assert!(answered > 0, "ordinary requests ran during the burst");
        // And after it, as before.
        ordinary(&srv, &token).await.unwrap();
        println!(
            "abuse burst ({}): {refused} attacks from {attackers} clients refused; {answered} ordinary requests \
             answered meanwhile, slowest {slowest:?}",
            b.name
        );
    })
    .await;
}
