//! Attendance groups: who checks in (members), who runs it (admins: a school teacher, an
//! enterprise supervisor), where (sites) and when (one fixed shift). A group belongs to an
//! organisation (its staff, mobile office) or to an internship programme, whose sites, students
//! and supervisors come from cooperation's public `roster` — never from its tables.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use uuid::Uuid;
use xqt_accounts::entity::organization_member::MemberRole;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, ids};

use crate::entity::group;
use crate::entity::member::{self, AttendanceRole};
use crate::entity::site;
use crate::error::{AttendanceError, invalid};
use crate::rules::{self, Shift};

pub const MAX_BSSIDS: usize = 20;
pub const MAX_MEMBERS_PER_CALL: usize = 500;

/// A site: the place (checked as a programme's sites are) and the Wi-Fi that counts as being there.
#[derive(Debug, Clone)]
pub struct SiteInput {
    pub place: xqt_cooperation::programmes::SiteInput,
    pub bssids: Vec<String>,
}

/// Everything a group's rules hold; on update, all of it is replaced.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub shift: Shift,
    /// ISO weekdays off (6 = Saturday, 7 = Sunday).
    pub rest_days: Vec<u32>,
    pub follows_holidays: bool,
    pub allow_field: bool,
    pub allow_coarse: bool,
    pub remind_before: Option<i32>,
}

/// Whose group it is.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Organization(Uuid),
    Programme(Uuid),
}

fn check_settings(s: &Settings) -> Result<Settings, AttendanceError> {
    let name = Text::line(2, 100).check(&s.name).map_err(|m| invalid("name", m))?;
    s.shift.check()?;
    let mut rest = s.rest_days.clone();
    rest.sort_unstable();
    rest.dedup();
    if rest.iter().any(|d| !(1..=7).contains(d)) || rest.len() > 6 {
        return Err(invalid("restDays", "ISO weekdays 1 (Monday) to 7 (Sunday), at least one day on"));
    }
    if s.remind_before.is_some_and(|m| !(5..=120).contains(&m)) {
        return Err(invalid("remindBeforeMinutes", "5 to 120 minutes before the start"));
    }
    Ok(Settings { name, rest_days: rest, ..s.clone() })
}

/// A BSSID as `aa:bb:cc:dd:ee:ff` (Android and iOS report either case and `-` or `:`).
pub fn normalize_bssid(raw: &str) -> Option<String> {
    let hex: String = raw.chars().filter(|c| !matches!(c, ':' | '-')).collect::<String>().to_ascii_lowercase();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) || raw.len() > 17 {
        return None;
    }
    Some(hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).expect("hex")).collect::<Vec<_>>().join(":"))
}

fn check_sites(sites: &[SiteInput]) -> AppResult<Vec<SiteInput>> {
    let places: Vec<_> = sites.iter().map(|s| s.place.clone()).collect();
    let places = xqt_cooperation::programmes::check_sites(&places)?;
    places
        .into_iter()
        .zip(sites)
        .map(|(place, s)| {
            if s.bssids.len() > MAX_BSSIDS {
                return Err(invalid("sites.bssids", format!("at most {MAX_BSSIDS} Wi-Fi access points a site")).into());
            }
            let bssids = s
                .bssids
                .iter()
                .map(|b| {
                    normalize_bssid(b).ok_or_else(|| invalid("sites.bssids", "a BSSID looks like aa:bb:cc:dd:ee:ff"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SiteInput { place, bssids })
        })
        .collect()
}

fn site_rows(group: Uuid, sites: Vec<SiteInput>) -> Vec<site::ActiveModel> {
    sites
        .into_iter()
        .map(|s| site::ActiveModel {
            id: Set(ids::new_id()),
            group_id: Set(group),
            name: Set(s.place.name),
            address: Set(s.place.address),
            latitude: Set(s.place.latitude),
            longitude: Set(s.place.longitude),
            radius_m: Set(s.place.radius_m.unwrap_or(xqt_cooperation::programmes::DEFAULT_RADIUS_M)),
            bssids: Set(s.bssids.join(",")),
        })
        .collect()
}

fn member_row(
    group: Uuid,
    user: Uuid,
    role: AttendanceRole,
    now: chrono::DateTime<chrono::Utc>,
) -> member::ActiveModel {
    member::ActiveModel {
        group_id: Set(group),
        user_id: Set(user),
        role: Set(role),
        since: Set(xqt_kernel::clock::china_date(now)),
        added_at: Set(now),
    }
}

/// Adds people (once each: someone already in keeps their role), in one statement.
async fn add_rows(db: &impl sea_orm::ConnectionTrait, rows: Vec<member::ActiveModel>) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    member::Entity::insert_many(rows)
        .on_conflict(OnConflict::columns([member::Column::GroupId, member::Column::UserId]).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// What a programme gives its group: sites, students (members) and supervisors (admins).
async fn programme_people(
    ctx: &AppContext,
    user: Uuid,
    programme: Uuid,
) -> AppResult<xqt_cooperation::programmes::Roster> {
    // NOT_FOUND unless the person sees the programme; then they must run it.
    let p = xqt_cooperation::programmes::visible(ctx, user, programme).await?;
    let roster = xqt_cooperation::programmes::roster(ctx, p.id).await?.ok_or(AttendanceError::NotFound("programme"))?;
    let mut runs = roster.supervisors.contains(&user);
    for org in [p.school_id, p.enterprise_id] {
        runs = runs || xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages());
    }
    if !runs {
        return Err(AttendanceError::NotAllowed(
            "a programme's supervisors or its organisations' managers set up its attendance",
        )
        .into());
    }
    Ok(roster)
}

/// A new group with its creator as an admin. A programme's group takes the programme's sites
/// (unless given), students and supervisors; an organisation's needs sites and adds members later.
pub async fn create(
    ctx: &AppContext,
    user: Uuid,
    owner: Owner,
    settings: &Settings,
    sites: Option<&[SiteInput]>,
) -> AppResult<group::Model> {
    let settings = check_settings(settings)?;
    let (sites, members, admins, (organization_id, programme_id)) = match owner {
        Owner::Organization(org) => {
            if !xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages()) {
                return Err(
                    AttendanceError::NotAllowed("an organisation's owner or admins set up its attendance").into()
                );
            }
            if !xqt_accounts::organizations::is_approved(ctx, org).await? {
                return Err(AttendanceError::NotAllowed("the organisation is not verified yet").into());
            }
            let sites = check_sites(sites.ok_or_else(|| invalid("sites", "an organisation's group needs its sites"))?)?;
            (sites, vec![], vec![], (Some(org), None))
        }
        Owner::Programme(p) => {
            let roster = programme_people(ctx, user, p).await?;
            let sites = match sites {
                Some(s) => check_sites(s)?,
                None => check_sites(
                    &roster
                        .sites
                        .iter()
                        .map(|s| SiteInput {
                            place: xqt_cooperation::programmes::SiteInput {
                                name: s.name.clone(),
                                address: s.address.clone(),
                                latitude: s.latitude,
                                longitude: s.longitude,
                                radius_m: Some(s.radius_m),
                            },
                            bssids: vec![],
                        })
                        .collect::<Vec<_>>(),
                )?,
            };
            (sites, roster.students, roster.supervisors, (None, Some(p)))
        }
    };
    let now = ctx.clock.now();
    let id = ids::new_id();
    let row = group::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        programme_id: Set(programme_id),
        version: Set(1),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
        ..settings_row(&settings)
    };
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let g = match row.insert(&txn).await {
        Ok(g) => g,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(invalid("programmeId", "this programme has its attendance group already").into());
        }
        Err(e) => return Err(e.into()),
    };
    site::Entity::insert_many(site_rows(id, sites)).exec_without_returning(&txn).await?;
    let mut rows = vec![member_row(id, user, AttendanceRole::Admin, now)];
    rows.extend(admins.into_iter().filter(|a| *a != user).map(|a| member_row(id, a, AttendanceRole::Admin, now)));
    rows.extend(members.into_iter().map(|m| member_row(id, m, AttendanceRole::Member, now)));
    add_rows(&txn, rows).await?;
    txn.commit().await?;
    tracing::info!(group = %id, "attendance group created");
    Ok(g)
}

/// The columns `Settings` fills (the rest are the caller's).
fn settings_row(s: &Settings) -> group::ActiveModel {
    group::ActiveModel {
        name: Set(s.name.clone()),
        work_start: Set(s.shift.start),
        work_end: Set(s.shift.end),
        late_grace: Set(s.shift.late_grace),
        early_grace: Set(s.shift.early_grace),
        serious_late: Set(s.shift.serious_late),
        absent_late: Set(s.shift.absent_late),
        opens_before: Set(s.shift.opens_before),
        closes_after: Set(s.shift.closes_after),
        rest_days: Set(s.rest_days.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
        follows_holidays: Set(s.follows_holidays),
        allow_field: Set(s.allow_field),
        allow_coarse: Set(s.allow_coarse),
        remind_before: Set(s.remind_before),
        ..Default::default()
    }
}

/// Replaces the group's rules, guarded by the version the admin read (`STALE` otherwise).
pub async fn update(
    ctx: &AppContext,
    user: Uuid,
    id: Uuid,
    version: i32,
    settings: &Settings,
) -> AppResult<group::Model> {
    let settings = check_settings(settings)?;
    let g = require_admin(ctx, user, id).await?;
    if g.version != version {
        return Err(AttendanceError::Changed.into());
    }
    // Every column `Settings` fills, in one guarded statement.
    let row =
        group::ActiveModel { version: Set(version + 1), updated_at: Set(ctx.clock.now()), ..settings_row(&settings) };
    let update = group::Entity::update_many()
        .set(row)
        .filter(group::Column::Id.eq(id))
        .filter(group::Column::Version.eq(version));
    if update.exec(&ctx.db).await?.rows_affected == 0 {
        return Err(AttendanceError::Changed.into());
    }
    find(ctx, id).await?.ok_or_else(|| AttendanceError::NotFound("attendance group").into())
}

/// Replaces the group's sites.
pub async fn set_sites(ctx: &AppContext, user: Uuid, id: Uuid, sites: &[SiteInput]) -> AppResult<Vec<site::Model>> {
    let sites = check_sites(sites)?;
    require_admin(ctx, user, id).await?;
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    site::Entity::delete_many().filter(site::Column::GroupId.eq(id)).exec(&txn).await?;
    site::Entity::insert_many(site_rows(id, sites)).exec_without_returning(&txn).await?;
    txn.commit().await?;
    self::sites(ctx, id).await
}

/// Adds members (or admins) to an organisation's group: each must belong to the organisation;
/// an admin must be one who may supervise (not a student).
pub async fn add_members(
    ctx: &AppContext,
    user: Uuid,
    id: Uuid,
    people: &[Uuid],
    role: AttendanceRole,
) -> AppResult<Vec<member::Model>> {
    if people.is_empty() || people.len() > MAX_MEMBERS_PER_CALL {
        return Err(invalid("userIds", format!("1 to {MAX_MEMBERS_PER_CALL} people a call")).into());
    }
    let g = require_admin(ctx, user, id).await?;
    let Some(org) = g.organization_id else {
        return Err(
            AttendanceError::NotAllowed("a programme's group follows the programme: use syncAttendanceGroup").into()
        );
    };
    let members = xqt_accounts::organizations::members(ctx, org).await?;
    let now = ctx.clock.now();
    let mut rows = Vec::with_capacity(people.len());
    for person in people {
        let Some(m) = members.iter().find(|m| m.user_id == *person) else {
            return Err(invalid("userIds", format!("{person} is not a member of the group's organisation")).into());
        };
        if role == AttendanceRole::Admin && m.role == MemberRole::Student {
            return Err(invalid("role", "a student cannot run an attendance group").into());
        }
        rows.push(member_row(id, *person, role, now));
    }
    add_rows(&ctx.db, rows).await?;
    members_of(ctx, id).await
}

/// Takes someone out of the group (their records stay, for the months they were in it).
pub async fn remove_member(ctx: &AppContext, user: Uuid, id: Uuid, target: Uuid) -> AppResult<bool> {
    require_admin(ctx, user, id).await?;
    if target == user {
        let admins = members_of(ctx, id).await?.into_iter().filter(|m| m.role == AttendanceRole::Admin).count();
        if admins <= 1 {
            return Err(invalid("userId", "the group's last admin cannot leave it").into());
        }
    }
    Ok(member::Entity::delete_many()
        .filter(member::Column::GroupId.eq(id))
        .filter(member::Column::UserId.eq(target))
        .exec(&ctx.db)
        .await?
        .rows_affected
        > 0)
}

/// Brings a programme's group in line with its roster: students who joined are members,
/// supervisors admins; people no longer in the programme leave (the creator stays).
pub async fn sync(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<Vec<member::Model>> {
    let g = require_admin(ctx, user, id).await?;
    let Some(programme) = g.programme_id else {
        return Err(AttendanceError::NotAllowed("only a programme's group follows a roster").into());
    };
    let roster =
        xqt_cooperation::programmes::roster(ctx, programme).await?.ok_or(AttendanceError::NotFound("programme"))?;
    let now = ctx.clock.now();
    let current = members_of(ctx, id).await?;
    let wanted: Vec<(Uuid, AttendanceRole)> = roster
        .supervisors
        .iter()
        .map(|u| (*u, AttendanceRole::Admin))
        .chain(roster.students.iter().map(|u| (*u, AttendanceRole::Member)))
        .collect();
    let gone: Vec<Uuid> = current
        .iter()
        .filter(|m| m.user_id != g.created_by && !wanted.iter().any(|(u, _)| *u == m.user_id))
        .map(|m| m.user_id)
        .collect();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    add_rows(&txn, wanted.into_iter().map(|(u, r)| member_row(id, u, r, now)).collect()).await?;
    if !gone.is_empty() {
        member::Entity::delete_many()
            .filter(member::Column::GroupId.eq(id))
            .filter(member::Column::UserId.is_in(gone))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    members_of(ctx, id).await
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<group::Model>> {
    Ok(group::Entity::find_by_id(id).one(&ctx.db).await?)
}

pub async fn membership(ctx: &AppContext, group: Uuid, user: Uuid) -> AppResult<Option<member::Model>> {
    Ok(member::Entity::find_by_id((group, user)).one(&ctx.db).await?)
}

pub async fn role(ctx: &AppContext, group: Uuid, user: Uuid) -> AppResult<Option<AttendanceRole>> {
    Ok(membership(ctx, group, user).await?.map(|m| m.role))
}

/// The group and the viewer's role in it; NOT_FOUND for anyone outside it.
pub async fn visible(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<(group::Model, AttendanceRole)> {
    let not_found = || AttendanceError::NotFound("attendance group");
    let role = role(ctx, id, user).await?.ok_or_else(not_found)?;
    Ok((find(ctx, id).await?.ok_or_else(not_found)?, role))
}

/// The group, if the person is one of its admins (NOT_FOUND outside it, FORBIDDEN for members).
pub async fn require_admin(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<group::Model> {
    let (g, role) = visible(ctx, user, id).await?;
    if role != AttendanceRole::Admin {
        return Err(AttendanceError::NotAllowed("the group's admins do this").into());
    }
    Ok(g)
}

/// The groups the person is in, with their role, oldest first.
pub async fn of_user(ctx: &AppContext, user: Uuid) -> AppResult<Vec<(group::Model, AttendanceRole)>> {
    let memberships = member::Entity::find().filter(member::Column::UserId.eq(user)).all(&ctx.db).await?;
    let groups = group::Entity::find()
        .filter(group::Column::Id.is_in(memberships.iter().map(|m| m.group_id)))
        .order_by_asc(group::Column::Id)
        .all(&ctx.db)
        .await?;
    Ok(groups
        .into_iter()
        .filter_map(|g| memberships.iter().find(|m| m.group_id == g.id).map(|m| (g, m.role)))
        .collect())
}

pub async fn sites(ctx: &AppContext, group: Uuid) -> AppResult<Vec<site::Model>> {
    Ok(site::Entity::find().filter(site::Column::GroupId.eq(group)).order_by_asc(site::Column::Id).all(&ctx.db).await?)
}

pub async fn members_of(ctx: &AppContext, group: Uuid) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::GroupId.eq(group))
        .order_by_asc(member::Column::AddedAt)
        .order_by_asc(member::Column::UserId)
        .all(&ctx.db)
        .await?)
}

/// Every group, for the jobs that walk them (settlement, reminders).
pub async fn all(ctx: &AppContext) -> AppResult<Vec<group::Model>> {
    Ok(group::Entity::find().order_by_asc(group::Column::Id).all(&ctx.db).await?)
}

/// Whether the person still belongs where the group draws its people from: an organisation's
/// group checks the organisation (a departure the hook missed must not keep them checking in).
pub async fn still_belongs(ctx: &AppContext, g: &group::Model, user: Uuid) -> AppResult<bool> {
    match g.organization_id {
        Some(org) => Ok(xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some()),
        None => Ok(true),
    }
}

/// On leaving an organisation: out of its groups.
pub async fn left_organization(ctx: &AppContext, org: Uuid, user: Uuid) -> AppResult<u64> {
    let groups: Vec<Uuid> = group::Entity::find()
        .filter(group::Column::OrganizationId.eq(org))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    if groups.is_empty() {
        return Ok(0);
    }
    Ok(member::Entity::delete_many()
        .filter(member::Column::GroupId.is_in(groups))
        .filter(member::Column::UserId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

/// On erasure: out of every group.
pub async fn leave_all(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(member::Entity::delete_many().filter(member::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected)
}

pub async fn memberships(ctx: &AppContext, user: Uuid) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find().filter(member::Column::UserId.eq(user)).all(&ctx.db).await?)
}

/// What a day is for the group (due or not, and why, for explanations).
pub fn due(ctx: &AppContext, g: &group::Model, day: chrono::NaiveDate) -> rules::DayKind {
    rules::due(g, &ctx.calendar, day)
}
