use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use xqt_accounts::graphql::organizations::Organization;
use xqt_accounts::loaders::{OrganizationLoader, UserLoader};
use xqt_accounts::organizations::Visibility as OrgVisibility;
use xqt_kernel::module::loader;

use super::loaders::{ApplicationCounts, Memberships};
use crate::applications::{self, Side};
use crate::entity::agreement::{self, AgreementState};
use crate::entity::application::{self, ApplicationState, Direction as ApplicationDirection};
use crate::entity::post::{self, PostKind, PostState, Visibility};
use crate::entity::programme::{self, ProgrammeState};
use crate::entity::programme_member::{self, MemberState, ProgrammeRole};
use crate::entity::{programme_site, revision};
use crate::{agreements, programmes};

pub(crate) async fn organization(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<Organization>> {
    let Some(id) = id else { return Ok(None) };
    let row = loader::<OrganizationLoader>(ctx).load_one(id).await?;
    Ok(row.map(|row| Organization { row, visibility: OrgVisibility::Public, reviewer: false }))
}

/// A post as a viewer sees it; `distance` is set in nearby results.
pub struct Post {
    pub row: post::Model,
    pub distance_km: Option<f64>,
    /// Coarse location consent: distances shown as bands only.
    pub coarse: bool,
    /// What a list fetched for all its posts at once.
    pub page: Option<Arc<PageData>>,
}

/// Everything a page of posts shows beyond the posts, fetched in one statement per kind before
/// any post resolves: the same few statements for a page of 5 or of 100.
#[derive(Default)]
pub struct PageData {
    viewer_orgs: Vec<Uuid>,
    counts: HashMap<Uuid, i64>,
    organizations: HashMap<Uuid, xqt_accounts::entity::organization::Model>,
    authors: HashMap<Uuid, xqt_accounts::entity::user::Model>,
}

/// Fetches what the selected fields of a page of posts need (`path` leads from the list field
/// to its post nodes, e.g. `["edges", "node"]`).
pub async fn page_data(ctx: &Context<'_>, rows: &[post::Model], path: &[&str]) -> Result<Arc<PageData>> {
    let (app, viewer) = xqt_kernel::from_graphql(ctx);
    let mut node = ctx.look_ahead();
    for p in path {
        node = node.field(p);
    }
    let mut data = PageData::default();
    let me = viewer.person_id();
    let wants_insider =
        node.field("author").exists() || node.field("applicationCount").exists() || node.field("mine").exists();
    if let (Some(me), true) = (me, wants_insider) {
        data.viewer_orgs =
            xqt_accounts::organizations::memberships(app, me).await?.into_iter().map(|m| m.organization_id).collect();
    }
    let insider =
        |p: &post::Model| me == Some(p.author_id) || p.organization_id.is_some_and(|o| data.viewer_orgs.contains(&o));
    let inside: Vec<&post::Model> = rows.iter().filter(|p| insider(p)).collect();
    if node.field("applicationCount").exists() && !inside.is_empty() {
        let ids: Vec<Uuid> = inside.iter().map(|p| p.id).collect();
        data.counts = applications::counts(app, &ids).await?;
    }
    if node.field("author").exists() && !inside.is_empty() {
        let mut ids: Vec<Uuid> = inside.iter().map(|p| p.author_id).collect();
        ids.sort();
        ids.dedup();
        data.authors = xqt_accounts::users::find_many(app, &ids).await?.into_iter().map(|u| (u.id, u)).collect();
    }
    if node.field("organization").exists() {
        let mut ids: Vec<Uuid> = rows.iter().filter_map(|p| p.organization_id).collect();
        ids.sort();
        ids.dedup();
        data.organizations =
            xqt_accounts::organizations::find_many(app, &ids).await?.into_iter().map(|o| (o.id, o)).collect();
    }
    Ok(Arc::new(data))
}

impl Post {
    pub fn new(row: post::Model) -> Self {
        Self { row, distance_km: None, coarse: false, page: None }
    }

    pub fn on_page(row: post::Model, page: &Arc<PageData>) -> Self {
        Self { row, distance_km: None, coarse: false, page: Some(page.clone()) }
    }

    /// Its author, or a member of its organisation.
    async fn insider(&self, ctx: &Context<'_>) -> Result<bool> {
        let (_, viewer) = xqt_kernel::from_graphql(ctx);
        let Some(me) = viewer.person_id() else { return Ok(false) };
        if me == self.row.author_id {
            return Ok(true);
        }
        let Some(org) = self.row.organization_id else { return Ok(false) };
        if let Some(page) = &self.page {
            return Ok(page.viewer_orgs.contains(&org));
        }
        let mine = loader::<Memberships>(ctx).load_one(me).await?.unwrap_or_default();
        Ok(mine.contains(&org))
    }
}

/// The talent fields of a talent entry.
#[derive(SimpleObject)]
pub struct Talent {
    pub major: Option<String>,
    pub graduation_year: Option<i32>,
    pub skills: Vec<String>,
    pub certificates: Vec<String>,
    pub availability: Option<String>,
    pub preferred_regions: Vec<String>,
}

/// Who wrote a post, shown to its organisation's members only.
#[derive(SimpleObject)]
pub struct PostAuthor {
    pub id: ID,
    pub nickname: Option<String>,
}

#[Object]
impl Post {
    pub async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn kind(&self) -> PostKind {
        self.row.kind
    }
    async fn state(&self) -> PostState {
        self.row.state
    }
    async fn visibility(&self) -> Visibility {
        self.row.visibility
    }
    async fn title(&self) -> &str {
        &self.row.title
    }
    async fn body(&self) -> &str {
        &self.row.body
    }
    async fn industry(&self) -> Option<&str> {
        self.row.industry.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.row.region.as_deref()
    }
    async fn address(&self) -> Option<&str> {
        self.row.address.as_deref()
    }
    /// WGS-84, as the organisation submitted it (a person's talent profile has none).
    async fn latitude(&self) -> Option<f64> {
        self.row.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.row.longitude
    }
    async fn headcount(&self) -> Option<i32> {
        self.row.headcount
    }
    async fn starts_on(&self) -> Option<NaiveDate> {
        self.row.starts_on
    }
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.row.ends_on
    }
    async fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.row.tags).unwrap_or_default()
    }
    async fn talent(&self) -> Option<Talent> {
        let t: crate::posts::Talent = serde_json::from_str(self.row.talent.as_deref()?).ok()?;
        Some(Talent {
            major: t.major,
            graduation_year: t.graduation_year,
            skills: t.skills,
            certificates: t.certificates,
            availability: t.availability,
            preferred_regions: t.preferred_regions,
        })
    }
    /// Edits so far (1 for a post never edited).
    async fn version(&self) -> i32 {
        self.row.version
    }
    /// The posting organisation's public profile; `null` for a person's talent profile.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        if let (Some(page), Some(id)) = (&self.page, self.row.organization_id) {
            let row = page.organizations.get(&id).cloned();
            return Ok(row.map(|row| Organization { row, visibility: OrgVisibility::Public, reviewer: false }));
        }
        organization(ctx, self.row.organization_id).await
    }
    /// Who wrote it: the organisation's members only.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<PostAuthor>> {
        if !self.insider(ctx).await? {
            return Ok(None);
        }
        let user = match &self.page {
            Some(page) => page.authors.get(&self.row.author_id).cloned(),
            None => loader::<UserLoader>(ctx).load_one(self.row.author_id).await?,
        };
        Ok(user.map(|u| PostAuthor { id: ID(u.id.to_string()), nickname: u.nickname }))
    }
    /// Applications received: its author and organisation only.
    async fn application_count(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        if !self.insider(ctx).await? {
            return Ok(None);
        }
        if let Some(page) = &self.page {
            return Ok(Some(page.counts.get(&self.row.id).copied().unwrap_or(0)));
        }
        loader::<ApplicationCounts>(ctx).load_one(self.row.id).await
    }
    /// Whether the viewer wrote it or belongs to its organisation.
    async fn mine(&self, ctx: &Context<'_>) -> Result<bool> {
        self.insider(ctx).await
    }
    /// Kilometres from the point asked about (nearby, precise location consent).
    async fn distance_km(&self) -> Option<f64> {
        if self.coarse { None } else { self.distance_km.map(|d| (d * 100.0).round() / 100.0) }
    }
    /// `< 3 km` and the like (nearby; the only distance under coarse location consent).
    async fn distance_band(&self) -> Option<&'static str> {
        self.distance_km.map(crate::search::distance_band)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.row.published_at
    }
}

/// A version of a post before an edit.
pub struct PostRevision(pub revision::Model);

#[Object]
impl PostRevision {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn editor_id(&self) -> Option<ID> {
        self.0.editor_id.map(|e| ID(e.to_string()))
    }
    /// The submitted fields as they were, as JSON.
    async fn fields(&self) -> &str {
        &self.0.snapshot
    }
    async fn replaced_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The other side's contact person, once both sides accepted.
#[derive(SimpleObject)]
pub struct Contact {
    pub user_id: ID,
    /// Their verified real name.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub organization: Option<Organization>,
}

pub struct Application {
    pub row: application::Model,
    pub side: Side,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ApplicationSide")]
pub enum SideName {
    Applicant,
    Owner,
}

#[Object]
impl Application {
    pub async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn direction(&self) -> ApplicationDirection {
        self.row.direction
    }
    async fn state(&self) -> ApplicationState {
        self.row.state
    }
    /// The viewer's side.
    async fn my_side(&self) -> SideName {
        match self.side {
            Side::Applicant => SideName::Applicant,
            Side::Owner => SideName::Owner,
        }
    }
    async fn message(&self) -> Option<&str> {
        self.row.message.as_deref()
    }
    /// Why it was declined or withdrawn.
    async fn reason(&self) -> Option<&str> {
        self.row.reason.as_deref()
    }
    async fn post(&self, ctx: &Context<'_>) -> Result<Option<Post>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(crate::posts::find(app, self.row.post_id).await?.map(Post::new))
    }
    async fn talent_post_id(&self) -> Option<ID> {
        self.row.talent_post_id.map(|t| ID(t.to_string()))
    }
    async fn applicant_organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        organization(ctx, self.row.applicant_organization_id).await
    }
    /// The other side's contact: `null` with a FORBIDDEN (`NOT_ACCEPTED`) error until both
    /// sides accepted.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_person()?;
        let c = applications::contact(app, &self.row, self.side).await?;
        Ok(Some(Contact {
            user_id: ID(c.user_id.to_string()),
            name: c.name,
            phone: c.phone,
            organization: organization(ctx, c.organization).await?,
        }))
    }
    /// The conversation opened when both sides accepted.
    async fn conversation_id(&self) -> Option<ID> {
        self.row.conversation_id.map(|c| ID(c.to_string()))
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.row.accepted_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Programme {
    #[graphql(skip)]
    pub row: programme::Model,
    #[graphql(skip)]
    pub id: ID,
    pub title: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub state: ProgrammeState,
    pub school_supervisor_id: ID,
    pub enterprise_supervisor_id: ID,
}

impl Programme {
    pub fn new(row: programme::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            title: row.title.clone(),
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            state: row.state,
            school_supervisor_id: ID(row.school_supervisor_id.to_string()),
            enterprise_supervisor_id: ID(row.enterprise_supervisor_id.to_string()),
            row,
        }
    }
}

/// A programme's site: a point (WGS-84) and a radius.
#[derive(SimpleObject)]
pub struct Site {
    pub id: ID,
    pub name: String,
    pub address: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: i32,
}

impl From<programme_site::Model> for Site {
    fn from(s: programme_site::Model) -> Self {
        Self {
            id: ID(s.id.to_string()),
            name: s.name,
            address: s.address,
            latitude: s.latitude,
            longitude: s.longitude,
            radius_m: s.radius_m,
        }
    }
}

#[derive(SimpleObject)]
pub struct ProgrammeMember {
    pub user_id: ID,
    pub role: ProgrammeRole,
    pub state: MemberState,
    pub joined_at: Option<DateTime<Utc>>,
}

impl From<programme_member::Model> for ProgrammeMember {
    fn from(m: programme_member::Model) -> Self {
        Self { user_id: ID(m.user_id.to_string()), role: m.role, state: m.state, joined_at: m.joined_at }
    }
}

#[ComplexObject]
impl Programme {
    pub async fn id(&self) -> ID {
        self.id.clone()
    }
    async fn school(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        organization(ctx, Some(self.row.school_id)).await
    }
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        organization(ctx, Some(self.row.enterprise_id)).await
    }
    async fn sites(&self, ctx: &Context<'_>) -> Result<Vec<Site>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(programmes::sites(app, self.row.id).await?.into_iter().map(Site::from).collect())
    }
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<ProgrammeMember>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(programmes::members(app, self.row.id).await?.into_iter().map(ProgrammeMember::from).collect())
    }
    async fn agreements(&self, ctx: &Context<'_>) -> Result<Vec<Agreement>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(agreements::of_programme(app, self.row.id).await?.into_iter().map(Agreement).collect())
    }
}

pub struct Agreement(pub agreement::Model);

#[Object]
impl Agreement {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Mirrors the provider's sign flow.
    async fn state(&self) -> AgreementState {
        self.0.state
    }
    /// `builtin` or `esign`, once sent.
    async fn provider(&self) -> Option<&str> {
        (!self.0.provider.is_empty()).then_some(self.0.provider.as_str())
    }
    /// The provider's sign-flow id, once sent.
    async fn flow_id(&self) -> Option<&str> {
        self.0.flow_id.as_deref()
    }
    async fn student_id(&self) -> Option<ID> {
        self.0.student_id.map(|s| ID(s.to_string()))
    }
    /// The fields the document was generated from, as JSON.
    async fn fields(&self) -> &str {
        &self.0.fields
    }
    async fn signed_at(&self) -> Option<DateTime<Utc>> {
        self.0.signed_at
    }
    /// Kept until then, whatever happens to the accounts (CAN-5).
    async fn hold_until(&self) -> Option<DateTime<Utc>> {
        self.0.hold_until
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A marked post or organisation.
#[derive(SimpleObject)]
pub struct Favourite {
    pub kind: crate::entity::favourite::FavouriteKind,
    pub id: ID,
    pub created_at: DateTime<Utc>,
}

/// The size of a post search, counted only when `totalCount` is selected.
pub struct PostsTotal {
    pub audience: crate::search::Audience,
    pub filter: crate::search::Filter,
}

#[Object]
impl PostsTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(crate::search::count(app, self.audience, &self.filter).await?)
    }
}

/// The size of a directory listing, counted only when `totalCount` is selected.
pub struct DirectoryTotal {
    pub filter: xqt_accounts::organizations::DirectoryFilter,
}

#[Object]
impl DirectoryTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(xqt_accounts::organizations::directory_count(app, &self.filter).await?)
    }
}
