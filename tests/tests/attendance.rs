//! Attendance end to end, on the test clock: a group with a site and a shift, checks judged and
//! explained (on time, within grace, late, serious, absent, early, outside the fence, field),
//! day-end settlement by the job runner, make-up requests, a month's statistics across National
//! Day and a make-up Saturday, the CSV behind a link that expires, location consent (COL-4),
//! suspicion with reasons, coordinates coarsened after the retention period (SEC-2), export and
//! erasure, reminders, and a programme's group built from its roster.

use std::io::Cursor;

use chrono::{DateTime, Duration as Span, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use xqt_tests::cooperation::{HANGZHOU, accepted_application, approved, internship, join, programme, sides};
use xqt_tests::{Backend, Person, TestServer, on_each_backend, run_jobs};

const CREATE_GROUP: &str = "mutation($i: AttendanceGroupInput!) { createAttendanceGroup(input: $i) { id version myRole shift { start end lateGraceMinutes seriousLateMinutes } restDays sites { id radiusM bssids } } }";
const ADD: &str = "mutation($g: ID!, $u: [ID!]!, $r: AttendanceRole) { addAttendanceMembers(groupId: $g, userIds: $u, role: $r) { userId role } }";
const CHECK: &str = "mutation($i: CheckInInput!) { checkIn(input: $i) { id kind result minutes explanation inside field wifiMatched siteId distanceM precision latitude longitude accuracyM suspicious suspiciousReason madeUp photoUrl } }";
const DAYS: &str = "query($g: ID!, $m: String!, $u: ID) { attendanceDays(groupId: $g, month: $m, userId: $u) { date status explanation inResult outResult settled makeUps field suspicious checkIn { madeUp result } } }";
const MONTH: &str = "query($g: ID!, $m: String!, $u: ID) { attendanceMonth(groupId: $g, month: $m, userId: $u) { daysDue daysWorked late seriousLate lateMinutes earlyLeave absent missing field makeUps suspicious through } }";
const REQUEST: &str = "mutation($g: ID!, $d: NaiveDate!, $k: PunchKind!, $r: String!) { requestMakeUp(groupId: $g, date: $d, kind: $k, reason: $r) { id state } }";
const DECIDE: &str = "mutation($i: ID!, $a: Boolean!, $r: String) { decideMakeUp(id: $i, approve: $a, reason: $r) { state decisionReason decidedBy } }";
const GRANT: &str = "mutation($p: String!) { grantConsent(input: { purpose: $p }) { id } }";

/// The factory gate, and points around it.
const SITE: (f64, f64) = HANGZHOU;
/// About 100 m north of the gate.
const INSIDE: (f64, f64) = (30.2750, 120.1551);
/// About 2 km north.
const FAR: (f64, f64) = (30.2921, 120.1551);
const WIFI: &str = "AA-BB-CC-DD-EE-01";

/// A minute of a day, China time.
fn china(day: &str, hm: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(&format!("{day} {hm}"), "%Y-%m-%d %H:%M").unwrap();
    chrono::FixedOffset::east_opt(8 * 3600).unwrap().from_local_datetime(&naive).unwrap().with_timezone(&Utc)
}

/// A person whose token outlives the months a test moves the clock through.
fn lasting(srv: &TestServer, p: Person) -> Person {
    let token = srv.token_valid_for(&p, Span::days(400));
    Person { token, ..p }
}

/// An approved enterprise with an attendance group: its owner created it (admin), a supervisor
/// runs it too, and `n` workers check in.
struct Office {
    owner: Person,
    supervisor: Person,
    workers: Vec<Person>,
    org: String,
    group: String,
}

async fn office(srv: &TestServer, n: usize, settings: Value) -> Office {
    let admin = srv.admin().await;
    let owner = lasting(srv, srv.verified_person().await);
    let supervisor = lasting(srv, srv.verified_person().await);
    let org = approved(srv, &admin, &owner, "ENTERPRISE", "杭州精工数控机床有限公司", SITE).await;
    join(srv, &owner, &org, &supervisor, "MEMBER").await;
    let mut workers = Vec::new();
    for _ in 0..n {
        let w = lasting(srv, srv.person().await);
        join(srv, &owner, &org, &w, "MEMBER").await;
        workers.push(w);
    }
    let input = json!({
        "organizationId": org,
        "settings": settings,
        "sites": [{ "name": "莫干山路厂区", "latitude": SITE.0, "longitude": SITE.1, "radiusM": 300, "bssids": [WIFI] }],
    });
    let a = srv.gql(CREATE_GROUP, json!({ "i": input }), Some(&owner.token)).await;
    let g = &a.body["data"]["createAttendanceGroup"];
    assert_eq!(g["myRole"], "ADMIN", "{:?}", a.body);
    assert_eq!(g["sites"][0]["bssids"], json!(["aa:bb:cc:dd:ee:01"]), "BSSIDs are kept in one form");
    let group = g["id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = workers.iter().map(|w| w.id.to_string()).collect();
    srv.ok(ADD, json!({ "g": group, "u": ids }), Some(&owner.token)).await;
    srv.ok(ADD, json!({ "g": group, "u": [supervisor.id], "r": "ADMIN" }), Some(&owner.token)).await;
    Office { owner, supervisor, workers, org, group }
}

fn factory() -> Value {
    json!({ "name": "生产部考勤" })
}

async fn grant(srv: &TestServer, who: &Person, purpose: &str) {
    srv.ok(GRANT, json!({ "p": purpose }), Some(&who.token)).await;
}

/// A check at `at` (China time, set on the clock first).
async fn check(
    b: &Backend,
    srv: &TestServer,
    who: &Person,
    group: &str,
    at: DateTime<Utc>,
    input: Value,
) -> xqt_tests::Answer {
    b.clock.set(at);
    let mut i =
        json!({ "groupId": group, "kind": "IN", "latitude": INSIDE.0, "longitude": INSIDE.1, "accuracyM": 20.0 });
    i.as_object_mut().unwrap().extend(input.as_object().unwrap().clone());
    srv.gql(CHECK, json!({ "i": i }), Some(&who.token)).await
}

fn checked(a: &xqt_tests::Answer) -> &Value {
    let c = &a.body["data"]["checkIn"];
    assert!(c.is_object(), "{:?}", a.body);
    c
}

async fn day_of(srv: &TestServer, viewer: &Person, group: &str, user: &Person, date: &str) -> Value {
    let a = srv.gql(DAYS, json!({ "g": group, "m": &date[..7], "u": user.id }), Some(&viewer.token)).await;
    let days = a.body["data"]["attendanceDays"].as_array().unwrap_or_else(|| panic!("{:?}", a.body));
    days.iter().find(|d| d["date"] == date).cloned().unwrap_or_else(|| panic!("no {date} in {days:?}"))
}

#[tokio::test]
async fn attendance_a_working_day_judged_and_explained_then_settled_at_day_end() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 7, factory()).await;
        let [a, bb, c, d, e, f, g] = &o.workers[..] else { unreachable!() };
        for w in &o.workers {
            grant(&srv, w, "location").await;
        }
        let group = o.group.as_str();

        // Too early: the window opens at 07:00.
        let r = check(b, &srv, a, group, china("2026-10-08", "06:30"), json!({})).await;
        assert_eq!(
            (r.code(), r.body["errors"][0]["extensions"]["reason"].as_str()),
            (Some("CONFLICT"), Some("OUTSIDE_WINDOW")),
            "{:?}",
            r.body
        );
        // On time, inside the fence, and why.
        let r = check(b, &srv, a, group, china("2026-10-08", "08:55"), json!({})).await;
        let c1 = checked(&r);
        assert_eq!(
            (c1["result"].as_str(), c1["inside"].as_bool(), c1["field"].as_bool()),
            (Some("NORMAL"), Some(true), Some(false))
        );
        let why = c1["explanation"].as_str().unwrap();
        assert!(
            why.contains("正常：上班时间 09:00，打卡 08:55")
                && why.contains("在考勤范围内：距「莫干山路厂区」100 米（半径 300 米，定位精度 ±20 米）"),
            "{why}"
        );
        let again = check(b, &srv, a, group, china("2026-10-08", "08:56"), json!({})).await;
        assert_eq!(again.body["errors"][0]["extensions"]["reason"], "ALREADY_CHECKED_IN", "{:?}", again.body);

        // Within the grace, and a retry of the same attempt answers the first record.
        let r = check(b, &srv, bb, group, china("2026-10-08", "09:03"), json!({ "clientId": "b-0001" })).await;
        let first = checked(&r).clone();
        assert_eq!(first["result"], "NORMAL");
        assert!(first["explanation"].as_str().unwrap().contains("晚 3 分钟，在 5 分钟宽限内"), "{first:?}");
        let r = check(b, &srv, bb, group, china("2026-10-08", "09:04"), json!({ "clientId": "b-0001" })).await;
        assert_eq!(checked(&r)["id"], first["id"], "a retried check-in is not a second one");

        // Late, seriously late, late beyond the absence line.
        let r = check(b, &srv, c, group, china("2026-10-08", "09:12"), json!({})).await;
        assert_eq!((checked(&r)["result"].as_str(), checked(&r)["minutes"].as_i64()), (Some("LATE"), Some(12)));
        assert!(
            checked(&r)["explanation"]
                .as_str()
                .unwrap()
                .contains("迟到 12 分钟：上班时间 09:00，打卡 09:12，超过 5 分钟宽限")
        );
        let r = check(b, &srv, d, group, china("2026-10-08", "09:45"), json!({})).await;
        assert_eq!((checked(&r)["result"].as_str(), checked(&r)["minutes"].as_i64()), (Some("SERIOUS_LATE"), Some(45)));
        let r = check(b, &srv, e, group, china("2026-10-08", "11:30"), json!({})).await;
        assert_eq!(checked(&r)["result"], "ABSENT");
        assert!(checked(&r)["explanation"].as_str().unwrap().contains("达到 120 分钟的旷工线"));

        // Outside the fence: refused with the numbers, unless it is a field check-in with a note.
        let r =
            check(b, &srv, f, group, china("2026-10-08", "09:00"), json!({ "latitude": FAR.0, "longitude": FAR.1 }))
                .await;
        let ext = &r.body["errors"][0]["extensions"];
        assert_eq!(
            (r.code(), ext["reason"].as_str(), ext["radiusM"].as_i64()),
            (Some("FORBIDDEN"), Some("OUTSIDE_FENCE"), Some(300)),
            "{:?}",
            r.body
        );
        assert!((1950..2050).contains(&ext["distanceM"].as_i64().unwrap()), "{ext:?}");
        let r = check(
            b,
            &srv,
            f,
            group,
            china("2026-10-08", "09:00"),
            json!({ "latitude": FAR.0, "longitude": FAR.1, "field": true }),
        )
        .await;
        assert_eq!(
            (r.code(), r.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("note"))
        );
        let r = check(
            b,
            &srv,
            f,
            group,
            china("2026-10-08", "09:00"),
            json!({ "latitude": FAR.0, "longitude": FAR.1, "field": true, "note": "在客户现场调试设备" }),
        )
        .await;
        let fc = checked(&r);
        assert_eq!(
            (fc["result"].as_str(), fc["field"].as_bool(), fc["inside"].as_bool()),
            (Some("NORMAL"), Some(true), Some(false))
        );
        assert!(fc["explanation"].as_str().unwrap().contains("按外勤打卡记录"), "{fc:?}");

        // Early leave, through the site's Wi-Fi although the GPS is far off; on time at the end.
        let r = check(
            b,
            &srv,
            a,
            group,
            china("2026-10-08", "17:30"),
            json!({ "kind": "OUT", "latitude": FAR.0, "longitude": FAR.1, "bssid": "aa:bb:cc:dd:ee:01" }),
        )
        .await;
        let out = checked(&r);
        assert_eq!(
            (out["result"].as_str(), out["minutes"].as_i64(), out["wifiMatched"].as_bool()),
            (Some("EARLY_LEAVE"), Some(30), Some(true))
        );
        assert!(
            out["explanation"].as_str().unwrap().contains("早退 30 分钟")
                && out["explanation"].as_str().unwrap().contains("考勤 Wi-Fi")
        );
        let r = check(b, &srv, c, group, china("2026-10-08", "18:05"), json!({ "kind": "OUT" })).await;
        assert_eq!(checked(&r)["result"], "NORMAL");

        // The admins see the whole day; a member sees nobody else's.
        let all = srv
            .gql(
                "query($g: ID!) { attendanceCheckIns(groupId: $g, date: \"2026-10-08\") { userId latitude } }",
                json!({ "g": group }),
                Some(&o.supervisor.token),
            )
            .await;
        assert_eq!(all.body["data"]["attendanceCheckIns"].as_array().unwrap().len(), 8, "{:?}", all.body);
        let peek = srv
            .gql(
                "query($g: ID!, $u: ID!) { attendanceCheckIns(groupId: $g, date: \"2026-10-08\", userId: $u) { id } }",
                json!({ "g": group, "u": bb.id }),
                Some(&a.token),
            )
            .await;
        assert_eq!(peek.code(), Some("NOT_FOUND"));
        let audited = xqt_privacy::audit::list(&srv.ctx, Some(bb.id), 10).await.unwrap();
        assert!(
            audited.iter().any(|r| r.resource == "attendance_check_ins"),
            "an admin's read of others' checks is audited"
        );

        // Before day end nothing is decided for those who did not check.
        assert_eq!(day_of(&srv, &o.supervisor, group, bb, "2026-10-08").await["status"], "OPEN");
        // After the check-out window (22:00), the job runner settles the day.
        b.clock.set(china("2026-10-08", "22:30"));
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().any(|r| r.kind == "attendance.settle" && r.ok), "{ran:?}");
        let absent = day_of(&srv, &o.supervisor, group, g, "2026-10-08").await;
        assert_eq!(
            (absent["status"].as_str(), absent["settled"].as_bool()),
            (Some("ABSENT"), Some(true)),
            "{absent:?}"
        );
        assert_eq!(absent["explanation"], "旷工：工作日没有打卡");
        let missing = day_of(&srv, &o.supervisor, group, bb, "2026-10-08").await;
        assert_eq!((missing["status"].as_str(), missing["outResult"].as_str()), (Some("MISSING"), Some("MISSING")));
        assert!(missing["explanation"].as_str().unwrap().contains("缺卡：没有下班打卡"), "{missing:?}");
        assert_eq!(day_of(&srv, a, group, a, "2026-10-08").await["status"], "EARLY_LEAVE");
        assert_eq!(day_of(&srv, &o.supervisor, group, c, "2026-10-08").await["status"], "LATE");
        assert_eq!(
            day_of(&srv, &o.supervisor, group, d, "2026-10-08").await["status"],
            "MISSING",
            "serious lateness, and no check-out"
        );
        let e_day = day_of(&srv, &o.supervisor, group, e, "2026-10-08").await;
        assert_eq!(e_day["status"], "ABSENT");
        assert!(e_day["explanation"].as_str().unwrap().contains("旷工线"), "{e_day:?}");
        assert_eq!(day_of(&srv, &o.supervisor, group, f, "2026-10-08").await["field"], true);

        // Settling again (another instance, a retried job) changes nothing.
        assert_eq!(xqt_attendance::settle::settle(&srv.ctx).await.unwrap(), 0);
        assert_eq!(day_of(&srv, &o.supervisor, group, g, "2026-10-08").await, absent);
        // The owner runs the group but does not check in in it.
        let r = check(b, &srv, &o.owner, group, china("2026-10-09", "09:00"), json!({})).await;
        assert_eq!(r.code(), Some("FORBIDDEN"));
    })
    .await;
}

#[tokio::test]
async fn attendance_make_up_requests_are_limited_decided_by_admins_and_audited() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 2, factory()).await;
        let [w, x] = &o.workers[..] else { unreachable!() };
        let group = o.group.as_str();
        b.clock.set(china("2026-10-08", "22:30"));
        run_jobs(&srv.ctx).await;
        assert_eq!(day_of(&srv, w, group, w, "2026-10-08").await["status"], "ABSENT");

        let vars = |d: &str, k: &str| json!({ "g": group, "d": d, "k": k, "r": "手机没电，未能打卡，有门卫登记为证" });
        let r = srv.gql(REQUEST, vars("2026-10-08", "IN"), Some(&w.token)).await;
        assert_eq!(r.body["data"]["requestMakeUp"]["state"], "PENDING", "{:?}", r.body);
        let id = r.body["data"]["requestMakeUp"]["id"].as_str().unwrap().to_owned();
        let told = xqt_notifications::inbox::all_for(&srv.ctx, o.supervisor.id).await.unwrap();
        assert!(
            told.iter().any(|n| n.kind == xqt_notifications::NotificationKind::MakeUpRequested),
            "the admins hear of it"
        );
        assert_eq!(
            srv.gql(REQUEST, vars("2026-10-08", "IN"), Some(&w.token)).await.code(),
            Some("CONFLICT"),
            "one request per check"
        );
        let r = srv.gql(REQUEST, json!({ "g": group, "d": "2026-10-08", "k": "IN", "r": "" }), Some(&x.token)).await;
        assert_eq!(
            (r.code(), r.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("reason"))
        );

        // Nobody decides their own; a member cannot decide another's.
        assert_eq!(srv.gql(DECIDE, json!({ "i": id, "a": true }), Some(&w.token)).await.code(), Some("FORBIDDEN"));
        assert_eq!(srv.gql(DECIDE, json!({ "i": id, "a": true }), Some(&x.token)).await.code(), Some("NOT_FOUND"));
        let r = srv.gql(DECIDE, json!({ "i": id, "a": true }), Some(&o.supervisor.token)).await;
        assert_eq!(r.body["data"]["decideMakeUp"]["state"], "APPROVED", "{:?}", r.body);
        assert_eq!(
            srv.gql(DECIDE, json!({ "i": id, "a": true }), Some(&o.supervisor.token)).await.code(),
            Some("CONFLICT")
        );
        let day = day_of(&srv, w, group, w, "2026-10-08").await;
        assert_eq!(
            (day["status"].as_str(), day["inResult"].as_str(), day["makeUps"].as_i64()),
            (Some("MISSING"), Some("NORMAL"), Some(1)),
            "{day:?}"
        );
        assert_eq!(day["checkIn"], json!({ "madeUp": true, "result": "NORMAL" }));
        let inbox = xqt_notifications::inbox::all_for(&srv.ctx, w.id).await.unwrap();
        assert!(inbox.iter().any(|n| n.title == "补卡申请已通过"));
        let audit = xqt_privacy::audit::list(&srv.ctx, Some(w.id), 20).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|r| r.resource == format!("attendance_make_up:{id}:approved")
                    && r.actor_id == Some(o.supervisor.id)),
            "{audit:?}"
        );

        // A rejection needs its reason, which the person is told.
        let r = srv.gql(REQUEST, vars("2026-10-08", "OUT"), Some(&w.token)).await;
        let out_id = r.body["data"]["requestMakeUp"]["id"].as_str().unwrap().to_owned();
        let r = srv.gql(DECIDE, json!({ "i": out_id, "a": false }), Some(&o.supervisor.token)).await;
        assert_eq!(
            (r.code(), r.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("reason"))
        );
        let r = srv
            .gql(DECIDE, json!({ "i": out_id, "a": false, "r": "门卫记录显示 17:10 离厂" }), Some(&o.owner.token))
            .await;
        assert_eq!(r.body["data"]["decideMakeUp"]["state"], "REJECTED");
        assert_eq!(r.body["data"]["decideMakeUp"]["decisionReason"], "门卫记录显示 17:10 离厂");
        let inbox = xqt_notifications::inbox::all_for(&srv.ctx, w.id).await.unwrap();
        assert!(inbox.iter().any(|n| n.title == "补卡申请未通过" && n.body.contains("门卫记录显示 17:10 离厂")));
        assert_eq!(
            day_of(&srv, w, group, w, "2026-10-08").await["outResult"],
            "MISSING",
            "a rejection changes nothing"
        );

        // Three a month (approved and pending count; the rejected one does not).
        b.clock.set(china("2026-10-09", "22:30"));
        run_jobs(&srv.ctx).await;
        for k in ["IN", "OUT"] {
            let r = srv.gql(REQUEST, vars("2026-10-09", k), Some(&w.token)).await;
            assert_eq!(r.body["data"]["requestMakeUp"]["state"], "PENDING", "{:?}", r.body);
        }
        let r = srv.gql(REQUEST, vars("2026-10-08", "OUT"), Some(&w.token)).await;
        let ext = &r.body["errors"][0]["extensions"];
        assert_eq!((ext["reason"].as_str(), ext["limit"].as_i64()), (Some("MAKE_UP_LIMIT"), Some(3)), "{:?}", r.body);
        let mine = srv
            .gql("query($g: ID!) { makeUpRequests(groupId: $g) { state } }", json!({ "g": group }), Some(&w.token))
            .await;
        assert_eq!(mine.body["data"]["makeUpRequests"].as_array().unwrap().len(), 4);
        let theirs = srv
            .gql(
                "query($g: ID!) { makeUpRequests(groupId: $g, state: PENDING) { userId } }",
                json!({ "g": group }),
                Some(&x.token),
            )
            .await;
        assert_eq!(theirs.body["data"]["makeUpRequests"], json!([]), "a member sees only their own");

        // Within three working days: from Thursday 10-08 they are Friday, the make-up Saturday
        // 10-10 (调休) and Monday 10-12.
        b.clock.set(china("2026-10-13", "09:30"));
        let r = srv.gql(REQUEST, vars("2026-10-08", "IN"), Some(&x.token)).await;
        let ext = &r.body["errors"][0]["extensions"];
        assert_eq!(
            (ext["reason"].as_str(), ext["deadline"].as_str()),
            (Some("MAKE_UP_TOO_LATE"), Some("2026-10-12")),
            "{:?}",
            r.body
        );
        let r = srv.gql(REQUEST, vars("2026-10-09", "IN"), Some(&x.token)).await;
        assert_eq!(r.body["data"]["requestMakeUp"]["state"], "PENDING", "Friday's deadline is Tuesday: {:?}", r.body);
    })
    .await;
}

#[tokio::test]
async fn attendance_a_month_across_national_day_and_a_make_up_saturday_with_its_csv_behind_an_expiring_link() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-09-30", "10:00"));
        let srv = b.start().await;
        let o = office(&srv, 2, factory()).await;
        let [w, idle] = &o.workers[..] else { unreachable!() };
        grant(&srv, w, "location").await;
        let group = o.group.as_str();
        let seed: [(&str, &str, &str, Value); 13] = [
            ("2026-10-03", "10:00", "IN", json!({})), // 国庆: recorded, not counted
            ("2026-10-08", "08:50", "IN", json!({})),
            ("2026-10-08", "18:10", "OUT", json!({})),
            ("2026-10-09", "09:20", "IN", json!({})), // late 20
            ("2026-10-09", "18:00", "OUT", json!({})),
            ("2026-10-10", "09:00", "IN", json!({})), // Saturday made a workday (调休)
            ("2026-10-10", "17:00", "OUT", json!({})), // early 60
            ("2026-10-12", "09:40", "IN", json!({})), // serious 40
            ("2026-10-12", "18:00", "OUT", json!({})),
            ("2026-10-13", "09:00", "IN", json!({ "latitude": FAR.0, "longitude": FAR.1, "field": true, "note": "去供应商处验货" })),
            ("2026-10-13", "18:00", "OUT", json!({})),
            ("2026-10-14", "09:00", "IN", json!({})), // no check-out
            ("2026-10-15", "08:59", "IN", json!({ "clientId": "w-1015" })),
        ];
        for (day, hm, kind, extra) in seed {
            let mut input = json!({ "kind": kind });
            input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let r = check(b, &srv, w, group, china(day, hm), input).await;
            checked(&r);
            if day == "2026-10-03" {
                assert_eq!(checked(&r)["result"], "OFF_DAY");
                assert!(checked(&r)["explanation"].as_str().unwrap().contains("法定节假日打卡（10:00），不计入考勤"));
            }
        }
        check(b, &srv, w, group, china("2026-10-15", "18:00"), json!({ "kind": "OUT" })).await;

        b.clock.set(china("2026-11-02", "10:00"));
        let a = srv.gql(MONTH, json!({ "g": group, "m": "2026-10" }), Some(&w.token)).await;
        // 22 weekdays, less 10-01, 10-02 and 10-05 … 10-07 (国庆), plus Saturday 10-10: 18 due.
        let expected = json!({
            "daysDue": 18, "daysWorked": 7, "late": 1, "seriousLate": 1, "lateMinutes": 60, "earlyLeave": 1,
            "absent": 11, "missing": 1, "field": 1, "makeUps": 0, "suspicious": 0, "through": "2026-10-31",
        });
        assert_eq!(a.body["data"]["attendanceMonth"], expected, "{:?}", a.body);
        let all = srv.gql("query($g: ID!) { attendanceGroupMonth(groupId: $g, month: \"2026-10\") { userId daysDue daysWorked absent } }", json!({ "g": group }), Some(&o.supervisor.token)).await;
        let rows = all.body["data"]["attendanceGroupMonth"].as_array().unwrap_or_else(|| panic!("{:?}", all.body));
        assert_eq!(rows.len(), 2, "members only, not the admins");
        let idle_row = rows.iter().find(|r| r["userId"] == idle.id.to_string()).unwrap();
        assert_eq!((idle_row["daysDue"].as_i64(), idle_row["daysWorked"].as_i64(), idle_row["absent"].as_i64()), (Some(18), Some(0), Some(18)));
        let refused = srv.gql("query($g: ID!) { attendanceGroupMonth(groupId: $g, month: \"2026-10\") { userId } }", json!({ "g": group }), Some(&w.token)).await;
        assert_eq!(refused.code(), Some("FORBIDDEN"), "admins see their groups' statistics");
        let other = srv.gql(MONTH, json!({ "g": group, "m": "2026-10", "u": idle.id }), Some(&w.token)).await;
        assert_eq!(other.code(), Some("NOT_FOUND"));
        let bad = srv.gql(MONTH, json!({ "g": group, "m": "2026-13" }), Some(&w.token)).await;
        assert_eq!((bad.code(), bad.body["errors"][0]["extensions"]["field"].as_str()), (Some("BAD_USER_INPUT"), Some("month")));

        // The CSV: a link for the admins, working without a token until it expires.
        let link = "mutation($g: ID!) { attendanceReport(groupId: $g, month: \"2026-10\") { url expiresAt } }";
        assert_eq!(srv.gql(link, json!({ "g": group }), Some(&w.token)).await.code(), Some("FORBIDDEN"));
        let a = srv.gql(link, json!({ "g": group }), Some(&o.supervisor.token)).await;
        let url = a.body["data"]["attendanceReport"]["url"].as_str().unwrap_or_else(|| panic!("{:?}", a.body)).to_owned();
        assert_eq!(a.body["data"]["attendanceReport"]["expiresAt"], "2026-11-02T03:00:00+00:00");
        let resp = srv.http.get(srv.url(&url)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = resp.text().await.unwrap();
        assert!(csv.starts_with('\u{feff}') && csv.contains("应出勤天数,出勤天数,迟到,严重迟到"), "{csv}");
        let line = csv.lines().find(|l| l.starts_with(&w.id.to_string())).unwrap_or_else(|| panic!("{csv}"));
        assert!(line.ends_with(",2026-10,18,7,1,1,60,1,11,1,1,0,0"), "{line}");
        let downloads = xqt_privacy::audit::list(&srv.ctx, Some(idle.id), 20).await.unwrap();
        assert!(downloads.iter().any(|r| r.resource.starts_with("attendance_report:") && r.actor_id == Some(o.supervisor.id)), "{downloads:?}");
        let tampered = url.replace("2026-10", "2026-09");
        assert_eq!(srv.http.get(srv.url(&tampered)).send().await.unwrap().status(), 404);
        b.clock.advance(Span::minutes(61));
        let expired = srv.http.get(srv.url(&url)).send().await.unwrap();
        assert_eq!(expired.status(), 403);
        let body: Value = expired.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["reason"], "LINK_EXPIRED", "{body:?}");
    })
    .await;
}

#[tokio::test]
async fn col_4_check_in_needs_location_consent_and_coarse_consent_stores_rounded_coordinates() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 1, factory()).await;
        let w = &o.workers[0];
        let point = json!({ "latitude": 30.27412, "longitude": 120.15515, "accuracyM": 15.0 });
        let r = check(b, &srv, w, &o.group, china("2026-10-08", "08:50"), point.clone()).await;
        assert_eq!((r.code(), r.body["errors"][0]["extensions"]["purpose"].as_str()), (Some("CONSENT_REQUIRED"), Some("location")), "{:?}", r.body);
        let october = (NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
        let stored = xqt_attendance::checkins::records(&srv.ctx, o.group.parse().unwrap(), w.id, october.0, october.1).await.unwrap();
        assert!(stored.is_empty(), "nothing was stored");

        grant(&srv, w, "location_coarse").await;
        let r = check(b, &srv, w, &o.group, china("2026-10-08", "08:50"), point.clone()).await;
        let c = checked(&r);
        assert_eq!((c["precision"].as_str(), c["latitude"].as_f64(), c["longitude"].as_f64()), (Some("COARSE"), Some(30.27), Some(120.16)), "{c:?}");
        assert_eq!(c["inside"], true, "within the rounding of the site");
        assert!(c["explanation"].as_str().unwrap().contains("按大致位置另加"), "{c:?}");
        let stored = xqt_attendance::checkins::find(&srv.ctx, c["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
        assert_eq!((stored.latitude, stored.longitude), (Some(30.27), Some(120.16)), "the precise point was never stored");

        // A group that asks for precise location refuses coarse consent.
        let a = srv.gql("mutation($g: ID!) { updateAttendanceGroup(id: $g, version: 1, settings: { name: \"生产部考勤\", allowCoarse: false }) { version allowCoarse } }", json!({ "g": o.group }), Some(&o.owner.token)).await;
        assert_eq!(a.body["data"]["updateAttendanceGroup"], json!({ "version": 2, "allowCoarse": false }), "{:?}", a.body);
        let stale = srv.gql("mutation($g: ID!) { updateAttendanceGroup(id: $g, version: 1, settings: { name: \"改名\" }) { version } }", json!({ "g": o.group }), Some(&o.owner.token)).await;
        assert_eq!(stale.body["errors"][0]["extensions"]["reason"], "STALE");
        let r = check(b, &srv, w, &o.group, china("2026-10-08", "18:00"), json!({ "kind": "OUT" })).await;
        assert_eq!((r.code(), r.body["errors"][0]["extensions"]["purpose"].as_str()), (Some("CONSENT_REQUIRED"), Some("location")));

        // Withdrawing the consent takes the coordinates off the person's check-ins.
        srv.ok("mutation { withdrawConsent(input: { purpose: \"location_coarse\" }) { action } }", json!({}), Some(&w.token)).await;
        run_jobs(&srv.ctx).await;
        let stored = xqt_attendance::checkins::find(&srv.ctx, stored.id).await.unwrap().unwrap();
        assert_eq!((stored.latitude, stored.longitude, stored.inside), (None, None, true), "the verdict stays, the position goes");
    })
    .await;
}

#[tokio::test]
async fn attendance_mock_location_and_impossible_travel_are_flagged_with_their_reasons() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 2, factory()).await;
        let [m, t] = &o.workers[..] else { unreachable!() };
        for w in [m, t] {
            grant(&srv, w, "location").await;
        }
        let r = check(b, &srv, m, &o.group, china("2026-10-08", "08:58"), json!({ "mocked": true })).await;
        let c = checked(&r);
        assert_eq!(c["suspicious"], true);
        assert_eq!(c["suspiciousReason"], "系统报告为模拟定位");
        assert_eq!(c["result"], "NORMAL", "flagged for the admins, not refused");

        checked(&check(b, &srv, t, &o.group, china("2026-10-08", "09:00"), json!({})).await);
        let beijing = json!({ "kind": "OUT", "latitude": 39.9042, "longitude": 116.4074, "field": true, "note": "到北京总部开会" });
        let r = check(b, &srv, t, &o.group, china("2026-10-08", "09:40"), beijing).await;
        let why = checked(&r)["suspiciousReason"].as_str().unwrap().to_owned();
        assert!(why.starts_with("行程不合理：与上次打卡（09:00）相距至少") && why.contains("相隔 40 分钟") && why.contains("超过每小时 800 公里"), "{why}");
        assert_eq!(day_of(&srv, &o.supervisor, &o.group, t, "2026-10-08").await["suspicious"], true);
        assert_eq!(day_of(&srv, &o.supervisor, &o.group, m, "2026-10-08").await["suspicious"], true);
    })
    .await;
}

fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 120]));
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn sec_2_rts_7_col_9_check_in_coordinates_coarsen_after_retention_and_every_record_is_exported_and_erased() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 2, factory()).await;
        let [w, other] = &o.workers[..] else { unreachable!() };
        grant(&srv, w, "location").await;
        let up = srv
            .http
            .post(srv.url("/files?purpose=attendance_photo"))
            .bearer_auth(&w.token)
            .body(photo())
            .send()
            .await
            .unwrap();
        assert_eq!(up.status(), 201);
        let photo_id = up.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let stranger = srv.person().await;
        let refused = srv
            .http
            .post(srv.url("/files?purpose=attendance_photo"))
            .bearer_auth(&stranger.token)
            .body(photo())
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "only members of a group upload field photos");

        let field =
            json!({ "latitude": FAR.0, "longitude": FAR.1, "field": true, "note": "客户现场", "photoId": photo_id });
        let r = check(b, &srv, w, &o.group, china("2026-10-08", "09:00"), field).await;
        let c = checked(&r).clone();
        assert_eq!(c["photoUrl"], format!("/files/{photo_id}"));
        grant(&srv, other, "location").await;
        let others =
            check(b, &srv, other, &o.group, china("2026-10-08", "09:01"), json!({ "photoId": photo_id })).await;
        assert_eq!(
            (others.code(), others.body["errors"][0]["extensions"]["field"].as_str()),
            (Some("BAD_USER_INPUT"), Some("photoId")),
            "nobody else's photo"
        );
        for (who, status) in [(&o.supervisor, 200), (w, 200), (other, 404)] {
            let resp =
                srv.http.get(srv.url(&format!("/files/{photo_id}"))).bearer_auth(&who.token).send().await.unwrap();
            assert_eq!(resp.status(), status);
        }

        let export = srv.ctx.modules.export(&srv.ctx, w.id).await.unwrap();
        let mine = &export["attendance"];
        assert_eq!(mine["checkIns"][0]["latitude"], FAR.0, "{mine:?}");
        assert_eq!(
            (mine["checkIns"][0]["accuracy_m"].as_f64(), mine["checkIns"][0]["mocked"].as_bool()),
            (Some(20.0), Some(false)),
            "what the device reported is the person's data too (COL-9)"
        );
        assert_eq!((mine["fieldPhotos"].as_array().unwrap().len(), mine["groups"].as_array().unwrap().len()), (1, 1));

        let id: uuid::Uuid = c["id"].as_str().unwrap().parse().unwrap();
        b.clock.advance(Span::days(89));
        srv.ctx.modules.run_retention(&srv.ctx, srv.ctx.clock.now()).await.unwrap();
        assert_eq!(
            xqt_attendance::checkins::find(&srv.ctx, id).await.unwrap().unwrap().latitude,
            Some(FAR.0),
            "kept for 90 days"
        );
        b.clock.advance(Span::days(2));
        let ran = run_jobs(&srv.ctx).await;
        assert!(ran.iter().any(|r| r.kind == "privacy.retention" && r.ok), "{ran:?}");
        let after = xqt_attendance::checkins::find(&srv.ctx, id).await.unwrap().unwrap();
        assert_eq!((after.latitude, after.longitude, after.accuracy_m, after.distance_m), (None, None, None, None));
        assert_eq!(after.precision, xqt_attendance::entity::record::Precision::Coarsened);
        assert_eq!(
            (after.site_id.is_some(), after.inside, after.field, after.result.as_str()),
            (true, false, true, "normal"),
            "the site and the verdicts stay"
        );

        srv.ctx.modules.erase(&srv.ctx, w.id, &xqt_kernel::module::Erasure::Everything).await.unwrap();
        assert!(xqt_attendance::checkins::find(&srv.ctx, id).await.unwrap().is_none());
        let gone =
            srv.http.get(srv.url(&format!("/files/{photo_id}"))).bearer_auth(&o.supervisor.token).send().await.unwrap();
        assert_eq!(gone.status(), 404);
        assert!(xqt_attendance::groups::of_user(&srv.ctx, w.id).await.unwrap().is_empty(), "out of every group");
    })
    .await;
}

#[tokio::test]
async fn attendance_reminds_before_the_shift_once_and_only_those_with_a_device_not_checked_in() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 3, json!({ "name": "生产部考勤", "remindBeforeMinutes": 15 })).await;
        let [p, q, r] = &o.workers[..] else { unreachable!() };
        for w in [p, r] {
            grant(&srv, w, "push_notifications").await;
            grant(&srv, w, "location").await;
            let t = format!("device-{}", w.id.simple());
            srv.ok(
                "mutation($t: String!) { registerPushDevice(platform: HUAWEI, token: $t) { id } }",
                json!({ "t": t }),
                Some(&w.token),
            )
            .await;
        }
        checked(&check(b, &srv, r, &o.group, china("2026-10-08", "08:44"), json!({})).await);
        let reminders = async |who: &Person| {
            xqt_notifications::push::sent_to(&srv.ctx, who.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.kind == xqt_notifications::NotificationKind::AttendanceReminder)
                .count()
        };
        b.clock.set(china("2026-10-08", "08:35"));
        run_jobs(&srv.ctx).await;
        assert_eq!(reminders(p).await, 0, "not yet: 15 minutes before 09:00");
        b.clock.set(china("2026-10-08", "08:46"));
        run_jobs(&srv.ctx).await;
        b.clock.set(china("2026-10-08", "08:51"));
        run_jobs(&srv.ctx).await;
        assert_eq!(
            (reminders(p).await, reminders(q).await, reminders(r).await),
            (1, 0, 0),
            "once; not without a device; not after checking in"
        );
        // Nobody is reminded on a rest day.
        b.clock.set(china("2026-10-11", "08:50"));
        run_jobs(&srv.ctx).await;
        assert_eq!(reminders(p).await, 1);
    })
    .await;
}

#[tokio::test]
async fn attendance_a_programmes_group_takes_its_sites_students_and_supervisors_from_the_roster() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let s = sides(&srv).await;
        let post = xqt_tests::cooperation::published(&srv, &s.enterprise_owner, Some(&s.enterprise), internship()).await;
        let (application, _) = accepted_application(&srv, &s, &post).await;
        let programme = programme(&srv, &s, &application).await;
        // Those who act again after the clock moves to the next morning need a token that lasts.
        let s = xqt_tests::cooperation::Sides {
            student: lasting(&srv, s.student.clone()),
            teacher: lasting(&srv, s.teacher.clone()),
            school_owner: lasting(&srv, s.school_owner.clone()),
            ..s
        };
        let input = json!({ "programmeId": programme, "settings": { "name": "数控实习考勤", "shift": { "start": "08:30", "end": "17:30" } } });
        let stranger = srv.verified_person().await;
        let a = srv.gql(CREATE_GROUP, json!({ "i": input }), Some(&stranger.token)).await;
        assert_eq!(a.code(), Some("NOT_FOUND"), "{:?}", a.body);
        let a = srv.gql(CREATE_GROUP, json!({ "i": input }), Some(&s.teacher.token)).await;
        let g = &a.body["data"]["createAttendanceGroup"];
        assert_eq!((g["sites"][0]["radiusM"].as_i64(), g["shift"]["start"].as_str()), (Some(500), Some("08:30")), "{:?}", a.body);
        let group = g["id"].as_str().unwrap().to_owned();
        let twice = srv.gql(CREATE_GROUP, json!({ "i": input }), Some(&s.teacher.token)).await;
        assert_eq!(twice.body["errors"][0]["extensions"]["field"], "programmeId");

        let members = srv.gql("query($g: ID!) { attendanceGroup(id: $g) { members { userId role } } }", json!({ "g": group }), Some(&s.teacher.token)).await;
        let mut got: Vec<(String, String)> = members.body["data"]["attendanceGroup"]["members"].as_array().unwrap().iter().map(|m| (m["userId"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned())).collect();
        got.sort();
        let mut want = vec![(s.teacher.id.to_string(), "ADMIN".to_owned()), (s.supervisor.id.to_string(), "ADMIN".to_owned()), (s.student.id.to_string(), "MEMBER".to_owned())];
        want.sort();
        assert_eq!(got, want);
        let add = srv.gql(ADD, json!({ "g": group, "u": [s.student.id] }), Some(&s.teacher.token)).await;
        assert_eq!(add.code(), Some("FORBIDDEN"), "a programme's group follows its roster");

        // The student checks in at the programme's site, at 08:30.
        grant(&srv, &s.student, "location").await;
        let r = check(b, &srv, &s.student, &group, china("2026-10-08", "08:40"), json!({ "latitude": HANGZHOU.0, "longitude": HANGZHOU.1 })).await;
        assert_eq!((checked(&r)["result"].as_str(), checked(&r)["minutes"].as_i64()), (Some("LATE"), Some(10)));

        // A second student joins the programme; a sync brings them in.
        let second = lasting(&srv, srv.verified_person().await);
        join(&srv, &s.school_owner, &s.school, &second, "STUDENT").await;
        srv.ok("mutation($p: ID!, $s: ID!) { inviteStudent(programmeId: $p, studentId: $s) }", json!({ "p": programme, "s": second.id }), Some(&s.teacher.token)).await;
        srv.ok("mutation($p: ID!) { answerProgrammeInvitation(programmeId: $p, join: true) }", json!({ "p": programme }), Some(&second.token)).await;
        let synced = srv.gql("mutation($g: ID!) { syncAttendanceGroup(groupId: $g) { userId role } }", json!({ "g": group }), Some(&s.teacher.token)).await;
        assert!(synced.body["data"]["syncAttendanceGroup"].as_array().unwrap().contains(&json!({ "userId": second.id.to_string(), "role": "MEMBER" })), "{:?}", synced.body);
        let theirs = srv.gql("{ attendanceGroups { name myRole today { date due kind label } } }", json!({}), Some(&second.token)).await;
        assert_eq!(theirs.body["data"]["attendanceGroups"], json!([{ "name": "数控实习考勤", "myRole": "MEMBER", "today": { "date": "2026-10-08", "due": true, "kind": "WORKDAY", "label": "工作日" } }]));
    })
    .await;
}

#[tokio::test]
async fn attendance_bad_input_is_refused_with_the_field_and_leavers_leave_the_group() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let srv = b.start().await;
        let o = office(&srv, 1, factory()).await;
        let w = &o.workers[0];
        let site = |extra: Value| {
            let mut s = json!({ "name": "厂区", "latitude": SITE.0, "longitude": SITE.1 });
            s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            s
        };
        let cases = [
            (json!({ "name": "考勤" }), vec![site(json!({ "radiusM": 50 }))], "sites.radiusM"),
            (json!({ "name": "考勤" }), vec![site(json!({ "bssids": ["not-a-bssid"] }))], "sites.bssids"),
            (json!({ "name": "考勤" }), vec![site(json!({ "latitude": 91.0 }))], "sites.location"),
            (json!({ "name": "考勤" }), vec![], "sites"),
            (
                json!({ "name": "考勤", "shift": { "start": "18:00", "end": "09:00" } }),
                vec![site(json!({}))],
                "shift.end",
            ),
            (
                json!({ "name": "考勤", "shift": { "start": "9 点", "end": "18:00" } }),
                vec![site(json!({}))],
                "shift.start",
            ),
            (
                json!({ "name": "考勤", "shift": { "start": "09:00", "end": "18:00", "seriousLateMinutes": 3 } }),
                vec![site(json!({}))],
                "shift.seriousLateMinutes",
            ),
            (json!({ "name": "考勤", "restDays": [8] }), vec![site(json!({}))], "restDays"),
            (json!({ "name": "考勤", "remindBeforeMinutes": 600 }), vec![site(json!({}))], "remindBeforeMinutes"),
            (json!({ "name": "" }), vec![site(json!({}))], "name"),
        ];
        for (settings, sites, field) in cases {
            let a = srv
                .gql(
                    CREATE_GROUP,
                    json!({ "i": { "organizationId": o.org, "settings": settings, "sites": sites } }),
                    Some(&o.owner.token),
                )
                .await;
            assert_eq!(
                (a.code(), a.body["errors"][0]["extensions"]["field"].as_str()),
                (Some("BAD_USER_INPUT"), Some(field)),
                "{:?}",
                a.body
            );
        }
        let a = srv
            .gql(
                CREATE_GROUP,
                json!({ "i": { "organizationId": o.org, "settings": factory(), "sites": [site(json!({}))] } }),
                Some(&w.token),
            )
            .await;
        assert_eq!(a.code(), Some("FORBIDDEN"), "an organisation's managers set up its attendance");
        grant(&srv, w, "location").await;
        for (input, field) in [
            (json!({ "latitude": 91.0 }), "latitude"),
            (json!({ "accuracyM": -1.0 }), "accuracyM"),
            (json!({ "bssid": "zz:zz" }), "bssid"),
            (json!({ "clientId": "有空格 的 id" }), "clientId"),
            (json!({ "photoId": uuid::Uuid::now_v7() }), "photoId"),
        ] {
            let r = check(b, &srv, w, &o.group, china("2026-10-08", "09:00"), input).await;
            assert_eq!(
                (r.code(), r.body["errors"][0]["extensions"]["field"].as_str()),
                (Some("BAD_USER_INPUT"), Some(field)),
                "{:?}",
                r.body
            );
        }
        // A location too inaccurate to place anyone is outside, and says so.
        let r = check(b, &srv, w, &o.group, china("2026-10-08", "09:00"), json!({ "accuracyM": 900.0 })).await;
        assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("超过允许的 ±500 米"), "{:?}", r.body);

        // Several sites: the nearest fence decides; replacing the sites takes effect at once.
        let sites = json!([
            { "name": "一号厂区", "latitude": SITE.0, "longitude": SITE.1 },
            { "name": "二号仓库", "latitude": FAR.0, "longitude": FAR.1, "radiusM": 500 },
        ]);
        let set = srv.gql("mutation($g: ID!, $s: [AttendanceSiteInput!]!) { setAttendanceSites(groupId: $g, sites: $s) { id name radiusM } }", json!({ "g": o.group, "s": sites }), Some(&o.supervisor.token)).await;
        let listed = set.body["data"]["setAttendanceSites"].as_array().unwrap_or_else(|| panic!("{:?}", set.body)).clone();
        assert_eq!(listed.len(), 2);
        let warehouse = listed.iter().find(|s| s["name"] == "二号仓库").unwrap()["id"].clone();
        let r = check(b, &srv, w, &o.group, china("2026-10-08", "09:00"), json!({ "latitude": FAR.0 + 0.003, "longitude": FAR.1 })).await;
        assert_eq!((checked(&r)["siteId"].clone(), checked(&r)["inside"].as_bool()), (warehouse, Some(true)), "{:?}", r.body);
        assert!(checked(&r)["explanation"].as_str().unwrap().contains("距「二号仓库」"));
        assert_eq!(srv.gql("mutation($g: ID!, $s: [AttendanceSiteInput!]!) { setAttendanceSites(groupId: $g, sites: $s) { id } }", json!({ "g": o.group, "s": sites }), Some(&w.token)).await.code(), Some("FORBIDDEN"), "members do not move the fences");

        // Someone who leaves the organisation leaves its groups.
        srv.ok(
            "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }",
            json!({ "o": o.org, "u": w.id }),
            Some(&o.owner.token),
        )
        .await;
        let groups = srv.gql("{ attendanceGroups { id } }", json!({}), Some(&w.token)).await;
        assert_eq!(groups.body["data"]["attendanceGroups"], json!([]));
        let r = check(b, &srv, w, &o.group, china("2026-10-09", "09:05"), json!({})).await;
        assert_eq!(r.code(), Some("NOT_FOUND"));
    })
    .await;
}

#[tokio::test]
async fn attendance_two_instances_settling_at_once_settle_each_day_exactly_once() {
    on_each_backend(async |b| {
        b.clock.set(china("2026-10-07", "20:00"));
        let one = b.start().await;
        let two = b.start().await;
        let o = office(&one, 12, factory()).await;
        grant(&one, &o.workers[0], "location").await;
        checked(&check(b, &one, &o.workers[0], &o.group, china("2026-10-08", "08:59"), json!({})).await);
        b.clock.set(china("2026-10-08", "22:30"));
        // Both instances' job runners take the settlement at the same moment.
        let (a, c) = tokio::join!(xqt_attendance::settle::settle(&one.ctx), xqt_attendance::settle::settle(&two.ctx));
        let (a, c) = (a.expect("instance one settles"), c.expect("instance two settles"));
        // Twelve members, two days each since they joined (the holiday 10-07 and 10-08).
        assert_eq!(a + c, 24, "each day settled by exactly one of them ({a} + {c})");
        let group: uuid::Uuid = o.group.parse().unwrap();
        let october = (NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
        let mut absent = 0;
        for w in &o.workers {
            let days = xqt_attendance::checkins::days(&two.ctx, group, w.id, october.0, october.1).await.unwrap();
            assert_eq!(days.len(), 2, "one row per person and day");
            assert!(days.iter().all(|d| d.settled_at.is_some()));
            absent += days.iter().filter(|d| xqt_attendance::checkins::absent(d)).count();
        }
        assert_eq!(absent, 11, "everyone but the one who checked in was absent on 10-08; 10-07 was a holiday");
        assert_eq!(xqt_attendance::settle::settle(&two.ctx).await.unwrap(), 0);
    })
    .await;
}
