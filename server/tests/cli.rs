//! The operator CLI as operators run it: `xqt audit verify` against a database someone edited
//! behind the API's back. Runs on the embedded default and, with `XQT_TEST_DATABASE_URL`, on
//! a fresh PostgreSQL database.

use std::process::{Command, Output};
use std::sync::Arc;

use sea_orm::ConnectionTrait;
use xqt_kernel::clock::SystemClock;
use xqt_kernel::config::Config;
use xqt_privacy::consent::{Action, Entry, Provenance};

fn verify(config: &Config) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xqt"));
    cmd.args(["audit", "verify"]).env("XQT_DATA_DIR", &config.data_dir).env("XQT_LOG_FILTER", "warn");
    if let Some(url) = &config.database_url {
        cmd.env("XQT_DATABASE_URL", url);
    }
    cmd.output().expect("xqt runs")
}

async fn scenario(config: Config) {
    let ctx = xqt::prepare(config.clone(), Arc::new(SystemClock)).await.expect("prepare");
    let user = uuid::Uuid::now_v7();
    for purpose in ["analytics", "public_profile", "analytics"] {
        let entry = Entry { user, purpose: Some(purpose.into()), ..Entry::default() };
        xqt_privacy::consent::append(&ctx, Action::Grant, entry, &Provenance::default()).await.expect("append");
    }
    let out = verify(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("consent  ok      3 records"), "{stdout}");

    ctx.db
        .execute_unprepared("UPDATE privacy_consent_records SET purpose = 'partner_sharing' WHERE seq = 2")
        .await
        .unwrap();
    let out = verify(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("consent  BROKEN  at record 2"), "{stdout}");
    assert!(stdout.contains("altered"), "{stdout}");
}

fn base_config(dir: &tempfile::TempDir) -> Config {
    Config { data_dir: dir.path().to_path_buf(), ..Config::default() }
}

#[tokio::test]
async fn audit_verify_names_the_record_altered_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    scenario(base_config(&dir)).await;

    let Ok(admin_url) = std::env::var("XQT_TEST_DATABASE_URL") else { return };
    let name = format!("xqt_cli_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(admin_url.as_str()).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    scenario(Config { database_url: Some(url), ..base_config(&dir) }).await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
}

#[tokio::test]
async fn cease_operation_needs_its_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let run = |confirm: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xqt"));
        cmd.args(["cease-operation", "--notice", "停止运营通知"])
            .env("XQT_DATA_DIR", dir.path())
            .env("XQT_LOG_FILTER", "warn");
        if let Some(c) = confirm {
            cmd.args(["--confirm", c]);
        }
        cmd.output().expect("xqt runs")
    };
    let refused = run(None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--confirm 停止运营"));
    assert!(!dir.path().join("xqt.db").exists(), "refused before touching anything");
    let done = run(Some("停止运营"));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).starts_with("operation ceased: 0 users told"));
    let again = run(Some("停止运营"));
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("operation ceased (already)"));
}

/// The commands modules contribute are the CLI's own: partners and their tokens end to end.
#[test]
fn module_commands_issue_list_and_refuse_partner_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xqt"))
            .args(args)
            .env("XQT_DATA_DIR", dir.path())
            .env("XQT_LOG_FILTER", "warn")
            .output()
            .expect("xqt runs")
    };
    let out = run(&["partner", "create", "--name", "电子签约服务商"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&[
        "token",
        "create",
        "--partner",
        "电子签约服务商",
        "--name",
        "签约",
        "--scope",
        "accounts:organizations.read",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secret = stdout.lines().nth(1).expect("the secret, on its own line");
    assert!(secret.len() > 20, "{stdout}");
    let listed = String::from_utf8_lossy(&run(&["token", "list"]).stdout).to_string();
    assert!(listed.contains("active") && listed.contains("签约") && !listed.contains(secret), "{listed}");
    let unknown =
        run(&["token", "create", "--partner", "nobody", "--name", "x", "--scope", "accounts:organizations.read"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no partner named or with id nobody"));
    let bad_scope =
        run(&["token", "create", "--partner", "电子签约服务商", "--name", "y", "--scope", "chat:everything"]);
    assert_eq!(bad_scope.status.code(), Some(1), "{}", String::from_utf8_lossy(&bad_scope.stdout));
    let reindexed = run(&["cooperation", "reindex"]);
    assert!(reindexed.status.success(), "{}", String::from_utf8_lossy(&reindexed.stderr));
    assert!(String::from_utf8_lossy(&reindexed.stdout).starts_with("reindexed 0 posts"));
    let settled = run(&["attendance", "settle", "--days", "30"]);
    assert!(settled.status.success(), "{}", String::from_utf8_lossy(&settled.stderr));
    assert!(String::from_utf8_lossy(&settled.stdout).starts_with("settled 0 days across 0 groups"));
    let too_far = run(&["attendance", "settle", "--days", "0"]);
    assert!(!too_far.status.success(), "--days is 1 to 366");
}

/// A developer signs in without reading the database: `xqt sms last` prints the newest code.
#[tokio::test]
async fn sms_last_prints_the_newest_code_outside_production() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = xqt::prepare(base_config(&dir), Arc::new(SystemClock)).await.expect("prepare");
    let phone = xqt_accounts::phone::Phone::parse("13912345678").unwrap();
    let run = |env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_xqt"))
            .args(["sms", "last", "--phone", "13912345678"])
            .env("XQT_DATA_DIR", dir.path())
            .env("XQT_LOG_FILTER", "warn")
            .envs(env.iter().copied())
            .output()
            .expect("xqt runs")
    };
    let none = run(&[]);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no message to 139****5678 yet"), "{none:?}");

    xqt_accounts::codes::request(&ctx, &phone, xqt_accounts::codes::Asker::Account).await.expect("a code is sent");
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = stdout.lines().find_map(|l| l.strip_prefix("code: ")).expect(&stdout).to_owned();
    xqt_accounts::codes::verify(&ctx, &phone, &code).await.expect("the printed code is the one that signs in");

    let key = "k".repeat(40);
    let production = run(&[
        ("XQT_ENV", "production"),
        ("XQT_TOKEN_SECRET", &key),
        ("XQT_DATA_KEY", &key),
        ("XQT_TLS__BEHIND_PROXY", "true"),
        ("XQT_TLS__TRUSTED_PROXIES", "[10.0.0.0/8]"),
        ("XQT_FILES__SINGLE_INSTANCE", "true"),
    ]);
    assert_eq!(production.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&production.stdout).contains("code:"), "{production:?}");
}

/// `xqt seed-demo` as a newcomer runs it: accounts printed, a second run changes nothing, never
/// in production. (What the demo holds is tested in tests/tests/demo.rs on both backends.)
#[test]
fn seed_demo_prints_accounts_once_seeded_and_refuses_production() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_xqt"))
            .arg("seed-demo")
            .env("XQT_DATA_DIR", dir.path())
            .env("XQT_LOG_FILTER", "warn")
            .envs(env.iter().copied())
            .output()
            .expect("xqt runs")
    };
    let first = run(&[]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(stdout.starts_with("seeded the demo"), "{stdout}");
    assert!(stdout.contains("13800000005  刘洋"), "{stdout}");
    let again = run(&[]);
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("the demo is already in this database"));
    let key = "k".repeat(40);
    let production = run(&[
        ("XQT_ENV", "production"),
        ("XQT_TOKEN_SECRET", &key),
        ("XQT_DATA_KEY", &key),
        ("XQT_TLS__BEHIND_PROXY", "true"),
        ("XQT_TLS__TRUSTED_PROXIES", "[10.0.0.0/8]"),
        ("XQT_FILES__SINGLE_INSTANCE", "true"),
    ]);
    assert!(!production.status.success());
    assert!(String::from_utf8_lossy(&production.stderr).contains("does not run in production"), "{production:?}");
}

/// The README's quick start: `xqt serve --demo` seeds, prints the accounts, and serves them.
#[test]
fn serve_with_demo_seeds_prints_the_accounts_and_serves() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_xqt"))
        .args(["serve", "--demo"])
        .env("XQT_DATA_DIR", dir.path())
        .env("XQT_LISTEN", format!("127.0.0.1:{port}"))
        .env("XQT_LOG_FILTER", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("xqt runs");
    let lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let printed: Vec<String> = lines.map_while(Result::ok).take_while(|l| !l.contains("13800000007")).collect();
    // Then it serves: /healthz answers within a few seconds.
    let mut health = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            s.read_to_string(&mut health).unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(printed.iter().any(|l| l.starts_with("seeded the demo")), "{printed:?}");
    assert!(printed.iter().any(|l| l.contains("13800000005  刘洋")), "{printed:?}");
    assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok"), "it goes on to serve: {health}");
}

/// Production will not start on anything that is not fit for it, and each refusal names the key
/// to set; once every one is set, it starts (`xqt migrate` runs the same start-up checks).
#[test]
fn production_refuses_each_stand_in_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_xqt"))
            .arg("migrate")
            .env("XQT_DATA_DIR", dir.path())
            .env("XQT_LOG_FILTER", "warn")
            .env("XQT_ENV", "production")
            .envs(env.iter().copied())
            .output()
            .expect("xqt runs")
    };
    let mut env = vec![];
    let steps: [(&str, &[(&str, &str)]); 8] = [
        ("XQT_TOKEN_SECRET", &[("XQT_TOKEN_SECRET", "0123456789abcdef0123456789abcdef")]),
        ("XQT_DATA_KEY", &[("XQT_DATA_KEY", "fedcba9876543210fedcba9876543210")]),
        ("XQT_TLS__CERT_FILE", &[("XQT_TLS__BEHIND_PROXY", "true"), ("XQT_TLS__TRUSTED_PROXIES", "[10.0.0.0/8]")]),
        ("XQT_FILES__SINGLE_INSTANCE", &[("XQT_FILES__SINGLE_INSTANCE", "true")]),
        (
            "XQT_NOTIFICATIONS__PUSH__PROVIDER",
            &[
                ("XQT_NOTIFICATIONS__PUSH__PROVIDER", "jpush"),
                ("XQT_NOTIFICATIONS__PUSH__JPUSH_APP_KEY", "7d431e42dfa6a6d693ac2d04"),
                ("XQT_NOTIFICATIONS__PUSH__JPUSH_MASTER_SECRET", "5e987ac6d2e04d95a9d8f0d1"),
            ],
        ),
        (
            "XQT_ACCOUNTS__SMS__PROVIDER",
            &[
                ("XQT_ACCOUNTS__SMS__PROVIDER", "aliyun"),
                ("XQT_ACCOUNTS__SMS__ALIYUN_ACCESS_KEY_ID", "LTAI5tExample"),
                ("XQT_ACCOUNTS__SMS__ALIYUN_ACCESS_KEY_SECRET", "example-secret"),
                ("XQT_ACCOUNTS__SMS__SIGN_NAME", "校企通"),
                ("XQT_ACCOUNTS__SMS__TEMPLATE_CODE", "SMS_465930021"),
            ],
        ),
        (
            "cooperation.signature_provider",
            &[
                ("XQT_COOPERATION__SIGNATURE_PROVIDER", "esign"),
                ("XQT_COOPERATION__ESIGN_APP_ID", "7438807359"),
                ("XQT_COOPERATION__ESIGN_APP_SECRET", "a5f2c8e1d9b74f60a3e2c1b0d9f8e7a6"),
                ("XQT_COOPERATION__ESIGN_TEMPLATE_ID", "tpl-1"),
                ("XQT_COOPERATION__ESIGN_NOTIFY_URL", "https://api.example.cn/webhooks/esign"),
            ],
        ),
        ("", &[]),
    ];
    let mut refusals = 0;
    for (key, fix) in steps {
        let out = run(&env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if key.is_empty() {
            assert!(out.status.success(), "with everything set, production starts: {stderr}");
            break;
        }
        assert!(!out.status.success(), "production started without {key}");
        assert!(stderr.contains(key), "the refusal names {key}: {stderr}");
        refusals += 1;
        env.extend_from_slice(fix);
    }
    assert_eq!(refusals, 7);
}
