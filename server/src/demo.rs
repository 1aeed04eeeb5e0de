//! `xqt seed-demo`: fills a development database with a small, realistic platform — two schools
//! and two enterprises in Zhejiang, their people (verified), posts, an accepted application with
//! its conversation, an internship programme with an attendance group and three working days of
//! check-ins, and a direct conversation — then prints the accounts to sign in with.
//!
//! Everything goes through the GraphQL API in-process, as each person (the same checks, the same
//! notifications and audit as a client would cause); only what needs a reviewer's hand off the
//! API (real-name approval) calls the module's service. The seed runs on a clock that starts
//! three working days ago and moves forward, so the check-ins are on real working days.
//! Idempotent: a database that holds the demo is left as it is and its accounts are printed again.
//! Refused in production.

use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::clock::{ManualClock, china_date, china_offset};
use xqt_kernel::config::{Config, Environment};
use xqt_kernel::{AppContext, Viewer};

/// Who the demo has: phone, real name, nickname, what they are.
pub const PEOPLE: [(&str, &str, &str, &str); 8] = [
    ("13800000000", "周平", "平台审核", "platform admin"),
    ("13800000001", "王建国", "王总", "owner of 杭州精工数控机床有限公司"),
    ("13800000002", "李娜", "李娜", "supervisor at 杭州精工数控机床有限公司"),
    ("13800000003", "张伟", "张校长", "owner of 杭州职业技术学院"),
    ("13800000004", "陈静", "陈老师", "teacher at 杭州职业技术学院"),
    ("13800000005", "刘洋", "刘洋", "student at 杭州职业技术学院, in the internship"),
    ("13800000006", "赵敏", "小敏", "student at 杭州职业技术学院, in the internship"),
    ("13800000007", "孙浩", "浩子", "owner of 宁波海天智能装备有限公司 (and, for the demo, 浙江机电职业技术学院)"),
];

/// 杭州精工's factory on 莫干山路, the internship site.
const FACTORY: (f64, f64) = (30.2741, 120.1551);

struct Seeder {
    ctx: AppContext,
    clock: ManualClock,
    schema: xqt_schema::AppSchema,
}

/// A signed-in demo person.
#[derive(Clone)]
struct Someone {
    id: String,
    viewer: Viewer,
}

pub async fn seed(config: Config) -> anyhow::Result<()> {
    if config.env == Environment::Production {
        bail!("seed-demo fills a database with demo people; it does not run in production");
    }
    let clock = ManualClock::new(Utc::now());
    let ctx = crate::prepare(config, Arc::new(clock.clone())).await?;
    match seed_on(&ctx, &clock, Utc::now()).await? {
        Seeded::Now => println!(
            "seeded the demo: 4 organisations, {} people, 3 posts, a programme with 3 days of check-ins, 2 conversations",
            PEOPLE.len()
        ),
        Seeded::Already => println!("the demo is already in this database (nothing changed)"),
    }
    print_accounts();
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    Now,
    Already,
}

/// Seeds `ctx`, whose clock is `clock`, as of `now`: the clock is moved back to three working
/// days ago and forward through them, and left an hour before `now`.
pub async fn seed_on(ctx: &AppContext, clock: &ManualClock, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let admin_phone = xqt_accounts::phone::Phone::parse(PEOPLE[0].0).map_err(|e| app(e.into()))?;
    if xqt_accounts::users::find_by_phone(ctx, &admin_phone).await.map_err(app)?.is_some() {
        return Ok(Seeded::Already);
    }
    let days = last_working_days(&ctx.calendar, china_date(now), 3);
    clock.set(china_time(days[0], 7, 30));
    let s = Seeder { ctx: ctx.clone(), clock: clock.clone(), schema: xqt_schema::build(ctx.clone()) };
    s.run(&days, now).await?;
    Ok(Seeded::Now)
}

/// An `AppError` as the seed reports it: its message.
fn app(e: xqt_kernel::AppError) -> anyhow::Error {
    anyhow!("{}", e.message())
}

fn print_accounts() {
    println!();
    println!("sign in with any of these (requestSignInCode, then `xqt sms last --phone <phone>` for the code):");
    for (phone, name, _, what) in PEOPLE {
        println!("  {phone}  {name:<4}  {what}");
    }
}

/// The `n` working days before `today`, oldest first.
pub fn last_working_days(calendar: &xqt_kernel::calendar::WorkCalendar, today: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> =
        (1..60).map(|back| today - Duration::days(back)).filter(|d| calendar.is_working_day(*d)).take(n).collect();
    days.reverse();
    days
}

fn china_time(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).expect("a time of day");
    china_offset().from_local_datetime(&local).single().expect("China has no DST").with_timezone(&Utc)
}

impl Seeder {
    /// One operation as `who`; any error stops the seed, naming the step.
    async fn gql(&self, who: &Someone, step: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(who.viewer.clone())
            .data(RequestMeta { request_id: format!("seed-demo {step}"), ip: None });
        let response = self.schema.execute(request).await;
        if let Some(e) = response.errors.first() {
            bail!("seeding failed at {step}: {}", e.message);
        }
        Ok(response.data.into_json()?)
    }

    /// Signs a demo person up the way the app does (a code by SMS), with their real name
    /// approved by the platform's reviewer.
    async fn person(
        &self,
        (phone, real_name, nickname, _): (&str, &str, &str, &str),
        seq: u32,
    ) -> anyhow::Result<Someone> {
        let anonymous = Someone { id: String::new(), viewer: Viewer::Anonymous };
        self.gql(
            &anonymous,
            "requestSignInCode",
            "mutation($p: String!) { requestSignInCode(phone: $p) }",
            json!({ "p": phone }),
        )
        .await?;
        let parsed = xqt_accounts::phone::Phone::parse(phone).map_err(|e| app(e.into()))?;
        let text = xqt_accounts::sms::latest_to(&self.ctx, &parsed).await.map_err(app)?;
        let code = text.as_deref().and_then(xqt_accounts::cli::code_in).context("the sign-in code")?.to_owned();
        let signed_in = self
            .gql(
                &anonymous,
                "signInWithCode",
                "mutation($i: SignInWithCodeInput!) { signInWithCode(input: $i) { accessToken } }",
                json!({ "i": { "phone": phone, "code": code, "device": { "deviceId": "seed-demo", "model": "seed-demo" } } }),
            )
            .await?;
        let token = signed_in["signInWithCode"]["accessToken"].as_str().context("an access token")?;
        let viewer = self.ctx.authenticate(Some(&format!("Bearer {token}"))).await.map_err(app)?.viewer;
        let user = viewer.person_id().context("a person")?;
        let who = Someone { id: user.to_string(), viewer };
        self.gql(
            &who,
            "updateProfile",
            "mutation($n: String!) { updateProfile(input: { nickname: $n }) { id } }",
            json!({ "n": nickname }),
        )
        .await?;
        // Resident ID numbers of 杭州市西湖区 (330106), born 1970–2004, distinct per person.
        let born = if seq >= 5 { 2004 } else { 1970 + seq * 3 };
        let id_number = xqt_accounts::verification::with_id_check(&format!(
            "330106{born}{:02}{:02}{:03}",
            1 + seq % 12,
            10 + seq,
            100 + seq
        ));
        let submitted =
            xqt_accounts::verification::submit(&self.ctx, user, real_name, &id_number).await.map_err(app)?;
        for action in [xqt_accounts::review::ReviewAction::Start, xqt_accounts::review::ReviewAction::Approve] {
            xqt_accounts::verification::review(&self.ctx, user, submitted.id, action, None).await.map_err(app)?;
        }
        Ok(who)
    }

    /// An organisation created by its owner and approved by the platform admin.
    async fn organization(
        &self,
        (owner, admin): (&Someone, &Someone),
        kind: &str,
        input: Value,
        credit_body: &str,
    ) -> anyhow::Result<String> {
        let created = self
            .gql(owner, "createOrganization", "mutation($k: OrganizationKind!, $i: OrganizationInput!) { createOrganization(kind: $k, input: $i) { id } }", json!({ "k": kind, "i": input }))
            .await?;
        let id = created["createOrganization"]["id"].as_str().context("an organisation id")?.to_owned();
        let code = xqt_accounts::organizations::with_credit_check(credit_body);
        self.gql(
            owner,
            "submitOrganizationVerification",
            "mutation($id: ID!, $c: String!) { submitOrganizationVerification(id: $id, creditCode: $c) { id } }",
            json!({ "id": id, "c": code }),
        )
        .await?;
        for action in ["START", "APPROVE"] {
            self.gql(admin, "reviewOrganizationVerification", "mutation($id: ID!, $a: ReviewAction!) { reviewOrganizationVerification(id: $id, action: $a) { verification } }", json!({ "id": id, "a": action }))
                .await?;
        }
        Ok(id)
    }

    async fn join(&self, manager: &Someone, org: &str, person: &Someone, role: &str) -> anyhow::Result<()> {
        let invite = self
            .gql(manager, "createOrganizationInvite", "mutation($o: ID!, $r: MemberRole!) { createOrganizationInvite(organizationId: $o, role: $r, maxUses: 1) { code } }", json!({ "o": org, "r": role }))
            .await?;
        let code = invite["createOrganizationInvite"]["code"].as_str().context("an invite code")?;
        self.gql(
            person,
            "joinOrganization",
            "mutation($c: String!) { joinOrganization(code: $c) { id } }",
            json!({ "c": code }),
        )
        .await?;
        Ok(())
    }

    async fn post(&self, who: &Someone, org: &str, input: Value) -> anyhow::Result<String> {
        let created = self
            .gql(
                who,
                "createPost",
                "mutation($o: ID, $i: PostInput!) { createPost(organizationId: $o, input: $i) { id } }",
                json!({ "o": org, "i": input }),
            )
            .await?;
        let id = created["createPost"]["id"].as_str().context("a post id")?.to_owned();
        self.gql(who, "publishPost", "mutation($p: ID!) { publishPost(id: $p) { id } }", json!({ "p": id })).await?;
        Ok(id)
    }

    async fn say(&self, who: &Someone, conversation: &str, n: usize, text: &str) -> anyhow::Result<()> {
        self.clock.advance(Duration::minutes(3));
        let input = json!({ "conversationId": conversation, "clientMessageId": format!("seed-demo-{n}"), "kind": "TEXT", "text": text });
        self.gql(
            who,
            "sendMessage",
            "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await?;
        Ok(())
    }

    async fn run(&self, days: &[NaiveDate], now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut people = Vec::new();
        for (seq, person) in PEOPLE.iter().enumerate() {
            if seq == 0 {
                xqt_accounts::users::create_admin(&self.ctx, person.0).await.map_err(app)?;
            }
            people.push(self.person(*person, seq as u32).await?);
        }
        let [admin, boss, supervisor, principal, teacher, liu, zhao, sun] = &people[..] else { unreachable!() };

        let org = |name: &str, region: &str, address: &str, industry: &str, at: (f64, f64)| json!({ "name": name, "region": region, "address": address, "industry": industry, "latitude": at.0, "longitude": at.1 });
        let enterprise = self
            .organization(
                (boss, admin),
                "ENTERPRISE",
                org("杭州精工数控机床有限公司", "浙江省杭州市", "杭州市拱墅区莫干山路 100 号", "制造业", FACTORY),
                "91330105MA2CFG01X",
            )
            .await?;
        let school = self
            .organization(
                (principal, admin),
                "SCHOOL",
                org("杭州职业技术学院", "浙江省杭州市", "杭州市钱塘区学源街 68 号", "教育", (30.3093, 120.3825)),
                "12330000470051234",
            )
            .await?;
        let ningbo = self
            .organization(
                (sun, admin),
                "ENTERPRISE",
                org(
                    "宁波海天智能装备有限公司",
                    "浙江省宁波市",
                    "宁波市北仑区小港街道江南路 1 号",
                    "装备制造",
                    (29.9270, 121.8440),
                ),
                "91330206MA2H7K02X",
            )
            .await?;
        self.organization(
            (sun, admin),
            "SCHOOL",
            org("浙江机电职业技术学院", "浙江省杭州市", "杭州市滨江区滨文路 528 号", "教育", (30.2084, 120.2080)),
            "12330000470052345",
        )
        .await?;
        self.join(boss, &enterprise, supervisor, "MEMBER").await?;
        self.join(principal, &school, teacher, "TEACHER").await?;
        self.join(principal, &school, liu, "STUDENT").await?;
        self.join(principal, &school, zhao, "STUDENT").await?;

        let first = days[0];
        let internship = self
            .post(boss, &enterprise, json!({
                "kind": "INTERNSHIP",
                "title": "数控机床操作实习生",
                "body": "招聘数控技术专业实习生五名，在莫干山路厂区跟岗学习数控机床的操作、编程与日常维护，配师傅带教，提供午餐与交通补贴，表现优秀者毕业后可留用。",
                "industry": "制造业",
                "region": "浙江省杭州市",
                "address": "杭州市拱墅区莫干山路 100 号",
                "latitude": FACTORY.0,
                "longitude": FACTORY.1,
                "headcount": 5,
                "startsOn": first.to_string(),
                "endsOn": (first + Duration::days(120)).to_string(),
                "tags": ["数控", "实习", "制造"],
            }))
            .await?;
        self.post(sun, &ningbo, json!({
            "kind": "ORDER_CLASS",
            "title": "注塑机装配订单班（2027 级）",
            "body": "面向机电一体化专业开设订单班三十人，企业工程师进校授课，第三学年到北仑基地顶岗实习，毕业后直接入职，学费由企业资助一半。",
            "industry": "装备制造",
            "region": "浙江省宁波市",
            "address": "宁波市北仑区小港街道江南路 1 号",
            "latitude": 29.9270,
            "longitude": 121.8440,
            "headcount": 30,
            "startsOn": (first + Duration::days(200)).to_string(),
            "endsOn": (first + Duration::days(900)).to_string(),
            "tags": ["订单班", "机电一体化", "宁波"],
        }))
        .await?;
        self.post(principal, &school, json!({
            "kind": "INTERNSHIP",
            "title": "数控技术专业学生寻找春季实习岗位",
            "body": "我校数控技术专业有二十名三年级学生需要春季跟岗实习，希望与杭州及周边的机械加工企业合作，学校安排带队教师全程跟进。",
            "industry": "制造业",
            "region": "浙江省杭州市",
            "headcount": 20,
            "startsOn": (first + Duration::days(90)).to_string(),
            "endsOn": (first + Duration::days(200)).to_string(),
            "tags": ["数控", "学生", "春季实习"],
        }))
        .await?;

        // The school applies; the enterprise accepts, which opens their conversation.
        let applied = self
            .gql(principal, "applyToPost", "mutation($p: ID!, $o: ID, $m: String) { applyToPost(postId: $p, organizationId: $o, message: $m) { id } }", json!({ "p": internship, "o": school, "m": "我校数控技术专业两名学生申请贵公司实习岗位，带队教师陈静。" }))
            .await?;
        let application = applied["applyToPost"]["id"].as_str().context("an application")?.to_owned();
        let accepted = self
            .gql(
                boss,
                "stepApplication",
                "mutation($i: ID!) { stepApplication(id: $i, step: ACCEPT) { conversationId } }",
                json!({ "i": application }),
            )
            .await?;
        let negotiation = accepted["stepApplication"]["conversationId"]
            .as_str()
            .context("the application's conversation")?
            .to_owned();
        self.say(boss, &negotiation, 1, "张校长您好，欢迎贵校学生来厂实习，下周一可以到岗吗？").await?;
        self.say(principal, &negotiation, 2, "可以的，陈老师会带学生过来，实习协议请发我们审阅。").await?;

        let programme = self
            .gql(
                principal,
                "createProgramme",
                "mutation($i: ProgrammeInput!) { createProgramme(input: $i) { id } }",
                json!({ "i": {
                "applicationId": application,
                "title": "数控技术专业跟岗实习",
                "startsOn": first.to_string(),
                "endsOn": (first + Duration::days(120)).to_string(),
                "schoolSupervisorId": teacher.id,
                "enterpriseSupervisorId": supervisor.id,
                "sites": [{ "name": "莫干山路厂区", "latitude": FACTORY.0, "longitude": FACTORY.1, "radiusM": 300 }],
            } }),
            )
            .await?;
        let programme = programme["createProgramme"]["id"].as_str().context("a programme")?.to_owned();
        for student in [liu, zhao] {
            self.gql(
                teacher,
                "inviteStudent",
                "mutation($p: ID!, $s: ID!) { inviteStudent(programmeId: $p, studentId: $s) }",
                json!({ "p": programme, "s": student.id }),
            )
            .await?;
            self.gql(
                student,
                "answerProgrammeInvitation",
                "mutation($p: ID!) { answerProgrammeInvitation(programmeId: $p, join: true) }",
                json!({ "p": programme }),
            )
            .await?;
            self.gql(
                student,
                "grantConsent",
                "mutation { grantConsent(input: { purpose: \"location\" }) { id } }",
                json!({}),
            )
            .await?;
        }
        let group = self
            .gql(teacher, "createAttendanceGroup", "mutation($i: AttendanceGroupInput!) { createAttendanceGroup(input: $i) { id } }", json!({ "i": { "programmeId": programme, "settings": { "name": "数控实习考勤", "shift": { "start": "08:30", "end": "17:30" } } } }))
            .await?;
        let group = group["createAttendanceGroup"]["id"].as_str().context("an attendance group")?.to_owned();

        // Three working days: 刘洋 on time each day; 赵敏 late once and a field check once.
        let check = "mutation($i: CheckInInput!) { checkIn(input: $i) { id } }";
        for (n, day) in days.iter().enumerate() {
            for (who, (h_in, m_in), (h_out, m_out), field) in
                [(liu, (8, 21), (17, 36), false), (zhao, if n == 1 { (8, 47) } else { (8, 26) }, (17, 41), n == 2)]
            {
                for (kind, h, m) in [("IN", h_in, m_in), ("OUT", h_out, m_out)] {
                    self.clock.set(china_time(*day, h, m));
                    let (lat, lng) = if field { (30.2905, 120.1630) } else { (FACTORY.0 + 0.0004, FACTORY.1) };
                    let mut input = json!({ "groupId": group, "kind": kind, "latitude": lat, "longitude": lng, "accuracyM": 18.0, "clientId": format!("seed-demo-{n}-{kind}-{}", who.id) });
                    if field {
                        input["field"] = json!(true);
                        input["note"] = json!("随李娜师傅到客户现场调试设备");
                    }
                    self.gql(who, "checkIn", check, json!({ "i": input })).await?;
                }
            }
        }

        // A direct conversation, an hour ago.
        self.clock.set(now - Duration::hours(1));
        let direct = self
            .gql(
                liu,
                "openDirectConversation",
                "mutation($u: ID!) { openDirectConversation(userId: $u) { id } }",
                json!({ "u": teacher.id }),
            )
            .await?;
        let direct = direct["openDirectConversation"]["id"].as_str().context("a conversation")?.to_owned();
        self.say(liu, &direct, 3, "陈老师，今天师傅教我们用 FANUC 系统编程了。").await?;
        self.say(teacher, &direct, 4, "很好！记得写实习日志，周五交给我。").await?;
        self.say(liu, &direct, 5, "好的，谢谢老师。").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    #[test]
    fn the_last_working_days_skip_weekends_and_holidays() {
        let calendar = xqt_kernel::calendar::WorkCalendar::built_in();
        // Tuesday 2026-10-13: Monday 10-12 works, Sunday 10-11 rests, Saturday 10-10 is a make-up
        // workday; 10-01..07 is National Day.
        let days = super::last_working_days(&calendar, NaiveDate::from_ymd_opt(2026, 10, 13).unwrap(), 4);
        let want: Vec<NaiveDate> =
            ["2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"].iter().map(|d| d.parse().unwrap()).collect();
        assert_eq!(days, want);
        let days = super::last_working_days(&calendar, NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(), 1);
        assert_eq!(days, [NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()], "over the holiday");
    }
}
