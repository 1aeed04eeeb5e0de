use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use xqt_kernel::AppContext;
use xqt_kernel::ids::parse_id;
use xqt_kernel::module::loader;
use xqt_kernel::pagination::{self, PageArgs};

use super::types::{ReviewAction, ReviewState};
use crate::entity::organization::OrganizationKind;
use crate::entity::organization::OrganizationVerification;
use crate::entity::organization_member::MemberRole;
use crate::entity::{organization, organization_member, user};
use crate::loaders::{OrganizationLoader, UserLoader};
use crate::organizations::{self as orgs, Details, Visibility};

const QUEUE: &str = "organizationQueue";

/// The organisation as `user` sees it right after changing it: by their role now (someone
/// removed meanwhile sees the public profile, not a guessed role).
async fn seen_by_member(
    app: &AppContext,
    user: uuid::Uuid,
    row: organization::Model,
) -> xqt_kernel::AppResult<Organization> {
    let visibility = match orgs::role_of(app, row.id, user).await? {
        Some(role) => Visibility::Member(role),
        None => Visibility::Public,
    };
    Ok(Organization { row, visibility, reviewer: false })
}

/// An organisation as this viewer may see it: members (and reviewers) see everything, anyone
/// else an approved one's public profile.
pub struct Organization {
    pub row: organization::Model,
    pub visibility: Visibility,
    /// A platform reviewer looking at the queue.
    pub reviewer: bool,
}

impl Organization {
    fn insider(&self) -> bool {
        self.reviewer || matches!(self.visibility, Visibility::Member(_))
    }
}

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn kind(&self) -> OrganizationKind {
        self.row.kind
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn region(&self) -> Option<&str> {
        self.row.region.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.row.industry.as_deref()
    }
    async fn verification(&self) -> OrganizationVerification {
        self.row.verification_state
    }
    /// Members only.
    async fn address(&self) -> Option<&str> {
        if self.insider() { self.row.address.as_deref() } else { None }
    }
    /// Members only.
    async fn latitude(&self) -> Option<f64> {
        if self.insider() { self.row.latitude } else { None }
    }
    /// Members only.
    async fn longitude(&self) -> Option<f64> {
        if self.insider() { self.row.longitude } else { None }
    }
    /// Why verification was rejected (members only).
    async fn verification_reason(&self) -> Option<&str> {
        if self.insider() { self.row.verification_reason.as_deref() } else { None }
    }
    /// The unified social credit code: in full to owners and admins, masked to reviewers.
    async fn credit_code(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let Some(sealed) = &self.row.credit_code_sealed else { return Ok(None) };
        let code = app.keys.open(sealed)?;
        Ok(match self.visibility {
            Visibility::Member(role) if role.manages() => Some(code),
            _ if self.reviewer => Some(format!("{}**********{}", &code[..4], &code[14..])),
            _ => None,
        })
    }
    /// The business licence submitted for verification (managers and reviewers).
    async fn licence_url(&self) -> Option<String> {
        let managers = matches!(self.visibility, Visibility::Member(r) if r.manages());
        if managers || self.reviewer { self.row.licence_file_id.map(|id| format!("/files/{id}")) } else { None }
    }
    /// The viewer's role here, if a member.
    async fn my_role(&self) -> Option<MemberRole> {
        match self.visibility {
            Visibility::Member(r) => Some(r),
            Visibility::Public => None,
        }
    }
    /// Members and their roles (members only).
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<Member>> {
        if !matches!(self.visibility, Visibility::Member(_)) {
            return Err(crate::error::AccountsError::MembersOnly.into());
        }
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(orgs::members(app, self.row.id).await?.into_iter().map(Member).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

pub struct Member(pub organization_member::Model);

/// How a person appears to those who share an organisation or a conversation with them: their
/// nickname and avatar, never their phone.
#[derive(SimpleObject)]
pub struct MemberProfile {
    id: ID,
    nickname: Option<String>,
    /// What to show as their name: the nickname, or `用户` when they have not set one.
    display_name: String,
    /// Their avatar, downloadable by exactly those who see this profile; `None` when unset.
    avatar_url: Option<String>,
    /// The same without a bearer token, for `<img src>` (one to two hours; see
    /// `Me.avatarSignedUrl`).
    avatar_signed_url: Option<String>,
}

/// What a person without a nickname is shown as.
pub const NO_NICKNAME: &str = "用户";

impl MemberProfile {
    /// `u` as `viewer` (who may see it) sees them.
    pub fn of(app: &AppContext, u: &user::Model, viewer: Option<uuid::Uuid>) -> Self {
        MemberProfile {
            id: ID(u.id.to_string()),
            nickname: u.nickname.clone(),
            display_name: u.nickname.clone().unwrap_or_else(|| NO_NICKNAME.to_owned()),
            avatar_url: u.avatar_file_id.map(crate::uploads::url),
            avatar_signed_url: u
                .avatar_file_id
                .zip(viewer)
                .map(|(file, viewer)| crate::uploads::avatar_link(app, file, viewer)),
        }
    }

    /// The profile of `user` through the request's user loader (one query for a whole list);
    /// `None` once their account is erased.
    pub async fn load(ctx: &Context<'_>, user: uuid::Uuid) -> Result<Option<Self>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let found: Option<user::Model> = loader::<UserLoader>(ctx).load_one(user).await?;
        Ok(found.as_ref().map(|u| Self::of(app, u, viewer.person_id())))
    }
}

#[Object]
impl Member {
    async fn role(&self) -> MemberRole {
        self.0.role
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<MemberProfile>> {
        MemberProfile::load(ctx, self.0.user_id).await
    }
}

pub struct Membership(pub organization_member::Model);

#[Object]
impl Membership {
    async fn role(&self) -> MemberRole {
        self.0.role
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let row = loader::<OrganizationLoader>(ctx).load_one(self.0.organization_id).await?;
        let role = self.0.role;
        Ok(row.map(|row| Organization { row, visibility: Visibility::Member(role), reviewer: false }))
    }
}

#[derive(InputObject, Default)]
pub struct OrganizationInput {
    pub name: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub industry: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl OrganizationInput {
    fn details(self) -> Result<Details> {
        let location = match (self.latitude, self.longitude) {
            (Some(lat), Some(lng)) => Some((lat, lng)),
            (None, None) => None,
            _ => return Err(crate::error::invalid("location", "give both latitude and longitude").into()),
        };
        Ok(Details { name: self.name, region: self.region, address: self.address, industry: self.industry, location })
    }
}

#[derive(SimpleObject)]
pub struct Invite {
    /// Give this to the people who should join; it is shown only now.
    code: String,
    role: MemberRole,
    max_uses: i32,
    expires_at: DateTime<Utc>,
}

fn app_and_person<'a>(ctx: &'a Context<'_>) -> Result<(&'a AppContext, uuid::Uuid)> {
    let (app, viewer) = xqt_kernel::from_graphql(ctx);
    Ok((app, viewer.require_person()?))
}

#[derive(Default)]
pub struct OrganizationsQuery;

#[Object]
impl OrganizationsQuery {
    /// An organisation: members see all of it; others (partners with
    /// `accounts:organizations.read`) see it only once it is verified.
    pub async fn organization(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Organization>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        if let xqt_kernel::Viewer::Partner { .. } = viewer {
            viewer.require_scope(crate::SCOPE_ORGANIZATIONS_READ)?;
        }
        let found = orgs::visible(app, viewer.person_id(), parse_id("id", &id)?).await?;
        Ok(found.map(|(row, visibility)| Organization { row, visibility, reviewer: false }))
    }

    /// The organisations the signed-in person belongs to.
    async fn my_organizations(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
        let (app, user) = app_and_person(ctx)?;
        Ok(orgs::memberships(app, user).await?.into_iter().map(Membership).collect())
    }

    /// Organisations waiting for verification, oldest first (platform reviewers).
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn organization_verification_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "default SUBMITTED")] state: Option<ReviewState>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Organization>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let page = PageArgs { first, after, last, before }.validate(QUEUE, &app.config.limits)?;
        let rows = orgs::queue(app, state.unwrap_or(ReviewState::Submitted), &page).await?;
        let rows =
            rows.into_iter().map(|row| Organization { row, visibility: Visibility::Public, reviewer: true }).collect();
        Ok(page.connection(QUEUE, rows, |o| o.row.id.to_string()))
    }
}

#[derive(Default)]
pub struct OrganizationsMutation;

#[Object]
impl OrganizationsMutation {
    /// Creates a school or enterprise; the creator becomes its owner.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        kind: OrganizationKind,
        input: OrganizationInput,
    ) -> Result<Organization> {
        let (app, user) = app_and_person(ctx)?;
        let row = orgs::create(app, user, kind, input.details()?).await?;
        Ok(Organization { row, visibility: Visibility::Member(MemberRole::Owner), reviewer: false })
    }

    /// Owners and admins edit the organisation; omitted fields stay.
    async fn update_organization(&self, ctx: &Context<'_>, id: ID, input: OrganizationInput) -> Result<Organization> {
        let (app, user) = app_and_person(ctx)?;
        let org_id = parse_id("id", &id)?;
        let row = orgs::update(app, user, org_id, input.details()?).await?;
        Ok(seen_by_member(app, user, row).await?)
    }

    /// Owners and admins submit the unified social credit code, and the business licence as an
    /// upload with purpose `licence` (POST /files?purpose=licence), for verification.
    async fn submit_organization_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        credit_code: String,
        licence_file_id: Option<ID>,
    ) -> Result<Organization> {
        let (app, user) = app_and_person(ctx)?;
        let org_id = parse_id("id", &id)?;
        let licence = licence_file_id.as_ref().map(|f| parse_id("licenceFileId", f)).transpose()?;
        let row = orgs::submit_verification(app, user, org_id, &credit_code, licence).await?;
        Ok(seen_by_member(app, user, row).await?)
    }

    /// Platform reviewers start, approve or reject (with a reason) an organisation's verification.
    async fn review_organization_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        action: ReviewAction,
        reason: Option<String>,
    ) -> Result<Organization> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let reviewer = viewer.require_admin()?;
        let row = orgs::review(app, reviewer, parse_id("id", &id)?, action, reason.as_deref()).await?;
        Ok(Organization { row, visibility: Visibility::Public, reviewer: true })
    }

    /// An invite code to join with `role` (not owner), usable `maxUses` times for `validHours`.
    async fn create_organization_invite(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        role: MemberRole,
        #[graphql(desc = "default 1")] max_uses: Option<i32>,
        #[graphql(desc = "default 72")] valid_hours: Option<i64>,
    ) -> Result<Invite> {
        let (app, user) = app_and_person(ctx)?;
        let (max_uses, valid_hours) = (max_uses.unwrap_or(1), valid_hours.unwrap_or(72));
        let (code, row) =
            orgs::create_invite(app, user, parse_id("organizationId", &organization_id)?, role, max_uses, valid_hours)
                .await?;
        Ok(Invite { code, role, max_uses: row.max_uses, expires_at: row.expires_at })
    }

    async fn join_organization(&self, ctx: &Context<'_>, code: String) -> Result<Organization> {
        let (app, user) = app_and_person(ctx)?;
        let row = orgs::join(app, user, &code).await?;
        Ok(seen_by_member(app, user, row).await?)
    }

    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        user_id: ID,
        role: MemberRole,
    ) -> Result<bool> {
        let (app, user) = app_and_person(ctx)?;
        orgs::change_role(
            app,
            user,
            parse_id("organizationId", &organization_id)?,
            parse_id("userId", &user_id)?,
            role,
        )
        .await?;
        Ok(true)
    }

    /// Managers remove a member; anyone but the owner may remove themselves (leave).
    async fn remove_member(&self, ctx: &Context<'_>, organization_id: ID, user_id: ID) -> Result<bool> {
        let (app, user) = app_and_person(ctx)?;
        orgs::remove_member(app, user, parse_id("organizationId", &organization_id)?, parse_id("userId", &user_id)?)
            .await?;
        Ok(true)
    }
}
