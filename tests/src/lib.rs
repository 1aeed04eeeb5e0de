//! The end-to-end harness: real servers on free ports, spoken to over HTTP and
//! graphql-transport-ws. Every test runs on the embedded default (SQLite file, in-process cache
//! and bus) and, when `XQT_TEST_DATABASE_URL` / `XQT_TEST_REDIS_URL` are set, again on
//! PostgreSQL / Redis — each run in its own database and key prefix, removed afterwards.

pub mod aliyun;
pub mod cloudauth;
pub mod cooperation;
pub mod esign;
pub mod fault;
pub mod jpush;
pub mod receiver;
pub mod s3;
pub mod tls;
mod ws;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use xqt::RunningServer;
use xqt_kernel::AppContext;
use xqt_kernel::auth::Role;
use xqt_kernel::clock::ManualClock;
use xqt_kernel::config::Config;

pub use ws::{WsClient, WsEvent};

/// One isolated environment: a data dir, and when configured a fresh PostgreSQL database and a
/// Redis key prefix. Servers started from the same environment share its storage.
pub struct Backend {
    pub name: &'static str,
    data_dir: tempfile::TempDir,
    database: Option<(String, String)>,
    redis_url: Option<String>,
    pub redis_prefix: String,
    pub clock: ManualClock,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Runs `test` on the embedded default, then on PostgreSQL + Redis when they are configured.
pub async fn on_each_backend(test: impl AsyncFn(&Backend)) {
    for external in [false, true] {
        let Some(backend) = Backend::create(external).await else { continue };
        eprintln!("-- backend: {}", backend.name);
        test(&backend).await;
    }
}

/// Runs `test` on PostgreSQL + Redis only: for what needs two instances sharing live delivery.
/// Such a test is `#[ignore]`d (`.ci/run`'s PostgreSQL + Redis stage runs it with
/// `--run-ignored all`); run without the variables, it fails instead of passing vacuously.
pub async fn on_shared_backend(test: impl AsyncFn(&Backend)) {
    let backend = Backend::create(true).await.expect(NEEDS_SHARED);
    assert!(backend.has_redis(), "{NEEDS_SHARED}");
    eprintln!("-- backend: {}", backend.name);
    test(&backend).await;
}

/// What an ignored test that needs PostgreSQL + Redis says when run without them.
pub const NEEDS_SHARED: &str = "this test needs XQT_TEST_DATABASE_URL and XQT_TEST_REDIS_URL \
     (see README: the PostgreSQL + Redis run uses --run-ignored all)";

/// True when this run also covers PostgreSQL + Redis.
pub fn external_configured() -> bool {
    std::env::var_os("XQT_TEST_DATABASE_URL").is_some() || std::env::var_os("XQT_TEST_REDIS_URL").is_some()
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

impl Backend {
    async fn create(external: bool) -> Option<Self> {
        let tag = Uuid::new_v4().simple().to_string();
        let clock = ManualClock::new(Utc::now());
        let data_dir = tempfile::tempdir().expect("temp dir");
        if !external {
            return Some(Self {
                name: "embedded",
                data_dir,
                database: None,
                redis_url: None,
                redis_prefix: format!("t{tag}:"),
                clock,
            });
        }
        if !external_configured() {
            return None;
        }
        let database = match std::env::var("XQT_TEST_DATABASE_URL") {
            Ok(admin) => {
                let name = format!("xqt_t_{tag}");
                let conn = sea_orm::Database::connect(admin.as_str()).await.expect("connect XQT_TEST_DATABASE_URL");
                sea_orm::ConnectionTrait::execute_unprepared(&conn, &format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                Some((admin, name))
            }
            Err(_) => None,
        };
        Some(Self {
            name: "postgres+redis",
            data_dir,
            database,
            redis_url: std::env::var("XQT_TEST_REDIS_URL").ok(),
            redis_prefix: format!("xqt_t_{tag}:"),
            clock,
        })
    }

    pub fn is_external(&self) -> bool {
        self.database.is_some() || self.redis_url.is_some()
    }

    pub fn has_redis(&self) -> bool {
        self.redis_url.is_some()
    }

    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url.as_deref()
    }

    /// The PostgreSQL server's admin URL and this backend's database on it.
    pub fn database(&self) -> Option<(&str, &str)> {
        self.database.as_ref().map(|(admin, name)| (admin.as_str(), name.as_str()))
    }

    /// The configuration a test server gets: this environment's storage, a free port.
    pub fn config(&self) -> Config {
        Config {
            env: xqt_kernel::config::Environment::Test,
            listen: "127.0.0.1:0".into(),
            data_dir: self.data_dir.path().to_path_buf(),
            database_url: self.database.as_ref().map(|(admin, name)| with_database(admin, name)),
            database_max_connections: 5,
            redis_url: self.redis_url.clone(),
            redis_prefix: self.redis_prefix.clone(),
            token_secret: Some("test-secret-test-secret-test-secret!".into()),
            // Tests drive the job runner themselves (`xqt_kernel::jobs::run_once`), in step.
            jobs: xqt_kernel::config::JobsConfig { enabled: false, ..Default::default() },
            ..Config::default()
        }
    }

    /// A context on this environment's storage, migrated, without a server.
    pub async fn context(&self) -> AppContext {
        self.context_with(self.config()).await
    }

    pub async fn context_with(&self, config: Config) -> AppContext {
        xqt::prepare(config, Arc::new(self.clock.clone())).await.expect("prepare")
    }

    pub async fn start(&self) -> TestServer {
        self.start_with(|_| {}).await
    }

    pub async fn start_with(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = self.config();
        tweak(&mut config);
        let ctx = self.context_with(config).await;
        self.start_on(ctx).await
    }

    /// A server for another assembly of modules (`xqt_schema::assemble!`): its `modules()` and
    /// its `build`.
    pub async fn start_assembled(
        &self,
        config: Config,
        modules: Vec<Arc<dyn xqt_kernel::Module>>,
        build: impl FnOnce(AppContext) -> Arc<dyn xqt_schema::Api>,
    ) -> TestServer {
        let ctx = xqt::prepare_with(config, Arc::new(self.clock.clone()), modules).await.expect("prepare");
        let server = xqt::start_with(ctx.clone(), build(ctx.clone())).await.expect("server starts");
        self.serving(ctx, server)
    }

    /// A server on a context the test prepared (e.g. with a query counter on its database).
    pub async fn start_on(&self, ctx: AppContext) -> TestServer {
        let server = xqt::start(ctx.clone()).await.expect("server starts");
        self.serving(ctx, server)
    }

    fn serving(&self, ctx: AppContext, server: xqt::RunningServer) -> TestServer {
        TestServer {
            base: format!("http://{}", server.addr),
            ws_base: format!("ws://{}", server.addr),
            addr: server.addr,
            ctx,
            server,
            http: http_client(reqwest::Client::builder()),
            tls: None,
        }
    }

    /// A server that ends TLS itself with a `localhost` certificate from `pki` (written to
    /// `cert.pem` and `key.pem` in this backend's data folder, where a test can renew it); its
    /// `base` is `https://localhost:…`, its `ws_base` `wss://…`, and its clients trust `pki`.
    pub async fn start_tls(&self, pki: &tls::TestPki, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let issued = pki.issue();
        let (cert, key) = self.tls_files();
        std::fs::write(&cert, &issued.cert_pem).expect("certificate written");
        std::fs::write(&key, &issued.key_pem).expect("key written");
        let srv = self
            .start_with(|c| {
                c.tls.cert_file = Some(cert);
                c.tls.key_file = Some(key);
                tweak(c);
            })
            .await;
        let ca = reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).expect("the CA");
        let http = reqwest::Client::builder().add_root_certificate(ca).resolve("localhost", srv.addr);
        TestServer {
            base: format!("https://localhost:{}", srv.addr.port()),
            ws_base: format!("wss://localhost:{}", srv.addr.port()),
            http: http_client(http),
            tls: Some(pki.client()),
            ..srv
        }
    }

    /// Where `start_tls` keeps the server's certificate and key.
    pub fn tls_files(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        (self.data_dir.path().join("cert.pem"), self.data_dir.path().join("key.pem"))
    }
}

/// What a current GraphQL client sends; `*/*` or no Accept at all is a legacy client, answered
/// as application/json.
fn http_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder
        .default_headers(
            [(reqwest::header::ACCEPT, reqwest::header::HeaderValue::from_static(xqt::http::GRAPHQL_RESPONSE_JSON))]
                .into_iter()
                .collect(),
        )
        .build()
        .expect("an HTTP client")
}

impl Drop for Backend {
    fn drop(&mut self) {
        let database = self.database.take();
        let redis = self.redis_url.take().map(|url| (url, self.redis_prefix.clone()));
        if database.is_none() && redis.is_none() {
            return;
        }
        // Runs on its own thread and runtime so it also cleans up after a panicking test.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                if let Some((admin, name)) = database
                    && let Ok(conn) = sea_orm::Database::connect(admin.as_str()).await
                {
                    let _ = sea_orm::ConnectionTrait::execute_unprepared(
                        &conn,
                        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    )
                    .await;
                    conn.close().await.ok();
                }
                if let Some((url, prefix)) = redis
                    && let Ok(client) = redis::Client::open(url)
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> =
                        redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await.unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A signed-in person in a test.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub session: Uuid,
    pub role: Role,
    pub token: String,
    pub refresh_token: String,
    pub phone: String,
}

/// Distinct per verified person in this process: one identity cannot verify two accounts.
static NEXT_ID_SEQ: AtomicU32 = AtomicU32::new(0);

/// A valid 18-character resident ID number (GB 11643) for a sequence number (distinct below 7000).
pub fn id_number(seq: u32) -> String {
    xqt_accounts::verification::with_id_check(&format!("110105199003{:02}{:03}", 1 + seq % 28, seq % 1000))
}

/// A fresh mainland-format number (139 + 8 random digits).
pub fn random_phone() -> String {
    format!("139{:08}", rand_digits())
}

fn rand_digits() -> u32 {
    (Uuid::new_v4().as_u128() % 100_000_000) as u32
}

pub struct TestServer {
    pub base: String,
    pub ws_base: String,
    pub ctx: AppContext,
    pub http: reqwest::Client,
    /// The TLS client config when the server speaks HTTPS and WSS itself (`start_tls`).
    pub tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    pub addr: std::net::SocketAddr,
    server: RunningServer,
}

/// An HTTP answer: status, content type and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    /// The `extensions.code` of the first error.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
}

impl TestServer {
    /// The running server's state (context, schema, metrics), for serving more routes beside it.
    pub fn state(&self) -> &xqt::ServerState {
        &self.server.state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new person, signed up the way the app does it: a code by SMS, then `signInWithCode`.
    pub async fn person(&self) -> Person {
        self.sign_in(&random_phone()).await
    }

    /// A platform admin (made as `xqt admin create` does), signed in.
    pub async fn admin(&self) -> Person {
        let phone = random_phone();
        xqt_accounts::users::create_admin(&self.ctx, &phone).await.expect("create admin");
        self.sign_in(&phone).await
    }

    /// A person whose real name a platform reviewer has approved.
    pub async fn verified_person(&self) -> Person {
        let person = self.person().await;
        let row = xqt_accounts::verification::submit(
            &self.ctx,
            person.id,
            "测试人",
            &id_number(NEXT_ID_SEQ.fetch_add(1, Ordering::Relaxed)),
        )
        .await
        .expect("submit");
        let reviewer = Uuid::now_v7();
        for action in [xqt_accounts::review::ReviewAction::Start, xqt_accounts::review::ReviewAction::Approve] {
            xqt_accounts::verification::review(&self.ctx, reviewer, row.id, action, None).await.expect("review");
        }
        person
    }

    /// The code the built-in SMS provider last sent to `phone`.
    pub async fn sms_code(&self, phone: &str) -> String {
        let phone = xqt_accounts::phone::Phone::parse(phone).expect("phone");
        let text = xqt_accounts::sms::latest_to(&self.ctx, &phone).await.expect("outbox").expect("an sms was sent");
        text.chars().filter(char::is_ascii_digit).take(6).collect()
    }

    /// Requests a code for `phone` and signs in with it (creating the account if needed).
    pub async fn sign_in(&self, phone: &str) -> Person {
        let a = self.gql("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": phone }), None).await;
        assert_eq!(a.body["data"]["requestSignInCode"], true, "{:?}", a.body);
        let code = self.sms_code(phone).await;
        let a = self
            .gql(
                "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken refreshToken me { id } } }",
                json!({ "i": { "phone": phone, "code": code, "device": { "deviceId": "test-device", "model": "TestPhone", "os": "TestOS 1" } } }),
                None,
            )
            .await;
        let out = &a.body["data"]["signInWithCode"];
        let token = out["accessToken"].as_str().unwrap_or_else(|| panic!("signed in: {:?}", a.body)).to_owned();
        let auth = self.ctx.tokens.verify(&token, self.ctx.clock.now()).expect("token verifies");
        Person {
            id: Uuid::parse_str(out["me"]["id"].as_str().unwrap()).unwrap(),
            session: auth.viewer.session_id().expect("a session"),
            role: if auth.viewer.is_admin() { Role::Admin } else { Role::User },
            token,
            refresh_token: out["refreshToken"].as_str().unwrap().to_owned(),
            phone: phone.to_owned(),
        }
    }

    /// Another access token for the person's session, valid for `ttl` from now.
    pub fn token_valid_for(&self, person: &Person, ttl: Duration) -> String {
        self.ctx.tokens.issue(person.id, person.session, person.role, self.ctx.clock.now(), ttl)
    }

    pub async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = resp.text().await.expect("body");
        Answer { status, content_type, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// `POST /files{query}` with `body`, as `who`.
    pub async fn upload(&self, who: &Person, query: &str, body: Vec<u8>) -> Answer {
        let req = self.http.post(self.url(&format!("/files{query}"))).bearer_auth(&who.token).body(body);
        Self::answer(req.send().await.expect("upload sent")).await
    }

    /// `GET url` (a file's address), as `who`.
    pub async fn download(&self, who: &Person, url: &str) -> Answer {
        Self::answer(self.http.get(self.url(url)).bearer_auth(&who.token).send().await.expect("download sent")).await
    }

    /// POSTs a JSON body to `/graphql`.
    pub async fn post(&self, body: &Value, token: Option<&str>) -> Answer {
        let mut req = self.http.post(self.url("/graphql")).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Answer {
        self.post(&json!({ "query": query, "variables": variables }), token).await
    }

    /// A step that must succeed (setup above all): any GraphQL error fails the test, so no later
    /// assertion can pass because this silently did nothing. Returns `data`.
    pub async fn ok(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let a = self.gql(query, variables, token).await;
        assert!(
            a.status == 200 && a.body["errors"].is_null() && a.body["data"].is_object(),
            "a step that must succeed failed: {query}\n→ {} {}",
            a.status,
            a.body
        );
        a.body["data"].clone()
    }

    /// A WebSocket speaking graphql-transport-ws, not yet initialised.
    pub async fn ws(&self) -> WsClient {
        let url = format!("{}/graphql/ws", self.ws_base);
        WsClient::connect_with(&url, Some(xqt::ws::PROTOCOL), self.tls.clone()).await.expect("ws connects")
    }

    /// A WebSocket initialised with `token` and acknowledged.
    pub async fn ws_as(&self, token: &str) -> WsClient {
        self.ws_init(Some(token)).await.unwrap_or_else(|e| panic!("expected connection_ack, got {e:?}"))
    }

    /// A WebSocket initialised with `token` (none: anonymous): acknowledged, or how the server
    /// ended the handshake instead.
    pub async fn ws_init(&self, token: Option<&str>) -> Result<WsClient, WsEvent> {
        let mut ws = self.ws().await;
        let payload = token.map_or(json!({}), |t| json!({ "authorization": format!("Bearer {t}") }));
        ws.send(json!({ "type": "connection_init", "payload": payload })).await;
        match ws.next().await {
            WsEvent::Message(m) if m == json!({ "type": "connection_ack" }) => Ok(ws),
            other => Err(other),
        }
    }
}

/// A WebSocket following `user`'s notifications, returned only once the subscription is live.
/// It resumes after a stored notification and waits for the next stored one: the server
/// subscribes to the bus before it reads the backlog, so that arrival proves it is listening.
pub async fn live_inbox(srv: &TestServer, person: &Person, id: &str) -> WsClient {
    let user = person.id;
    let admin = srv.admin().await.token;
    let send = "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id } }";
    let mut ids = Vec::new();
    for title in ["warm-up 1", "warm-up 2"] {
        let a = srv.gql(send, json!({ "i": { "userId": user, "title": title } }), Some(&admin)).await;
        ids.push(a.body["data"]["sendNotification"]["id"].clone());
    }
    let mut ws = srv.ws_as(&person.token).await;
    let query = "subscription($after: ID) { notificationAdded(after: $after) { id title } }";
    ws.subscribe(id, query, json!({ "after": ids[0] })).await;
    assert_eq!(ws.next_payload(id).await["data"]["notificationAdded"]["id"], ids[1]);
    ws
}

/// Queues what is scheduled now and runs every due job to the end, as the server's runner
/// would; returns what ran.
pub async fn run_jobs(ctx: &AppContext) -> Vec<xqt_kernel::jobs::Ran> {
    xqt_kernel::jobs::schedule_due(ctx).await.expect("schedule");
    let mut ran = Vec::new();
    while let Some(r) = xqt_kernel::jobs::run_once(ctx, "test-runner").await.expect("run") {
        ran.push(r);
    }
    ran
}

/// A small plain JPEG, for uploads.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([30, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).expect("a JPEG");
    out.into_inner()
}

/// A sample file from `tests/fixtures/metadata`, made by the tools phones and offices use (see
/// its `make.sh`): each carries a position, a device or an author.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/metadata").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every row of every table as JSON, searched for each needle; returns `(table, needle)` hits.
pub async fn search_everywhere(srv: &TestServer, needles: &[&str]) -> Vec<(String, String)> {
    use sea_orm::{DbBackend, FromQueryResult, JsonValue, Statement};
    let backend = srv.ctx.db.get_database_backend();
    let list = match backend {
        DbBackend::Postgres => "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    };
    let tables = JsonValue::find_by_statement(Statement::from_string(backend, list)).all(&srv.ctx.db).await.unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    let mut hits = Vec::new();
    for t in tables {
        let name = t["name"].as_str().unwrap().to_owned();
        let rows = JsonValue::find_by_statement(Statement::from_string(backend, format!("SELECT * FROM \"{name}\"")))
            .all(&srv.ctx.db)
            .await
            .unwrap();
        for row in rows {
            let text = row.to_string();
            // Byte columns come back as arrays of numbers; make them comparable as hex too.
            let bytes: String = row
                .as_object()
                .into_iter()
                .flat_map(|o| o.values())
                .filter_map(|v| v.as_array())
                .filter(|a| a.iter().all(|x| x.is_u64()))
                .map(|a| a.iter().map(|x| format!("{:02x}", x.as_u64().unwrap())).collect::<String>())
                .collect();
            for n in needles {
                if text.contains(n) || bytes.contains(n) {
                    hits.push((name.clone(), n.to_string()));
                }
            }
        }
    }
    hits
}

/// Configures every real provider client against `base_url` (a fake, or nothing listening):
/// e签宝, Aliyun SMS and JPush — what production needs to start at all.
pub fn real_providers(config: &mut Config, base_url: &str) {
    esign::configure(config, base_url);
    aliyun::configure(config, base_url);
    jpush::configure(config, base_url);
}

/// A valid unified social credit code (GB 32100-2015) built from a number.
pub fn credit_code(seed: u64) -> String {
    xqt_accounts::organizations::with_credit_check(&format!("91110000{:09}", seed % 1_000_000_000))
}
