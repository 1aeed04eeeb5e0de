//! Make-up requests (补卡): a member asks for a missing or abnormal check to count, with a reason,
//! a limited number of times a month and within a deadline in working days; one of the group's
//! admins (never the person themselves) approves — the day's result is corrected by a make-up
//! record — or rejects with a reason. The person is told either way; the decision is audited.

use chrono::{Datelike, NaiveDate};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr};
use uuid::Uuid;
use xqt_kernel::privacy::{AuditAction, AuditEntry};
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, Viewer, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::checkins::ensure_day;
use crate::config::AttendanceConfig;
use crate::entity::day;
use crate::entity::make_up::{self, MakeUpState};
use crate::entity::member::AttendanceRole;
use crate::entity::record::{self, Precision, PunchKind, PunchResult, PunchSource};
use crate::error::{AttendanceError, invalid};
use crate::groups;
use crate::rules::{self, Shift};

/// First and last day of the month `day` is in.
pub fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).expect("day 1");
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    (first, next.expect("a month follows") - chrono::Days::new(1))
}

fn kind_word(kind: PunchKind) -> &'static str {
    match kind {
        PunchKind::In => "上班",
        PunchKind::Out => "下班",
    }
}

/// Files a make-up request for the check `kind` on `on`.
pub async fn request(
    ctx: &AppContext,
    user: Uuid,
    group: Uuid,
    on: NaiveDate,
    kind: PunchKind,
    reason: &str,
) -> AppResult<make_up::Model> {
    let reason = Text::block(2, 200).check(reason).map_err(|m| invalid("reason", m))?;
    let (g, role) = groups::visible(ctx, user, group).await?;
    if role != AttendanceRole::Member {
        return Err(AttendanceError::NotAllowed("the group's members file make-up requests").into());
    }
    let since = groups::membership(ctx, group, user).await?.map(|m| m.since);
    if since.is_some_and(|since| on < since) {
        return Err(invalid("date", "a day before you joined the group").into());
    }
    let config = ctx.config.section::<AttendanceConfig>();
    let (today, minute) = rules::local(ctx.clock.now());
    let closed = on < today || (on == today && minute > g.work_end + g.closes_after);
    if on > today {
        return Err(invalid("date", "a day that has come").into());
    }
    let deadline = ctx.calendar.add_working_days(on, config.make_up_deadline_working_days);
    if today > deadline {
        return Err(AttendanceError::MakeUpTooLate { deadline }.into());
    }
    if !rules::due(&g, &ctx.calendar, on).due() {
        return Err(invalid("date", "that day is not a working day for the group").into());
    }
    let d = day::Entity::find_by_id((group, user, on)).one(&ctx.db).await?;
    let result = d.as_ref().and_then(|d| match kind {
        PunchKind::In => d.in_result,
        PunchKind::Out => d.out_result,
    });
    let abnormal = match result {
        Some(r) => r.abnormal(),
        // Not settled yet: a check that never came counts as missing once the day closed.
        None => closed,
    };
    if !abnormal {
        return Err(AttendanceError::State {
            what: "check",
            state: result.map_or("open".into(), |r| r.to_string()),
            wants: "missing or abnormal",
        }
        .into());
    }
    let (first, last) = month_of(on);
    let used = make_up::Entity::find()
        .filter(make_up::Column::GroupId.eq(group))
        .filter(make_up::Column::UserId.eq(user))
        .filter(make_up::Column::Day.between(first, last))
        .filter(make_up::Column::State.is_in([MakeUpState::Pending, MakeUpState::Approved]))
        .all(&ctx.db)
        .await?;
    if used.iter().any(|m| m.day == on && m.kind == kind) {
        return Err(
            AttendanceError::State { what: "make-up request", state: "filed".into(), wants: "not filed yet" }.into()
        );
    }
    if used.len() as u32 >= config.make_ups_per_month {
        return Err(AttendanceError::MakeUpLimit { limit: config.make_ups_per_month }.into());
    }
    let row = make_up::ActiveModel {
        id: Set(ids::new_id()),
        group_id: Set(group),
        user_id: Set(user),
        day: Set(on),
        kind: Set(kind),
        reason: Set(reason),
        state: Set(MakeUpState::Pending),
        decided_by: Set(None),
        decision_reason: Set(None),
        created_at: Set(ctx.clock.now()),
        decided_at: Set(None),
    };
    let m = match row.insert(&ctx.db).await {
        Ok(m) => m,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AttendanceError::State {
                what: "make-up request",
                state: "filed".into(),
                wants: "not filed yet",
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    for admin in groups::members_of(ctx, group).await?.into_iter().filter(|m| m.role == AttendanceRole::Admin) {
        notify(
            ctx,
            NewNotification {
                user_id: admin.user_id,
                kind: NotificationKind::MakeUpRequested,
                title: "补卡申请待审批".into(),
                body: format!("「{}」{} {}卡", g.name, on, kind_word(kind)),
            },
        )
        .await?;
    }
    Ok(m)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<make_up::Model>> {
    Ok(make_up::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// An admin decides a pending request; a rejection needs its reason (shown to the person).
pub async fn decide(
    ctx: &AppContext,
    viewer: &Viewer,
    id: Uuid,
    approve: bool,
    reason: Option<&str>,
) -> AppResult<make_up::Model> {
    let admin = viewer.require_person()?;
    let reason = Text::block(2, 200).check_optional(reason).map_err(|m| invalid("reason", m))?;
    if !approve && reason.is_none() {
        return Err(invalid("reason", "say why the request is rejected").into());
    }
    let m = find(ctx, id).await?.ok_or(AttendanceError::NotFound("make-up request"))?;
    let g = match groups::require_admin(ctx, admin, m.group_id).await {
        Ok(g) => g,
        // The person sees their own request but may not decide it.
        Err(e) if m.user_id == admin => return Err(e),
        Err(_) => return Err(AttendanceError::NotFound("make-up request").into()),
    };
    if m.user_id == admin {
        return Err(AttendanceError::NotAllowed("nobody decides their own make-up request").into());
    }
    let now = ctx.clock.now();
    let state = if approve { MakeUpState::Approved } else { MakeUpState::Rejected };
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let decided = make_up::Entity::update_many()
        .col_expr(make_up::Column::State, Expr::value(state))
        .col_expr(make_up::Column::DecidedBy, Expr::value(admin))
        .col_expr(make_up::Column::DecisionReason, Expr::value(reason.clone()))
        .col_expr(make_up::Column::DecidedAt, Expr::value(now))
        .filter(make_up::Column::Id.eq(id))
        .filter(make_up::Column::State.eq(MakeUpState::Pending))
        .exec(&txn)
        .await?;
    if decided.rows_affected == 0 {
        txn.rollback().await?;
        return Err(
            AttendanceError::State { what: "make-up request", state: m.state.to_string(), wants: "pending" }.into()
        );
    }
    if approve {
        let shift = Shift::of(&g);
        let minute = match m.kind {
            PunchKind::In => shift.start,
            PunchKind::Out => shift.end,
        };
        let explanation = format!(
            "补卡：{}卡按 {} 计为正常，审批通过{}；申请理由：{}",
            kind_word(m.kind),
            rules::hhmm(minute),
            reason.as_deref().map(|r| format!("（{r}）")).unwrap_or_default(),
            m.reason
        );
        let r = record::ActiveModel {
            id: Set(ids::new_id()),
            group_id: Set(m.group_id),
            user_id: Set(m.user_id),
            day: Set(m.day),
            kind: Set(m.kind),
            at: Set(rules::moment(m.day, minute)),
            source: Set(PunchSource::MakeUp),
            latitude: Set(None),
            longitude: Set(None),
            accuracy_m: Set(None),
            precision: Set(Precision::None),
            site_id: Set(None),
            distance_m: Set(None),
            inside: Set(true),
            bssid: Set(None),
            wifi_matched: Set(false),
            field: Set(false),
            note: Set(None),
            photo_id: Set(None),
            result: Set(PunchResult::Normal),
            minutes: Set(0),
            explanation: Set(explanation),
            mocked: Set(false),
            suspicious_reason: Set(None),
            client_id: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        ensure_day(&txn, m.group_id, m.user_id, m.day, true).await?;
        let update = match m.kind {
            PunchKind::In => day::Entity::update_many()
                .col_expr(day::Column::CheckInId, Expr::value(r.id))
                .col_expr(day::Column::InResult, Expr::value(PunchResult::Normal))
                .col_expr(day::Column::LateMinutes, Expr::value(0)),
            PunchKind::Out => day::Entity::update_many()
                .col_expr(day::Column::CheckOutId, Expr::value(r.id))
                .col_expr(day::Column::OutResult, Expr::value(PunchResult::Normal))
                .col_expr(day::Column::EarlyMinutes, Expr::value(0)),
        };
        update
            .col_expr(day::Column::MakeUps, Expr::col(day::Column::MakeUps).add(1))
            .filter(day::Column::GroupId.eq(m.group_id))
            .filter(day::Column::UserId.eq(m.user_id))
            .filter(day::Column::Day.eq(m.day))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    let entry = AuditEntry {
        subject: Some(m.user_id),
        action: AuditAction::Request,
        resource: format!("attendance_make_up:{id}:{state}"),
        fields: vec!["attendance_records"],
        reason: reason.clone(),
        allowed: true,
    };
    ctx.modules.privacy().audit.record(ctx, viewer, entry).await?;
    let body = match &reason {
        Some(r) if !approve => format!("「{}」{} {}卡：未通过，理由：{r}", g.name, m.day, kind_word(m.kind)),
        _ => format!("「{}」{} {}卡：已通过，当天结果已更正", g.name, m.day, kind_word(m.kind)),
    };
    let title = if approve { "补卡申请已通过" } else { "补卡申请未通过" };
    notify(
        ctx,
        NewNotification { user_id: m.user_id, kind: NotificationKind::MakeUpDecided, title: title.into(), body },
    )
    .await?;
    tracing::info!(make_up = %id, %state, "make-up request decided");
    find(ctx, id).await?.ok_or_else(|| AttendanceError::NotFound("make-up request").into())
}

/// Requests in a group: an admin sees all of them, a member their own; newest first.
pub async fn list(
    ctx: &AppContext,
    user: Uuid,
    group: Uuid,
    state: Option<MakeUpState>,
) -> AppResult<Vec<make_up::Model>> {
    let (_, role) = groups::visible(ctx, user, group).await?;
    let mut q = make_up::Entity::find().filter(make_up::Column::GroupId.eq(group));
    if role != AttendanceRole::Admin {
        q = q.filter(make_up::Column::UserId.eq(user));
    }
    if let Some(s) = state {
        q = q.filter(make_up::Column::State.eq(s));
    }
    Ok(q.order_by_desc(make_up::Column::CreatedAt).order_by_desc(make_up::Column::Id).all(&ctx.db).await?)
}

/// How many make-ups were approved for a person in a group between two days.
pub async fn approved_between(
    ctx: &AppContext,
    group: Uuid,
    user: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<u64> {
    Ok(make_up::Entity::find()
        .filter(make_up::Column::GroupId.eq(group))
        .filter(make_up::Column::UserId.eq(user))
        .filter(make_up::Column::Day.between(from, to))
        .filter(make_up::Column::State.eq(MakeUpState::Approved))
        .count(&ctx.db)
        .await?)
}

pub async fn of_user(ctx: &AppContext, user: Uuid) -> AppResult<Vec<make_up::Model>> {
    Ok(make_up::Entity::find().filter(make_up::Column::UserId.eq(user)).all(&ctx.db).await?)
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(make_up::Entity::delete_many().filter(make_up::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected)
}
