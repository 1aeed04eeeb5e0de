//! Accounts end to end: sign-up by SMS code, every refusal, passwords, sessions and refresh
//! tokens, the security log and its retention, the profile.

use chrono::Duration as Span;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use xqt_tests::{Person, TestServer, WsEvent, on_each_backend, random_phone};

const REQUEST: &str = "mutation($p: String!) { requestSignInCode(phone: $p) }";
const SIGN_IN: &str = "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken refreshToken newDevice me { id phone } } }";
const PASSWORD_SIGN_IN: &str = "mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { accessToken refreshToken newDevice me { id } } }";
const SET_PASSWORD: &str = "mutation($c: String, $n: String!) { setPassword(currentPassword: $c, newPassword: $n) }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

fn reason(a: &xqt_tests::Answer) -> Option<&str> {
    a.body["errors"][0]["extensions"]["reason"].as_str()
}

async fn sign_in_with_code(srv: &TestServer, phone: &str, code: &str, device: Value) -> xqt_tests::Answer {
    srv.gql(SIGN_IN, json!({ "i": { "phone": phone, "code": code, "device": device } }), None).await
}

async fn password_sign_in(srv: &TestServer, login: &str, password: &str, device: Value) -> xqt_tests::Answer {
    srv.gql(PASSWORD_SIGN_IN, json!({ "i": { "login": login, "password": password, "device": device } }), None).await
}

#[tokio::test]
async fn sign_up_takes_only_a_phone_and_a_code_and_signing_in_again_finds_the_same_account() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let phone = random_phone();
        let first = srv.sign_in(&format!("+86 {}-{}-{}", &phone[..3], &phone[3..7], &phone[7..])).await;
        let me = srv.gql("{ me { id phone username nickname gender birthDate hasPassword } }", json!({}), Some(&first.token)).await;
        assert_eq!(
            me.body["data"]["me"],
            json!({ "id": first.id.to_string(), "phone": phone, "username": null, "nickname": null, "gender": null, "birthDate": null, "hasPassword": false }),
            "the owner sees the phone unmasked; nothing else was required"
        );
        b.clock.advance(Span::seconds(61));
        let again = srv.sign_in(&phone).await;
        assert_eq!(again.id, first.id);
        assert_ne!(again.session, first.session, "a new session per sign-in");
    })
    .await;
}

#[tokio::test]
async fn every_code_refusal_has_a_clear_code() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let a = srv.gql(REQUEST, json!({ "p": "12345" }), None).await;
        assert_eq!(
            (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("phone"))
        );

        let phone = random_phone();
        let a = sign_in_with_code(&srv, &phone, "123456", json!({})).await;
        assert_eq!((a.code(), reason(&a)), (Some("BAD_USER_INPUT"), Some("CODE_MISSING")));

        srv.ok(REQUEST, json!({ "p": phone }), None).await;
        let code = srv.sms_code(&phone).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let a = sign_in_with_code(&srv, &phone, wrong, json!({})).await;
        assert_eq!((a.code(), reason(&a)), (Some("BAD_USER_INPUT"), Some("CODE_WRONG")));
        for _ in 0..3 {
            sign_in_with_code(&srv, &phone, wrong, json!({})).await;
        }
        let a = sign_in_with_code(&srv, &phone, wrong, json!({})).await;
        assert_eq!(
            (a.code(), reason(&a)),
            (Some("RATE_LIMITED"), Some("CODE_ATTEMPTS_EXHAUSTED")),
            "the fifth wrong try"
        );
        let a = sign_in_with_code(&srv, &phone, &code, json!({})).await;
        assert_eq!(
            (a.code(), reason(&a)),
            (Some("RATE_LIMITED"), Some("CODE_ATTEMPTS_EXHAUSTED")),
            "the right code is dead too"
        );

        b.clock.advance(Span::seconds(61));
        srv.ok(REQUEST, json!({ "p": phone }), None).await;
        let code = srv.sms_code(&phone).await;
        b.clock.advance(Span::minutes(5) + Span::seconds(1));
        let a = sign_in_with_code(&srv, &phone, &code, json!({})).await;
        assert_eq!((a.code(), reason(&a)), (Some("BAD_USER_INPUT"), Some("CODE_EXPIRED")));

        let stored = xqt_accounts::phone::Phone::parse(&phone).unwrap();
        assert!(
            xqt_accounts::users::find_by_phone(&srv.ctx, &stored).await.unwrap().is_none(),
            "no account from failed sign-ins"
        );
    })
    .await;
}

#[tokio::test]
async fn sec_9_sms_and_sign_in_limits_lockout_and_new_device_alert() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        // SMS: one code a minute, ten a day per phone.
        let phone = random_phone();
        assert_eq!(srv.gql(REQUEST, json!({ "p": phone }), None).await.body["data"]["requestSignInCode"], true);
        let a = srv.gql(REQUEST, json!({ "p": phone }), None).await;
        assert_eq!((a.code(), reason(&a)), (Some("RATE_LIMITED"), Some("RESEND_TOO_SOON")));
        let retry = a.body["errors"][0]["extensions"]["retryAfter"].as_i64().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        for _ in 1..10 {
            b.clock.advance(Span::seconds(61));
            assert_eq!(srv.gql(REQUEST, json!({ "p": phone }), None).await.body["data"]["requestSignInCode"], true);
        }
        b.clock.advance(Span::seconds(61));
        let a = srv.gql(REQUEST, json!({ "p": phone }), None).await;
        assert_eq!((a.code(), reason(&a)), (Some("RATE_LIMITED"), Some("DAILY_CAP")));
        let other = srv.gql(REQUEST, json!({ "p": random_phone() }), None).await;
        assert_eq!(other.body["data"]["requestSignInCode"], true, "the cap is per phone");

        // Password lockout after five failures in a row.
        let person = srv.person().await;
        srv.ok(SET_PASSWORD, json!({ "n": "Xq7!tong-2026" }), Some(&person.token)).await;
        for i in 1..=5 {
            let a = password_sign_in(&srv, &person.phone, "Wrong-pass-1!", json!({})).await;
            assert_eq!(a.code(), Some("UNAUTHENTICATED"), "failure {i}");
        }
        let a = password_sign_in(&srv, &person.phone, "Xq7!tong-2026", json!({})).await;
        assert_eq!(
            (a.code(), reason(&a)),
            (Some("RATE_LIMITED"), Some("LOCKED")),
            "even the right password while locked"
        );
        let kinds = notification_kinds(&srv, &person).await;
        assert!(kinds.contains(&"SECURITY_LOCKED".to_owned()), "{kinds:?}");
        b.clock.advance(Span::minutes(16));
        let a = password_sign_in(
            &srv,
            &person.phone,
            "Xq7!tong-2026",
            json!({ "deviceId": "test-device", "model": "TestPhone", "os": "TestOS 1" }),
        )
        .await;
        assert!(a.body["data"]["signInWithPassword"]["accessToken"].is_string(), "{:?}", a.body);
        assert_eq!(a.body["data"]["signInWithPassword"]["newDevice"], false, "same device as at sign-up");

        // A new device is flagged and the person alerted.
        let a = password_sign_in(
            &srv,
            &person.phone,
            "Xq7!tong-2026",
            json!({ "deviceId": "stolen-phone", "model": "Other", "os": "Android 15" }),
        )
        .await;
        assert_eq!(a.body["data"]["signInWithPassword"]["newDevice"], true);
        let fresh = Person {
            token: a.body["data"]["signInWithPassword"]["accessToken"].as_str().unwrap().to_owned(),
            ..person.clone()
        };
        let kinds = notification_kinds(&srv, &fresh).await;
        assert!(kinds.contains(&"SECURITY_NEW_DEVICE".to_owned()), "{kinds:?}");

        // Too many sign-in attempts for one login in a minute are throttled.
        b.clock.advance(Span::minutes(2));
        // (A phone with no account: unknown logins are throttled alike, so the limit tells nothing.)
        let unknown = random_phone();
        for i in 1..=10 {
            let a = password_sign_in(&srv, &unknown, "Nope-nope-1!", json!({})).await;
            assert_ne!(reason(&a), Some("SIGN_IN_RATE"), "attempt {i} is within the limit");
        }
        let a = password_sign_in(&srv, &unknown, "Nope-nope-1!", json!({})).await;
        assert_eq!((a.code(), reason(&a)), (Some("RATE_LIMITED"), Some("SIGN_IN_RATE")), "the eleventh in a minute");
    })
    .await;
}

async fn notification_kinds(srv: &TestServer, person: &Person) -> Vec<String> {
    let a = srv.gql("{ notifications(first: 50) { edges { node { kind } } } }", json!({}), Some(&person.token)).await;
    a.body["data"]["notifications"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", a.body))
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sec_8_password_rules_are_enforced_and_hashes_are_argon2id() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        for weak in ["short1!", "alllowercase1", "P@ssw0rd", &format!("Ab!{}", &person.phone[3..])] {
            let a = srv.gql(SET_PASSWORD, json!({ "n": weak }), Some(&person.token)).await;
            assert_eq!((a.code(), reason(&a)), (Some("BAD_USER_INPUT"), Some("WEAK_PASSWORD")), "{weak}");
        }
        let a = srv.gql(SET_PASSWORD, json!({ "n": "Xq7!tong-2026" }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["setPassword"], true);
        let stored = xqt_accounts::entity::user::Entity::find_by_id(person.id).one(&srv.ctx.db).await.unwrap().unwrap();
        let hash = stored.password_hash.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!hash.contains("Xq7!tong-2026"));

        let a = srv.gql(SET_PASSWORD, json!({ "n": "Another#Pass9" }), Some(&person.token)).await;
        assert_eq!(a.body["errors"][0]["extensions"]["field"], "currentPassword", "changing needs the current one");
        let a = srv.gql(SET_PASSWORD, json!({ "c": "Xq7!tong-2026", "n": "Another#Pass9" }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["setPassword"], true);
        let a = password_sign_in(&srv, &person.phone, "Another#Pass9", json!({})).await;
        assert!(a.body["data"]["signInWithPassword"]["accessToken"].is_string());
        let a = password_sign_in(&srv, &person.phone, "Xq7!tong-2026", json!({})).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"), "the old password is gone");
    })
    .await;
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_ends_the_whole_session() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let first = srv.gql(REFRESH, json!({ "t": person.refresh_token }), None).await;
        let rt2 = first.body["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        let second = srv.gql(REFRESH, json!({ "t": rt2 }), None).await;
        let rt3 = second.body["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        let access3 = second.body["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(
            srv.gql("{ me { id } }", json!({}), Some(&access3)).await.body["data"]["me"]["id"],
            person.id.to_string()
        );

        // The first token is replayed (say, it was stolen): the family dies.
        let replay = srv.gql(REFRESH, json!({ "t": person.refresh_token }), None).await;
        assert_eq!((replay.code(), reason(&replay)), (Some("UNAUTHENTICATED"), Some("REFRESH_REUSED")));
        let a = srv.gql(REFRESH, json!({ "t": rt3 }), None).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"), "the newest refresh token of the family is dead");
        let a = srv.gql("{ me { id } }", json!({}), Some(&access3)).await;
        assert_eq!((a.status, a.code()), (401, Some("UNAUTHENTICATED")), "and so is its access token");
        let a = srv.gql(REFRESH, json!({ "t": "xqt_rt_made-up" }), None).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"));
    })
    .await;
}

#[tokio::test]
async fn signing_out_ends_tokens_and_sockets_at_once_on_every_instance() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let other = if b.has_redis() { Some(b.start().await) } else { None };
        let person = srv.person().await;
        let here = srv.ws_as(&person.token).await;
        let mut ws = here;
        let mut remote_ws = match &other {
            Some(o) => Some(o.ws_as(&person.token).await),
            None => None,
        };
        let a = srv.gql("mutation { signOut }", json!({}), Some(&person.token)).await;
        assert_eq!(a.body["data"]["signOut"], true);
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&person.token)).await.status, 401);
        match ws.next().await {
            WsEvent::Closed(code, reason) => assert_eq!((code, reason.as_str()), (4403, "Forbidden: session ended")),
            other => panic!("expected the socket to close, got {other:?}"),
        }
        if let (Some(o), Some(rws)) = (&other, remote_ws.as_mut()) {
            assert_eq!(
                o.gql("{ me { id } }", json!({}), Some(&person.token)).await.status,
                401,
                "refused on the other instance too"
            );
            assert_eq!(rws.close_code().await, 4403);
        }
    })
    .await;
}

#[tokio::test]
async fn sessions_are_listed_with_their_devices_and_can_be_ended_one_or_all() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let phone = random_phone();
        let laptop = srv.sign_in(&phone).await;
        b.clock.advance(Span::seconds(61));
        let phone_session = srv.sign_in(&phone).await;
        let list =
            srv.gql("{ mySessions { id current deviceModel os ip } }", json!({}), Some(&phone_session.token)).await;
        let sessions = list.body["data"]["mySessions"].as_array().unwrap().clone();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
        assert!(sessions.iter().all(|s| s["deviceModel"] == "TestPhone" && s["ip"] == "127.0.0.1"));

        // Ending the other session leaves this one.
        let a = srv
            .gql(
                "mutation($id: ID!) { endSession(id: $id) }",
                json!({ "id": laptop.session.to_string() }),
                Some(&phone_session.token),
            )
            .await;
        assert_eq!(a.body["data"]["endSession"], true);
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&laptop.token)).await.status, 401);
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&phone_session.token)).await.status, 200);

        // Nobody ends someone else's session.
        let stranger = srv.person().await;
        let a = srv
            .gql(
                "mutation($id: ID!) { endSession(id: $id) }",
                json!({ "id": phone_session.session.to_string() }),
                Some(&stranger.token),
            )
            .await;
        assert_eq!(a.code(), Some("NOT_FOUND"));
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&phone_session.token)).await.status, 200);

        b.clock.advance(Span::seconds(61));
        let third = srv.sign_in(&phone).await;
        let a = srv.gql("mutation { signOutEverywhere }", json!({}), Some(&third.token)).await;
        assert_eq!(a.body["data"]["signOutEverywhere"], 2);
        for t in [&third.token, &phone_session.token] {
            assert_eq!(srv.gql("{ me { id } }", json!({}), Some(t)).await.status, 401);
        }
    })
    .await;
}

#[tokio::test]
async fn col_6_each_sign_in_records_the_device_and_the_log_is_kept_six_months_then_purged() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let phone = random_phone();
        srv.ok(REQUEST, json!({ "p": phone }), None).await;
        let code = srv.sms_code(&phone).await;
        let device = json!({ "deviceId": "inst-1", "model": "HUAWEI Mate 70", "os": "HarmonyOS 5.0", "appVersion": "2.3.1", "network": "5g" });
        let a = sign_in_with_code(&srv, &phone, &code, device).await;
        let token = a.body["data"]["signInWithCode"]["accessToken"].as_str().unwrap().to_owned();
        let user = a.body["data"]["signInWithCode"]["me"]["id"].as_str().unwrap().to_owned();

        let log = srv.gql("{ mySecurityLog(first: 10) { edges { node { kind deviceModel os appVersion network ip } } } }", json!({}), Some(&token)).await;
        assert_eq!(
            log.body["data"]["mySecurityLog"]["edges"][0]["node"],
            json!({ "kind": "SIGN_IN", "deviceModel": "HUAWEI Mate 70", "os": "HarmonyOS 5.0", "appVersion": "2.3.1", "network": "5g", "ip": "127.0.0.1" })
        );

        // Used for new-device alerts: a second device is noticed.
        b.clock.advance(Span::seconds(61));
        srv.ok(REQUEST, json!({ "p": phone }), None).await;
        let code = srv.sms_code(&phone).await;
        let a = sign_in_with_code(&srv, &phone, &code, json!({ "deviceId": "inst-2", "model": "iPhone 17", "os": "iOS 26" })).await;
        assert_eq!(a.body["data"]["signInWithCode"]["newDevice"], true);

        // In the person's export.
        let id = uuid::Uuid::parse_str(&user).unwrap();
        let export = srv.ctx.modules.export(&srv.ctx, id).await.unwrap();
        let kinds: Vec<&str> = export["accounts"]["securityLog"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["sign_in", "sign_in", "new_device"]);
        assert_eq!(export["accounts"]["sessions"][0]["deviceModel"], "HUAWEI Mate 70");

        // Kept at least six months (179 days on, still there) …
        b.clock.advance(Span::days(179));
        srv.ctx.modules.run_retention(&srv.ctx, srv.ctx.clock.now()).await.unwrap();
        let export = srv.ctx.modules.export(&srv.ctx, id).await.unwrap();
        assert_eq!(export["accounts"]["securityLog"].as_array().unwrap().len(), 3);
        // … then purged once the configured period (180 days) has passed.
        b.clock.advance(Span::days(2));
        srv.ctx.modules.run_retention(&srv.ctx, srv.ctx.clock.now()).await.unwrap();
        let export = srv.ctx.modules.export(&srv.ctx, id).await.unwrap();
        assert_eq!(export["accounts"]["securityLog"], json!([]));
        // A session record counts from when it ended (here: expired after 30 days).
        assert_eq!(export["accounts"]["sessions"].as_array().unwrap().len(), 2);
        b.clock.advance(Span::days(30));
        srv.ctx.modules.run_retention(&srv.ctx, srv.ctx.clock.now()).await.unwrap();
        let export = srv.ctx.modules.export(&srv.ctx, id).await.unwrap();
        assert_eq!(export["accounts"]["sessions"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn the_profile_is_the_persons_to_edit_and_nothing_in_it_is_required() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let update = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { nickname username gender birthDate } }";
        let a = srv
            .gql(update, json!({ "i": { "nickname": " 小明 ", "username": "Xiao_Ming", "gender": "MALE", "birthDate": "2004-05-01" } }), Some(&person.token))
            .await;
        assert_eq!(a.body["data"]["updateProfile"], json!({ "nickname": "小明", "username": "xiao_ming", "gender": "MALE", "birthDate": "2004-05-01" }));
        let a = srv.gql(update, json!({ "i": { "nickname": null } }), Some(&person.token)).await;
        assert_eq!(a.body["data"]["updateProfile"], json!({ "nickname": null, "username": "xiao_ming", "gender": "MALE", "birthDate": "2004-05-01" }), "null clears, absent keeps");

        let other = srv.person().await;
        let a = srv.gql(update, json!({ "i": { "username": "XIAO_MING" } }), Some(&other.token)).await;
        assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("CONFLICT"), Some("username")));
        for (input, field) in [
            (json!({ "username": "1bad" }), "username"),
            (json!({ "nickname": "" }), "nickname"),
            (json!({ "birthDate": "2999-01-01" }), "birthDate"),
        ] {
            let a = srv.gql(update, json!({ "i": input }), Some(&other.token)).await;
            assert_eq!((a.code(), a.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some(field)));
        }
        let a = srv.gql(update, json!({ "i": { "nickname": "x" } }), None).await;
        assert_eq!(a.code(), Some("UNAUTHENTICATED"));
        // Signing in by username works once there is a password.
        srv.ok(SET_PASSWORD, json!({ "n": "Xq7!tong-2026" }), Some(&person.token)).await;
        let a = password_sign_in(&srv, "Xiao_Ming", "Xq7!tong-2026", json!({})).await;
        assert_eq!(a.body["data"]["signInWithPassword"]["me"]["id"], person.id.to_string());
    })
    .await;
}

#[tokio::test]
async fn phone_numbers_are_stored_sealed_with_a_lookup_hash() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let person = srv.person().await;
        let row = xqt_accounts::entity::user::Entity::find_by_id(person.id).one(&srv.ctx.db).await.unwrap().unwrap();
        for bytes in [row.phone_sealed.clone().unwrap(), row.phone_hash.clone().unwrap()] {
            assert!(!String::from_utf8_lossy(&bytes).contains(&person.phone));
            assert!(!String::from_utf8_lossy(&bytes).contains(&person.phone[3..]));
        }
        assert_eq!(
            srv.ctx.keys.open(&row.phone_sealed.unwrap()).unwrap(),
            person.phone,
            "the service can read it back"
        );
        for m in xqt_accounts::entity::sms_message::Entity::find().all(&srv.ctx.db).await.unwrap() {
            assert!(!m.body.contains(&person.phone));
            assert!(!String::from_utf8_lossy(&m.phone_sealed).contains(&person.phone));
        }
    })
    .await;
}

#[tokio::test]
async fn an_admin_created_by_the_operator_signs_in_with_the_admin_role() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let admin = srv.admin().await;
        assert_eq!(admin.role, xqt_kernel::auth::Role::Admin);
        let person = srv.person().await;
        assert_eq!(person.role, xqt_kernel::auth::Role::User);
    })
    .await;
}

#[tokio::test]
async fn can_4_erasing_an_account_ends_its_sessions_at_once_and_removes_its_records() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let victim = srv.verified_person().await;
        let q = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }";
        srv.ok(q, json!({ "i": { "nickname": "将注销", "username": "leaving_user" } }), Some(&victim.token)).await;
        srv.ok(SET_PASSWORD, json!({ "n": "Xq7!tong-2026" }), Some(&victim.token)).await;
        let img = {
            let mut out = std::io::Cursor::new(Vec::new());
            image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9]))
                .write_to(&mut out, image::ImageFormat::Png)
                .unwrap();
            out.into_inner()
        };
        let up: Value = srv
            .http
            .post(srv.url("/files?purpose=avatar"))
            .bearer_auth(&victim.token)
            .body(img)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        srv.ok(q, json!({ "i": { "avatarFileId": up["id"] } }), Some(&victim.token)).await;
        srv.ok(
            "mutation { createOrganization(kind: SCHOOL, input: { name: \"注销者的学校\" }) { id } }",
            json!({}),
            Some(&victim.token),
        )
        .await;
        let mut ws = srv.ws_as(&victim.token).await;
        let storage_key = xqt_accounts::uploads::all_for(&srv.ctx, victim.id).await.unwrap()[0].storage_key.clone();

        // What account cancellation runs, through every module's handler.
        let erased =
            srv.ctx.modules.erase(&srv.ctx, victim.id, &xqt_kernel::module::Erasure::Everything).await.unwrap();
        assert!(erased["accounts"] > 0);

        // Tokens and sockets die at once; signing in fails.
        assert_eq!(ws.close_code().await, 4403);
        assert_eq!(srv.gql("{ me { id } }", json!({}), Some(&victim.token)).await.status, 401);
        assert_eq!(srv.gql(REFRESH, json!({ "t": victim.refresh_token }), None).await.code(), Some("UNAUTHENTICATED"));
        for login in [victim.phone.as_str(), "leaving_user"] {
            assert_eq!(
                password_sign_in(&srv, login, "Xq7!tong-2026", json!({})).await.code(),
                Some("UNAUTHENTICATED"),
                "{login}"
            );
        }

        // The records are gone: login data, profile, avatar, memberships, security log, identity.
        let row = xqt_accounts::entity::user::Entity::find_by_id(victim.id).one(&srv.ctx.db).await.unwrap().unwrap();
        assert_eq!(
            (
                row.phone_hash,
                row.phone_sealed,
                row.username,
                row.nickname,
                row.password_hash,
                row.avatar_file_id,
                row.status
            ),
            (None, None, None, None, None, None, xqt_accounts::users::AccountStatus::Erased)
        );
        let export = srv.ctx.modules.export(&srv.ctx, victim.id).await.unwrap();
        for key in ["sessions", "securityLog", "uploads", "memberships", "identityVerifications", "smsMessages"] {
            assert_eq!(export["accounts"][key], json!([]), "{key}");
        }
        assert_eq!(
            srv.ctx.files.get(&storage_key).await.unwrap_err().code(),
            xqt_kernel::ErrorCode::NotFound,
            "the avatar's bytes too"
        );

        // The phone is free: signing up with it again makes an unrelated account.
        b.clock.advance(Span::seconds(61));
        let again = srv.sign_in(&victim.phone).await;
        assert_ne!(again.id, victim.id);
        let me = srv
            .gql("{ me { nickname username verified } myOrganizations { role } }", json!({}), Some(&again.token))
            .await;
        assert_eq!(
            me.body["data"],
            json!({ "me": { "nickname": null, "username": null, "verified": false }, "myOrganizations": [] })
        );
    })
    .await;
}

/// SQLite has one writer at a time: concurrent sign-ins (each a transaction that reads, then
/// writes the account and the session) wait their turn instead of failing — on the embedded
/// default this answered `INTERNAL` at 4–8 clients while the job runner also wrote.
#[tokio::test]
async fn concurrent_sign_ins_wait_their_turn_and_never_answer_internal() {
    on_each_backend(async |b| {
        let srv = b.start_with(|c| c.jobs.enabled = true).await;
        let phones: Vec<String> = (0..24).map(|_| xqt_tests::random_phone()).collect();
        let mut codes = Vec::new();
        for phone in &phones {
            srv.ok("mutation($p: String!) { requestSignInCode(phone: $p) }", json!({ "p": phone }), None).await;
            codes.push(srv.sms_code(phone).await);
        }
        let sign_in = "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { me { id } } }";
        let answers = futures::future::join_all(phones.iter().zip(&codes).map(|(phone, code)| {
            let input =
                json!({ "phone": phone, "code": code, "device": { "deviceId": phone, "model": "P", "os": "A" } });
            srv.gql(sign_in, json!({ "i": input }), None)
        }))
        .await;
        let failed: Vec<&serde_json::Value> = answers
            .iter()
            .filter(|a| !a.body["data"]["signInWithCode"]["me"]["id"].is_string())
            .map(|a| &a.body)
            .collect();
        assert!(failed.is_empty(), "{} of {} sign-ins failed: {failed:?}", failed.len(), answers.len());
    })
    .await;
}
