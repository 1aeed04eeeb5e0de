//! Check-in and check-out (打卡): the client sends where the device is, how accurate that is,
//! the Wi-Fi it is on and whether the OS reported a mock location; the server decides the rest —
//! inside or outside a fence, the time result, and why — under the person's location consent.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr};
use uuid::Uuid;
use xqt_cooperation::personal_data::{Precision as Consent, location_precision};
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, geo, ids};

use crate::config::AttendanceConfig;
use crate::entity::day;
use crate::entity::member::AttendanceRole;
use crate::entity::record::{self, Precision, PunchKind, PunchResult, PunchSource};
use crate::error::{AttendanceError, invalid};
use crate::rules::{self, Fix, Seen, Shift};
use crate::{groups, photos};

/// What the app sends with a check.
#[derive(Debug, Clone)]
pub struct CheckInput {
    pub group_id: Uuid,
    pub kind: PunchKind,
    /// WGS-84 (convert GCJ-02 from AMap / Tencent Maps on the device first).
    pub latitude: f64,
    pub longitude: f64,
    /// The OS's horizontal accuracy, metres.
    pub accuracy_m: f64,
    pub bssid: Option<String>,
    /// The OS reported a mock location (Android `isMock`, iOS `isSimulatedBySoftware`).
    pub mocked: bool,
    /// A field check-in (外勤): allowed outside the fences, with a note.
    pub field: bool,
    pub note: Option<String>,
    pub photo_id: Option<Uuid>,
    /// The app's id for this attempt: a retry after a lost answer returns the first record.
    pub client_id: Option<String>,
}

const NOTE_MAX: usize = 200;
const CLIENT_ID_MAX: usize = 64;
/// Checks further back than this are not compared for travel speed.
const TRAVEL_WINDOW_HOURS: i64 = 24;

/// The free-text parts of a check, checked and normalised.
struct Checked {
    note: Option<String>,
    bssid: Option<String>,
    client_id: Option<String>,
}

fn check_input(input: &CheckInput) -> Result<Checked, AttendanceError> {
    if !geo::is_valid((input.latitude, input.longitude)) {
        return Err(invalid("latitude", "WGS-84 latitude −90…90 and longitude −180…180"));
    }
    if !input.accuracy_m.is_finite() || !(0.0..=100_000.0).contains(&input.accuracy_m) {
        return Err(invalid("accuracyM", "the reported accuracy in metres, 0 to 100000"));
    }
    let note = Text::block(1, NOTE_MAX).check_optional(input.note.as_deref()).map_err(|m| invalid("note", m))?;
    let bssid = match input.bssid.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => {
            Some(groups::normalize_bssid(b).ok_or_else(|| invalid("bssid", "a BSSID looks like aa:bb:cc:dd:ee:ff"))?)
        }
    };
    let client_id = match input.client_id.as_deref() {
        None => None,
        Some(c) if !c.is_empty() && c.len() <= CLIENT_ID_MAX && c.chars().all(|c| c.is_ascii_graphic()) => {
            Some(c.to_owned())
        }
        Some(_) => return Err(invalid("clientId", format!("1 to {CLIENT_ID_MAX} visible ASCII characters"))),
    };
    Ok(Checked { note, bssid, client_id })
}

async fn by_client_id(ctx: &AppContext, user: Uuid, client_id: &str) -> AppResult<Option<record::Model>> {
    Ok(record::Entity::find()
        .filter(record::Column::UserId.eq(user))
        .filter(record::Column::ClientId.eq(client_id))
        .one(&ctx.db)
        .await?)
}

/// The person's latest check with a position before `at`, within the travel window.
async fn last_seen(ctx: &AppContext, user: Uuid, at: DateTime<Utc>) -> AppResult<Option<Seen>> {
    let row = record::Entity::find()
        .filter(record::Column::UserId.eq(user))
        .filter(record::Column::At.lte(at))
        .filter(record::Column::At.gt(at - Duration::hours(TRAVEL_WINDOW_HOURS)))
        .filter(record::Column::Latitude.is_not_null())
        .order_by_desc(record::Column::At)
        .limit(1)
        .one(&ctx.db)
        .await?;
    Ok(row.and_then(|r| {
        let rounding = if r.precision == Precision::Coarse { geo::coarsening_error_m(r.latitude?) } else { 0.0 };
        Some(Seen {
            point: (r.latitude?, r.longitude?),
            uncertainty_m: r.accuracy_m.unwrap_or(0.0) + rounding,
            at: r.at,
        })
    }))
}

/// Checks the person in or out and returns the record with its verdict. Refuses without the
/// location consent (COL-4), outside every fence unless it is a field check-in, and outside the
/// shift's window. A repeated check-out replaces the day's (the last one counts).
pub async fn check(ctx: &AppContext, user: Uuid, input: &CheckInput) -> AppResult<record::Model> {
    let Checked { note, bssid, client_id } = check_input(input)?;
    if let Some(c) = &client_id
        && let Some(done) = by_client_id(ctx, user, c).await?
    {
        return Ok(done);
    }
    let (g, role) = groups::visible(ctx, user, input.group_id).await?;
    if role != AttendanceRole::Member {
        return Err(AttendanceError::NotAllowed("the group's members check in; its admins run it").into());
    }
    if !groups::still_belongs(ctx, &g, user).await? {
        return Err(AttendanceError::NotFound("attendance group").into());
    }
    // Consent before anything is computed from the position.
    let consent = location_precision(ctx, user).await?;
    if consent == Consent::Coarse && !g.allow_coarse {
        return Err(AttendanceError::PreciseLocationRequired.into());
    }
    let (point, precision) = match consent {
        Consent::Precise => ((input.latitude, input.longitude), Precision::Precise),
        Consent::Coarse => (geo::coarsen((input.latitude, input.longitude)), Precision::Coarse),
    };
    let config = ctx.config.section::<AttendanceConfig>();
    let fix = Fix { point, accuracy_m: input.accuracy_m, precision, bssid: bssid.clone() };
    let sites = groups::sites(ctx, g.id).await?;
    let placed = rules::place(&sites, &fix, config.max_accuracy_m);
    let field = !placed.inside;
    if field {
        if !input.field {
            let (site, radius_m) = placed.site.as_ref().map(|(_, n, r)| (n.clone(), *r)).unwrap_or_default();
            return Err(AttendanceError::OutsideFence {
                site,
                distance_m: placed.distance_m.unwrap_or(0.0),
                radius_m,
                explanation: placed.explanation,
            }
            .into());
        }
        if !g.allow_field {
            return Err(AttendanceError::FieldNotAllowed.into());
        }
        if note.is_none() {
            return Err(invalid("note", "a field check-in (外勤) says where and why").into());
        }
    }
    if let Some(photo) = input.photo_id
        && !photos::owned_by(ctx, photo, user).await?
    {
        return Err(invalid("photoId", "a photo you uploaded with purpose=attendance_photo").into());
    }
    let now = ctx.clock.now();
    let (today, minute) = rules::local(now);
    let kind = groups::due(ctx, &g, today);
    let due = kind.due();
    let shift = Shift::of(&g);
    let judged = if due {
        match input.kind {
            PunchKind::In => rules::judge_in(&shift, minute)?,
            PunchKind::Out => rules::judge_out(&shift, minute)?,
        }
    } else {
        rules::off_day(kind.label(), minute)
    };
    let mut suspicious = Vec::new();
    if input.mocked {
        suspicious.push("系统报告为模拟定位".to_owned());
    }
    let rounding = if precision == Precision::Coarse { geo::coarsening_error_m(point.0) } else { 0.0 };
    let here = Seen { point, uncertainty_m: fix.accuracy_m + rounding, at: now };
    if let Some(before) = last_seen(ctx, user, now).await?
        && let Some(why) = rules::implausible_travel(&before, &here, config.max_plausible_speed_kmh)
    {
        suspicious.push(why);
    }
    let mut explanation = format!("{}；{}", judged.explanation, placed.explanation);
    if field {
        explanation.push_str("；按外勤打卡记录");
    }
    if !suspicious.is_empty() {
        explanation.push_str(&format!("；已标记为可疑：{}", suspicious.join("；")));
    }
    let row = record::ActiveModel {
        id: Set(ids::new_id()),
        group_id: Set(g.id),
        user_id: Set(user),
        day: Set(today),
        kind: Set(input.kind),
        at: Set(now),
        source: Set(PunchSource::Punch),
        latitude: Set(Some(point.0)),
        longitude: Set(Some(point.1)),
        accuracy_m: Set(Some(input.accuracy_m)),
        precision: Set(precision),
        site_id: Set(placed.site.as_ref().map(|s| s.0)),
        distance_m: Set(placed.distance_m.map(|d| d.round())),
        inside: Set(placed.inside),
        bssid: Set(bssid),
        wifi_matched: Set(placed.wifi),
        field: Set(field),
        note: Set(note),
        photo_id: Set(input.photo_id),
        result: Set(judged.result),
        minutes: Set(judged.minutes),
        explanation: Set(explanation),
        mocked: Set(input.mocked),
        suspicious_reason: Set((!suspicious.is_empty()).then(|| suspicious.join("；"))),
        client_id: Set(client_id.clone()),
        created_at: Set(now),
    };
    // The record first: on SQLite the transaction takes the write lock with its first statement
    // and waits its turn (busy timeout) instead of failing on an upgrade.
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let r = match row.insert(&txn).await {
        Ok(r) => r,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) && client_id.is_some() => {
            drop(txn);
            // The same attempt arrived twice at once: the first one's record is the answer.
            let c = client_id.as_deref().unwrap_or_default();
            return by_client_id(ctx, user, c).await?.ok_or_else(|| AttendanceError::NotFound("check").into());
        }
        Err(e) => return Err(e.into()),
    };
    ensure_day(&txn, g.id, user, today, due).await?;
    let counted = match input.kind {
        PunchKind::In => day::Entity::update_many()
            .col_expr(day::Column::CheckInId, Expr::value(r.id))
            .col_expr(day::Column::InResult, Expr::value(r.result))
            .col_expr(day::Column::LateMinutes, Expr::value(judged.minutes))
            .filter(day::Column::CheckInId.is_null()),
        PunchKind::Out => day::Entity::update_many()
            .col_expr(day::Column::CheckOutId, Expr::value(r.id))
            .col_expr(day::Column::OutResult, Expr::value(r.result))
            .col_expr(day::Column::EarlyMinutes, Expr::value(judged.minutes)),
    }
    .col_expr(day::Column::Field, Expr::col(day::Column::Field).or(Expr::value(field)))
    .col_expr(day::Column::Suspicious, Expr::col(day::Column::Suspicious).or(Expr::value(!suspicious.is_empty())))
    .filter(day::Column::GroupId.eq(g.id))
    .filter(day::Column::UserId.eq(user))
    .filter(day::Column::Day.eq(today))
    .exec(&txn)
    .await?;
    if counted.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AttendanceError::AlreadyCheckedIn.into());
    }
    txn.commit().await?;
    tracing::info!(group = %g.id, record = %r.id, kind = %r.kind, result = %r.result, field, "checked");
    Ok(r)
}

/// The day's row, made if it is not there yet.
pub(crate) async fn ensure_day(
    db: &impl sea_orm::ConnectionTrait,
    group: Uuid,
    user: Uuid,
    on: NaiveDate,
    due: bool,
) -> AppResult<()> {
    day::Entity::insert(day::ActiveModel {
        group_id: Set(group),
        user_id: Set(user),
        day: Set(on),
        due: Set(due),
        check_in_id: Set(None),
        check_out_id: Set(None),
        in_result: Set(None),
        out_result: Set(None),
        late_minutes: Set(0),
        early_minutes: Set(0),
        field: Set(false),
        suspicious: Set(false),
        make_ups: Set(0),
        settled_at: Set(None),
        reminded_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([day::Column::GroupId, day::Column::UserId, day::Column::Day]).do_nothing().to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Records of one person in one group between two days (inclusive), oldest first.
pub async fn records(
    ctx: &AppContext,
    group: Uuid,
    user: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<record::Model>> {
    Ok(record::Entity::find()
        .filter(record::Column::GroupId.eq(group))
        .filter(record::Column::UserId.eq(user))
        .filter(record::Column::Day.between(from, to))
        .order_by_asc(record::Column::At)
        .order_by_asc(record::Column::Id)
        .all(&ctx.db)
        .await?)
}

/// A group's records on one day (an admin's view), oldest first.
pub async fn group_records(ctx: &AppContext, group: Uuid, on: NaiveDate) -> AppResult<Vec<record::Model>> {
    Ok(record::Entity::find()
        .filter(record::Column::GroupId.eq(group))
        .filter(record::Column::Day.eq(on))
        .order_by_asc(record::Column::At)
        .order_by_asc(record::Column::Id)
        .all(&ctx.db)
        .await?)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<record::Model>> {
    Ok(record::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// Days of one person in one group between two days (inclusive).
pub async fn days(
    ctx: &AppContext,
    group: Uuid,
    user: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<day::Model>> {
    Ok(day::Entity::find()
        .filter(day::Column::GroupId.eq(group))
        .filter(day::Column::UserId.eq(user))
        .filter(day::Column::Day.between(from, to))
        .order_by_asc(day::Column::Day)
        .all(&ctx.db)
        .await?)
}

/// Whether a day came to an absence: late beyond the absence line, or no check at all.
pub fn absent(d: &day::Model) -> bool {
    d.due
        && (d.in_result == Some(PunchResult::Absent)
            || (d.in_result == Some(PunchResult::Missing) && d.out_result == Some(PunchResult::Missing)))
}

/// On erasure: every record, day and the photos they point to.
pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    let mut n =
        record::Entity::delete_many().filter(record::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected;
    n += day::Entity::delete_many().filter(day::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected;
    Ok(n)
}

/// Takes position, accuracy, distance and Wi-Fi off the records `which` selects that still have
/// them; the site, inside-or-not and the time result stay.
async fn strip_positions(ctx: &AppContext, which: sea_orm::Condition) -> AppResult<u64> {
    Ok(record::Entity::update_many()
        .col_expr(record::Column::Latitude, Expr::value(Option::<f64>::None))
        .col_expr(record::Column::Longitude, Expr::value(Option::<f64>::None))
        .col_expr(record::Column::AccuracyM, Expr::value(Option::<f64>::None))
        .col_expr(record::Column::DistanceM, Expr::value(Option::<f64>::None))
        .col_expr(record::Column::Bssid, Expr::value(Option::<String>::None))
        .col_expr(record::Column::Precision, Expr::value(Precision::Coarsened))
        .filter(which)
        .filter(record::Column::Precision.is_in([Precision::Precise, Precision::Coarse]))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

/// Retention (SEC-2): records older than `cutoff` keep only their site and verdicts.
pub async fn coarsen_before(ctx: &AppContext, cutoff: DateTime<Utc>) -> AppResult<u64> {
    strip_positions(ctx, sea_orm::Condition::all().add(record::Column::At.lt(cutoff))).await
}

/// The location consent withdrawn: the person's records keep only their site and verdicts.
pub async fn coarsen_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    strip_positions(ctx, sea_orm::Condition::all().add(record::Column::UserId.eq(user))).await
}
