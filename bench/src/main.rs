//! Load on a real server over loopback, bounded in count: HTTP round trips of small operations,
//! anonymous and signed in (which adds the session check and the privacy guard), consent-ledger
//! appends (serialised by the hash chain's head), and the time from sending a notification to
//! its arrival on a live subscription. Prints a Markdown table. Usage:
//! `xqt-bench [embedded|external]`.

use std::time::{Duration, Instant};

use serde_json::json;
use xqt_tests::{Backend, TestServer, live_inbox, on_each_backend};

const HTTP_REQUESTS: usize = 20_000;
const HTTP_CONCURRENCY: usize = 16;
const FANOUT_MESSAGES: usize = 300;
const CONSENT_WORKERS: usize = 8;
const CONSENTS_PER_WORKER: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Waits for workers that each return their request latencies: all of them, sorted, and the
/// wall time since `started`.
async fn gather(workers: Vec<tokio::task::JoinHandle<Vec<Duration>>>, started: Instant) -> (Vec<Duration>, Duration) {
    let mut all: Vec<Duration> =
        futures::future::join_all(workers).await.into_iter().flat_map(Result::unwrap).collect();
    let elapsed = started.elapsed();
    all.sort();
    (all, elapsed)
}

/// One table row: throughput over the wall time, and latency percentiles.
fn row(name: &str, what: &str, unit: &str, all: &[Duration], elapsed: Duration) -> String {
    format!(
        "| {name} | {what} | {:.0} {unit} | {:.3} ms | {:.3} ms |",
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(all, 0.5),
        percentile(all, 0.99)
    )
}

/// `HTTP_REQUESTS` POSTs of `query` from `HTTP_CONCURRENCY` workers, as `token` if given.
async fn http_round_trips(srv: &TestServer, name: &str, query: &'static str, token: Option<String>) -> String {
    let url = srv.url("/graphql");
    let started = Instant::now();
    let workers: Vec<_> = (0..HTTP_CONCURRENCY)
        .map(|_| {
            let (http, url, token) = (srv.http.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(HTTP_REQUESTS / HTTP_CONCURRENCY);
                for _ in 0..HTTP_REQUESTS / HTTP_CONCURRENCY {
                    let t = Instant::now();
                    let mut req = http.post(&url).json(&json!({ "query": query }));
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    let resp = req.send().await.expect("request");
                    assert_eq!(resp.status().as_u16(), 200);
                    let body: serde_json::Value = resp.json().await.expect("body");
                    assert!(body.get("errors").is_none(), "{body}");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let (all, elapsed) = gather(workers, started).await;
    let who = if token.is_some() { "signed in" } else { "anonymous" };
    let what = format!("`{query}` over HTTP, {who}, {} requests, {HTTP_CONCURRENCY} concurrent", all.len());
    row(name, &what, "req/s", &all, elapsed)
}

/// The privacy guard's full path for a non-essential field (person state and major versions
/// from the cache), called directly so nothing else is in the number.
async fn guard_checks(srv: &TestServer, name: &str) -> String {
    const CALLS: usize = 20_000;
    let person = srv.person().await;
    let viewer = xqt_kernel::Viewer::User { user_id: person.id, session_id: person.session };
    let guard = &srv.ctx.modules.privacy().guard;
    let mut latencies = Vec::with_capacity(CALLS);
    let started = Instant::now();
    for _ in 0..CALLS {
        let t = Instant::now();
        guard
            .check(&srv.ctx, &viewer, "Query", "notifications", "unreadNotificationCount", false)
            .await
            .expect("allowed");
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    row(
        name,
        &format!("privacy guard check of a non-essential root field (cached state), {CALLS} direct calls in sequence"),
        "/s",
        &latencies,
        elapsed,
    )
}

/// Every consent decision is one append to the hash-chained ledger; appends from all people
/// queue on the chain head's row lock.
async fn consent_appends(srv: &TestServer, name: &str) -> String {
    let mut people = Vec::new();
    for _ in 0..CONSENT_WORKERS {
        people.push(srv.person().await);
    }
    let grant = "mutation { grantConsent(input: { purpose: \"analytics\" }) { seq } }";
    let started = Instant::now();
    let workers: Vec<_> = people
        .into_iter()
        .map(|p| {
            let (http, url) = (srv.http.clone(), srv.url("/graphql"));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(CONSENTS_PER_WORKER);
                for _ in 0..CONSENTS_PER_WORKER {
                    let t = Instant::now();
                    let resp = http.post(&url).bearer_auth(&p.token).json(&json!({ "query": grant })).send().await;
                    let body: serde_json::Value = resp.expect("request").json().await.expect("body");
                    assert!(body["data"]["grantConsent"]["seq"].is_i64(), "{body}");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let (all, elapsed) = gather(workers, started).await;
    let reports = xqt_privacy::audit::verify(&srv.ctx).await.expect("verify");
    assert!(reports.iter().all(|r| r.ok()), "{reports:?}");
    let what = format!(
        "`grantConsent` (hash-chained ledger append + state upsert, one transaction), {} from {CONSENT_WORKERS} people at once; chain verified after",
        all.len()
    );
    row(name, &what, "/s", &all, elapsed)
}

async fn send_to_live_delivery(b: &Backend) -> String {
    let srv = b.start_with(|c| c.log_filter = "warn".into()).await;
    let admin = srv.admin().await.token;
    let person = srv.person().await;
    let user = person.id;
    let mut ws = live_inbox(&srv, &person, "n").await;
    let send = "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id } }";
    let mut latencies = Vec::with_capacity(FANOUT_MESSAGES);
    for i in 0..FANOUT_MESSAGES {
        let t = Instant::now();
        let vars = json!({ "i": { "userId": user, "kind": "bench.note", "title": format!("n{i}") } });
        let a = srv.gql(send, vars, Some(&admin)).await;
        let id = a.body["data"]["sendNotification"]["id"].clone();
        assert_eq!(ws.next_payload("n").await["data"]["notificationAdded"]["id"], id);
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let what = format!(
        "send a notification (HTTP mutation, durable insert) → received on a live WebSocket subscription, {} in sequence",
        latencies.len()
    );
    row(b.name, &what, "/s", &latencies, latencies.iter().sum())
}

#[tokio::main]
async fn main() {
    let only_external = std::env::args().nth(1).as_deref() == Some("external");
    println!("| backend | what | throughput | p50 | p99 |");
    println!("|---|---|---|---|---|");
    on_each_backend(async |b| {
        if only_external && !b.is_external() {
            return;
        }
        let srv = b.start_with(|c| c.log_filter = "warn".into()).await;
        let person = srv.person().await.token;
        for (query, token) in [
            ("{ __typename }", None),
            ("{ __typename }", Some(person.clone())),
            ("{ purposes { id } }", None),
            ("{ purposes { id } }", Some(person.clone())),
        ] {
            println!("{}", http_round_trips(&srv, b.name, query, token).await);
        }
        println!("{}", guard_checks(&srv, b.name).await);
        println!("{}", consent_appends(&srv, b.name).await);
        drop(srv);
        println!("{}", send_to_live_delivery(b).await);
    })
    .await;
}
