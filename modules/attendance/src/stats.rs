//! A month's statistics, per person and per group: days due, worked, late, serious late, early,
//! absent, missing, field, make-ups — through the last day whose window has closed. Counted
//! from the calendar and the day rows, so a day nobody settled yet (after an outage) still
//! counts as the absence it was. The same numbers as CSV behind a signed link that expires.

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use xqt_kernel::links::{self, LinkedFiles};
use xqt_kernel::uploads::Download;
use xqt_kernel::{AppContext, AppResult, Viewer};

use crate::config::AttendanceConfig;
use crate::entity::day;
use crate::entity::group;
use crate::entity::member::{self, AttendanceRole};
use crate::entity::record::PunchResult;
use crate::error::{AttendanceError, invalid};
use crate::groups;
use crate::makeups::month_of;
use crate::settle::last_closed_day;

/// One person's month.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthStats {
    pub user_id: Uuid,
    pub month: String,
    pub days_due: u32,
    pub days_worked: u32,
    pub late: u32,
    pub serious_late: u32,
    pub late_minutes: u32,
    pub early_leave: u32,
    pub absent: u32,
    /// Checks missing on days that were not absences (缺卡).
    pub missing: u32,
    pub field: u32,
    pub make_ups: u32,
    pub suspicious: u32,
    /// The last day counted (the month's end, or the last day whose window has closed).
    pub through: Option<NaiveDate>,
}

/// `2026-10` → the month's first day.
pub fn parse_month(s: &str) -> Result<NaiveDate, AttendanceError> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()) && s.len() == 7)
        .ok_or_else(|| invalid("month", "a month as YYYY-MM"))
}

fn count(
    g: &group::Model,
    ctx: &AppContext,
    m: &member::Model,
    first: NaiveDate,
    rows: &HashMap<NaiveDate, &day::Model>,
) -> MonthStats {
    let (first, last) = month_of(first);
    let through = last.min(last_closed_day(ctx, g));
    let mut s = MonthStats { user_id: m.user_id, month: first.format("%Y-%m").to_string(), ..Default::default() };
    let mut on = first.max(m.since);
    while on <= through {
        if crate::rules::due(g, &ctx.calendar, on).due() {
            s.days_due += 1;
            let (in_r, out_r) = match rows.get(&on) {
                Some(d) => (d.in_result.unwrap_or(PunchResult::Missing), d.out_result.unwrap_or(PunchResult::Missing)),
                None => (PunchResult::Missing, PunchResult::Missing),
            };
            if in_r == PunchResult::Absent || (in_r == PunchResult::Missing && out_r == PunchResult::Missing) {
                s.absent += 1;
            } else {
                s.days_worked += 1;
                s.missing += u32::from(in_r == PunchResult::Missing) + u32::from(out_r == PunchResult::Missing);
                s.late += u32::from(in_r == PunchResult::Late);
                s.serious_late += u32::from(in_r == PunchResult::SeriousLate);
                s.early_leave += u32::from(out_r == PunchResult::EarlyLeave);
            }
        }
        if let Some(d) = rows.get(&on) {
            s.late_minutes += d.late_minutes.max(0) as u32;
            s.field += u32::from(d.field);
            s.make_ups += d.make_ups.max(0) as u32;
            s.suspicious += u32::from(d.suspicious);
        }
        on = on + Days::new(1);
    }
    s.through = (through >= first).then_some(through);
    s
}

/// The month of every member of the group (admins are not counted), in one query.
pub async fn group_month(ctx: &AppContext, g: &group::Model, month: NaiveDate) -> AppResult<Vec<MonthStats>> {
    let (first, last) = month_of(month);
    let members: Vec<member::Model> =
        groups::members_of(ctx, g.id).await?.into_iter().filter(|m| m.role == AttendanceRole::Member).collect();
    let rows = day::Entity::find()
        .filter(day::Column::GroupId.eq(g.id))
        .filter(day::Column::Day.between(first, last))
        .all(&ctx.db)
        .await?;
    let mut by_user: HashMap<Uuid, HashMap<NaiveDate, &day::Model>> = HashMap::new();
    for d in &rows {
        by_user.entry(d.user_id).or_default().insert(d.day, d);
    }
    let empty = HashMap::new();
    Ok(members.iter().map(|m| count(g, ctx, m, first, by_user.get(&m.user_id).unwrap_or(&empty))).collect())
}

/// One person's month in a group: the person, or an admin of the group.
pub async fn person_month(
    ctx: &AppContext,
    viewer: Uuid,
    group: Uuid,
    user: Uuid,
    month: NaiveDate,
) -> AppResult<MonthStats> {
    let (g, role) = groups::visible(ctx, viewer, group).await?;
    if viewer != user && role != AttendanceRole::Admin {
        return Err(AttendanceError::NotFound("attendance statistics").into());
    }
    let m = member::Entity::find_by_id((group, user))
        .one(&ctx.db)
        .await?
        .filter(|m| m.role == AttendanceRole::Member)
        .ok_or(AttendanceError::NotFound("member"))?;
    let (first, last) = month_of(month);
    let rows = crate::checkins::days(ctx, group, user, first, last).await?;
    let by_day = rows.iter().map(|d| (d.day, d)).collect();
    Ok(count(&g, ctx, &m, first, &by_day))
}

pub const LINKS: &str = "attendance";

fn file_name(group: Uuid, month: NaiveDate, requester: Uuid) -> String {
    format!("{group}_{}_{requester}.csv", month.format("%Y-%m"))
}

/// A signed link to the group's month as CSV, for one of its admins; and when it stops working.
pub async fn report_link(
    ctx: &AppContext,
    user: Uuid,
    group: Uuid,
    month: NaiveDate,
) -> AppResult<(String, DateTime<Utc>)> {
    groups::require_admin(ctx, user, group).await?;
    let minutes = ctx.config.section::<AttendanceConfig>().report_link_minutes;
    let expires = ctx.clock.now() + chrono::Duration::minutes(minutes);
    Ok((links::link(ctx, LINKS, &file_name(group, month_of(month).0, user), expires), expires))
}

/// A spreadsheet cell: quoted, and a leading `= + - @` defused (CSV injection).
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The month as CSV (UTF-8 with a BOM, so spreadsheet apps read the Chinese right).
pub async fn csv(ctx: &AppContext, g: &group::Model, month: NaiveDate) -> AppResult<String> {
    let stats = group_month(ctx, g, month).await?;
    let ids: Vec<Uuid> = stats.iter().map(|s| s.user_id).collect();
    let people = xqt_accounts::users::find_many(ctx, &ids).await?;
    let mut out = String::from("\u{feff}");
    out.push_str("成员ID,昵称,姓名,月份,应出勤天数,出勤天数,迟到,严重迟到,迟到分钟,早退,旷工,缺卡,外勤,补卡,可疑\r\n");
    for s in &stats {
        let nickname = people.iter().find(|p| p.id == s.user_id).and_then(|p| p.nickname.clone()).unwrap_or_default();
        let name = xqt_accounts::verification::verified_name(ctx, s.user_id)
            .await?
            .map(|n| xqt_kernel::mask::name(&n))
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            s.user_id,
            cell(&nickname),
            cell(&name),
            s.month,
            s.days_due,
            s.days_worked,
            s.late,
            s.serious_late,
            s.late_minutes,
            s.early_leave,
            s.absent,
            s.missing,
            s.field,
            s.make_ups,
            s.suspicious
        ));
    }
    Ok(out)
}

/// `GET /links/attendance/<group>_<YYYY-MM>_<requester>.csv?…`: served only while the requester
/// still runs the group; every download is audited for each person in it.
pub struct Reports;

#[async_trait]
impl LinkedFiles for Reports {
    fn name(&self) -> &'static str {
        LINKS
    }

    async fn open(&self, ctx: &AppContext, file: &str) -> AppResult<Download> {
        let not_found = || AttendanceError::NotFound("file");
        let stem = file.strip_suffix(".csv").ok_or_else(not_found)?;
        let mut parts = stem.split('_');
        let (Some(group), Some(month), Some(requester), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_found().into());
        };
        let group = Uuid::parse_str(group).map_err(|_| not_found())?;
        let requester = Uuid::parse_str(requester).map_err(|_| not_found())?;
        let month = parse_month(month).map_err(|_| not_found())?;
        let g = groups::require_admin(ctx, requester, group).await.map_err(|_| not_found())?;
        let body = csv(ctx, &g, month).await?;
        let viewer = Viewer::User { user_id: requester, session_id: Uuid::nil() };
        let members = groups::members_of(ctx, group).await?;
        let subjects: Vec<Uuid> =
            members.iter().filter(|m| m.role == AttendanceRole::Member).map(|m| m.user_id).collect();
        xqt_kernel::privacy::record_reads(
            ctx,
            &viewer,
            &format!("attendance_report:{file}"),
            &["attendance_statistics"],
            subjects,
        )
        .await?;
        Ok(Download { content_type: "text/csv; charset=utf-8".into(), bytes: Bytes::from(body), as_attachment: true })
    }
}
