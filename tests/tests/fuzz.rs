//! Property-based fuzzing of every hand-written parser and validator (proptest: the toolchain
//! here is stable, so no cargo-fuzz): arbitrary input never panics and is refused with the
//! parser's own error, what the code builds is accepted again, and any one altered character of
//! a checked code, cursor or signature is refused. Each target prints how many examples it ran.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::ErrorCode;
use xqt_tests::on_each_backend;

/// Runs `test` over `cases` examples of `strategy`; a failure panics with the shrunk input.
fn check<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let ran = AtomicU32::new(0);
    let result = runner.run(&strategy, |v| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    let ran = ran.into_inner();
    println!("fuzz: {name}: {ran} examples");
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok { Ok(()) } else { Err(TestCaseError::fail(what())) }
}

/// Any string, weighted toward what parsers trip on: base64, digits, separators, multi-byte text.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[A-Za-z0-9_=:-]{0,64}", "[0-9Xx -]{0,24}", "[0-9A-Z]{16,20}", "\\PC{0,40}",]
}

/// `code` with the character at `at` replaced by another of `alphabet`.
fn altered(code: &str, at: usize, pick: usize, alphabet: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let others: Vec<char> = alphabet.chars().filter(|c| *c != chars[at]).collect();
    let mut out = chars.clone();
    out[at] = others[pick % others.len()];
    out.into_iter().collect()
}

#[test]
fn relay_cursors() {
    use xqt_kernel::pagination::{decode_cursor, encode_cursor};
    check("cursor decoder: arbitrary input", 3000, any_text(), |s| match decode_cursor("notifications", &s, "after") {
        Ok(key) => ensure(encode_cursor("notifications", &key) == s, || format!("{s:?} decoded to {key:?}")),
        Err(e) => ensure(e.code() == ErrorCode::BadUserInput, || format!("{s:?}: {e:?}")),
    });
    check("cursor decoder: base64 of arbitrary bytes", 2000, any::<Vec<u8>>(), |bytes| {
        use base64::Engine;
        let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        let _ = decode_cursor("notifications", &s, "after");
        Ok(())
    });
    check(
        "cursor decoder: round trip, and another list's cursor refused",
        2000,
        ("[a-z]{1,8}", "[a-z]{1,8}", "\\PC{1,40}"),
        |(list, other, key)| {
            let cursor = encode_cursor(&list, &key);
            ensure(decode_cursor(&list, &cursor, "after").ok().as_deref() == Some(key.as_str()), || cursor.clone())?;
            ensure(list == other || decode_cursor(&other, &cursor, "after").is_err(), || cursor.clone())
        },
    );
    check("chat positions: round trip, other conversation refused", 1000, (0..i64::MAX, any::<u128>()), |(p, c)| {
        let (mine, theirs) = (Uuid::from_u128(c), Uuid::from_u128(c.wrapping_add(1)));
        let cursor = xqt_chat::live::cursor(mine, p);
        ensure(xqt_chat::live::parse_cursor(mine, &cursor).ok() == Some(p), || cursor.clone())?;
        ensure(xqt_chat::live::parse_cursor(theirs, &cursor).is_err(), || cursor.clone())
    });
    check("chat positions: arbitrary input", 2000, any_text(), |s| {
        match xqt_chat::live::parse_cursor(Uuid::nil(), &s) {
            Ok(p) => ensure(p >= 0, || format!("{s:?} → {p}")),
            Err(e) => ensure(e.code() == ErrorCode::BadUserInput, || format!("{s:?}: {e:?}")),
        }
    });
    check(
        "inbox cursor: arbitrary input and base64 of arbitrary JSON",
        2000,
        (any_text(), any::<Vec<u8>>()),
        |(s, b)| {
            use base64::Engine;
            let _ = xqt_chat::inbox::Cursor::decode(&s);
            let _ = xqt_chat::inbox::Cursor::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b));
            Ok(())
        },
    );
}

fn id_numbers() -> impl Strategy<Value = String> {
    let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    ("[1-9][0-9]{5}", 0..(today - NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()).num_days(), "[0-9]{3}").prop_map(
        move |(region, day, seq)| {
            let birth = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(day as u64);
            xqt_accounts::verification::with_id_check(&format!(
                "{region}{:04}{:02}{:02}{seq}",
                birth.year(),
                birth.month(),
                birth.day()
            ))
        },
    )
}

#[test]
fn id_numbers_and_credit_codes() {
    use xqt_accounts::organizations::{check_credit_code, with_credit_check};
    use xqt_accounts::verification::check_id_number;
    let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    check("ID number: arbitrary input", 3000, any_text(), |s| {
        if let Ok(id) = check_id_number(&s, today) {
            ensure(id.len() == 18 && check_id_number(&id, today).as_ref() == Ok(&id), || s.clone())?;
        }
        Ok(())
    });
    check(
        "ID number: valid ones accepted, any one character altered refused",
        3000,
        (id_numbers(), 0..18usize, any::<usize>()),
        |(id, at, pick)| {
            ensure(check_id_number(&id, today).as_ref() == Ok(&id), || id.clone())?;
            ensure(check_id_number(&id.to_lowercase(), today).as_ref() == Ok(&id), || id.clone())?;
            let bad = altered(&id, at, pick, "0123456789X");
            ensure(check_id_number(&bad, today).is_err(), || format!("{id} → {bad} accepted"))
        },
    );
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    check("credit code: arbitrary input", 3000, any_text(), |s| {
        if let Ok(code) = check_credit_code(&s) {
            ensure(code.len() == 18 && check_credit_code(&code).as_ref() == Ok(&code), || s.clone())?;
        }
        Ok(())
    });
    check(
        "credit code: valid ones accepted, any one character altered refused",
        3000,
        ("[0-9A-HJ-NP-RTUW-Y]{17}", 0..18usize, any::<usize>()),
        |(body, at, pick)| {
            let code = with_credit_check(&body);
            ensure(check_credit_code(&code).as_ref() == Ok(&code), || code.clone())?;
            let bad = altered(&code, at, pick, ALPHABET);
            ensure(check_credit_code(&bad).is_err(), || format!("{code} → {bad} accepted"))
        },
    );
    check("phone numbers", 3000, prop_oneof![any_text(), "1[3-9][0-9]{9}", "\\+86 ?1[3-9][0-9]{9}"], |s| {
        let _ = xqt_accounts::phone::Phone::parse(&s);
        Ok(())
    });
}

#[test]
fn months_calendars_manifests_and_uploads() {
    check(
        "attendance month: arbitrary input, and every YYYY-MM",
        3000,
        prop_oneof![any_text(), "20[0-9]{2}-(0[1-9]|1[0-2])"],
        |s| match xqt_attendance::stats::parse_month(&s) {
            Ok(d) => ensure(d.day() == 1 && d.format("%Y-%m").to_string() == s, || s.clone()),
            Err(_) => ensure(
                !(s.len() == 7
                    && NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
                        .is_ok_and(|d| (2000..=2100).contains(&d.year()))),
                || format!("{s} refused"),
            ),
        },
    );
    check(
        "holiday calendar: arbitrary TOML-ish text",
        1000,
        prop_oneof![any_text(), "\\[[0-9]{4}\\]\nholidays = \\[\"[0-9-]{10}\"\\]\n"],
        |s| {
            let _ = xqt_kernel::calendar::WorkCalendar::parse(&s);
            Ok(())
        },
    );
    check("persisted-query manifest: arbitrary JSON-ish text", 1000, any_text(), |s| {
        let _ = xqt_kernel::persisted::AllowList::parse(&s);
        Ok(())
    });
    let all = [
        "audio/amr",
        "audio/ogg",
        "audio/mpeg",
        "audio/aac",
        "audio/mp4",
        "audio/wav",
        "video/quicktime",
        "video/mp4",
        "application/pdf",
        "application/zip",
        "application/x-ole-storage",
        "text/plain; charset=utf-8",
    ];
    check("upload type sniffing: arbitrary bytes", 5000, prop::collection::vec(any::<u8>(), 0..64), |b| {
        let _ = xqt_kernel::uploads::sniff(&b, &all);
        Ok(())
    });
    let jpeg = xqt_tests::jpeg(16, 12);
    check(
        "image cleaning: arbitrary bytes and damaged JPEGs",
        300,
        (
            prop::collection::vec(any::<u8>(), 0..256),
            prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            any::<usize>(),
        ),
        |(noise, flips, cut)| {
            ensure(xqt_kernel::files::clean_image(&noise).is_err_and(|e| e.code() == ErrorCode::BadUserInput), || {
                "noise accepted".into()
            })?;
            let mut damaged = jpeg.clone();
            for (at, byte) in flips {
                let at = at % damaged.len();
                damaged[at] = byte;
            }
            damaged.truncate(cut % (damaged.len() + 1));
            match xqt_kernel::files::clean_image(&damaged) {
                Ok(clean) => ensure(image::load_from_memory(&clean.bytes).is_ok(), || {
                    "a cleaned image that does not decode".into()
                }),
                Err(e) => ensure(e.code() == ErrorCode::BadUserInput, || format!("{e:?}")),
            }
        },
    );
    let samples: Vec<(&str, Vec<u8>)> = [
        ("video/mp4", "android.mp4"),
        ("video/quicktime", "iphone.mov"),
        ("audio/mpeg", "voice.mp3"),
        ("audio/ogg", "voice.vorbis.ogg"),
        ("audio/wav", "voice.wav"),
        ("application/pdf", "report.pdf"),
        ("application/zip", "report.docx"),
    ]
    .into_iter()
    .map(|(t, name)| (t, xqt_tests::fixture(name)))
    .collect();
    check(
        "metadata cleaning: damaged videos, voice, PDFs and Office files",
        400,
        (any::<usize>(), prop::collection::vec((any::<usize>(), any::<u8>()), 1..6), any::<usize>()),
        |(pick, flips, cut)| {
            let (content_type, sample) = &samples[pick % samples.len()];
            let mut damaged = sample.clone();
            for (at, byte) in flips {
                let at = at % damaged.len();
                damaged[at] = byte;
            }
            damaged.truncate(cut % (damaged.len() + 1));
            match xqt_kernel::scrub::scrub(content_type, bytes::Bytes::from(damaged)) {
                Ok(cleaned) => ensure(
                    !content_type.starts_with("video") || xqt_kernel::scrub::boxes_named(&cleaned, b"udta") == Ok(0),
                    || format!("a {content_type} kept its udta"),
                ),
                Err(refused) => {
                    let e = xqt_kernel::AppError::from(refused);
                    ensure(e.code() == ErrorCode::BadUserInput && e.detail("reason").is_some(), || format!("{e:?}"))
                }
            }
        },
    );
    check(
        "file links: <file>_<person> round trip and arbitrary input",
        2000,
        (any::<u128>(), any::<u128>(), any_text()),
        |(f, p, s)| {
            let (f, p) = (Uuid::from_u128(f), Uuid::from_u128(p));
            let segment = xqt_kernel::links::for_person(f, p);
            ensure(xqt_kernel::links::parse_for_person(&segment) == Some((f, p)), || segment.clone())?;
            let _ = xqt_kernel::links::parse_for_person(&s);
            Ok(())
        },
    );
}

#[test]
fn e_signature_callbacks() {
    use xqt_cooperation::signature::esign::{callback_signature, parse_event, verify_callback};
    let config = xqt_cooperation::config::CooperationConfig {
        esign_app_id: "app-1".into(),
        esign_app_secret: "secret-of-the-app".into(),
        ..Default::default()
    };
    let now = 1_780_000_000_000i64;
    let inbound = |t: &str, sig: &str, query: &str, body: &[u8]| xqt_kernel::module::Inbound {
        headers: vec![
            ("X-Tsign-Open-App-Id".into(), "app-1".into()),
            ("X-Tsign-Open-Timestamp".into(), t.into()),
            ("X-Tsign-Open-Signature".into(), sig.into()),
        ],
        query: query.into(),
        body: bytes::Bytes::copy_from_slice(body),
    };
    check(
        "e-signature callback: signed ones verify, an altered body or signature is refused",
        2000,
        (any::<Vec<u8>>(), "[a-z=&0-9]{0,30}", -900_000i64..900_000, any::<u8>(), any::<usize>()),
        |(body, query, skew, flip, at)| {
            let t = (now + skew).to_string();
            let sig = callback_signature(&config.esign_app_secret, &t, &query, &body);
            ensure(verify_callback(&config, &inbound(&t, &sig, &query, &body), now).is_ok(), || {
                "signed refused".into()
            })?;
            let mut other = body.clone();
            other.push(flip);
            ensure(verify_callback(&config, &inbound(&t, &sig, &query, &other), now).is_err(), || {
                "altered body".into()
            })?;
            let bad = altered(&sig, at % sig.len(), flip as usize, "0123456789abcdef");
            ensure(verify_callback(&config, &inbound(&t, &bad, &query, &body), now).is_err(), || {
                "altered signature".into()
            })
        },
    );
    check(
        "e-signature callback: arbitrary headers and bodies",
        3000,
        (any_text(), any_text(), any::<Vec<u8>>()),
        |(t, sig, body)| {
            let _ = verify_callback(&config, &inbound(&t, &sig, "", &body), now);
            let _ = parse_event(&body);
            let _ =
                parse_event(json!({ "action": t, "signFlowId": sig, "timestamp": body.len() }).to_string().as_bytes());
            Ok(())
        },
    );
}

/// Signed links are checked by the server against its own key: the link it issued opens, and
/// any other signature, file or expiry is `NOT_FOUND` (nothing to probe). Exports are the links
/// that carry a person's whole data, so one real export is fuzzed end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_links_and_data_exports() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let p = srv.verified_person().await;
        let r = crate::requests::filed_and_verified(&srv, &p, json!({ "kind": "ACCESS" })).await;
        let url = r["exportJsonUrl"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
        // /exports/<file>?expires=…&sig=…
        let (path, query) = url.split_once('?').unwrap();
        let file = path.trim_start_matches("/exports/").to_owned();
        let params: std::collections::HashMap<_, _> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
        let (expires, sig) = (params["expires"].parse::<i64>().unwrap(), params["sig"].to_owned());
        let handle = tokio::runtime::Handle::current();
        let ctx = srv.ctx.clone();
        let open =
            |file: &str, expires: i64, sig: &str| handle.block_on(xqt_privacy::export::open(&ctx, file, expires, sig));
        tokio::task::block_in_place(|| {
            assert!(open(&file, expires, &sig).is_ok(), "the issued link opens");
            check(
                &format!("data export links ({}): any altered signature, expiry or file refused", b.name),
                300,
                (any::<usize>(), any::<u8>(), -100_000i64..100_000, any_text()),
                |(at, pick, shift, junk)| {
                    let not_found = |r: xqt_kernel::AppResult<_>| r.is_err_and(|e| e.code() == ErrorCode::NotFound);
                    let bad_sig = altered(&sig, at % sig.len(), pick as usize, "0123456789abcdef");
                    ensure(not_found(open(&file, expires, &bad_sig)), || bad_sig.clone())?;
                    ensure(shift == 0 || not_found(open(&file, expires + shift, &sig)), || format!("expires {shift}"))?;
                    let other = file.replace(".json", ".html");
                    ensure(not_found(open(&other, expires, &sig)), || other.clone())?;
                    ensure(not_found(open(&junk, expires, &junk)), || junk.clone())
                },
            );
            check(
                &format!("signed links ({}): issued ones verify, any other signature refused", b.name),
                1000,
                ("[a-z]{1,12}", "[A-Za-z0-9_.-]{1,40}", 0i64..4_000_000_000, any::<usize>(), any::<u8>()),
                |(name, file, expires, at, pick)| {
                    let sig = xqt_kernel::links::signature(&ctx, &name, &file, expires);
                    let verify = |sig: &str| xqt_kernel::links::verify(&ctx, &name, &file, expires, sig);
                    if expires > ctx.clock.now().timestamp() {
                        ensure(verify(&sig).is_ok(), || "issued refused".into())?;
                    }
                    let bad = altered(&sig, at % sig.len(), pick as usize, "0123456789abcdef");
                    ensure(verify(&bad).is_err_and(|e| e.code() == ErrorCode::NotFound), || bad.clone())
                },
            );
        });
    })
    .await;
}
