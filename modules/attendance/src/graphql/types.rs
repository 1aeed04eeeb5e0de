use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::entity::day;
use crate::entity::make_up::{self, MakeUpState};
use crate::entity::member::{self, AttendanceRole};
use crate::entity::record::{self, Precision, PunchKind, PunchResult, PunchSource};
use crate::entity::{group, site};
use crate::error::invalid;
use crate::groups::{self, Settings, SiteInput};
use crate::rules::{self, Shift};
use crate::stats::MonthStats;

fn parse_time(field: &'static str, s: &str) -> Result<i32> {
    let t = chrono::NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| invalid(field, "a time as HH:MM"))?;
    use chrono::Timelike;
    Ok((t.hour() * 60 + t.minute()) as i32)
}

/// A fixed shift. Times are China time (UTC+8), `HH:MM`; `end` may be `24:00`.
#[derive(InputObject)]
pub struct ShiftInput {
    pub start: String,
    pub end: String,
    /// Minutes after the start still on time (default 5).
    pub late_grace_minutes: Option<i32>,
    /// Minutes before the end still not an early leave (default 0).
    pub early_grace_minutes: Option<i32>,
    /// Minutes late from which lateness is serious (default 30).
    pub serious_late_minutes: Option<i32>,
    /// Minutes late from which the day is an absence (default 120).
    pub absent_late_minutes: Option<i32>,
    /// How long before the start check-in opens (default 120).
    pub check_in_opens_minutes: Option<i32>,
    /// How long after the end check-out stays open (default 240).
    pub check_out_closes_minutes: Option<i32>,
}

impl ShiftInput {
    fn shift(&self) -> Result<Shift> {
        let d = Shift::default();
        let end = if self.end == "24:00" { rules::MINUTES_PER_DAY } else { parse_time("shift.end", &self.end)? };
        Ok(Shift {
            start: parse_time("shift.start", &self.start)?,
            end,
            late_grace: self.late_grace_minutes.unwrap_or(d.late_grace),
            early_grace: self.early_grace_minutes.unwrap_or(d.early_grace),
            serious_late: self.serious_late_minutes.unwrap_or(d.serious_late),
            absent_late: self.absent_late_minutes.unwrap_or(d.absent_late),
            opens_before: self.check_in_opens_minutes.unwrap_or(d.opens_before),
            closes_after: self.check_out_closes_minutes.unwrap_or(d.closes_after),
        })
    }
}

/// A group's rules; on update every field is replaced (what is left out takes its default).
#[derive(InputObject)]
pub struct AttendanceSettingsInput {
    pub name: String,
    /// 09:00–18:00 with the default thresholds when left out.
    pub shift: Option<ShiftInput>,
    /// ISO weekdays off: 6 = Saturday, 7 = Sunday (the default).
    pub rest_days: Option<Vec<i32>>,
    /// Statutory holidays off and make-up workdays (调休) on (default true).
    #[graphql(default = true)]
    pub follows_holidays: bool,
    /// Field check-ins (外勤) outside the fences, with a note (default true).
    #[graphql(default = true)]
    pub allow_field: bool,
    /// Members who consented to coarse location only may check in (judged with the rounding as
    /// uncertainty). Default true; false asks everyone for precise location.
    #[graphql(default = true)]
    pub allow_coarse: bool,
    /// Push a reminder this many minutes before the start to members not checked in (5–120).
    pub remind_before_minutes: Option<i32>,
}

impl AttendanceSettingsInput {
    pub fn settings(&self) -> Result<Settings> {
        let rest_days = match &self.rest_days {
            None => vec![6, 7],
            Some(days) => days
                .iter()
                .map(|d| u32::try_from(*d).map_err(|_| invalid("restDays", "ISO weekdays 1 to 7")))
                .collect::<Result<_, _>>()?,
        };
        Ok(Settings {
            name: self.name.clone(),
            shift: self.shift.as_ref().map(ShiftInput::shift).transpose()?.unwrap_or_default(),
            rest_days,
            follows_holidays: self.follows_holidays,
            allow_field: self.allow_field,
            allow_coarse: self.allow_coarse,
            remind_before: self.remind_before_minutes,
        })
    }
}

#[derive(InputObject)]
#[graphql(name = "AttendanceSiteInput")]
pub struct SiteFields {
    pub name: String,
    pub address: Option<String>,
    /// WGS-84.
    pub latitude: f64,
    pub longitude: f64,
    /// 100–3000 m, 300 when left out.
    pub radius_m: Option<i32>,
    /// Wi-Fi access points that count as being at the site (`aa:bb:cc:dd:ee:ff`).
    #[graphql(default)]
    pub bssids: Vec<String>,
}

impl SiteFields {
    pub fn input(&self) -> SiteInput {
        SiteInput {
            place: xqt_cooperation::programmes::SiteInput {
                name: self.name.clone(),
                address: self.address.clone(),
                latitude: self.latitude,
                longitude: self.longitude,
                radius_m: self.radius_m,
            },
            bssids: self.bssids.clone(),
        }
    }
}

pub struct ShiftView(pub Shift);

#[Object(name = "AttendanceShift")]
impl ShiftView {
    async fn start(&self) -> String {
        rules::hhmm(self.0.start)
    }
    async fn end(&self) -> String {
        rules::hhmm(self.0.end)
    }
    async fn late_grace_minutes(&self) -> i32 {
        self.0.late_grace
    }
    async fn early_grace_minutes(&self) -> i32 {
        self.0.early_grace
    }
    async fn serious_late_minutes(&self) -> i32 {
        self.0.serious_late
    }
    async fn absent_late_minutes(&self) -> i32 {
        self.0.absent_late
    }
    async fn check_in_opens_minutes(&self) -> i32 {
        self.0.opens_before
    }
    async fn check_out_closes_minutes(&self) -> i32 {
        self.0.closes_after
    }
}

pub struct AttendanceGroup {
    pub row: group::Model,
    pub role: AttendanceRole,
}

#[Object]
impl AttendanceGroup {
    pub async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn organization_id(&self) -> Option<ID> {
        self.row.organization_id.map(|i| ID(i.to_string()))
    }
    async fn programme_id(&self) -> Option<ID> {
        self.row.programme_id.map(|i| ID(i.to_string()))
    }
    async fn shift(&self) -> ShiftView {
        ShiftView(Shift::of(&self.row))
    }
    async fn rest_days(&self) -> Vec<i32> {
        rules::rest_days(&self.row.rest_days).into_iter().map(|d| d as i32).collect()
    }
    async fn follows_holidays(&self) -> bool {
        self.row.follows_holidays
    }
    async fn allow_field(&self) -> bool {
        self.row.allow_field
    }
    async fn allow_coarse(&self) -> bool {
        self.row.allow_coarse
    }
    async fn remind_before_minutes(&self) -> Option<i32> {
        self.row.remind_before
    }
    /// For `updateAttendanceGroup`'s guard.
    async fn version(&self) -> i32 {
        self.row.version
    }
    async fn my_role(&self) -> AttendanceRole {
        self.role
    }
    async fn sites(&self, ctx: &Context<'_>) -> Result<Vec<AttendanceSite>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(groups::sites(app, self.row.id).await?.into_iter().map(AttendanceSite).collect())
    }
    /// Everyone in the group, for its admins; a member sees only themselves.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<AttendanceMember>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let all = groups::members_of(app, self.row.id).await?;
        Ok(all
            .into_iter()
            .filter(|m| self.role == AttendanceRole::Admin || m.user_id == me)
            .map(AttendanceMember)
            .collect())
    }
    /// Whether today (China time) is a working day for the group, and why.
    async fn today(&self, ctx: &Context<'_>) -> Result<Today> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let (date, _) = rules::local(app.clock.now());
        let kind = groups::due(app, &self.row, date);
        Ok(Today { date, due: kind.due(), kind, label: kind.label() })
    }
}

#[derive(SimpleObject)]
#[graphql(name = "AttendanceToday")]
pub struct Today {
    pub date: NaiveDate,
    pub due: bool,
    pub kind: rules::DayKind,
    /// How the app may name it: 工作日, 调休工作日, 休息日 or 法定节假日.
    pub label: &'static str,
}

pub struct AttendanceSite(pub site::Model);

#[Object]
impl AttendanceSite {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    async fn latitude(&self) -> f64 {
        self.0.latitude
    }
    async fn longitude(&self) -> f64 {
        self.0.longitude
    }
    async fn radius_m(&self) -> i32 {
        self.0.radius_m
    }
    async fn bssids(&self) -> Vec<&str> {
        self.0.bssid_list()
    }
}

pub struct AttendanceMember(pub member::Model);

#[Object]
impl AttendanceMember {
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn role(&self) -> AttendanceRole {
        self.0.role
    }
    /// The first day the person is due.
    async fn since(&self) -> NaiveDate {
        self.0.since
    }
}

/// A check-in or check-out: where (shown only to the person and the group's admins), when, the
/// verdict and why.
pub struct CheckIn(pub record::Model);

#[Object]
impl CheckIn {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn group_id(&self) -> ID {
        ID(self.0.group_id.to_string())
    }
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn date(&self) -> NaiveDate {
        self.0.day
    }
    async fn kind(&self) -> PunchKind {
        self.0.kind
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// A make-up record was written by an approved request.
    async fn made_up(&self) -> bool {
        self.0.source == PunchSource::MakeUp
    }
    async fn result(&self) -> PunchResult {
        self.0.result
    }
    /// Minutes late (check-in) or early (check-out).
    async fn minutes(&self) -> i32 {
        self.0.minutes
    }
    /// Which rule decided it, with the numbers, in plain words.
    async fn explanation(&self) -> &str {
        &self.0.explanation
    }
    async fn inside(&self) -> bool {
        self.0.inside
    }
    async fn site_id(&self) -> Option<ID> {
        self.0.site_id.map(|i| ID(i.to_string()))
    }
    async fn distance_m(&self) -> Option<f64> {
        self.0.distance_m
    }
    async fn wifi_matched(&self) -> bool {
        self.0.wifi_matched
    }
    /// 外勤.
    async fn field(&self) -> bool {
        self.0.field
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn photo_url(&self) -> Option<String> {
        self.0.photo_id.map(|p| format!("/files/{p}"))
    }
    /// PRECISE, COARSE (rounded to ~1 km on arrival), COARSENED (after the retention period).
    async fn precision(&self) -> Precision {
        self.0.precision
    }
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    async fn accuracy_m(&self) -> Option<f64> {
        self.0.accuracy_m
    }
    async fn mocked(&self) -> bool {
        self.0.mocked
    }
    async fn suspicious(&self) -> bool {
        self.0.suspicious_reason.is_some()
    }
    async fn suspicious_reason(&self) -> Option<&str> {
        self.0.suspicious_reason.as_deref()
    }
}

/// What a day came to, worst first.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DayStatus {
    Absent,
    Missing,
    SeriousLate,
    Late,
    EarlyLeave,
    Normal,
    /// Rest day or holiday.
    Off,
    /// Not settled yet and still waiting for a check.
    Open,
}

/// One person's day in a group, with the checks that count.
pub struct AttendanceDay {
    pub row: day::Model,
    pub check_in: Option<record::Model>,
    pub check_out: Option<record::Model>,
}

impl AttendanceDay {
    fn verdict(&self) -> (DayStatus, String) {
        let d = &self.row;
        if !d.due {
            return (DayStatus::Off, "休息日或法定节假日，不计入考勤".into());
        }
        if crate::checkins::absent(d) {
            let why = match &self.check_in {
                Some(r) if r.result == PunchResult::Absent => r.explanation.clone(),
                _ => "旷工：工作日没有打卡".into(),
            };
            return (DayStatus::Absent, why);
        }
        let mut parts: Vec<String> = Vec::new();
        for (r, what) in [(&self.check_in, "上班"), (&self.check_out, "下班")] {
            match r {
                Some(r) => parts.push(r.explanation.clone()),
                None if d.settled_at.is_some() => parts.push(format!("缺卡：没有{what}打卡")),
                None => {}
            }
        }
        let results = [d.in_result, d.out_result];
        let has = |r: PunchResult| results.contains(&Some(r));
        let status = if has(PunchResult::Missing) {
            DayStatus::Missing
        } else if has(PunchResult::SeriousLate) {
            DayStatus::SeriousLate
        } else if has(PunchResult::Late) {
            DayStatus::Late
        } else if has(PunchResult::EarlyLeave) {
            DayStatus::EarlyLeave
        } else if d.in_result.is_some() && d.out_result.is_some() {
            DayStatus::Normal
        } else {
            DayStatus::Open
        };
        (status, parts.join("\n"))
    }
}

#[Object]
impl AttendanceDay {
    async fn date(&self) -> NaiveDate {
        self.row.day
    }
    async fn user_id(&self) -> ID {
        ID(self.row.user_id.to_string())
    }
    async fn due(&self) -> bool {
        self.row.due
    }
    async fn status(&self) -> DayStatus {
        self.verdict().0
    }
    /// Why, in plain words: each check's explanation, or what was missing.
    async fn explanation(&self) -> String {
        self.verdict().1
    }
    async fn in_result(&self) -> Option<PunchResult> {
        self.row.in_result
    }
    async fn out_result(&self) -> Option<PunchResult> {
        self.row.out_result
    }
    async fn late_minutes(&self) -> i32 {
        self.row.late_minutes
    }
    async fn early_minutes(&self) -> i32 {
        self.row.early_minutes
    }
    async fn field(&self) -> bool {
        self.row.field
    }
    async fn suspicious(&self) -> bool {
        self.row.suspicious
    }
    async fn make_ups(&self) -> i32 {
        self.row.make_ups
    }
    /// Settled by the day-end run: missing checks and absences are final.
    async fn settled(&self) -> bool {
        self.row.settled_at.is_some()
    }
    async fn check_in(&self) -> Option<CheckIn> {
        self.check_in.clone().map(CheckIn)
    }
    async fn check_out(&self) -> Option<CheckIn> {
        self.check_out.clone().map(CheckIn)
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MakeUpRequest {
    #[graphql(skip)]
    pub row: make_up::Model,
    pub date: NaiveDate,
    pub kind: PunchKind,
    pub reason: String,
    pub state: MakeUpState,
    /// Why it was rejected (or the approver's note).
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[ComplexObject]
impl MakeUpRequest {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn group_id(&self) -> ID {
        ID(self.row.group_id.to_string())
    }
    async fn user_id(&self) -> ID {
        ID(self.row.user_id.to_string())
    }
    async fn decided_by(&self) -> Option<ID> {
        self.row.decided_by.map(|i| ID(i.to_string()))
    }
}

impl From<make_up::Model> for MakeUpRequest {
    fn from(row: make_up::Model) -> Self {
        Self {
            date: row.day,
            kind: row.kind,
            reason: row.reason.clone(),
            state: row.state,
            decision_reason: row.decision_reason.clone(),
            created_at: row.created_at,
            decided_at: row.decided_at,
            row,
        }
    }
}

/// A person's month in a group.
pub struct AttendanceMonth(pub MonthStats);

#[Object]
impl AttendanceMonth {
    async fn user_id(&self) -> ID {
        ID(self.0.user_id.to_string())
    }
    async fn month(&self) -> &str {
        &self.0.month
    }
    /// Working days for the group since the person joined, through `through`.
    async fn days_due(&self) -> u32 {
        self.0.days_due
    }
    async fn days_worked(&self) -> u32 {
        self.0.days_worked
    }
    async fn late(&self) -> u32 {
        self.0.late
    }
    async fn serious_late(&self) -> u32 {
        self.0.serious_late
    }
    async fn late_minutes(&self) -> u32 {
        self.0.late_minutes
    }
    async fn early_leave(&self) -> u32 {
        self.0.early_leave
    }
    async fn absent(&self) -> u32 {
        self.0.absent
    }
    /// Checks missing on days that were not absences (缺卡).
    async fn missing(&self) -> u32 {
        self.0.missing
    }
    async fn field(&self) -> u32 {
        self.0.field
    }
    async fn make_ups(&self) -> u32 {
        self.0.make_ups
    }
    async fn suspicious(&self) -> u32 {
        self.0.suspicious
    }
    /// The last day counted: the month's end, or the last day whose check-out window closed.
    async fn through(&self) -> Option<NaiveDate> {
        self.0.through
    }
}

#[derive(SimpleObject)]
pub struct ReportLink {
    /// A path on this server; works without a token until `expiresAt`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

pub fn id(field: &'static str, id: &ID) -> Result<Uuid> {
    Ok(xqt_kernel::ids::parse_id(field, id)?)
}
