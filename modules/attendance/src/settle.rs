//! Day-end settlement and reminders, run by the job runner. Settlement decides what only the
//! end of a day can: a due day with no check is an absence, a missing check-in or check-out is
//! missing (缺卡). It is idempotent — a settled day is never touched again, so every instance may
//! run it, and a run interrupted half-way simply runs again.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use xqt_kernel::jobs::{JobHandler, Schedule};
use xqt_kernel::{AppContext, AppResult};
use xqt_notifications::NotificationKind;
use xqt_notifications::push::Push;

use crate::checkins::ensure_day;
use crate::config::AttendanceConfig;
use crate::entity::member::AttendanceRole;
use crate::entity::record::PunchResult;
use crate::entity::{day, group};
use crate::groups;
use crate::rules::{self, Shift};

pub const SETTLE: &str = "attendance.settle";
pub const REMIND: &str = "attendance.remind";

pub fn schedules(config: &xqt_kernel::config::Config) -> Vec<Schedule> {
    let c = config.section::<AttendanceConfig>();
    vec![
        Schedule { kind: SETTLE, every: chrono::Duration::minutes(c.settle_every_minutes) },
        Schedule { kind: REMIND, every: chrono::Duration::minutes(c.remind_every_minutes) },
    ]
}

/// The last day of the group whose check-out window has closed by now.
pub fn last_closed_day(ctx: &AppContext, g: &group::Model) -> NaiveDate {
    let (today, minute) = rules::local(ctx.clock.now());
    if minute > g.work_end + g.closes_after { today } else { today - Days::new(1) }
}

/// Settles every group's closed days within the look-back; returns how many days it settled.
pub async fn settle(ctx: &AppContext) -> AppResult<u64> {
    let lookback = ctx.config.section::<AttendanceConfig>().settle_lookback_days as u64;
    let mut settled = 0;
    for g in groups::all(ctx).await? {
        let last = last_closed_day(ctx, &g);
        let first = last - Days::new(lookback.saturating_sub(1));
        settled += settle_group(ctx, &g, first, last).await?;
    }
    if settled > 0 {
        tracing::info!(settled, "attendance days settled");
    }
    Ok(settled)
}

/// Settles one group's days `from..=to` for its members.
pub async fn settle_group(ctx: &AppContext, g: &group::Model, from: NaiveDate, to: NaiveDate) -> AppResult<u64> {
    let members: Vec<_> =
        groups::members_of(ctx, g.id).await?.into_iter().filter(|m| m.role == AttendanceRole::Member).collect();
    if members.is_empty() || from > to {
        return Ok(0);
    }
    let rows: HashMap<(Uuid, NaiveDate), day::Model> = day::Entity::find()
        .filter(day::Column::GroupId.eq(g.id))
        .filter(day::Column::Day.between(from, to))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|d| ((d.user_id, d.day), d))
        .collect();
    let now = ctx.clock.now();
    let mut settled = 0;
    let mut on = from;
    while on <= to {
        let due = rules::due(g, &ctx.calendar, on).due();
        for m in members.iter().filter(|m| m.since <= on) {
            let existing = rows.get(&(m.user_id, on));
            if existing.is_some_and(|d| d.settled_at.is_some()) {
                continue;
            }
            if existing.is_none() {
                ensure_day(&ctx.db, g.id, m.user_id, on, due).await?;
            }
            let (check_in, check_out) = existing.map_or((None, None), |d| (d.check_in_id, d.check_out_id));
            let missing = |present: Option<Uuid>| (due && present.is_none()).then_some(PunchResult::Missing);
            let mut update = day::Entity::update_many()
                .col_expr(day::Column::SettledAt, Expr::value(now))
                .filter(day::Column::GroupId.eq(g.id))
                .filter(day::Column::UserId.eq(m.user_id))
                .filter(day::Column::Day.eq(on))
                .filter(day::Column::SettledAt.is_null());
            // Only where no check arrived: a check racing the settlement keeps its own result.
            if let Some(r) = missing(check_in) {
                update =
                    update.col_expr(day::Column::InResult, Expr::value(r)).filter(day::Column::CheckInId.is_null());
            }
            if let Some(r) = missing(check_out) {
                update =
                    update.col_expr(day::Column::OutResult, Expr::value(r)).filter(day::Column::CheckOutId.is_null());
            }
            settled += update.exec(&ctx.db).await?.rows_affected;
        }
        on = on + Days::new(1);
    }
    Ok(settled)
}

/// Pushes a reminder to members who have not checked in, `remind_before` minutes ahead of the
/// start, once per person and shift (the day row remembers), to those with a registered device.
pub async fn remind(ctx: &AppContext) -> AppResult<u64> {
    let (today, minute) = rules::local(ctx.clock.now());
    let mut sent = 0;
    for g in groups::all(ctx).await? {
        let Some(before) = g.remind_before else { continue };
        let shift = Shift::of(&g);
        if !(shift.start - before..shift.start).contains(&minute) || !rules::due(&g, &ctx.calendar, today).due() {
            continue;
        }
        for m in groups::members_of(ctx, g.id).await?.into_iter().filter(|m| m.role == AttendanceRole::Member) {
            if m.since > today || xqt_notifications::push::devices(ctx, m.user_id).await?.is_empty() {
                continue;
            }
            ensure_day(&ctx.db, g.id, m.user_id, today, true).await?;
            // Claim the reminder first: of two instances, one pushes.
            let claimed = day::Entity::update_many()
                .col_expr(day::Column::RemindedAt, Expr::value(ctx.clock.now()))
                .filter(day::Column::GroupId.eq(g.id))
                .filter(day::Column::UserId.eq(m.user_id))
                .filter(day::Column::Day.eq(today))
                .filter(day::Column::RemindedAt.is_null())
                .filter(day::Column::CheckInId.is_null())
                .exec(&ctx.db)
                .await?;
            if claimed.rows_affected == 0 {
                continue;
            }
            let body = format!("「{}」{} 上班，记得打卡", g.name, rules::hhmm(shift.start));
            let push = Push {
                kind: NotificationKind::AttendanceReminder,
                title: "上班打卡提醒",
                body: &body,
                collapse_key: None,
            };
            xqt_notifications::push::gateway(ctx).push(ctx, m.user_id, &push).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

pub struct Settle;

#[async_trait]
impl JobHandler for Settle {
    fn kind(&self) -> &'static str {
        SETTLE
    }
    async fn run(&self, ctx: &AppContext, _payload: &serde_json::Value) -> AppResult<()> {
        settle(ctx).await.map(|_| ())
    }
}

pub struct Remind;

#[async_trait]
impl JobHandler for Remind {
    fn kind(&self) -> &'static str {
        REMIND
    }
    async fn run(&self, ctx: &AppContext, _payload: &serde_json::Value) -> AppResult<()> {
        remind(ctx).await.map(|_| ())
    }
}
