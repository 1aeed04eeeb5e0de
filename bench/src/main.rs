//! Load on a real server over loopback, bounded in count: HTTP round trips of a trivial
//! operation, and the time from sending a notification to its arrival on a live subscription.
//! Prints a Markdown table. Usage: `xqt-bench [embedded|external]`.

use std::time::{Duration, Instant};

use serde_json::json;
use xqt_tests::{Backend, live_inbox, on_each_backend};

const HTTP_REQUESTS: usize = 20_000;
const HTTP_CONCURRENCY: usize = 16;
const FANOUT_MESSAGES: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn http_round_trips(b: &Backend) -> String {
    let srv = b.start_with(|c| c.log_filter = "warn".into()).await;
    let url = srv.url("/graphql");
    let started = Instant::now();
    let workers: Vec<_> = (0..HTTP_CONCURRENCY)
        .map(|_| {
            let (http, url) = (srv.http.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(HTTP_REQUESTS / HTTP_CONCURRENCY);
                for _ in 0..HTTP_REQUESTS / HTTP_CONCURRENCY {
                    let t = Instant::now();
                    let resp =
                        http.post(&url).json(&json!({ "query": "{ __typename }" })).send().await.expect("request");
                    assert_eq!(resp.status().as_u16(), 200);
                    resp.bytes().await.expect("body");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> =
        futures::future::join_all(workers).await.into_iter().flat_map(Result::unwrap).collect();
    let elapsed = started.elapsed();
    all.sort();
    format!(
        "| {} | `{{ __typename }}` over HTTP, {} requests, {} concurrent | {:.0} req/s | {:.2} ms | {:.2} ms |",
        b.name,
        all.len(),
        HTTP_CONCURRENCY,
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    )
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
    format!(
        "| {} | send a notification (HTTP mutation, durable insert) → received on a live WebSocket subscription, {} in sequence | {:.0} /s | {:.2} ms | {:.2} ms |",
        b.name,
        latencies.len(),
        latencies.len() as f64 / latencies.iter().sum::<Duration>().as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    )
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
        println!("{}", http_round_trips(b).await);
        println!("{}", send_to_live_delivery(b).await);
    })
    .await;
}
