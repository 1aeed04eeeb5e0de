use async_graphql::{Context, ID, Object, Result};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use xqt_kernel::{AppContext, Viewer};

use super::types::{AttendanceDay, AttendanceGroup, AttendanceMonth, CheckIn, MakeUpRequest, id};
use crate::entity::make_up::MakeUpState;
use crate::entity::member::AttendanceRole;
use crate::entity::record;
use crate::error::AttendanceError;
use crate::makeups::month_of;
use crate::{checkins, groups, makeups, stats};

/// Whose records a viewer asks for: their own, or (an admin of the group) someone's in it.
/// An admin reading another person's checks is a privileged read: audited before the answer.
async fn subject(
    app: &AppContext,
    viewer: &Viewer,
    group: Uuid,
    user: Option<&ID>,
    what: &str,
) -> Result<(Uuid, Uuid)> {
    let me = viewer.require_person()?;
    let (_, role) = groups::visible(app, me, group).await?;
    let user = user.map(|u| id("userId", u)).transpose()?.unwrap_or(me);
    if user != me {
        if role != AttendanceRole::Admin || groups::role(app, group, user).await?.is_none() {
            return Err(AttendanceError::NotFound("member").into());
        }
        xqt_kernel::privacy::record_reads(app, viewer, what, &["attendance_records", "location"], [user]).await?;
    }
    Ok((me, user))
}

#[derive(Default)]
pub struct AttendanceQuery;

#[Object]
impl AttendanceQuery {
    /// The attendance groups the viewer is in, with their role in each.
    async fn attendance_groups(&self, ctx: &Context<'_>) -> Result<Vec<AttendanceGroup>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(groups::of_user(app, me).await?.into_iter().map(|(row, role)| AttendanceGroup { row, role }).collect())
    }

    pub async fn attendance_group(&self, ctx: &Context<'_>, id: ID) -> Result<AttendanceGroup> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let (row, role) = groups::visible(app, me, super::types::id("id", &id)?).await?;
        Ok(AttendanceGroup { row, role })
    }

    /// A person's days in a month (`YYYY-MM`): the viewer's own, or, for the group's admins,
    /// a member's. Days nothing happened on yet are left out until settled.
    async fn attendance_days(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        month: String,
        user_id: Option<ID>,
    ) -> Result<Vec<AttendanceDay>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let group = id("groupId", &group_id)?;
        let (first, last) = month_of(stats::parse_month(&month)?);
        let (_, user) = subject(app, viewer, group, user_id.as_ref(), "attendance_days").await?;
        let days = checkins::days(app, group, user, first, last).await?;
        let ids: Vec<Uuid> = days.iter().flat_map(|d| [d.check_in_id, d.check_out_id]).flatten().collect();
        let records = if ids.is_empty() {
            vec![]
        } else {
            record::Entity::find().filter(record::Column::Id.is_in(ids)).all(&app.db).await?
        };
        let pick = |id: Option<Uuid>| id.and_then(|id| records.iter().find(|r| r.id == id).cloned());
        Ok(days
            .into_iter()
            .map(|row| AttendanceDay { check_in: pick(row.check_in_id), check_out: pick(row.check_out_id), row })
            .collect())
    }

    /// Every check on one day: the viewer's own; an admin's for one member (`userId`) or, without
    /// it, the whole group's.
    async fn attendance_check_ins(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        date: NaiveDate,
        user_id: Option<ID>,
    ) -> Result<Vec<CheckIn>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let group = id("groupId", &group_id)?;
        let me = viewer.require_person()?;
        if user_id.is_none() && groups::role(app, group, me).await? == Some(AttendanceRole::Admin) {
            let rows = checkins::group_records(app, group, date).await?;
            let mut subjects: Vec<Uuid> = rows.iter().map(|r| r.user_id).filter(|u| *u != me).collect();
            subjects.sort_unstable();
            subjects.dedup();
            xqt_kernel::privacy::record_reads(
                app,
                viewer,
                "attendance_check_ins",
                &["attendance_records", "location"],
                subjects,
            )
            .await?;
            return Ok(rows.into_iter().map(CheckIn).collect());
        }
        let (_, user) = subject(app, viewer, group, user_id.as_ref(), "attendance_check_ins").await?;
        Ok(checkins::records(app, group, user, date, date).await?.into_iter().map(CheckIn).collect())
    }

    /// A person's month: the viewer's own, or (admins) a member's.
    async fn attendance_month(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        month: String,
        user_id: Option<ID>,
    ) -> Result<AttendanceMonth> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let group = id("groupId", &group_id)?;
        let user = user_id.as_ref().map(|u| id("userId", u)).transpose()?.unwrap_or(me);
        let month = stats::parse_month(&month)?;
        let stats = stats::person_month(app, me, group, user, month).await?;
        if user != me {
            xqt_kernel::privacy::record_reads(app, viewer, "attendance_month", &["attendance_statistics"], [user])
                .await?;
        }
        Ok(AttendanceMonth(stats))
    }

    /// Every member's month, for the group's admins.
    async fn attendance_group_month(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        month: String,
    ) -> Result<Vec<AttendanceMonth>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let month = stats::parse_month(&month)?;
        let g = groups::require_admin(app, me, id("groupId", &group_id)?).await?;
        let all = stats::group_month(app, &g, month).await?;
        let subjects: Vec<Uuid> = all.iter().map(|s| s.user_id).collect();
        xqt_kernel::privacy::record_reads(app, viewer, "attendance_group_month", &["attendance_statistics"], subjects)
            .await?;
        Ok(all.into_iter().map(AttendanceMonth).collect())
    }

    /// Make-up requests in a group, newest first: all of them for its admins, a member's own.
    async fn make_up_requests(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        state: Option<MakeUpState>,
    ) -> Result<Vec<MakeUpRequest>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(makeups::list(app, me, id("groupId", &group_id)?, state).await?.into_iter().map(Into::into).collect())
    }
}
