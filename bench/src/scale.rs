//! Issue 17's harnesses: fan-out at scale against the real `xqt serve` process (so its memory and
//! CPU are its own), writes against pgbench on the same PostgreSQL, and queries against a plain
//! handler with the same load tool (`wrk`).
//!
//! - `xqt-bench fanout`: N live subscribers in groups of 500, one open-loop sender per group at
//!   a fixed aggregate delivery rate, the send time in each message; delivery p50/p99/max, lost,
//!   duplicated and reordered, server RSS per idle subscribed socket (a fresh process: over all
//!   of them, and over the second half alone, which leaves out what the first sockets grow
//!   once), server CPU µs per delivery, and the push queue at the end (the job runner is on).
//! - `xqt-bench writes`: `sendMessage` at 8 and 32 senders beside pgbench's one-row insert and
//!   pgbench running the statements a send needs.
//! - `xqt-bench queries`: `/graphql` against a plain handler doing the same reads, under `wrk`.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;
use xqt_kernel::AppContext;
use xqt_tests::{Backend, TestServer};

const GROUP: usize = 500;
const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }";
const SUBSCRIBE: &str =
    "subscription($c: ID!, $a: Int) { conversationEvents(conversationId: $c, afterSeq: $a) { message { seq text } } }";

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// A signed-in, verified person made through the accounts module itself (the HTTP sign-in is
/// rate limited per address, and tens of thousands come from one loopback address here).
#[derive(Clone)]
pub struct Member {
    pub id: Uuid,
    pub token: String,
}

static PHONES: AtomicU64 = AtomicU64::new(0);
static IDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A distinct, well-formed ID number per `seq` (born in 1985, a thousand a day).
fn id_number(seq: u32) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1985, 1, 1).expect("date") + chrono::Days::new(u64::from(seq / 1000));
    xqt_accounts::verification::with_id_check(&format!("110105{}{:03}", born.format("%Y%m%d"), seq % 1000))
}

async fn member(ctx: &AppContext) -> Member {
    let id_seq = IDS.fetch_add(1, Ordering::Relaxed);
    use xqt_accounts::sessions;
    let base = PHONES.fetch_add(1, Ordering::Relaxed);
    let phone = format!("137{:08}", (std::process::id() as u64 * 100_000 + base) % 100_000_000);
    let meta = xqt_kernel::auth::RequestMeta { request_id: "bench".into(), ip: None };
    sessions::request_sign_in_code(ctx, &meta, &phone).await.expect("code sent");
    let parsed = xqt_accounts::phone::Phone::parse(&phone).expect("phone");
    let text = xqt_accounts::sms::latest_to(ctx, &parsed).await.expect("outbox").expect("an sms");
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let device = sessions::DeviceInfo {
        device_id: Some("bench".into()),
        model: Some("BenchPhone".into()),
        os: None,
        app_version: None,
        network: None,
    };
    let signed = sessions::sign_in_with_code(ctx, &meta, &phone, &code, device).await.expect("signed in");
    let row =
        xqt_accounts::verification::submit(ctx, signed.user.id, "压测人", &id_number(id_seq)).await.expect("submitted");
    xqt_accounts::verification::review(ctx, Uuid::now_v7(), row.id, xqt_accounts::review::ReviewAction::Approve, None)
        .await
        .expect("approved");
    Member { id: signed.user.id, token: signed.access_token }
}

/// `n` verified people, made 16 at a time.
async fn members(ctx: &AppContext, n: usize) -> Vec<Member> {
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (ctx, next) = (ctx.clone(), next.clone());
            tokio::spawn(async move {
                let mut made = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n as u64 {
                        return made;
                    }
                    made.push((i, member(&ctx).await));
                }
            })
        })
        .collect();
    let mut all: Vec<(u64, Member)> =
        futures::future::join_all(workers).await.into_iter().flat_map(|r| r.expect("worker")).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, m)| m).collect()
}

/// One group of the fan-out: its sender (the owner) and its `GROUP` subscribers.
struct Group {
    id: Uuid,
    sender: Member,
    members: Vec<Member>,
    /// The group's last sequence number after it was made: subscribers start one before it, so
    /// its arrival proves they are live.
    last_seq: i64,
}

async fn make_group(ctx: &AppContext, sender: Member, members: Vec<Member>) -> Group {
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let mut chunks = ids.chunks(xqt_chat::conversations::ADD_MAX);
    let c = xqt_chat::conversations::create_group(ctx, sender.id, "压测群", chunks.next().unwrap_or(&[]))
        .await
        .expect("group");
    for chunk in chunks {
        xqt_chat::conversations::add_members(ctx, sender.id, c.id, chunk).await.expect("members added");
    }
    let last_seq = xqt_chat::messages::last_seq(ctx, c.id).await.expect("last seq");
    Group { id: c.id, sender, members, last_seq }
}

/// The settings every bench server gets: no per-person limits in the way, tokens that outlive
/// the run, groups that hold 500 subscribers and their sender.
pub fn bench_settings(c: &mut xqt_kernel::config::Config) {
    c.log_filter = "warn".into();
    c.update(|s: &mut xqt_chat::config::ChatConfig| {
        s.messages_per_minute = i64::MAX;
        s.max_group_members = 1000;
    });
    c.update(|s: &mut xqt_accounts::config::AccountsConfig| {
        s.access_token_minutes = 24 * 60;
        s.sms.per_day = i64::MAX;
    });
}

/// The same settings for a `xqt serve` process, as the environment variables it reads.
fn bench_env(cmd: &mut Command) {
    cmd.env("XQT_LOG_FILTER", "warn")
        .env("XQT_CHAT__MESSAGES_PER_MINUTE", i64::MAX.to_string())
        .env("XQT_CHAT__MAX_GROUP_MEMBERS", "1000")
        .env("XQT_ACCOUNTS__ACCESS_TOKEN_MINUTES", (24 * 60).to_string());
}

/// A `xqt serve` process on the backend's storage (the release binary beside this one).
struct ServerProcess {
    child: Child,
    /// Run under `XQT_BENCH_SERVER_WRAPPER`: stopped with SIGTERM, so the profiler sees it exit.
    wrapped: bool,
    base: String,
    ws: String,
}

impl ServerProcess {
    async fn start(b: &Backend) -> Self {
        let config = b.config();
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let exe = std::env::current_exe().expect("exe").with_file_name("xqt");
        // `XQT_BENCH_SERVER_WRAPPER="heaptrack -o /tmp/xqt"` runs the server under a profiler
        // (the RSS and CPU columns then measure the wrapper's process, not the server).
        let wrapper: Vec<String> = std::env::var("XQT_BENCH_SERVER_WRAPPER")
            .map(|w| w.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&exe).process_group(0);
                cmd
            }
            None => Command::new(&exe),
        };
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("XQT_ENV", "test")
            .env("XQT_LISTEN", format!("127.0.0.1:{port}"))
            .env("XQT_DATA_DIR", &config.data_dir)
            .env("XQT_TOKEN_SECRET", config.token_secret.clone().expect("secret"))
            .env("XQT_REDIS_PREFIX", &config.redis_prefix)
            .env("XQT_DATABASE_MAX_CONNECTIONS", "10")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(url) = &config.database_url {
            cmd.env("XQT_DATABASE_URL", url);
        }
        if let Some(url) = &config.redis_url {
            cmd.env("XQT_REDIS_URL", url);
        }
        bench_env(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (cargo build --release -p xqt)", exe.display()));
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "xqt serve did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, wrapped: !wrapper.is_empty(), ws: format!("ws://127.0.0.1:{port}/graphql/ws"), base }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.wrapped {
            // The server is the wrapper's child, in the process group started for the wrapper;
            // the profiler writes its data once the server has exited.
            let group = self.child.id().to_string();
            let _ = Command::new("pkill").args(["-TERM", "-g", &group, "-x", "xqt"]).status();
            let _ = self.child.wait();
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// CPU time (user + system) a process has used, in µs.
fn cpu_us(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command name.
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks * 1_000_000 / clock_ticks()
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_micros() as u64
}

/// What one subscriber saw during a phase.
#[derive(Default)]
struct Seen {
    latencies_us: Vec<u64>,
    received: u64,
    duplicated: u64,
    reordered: u64,
}

/// The harness's own sockets read into a small buffer, as a phone's client does with its one
/// socket: tungstenite's default (128 KiB, zero-filled before every read) made 10,000 client
/// sockets hold 1.25 GiB and memset 128 KiB for every frame received, on the cores the server
/// shares. `XQT_BENCH_CLIENT_READ_BUFFER` sets it (bytes) to compare.
fn client_socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    let bytes = std::env::var("XQT_BENCH_CLIENT_READ_BUFFER").ok().and_then(|v| v.parse().ok()).unwrap_or(4096);
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(bytes)
}

/// One subscribed socket, reading in its own task.
struct Subscriber {
    seen: Arc<std::sync::Mutex<Seen>>,
    /// Highest sequence number seen so far (across phases).
    high: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

async fn subscribe(ws_url: &str, token: &str, group: Uuid, from: i64) -> Subscriber {
    let mut request = ws_url.into_client_request().expect("ws request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(client_socket_config()), false)
        .await
        .expect("ws connects");
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.expect("init sent");
    let ack = ws.next().await.expect("an answer").expect("a frame");
    assert!(ack.to_text().unwrap_or("").contains("connection_ack"), "{ack:?}");
    if std::env::var_os("XQT_BENCH_INIT_ONLY").is_some() {
        // Memory of an acknowledged socket without a subscription (for finding where it goes).
        let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
        let task = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
        return Subscriber { seen, high: Arc::new(AtomicU64::new(u64::MAX)), task };
    }
    let sub = json!({ "type": "subscribe", "id": "1", "payload": { "query": SUBSCRIBE, "variables": { "c": group, "a": 0 } } });
    ws.send(Message::text(sub.to_string())).await.expect("subscribe sent");
    // The group's history arrives first, read after the subscription went live (the server
    // subscribes before it reads), so the first event proves it is live.
    loop {
        let frame = ws.next().await.expect("an answer").expect("a frame");
        let Ok(text) = frame.to_text() else { continue };
        let v: Value = serde_json::from_str(text).expect("json");
        if v["type"] == "next" {
            assert!(v["payload"]["errors"].is_null(), "{v}");
            break;
        }
        assert_eq!(v["type"], "ping", "{v}");
        ws.send(Message::text(json!({ "type": "pong" }).to_string())).await.expect("pong");
    }
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let high = Arc::new(AtomicU64::new(from as u64));
    let (s, h) = (seen.clone(), high.clone());
    let task = tokio::spawn(async move {
        while let Some(Ok(frame)) = ws.next().await {
            let Ok(text) = frame.to_text() else { continue };
            let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
            match v["type"].as_str() {
                Some("ping") if ws.send(Message::text(json!({ "type": "pong" }).to_string())).await.is_err() => return,
                Some("next") => {
                    let m = &v["payload"]["data"]["conversationEvents"]["message"];
                    let (Some(seq), Some(text)) = (m["seq"].as_u64(), m["text"].as_str()) else { continue };
                    if seq <= from as u64 {
                        continue; // the history from before the run
                    }
                    let sent: u64 = text.parse().unwrap_or(0);
                    let at = now_us();
                    let mut seen = s.lock().expect("seen");
                    let high = h.load(Ordering::Relaxed);
                    if seq <= high {
                        // Seen before, or late behind a later one: without a record of every
                        // sequence number, both count as reordered unless it equals the last.
                        if seq == high {
                            seen.duplicated += 1;
                        } else {
                            seen.reordered += 1;
                        }
                        continue;
                    }
                    if seq > high + 1 {
                        seen.reordered += 1; // something overtook: a gap now, counted lost below if never filled
                    }
                    h.store(seq, Ordering::Relaxed);
                    seen.received += 1;
                    seen.latencies_us.push(at.saturating_sub(sent));
                }
                _ => {}
            }
        }
    });
    Subscriber { seen, high, task }
}

/// One fan-out phase's outcome.
struct Phase {
    subscribers: usize,
    instances: usize,
    target: usize,
    achieved: f64,
    sent: u64,
    failed_sends: u64,
    expected: u64,
    received: u64,
    duplicated: u64,
    reordered: u64,
    latencies_us: Vec<u64>,
    cpu_us_per_delivery: f64,
    push_queue: u64,
    /// From the send's start to its response, each successful send.
    send_latencies_us: Vec<u64>,
}

/// Senders send open-loop for `duration` at `target` deliveries a second in all; then waits
/// for every delivery (at most 30 s more).
async fn phase(
    servers: &[ServerProcess],
    groups: &[Group],
    subscribers: &[Subscriber],
    target: usize,
    duration: Duration,
    ctx: &AppContext,
) -> Phase {
    for s in subscribers {
        *s.seen.lock().expect("seen") = Seen::default();
    }
    let highs_before: Vec<u64> = subscribers.iter().map(|s| s.high.load(Ordering::Relaxed)).collect();
    let per_group = target as f64 / GROUP as f64 / groups.len() as f64; // messages a second
    let cpu_before: u64 = servers.iter().map(|s| cpu_us(s.pid())).sum();
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let send_latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let url = format!("{}/graphql", servers[g % servers.len()].base);
        let (http, token, conversation) = (http.clone(), group.sender.token.clone(), group.id);
        let (sent, failed, send_latencies) = (sent.clone(), failed.clone(), send_latencies.clone());
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_group));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut inflight = Vec::new();
            let mut n = 0u64;
            while started.elapsed() < duration {
                tick.tick().await;
                n += 1;
                let (http, url, token, sent, failed, send_latencies) =
                    (http.clone(), url.clone(), token.clone(), sent.clone(), failed.clone(), send_latencies.clone());
                let client_id = format!("{conversation}-{}-{n}", started.elapsed().as_nanos());
                inflight.push(tokio::spawn(async move {
                    let start = now_us();
                    let vars = json!({ "i": { "conversationId": conversation, "clientMessageId": client_id, "kind": "TEXT", "text": start.to_string() } });
                    let resp = http.post(&url).bearer_auth(&token).json(&json!({ "query": SEND, "variables": vars })).send().await;
                    let ok = match resp {
                        Ok(r) => r.json::<Value>().await.is_ok_and(|b| {
                            let ok = b["data"]["sendMessage"]["seq"].is_i64();
                            if !ok {
                                eprintln!("send refused: {b}");
                            }
                            ok
                        }),
                        Err(e) => {
                            eprintln!("send failed: {e}");
                            false
                        }
                    };
                    if ok {
                        send_latencies.lock().expect("send latencies").push(now_us().saturating_sub(start));
                        sent.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            futures::future::join_all(inflight).await;
        }));
    }
    futures::future::join_all(senders).await;
    let sent_total = sent.load(Ordering::Relaxed);
    // Every subscriber should reach its group's last sequence number.
    let targets: HashMap<Uuid, i64> = {
        let mut t = HashMap::new();
        for g in groups {
            t.insert(g.id, xqt_chat::messages::last_seq(ctx, g.id).await.expect("last seq"));
        }
        t
    };
    let wanted: Vec<u64> =
        groups.iter().flat_map(|g| std::iter::repeat_n(targets[&g.id] as u64, g.members.len())).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && subscribers.iter().zip(&wanted).any(|(s, w)| s.high.load(Ordering::Relaxed) < *w)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let cpu_after: u64 = servers.iter().map(|s| cpu_us(s.pid())).sum();
    let expected: u64 = subscribers.iter().zip(&wanted).zip(&highs_before).map(|((_, w), h)| w - h).sum();
    let (mut received, mut duplicated, mut reordered, mut latencies) = (0, 0, 0, Vec::new());
    for s in subscribers {
        let mut seen = s.seen.lock().expect("seen");
        received += seen.received;
        duplicated += seen.duplicated;
        reordered += seen.reordered;
        latencies.append(&mut seen.latencies_us);
    }
    latencies.sort_unstable();
    let push_queue = push_queue(ctx).await;
    let mut send_latencies_us = std::mem::take(&mut *send_latencies.lock().expect("send latencies"));
    send_latencies_us.sort_unstable();
    Phase {
        subscribers: subscribers.len(),
        instances: servers.len(),
        target,
        achieved: received as f64 / elapsed.as_secs_f64(),
        sent: sent_total,
        failed_sends: failed.load(Ordering::Relaxed),
        expected,
        received,
        duplicated,
        reordered,
        latencies_us: latencies,
        cpu_us_per_delivery: (cpu_after - cpu_before) as f64 / received.max(1) as f64,
        push_queue,
        send_latencies_us,
    }
}

/// Chat push jobs not yet done.
async fn push_queue(ctx: &AppContext) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use xqt_kernel::jobs::{JobState, job};
    job::Entity::find()
        .filter(job::Column::Kind.eq(xqt_chat::jobs::PUSH))
        .filter(job::Column::State.is_in([JobState::Queued, JobState::Running]))
        .count(&ctx.db)
        .await
        .expect("jobs counted")
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1e3
}

/// Sets up `n` subscribers in groups of 500 on the backend, starts `instances` fresh server
/// processes, connects and subscribes them (spread over the instances), measures the first
/// server's memory per idle socket, then runs a phase per rate.
async fn fanout_on(b: &Backend, n: usize, instances: usize, rates: &[usize]) -> Vec<String> {
    let duration = env_secs("XQT_BENCH_FANOUT_SECS", 8);
    let setup = b.start_with(bench_settings).await;
    let groups_n = n.div_ceil(GROUP);
    let set_up = Instant::now();
    let people = members(&setup.ctx, groups_n * (GROUP + 1)).await;
    let mut groups = Vec::new();
    for chunk in people.chunks(GROUP + 1) {
        groups.push(make_group(&setup.ctx, chunk[0].clone(), chunk[1..].to_vec()).await);
    }
    eprintln!("fanout {}: {} people in {} groups set up in {:?}", b.name, people.len(), groups.len(), set_up.elapsed());
    let ctx = setup.ctx.clone();
    drop(setup);
    let servers: Vec<ServerProcess> = {
        let mut s = Vec::new();
        for _ in 0..instances {
            s.push(ServerProcess::start(b).await);
        }
        s
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(servers[0].pid());
    let mut subscribers = Vec::with_capacity(n);
    let mut k = 0usize;
    // Also measured halfway: the second half's growth is what one more socket costs, without
    // what the first sockets grow once (pool connections, caches, allocator arenas), which made
    // the whole-run figure swing by half between fresh processes.
    let mut halfway = None;
    for (i, g) in groups.iter().enumerate() {
        if i == groups.len() / 2 && i > 0 {
            tokio::time::sleep(Duration::from_secs(3)).await;
            halfway = Some((rss_kib(servers[0].pid()), k.div_ceil(instances)));
        }
        let mut connecting = Vec::new();
        for m in &g.members {
            let url = servers[k % servers.len()].ws.clone();
            k += 1;
            let (token, id, last) = (m.token.clone(), g.id, g.last_seq);
            connecting.push(async move { subscribe(&url, &token, id, last).await });
            if connecting.len() == 100 {
                subscribers.extend(futures::future::join_all(std::mem::take(&mut connecting)).await);
            }
        }
        subscribers.extend(futures::future::join_all(connecting).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(servers[0].pid());
    let on_first = n.div_ceil(instances);
    let per_socket = (rss_after.saturating_sub(rss_before)) as f64 / on_first as f64;
    let marginal = match halfway {
        Some((rss_half, sockets_half)) if on_first > sockets_half => {
            format!("{:.1}", rss_after.saturating_sub(rss_half) as f64 / (on_first - sockets_half) as f64)
        }
        _ => "—".to_owned(),
    };
    eprintln!("fanout {}: {n} subscribed; first server RSS {rss_before} KiB → {halfway:?} → {rss_after} KiB", b.name);
    let mut rows = Vec::new();
    for &rate in rates {
        let p = phase(&servers, &groups, &subscribers, rate, duration, &ctx).await;
        let lost = p.expected.saturating_sub(p.received);
        rows.push(format!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} / {} / {} | {} | {:.1} | {} | {:.1} | {:.1} / {:.1} | {} sent ({} failed), {} in queue |",
            b.name,
            p.instances,
            p.subscribers,
            p.target,
            p.achieved,
            pct(&p.latencies_us, 0.5),
            pct(&p.latencies_us, 0.99),
            pct(&p.latencies_us, 1.0),
            lost,
            p.duplicated,
            p.reordered,
            p.received,
            per_socket,
            marginal,
            p.cpu_us_per_delivery,
            pct(&p.send_latencies_us, 0.5),
            pct(&p.send_latencies_us, 0.99),
            p.sent,
            p.failed_sends,
            p.push_queue,
        ));
        eprintln!("{}", rows.last().expect("row"));
    }
    for s in subscribers {
        s.task.abort();
    }
    drop(servers);
    rows
}

pub async fn fanout() {
    println!(
        "| backend | instances | subscribers | target deliveries/s | achieved /s | p50 ms | p99 ms | max ms | lost / dup / reordered | delivered | RSS KiB per idle socket | RSS KiB per socket, second half | server CPU µs per delivery | send p50 / p99 ms | sends, push queue at the end |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    xqt_tests::on_each_backend(async |b| {
        for n in env_list("XQT_BENCH_FANOUT_SIZES", &[1000, 5000, 10000]) {
            let rates = match n {
                1000 => env_list("XQT_BENCH_FANOUT_RATES_1K", &[5000, 20000, 50000]),
                _ => env_list("XQT_BENCH_FANOUT_RATES", &[5000, 20000]),
            };
            for row in fanout_on(b, n, 1, &rates).await {
                println!("{row}");
            }
        }
        if b.has_redis() {
            let n = env_list("XQT_BENCH_FANOUT_SHARED", &[10000])[0];
            for row in fanout_on(b, n, 2, &[20000]).await {
                println!("{row}");
            }
        }
    })
    .await;
}

/// `pgbench` for `seconds` at `clients` with a script, as prepared statements (as sqlx sends
/// them); its transactions a second.
fn pgbench(database: &str, clients: usize, seconds: u64, script: &str) -> f64 {
    let file = std::env::temp_dir().join(format!("xqt-pgbench-{}.sql", Uuid::new_v4().simple()));
    std::fs::write(&file, script).expect("script written");
    let out = Command::new("pgbench")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-n", "-M", "prepared", "-c", &clients.to_string(), "-j", "2"])
        .args(["-T", &seconds.to_string(), "-f"])
        .arg(&file)
        .arg(database)
        .output()
        .expect("pgbench (Debian: postgresql-client) runs");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pgbench failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let failed = text.lines().find(|l| l.contains("number of failed transactions")).unwrap_or("");
    assert!(failed.contains(": 0 ") || failed.is_empty(), "pgbench transactions failed: {failed}");
    text.lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|v| v.split_whitespace().next()?.parse().ok()))
        .unwrap_or_else(|| panic!("no tps in {text}"))
}

/// `sendMessage` from `senders` people at once for `seconds`: into their own direct
/// conversations or all into one group. Sends a second, and the sends that failed.
async fn send_rate(srv: &TestServer, senders: usize, shared: bool, seconds: u64) -> (f64, u64) {
    let people = members(&srv.ctx, senders + 1).await;
    let (peer, people) = people.split_first().expect("people");
    let mut targets = Vec::new();
    if shared {
        let group = make_group(&srv.ctx, peer.clone(), people.to_vec()).await;
        targets = vec![group.id; senders];
    } else {
        for p in people {
            targets.push(xqt_chat::conversations::open_direct(&srv.ctx, p.id, peer.id).await.expect("direct").id);
        }
    }
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = Duration::from_secs(seconds);
    let workers: Vec<_> = people
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(w, (p, c))| {
            let (http, url, token, done, failed) =
                (srv.http.clone(), srv.url("/graphql"), p.token.clone(), done.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while started.elapsed() < until {
                    i += 1;
                    let vars = json!({ "i": { "conversationId": c, "clientMessageId": format!("w{w}-{i}"), "kind": "TEXT", "text": "压测消息" } });
                    let resp = http.post(&url).bearer_auth(&token).json(&json!({ "query": SEND, "variables": vars })).send().await;
                    let body: Value = resp.expect("request").json().await.expect("body");
                    if body["data"]["sendMessage"]["seq"].is_i64() {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        eprintln!("send refused: {body}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    futures::future::join_all(workers).await;
    (done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), failed.load(Ordering::Relaxed))
}

/// The statements one `sendMessage` runs, as pgbench sees them: the client id look-up,
/// membership (one join), verification and restrictions (one read), then one statement that takes the
/// conversation's next numbers and stores the row, the sender's read marker and the push job
/// (PostgreSQL; `bench_conversations` maps pgbench's client id to a conversation and member).
const SEND_SEQUENCE: &str = r#"
SELECT conversation_id, user_id FROM bench_conversations WHERE n = :client_id \gset
SELECT * FROM chat_messages WHERE sender_id = :user_id AND client_message_id = 'nope';
SELECT * FROM chat_members m JOIN chat_conversations c ON c.id = m.conversation_id WHERE m.conversation_id = :conversation_id AND m.user_id = :user_id;
SELECT (SELECT state FROM identity_verifications WHERE user_id = :user_id ORDER BY id DESC LIMIT 1) AS verification, EXISTS (SELECT 1 FROM restrictions WHERE user_id = :user_id AND lifted_at IS NULL AND (ends_at IS NULL OR ends_at > now())) AS restricted;
WITH counters AS (UPDATE chat_conversations SET last_seq = last_seq + 1, last_position = last_position + 1, updated_at = now() WHERE id = :conversation_id RETURNING last_seq, last_position), stored AS (INSERT INTO chat_messages (id, conversation_id, seq, position, sender_id, client_message_id, kind, body, created_at) SELECT gen_random_uuid(), :conversation_id, last_seq, last_position, :user_id, gen_random_uuid()::text, 'text', '压测消息', now() FROM counters RETURNING *), read AS (UPDATE chat_members SET last_read_seq = (SELECT last_seq FROM counters) WHERE conversation_id = :conversation_id AND user_id = :user_id AND last_read_seq < (SELECT last_seq FROM counters)), push AS (INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, created_at) SELECT gen_random_uuid(), 'bench.push', '{}', 'queued', now(), 0, 5, now() FROM stored) SELECT * FROM stored;
"#;

pub async fn writes() {
    let seconds = env_secs("XQT_BENCH_WRITE_SECS", 10).as_secs();
    println!("| backend | what | 8 senders | 32 senders |");
    println!("|---|---|---|---|");
    xqt_tests::on_each_backend(async |b| {
        let srv = b.start_with(bench_settings).await;
        let row = |what: &str, cells: Vec<String>| println!("| {} | {what} | {} |", b.name, cells.join(" | "));
        let mut own = Vec::new();
        let mut group = Vec::new();
        let mut failures = 0;
        for senders in [8, 32] {
            let (rate, failed) = send_rate(&srv, senders, false, seconds).await;
            own.push(rate);
            failures += failed;
            let (rate, failed) = send_rate(&srv, senders, true, seconds).await;
            group.push(rate);
            failures += failed;
        }
        row("`sendMessage`, each sender in their own conversation, /s", own.iter().map(|r| format!("{r:.0}")).collect());
        row("`sendMessage`, all into one group, /s", group.iter().map(|r| format!("{r:.0}")).collect());
        row("sends refused or failed", vec![failures.to_string(), String::new()]);
        let Some((_, database)) = b.database() else { return };
        use sea_orm::ConnectionTrait;
        srv.ctx
            .db
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS bench_one (id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL); \
                 DROP TABLE IF EXISTS bench_conversations; \
                 CREATE TABLE bench_conversations (n int PRIMARY KEY, conversation_id uuid NOT NULL, user_id uuid NOT NULL)",
            )
            .await
            .expect("bench tables");
        let people = members(&srv.ctx, 33).await;
        for (n, p) in people[1..].iter().enumerate() {
            let c = xqt_chat::conversations::open_direct(&srv.ctx, p.id, people[0].id).await.expect("direct");
            srv.ctx
                .db
                .execute_unprepared(&format!(
                    "INSERT INTO bench_conversations VALUES ({n}, '{}', '{}')",
                    c.id, p.id
                ))
                .await
                .expect("mapped");
        }
        let insert = "INSERT INTO bench_one (body, created_at) VALUES ('压测消息', now());\n";
        let one: Vec<f64> = [8, 32].iter().map(|c| pgbench(database, *c, seconds, insert)).collect();
        let sequence: Vec<f64> = [8, 32].iter().map(|c| pgbench(database, *c, seconds, SEND_SEQUENCE)).collect();
        row("pgbench: one-row insert, transactions/s", one.iter().map(|r| format!("{r:.0}")).collect());
        row("pgbench: the statements of one send (3 reads, one write statement), /s", sequence.iter().map(|r| format!("{r:.0}")).collect());
        row("`sendMessage` (own conversations) / one-row insert", own.iter().zip(&one).map(|(s, o)| format!("{:.2}×", s / o)).collect());
        row("`sendMessage` (own conversations) / its statements in pgbench", own.iter().zip(&sequence).map(|(s, o)| format!("{:.2}×", s / o)).collect());
    })
    .await;
}

/// A plain poem handler doing the same reads as each query, beside the GraphQL server on the
/// same context: parse the JSON body; for `me`, check the token and read the person; for the
/// list, read the page, the unread counts and the last messages through the same module calls.
mod plain {
    use poem::http::StatusCode;
    use poem::web::{Data, Json};
    use poem::{EndpointExt, Request, Response, Route, handler, post};
    use serde_json::{Value, json};
    use xqt_kernel::AppContext;

    /// Checks the token when one is sent, as `/graphql` does for any operation.
    #[handler]
    async fn typename(req: &Request, Json(_body): Json<Value>, Data(ctx): Data<&AppContext>) -> Response {
        if req.headers().contains_key("authorization") && person(req, ctx).await.is_none() {
            return StatusCode::UNAUTHORIZED.into();
        }
        Json(json!({ "data": { "__typename": "Query" } })).into_response()
    }

    async fn person(req: &Request, ctx: &AppContext) -> Option<uuid::Uuid> {
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        ctx.authenticate(auth).await.ok()?.viewer.person_id()
    }

    #[handler]
    async fn me(req: &Request, Json(_body): Json<Value>, Data(ctx): Data<&AppContext>) -> Response {
        let Some(id) = person(req, ctx).await else { return StatusCode::UNAUTHORIZED.into() };
        match xqt_accounts::users::find(ctx, id).await {
            Ok(Some(user)) => Json(json!({ "data": { "me": { "id": user.id } } })).into_response(),
            _ => StatusCode::INTERNAL_SERVER_ERROR.into(),
        }
    }

    #[handler]
    async fn conversations(req: &Request, Json(_body): Json<Value>, Data(ctx): Data<&AppContext>) -> Response {
        let Some(viewer) = person(req, ctx).await else { return StatusCode::UNAUTHORIZED.into() };
        let page = xqt_kernel::pagination::PageArgs { first: Some(20), after: None, last: None, before: None }
            .validate("conversations", &ctx.config.limits)
            .expect("page");
        let Ok(rows) = xqt_chat::conversations::page_mine(ctx, viewer, &page).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into();
        };
        let keys: Vec<xqt_chat::messages::UnreadKey> = rows
            .iter()
            .map(|(c, m)| xqt_chat::messages::UnreadKey {
                user: viewer,
                conversation: c.id,
                read_seq: m.last_read_seq,
                last_seq: c.last_seq,
            })
            .collect();
        let wanted: Vec<(uuid::Uuid, i64)> = rows.iter().map(|(c, _)| (c.id, c.last_seq)).collect();
        let (Ok(unread), Ok(last)) = (
            xqt_chat::messages::unread_counts(ctx, viewer, &keys).await,
            xqt_chat::messages::latest_visible_many(ctx, viewer, &wanted).await,
        ) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into();
        };
        let nodes: Vec<Value> = rows
            .iter()
            .map(|(c, _)| {
                json!({ "id": c.id, "unreadCount": unread.get(&c.id).copied().unwrap_or(0),
                        "lastMessage": last.get(&c.id).map(|m| json!({ "text": m.body })) })
            })
            .collect();
        Json(json!({ "data": { "conversations": { "nodes": nodes } } })).into_response()
    }

    use poem::IntoResponse;

    fn routes() -> Route {
        Route::new().at("/typename", post(typename)).at("/me", post(me)).at("/conversations", post(conversations))
    }

    /// The handlers alone, and behind the server's own middleware (request id, CORS, security
    /// headers, log line, metrics: what `/graphql` has around it): two servers, two addresses.
    pub async fn serve(state: &xqt::ServerState) -> (std::net::SocketAddr, std::net::SocketAddr) {
        let bare = listen(routes().data(state.ctx.clone())).await;
        let wrapped = listen(xqt::with_middleware(routes().data(state.ctx.clone()), state.clone())).await;
        (bare, wrapped)
    }

    async fn listen(app: impl poem::Endpoint + 'static) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let acceptor = poem::listener::TcpListener::bind(addr.to_string());
        tokio::spawn(async move { poem::Server::new(acceptor).run(app).await });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        addr
    }
}

/// `wrk` POSTing `body` to `url` for `seconds` with 2 threads and `connections`; requests a second.
fn wrk(url: &str, body: &Value, token: Option<&str>, seconds: u64, connections: usize) -> f64 {
    let script = std::env::temp_dir().join(format!("xqt-wrk-{}.lua", Uuid::new_v4().simple()));
    let auth = token.map(|t| format!("wrk.headers[\"Authorization\"] = \"Bearer {t}\"\n")).unwrap_or_default();
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{auth}",
        serde_json::to_string(&body.to_string()).expect("lua string")
    );
    std::fs::write(&script, lua).expect("wrk script");
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk (Debian: apt install wrk) runs");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:").and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no rate in {text}"))
}

pub async fn queries() {
    let seconds = env_secs("XQT_BENCH_QUERY_SECS", 8).as_secs();
    let connections = 16;
    println!(
        "| backend | query | `/graphql` req/s | plain handler behind the server's middleware, req/s | ratio | plain handler alone, req/s | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    xqt_tests::on_each_backend(async |b| {
        let srv = b.start_with(bench_settings).await;
        let people = members(&srv.ctx, 21).await;
        let me = &people[0];
        for (i, other) in people[1..].iter().enumerate() {
            let c = xqt_chat::conversations::open_direct(&srv.ctx, other.id, me.id).await.expect("direct");
            for j in 0..3 {
                let new = xqt_chat::messages::NewMessage {
                    conversation: c.id,
                    client_message_id: format!("q{i}-{j}"),
                    kind: xqt_chat::entity::message::MessageKind::Text,
                    text: Some("在吗".into()),
                    attachment: None,
                    duration_secs: None,
                    location: None,
                    reply_to_seq: None,
                    mentions: Vec::new(),
                };
                xqt_chat::messages::send(&srv.ctx, other.id, new).await.expect("sent");
            }
        }
        let (bare, wrapped) = plain::serve(srv.state()).await;
        let cases: [(&str, &str, &str, Option<&str>); 4] = [
            ("`{ __typename }` anonymous", "{ __typename }", "typename", None),
            ("`{ __typename }` signed in", "{ __typename }", "typename", Some(&me.token)),
            ("`{ me { id } }` signed in", "{ me { id } }", "me", Some(&me.token)),
            (
                "20 conversations with last message and unread count, signed in",
                "{ conversations(first: 20) { nodes { id unreadCount lastMessage { text } } } }",
                "conversations",
                Some(&me.token),
            ),
        ];
        for (what, query, path, token) in cases {
            let body = json!({ "query": query });
            // Both answer what they should before they are timed.
            let check = srv.post(&body, token).await;
            assert!(check.status == 200 && check.body.get("errors").is_none(), "{:?}", check.body);
            for plain in [bare, wrapped] {
                let mut req = srv.http.post(format!("http://{plain}/{path}")).json(&body);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                assert!(req.send().await.expect("plain").status().is_success(), "plain {path}");
            }
            let gql = wrk(&srv.url("/graphql"), &body, token, seconds, connections);
            let with = wrk(&format!("http://{wrapped}/{path}"), &body, token, seconds, connections);
            let alone = wrk(&format!("http://{bare}/{path}"), &body, token, seconds, connections);
            println!(
                "| {} | {what} | {gql:.0} | {with:.0} | {:.2}× | {alone:.0} | {:.2}× |",
                b.name,
                gql / with,
                gql / alone
            );
        }
    })
    .await;
}

/// The memory a live subscription's state takes before it is first polled (what each idle
/// socket keeps), for the streams a client follows.
pub async fn sizes() {
    xqt_tests::on_each_backend(async |b| {
        let srv = b.start_with(bench_settings).await;
        let people = members(&srv.ctx, 2).await;
        let c = xqt_chat::conversations::open_direct(&srv.ctx, people[0].id, people[1].id).await.expect("direct");
        let follow = xqt_chat::live::follow(srv.ctx.clone(), people[0].id, c.id, None);
        println!("chat::live::follow: {} bytes", std::mem::size_of_val(&follow));
        let inbox = xqt_chat::inbox::follow(srv.ctx.clone(), people[0].id, None);
        println!("chat::inbox::follow: {} bytes", std::mem::size_of_val(&inbox));
        let notes = xqt_notifications::inbox::follow(srv.ctx.clone(), people[0].id, None);
        println!("notifications::inbox::follow: {} bytes", std::mem::size_of_val(&notes));
    })
    .await;
}
