//! Load on a real server over loopback, bounded in count: HTTP round trips of small operations,
//! anonymous and signed in (which adds the session check and the privacy guard), consent-ledger
//! appends (serialised by the hash chain's head), the time from sending a notification to
//! its arrival on a live subscription, chat sends into one conversation and into many, and a
//! chat message's fan-out to a group's live subscribers. Prints a Markdown table. Usage:
//! `xqt-bench [external|cooperation|attendance|frontend|fanout|writes|queries|queue]` (`fanout`,
//! `writes` and `queries`: `scale.rs`; `queue`: `queue.rs`).

mod queue;
mod scale;

use std::time::{Duration, Instant};

use serde_json::json;
use xqt_tests::{Backend, TestServer, live_inbox, on_each_backend};

const HTTP_REQUESTS: usize = 20_000;
const HTTP_CONCURRENCY: usize = 16;
const FANOUT_MESSAGES: usize = 300;
const CONSENT_WORKERS: usize = 8;
const CONSENTS_PER_WORKER: usize = 100;
const CHAT_SENDERS: usize = 8;
const CHAT_SENDS_PER_SENDER: usize = 100;
const CHAT_SUBSCRIBERS: usize = 20;
const CHAT_FANOUT_MESSAGES: usize = 200;
const LIST_CONVERSATIONS: usize = 50;
const LIST_REQUESTS: usize = 400;
const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }";
/// Posts seeded for the search and nearby rows (`XQT_BENCH_POSTS` to change, e.g. for a quick check).
fn posts_count() -> usize {
    std::env::var("XQT_BENCH_POSTS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000)
}
const SEARCH_REQUESTS: usize = 400;

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
    let guard = &srv.ctx.modules.privacy().standing;
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
        let vars = json!({ "i": { "userId": user, "title": format!("n{i}") } });
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

/// A server for chat load: no per-person send limit in the way.
async fn chat_server(b: &Backend) -> TestServer {
    b.start_with(|c| {
        c.log_filter = "warn".into();
        c.update(|s: &mut xqt_chat::config::ChatConfig| s.messages_per_minute = i64::MAX);
    })
    .await
}

async fn group(srv: &TestServer, owner: &xqt_tests::Person, members: &[xqt_tests::Person]) -> String {
    let ids: Vec<_> = members.iter().map(|m| m.id).collect();
    let g = srv
        .gql(
            "mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }",
            json!({ "i": { "name": "bench", "memberIds": ids } }),
            Some(&owner.token),
        )
        .await;
    g.body["data"]["createGroup"]["id"].as_str().unwrap_or_else(|| panic!("group: {:?}", g.body)).to_owned()
}

/// `CHAT_SENDERS` people sending at once, into one shared group (every send queues on that
/// conversation's sequence counter) or each into their own direct conversation (no shared row).
/// The sequence is checked dense afterwards.
async fn chat_sends(b: &Backend, shared: bool) -> String {
    let srv = chat_server(b).await;
    let mut people = Vec::new();
    for _ in 0..CHAT_SENDERS {
        people.push(srv.verified_person().await);
    }
    let peer = srv.verified_person().await;
    let mut targets = Vec::new();
    if shared {
        let c = group(&srv, &peer, &people).await;
        targets = vec![c; CHAT_SENDERS];
    } else {
        for p in &people {
            let r = srv
                .gql(
                    "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }",
                    json!({ "u": peer.id }),
                    Some(&p.token),
                )
                .await;
            targets.push(r.body["data"]["openDirectConversation"]["id"].as_str().expect("direct").to_owned());
        }
    }
    let started = Instant::now();
    let workers: Vec<_> = people
        .into_iter()
        .zip(targets.clone())
        .enumerate()
        .map(|(w, (p, c))| {
            let (http, url) = (srv.http.clone(), srv.url("/graphql"));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(CHAT_SENDS_PER_SENDER);
                for i in 0..CHAT_SENDS_PER_SENDER {
                    let vars = json!({ "i": { "conversationId": c, "clientMessageId": format!("b{w}-{i}"), "kind": "TEXT", "text": "压测消息" } });
                    let t = Instant::now();
                    let resp = http.post(&url).bearer_auth(&p.token).json(&json!({ "query": SEND, "variables": vars })).send().await;
                    let body: serde_json::Value = resp.expect("request").json().await.expect("body");
                    assert!(body["data"]["sendMessage"]["seq"].is_i64(), "{body}");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let (all, elapsed) = gather(workers, started).await;
    targets.dedup();
    let expected = if shared { CHAT_SENDERS * CHAT_SENDS_PER_SENDER } else { CHAT_SENDS_PER_SENDER };
    for c in &targets {
        let last = xqt_chat::messages::last_seq(&srv.ctx, c.parse().expect("id")).await.expect("last seq");
        let offset = i64::from(shared); // the group's creation notice is its first message
        assert_eq!(last, expected as i64 + offset, "dense, nothing lost");
    }
    let what = if shared {
        format!(
            "`sendMessage` into one group, {CHAT_SENDERS} senders at once (one sequence counter), {} sends; sequence checked dense",
            all.len()
        )
    } else {
        format!("`sendMessage`, {CHAT_SENDERS} senders at once each in their own conversation, {} sends", all.len())
    };
    row(b.name, &what, "/s", &all, elapsed)
}

/// One sender, `CHAT_SUBSCRIBERS` members following the group live; each message timed until
/// the last subscriber has it.
async fn chat_fanout(b: &Backend) -> String {
    let srv = chat_server(b).await;
    let sender = srv.verified_person().await;
    let mut members = Vec::new();
    for _ in 0..CHAT_SUBSCRIBERS {
        members.push(srv.verified_person().await);
    }
    let c = group(&srv, &sender, &members).await; // seq 1: the creation notice
    let mut sockets = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let mut ws = srv.ws_as(&m.token).await;
        let id = format!("f{i}");
        ws.subscribe(&id, "subscription($c: ID!, $a: Int) { conversationEvents(conversationId: $c, afterSeq: $a) { message { seq } } }", json!({ "c": c, "a": 0 })).await;
        assert_eq!(ws.next_payload(&id).await["data"]["conversationEvents"]["message"]["seq"], 1);
        sockets.push((id, ws));
    }
    let mut latencies = Vec::with_capacity(CHAT_FANOUT_MESSAGES);
    for i in 0..CHAT_FANOUT_MESSAGES {
        let vars = json!({ "i": { "conversationId": c, "clientMessageId": format!("f-{i}"), "kind": "TEXT", "text": "广播" } });
        let t = Instant::now();
        let a = srv.gql(SEND, vars, Some(&sender.token)).await;
        let seq = a.body["data"]["sendMessage"]["seq"].clone();
        let arrivals = sockets.iter_mut().map(|(id, ws)| async move {
            ws.next_payload(id).await["data"]["conversationEvents"]["message"]["seq"].clone()
        });
        for got in futures::future::join_all(arrivals).await {
            assert_eq!(got, seq);
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let what = format!(
        "chat message sent (HTTP, committed with its sequence) → on all {CHAT_SUBSCRIBERS} live subscribers of the group, {} in sequence",
        latencies.len()
    );
    row(b.name, &what, "/s", &latencies, latencies.iter().sum())
}

/// The chat list as an app opens it: one person's 50 most recent conversations, each with its
/// unread count and last message, 4 clients at once.
async fn chat_list(b: &Backend) -> String {
    let srv = chat_server(b).await;
    let me = srv.verified_person().await;
    for i in 0..LIST_CONVERSATIONS {
        let other = srv.verified_person().await;
        let r = srv
            .gql(
                "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }",
                json!({ "u": me.id }),
                Some(&other.token),
            )
            .await;
        let c = r.body["data"]["openDirectConversation"]["id"].clone();
        for j in 0..3 {
            let vars = json!({ "i": { "conversationId": c, "clientMessageId": format!("l{i}-{j}"), "kind": "TEXT", "text": "在吗" } });
            srv.gql(SEND, vars, Some(&other.token)).await;
        }
    }
    let query = format!(
        "{{ conversations(first: {LIST_CONVERSATIONS}) {{ edges {{ node {{ id unreadCount lastMessage {{ text }} }} }} }} }}"
    );
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (http, url, token, query) = (srv.http.clone(), srv.url("/graphql"), me.token.clone(), query.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(LIST_REQUESTS / 4);
                for _ in 0..LIST_REQUESTS / 4 {
                    let t = Instant::now();
                    let resp = http.post(&url).bearer_auth(&token).json(&json!({ "query": query })).send().await;
                    let body: serde_json::Value = resp.expect("request").json().await.expect("body");
                    let edges = body["data"]["conversations"]["edges"].as_array().expect("edges");
                    assert!(
                        edges.len() == LIST_CONVERSATIONS && edges.iter().all(|e| e["node"]["unreadCount"] == 3),
                        "{body}"
                    );
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let (all, elapsed) = gather(workers, started).await;
    let what = format!(
        "conversation list: {LIST_CONVERSATIONS} conversations with unread counts and last messages, {} requests, 4 concurrent",
        all.len()
    );
    row(b.name, &what, "req/s", &all, elapsed)
}

/// A deterministic stream of numbers (no randomness between runs).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

const CITIES: [(&str, f64, f64); 12] = [
    ("北京市", 39.90, 116.40),
    ("上海市", 31.23, 121.47),
    ("广东省广州市", 23.13, 113.26),
    ("广东省深圳市", 22.54, 114.06),
    ("浙江省杭州市", 30.27, 120.16),
    ("江苏省南京市", 32.06, 118.80),
    ("湖北省武汉市", 30.59, 114.31),
    ("四川省成都市", 30.57, 104.07),
    ("陕西省西安市", 34.34, 108.94),
    ("山东省济南市", 36.65, 117.12),
    ("福建省福州市", 26.07, 119.30),
    ("湖南省长沙市", 28.23, 112.94),
];
const FIELDS: [&str; 16] = [
    "数控", "护理", "电商", "焊接", "会计", "物流", "机电", "软件", "汽修", "烹饪", "幼教", "药学", "建筑", "酒店",
    "动漫", "农业",
];
const ROLES: [&str; 8] = ["实习生", "学徒", "技术员", "助理", "操作工", "储备干部", "讲师", "研究员"];
const KINDS: [&str; 9] = [
    "internship",
    "order_class",
    "apprenticeship",
    "joint_lab",
    "industry_college",
    "research_project",
    "course_development",
    "recruitment",
    "results_transfer",
];

/// `POSTS` published public posts over twelve cities, sixteen fields and every kind, written
/// straight to the database in batches (segmented as the module segments them).
async fn seed_posts(srv: &TestServer) -> Duration {
    use sea_orm::{EntityTrait, Set};
    use xqt_cooperation::entity::post;
    let started = Instant::now();
    let mut rng = Lcg(20261130);
    let orgs: Vec<uuid::Uuid> = (0..200).map(|_| uuid::Uuid::now_v7()).collect();
    let now = chrono::Utc::now();
    let mut batch = Vec::with_capacity(500);
    let total = posts_count();
    for i in 0..total {
        let (region, lat, lng) = CITIES[rng.next() as usize % CITIES.len()];
        let (field, role) = (rng.pick(&FIELDS), rng.pick(&ROLES));
        let other = rng.pick(&FIELDS);
        let title = format!("{field}{role}招募（{i}）");
        let body = format!(
            "我公司现招{field}方向{role}，要求具备{other}基础，提供住宿与实习补贴，表现优秀者毕业后可留用。工作地点{region}。"
        );
        let tags = format!("[\"{field}\",\"{other}\"]");
        let kind = post::PostKind::parse(rng.pick(&KINDS)).expect("a kind");
        let mut row = post::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organization_id: Set(Some(orgs[i % orgs.len()])),
            organization_kind: Set(Some(xqt_accounts::entity::organization::OrganizationKind::Enterprise)),
            author_id: Set(orgs[i % orgs.len()]),
            kind: Set(kind),
            state: Set(post::PostState::Published),
            visibility: Set(post::Visibility::Public),
            title: Set(title.clone()),
            body: Set(body.clone()),
            industry: Set(Some(field.to_owned())),
            region: Set(Some(region.to_owned())),
            address: Set(None),
            latitude: Set(Some(lat + (rng.unit() - 0.5) * 0.6)),
            longitude: Set(Some(lng + (rng.unit() - 0.5) * 0.6)),
            headcount: Set(Some(1 + (rng.next() % 20) as i32)),
            starts_on: Set(None),
            ends_on: Set(None),
            tags: Set(tags),
            talent: Set(None),
            search_text: Set(String::new()),
            external_key: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(Some(now - chrono::Duration::seconds(i as i64))),
        };
        let facets = xqt_cooperation::search::Facets {
            kind: Some(kind.as_str()),
            region: Some(region),
            industry: Some(field),
            organization_kind: Some("enterprise"),
        };
        row.search_text = Set(xqt_cooperation::search::document(&[&title, &body, field, other, region], facets));
        batch.push(row);
        if batch.len() == 500 || i + 1 == total {
            post::Entity::insert_many(std::mem::take(&mut batch)).exec(&srv.ctx.db).await.expect("seed posts");
        }
    }
    // A bulk load is followed by ANALYZE (autovacuum would get there; the bench does not wait).
    use sea_orm::ConnectionTrait;
    let analyze = match srv.ctx.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "ANALYZE cooperation_posts",
        _ => "PRAGMA optimize",
    };
    srv.ctx.db.execute_unprepared(analyze).await.expect("analyze");
    started.elapsed()
}

/// One timed query: what it is, the document, and its variables for the n-th request.
type Case = (&'static str, &'static str, fn(usize) -> serde_json::Value);

/// Searches and nearby queries on `POSTS` posts, `SEARCH_REQUESTS` each, 4 concurrent.
async fn cooperation(b: &Backend) -> Vec<String> {
    let srv = b.start_with(|c| c.log_filter = "warn".into()).await;
    let seeded = seed_posts(&srv).await;
    let viewer = srv.person().await;
    srv.gql("mutation { grantConsent(input: { purpose: \"location\" }) { id } }", json!({}), Some(&viewer.token)).await;
    let posts = posts_count();
    let mut out = vec![format!(
        "| {} | seeding {posts} posts (segmenting and indexing included) | {:.0} posts/s | — | — |",
        b.name,
        posts as f64 / seeded.as_secs_f64()
    )];
    let cases: [Case; 4] = [
        (
            "keyword + region filter, relevance, first 20",
            "query($f: PostFilter) { posts(filter: $f, first: 20) { edges { node { id title } } } }",
            |i| json!({ "f": { "keyword": FIELDS[i % FIELDS.len()], "region": CITIES[i % CITIES.len()].0 } }),
        ),
        (
            "two keywords + kind filter, recency, first 20, with totalCount",
            "query($f: PostFilter) { posts(filter: $f, sort: RECENT, first: 20) { totalCount edges { node { id title } } } }",
            |i| json!({ "f": { "keyword": format!("{} {}", FIELDS[i % FIELDS.len()], ROLES[i % ROLES.len()]), "kinds": ["INTERNSHIP", "APPRENTICESHIP"] } }),
        ),
        (
            "nearby posts within 10 km of a city centre, first 20",
            "query($lat: Float!, $lng: Float!) { nearbyPosts(latitude: $lat, longitude: $lng, radiusKm: 10, first: 20) { edges { node { id distanceKm } } } }",
            |i| json!({ "lat": CITIES[i % CITIES.len()].1, "lng": CITIES[i % CITIES.len()].2 }),
        ),
        (
            "nearby posts within 3 km, keyword-free, first 20",
            "query($lat: Float!, $lng: Float!) { nearbyPosts(latitude: $lat, longitude: $lng, radiusKm: 3, first: 20) { edges { node { id distanceKm } } } }",
            |i| json!({ "lat": CITIES[i % CITIES.len()].1 + 0.05, "lng": CITIES[i % CITIES.len()].2 - 0.05 }),
        ),
    ];
    for (what, query, vars) in cases {
        let started = Instant::now();
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (http, url, token) = (srv.http.clone(), srv.url("/graphql"), viewer.token.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(SEARCH_REQUESTS / 4);
                    for i in 0..SEARCH_REQUESTS / 4 {
                        let t = Instant::now();
                        let body = json!({ "query": query, "variables": vars(w * 1000 + i) });
                        let resp = http.post(&url).bearer_auth(&token).json(&body).send().await.expect("request");
                        let answer: serde_json::Value = resp.json().await.expect("body");
                        let edges = answer["data"].as_object().and_then(|d| d.values().next()).map(|c| &c["edges"]);
                        assert!(edges.and_then(|e| e.as_array()).is_some(), "{answer}");
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let (all, elapsed) = gather(workers, started).await;
        out.push(row(
            b.name,
            &format!("{what}, {posts} posts, {} requests, 4 concurrent", all.len()),
            "req/s",
            &all,
            elapsed,
        ));
    }
    out
}

const RUSH_MEMBERS: usize = 400;
const RUSH_CONCURRENT: usize = 300;
const RUSH_CLIENTS: usize = 16;

/// The next working day after today (wall clock), 08:50 China time: the bench's clock, so the
/// check-ins land in the shift's opening minutes and the tokens it issues are still valid.
fn next_working_morning() -> chrono::DateTime<chrono::Utc> {
    let calendar = xqt_kernel::calendar::WorkCalendar::built_in();
    let mut day = xqt_kernel::clock::china_date(chrono::Utc::now()) + chrono::Days::new(1);
    while !calendar.is_working_day(day) {
        day = day + chrono::Days::new(1);
    }
    xqt_attendance::rules::moment(day, 8 * 60 + 50)
}

/// A morning rush: the members of one attendance group check in at the factory gate, most of
/// them at once from `RUSH_CLIENTS` clients, the rest one at a time. Each check-in reads the
/// group, the person's consent, the sites and their last check, and writes the record and the
/// day in one transaction. Every record is counted afterwards.
async fn attendance_rush(b: &Backend) -> Vec<String> {
    b.clock.set(next_working_morning());
    let srv = b
        .start_with(|c| {
            c.log_filter = "warn".into();
            // Four hundred people sign in from one address to set the scene.
            c.update(|s: &mut xqt_accounts::config::AccountsConfig| s.sign_ins_per_minute_per_ip = 100_000);
        })
        .await;
    let admin = srv.admin().await;
    let owner = srv.verified_person().await;
    let org =
        xqt_tests::cooperation::approved(&srv, &admin, &owner, "ENTERPRISE", "压测精工", (30.2741, 120.1551)).await;
    let invite = srv
        .ok(
            "mutation($o: ID!) { createOrganizationInvite(organizationId: $o, role: MEMBER, maxUses: 1000) { code } }",
            json!({ "o": org }),
            Some(&owner.token),
        )
        .await["createOrganizationInvite"]["code"]
        .clone();
    let input = json!({ "organizationId": org, "settings": { "name": "早高峰" }, "sites": [{ "name": "厂门", "latitude": 30.2741, "longitude": 120.1551 }] });
    let group = srv
        .ok(
            "mutation($i: AttendanceGroupInput!) { createAttendanceGroup(input: $i) { id } }",
            json!({ "i": input }),
            Some(&owner.token),
        )
        .await["createAttendanceGroup"]["id"]
        .as_str()
        .expect("group")
        .to_owned();
    let mut members = Vec::with_capacity(RUSH_MEMBERS);
    for _ in 0..RUSH_MEMBERS {
        let p = srv.person().await;
        srv.ok("mutation($c: String!) { joinOrganization(code: $c) { id } }", json!({ "c": invite }), Some(&p.token))
            .await;
        srv.ok("mutation { grantConsent(input: { purpose: \"location\" }) { id } }", json!({}), Some(&p.token)).await;
        members.push(p);
    }
    let ids: Vec<_> = members.iter().map(|m| m.id).collect();
    srv.ok(
        "mutation($g: ID!, $u: [ID!]!) { addAttendanceMembers(groupId: $g, userIds: $u) { userId } }",
        json!({ "g": group, "u": ids }),
        Some(&owner.token),
    )
    .await;
    let check = "mutation($i: CheckInInput!) { checkIn(input: $i) { result inside } }";
    let run = async |people: Vec<xqt_tests::Person>, clients: usize| {
        let queue = std::sync::Arc::new(tokio::sync::Mutex::new(people));
        let started = Instant::now();
        let workers: Vec<_> = (0..clients)
            .map(|w| {
                let (http, url, queue, group) = (srv.http.clone(), srv.url("/graphql"), queue.clone(), group.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    loop {
                        let Some(p) = queue.lock().await.pop() else { break };
                        // Phones report 5–30 m; points scattered within 60 m of the gate.
                        let jitter = (latencies.len() as f64 * 0.37 + w as f64).sin() * 0.0005;
                        let i = json!({ "groupId": group, "kind": "IN", "latitude": 30.2741 + jitter, "longitude": 120.1551 - jitter, "accuracyM": 5.0 + (w % 6) as f64 * 5.0 });
                        let t = Instant::now();
                        let resp = http.post(&url).bearer_auth(&p.token).json(&json!({ "query": check, "variables": { "i": i } })).send().await;
                        let body: serde_json::Value = resp.expect("request").json().await.expect("body");
                        assert_eq!(body["data"]["checkIn"], json!({ "result": "NORMAL", "inside": true }), "{body}");
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        gather(workers, started).await
    };
    let rest = members.split_off(RUSH_CONCURRENT);
    let (rush, rush_elapsed) = run(members, RUSH_CLIENTS).await;
    let (single, single_elapsed) = run(rest, 1).await;
    let today = xqt_kernel::clock::china_date(srv.ctx.clock.now());
    let stats = xqt_attendance::stats::group_month(
        &srv.ctx,
        &xqt_attendance::groups::find(&srv.ctx, group.parse().expect("id")).await.expect("read").expect("group"),
        today,
    )
    .await
    .expect("stats");
    let recorded =
        xqt_attendance::checkins::group_records(&srv.ctx, group.parse().expect("id"), today).await.expect("records");
    assert_eq!((stats.len(), recorded.len()), (RUSH_MEMBERS, RUSH_MEMBERS), "every check-in recorded once");
    vec![
        row(
            b.name,
            &format!(
                "`checkIn` morning rush: {} members of one group at once from {RUSH_CLIENTS} clients (consent, fence, travel check, record + day in one transaction); all recorded",
                rush.len()
            ),
            "/s",
            &rush,
            rush_elapsed,
        ),
        row(
            b.name,
            &format!("`checkIn`, the same group, {} members one at a time", single.len()),
            "/s",
            &single,
            single_elapsed,
        ),
    ]
}

const FRONTEND_REQUESTS: usize = 4_000;
const FRONTEND_CONCURRENCY: usize = 8;

/// `FRONTEND_REQUESTS` GETs or POSTs from `FRONTEND_CONCURRENCY` clients; each answer checked.
async fn timed(
    srv: &TestServer,
    name: &str,
    what: &str,
    token: &str,
    request: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
    check: fn(u16, &[u8]) -> bool,
) -> String {
    let started = Instant::now();
    let workers: Vec<_> = (0..FRONTEND_CONCURRENCY)
        .map(|_| {
            let (http, token, request) = (srv.http.clone(), token.to_owned(), request.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(FRONTEND_REQUESTS / FRONTEND_CONCURRENCY);
                for _ in 0..FRONTEND_REQUESTS / FRONTEND_CONCURRENCY {
                    let t = Instant::now();
                    let resp = request(&http, &token).send().await.expect("request");
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await.expect("body");
                    assert!(check(status, &body), "{status} {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let (all, elapsed) = gather(workers, started).await;
    let what = format!("{what}, {} requests, {FRONTEND_CONCURRENCY} concurrent", all.len());
    row(name, &what, "req/s", &all, elapsed)
}

/// What the frontend issue added, against what it stands beside: `node(id)` against the typed
/// root field for the same object (the first kind probed, and the last), and thumbnails against
/// the original download (small ones cached per instance, large ones rendered every time).
async fn frontend(b: &Backend) -> Vec<String> {
    let srv = b.start_with(|c| c.log_filter = "warn".into()).await;
    let admin = srv.admin().await;
    let owner = srv.verified_person().await;
    let org = xqt_tests::cooperation::approved(
        &srv,
        &admin,
        &owner,
        "ENTERPRISE",
        "基准测试企业",
        xqt_tests::cooperation::HANGZHOU,
    )
    .await;
    let mut input = xqt_tests::cooperation::internship();
    input["visibility"] = json!("PUBLIC");
    let post = xqt_tests::cooperation::published(&srv, &owner, Some(&org), input).await;
    let policy =
        srv.ok("{ policyDocuments { current { id } } }", json!({}), None).await["policyDocuments"][0]["current"]["id"]
            .as_str()
            .expect("a policy")
            .to_owned();
    let graphql = |query: String| {
        let url = srv.url("/graphql");
        move |http: &reqwest::Client, token: &str| http.post(&url).bearer_auth(token).json(&json!({ "query": query }))
    };
    let no_errors: fn(u16, &[u8]) -> bool =
        |status, body| status == 200 && !body.windows(8).any(|w| w == b"\"errors\"");
    let image: fn(u16, &[u8]) -> bool = |status, body| status == 200 && body.starts_with(&[0xFF, 0xD8]);
    let viewer = srv.person().await.token;
    let mut out = vec![
        timed(
            &srv,
            b.name,
            "`post(id)` (typed root field), signed in",
            &viewer,
            graphql(format!("{{ post(id: \"{post}\") {{ id title }} }}")),
            no_errors,
        )
        .await,
        timed(
            &srv,
            b.name,
            "`node(id)` of the same post (found at the first probe)",
            &viewer,
            graphql(format!("{{ node(id: \"{post}\") {{ id ... on Post {{ title }} }} }}")),
            no_errors,
        )
        .await,
        timed(
            &srv,
            b.name,
            "`policyVersion(id)` (typed root field)",
            &viewer,
            graphql(format!("{{ policyVersion(id: \"{policy}\") {{ id version }} }}")),
            no_errors,
        )
        .await,
        timed(
            &srv,
            b.name,
            "`node(id)` of the same policy version (found at the last of 8 probes)",
            &viewer,
            graphql(format!("{{ node(id: \"{policy}\") {{ id ... on PolicyVersion {{ version }} }} }}")),
            no_errors,
        )
        .await,
    ];
    let photo = {
        let img = image::RgbImage::from_fn(1280, 960, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85).encode_image(&img).expect("a JPEG");
        bytes.into_inner()
    };
    let uploaded = srv.upload(&owner, "?purpose=avatar", photo).await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.body);
    let url = srv.url(uploaded.body["url"].as_str().expect("a url"));
    for (what, suffix) in [
        ("avatar download, 1280×960 JPEG original", ""),
        ("its thumbnail `?w=128` (kept in memory after the first)", "?w=128"),
        ("its thumbnail `?w=512` (rendered every time)", "?w=512"),
    ] {
        let target = format!("{url}{suffix}");
        let get = move |http: &reqwest::Client, token: &str| http.get(&target).bearer_auth(token);
        out.push(timed(&srv, b.name, what, &owner.token, get, image).await);
    }
    out
}

/// `XQT_BENCH_SKIP_COOPERATION=1` leaves out the 100k-post rows (they take a minute to seed).
fn only_cooperation_skipped() -> bool {
    std::env::var_os("XQT_BENCH_SKIP_COOPERATION").is_some()
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("fanout") => return scale::fanout().await,
        Some("writes") => return scale::writes().await,
        Some("queries") => return scale::queries().await,
        Some("sizes") => return scale::sizes().await,
        Some("queue") => return queue::drain().await,
        _ => {}
    }
    let only_external = std::env::args().nth(1).as_deref() == Some("external");
    let only_cooperation = std::env::args().nth(1).as_deref() == Some("cooperation");
    let only_attendance = std::env::args().nth(1).as_deref() == Some("attendance");
    let only_frontend = std::env::args().nth(1).as_deref() == Some("frontend");
    println!("| backend | what | throughput | p50 | p99 |");
    println!("|---|---|---|---|---|");
    on_each_backend(async |b| {
        if only_external && !b.is_external() {
            return;
        }
        if only_frontend {
            for line in frontend(b).await {
                println!("{line}");
            }
            return;
        }
        if only_attendance {
            for line in attendance_rush(b).await {
                println!("{line}");
            }
            return;
        }
        if only_cooperation {
            for line in cooperation(b).await {
                println!("{line}");
            }
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
        println!("{}", chat_sends(b, true).await);
        println!("{}", chat_sends(b, false).await);
        println!("{}", chat_fanout(b).await);
        println!("{}", chat_list(b).await);
        if !only_cooperation_skipped() {
            for line in cooperation(b).await {
                println!("{line}");
            }
        }
        for line in frontend(b).await {
            println!("{line}");
        }
        // Last: its 400 sign-ins fill the shared (Redis) sign-in counter for this minute.
        for line in attendance_rush(b).await {
            println!("{line}");
        }
    })
    .await;
}
