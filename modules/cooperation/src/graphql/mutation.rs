use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::NaiveDate;
use xqt_accounts::reports::ReportCategory;
use xqt_kernel::ids::parse_id;

use super::types::{Agreement, Application, Post, Programme};
use crate::applications::{self, Side, Step};
use crate::entity::favourite::FavouriteKind;
use crate::entity::post::{PostKind, PostState, Visibility};
use crate::entity::programme_member::MemberState;
use crate::error::invalid;
use crate::posts::{PostInput, Talent};
use crate::programmes::{ProgrammeInput, SiteInput};
use crate::{agreements, disputes, favourites, posts, programmes, sync};

#[derive(InputObject)]
#[graphql(name = "TalentInput")]
pub struct TalentFields {
    pub major: Option<String>,
    pub graduation_year: Option<i32>,
    #[graphql(default)]
    pub skills: Vec<String>,
    #[graphql(default)]
    pub certificates: Vec<String>,
    pub availability: Option<String>,
    #[graphql(default)]
    pub preferred_regions: Vec<String>,
}

/// Everything a post holds; on update, what is left out is cleared (a post holds only what was
/// submitted).
#[derive(InputObject)]
#[graphql(name = "PostInput")]
pub struct PostFields {
    pub kind: PostKind,
    pub title: String,
    pub body: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    /// WGS-84.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub headcount: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    #[graphql(default)]
    pub tags: Vec<String>,
    pub talent: Option<TalentFields>,
    /// Public by default for an organisation's post, private for a talent profile.
    pub visibility: Option<Visibility>,
}

impl PostFields {
    fn input(self) -> Result<PostInput> {
        let location = match (self.latitude, self.longitude) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            _ => return Err(invalid("location", "give both latitude and longitude").into()),
        };
        Ok(PostInput {
            kind: self.kind,
            title: self.title,
            body: self.body,
            industry: self.industry,
            region: self.region,
            address: self.address,
            location,
            headcount: self.headcount,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            tags: self.tags,
            talent: self.talent.map(|t| Talent {
                major: t.major,
                graduation_year: t.graduation_year,
                skills: t.skills,
                certificates: t.certificates,
                availability: t.availability,
                preferred_regions: t.preferred_regions,
            }),
            visibility: self.visibility,
        })
    }
}

#[derive(InputObject)]
pub struct SiteFields {
    pub name: String,
    pub address: Option<String>,
    /// WGS-84.
    pub latitude: f64,
    pub longitude: f64,
    /// 100–3000 m, 300 when left out.
    pub radius_m: Option<i32>,
}

#[derive(InputObject)]
#[graphql(name = "ProgrammeInput")]
pub struct ProgrammeFields {
    pub application_id: ID,
    pub title: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub school_supervisor_id: ID,
    pub enterprise_supervisor_id: ID,
    pub sites: Vec<SiteFields>,
}

/// One talent entry from a school's own system, by that system's id for it.
#[derive(InputObject)]
pub struct TalentEntryInput {
    pub external_id: String,
    pub entry: PostFields,
}

/// What a sync did with one entry.
#[derive(async_graphql::SimpleObject)]
pub struct SyncedEntry {
    pub external_id: String,
    pub post_id: ID,
    /// False when an entry with this id existed and was replaced.
    pub created: bool,
}

/// A report filed: its id and the working day it is due to be handled by.
#[derive(async_graphql::SimpleObject)]
pub struct FiledReport {
    pub id: ID,
    pub due_on: NaiveDate,
}

#[derive(Default)]
pub struct CooperationMutation;

#[Object]
impl CooperationMutation {
    /// A new draft: for `organizationId` (a verified member, not a student, of an approved
    /// organisation), or without it the person's own talent profile (kind TALENT).
    async fn create_post(&self, ctx: &Context<'_>, organization_id: Option<ID>, input: PostFields) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let org = organization_id.as_ref().map(|o| parse_id("organizationId", o)).transpose()?;
        Ok(Post::new(posts::create(app, me, org, &input.input()?).await?))
    }

    /// Replaces the post's fields (the previous version goes to its history).
    async fn update_post(&self, ctx: &Context<'_>, id: ID, input: PostFields) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Post::new(posts::update(app, me, parse_id("id", &id)?, &input.input()?).await?))
    }

    async fn publish_post(&self, ctx: &Context<'_>, id: ID) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Post::new(posts::transition(app, me, parse_id("id", &id)?, PostState::Published).await?))
    }

    /// Filled or finished: no longer open to applications.
    async fn close_post(&self, ctx: &Context<'_>, id: ID) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Post::new(posts::transition(app, me, parse_id("id", &id)?, PostState::Closed).await?))
    }

    /// Taken back: shown to nobody but its organisation (or its person).
    async fn withdraw_post(&self, ctx: &Context<'_>, id: ID) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Post::new(posts::transition(app, me, parse_id("id", &id)?, PostState::Withdrawn).await?))
    }

    /// Who may see the post; a talent profile becomes visible only under the `public_profile`
    /// consent (SHR-3).
    async fn set_post_visibility(&self, ctx: &Context<'_>, id: ID, visibility: Visibility) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Post::new(posts::set_visibility(app, me, parse_id("id", &id)?, visibility).await?))
    }

    /// Applies to a published demand, for yourself or for an organisation you belong to.
    async fn apply_to_post(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
        organization_id: Option<ID>,
        message: Option<String>,
    ) -> Result<Application> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let org = organization_id.as_ref().map(|o| parse_id("organizationId", o)).transpose()?;
        let row = applications::apply(app, me, parse_id("postId", &post_id)?, org, message.as_deref()).await?;
        Ok(Application { row, side: Side::Applicant })
    }

    /// Invites a talent entry's person through one of your organisation's published demands.
    async fn invite_talent(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
        talent_post_id: ID,
        message: Option<String>,
    ) -> Result<Application> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let row = applications::invite(
            app,
            me,
            parse_id("postId", &post_id)?,
            parse_id("talentPostId", &talent_post_id)?,
            message.as_deref(),
        )
        .await?;
        Ok(Application { row, side: Side::Owner })
    }

    /// Moves an application one step: the deciding side views, shortlists, accepts or declines;
    /// the starting side withdraws.
    async fn step_application(
        &self,
        ctx: &Context<'_>,
        id: ID,
        step: Step,
        reason: Option<String>,
    ) -> Result<Application> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let id = parse_id("id", &id)?;
        let row = applications::step(app, me, id, step, reason.as_deref()).await?;
        let side = applications::side_of(app, me, &row).await?;
        Ok(Application { row, side })
    }

    async fn add_favourite(&self, ctx: &Context<'_>, kind: FavouriteKind, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        favourites::add(app, me, kind, parse_id("id", &id)?).await?;
        Ok(true)
    }

    /// Whether there was such a favourite.
    async fn remove_favourite(&self, ctx: &Context<'_>, kind: FavouriteKind, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(favourites::remove(app, me, kind, parse_id("id", &id)?).await?)
    }

    /// Reports a post; its author answers for it (an open report holds up their cancellation).
    async fn report_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        category: ReportCategory,
        description: String,
        evidence_file_id: Option<ID>,
    ) -> Result<FiledReport> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let evidence = evidence_file_id.as_ref().map(|e| parse_id("evidenceFileId", e)).transpose()?;
        let r = disputes::report_post(app, me, parse_id("id", &id)?, category, &description, evidence).await?;
        Ok(FiledReport { id: ID(r.id.to_string()), due_on: r.due_on })
    }

    /// Opens a dispute over an application against its other side.
    async fn report_application(
        &self,
        ctx: &Context<'_>,
        id: ID,
        category: ReportCategory,
        description: String,
        evidence_file_id: Option<ID>,
    ) -> Result<FiledReport> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let evidence = evidence_file_id.as_ref().map(|e| parse_id("evidenceFileId", e)).transpose()?;
        let r = disputes::report_application(app, me, parse_id("id", &id)?, category, &description, evidence).await?;
        Ok(FiledReport { id: ID(r.id.to_string()), due_on: r.due_on })
    }

    /// Agrees an internship programme from an application both sides accepted.
    async fn create_programme(&self, ctx: &Context<'_>, input: ProgrammeFields) -> Result<Programme> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let input = ProgrammeInput {
            application_id: parse_id("applicationId", &input.application_id)?,
            title: input.title,
            starts_on: input.starts_on,
            ends_on: input.ends_on,
            school_supervisor_id: parse_id("schoolSupervisorId", &input.school_supervisor_id)?,
            enterprise_supervisor_id: parse_id("enterpriseSupervisorId", &input.enterprise_supervisor_id)?,
            sites: input
                .sites
                .into_iter()
                .map(|s| SiteInput {
                    name: s.name,
                    address: s.address,
                    latitude: s.latitude,
                    longitude: s.longitude,
                    radius_m: s.radius_m,
                })
                .collect(),
        };
        Ok(Programme::new(programmes::create(app, me, &input).await?))
    }

    /// The school side invites one of its students.
    async fn invite_student(&self, ctx: &Context<'_>, programme_id: ID, student_id: ID) -> Result<MemberState> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let m = programmes::invite_student(
            app,
            me,
            parse_id("programmeId", &programme_id)?,
            parse_id("studentId", &student_id)?,
        )
        .await?;
        Ok(m.state)
    }

    /// The invited student joins (or declines).
    async fn answer_programme_invitation(
        &self,
        ctx: &Context<'_>,
        programme_id: ID,
        join: bool,
    ) -> Result<MemberState> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(programmes::answer(app, me, parse_id("programmeId", &programme_id)?, join).await?.state)
    }

    /// A draft agreement generated from the programme (with the student as a third party when named).
    async fn create_agreement(&self, ctx: &Context<'_>, programme_id: ID, student_id: Option<ID>) -> Result<Agreement> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let student = student_id.as_ref().map(|s| parse_id("studentId", s)).transpose()?;
        Ok(Agreement(agreements::create(app, me, parse_id("programmeId", &programme_id)?, student).await?))
    }

    /// A school's manager lets a partner (the school's own system) sync its talent pool.
    async fn link_partner_sync(&self, ctx: &Context<'_>, organization_id: ID, partner_id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        sync::link(app, me, parse_id("organizationId", &organization_id)?, parse_id("partnerId", &partner_id)?).await?;
        Ok(true)
    }

    /// Partners with `cooperation:write`, linked by the school: creates or replaces talent
    /// entries by the school's own ids (a retry changes nothing new), published at once.
    async fn sync_talent_pool(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        entries: Vec<TalentEntryInput>,
    ) -> Result<Vec<SyncedEntry>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let entries = entries
            .into_iter()
            .map(|e| Ok(sync::Entry { external_id: e.external_id, input: e.entry.input()? }))
            .collect::<Result<Vec<_>>>()?;
        let done = sync::talent_pool(app, viewer, parse_id("organizationId", &organization_id)?, &entries).await?;
        Ok(done
            .into_iter()
            .map(|d| SyncedEntry { external_id: d.external_id, post_id: ID(d.post_id.to_string()), created: d.created })
            .collect())
    }

    /// Sends a draft to the e-signature provider; its state then follows the provider's flow.
    async fn send_agreement(&self, ctx: &Context<'_>, id: ID) -> Result<Agreement> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Agreement(agreements::send(app, me, parse_id("id", &id)?).await?))
    }

    /// Stops an agreement being signed, at the provider too.
    async fn revoke_agreement(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<Agreement> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Agreement(agreements::revoke(app, me, parse_id("id", &id)?, &reason).await?))
    }
}
