//! `xqt seed-demo`'s data, as a newcomer meets it: the printed accounts sign in, and what they
//! see is the platform in use — conversations with messages, posts, a programme, check-ins on
//! the last three working days. Seeding twice changes nothing.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::json;
use xqt::demo::{PEOPLE, Seeded, last_working_days, seed_on};
use xqt_tests::on_each_backend;

#[tokio::test]
async fn the_demo_signs_in_and_shows_a_platform_in_use_and_seeds_once() {
    on_each_backend(async |b| {
        let srv = b.start().await;
        let now = Utc::now();
        assert_eq!(seed_on(&srv.ctx, &b.clock, now).await.expect("seeds"), Seeded::Now);
        let users = xqt_accounts::users::account_ids_after(&srv.ctx, None, 100).await.unwrap().len();
        assert_eq!(seed_on(&srv.ctx, &b.clock, now).await.expect("again"), Seeded::Already);
        assert_eq!(
            xqt_accounts::users::account_ids_after(&srv.ctx, None, 100).await.unwrap().len(),
            users,
            "nobody twice"
        );
        assert_eq!(users, PEOPLE.len());
        b.clock.set(now);

        // 刘洋, a student in the internship, signs in with the phone the seed printed.
        let liu = srv.sign_in(PEOPLE[5].0).await;
        let me = srv.ok("{ me { nickname verified } }", json!({}), Some(&liu.token)).await;
        assert_eq!(me["me"], json!({ "nickname": "刘洋", "verified": true }));

        let list = srv
            .ok(
                "{ conversations(first: 20) { edges { node { kind lastMessage { text } } } } }",
                json!({}),
                Some(&liu.token),
            )
            .await;
        let previews: Vec<&str> = list["conversations"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["node"]["lastMessage"]["text"].as_str())
            .collect();
        assert_eq!(previews, ["好的，谢谢老师。"], "{list}");

        let feed = srv.ok("{ posts(first: 20) { edges { node { title } } } }", json!({}), Some(&liu.token)).await;
        assert_eq!(feed["posts"]["edges"].as_array().unwrap().len(), 3, "{feed}");
        let programmes = srv.ok("{ myProgrammes { title } }", json!({}), Some(&liu.token)).await;
        assert_eq!(programmes["myProgrammes"], json!([{ "title": "数控技术专业跟岗实习" }]));

        // Three working days on time, in whichever months they fall.
        let groups = srv.ok("{ attendanceGroups { id name } }", json!({}), Some(&liu.token)).await;
        let group = groups["attendanceGroups"][0]["id"].as_str().expect("a group").to_owned();
        let days = last_working_days(&srv.ctx.calendar, xqt_kernel::clock::china_date(now), 3);
        let months: BTreeSet<String> = days.iter().map(|d| d.format("%Y-%m").to_string()).collect();
        let mut worked = 0;
        for month in months {
            let q =
                "query($g: ID!, $m: String!) { attendanceDays(groupId: $g, month: $m) { date inResult outResult } }";
            let a = srv.ok(q, json!({ "g": group, "m": month }), Some(&liu.token)).await;
            for day in a["attendanceDays"].as_array().unwrap() {
                assert_eq!(
                    (day["inResult"].as_str(), day["outResult"].as_str()),
                    (Some("NORMAL"), Some("NORMAL")),
                    "{day}"
                );
                worked += 1;
            }
        }
        assert_eq!(worked, 3);

        // The platform admin the seed made reviews with the admin role.
        let admin = srv.sign_in(PEOPLE[0].0).await;
        srv.ok("{ partners { id } }", json!({}), Some(&admin.token)).await;
    })
    .await;
}
