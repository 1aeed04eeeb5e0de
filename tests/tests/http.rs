//! GraphQL over HTTP: the front door, its refusals and its limits.

use serde_json::{Value, json};
use xqt_tests::{TestServer, on_each_backend};

#[tokio::test]
async fn serves_typename_and_is_ready() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.gql("{ __typename }", json!({}), None).await;
        assert_eq!((a.status, a.content_type.as_str()), (200, "application/graphql-response+json"));
        assert_eq!(a.body, json!({ "data": { "__typename": "Query" } }));

        let ready = TestServer::answer(srv.http.get(srv.url("/readyz")).send().await.unwrap()).await;
        assert_eq!(ready.status, 200);
        assert_eq!(
            ready.body,
            json!({ "ready": true, "degraded": [], "checks": { "database": "ok", "cache": "ok", "bus": "ok" } })
        );
        let health = srv.http.get(srv.url("/healthz")).send().await.unwrap();
        assert_eq!((health.status().as_u16(), health.text().await.unwrap()), (200, "ok".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_a_sane_one() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let body = json!({ "query": "{ __typename }" });
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .json(&body)
            .header("x-request-id", "trace-abc_123")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-request-id"], "trace-abc_123");
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .json(&body)
            .header("x-request-id", "bad id\twith junk")
            .send()
            .await
            .unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, "bad id\twith junk");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id replaces an unusable one");
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_errors_and_sockets() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        assert_eq!(srv.gql("{ nope }", json!({}), None).await.code(), Some("GRAPHQL_VALIDATION_FAILED"));
        srv.ok("{ __typename }", json!({}), None).await;
        let _ws = srv.ws().await;
        let text = srv.http.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains(r#"xqt_http_requests_total{route="/graphql",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"xqt_http_requests_total{route="/graphql",status="400"} 1"#), "{text}");
        assert!(text.contains(r#"xqt_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1"#), "{text}");
        assert!(text.contains("xqt_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("xqt_websocket_connections 1"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn text_plain_and_form_posts_are_refused() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin1",
        ] {
            let resp = srv
                .http
                .post(srv.url("/graphql"))
                .header("content-type", content_type)
                .body(r#"{"query":"mutation { markNotificationsRead }"}"#)
                .send()
                .await
                .unwrap();
            let a = TestServer::answer(resp).await;
            assert_eq!(a.status, 415, "{content_type}");
            assert_eq!(a.code(), Some("BAD_REQUEST"));
            assert!(a.body.get("data").is_none(), "a refused request has no data");
        }
    })
    .await;
}

#[tokio::test]
async fn get_runs_no_operation_but_serves_graphiql() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        for q in ["mutation%20%7B%20markNotificationsRead%20%7D", "%7B__typename%7D"] {
            let resp = srv.http.get(srv.url(&format!("/graphql?query={q}"))).send().await.unwrap();
            assert_eq!(resp.headers()["allow"], "POST");
            let a = TestServer::answer(resp).await;
            assert_eq!((a.status, a.code()), (405, Some("BAD_REQUEST")));
        }
        // Without built assets the page says how to build them; it never points at a CDN.
        let dir = tempfile::tempdir().unwrap();
        let srv = b.start_with(|c| c.graphiql_dir = dir.path().join("missing")).await;
        let page = srv.http.get(srv.url("/graphql")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("npm --prefix web ci && npm --prefix web run build"), "{page}");

        // With them, the page loads its script and styles from this server only.
        std::fs::write(dir.path().join("graphiql.js"), "console.log('graphiql')").unwrap();
        std::fs::write(dir.path().join("graphiql.css"), "body{}").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "not served").unwrap();
        let srv = b.start_with(|c| c.graphiql_dir = dir.path().to_path_buf()).await;
        let page = srv.http.get(srv.url("/graphql")).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains(r#"<script src="/graphiql/graphiql.js">"#)
                && page.contains(r#"href="/graphiql/graphiql.css""#),
            "{page}"
        );
        for cdn in ["unpkg", "jsdelivr", "cdn", "https://"] {
            assert!(!page.contains(cdn), "no {cdn} in {page}");
        }
        let js = srv.http.get(srv.url("/graphiql/graphiql.js")).send().await.unwrap();
        assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(js.text().await.unwrap(), "console.log('graphiql')");
        for other in ["/graphiql/secret.txt", "/graphiql/..%2Fsecret.txt"] {
            assert_eq!(srv.http.get(srv.url(other)).send().await.unwrap().status().as_u16(), 404, "{other}");
        }
        let production = b
            .start_with(|c| {
                c.graphiql_dir = dir.path().to_path_buf();
                c.limits.introspection = Some(false);
            })
            .await;
        assert_eq!(
            production.http.get(production.url("/graphiql/graphiql.js")).send().await.unwrap().status().as_u16(),
            404
        );
    })
    .await;
}

/// A POST with no Accept header at all, which reqwest cannot send (it adds `*/*`).
async fn without_accept(srv: &TestServer, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = srv.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn parse_and_validation_failures_are_4xx_without_data() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.gql("{ __typename", json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("GRAPHQL_PARSE_FAILED")));
        assert!(a.body.get("data").is_none());
        let a = srv.gql("{ noSuchField }", json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("GRAPHQL_VALIDATION_FAILED")));
        assert!(a.body.get("data").is_none());

        // A legacy client accepting only application/json gets 200 for a well-formed request.
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .header("accept", "application/json")
            .json(&json!({ "query": "{ noSuchField }" }))
            .send()
            .await
            .unwrap();
        let a = TestServer::answer(resp).await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.code()),
            (200, "application/json", Some("GRAPHQL_VALIDATION_FAILED"))
        );

        // `*/*`, and no Accept at all, are legacy clients too: application/json (graphql-http SHOULD).
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .header("accept", "*/*")
            .json(&json!({ "query": "{ __typename" }))
            .send()
            .await
            .unwrap();
        let a = TestServer::answer(resp).await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.code()),
            (200, "application/json", Some("GRAPHQL_PARSE_FAILED"))
        );
        let raw = without_accept(&srv, r#"{"query":"{ __typename }"}"#).await;
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        assert!(raw.to_ascii_lowercase().contains("content-type: application/json\r\n"), "{raw}");
        assert!(raw.ends_with(r#"{"data":{"__typename":"Query"}}"#), "{raw}");

        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .header("accept", "text/html")
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 406);

        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        let a = TestServer::answer(resp).await;
        assert_eq!((a.status, a.code()), (400, Some("BAD_REQUEST")));
    })
    .await;
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated_and_no_token_is_anonymous() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.gql("{ __typename }", json!({}), Some("garbage.token.here")).await;
        assert_eq!((a.status, a.code()), (401, Some("UNAUTHENTICATED")));
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "TOKEN_INVALID", "{:?}", a.body);
        let a = srv.gql("{ unreadNotificationCount }", json!({}), None).await;
        assert_eq!((a.status, a.code()), (200, Some("UNAUTHENTICATED")));
        assert_eq!(a.body["data"], Value::Null);

        // Why, so a client knows whether to refresh or to sign in again.
        let p = srv.person().await;
        b.clock.advance(chrono::Duration::minutes(16));
        let a = srv.gql("{ unreadNotificationCount }", json!({}), Some(&p.token)).await;
        assert_eq!(
            (a.status, a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()),
            (401, Some("UNAUTHENTICATED"), Some("TOKEN_EXPIRED")),
            "{:?}",
            a.body
        );
        let q = srv.person().await;
        srv.ok("mutation { signOut }", json!({}), Some(&q.token)).await;
        let a = srv.gql("{ unreadNotificationCount }", json!({}), Some(&q.token)).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()),
            (Some("UNAUTHENTICATED"), Some("SESSION_ENDED")),
            "{:?}",
            a.body
        );
    })
    .await;
}

#[tokio::test]
async fn a_value_that_does_not_fit_its_type_is_bad_user_input_naming_the_variable_or_argument() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        let make_up = "mutation($g: ID!, $d: NaiveDate!) { requestMakeUp(groupId: $g, date: $d, kind: IN, reason: \"忘记打卡\") { id } }";
        let a = srv.gql(make_up, json!({ "g": uuid::Uuid::now_v7(), "d": "2026-13-45" }), Some(&p.token)).await;
        let ext = &a.body["errors"][0]["extensions"];
        assert_eq!(ext["code"], "BAD_USER_INPUT", "{:?}", a.body);
        assert_eq!((ext["argument"].as_str(), ext["variable"].as_str()), (Some("date"), Some("d")), "names what to fix: {:?}", a.body);
        // A variable the operation uses but the request left out.
        let a = srv.gql(make_up, json!({ "g": uuid::Uuid::now_v7() }), Some(&p.token)).await;
        let ext = &a.body["errors"][0]["extensions"];
        assert_eq!((ext["code"].as_str(), ext["variable"].as_str()), (Some("BAD_USER_INPUT"), Some("d")), "{:?}", a.body);
        // A literal that does not parse.
        let a = srv.gql("mutation { requestMakeUp(groupId: \"x\", date: \"not a date\", kind: IN, reason: \"r\") { id } }", json!({}), Some(&p.token)).await;
        let ext = &a.body["errors"][0]["extensions"];
        assert_eq!((ext["code"].as_str(), ext["argument"].as_str()), (Some("BAD_USER_INPUT"), Some("date")), "{:?}", a.body);
        // A nullable variable where the argument is required is the document's fault (the spec's
        // "variable usages are allowed" rule), whatever its value.
        let a = srv.gql("query($m: String) { attendanceMonth(groupId: \"x\", month: $m) { daysDue } }", json!({ "m": null }), Some(&p.token)).await;
        assert_eq!((a.status, a.code()), (400, Some("GRAPHQL_VALIDATION_FAILED")), "{:?}", a.body);
    })
    .await;
}

fn nested(levels: usize) -> String {
    // __type(name:"Query") { fields { type { ofType { ofType … } } } } next to a real field, so
    // the document is not introspection-only.
    let mut inner = String::from("name");
    for _ in 0..levels {
        inner = format!("ofType {{ {inner} }}");
    }
    format!("{{ unreadNotificationCount __type(name: \"Query\") {{ fields {{ type {{ {inner} }} }} }} }}")
}

#[tokio::test]
async fn deep_queries_are_refused() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.gql(&nested(8), json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("QUERY_TOO_DEEP")), "{:?}", a.body);
        assert!(a.body.get("data").is_none());
        // Depth 10 is allowed (the field errors for lack of sign-in, so it ran).
        let a = srv.gql(&nested(6), json!({}), None).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert_eq!(a.code(), Some("UNAUTHENTICATED"));
    })
    .await;
}

#[tokio::test]
async fn introspection_only_documents_may_nest_deeper_outside_production() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let mut inner = String::from("name");
        for _ in 0..9 {
            inner = format!("ofType {{ {inner} }}");
        }
        let a = srv
            .gql(&format!("{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"), json!({}), None)
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert!(a.body["data"]["__schema"]["types"].is_array());
    })
    .await;
}

#[tokio::test]
async fn alias_floods_are_refused() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let query =
            |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
        let a = srv.gql(&query(30), json!({}), None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["data"]["a29"], "Query");
        let a = srv.gql(&query(31), json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("TOO_MANY_ALIASES")));
        // Aliases hidden in fragments count too.
        let fragment = format!(
            "query {{ ...F }} fragment F on Query {{ {} }}",
            (0..31).map(|i| format!("f{i}: __typename")).collect::<Vec<_>>().join(" ")
        );
        let a = srv.gql(&fragment, json!({}), None).await;
        assert_eq!(a.code(), Some("TOO_MANY_ALIASES"));
    })
    .await;
}

#[tokio::test]
async fn lists_weigh_their_page_size_in_complexity() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let list = |first: u32| {
            format!("notifications(first: {first}) {{ edges {{ node {{ id kind title body createdAt readAt }} }} }}")
        };
        // Small pages pass the complexity check (and then need a signed-in person).
        let a = srv.gql(&format!("{{ {} }}", list(10)), json!({}), None).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"));
        let heavy = format!("{{ a: {} b: {} c: {} }}", list(100), list(100), list(100));
        let a = srv.gql(&heavy, json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("QUERY_TOO_COMPLEX")), "{:?}", a.body);
    })
    .await;
}

/// Found by schemathesis: `first: -1` was cast to a huge weight and the multiplication
/// overflowed, killing the request's connection. A page size out of range is the resolver's
/// BAD_USER_INPUT, weighed like any other.
#[tokio::test]
async fn an_out_of_range_page_size_is_refused_not_overflowed() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        for first in [-1, 0, i32::MIN] {
            let a = srv
                .gql(
                    "query($f: Int) { searchMessages(text: \"实习\", first: $f) { id } }",
                    json!({ "f": first }),
                    Some(&p.token),
                )
                .await;
            assert_eq!((a.status, a.code()), (200, Some("BAD_USER_INPUT")), "{first}: {:?}", a.body);
        }
        let a =
            srv.gql("{ searchMessages(text: \"实习\", first: 2147483647) { id } }", json!({}), Some(&p.token)).await;
        assert_eq!((a.status, a.code()), (400, Some("QUERY_TOO_COMPLEX")), "{:?}", a.body);
    })
    .await;
}

#[tokio::test]
async fn batches_are_bounded_and_can_be_turned_off() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let batch = |n: usize| Value::Array((0..n).map(|_| json!({ "query": "{ __typename }" })).collect());
        let a = srv.post(&batch(10), None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body.as_array().map(Vec::len), Some(10));
        assert_eq!(a.body[9], json!({ "data": { "__typename": "Query" } }));
        let a = srv.post(&batch(11), None).await;
        assert_eq!((a.status, a.code()), (400, Some("BAD_REQUEST")));
        let a = srv.post(&batch(0), None).await;
        assert_eq!((a.status, a.code()), (400, Some("BAD_REQUEST")));

        let off = b.start_with(|c| c.limits.max_batch = 0).await;
        let a = off.post(&batch(2), None).await;
        assert_eq!((a.status, a.code()), (400, Some("BAD_REQUEST")));
        assert_eq!(a.body["errors"][0]["message"], "batched requests are turned off");
    })
    .await;
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.limits.max_body_bytes = 4096).await;
        let padding = "x".repeat(5000);
        let a = srv.post(&json!({ "query": "{ __typename }", "variables": { "pad": padding } }), None).await;
        assert_eq!((a.status, a.code()), (413, Some("PAYLOAD_TOO_LARGE")));
        // Without a Content-Length (chunked), the limit still holds while reading.
        let chunks = futures::stream::iter(vec![Ok::<_, std::io::Error>(format!(
            "{{\"query\":\"{{ __typename }}\",\"x\":\"{padding}\"}}"
        ))]);
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap();
        let a = TestServer::answer(resp).await;
        assert_eq!((a.status, a.code()), (413, Some("PAYLOAD_TOO_LARGE")));
        let a = srv.gql("{ __typename }", json!({}), None).await;
        assert_eq!(a.status, 200);
    })
    .await;
}

#[tokio::test]
async fn production_turns_introspection_and_suggestions_off() {
    on_each_backend(async |b| {
        let srv = b
            .start_with(|c| {
                c.env = xqt_kernel::config::Environment::Production;
                xqt_tests::real_providers(c, "http://127.0.0.1:9");
            })
            .await;
        let a = srv.gql("{ __schema { queryType { name } } }", json!({}), None).await;
        assert_eq!((a.status, a.code()), (400, Some("GRAPHQL_VALIDATION_FAILED")), "{:?}", a.body);
        let a = srv.gql("{ notification }", json!({}), None).await;
        let message = a.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("Did you mean"), "suggestions leak the schema: {message}");
        let page = srv.http.get(srv.url("/graphql")).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 404);

        let dev = b.start().await;
        let a = dev.gql("{ __schema { queryType { name } } }", json!({}), None).await;
        assert_eq!(a.body["data"]["__schema"]["queryType"]["name"], "Query");
    })
    .await;
}

#[tokio::test]
async fn a_failing_database_makes_readyz_503_and_errors_internal_without_detail() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let token = srv.person().await.token;
        srv.ctx.db.clone().close().await.unwrap();

        let ready = TestServer::answer(srv.http.get(srv.url("/readyz")).send().await.unwrap()).await;
        assert_eq!(ready.status, 503);
        assert_eq!(ready.body["ready"], false);
        assert_eq!(ready.body["checks"]["database"], "down");

        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": "{ unreadNotificationCount }" }))
            .send()
            .await
            .unwrap();
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let a = TestServer::answer(resp).await;
        assert_eq!(a.code(), Some("INTERNAL"));
        let error = &a.body["errors"][0];
        assert_eq!(error["message"], "internal error", "no database detail reaches the client");
        assert_eq!(error["extensions"], json!({ "code": "INTERNAL", "requestId": request_id }));
    })
    .await;
}

#[tokio::test]
async fn choosing_the_operation_and_a_malformed_body_are_refused_with_a_code_in_plain_words() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let cases = [
            (
                json!({ "query": "query A { __typename }", "operationName": "B" }),
                "BAD_REQUEST",
                Some("UNKNOWN_OPERATION"),
                "Unknown operation named \"B\"",
            ),
            (
                json!({ "query": "query A { __typename } query C { __typename }" }),
                "BAD_REQUEST",
                Some("OPERATION_NAME_REQUIRED"),
                "Operation name required",
            ),
            (json!({ "query": 5 }), "BAD_REQUEST", None, "`query` must be a string holding the GraphQL document"),
            (
                json!({ "query": "{ __typename }", "variables": [1] }),
                "BAD_REQUEST",
                None,
                "`variables` must be an object (or left out)",
            ),
            (
                json!([{ "query": "{ __typename }" }, { "query": "{ __typename }", "operationName": 7 }]),
                "BAD_REQUEST",
                None,
                "batch item 1: `operationName` must be a string",
            ),
        ];
        for (body, code, reason, message) in cases {
            let a = srv.post(&body, None).await;
            let e = &a.body["errors"][0];
            assert_eq!(
                (a.status, e["extensions"]["code"].as_str(), e["extensions"]["reason"].as_str()),
                (400, Some(code), reason),
                "{body}: {:?}",
                a.body
            );
            let said = e["message"].as_str().unwrap();
            assert!(said.starts_with(message) && !said.contains("untagged enum"), "{body}: {said}");
        }
        let resp = srv
            .http
            .post(srv.url("/graphql"))
            .header("content-type", "application/json")
            .body("{\"query\": ")
            .send()
            .await
            .unwrap();
        let a = TestServer::answer(resp).await;
        assert!(
            a.body["errors"][0]["message"].as_str().unwrap().starts_with("the body is not JSON (line 1, column"),
            "{:?}",
            a.body
        );
        // The operation the request names is the one that runs.
        let a = srv
            .post(
                &json!({ "query": "query A { a: __typename } query C { c: __typename }", "operationName": "C" }),
                None,
            )
            .await;
        assert_eq!(a.body["data"], json!({ "c": "Query" }));
    })
    .await;
}

#[tokio::test]
async fn a_refused_non_null_field_nulls_its_parent_up_to_the_nearest_nullable_field() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.person().await;
        // `partners: [Partner!]!` refused at the root: no `data` to stand for the operation.
        let a = srv.gql("{ me { id } partners { id } }", json!({}), Some(&p.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"));
        assert_eq!(a.body["data"], Value::Null, "not `{{ me }}` with partners left out: {:?}", a.body);
        assert!(a.body.as_object().unwrap().contains_key("data"), "execution began, so data is present: {:?}", a.body);
        assert_eq!(a.body["errors"][0]["path"], json!(["partners"]));

        // `organization: Organization` is nullable: a non-member's refused `members: [Member!]!`
        // nulls the organization, and the sibling field stands.
        let s = xqt_tests::cooperation::sides(&srv).await;
        let query = "query($o: ID!) { me { id } organization(id: $o) { name members { role } } }";
        let a = srv.gql(query, json!({ "o": s.school }), Some(&s.supervisor.token)).await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "{:?}", a.body);
        assert_eq!(a.body["data"], json!({ "me": { "id": s.supervisor.id }, "organization": null }), "{:?}", a.body);
        assert_eq!(a.body["errors"][0]["path"], json!(["organization", "members"]));
        // A member sees the same document whole.
        let a = srv.ok(query, json!({ "o": s.school }), Some(&s.teacher.token)).await;
        assert_eq!(a["organization"]["name"], "杭州职业技术学院");

        // A nullable field that fails is present as null, not left out.
        let a = srv
            .gql(
                "query($o: ID!) { me { id } organization(id: $o) { name } }",
                json!({ "o": "not-an-id" }),
                Some(&p.token),
            )
            .await;
        assert_eq!(a.code(), Some("BAD_USER_INPUT"), "{:?}", a.body);
        assert_eq!(a.body["data"], json!({ "me": { "id": p.id }, "organization": null }), "{:?}", a.body);
    })
    .await;
}

#[tokio::test]
async fn cors_answers_preflights_for_allowed_origins_only() {
    on_each_backend(async |b| {
        let preflight = async |srv: &TestServer, origin: &str| {
            srv.http
                .request(reqwest::Method::OPTIONS, srv.url("/graphql"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization, content-type")
                .send()
                .await
                .unwrap()
        };
        let post = async |srv: &TestServer, origin: &str| {
            srv.http
                .post(srv.url("/graphql"))
                .header("origin", origin)
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await
                .unwrap()
        };
        // Outside production a frontend's dev server on localhost may call the API.
        let srv = b.start().await;
        let resp = preflight(&srv, "http://localhost:5173").await;
        assert_eq!(resp.status().as_u16(), 204);
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
        assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
        assert!(!h["x-request-id"].is_empty(), "a preflight is a request like any other");
        let resp = post(&srv, "http://localhost:5173").await;
        assert_eq!(resp.headers()["access-control-allow-origin"], "http://localhost:5173");
        assert!(resp.headers()["access-control-expose-headers"].to_str().unwrap().contains("x-request-id"));

        // Any other page: the preflight is refused with a code, an answer carries no grant.
        let resp = preflight(&srv, "https://evil.example").await;
        assert_eq!(resp.status().as_u16(), 403);
        let a = TestServer::answer(resp).await;
        assert_eq!(a.code(), Some("FORBIDDEN"));
        assert!(a.body["errors"][0]["message"].as_str().unwrap().contains("cors_origins"), "{:?}", a.body);
        let resp = post(&srv, "https://evil.example").await;
        assert!(resp.headers().get("access-control-allow-origin").is_none());
        // An app (no Origin) is untouched.
        let resp = srv.http.post(srv.url("/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        assert!(resp.headers().get("access-control-allow-origin").is_none() && resp.status().is_success());

        // Configured origins replace the default: exactly those.
        let srv = b.start_with(|c| c.cors_origins = Some(vec!["https://app.xiaoqitong.cn".into()])).await;
        let resp = preflight(&srv, "https://app.xiaoqitong.cn").await;
        assert_eq!(
            (resp.status().as_u16(), resp.headers()["access-control-allow-origin"].to_str().unwrap()),
            (204, "https://app.xiaoqitong.cn")
        );
        assert_eq!(preflight(&srv, "http://localhost:5173").await.status().as_u16(), 403);
    })
    .await;
}

fn sha256(text: &str) -> String {
    xqt_kernel::persisted::sha256_hex(text)
}

/// Apollo Client's automatic persisted queries: hash first, the query once when the server
/// does not know it, the hash alone afterwards — on every instance, as they share the cache.
#[tokio::test]
async fn automatic_persisted_queries_as_apollo_client_sends_them() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let query = "query Ping { __typename }";
        let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } });
        let hash_only = json!({ "operationName": "Ping", "extensions": ext });
        let a = srv.post(&hash_only, None).await;
        assert_eq!((a.status, a.code()), (400, Some("PERSISTED_QUERY_NOT_FOUND")), "{:?}", a.body);
        assert!(a.body.get("data").is_none());

        let a = srv.post(&json!({ "query": query, "operationName": "Ping", "extensions": ext }), None).await;
        assert_eq!(a.body, json!({ "data": { "__typename": "Query" } }));
        let a = srv.post(&hash_only, None).await;
        assert_eq!(a.body, json!({ "data": { "__typename": "Query" } }), "the hash alone now runs it");

        // The stored text is limited like any other: a persisted query is no way around them.
        let deep = nested(12);
        let deep_ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(&deep) } });
        srv.post(&json!({ "query": deep, "extensions": deep_ext }), None).await;
        let a = srv.post(&json!({ "extensions": deep_ext }), None).await;
        assert_eq!(a.code(), Some("QUERY_TOO_DEEP"), "{:?}", a.body);

        let wrong = json!({ "query": "{ __typename }", "extensions": ext });
        let a = srv.post(&wrong, None).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()),
            (Some("BAD_REQUEST"), Some("PERSISTED_QUERY_HASH_MISMATCH"))
        );
        let bad = json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": "abc" } } });
        assert_eq!(srv.post(&bad, None).await.body["errors"][0]["extensions"]["reason"], "PERSISTED_QUERY_INVALID");

        if b.has_redis() {
            let other = b.start().await;
            let a = other.post(&hash_only, None).await;
            assert_eq!(
                a.body,
                json!({ "data": { "__typename": "Query" } }),
                "another instance knows the hash through Redis"
            );
        }
    })
    .await;
}

/// With an allow-list (an Apollo persisted-query manifest) only its operations run.
#[tokio::test]
async fn an_allow_list_runs_only_its_operations() {
    on_each_backend(async |b| {
        let listed = "query Ping { __typename }";
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("manifest.json");
        let body = json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [{ "id": sha256(listed), "name": "Ping", "type": "query", "body": listed }] });
        std::fs::write(&manifest, body.to_string()).unwrap();
        let srv = b.start_with(|c| c.persisted_queries.allow_list = Some(manifest.clone())).await;

        let by_hash = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(listed) } } });
        assert_eq!(srv.post(&by_hash, None).await.body, json!({ "data": { "__typename": "Query" } }));
        assert_eq!(srv.gql(listed, json!({}), None).await.body, json!({ "data": { "__typename": "Query" } }), "its exact text");
        for refused in [
            json!({ "query": "{ __typename }" }),
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256("{ me { id } }") } } }),
        ] {
            let a = srv.post(&refused, None).await;
            assert_eq!((a.status, a.code(), a.body["errors"][0]["extensions"]["reason"].as_str()), (400, Some("BAD_REQUEST"), Some("OPERATION_NOT_ALLOWED")), "{refused}");
        }

        // A manifest that is not one stops the server from starting, naming the key.
        std::fs::write(&manifest, r#"{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"00","body":"{ __typename }"}]}"#).unwrap();
        let mut config = b.config();
        config.persisted_queries.allow_list = Some(manifest.clone());
        let err = xqt::prepare(config, std::sync::Arc::new(b.clock.clone())).await.err().expect("refused");
        assert!(format!("{err:#}").contains("persisted_queries.allow_list"), "{err:#}");
    })
    .await;
}

/// Every response carries the security headers, whatever answered it; HTML gets a policy that
/// lets GraphiQL load only its own assets, everything else one that loads nothing.
#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_server_version() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let html = srv.http.get(srv.url("/graphql")).header("accept", "text/html").send().await.unwrap();
        let json_api =
            srv.http.post(srv.url("/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        let refused =
            srv.http.post(srv.url("/graphql")).header("content-type", "text/plain").body("{}").send().await.unwrap();
        let health = srv.http.get(srv.url("/healthz")).send().await.unwrap();
        let missing = srv.http.get(srv.url("/files/not-a-file")).bearer_auth(&person.token).send().await.unwrap();
        let preflight = srv
            .http
            .request(reqwest::Method::OPTIONS, srv.url("/graphql"))
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        let mut checked = 0;
        for (what, resp) in [
            ("GraphiQL", &html),
            ("an operation", &json_api),
            ("a refusal", &refused),
            ("health", &health),
            ("a missing file", &missing),
            ("a preflight", &preflight),
        ] {
            let h = resp.headers();
            assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
            assert_eq!(h.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{what}");
            assert_eq!(h.get("referrer-policy").map(|v| v.to_str().unwrap()), Some("no-referrer"), "{what}");
            let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
            assert!(h.get("server").is_none() && h.get("x-powered-by").is_none(), "{what} names no server: {h:?}");
            checked += 1;
        }
        let page_policy = html.headers()["content-security-policy"].to_str().unwrap();
        assert!(html.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(
            page_policy.contains("script-src 'self'") && !page_policy.contains("script-src 'self' 'unsafe"),
            "{page_policy}"
        );
        assert!(page_policy.contains("connect-src 'self'"), "{page_policy}");
        let api_policy = json_api.headers()["content-security-policy"].to_str().unwrap();
        assert!(api_policy.starts_with("default-src 'none'") && api_policy.contains("sandbox"), "{api_policy}");
        assert_eq!(checked, 6);
    })
    .await;
}

#[tokio::test]
async fn metrics_are_behind_their_token_and_closed_in_production_without_one() {
    on_each_backend(async |b| {
        let token = "metrics-token-0123456789";
        let srv = b.start_with(|c| c.metrics_token = Some(token.to_owned())).await;
        let scrape = |bearer: Option<&str>| {
            let mut req = srv.http.get(srv.url("/metrics"));
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        assert_eq!(scrape(None).await.unwrap().status().as_u16(), 401);
        assert_eq!(scrape(Some("metrics-token-0123456788")).await.unwrap().status().as_u16(), 401);
        let ok = scrape(Some(token)).await.unwrap();
        assert_eq!(ok.status().as_u16(), 200);
        assert!(ok.text().await.unwrap().contains("xqt_http_requests_total"));

        let production = b
            .start_with(|c| {
                c.env = xqt_kernel::config::Environment::Production;
                xqt_tests::real_providers(c, "http://127.0.0.1:9");
            })
            .await;
        let a = TestServer::answer(production.http.get(production.url("/metrics")).send().await.unwrap()).await;
        assert_eq!((a.status, a.code()), (404, Some("NOT_FOUND")), "production serves no open metrics");
        assert!(production.http.get(production.url("/healthz")).send().await.unwrap().status().is_success());
    })
    .await;
}
