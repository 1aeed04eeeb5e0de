//! Real provider clients against local servers that check what the real provider checks:
//! Aliyun SMS (signature, AccessKey, sign name, template, its refusals), the delivery job
//! (queued, woken, retried, given up), the caps against SMS pumping, and production refusing
//! to start on the built-in stand-ins.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use xqt_kernel::jobs::JobState;
use xqt_tests::aliyun::{FakeAliyun, Mode};
use xqt_tests::jpush::FakeJpush;
use xqt_tests::s3::S3Server;
use xqt_tests::{TestServer, on_each_backend, random_phone, run_jobs};

const REQUEST: &str = "mutation($p: String!) { requestSignInCode(phone: $p) }";
const SIGN_IN: &str = "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { me { id } } }";

async fn request_code(srv: &TestServer, phone: &str) {
    let a = srv.gql(REQUEST, json!({ "p": phone }), None).await;
    assert_eq!(a.body["data"]["requestSignInCode"], true, "{:?}", a.body);
}

async fn sign_in(srv: &TestServer, phone: &str, code: &str) -> xqt_tests::Answer {
    let input = json!({ "phone": phone, "code": code, "device": { "deviceId": "d1", "model": "Mate 60", "os": "HarmonyOS 4" } });
    srv.gql(SIGN_IN, json!({ "i": input }), None).await
}

async fn metric(srv: &TestServer, line_start: &str) -> i64 {
    let text = srv.http.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(line_start)).map_or(0, |v| v.trim().parse().unwrap_or(0))
}

#[tokio::test]
async fn sms_codes_are_delivered_by_aliyun_and_sign_a_person_in() {
    on_each_backend(async |b| {
        let aliyun = FakeAliyun::start().await;
        // The runner polls once a minute here: the code arrives at once only because queuing it
        // wakes the runner.
        let srv = b
            .start_with(|c| {
                aliyun.configure(c);
                c.jobs.enabled = true;
                c.jobs.poll_interval_ms = 60_000;
            })
            .await;
        let delivered = r#"xqt_sms_total{provider="aliyun",result="delivered"} "#;
        let before = metric(&srv, delivered).await;
        let phone = random_phone();
        request_code(&srv, &phone).await;
        let mut code = None;
        for _ in 0..150 {
            code = aliyun.code_for(&phone);
            if code.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let code = code.unwrap_or_else(|| panic!("Aliyun received no code; it refused: {:?}", aliyun.refusals()));
        assert!(aliyun.refusals().is_empty(), "{:?}", aliyun.refusals());
        let a = sign_in(&srv, &phone, &code).await;
        assert!(a.body["data"]["signInWithCode"]["me"]["id"].is_string(), "the delivered code signs in: {:?}", a.body);
        let parsed = xqt_accounts::phone::Phone::parse(&phone).unwrap();
        assert_eq!(
            xqt_accounts::sms::latest_to(&srv.ctx, &parsed).await.unwrap(),
            None,
            "nothing went to the built-in outbox"
        );
        assert_eq!(metric(&srv, delivered).await, before + 1, "the delivery is counted");
        // The job holds phone and code sealed, not readable in the table.
        let done = xqt_kernel::jobs::in_state(&srv.ctx, JobState::Done).await.unwrap();
        let job = done.iter().find(|j| j.kind == "accounts.sms").expect("the delivery job");
        assert!(!job.payload.contains(&phone[3..]) && !job.payload.contains(&code), "{}", job.payload);
    })
    .await;
}

#[tokio::test]
async fn aliyun_faults_are_retried_and_its_refusals_given_up() {
    on_each_backend(async |b| {
        let aliyun = FakeAliyun::start().await;
        let srv = b.start_with(|c| aliyun.configure(c)).await;

        // A passing fault (HTTP 503) is retried after the backoff, while the code is valid.
        aliyun.set_mode(Mode::Unavailable(1));
        let phone = random_phone();
        request_code(&srv, &phone).await;
        assert!(aliyun.code_for(&phone).is_none(), "nothing is sent while the request is served");
        let ran = run_jobs(&srv.ctx).await;
        assert_eq!(ran.iter().filter(|r| r.kind == "accounts.sms" && !r.ok).count(), 1, "{ran:?}");
        assert!(aliyun.refusals().iter().any(|r| r.starts_with("ServiceUnavailable")), "{:?}", aliyun.refusals());
        b.clock.advance(chrono::Duration::seconds(31));
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().any(|r| r.kind == "accounts.sms" && r.ok), "{ran:?}");
        let code = aliyun.code_for(&phone).expect("delivered on the retry");
        assert!(sign_in(&srv, &phone, &code).await.body["data"]["signInWithCode"]["me"]["id"].is_string());

        // Refusals that will not pass are given up after one try, each counted by its reason.
        for (mode, reason) in [(Mode::NoBalance, "insufficient_balance"), (Mode::RateLimited, "rate_limited")] {
            aliyun.set_mode(mode);
            let line = format!(r#"xqt_sms_total{{provider="aliyun",result="{reason}"}} "#);
            let before = metric(&srv, &line).await;
            let phone = random_phone();
            request_code(&srv, &phone).await;
            let ran = run_jobs(&srv.ctx).await;
            assert!(ran.iter().any(|r| r.kind == "accounts.sms" && r.ok), "given up, not retried: {ran:?}");
            assert!(aliyun.code_for(&phone).is_none());
            assert_eq!(metric(&srv, &line).await, before + 1, "{reason}");
        }
        aliyun.set_mode(Mode::Accept);

        // A code nobody could deliver within its 5 minutes is dropped, not sent late.
        aliyun.set_mode(Mode::Unavailable(1));
        let late = random_phone();
        request_code(&srv, &late).await;
        run_jobs(&srv.ctx).await;
        b.clock.advance(chrono::Duration::minutes(6));
        run_jobs(&srv.ctx).await;
        assert!(aliyun.code_for(&late).is_none(), "an expired code is not sent");
    })
    .await;
}

#[tokio::test]
async fn a_wrong_access_key_secret_is_refused_by_aliyun_as_a_bad_signature() {
    on_each_backend(async |b| {
        let aliyun = FakeAliyun::start().await;
        let srv = b
            .start_with(|c| {
                aliyun.configure(c);
                c.update::<xqt_accounts::config::AccountsConfig>(|a| {
                    a.sms.aliyun_access_key_secret = Some("not-the-secret".into());
                });
            })
            .await;
        let line = r#"xqt_sms_total{provider="aliyun",result="bad_credentials"} "#;
        let before = metric(&srv, line).await;
        let phone = random_phone();
        request_code(&srv, &phone).await;
        run_jobs(&srv.ctx).await;
        assert!(aliyun.code_for(&phone).is_none());
        let refusals = aliyun.refusals();
        assert!(refusals.len() == 1 && refusals[0].starts_with("SignatureDoesNotMatch"), "{refusals:?}");
        assert_eq!(metric(&srv, line).await, before + 1);
    })
    .await;
}

#[tokio::test]
async fn codes_are_capped_per_client_address_and_per_day_against_sms_pumping() {
    on_each_backend(async |b| {
        // The platform's own cap, whoever asks (counted in Redis, so across instances, when
        // there is one).
        let capped = b
            .start_with(|c| {
                c.update::<xqt_accounts::config::AccountsConfig>(|a| a.sms.per_day = 2);
            })
            .await;
        request_code(&capped, &random_phone()).await;
        request_code(&capped, &random_phone()).await;
        let a = capped.gql(REQUEST, json!({ "p": random_phone() }), None).await;
        assert_eq!(a.body["errors"][0]["extensions"]["reason"], "PLATFORM_DAILY_CAP", "{:?}", a.body);
        // A day later (China time) codes go out again.
        b.clock.advance(chrono::Duration::days(1));
        request_code(&capped, &random_phone()).await;

        // One address asks for codes to ever new numbers (sign-in and guardian codes alike).
        b.clock.advance(chrono::Duration::days(1));
        let srv = b
            .start_with(|c| {
                c.update::<xqt_accounts::config::AccountsConfig>(|a| a.sms.per_address_per_day = 3);
            })
            .await;
        for _ in 0..2 {
            request_code(&srv, &random_phone()).await;
        }
        let guardian = "mutation($p: String!) { requestGuardianCode(guardianPhone: $p) }";
        srv.ok(guardian, json!({ "p": random_phone() }), None).await;
        let phone = random_phone();
        let a = srv.gql(REQUEST, json!({ "p": phone }), None).await;
        let e = &a.body["errors"][0]["extensions"];
        assert_eq!(
            (e["code"].as_str(), e["reason"].as_str()),
            (Some("RATE_LIMITED"), Some("ADDRESS_DAILY_CAP")),
            "{:?}",
            a.body
        );
        assert!(e["retryAfter"].as_i64().is_some_and(|s| s > 0 && s <= 86_400), "until midnight, China time: {e}");
        let parsed = xqt_accounts::phone::Phone::parse(&phone).unwrap();
        assert_eq!(xqt_accounts::sms::latest_to(&srv.ctx, &parsed).await.unwrap(), None, "nothing was sent");
    })
    .await;
}

#[tokio::test]
async fn production_refuses_the_built_in_sms_and_push_outboxes_naming_the_keys() {
    on_each_backend(async |b| {
        let mut config = b.config();
        config.env = xqt_kernel::config::Environment::Production;
        xqt_tests::esign::configure(&mut config, "http://127.0.0.1:9");
        xqt_tests::jpush::configure(&mut config, "http://127.0.0.1:9");
        let refused = xqt::prepare(config.clone(), Arc::new(b.clock.clone())).await;
        let message = format!("{:#}", refused.err().expect("refused"));
        assert!(
            message.contains("accounts.sms.provider") && message.contains("XQT_ACCOUNTS__SMS__PROVIDER"),
            "{message}"
        );
        xqt_tests::aliyun::configure(&mut config, "http://127.0.0.1:9");
        let mut outbox_push = config.clone();
        outbox_push.update::<xqt_notifications::config::NotificationsConfig>(|n| {
            n.push.provider = xqt_notifications::config::PushProviderKind::Outbox;
        });
        let refused = xqt::prepare(outbox_push, Arc::new(b.clock.clone())).await;
        let message = format!("{:#}", refused.err().expect("refused"));
        assert!(message.contains("XQT_NOTIFICATIONS__PUSH__PROVIDER"), "{message}");
        assert!(xqt::prepare(config, Arc::new(b.clock.clone())).await.is_ok());
    })
    .await;
}

const REGISTER: &str = "mutation($t: String!) { registerPushDevice(platform: JPUSH, token: $t) { id platform } }";
const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }";
const PUSH_CONSENT: &str = "mutation { grantConsent(input: { purpose: \"push_notifications\" }) { id } }";

async fn say(srv: &TestServer, who: &xqt_tests::Person, conversation: &str, text: &str) {
    let input = json!({ "conversationId": conversation, "clientMessageId": uuid::Uuid::new_v4().to_string(), "kind": "TEXT", "text": text });
    srv.ok(SEND, json!({ "i": input }), Some(&who.token)).await;
}

async fn direct(srv: &TestServer, from: &xqt_tests::Person, to: &xqt_tests::Person) -> String {
    let open = "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }";
    let data = srv.ok(open, json!({ "u": to.id }), Some(&from.token)).await;
    data["openDirectConversation"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pushes_go_through_jpush_only_to_registered_devices_under_the_push_consent() {
    on_each_backend(async |b| {
        let jpush = FakeJpush::start().await;
        let srv = b.start_with(|c| jpush.configure(c)).await;
        let (alice, bob) = (srv.verified_person().await, srv.verified_person().await);
        let c = direct(&srv, &alice, &bob).await;

        // Bob has neither consented nor registered a device: nothing is pushed to him.
        say(&srv, &alice, &c, "在吗").await;
        run_jobs(&srv.ctx).await;
        assert!(jpush.pushed().is_empty() && jpush.refusals().is_empty(), "{:?}", jpush.refusals());

        // With the consent and the JPush SDK's registration id, he is.
        let device = "1a0018970a3c2f8d6e4";
        jpush.install(device);
        srv.ok(PUSH_CONSENT, json!({}), Some(&bob.token)).await;
        let registered = srv.ok(REGISTER, json!({ "t": device }), Some(&bob.token)).await;
        assert_eq!(registered["registerPushDevice"]["platform"], "JPUSH");
        say(&srv, &alice, &c, "明天九点面试").await;
        run_jobs(&srv.ctx).await;
        let pushed = jpush.pushed();
        assert_eq!(pushed.len(), 1, "refusals: {:?}", jpush.refusals());
        assert_eq!(pushed[0].registration_ids, [device]);
        let body = &pushed[0].body;
        assert_eq!(body["notification"]["ios"]["alert"]["title"], "私信");
        assert!(body["notification"]["android"]["alert"].as_str().is_some_and(|a| !a.is_empty()), "{body}");
        assert!(
            body["options"]["apns_collapse_id"].is_string() && body["options"]["apns_production"] == true,
            "{body}"
        );
        assert_eq!(body["notification"]["android"]["extras"]["kind"], "chat.message");
        assert!(xqt_notifications::push::sent_to(&srv.ctx, bob.id).await.unwrap().is_empty(), "nothing in the outbox");

        // The app was removed: JPush answers 1011 and the device is forgotten, not retried.
        jpush.uninstall(device);
        say(&srv, &alice, &c, "收到请回复").await;
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().all(|r| r.ok), "{ran:?}");
        assert!(jpush.refusals().iter().any(|r| r.starts_with("1011")), "{:?}", jpush.refusals());
        let devices = srv.ok("{ pushDevices { id } }", json!({}), Some(&bob.token)).await;
        assert_eq!(devices["pushDevices"], json!([]), "the gone device is dropped");

        // Withdrawing the consent drops the device: nothing more is pushed.
        let again = "1a0018970a3c2f8d6e5";
        jpush.install(again);
        srv.ok(REGISTER, json!({ "t": again }), Some(&bob.token)).await;
        let withdraw = "mutation { withdrawConsent(input: { purpose: \"push_notifications\" }) { id } }";
        srv.ok(withdraw, json!({}), Some(&bob.token)).await;
        run_jobs(&srv.ctx).await;
        let before = jpush.pushed().len();
        say(&srv, &alice, &c, "还在吗").await;
        run_jobs(&srv.ctx).await;
        assert_eq!(jpush.pushed().len(), before, "no push after the consent is withdrawn");
    })
    .await;
}

#[tokio::test]
async fn a_wrong_jpush_master_secret_fails_the_push_job_to_be_retried() {
    on_each_backend(async |b| {
        let jpush = FakeJpush::start().await;
        let srv = b
            .start_with(|c| {
                jpush.configure(c);
                c.update::<xqt_notifications::config::NotificationsConfig>(|n| {
                    n.push.jpush_master_secret = Some("wrong".into());
                });
            })
            .await;
        let (alice, bob) = (srv.verified_person().await, srv.verified_person().await);
        jpush.install("160a3797c8c1d7e3");
        srv.ok(PUSH_CONSENT, json!({}), Some(&bob.token)).await;
        srv.ok(REGISTER, json!({ "t": "160a3797c8c1d7e3" }), Some(&bob.token)).await;
        let c = direct(&srv, &alice, &bob).await;
        say(&srv, &alice, &c, "你好").await;
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().any(|r| !r.ok), "the push job failed, to be retried: {ran:?}");
        let refusals = jpush.refusals();
        assert!(!refusals.is_empty() && refusals.iter().all(|r| r == "1004: Authen failed"), "{refusals:?}");
        assert!(jpush.pushed().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_file_uploaded_through_one_instance_is_downloaded_through_another_from_s3() {
    on_each_backend(async |b| {
        let s3 = S3Server::start().await;
        // The two instances share the database, Redis and the data key — and nothing on disk.
        let key = "files-shared-data-key-0123456789abcdef";
        let first = b
            .start_with(|c| {
                s3.configure(c);
                c.data_key = Some(key.into());
            })
            .await;
        let elsewhere = tempfile::tempdir().unwrap();
        let config = b.config();
        let database = config
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", config.sqlite_path().display()));
        let second = b
            .start_with(|c| {
                s3.configure(c);
                c.data_key = Some(key.into());
                c.data_dir = elsewhere.path().to_path_buf();
                c.database_url = Some(database.clone());
            })
            .await;

        let person = first.person().await;
        let a = first.upload(&person, "?purpose=avatar", xqt_tests::jpeg(32, 24)).await;
        assert_eq!(a.status, 201, "{:?}", a.body);
        let url = a.body["url"].as_str().expect("a download address").to_owned();
        assert_eq!(s3.objects().len(), 1, "the bytes are in the bucket: {:?}", s3.objects());
        let local = b.config().data_dir.join("files");
        let on_disk = std::fs::read_dir(&local).map(|d| d.count()).unwrap_or(0);
        assert_eq!(on_disk, 0, "nothing is kept on the first instance's disk");

        let here = first.http.get(first.url(&url)).bearer_auth(&person.token).send().await.unwrap();
        assert_eq!(here.status().as_u16(), 200);
        let here = here.bytes().await.unwrap();
        let there = second.http.get(second.url(&url)).bearer_auth(&person.token).send().await.unwrap();
        assert_eq!(there.status().as_u16(), 200, "the other instance serves it");
        assert_eq!(there.bytes().await.unwrap(), here, "the same bytes");
        assert!(image::load_from_memory(&here).is_ok(), "an image, cleaned and stored");
    })
    .await;
}

#[tokio::test]
async fn a_wrong_s3_secret_is_refused_by_the_store_and_the_upload_fails_cleanly() {
    on_each_backend(async |b| {
        let s3 = S3Server::start().await;
        let srv = b
            .start_with(|c| {
                s3.configure(c);
                c.files.s3_secret_access_key = Some("not-the-secret".into());
            })
            .await;
        let person = srv.person().await;
        let a = srv.upload(&person, "?purpose=avatar", xqt_tests::jpeg(8, 8)).await;
        assert_eq!((a.status, a.code()), (500, Some("INTERNAL")), "{:?}", a.body);
        assert!(a.body["errors"][0]["extensions"]["requestId"].is_string());
        assert!(s3.objects().is_empty(), "nothing was stored");
    })
    .await;
}

#[tokio::test]
async fn a_call_invitation_rings_the_callees_phone_at_once_with_high_priority() {
    on_each_backend(async |b| {
        let jpush = FakeJpush::start().await;
        // The runner polls once a minute: the ring is pushed at once only because inviting wakes it.
        let srv = b
            .start_with(|c| {
                jpush.configure(c);
                c.jobs.enabled = true;
                c.jobs.poll_interval_ms = 60_000;
            })
            .await;
        let (alice, bob) = (srv.verified_person().await, srv.verified_person().await);
        let device = "13165ffa4e0c7c9d8e1";
        jpush.install(device);
        srv.ok(PUSH_CONSENT, json!({}), Some(&bob.token)).await;
        srv.ok(REGISTER, json!({ "t": device }), Some(&bob.token)).await;
        let c = direct(&srv, &alice, &bob).await;
        // Bob muted the conversation: messages stay quiet, a call still rings.
        let mute = "mutation($c: ID!) { setConversationMuted(conversationId: $c, muted: true) { id } }";
        srv.ok(mute, json!({ "c": c }), Some(&bob.token)).await;
        let invite = "mutation($c: ID!) { inviteCall(conversationId: $c, media: VIDEO) { id state } }";
        let call = srv.ok(invite, json!({ "c": c }), Some(&alice.token)).await;
        assert_eq!(call["inviteCall"]["state"], "RINGING");
        let mut ring = None;
        for _ in 0..150 {
            ring = jpush
                .pushed()
                .into_iter()
                .find(|p| p.body["notification"]["android"]["extras"]["kind"] == "chat.call_invitation");
            if ring.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ring = ring.unwrap_or_else(|| panic!("no ring pushed; JPush refused: {:?}", jpush.refusals()));
        assert_eq!(ring.registration_ids, [device]);
        let n = &ring.body["notification"];
        assert_eq!((n["android"]["priority"].as_i64(), n["android"]["category"].as_str()), (Some(2), Some("call")));
        assert_eq!(n["ios"]["interruption-level"], "time-sensitive");
        assert_eq!(n["android"]["alert"], "邀请你视频通话");
        assert_eq!(ring.body["options"]["time_to_live"], 60, "a ring is not delivered after it ends");
        assert_eq!(
            ring.body["options"]["apns_collapse_id"],
            format!("call:{}", call["inviteCall"]["id"].as_str().unwrap())
        );
        let rings = jpush
            .pushed()
            .into_iter()
            .filter(|p| p.body["notification"]["android"]["extras"]["kind"] == "chat.call_invitation");
        assert_eq!(rings.count(), 1, "one ring, to the callee only");
    })
    .await;
}

#[tokio::test]
async fn platform_notices_are_pushed_to_those_who_consented_to_push_and_no_one_else() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let (consented, silent) = (srv.person().await, srv.person().await);
        srv.ok(PUSH_CONSENT, json!({}), Some(&consented.token)).await;
        let submit =
            "mutation($n: String!, $i: String!) { submitIdentityVerification(realName: $n, idNumber: $i) { id } }";
        let admin = srv.admin().await;
        for (who, seq) in [(&consented, 7101), (&silent, 7102)] {
            let id = xqt_tests::id_number(seq);
            let row = srv.ok(submit, json!({ "n": "测试人", "i": id }), Some(&who.token)).await;
            let row = row["submitIdentityVerification"]["id"].clone();
            for action in ["START", "APPROVE"] {
                let review =
                    "mutation($i: ID!, $a: ReviewAction!) { reviewIdentityVerification(id: $i, action: $a) { id } }";
                srv.ok(review, json!({ "i": row, "a": action }), Some(&admin.token)).await;
            }
        }
        run_jobs(&srv.ctx).await;
        let pushed = xqt_notifications::push::sent_to(&srv.ctx, consented.id).await.unwrap();
        let kinds: Vec<String> = pushed.iter().map(|p| p.kind.to_string()).collect();
        assert!(kinds.contains(&"verification.identity_approved".to_owned()), "{kinds:?}");
        assert!(xqt_notifications::push::sent_to(&srv.ctx, silent.id).await.unwrap().is_empty(), "no consent, no push");
        // A notice is pushed once, however often the runner looks.
        run_jobs(&srv.ctx).await;
        assert_eq!(xqt_notifications::push::sent_to(&srv.ctx, consented.id).await.unwrap().len(), pushed.len());
    })
    .await;
}

#[tokio::test]
async fn a_real_name_the_provider_confirms_is_approved_at_once_and_others_wait_for_a_reviewer() {
    on_each_backend(async |b| {
        let cloudauth = xqt_tests::cloudauth::FakeCloudauth::start().await;
        let srv = b.start_with(|c| cloudauth.configure(c)).await;
        let submit = "mutation($n: String!, $i: String!) { submitIdentityVerification(realName: $n, idNumber: $i) { id state } }";
        let mine = "{ me { verified identityVerification { state } } }";
        let (match_, mismatch, unknown) = (srv.person().await, srv.person().await, srv.person().await);
        let ids = [xqt_tests::id_number(8101), xqt_tests::id_number(8102), xqt_tests::id_number(8103)];
        cloudauth.register("王小明", &ids[0]);
        cloudauth.register("李华", &ids[1]);
        for (who, name, id) in [(&match_, "王小明", &ids[0]), (&mismatch, "李四", &ids[1]), (&unknown, "赵六", &ids[2])] {
            let row = srv.ok(submit, json!({ "n": name, "i": id }), Some(&who.token)).await;
            assert_eq!(row["submitIdentityVerification"]["state"], "SUBMITTED", "the request does not wait for the check");
        }
        let ran = run_jobs(&srv.ctx).await;
        assert_eq!(ran.iter().filter(|r| r.kind == "accounts.identity_check" && r.ok).count(), 3, "{ran:?}");
        assert!(cloudauth.refusals().is_empty(), "{:?}", cloudauth.refusals());
        assert_eq!(cloudauth.checked().len(), 3);
        let state = |p| srv.ok(mine, json!({}), Some(p));
        assert_eq!(state(&match_.token).await["me"], json!({ "verified": true, "identityVerification": { "state": "APPROVED" } }));
        for p in [&mismatch, &unknown] {
            assert_eq!(state(&p.token).await["me"]["identityVerification"]["state"], "SUBMITTED", "left for a reviewer");
        }
        let queue = "{ identityVerificationQueue(first: 10) { edges { node { userId } } } }";
        let admin = srv.admin().await;
        let waiting = srv.ok(queue, json!({}), Some(&admin.token)).await;
        let users: Vec<&str> = waiting["identityVerificationQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["node"]["userId"].as_str())
            .collect();
        assert!(users.contains(&mismatch.id.to_string().as_str()) && !users.contains(&match_.id.to_string().as_str()), "{users:?}");
    })
    .await;
}
