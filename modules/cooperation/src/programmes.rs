//! Internship programmes: a school and an enterprise agree one from an accepted application —
//! its period, its sites, a supervisor on each side — and the school invites its students, who
//! join. Attendance reads a programme's sites and members through `roster` (never the tables).

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, SqlErr};
use uuid::Uuid;
use xqt_accounts::entity::organization::OrganizationKind;
use xqt_accounts::entity::organization_member::MemberRole;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::applications;
use crate::entity::application::ApplicationState;
use crate::entity::programme::{self, ProgrammeState};
use crate::entity::programme_member::{self, MemberState, ProgrammeRole};
use crate::entity::programme_site;
use crate::error::{CooperationError, invalid, state};

pub const MAX_SITES: usize = 20;
pub const DEFAULT_RADIUS_M: i32 = 300;

#[derive(Debug, Clone)]
pub struct SiteInput {
    pub name: String,
    pub address: Option<String>,
    /// WGS-84.
    pub latitude: f64,
    pub longitude: f64,
    /// 100–3000 m, 300 by default.
    pub radius_m: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct ProgrammeInput {
    pub application_id: Uuid,
    pub title: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub school_supervisor_id: Uuid,
    pub enterprise_supervisor_id: Uuid,
    pub sites: Vec<SiteInput>,
}

/// Checks and normalises sites (1–20; a name, WGS-84, a radius of 100–3000 m, 300 when left
/// out): a programme's, and an attendance group's.
pub fn check_sites(sites: &[SiteInput]) -> Result<Vec<SiteInput>, CooperationError> {
    if sites.is_empty() || sites.len() > MAX_SITES {
        return Err(invalid("sites", format!("1 to {MAX_SITES} sites")));
    }
    sites
        .iter()
        .map(|s| {
            let name = Text::line(1, 100).check(&s.name).map_err(|m| invalid("sites.name", m))?;
            let address =
                Text::line(1, 200).check_optional(s.address.as_deref()).map_err(|m| invalid("sites.address", m))?;
            if !(-90.0..=90.0).contains(&s.latitude) || !(-180.0..=180.0).contains(&s.longitude) {
                return Err(invalid("sites.location", "WGS-84 latitude −90…90 and longitude −180…180"));
            }
            let radius = s.radius_m.unwrap_or(DEFAULT_RADIUS_M);
            if !(100..=3000).contains(&radius) {
                return Err(invalid("sites.radiusM", "100 to 3000 metres"));
            }
            Ok(SiteInput { name, address, latitude: s.latitude, longitude: s.longitude, radius_m: Some(radius) })
        })
        .collect()
}

/// The school and the enterprise of an accepted application, in that order.
async fn sides(ctx: &AppContext, a: &crate::entity::application::Model) -> AppResult<(Uuid, Uuid)> {
    let mut school = None;
    let mut enterprise = None;
    for org in [a.owner_organization_id, a.applicant_organization_id].into_iter().flatten() {
        match xqt_accounts::organizations::find(ctx, org).await?.map(|o| o.kind) {
            Some(OrganizationKind::School) => school = Some(org),
            Some(OrganizationKind::Enterprise) => enterprise = Some(org),
            None => {}
        }
    }
    match (school, enterprise) {
        (Some(s), Some(e)) => Ok((s, e)),
        _ => Err(invalid("applicationId", "a programme is agreed between a school and an enterprise").into()),
    }
}

async fn require_role(
    ctx: &AppContext,
    org: Uuid,
    user: Uuid,
    field: &'static str,
    allowed: &[MemberRole],
) -> AppResult<()> {
    match xqt_accounts::organizations::role_of(ctx, org, user).await? {
        Some(r) if allowed.contains(&r) => Ok(()),
        _ => Err(invalid(field, "must be a member of that side who may supervise").into()),
    }
}

/// Agrees a programme from an accepted application between a school and an enterprise: its
/// creator manages one of the two, and each supervisor belongs to their side.
pub async fn create(ctx: &AppContext, user: Uuid, input: &ProgrammeInput) -> AppResult<programme::Model> {
    let title = Text::line(2, 100).check(&input.title).map_err(|m| invalid("title", m))?;
    if input.ends_on < input.starts_on {
        return Err(invalid("period", "the end is before the start").into());
    }
    let sites = check_sites(&input.sites)?;
    let (a, _) = applications::visible(ctx, user, input.application_id).await?;
    if a.state != ApplicationState::Accepted {
        return Err(state("application", a.state, "accepted by both sides").into());
    }
    let (school, enterprise) = sides(ctx, &a).await?;
    let manages = |org| async move {
        Ok::<_, xqt_kernel::AppError>(
            xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages()),
        )
    };
    if !manages(school).await? && !manages(enterprise).await? {
        return Err(CooperationError::NotAllowed("a manager of the school or the enterprise agrees a programme").into());
    }
    use MemberRole::*;
    require_role(ctx, school, input.school_supervisor_id, "schoolSupervisorId", &[Teacher, Admin, Owner]).await?;
    require_role(ctx, enterprise, input.enterprise_supervisor_id, "enterpriseSupervisorId", &[Member, Admin, Owner])
        .await?;
    let now = ctx.clock.now();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let row = programme::ActiveModel {
        id: Set(ids::new_id()),
        application_id: Set(a.id),
        school_id: Set(school),
        enterprise_id: Set(enterprise),
        title: Set(title),
        starts_on: Set(input.starts_on),
        ends_on: Set(input.ends_on),
        school_supervisor_id: Set(input.school_supervisor_id),
        enterprise_supervisor_id: Set(input.enterprise_supervisor_id),
        state: Set(ProgrammeState::Active),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let p = match row.insert(&txn).await {
        Ok(p) => p,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(invalid("applicationId", "a programme exists for this application already").into());
        }
        Err(e) => return Err(e.into()),
    };
    for s in sites {
        programme_site::ActiveModel {
            id: Set(ids::new_id()),
            programme_id: Set(p.id),
            name: Set(s.name),
            address: Set(s.address),
            latitude: Set(s.latitude),
            longitude: Set(s.longitude),
            radius_m: Set(s.radius_m.unwrap_or(DEFAULT_RADIUS_M)),
        }
        .insert(&txn)
        .await?;
    }
    for (who, role) in [
        (input.school_supervisor_id, ProgrammeRole::SchoolSupervisor),
        (input.enterprise_supervisor_id, ProgrammeRole::EnterpriseSupervisor),
    ] {
        programme_member::ActiveModel {
            programme_id: Set(p.id),
            user_id: Set(who),
            role: Set(role),
            state: Set(MemberState::Joined),
            invited_by: Set(Some(user)),
            invited_at: Set(now),
            joined_at: Set(Some(now)),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    tracing::info!(programme = %p.id, "programme agreed");
    Ok(p)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<programme::Model>> {
    Ok(programme::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// These programmes, oldest first (missing ids are left out).
pub async fn find_many(ctx: &AppContext, ids: &[Uuid]) -> AppResult<Vec<programme::Model>> {
    use sea_orm::QueryOrder;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(programme::Entity::find()
        .filter(programme::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(programme::Column::Id)
        .all(&ctx.db)
        .await?)
}

/// Who sees a programme: its members (students invited or joined, supervisors) and the managers
/// of its two organisations. Anyone else: NOT_FOUND.
pub async fn visible(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<programme::Model> {
    let p = find(ctx, id).await?.ok_or(CooperationError::NotFound("programme"))?;
    if membership(ctx, id, user).await?.is_some_and(|m| m.state != MemberState::Declined) {
        return Ok(p);
    }
    for org in [p.school_id, p.enterprise_id] {
        if xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages()) {
            return Ok(p);
        }
    }
    Err(CooperationError::NotFound("programme").into())
}

pub async fn membership(ctx: &AppContext, programme: Uuid, user: Uuid) -> AppResult<Option<programme_member::Model>> {
    Ok(programme_member::Entity::find_by_id((programme, user)).one(&ctx.db).await?)
}

/// Whether the person runs the programme: its school supervisor or a manager of its school.
async fn runs_school_side(ctx: &AppContext, p: &programme::Model, user: Uuid) -> AppResult<bool> {
    Ok(p.school_supervisor_id == user
        || xqt_accounts::organizations::role_of(ctx, p.school_id, user).await?.is_some_and(|r| r.manages()))
}

/// The school side invites one of its students.
pub async fn invite_student(
    ctx: &AppContext,
    user: Uuid,
    id: Uuid,
    student: Uuid,
) -> AppResult<programme_member::Model> {
    let p = visible(ctx, user, id).await?;
    if p.state != ProgrammeState::Active {
        return Err(state("programme", p.state, "active").into());
    }
    if !runs_school_side(ctx, &p, user).await? {
        return Err(CooperationError::NotAllowed("the school's supervisor or managers invite students").into());
    }
    if xqt_accounts::organizations::role_of(ctx, p.school_id, student).await? != Some(MemberRole::Student) {
        return Err(invalid("studentId", "a student of the programme's school").into());
    }
    let now = ctx.clock.now();
    let existing = membership(ctx, id, student).await?;
    let m = match existing {
        Some(m) if matches!(m.state, MemberState::Invited | MemberState::Joined) => return Ok(m),
        Some(m) => {
            let mut row = m.into_active_model();
            row.state = Set(MemberState::Invited);
            row.invited_by = Set(Some(user));
            row.invited_at = Set(now);
            row.joined_at = Set(None);
            row.update(&ctx.db).await?
        }
        None => {
            programme_member::ActiveModel {
                programme_id: Set(id),
                user_id: Set(student),
                role: Set(ProgrammeRole::Student),
                state: Set(MemberState::Invited),
                invited_by: Set(Some(user)),
                invited_at: Set(now),
                joined_at: Set(None),
            }
            .insert(&ctx.db)
            .await?
        }
    };
    notify(
        ctx,
        NewNotification {
            user_id: student,
            kind: NotificationKind::ProgrammeInvitation,
            title: "实习项目邀请".into(),
            body: p.title.clone(),
        },
    )
    .await?;
    Ok(m)
}

/// The invited student answers.
pub async fn answer(ctx: &AppContext, student: Uuid, id: Uuid, join: bool) -> AppResult<programme_member::Model> {
    let m = membership(ctx, id, student).await?.ok_or(CooperationError::NotFound("programme"))?;
    if m.state != MemberState::Invited {
        return Err(state("invitation", m.state, "open").into());
    }
    let mut row = m.into_active_model();
    row.state = Set(if join { MemberState::Joined } else { MemberState::Declined });
    row.joined_at = Set(join.then(|| ctx.clock.now()));
    Ok(row.update(&ctx.db).await?)
}

pub async fn sites(ctx: &AppContext, programme: Uuid) -> AppResult<Vec<programme_site::Model>> {
    use sea_orm::QueryOrder;
    Ok(programme_site::Entity::find()
        .filter(programme_site::Column::ProgrammeId.eq(programme))
        .order_by_asc(programme_site::Column::Id)
        .all(&ctx.db)
        .await?)
}

pub async fn members(ctx: &AppContext, programme: Uuid) -> AppResult<Vec<programme_member::Model>> {
    use sea_orm::QueryOrder;
    Ok(programme_member::Entity::find()
        .filter(programme_member::Column::ProgrammeId.eq(programme))
        .order_by_asc(programme_member::Column::InvitedAt)
        .all(&ctx.db)
        .await?)
}

/// What attendance needs of a programme: its period, sites and the people in it.
#[derive(Debug, Clone)]
pub struct Roster {
    pub programme: programme::Model,
    pub sites: Vec<programme_site::Model>,
    /// Students who joined.
    pub students: Vec<Uuid>,
    /// Its two supervisors: the group's admins.
    pub supervisors: Vec<Uuid>,
}

/// The public service attendance calls: a programme's sites and members (no viewer rules;
/// the caller decides who may see what).
pub async fn roster(ctx: &AppContext, programme: Uuid) -> AppResult<Option<Roster>> {
    let Some(p) = find(ctx, programme).await? else { return Ok(None) };
    let members = members(ctx, programme).await?;
    let joined = |role: ProgrammeRole| {
        members.iter().filter(move |m| m.role == role && m.state == MemberState::Joined).map(|m| m.user_id)
    };
    let students = joined(ProgrammeRole::Student).collect();
    let supervisors =
        joined(ProgrammeRole::SchoolSupervisor).chain(joined(ProgrammeRole::EnterpriseSupervisor)).collect();
    Ok(Some(Roster { sites: sites(ctx, programme).await?, programme: p, students, supervisors }))
}

/// Programmes the person is in (any state but declined).
pub async fn of_member(ctx: &AppContext, user: Uuid) -> AppResult<Vec<programme_member::Model>> {
    Ok(programme_member::Entity::find()
        .filter(programme_member::Column::UserId.eq(user))
        .filter(programme_member::Column::State.ne(MemberState::Declined))
        .all(&ctx.db)
        .await?)
}

/// On erasure: the person leaves every programme (the programme and its agreements stay).
pub async fn leave_all(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    use sea_orm::sea_query::Expr;
    Ok(programme_member::Entity::update_many()
        .col_expr(programme_member::Column::State, Expr::value(MemberState::Left.as_str()))
        .filter(programme_member::Column::UserId.eq(user))
        .filter(programme_member::Column::State.is_in([MemberState::Invited, MemberState::Joined]))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}
