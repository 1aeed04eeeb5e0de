use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::NaiveDate;

use super::types::{
    AttendanceGroup, AttendanceMember, AttendanceSettingsInput, AttendanceSite, CheckIn, MakeUpRequest, ReportLink,
    SiteFields, id,
};
use crate::checkins::{self, CheckInput};
use crate::entity::member::AttendanceRole;
use crate::entity::record::PunchKind;
use crate::error::invalid;
use crate::groups::{self, Owner};
use crate::{makeups, stats};

/// A new group: for an organisation (its staff; sites required) or for an internship programme
/// (its students and supervisors; its sites unless given).
#[derive(InputObject)]
pub struct AttendanceGroupInput {
    pub organization_id: Option<ID>,
    pub programme_id: Option<ID>,
    pub settings: AttendanceSettingsInput,
    pub sites: Option<Vec<SiteFields>>,
}

/// A check as the app sends it.
#[derive(InputObject)]
pub struct CheckInInput {
    pub group_id: ID,
    pub kind: PunchKind,
    /// WGS-84 (convert GCJ-02 from AMap or Tencent Maps on the device).
    pub latitude: f64,
    pub longitude: f64,
    /// The OS's horizontal accuracy in metres.
    pub accuracy_m: f64,
    /// The Wi-Fi access point the device is on.
    pub bssid: Option<String>,
    /// The OS reported a mock location.
    #[graphql(default)]
    pub mocked: bool,
    /// A field check-in (外勤): outside the fences, with a note (and a photo uploaded with
    /// `purpose=attendance_photo`).
    #[graphql(default)]
    pub field: bool,
    pub note: Option<String>,
    pub photo_id: Option<ID>,
    /// The app's id for this attempt: sending it again returns the first answer.
    pub client_id: Option<String>,
}

#[derive(Default)]
pub struct AttendanceMutation;

#[Object]
impl AttendanceMutation {
    async fn create_attendance_group(&self, ctx: &Context<'_>, input: AttendanceGroupInput) -> Result<AttendanceGroup> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let owner = match (&input.organization_id, &input.programme_id) {
            (Some(o), None) => Owner::Organization(id("organizationId", o)?),
            (None, Some(p)) => Owner::Programme(id("programmeId", p)?),
            _ => return Err(invalid("organizationId", "give either organizationId or programmeId").into()),
        };
        let sites: Option<Vec<_>> = input.sites.as_ref().map(|s| s.iter().map(SiteFields::input).collect());
        let row = groups::create(app, me, owner, &input.settings.settings()?, sites.as_deref()).await?;
        Ok(AttendanceGroup { row, role: AttendanceRole::Admin })
    }

    /// Replaces the group's rules; `version` is the one read (CONFLICT `STALE` if it moved on).
    async fn update_attendance_group(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        settings: AttendanceSettingsInput,
    ) -> Result<AttendanceGroup> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let row = groups::update(app, me, super::types::id("id", &id)?, version, &settings.settings()?).await?;
        Ok(AttendanceGroup { row, role: AttendanceRole::Admin })
    }

    /// Replaces the group's sites.
    async fn set_attendance_sites(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        sites: Vec<SiteFields>,
    ) -> Result<Vec<AttendanceSite>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let sites: Vec<_> = sites.iter().map(SiteFields::input).collect();
        Ok(groups::set_sites(app, me, id("groupId", &group_id)?, &sites)
            .await?
            .into_iter()
            .map(AttendanceSite)
            .collect())
    }

    /// Adds members of the organisation to its group (as members, or as admins).
    async fn add_attendance_members(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        user_ids: Vec<ID>,
        #[graphql(desc = "MEMBER (checks in) when left out, or ADMIN (runs the group)")] role: Option<AttendanceRole>,
    ) -> Result<Vec<AttendanceMember>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let people = user_ids.iter().map(|u| id("userIds", u)).collect::<Result<Vec<_>>>()?;
        Ok(groups::add_members(app, me, id("groupId", &group_id)?, &people, role.unwrap_or(AttendanceRole::Member))
            .await?
            .into_iter()
            .map(AttendanceMember)
            .collect())
    }

    async fn remove_attendance_member(&self, ctx: &Context<'_>, group_id: ID, user_id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(groups::remove_member(app, me, id("groupId", &group_id)?, id("userId", &user_id)?).await?)
    }

    /// Brings a programme's group in line with the programme's students and supervisors.
    async fn sync_attendance_group(&self, ctx: &Context<'_>, group_id: ID) -> Result<Vec<AttendanceMember>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(groups::sync(app, me, id("groupId", &group_id)?).await?.into_iter().map(AttendanceMember).collect())
    }

    /// Checks in or out (打卡). Needs the location consent (precise, or coarse where the group
    /// allows it); outside the fences only as a field check-in.
    async fn check_in(&self, ctx: &Context<'_>, input: CheckInInput) -> Result<CheckIn> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let check = CheckInput {
            group_id: id("groupId", &input.group_id)?,
            kind: input.kind,
            latitude: input.latitude,
            longitude: input.longitude,
            accuracy_m: input.accuracy_m,
            bssid: input.bssid,
            mocked: input.mocked,
            field: input.field,
            note: input.note,
            photo_id: input.photo_id.as_ref().map(|p| id("photoId", p)).transpose()?,
            client_id: input.client_id,
        };
        Ok(CheckIn(checkins::check(app, me, &check).await?))
    }

    /// Asks for a missing or abnormal check to count (补卡).
    async fn request_make_up(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        date: NaiveDate,
        kind: PunchKind,
        reason: String,
    ) -> Result<MakeUpRequest> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(makeups::request(app, me, id("groupId", &group_id)?, date, kind, &reason).await?.into())
    }

    /// Approves or rejects (with a reason) a pending make-up request: the group's admins.
    async fn decide_make_up(
        &self,
        ctx: &Context<'_>,
        id: ID,
        approve: bool,
        reason: Option<String>,
    ) -> Result<MakeUpRequest> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(makeups::decide(app, viewer, super::types::id("id", &id)?, approve, reason.as_deref()).await?.into())
    }

    /// A link to the group's month as CSV, valid for a while without a token: the group's admins.
    async fn attendance_report(&self, ctx: &Context<'_>, group_id: ID, month: String) -> Result<ReportLink> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let month = stats::parse_month(&month)?;
        let (url, expires_at) = stats::report_link(app, me, id("groupId", &group_id)?, month).await?;
        Ok(ReportLink { url, expires_at })
    }
}
