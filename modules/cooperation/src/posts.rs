//! Posts: cooperation demands by organisations and talent entries (a school's talent pool, or a
//! person's own talent profile). draft → published → closed | withdrawn, every edit kept as a
//! revision. A post holds exactly what its author submitted (COL-3); a person's talent profile
//! is private until they make it visible under the `public_profile` consent (SHR-3).

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set, TryIntoModel,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_accounts::entity::organization::{OrganizationKind, OrganizationVerification};
use xqt_accounts::entity::organization_member::MemberRole;
use xqt_accounts::reports::RestrictedAction;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, ErrorCode, ids};

use crate::entity::post::{self, PostKind, PostState, Visibility};
use crate::entity::revision;
use crate::error::{CooperationError, invalid, state};
use crate::events::Event;
use crate::search;

/// The consent a person's talent profile is shown under (registered by the privacy module).
pub const PUBLIC_PROFILE: &str = "public_profile";
pub const MAX_TAGS: usize = 10;
pub const MAX_LIST: usize = 20;

/// The talent fields of a talent entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Talent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graduation_year: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skills: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub certificates: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub preferred_regions: Vec<String>,
}

/// Everything an author submits; what is left out is not stored.
#[derive(Debug, Clone)]
pub struct PostInput {
    pub kind: PostKind,
    pub title: String,
    pub body: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub location: Option<(f64, f64)>,
    pub headcount: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub tags: Vec<String>,
    pub talent: Option<Talent>,
    pub visibility: Option<Visibility>,
}

fn line(field: &'static str, v: &Option<String>, max: usize) -> Result<Option<String>, CooperationError> {
    Text::line(1, max).check_optional(v.as_deref()).map_err(|m| invalid(field, m))
}

fn list(
    field: &'static str,
    v: &[String],
    max_items: usize,
    max_chars: usize,
) -> Result<Vec<String>, CooperationError> {
    if v.len() > max_items {
        return Err(invalid(field, format!("at most {max_items}")));
    }
    let mut out: Vec<String> = Vec::new();
    for item in v {
        let item = Text::line(1, max_chars).check(item).map_err(|m| invalid(field, m))?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

impl PostInput {
    /// The input as it will be stored, or the first field that is wrong.
    pub fn validated(&self, today: NaiveDate) -> Result<PostInput, CooperationError> {
        let title = Text::line(2, 100).check(&self.title).map_err(|m| invalid("title", m))?;
        let body = Text::block(1, 5000).check(&self.body).map_err(|m| invalid("body", m))?;
        if let Some((lat, lng)) = self.location
            && (!(-90.0..=90.0).contains(&lat)
                || !(-180.0..=180.0).contains(&lng)
                || !lat.is_finite()
                || !lng.is_finite())
        {
            return Err(invalid("location", "WGS-84 latitude −90…90 and longitude −180…180"));
        }
        if let Some(h) = self.headcount
            && !(1..=10_000).contains(&h)
        {
            return Err(invalid("headcount", "1 to 10000"));
        }
        if let (Some(s), Some(e)) = (self.starts_on, self.ends_on)
            && e < s
        {
            return Err(invalid("period", "the end is before the start"));
        }
        if let Some(e) = self.ends_on
            && e < today - chrono::Duration::days(1)
        {
            return Err(invalid("period", "the period has ended already"));
        }
        let talent = match (&self.talent, self.kind) {
            (Some(_), k) if k != PostKind::Talent => {
                return Err(invalid("talent", "only talent entries have talent fields"));
            }
            (Some(t), _) => {
                if let Some(y) = t.graduation_year
                    && !(1950..=2100).contains(&y)
                {
                    return Err(invalid("talent.graduationYear", "a year between 1950 and 2100"));
                }
                Some(Talent {
                    major: line("talent.major", &t.major, 64)?,
                    graduation_year: t.graduation_year,
                    skills: list("talent.skills", &t.skills, MAX_LIST, 32)?,
                    certificates: list("talent.certificates", &t.certificates, MAX_LIST, 64)?,
                    availability: line("talent.availability", &t.availability, 100)?,
                    preferred_regions: list("talent.preferredRegions", &t.preferred_regions, MAX_LIST, 64)?,
                })
            }
            (None, _) => None,
        };
        Ok(PostInput {
            kind: self.kind,
            title,
            body,
            industry: line("industry", &self.industry, 64)?,
            region: line("region", &self.region, 64)?,
            address: line("address", &self.address, 200)?,
            location: self.location,
            headcount: self.headcount,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            tags: list("tags", &self.tags, MAX_TAGS, 20)?,
            talent,
            visibility: self.visibility,
        })
    }
}

/// The words search reads: title, body, tags, industry, region and the talent fields.
pub fn search_text_of(p: &post::Model) -> String {
    let tags: Vec<String> = serde_json::from_str(&p.tags).unwrap_or_default();
    let talent: Talent = p.talent.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    let mut parts: Vec<&str> = vec![&p.title, &p.body];
    parts.extend(tags.iter().map(String::as_str));
    parts.extend(p.industry.as_deref());
    parts.extend(p.region.as_deref());
    parts.extend(talent.major.as_deref());
    parts.extend(talent.skills.iter().map(String::as_str));
    parts.extend(talent.certificates.iter().map(String::as_str));
    let facets = search::Facets {
        kind: Some(p.kind.as_str()),
        region: p.region.as_deref(),
        industry: p.industry.as_deref(),
        organization_kind: p.organization_kind.map(|k| k.as_str()),
    };
    search::document(&parts, facets)
}

fn apply(row: &mut post::ActiveModel, input: PostInput) {
    row.kind = Set(input.kind);
    row.title = Set(input.title);
    row.body = Set(input.body);
    row.industry = Set(input.industry);
    row.region = Set(input.region);
    row.address = Set(input.address);
    row.latitude = Set(input.location.map(|l| l.0));
    row.longitude = Set(input.location.map(|l| l.1));
    row.headcount = Set(input.headcount);
    row.starts_on = Set(input.starts_on);
    row.ends_on = Set(input.ends_on);
    row.tags = Set(serde_json::to_string(&input.tags).unwrap_or_else(|_| "[]".into()));
    row.talent = Set(input.talent.map(|t| serde_json::to_string(&t).unwrap_or_default()));
    if let Some(v) = input.visibility {
        row.visibility = Set(v);
    }
}

/// The post's submitted fields, as kept in its history.
fn snapshot(p: &post::Model) -> String {
    serde_json::json!({
        "kind": p.kind, "title": p.title, "body": p.body, "industry": p.industry, "region": p.region,
        "address": p.address, "latitude": p.latitude, "longitude": p.longitude, "headcount": p.headcount,
        "startsOn": p.starts_on, "endsOn": p.ends_on, "tags": serde_json::from_str::<serde_json::Value>(&p.tags).unwrap_or_default(),
        "talent": p.talent.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()),
        "visibility": p.visibility,
    })
    .to_string()
}

fn today(ctx: &AppContext) -> NaiveDate {
    xqt_kernel::clock::china_date(ctx.clock.now())
}

/// Who may write for an organisation: a verified member who is not a student, of an approved
/// organisation, not restricted from posting.
async fn require_poster(
    ctx: &AppContext,
    author: Uuid,
    organization: Option<Uuid>,
) -> AppResult<Option<OrganizationKind>> {
    xqt_accounts::reports::require_verified_and_unrestricted(ctx, author, RestrictedAction::Post).await?;
    let Some(org) = organization else { return Ok(None) };
    let role = xqt_accounts::organizations::role_of(ctx, org, author).await?;
    let found = xqt_accounts::organizations::find(ctx, org).await?;
    match (role, found) {
        (None, _) | (_, None) => Err(CooperationError::NotFound("organization").into()),
        (Some(MemberRole::Student), _) => {
            Err(CooperationError::NotAllowed("students post their own talent profile, not for the school").into())
        }
        (Some(_), Some(o)) if o.verification_state != OrganizationVerification::Approved => {
            Err(CooperationError::NotVerified("the organisation is not verified yet").into())
        }
        (Some(_), Some(o)) => Ok(Some(o.kind)),
    }
}

/// Whether the person may edit, publish, close or withdraw the post: its author, or a manager
/// of its organisation. Anyone else who can see it gets FORBIDDEN; who cannot, NOT_FOUND.
pub async fn require_editor(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<post::Model> {
    let p = visible(ctx, Some(user), id).await?;
    if p.author_id == user {
        return Ok(p);
    }
    if let Some(org) = p.organization_id
        && xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages())
    {
        return Ok(p);
    }
    Err(CooperationError::NotAllowed("only its author or the organisation's managers change a post").into())
}

/// A new draft. With `organization`, a demand or talent pool entry of that organisation;
/// without, the person's own talent profile.
pub async fn create(
    ctx: &AppContext,
    author: Uuid,
    organization: Option<Uuid>,
    input: &PostInput,
) -> AppResult<post::Model> {
    let input = input.validated(today(ctx))?;
    let organization_kind = require_poster(ctx, author, organization).await?;
    match (organization_kind, input.kind) {
        (None, k) if k != PostKind::Talent => {
            return Err(invalid("organizationId", "a demand is posted for an organisation").into());
        }
        (Some(OrganizationKind::Enterprise), PostKind::Talent) => {
            return Err(invalid("kind", "talent entries come from schools or from the person").into());
        }
        _ => {}
    }
    if organization.is_none() && own_profile(ctx, author).await?.is_some() {
        return Err(invalid("kind", "a person has one talent profile: edit it").into());
    }
    let p = insert(ctx, author, organization, organization_kind, input, None).await?;
    tracing::info!(post = %p.id, kind = %p.kind, "post drafted");
    Ok(p)
}

/// A new row from a validated input: a draft, or published at once when synced by a school's
/// system (`external_key`).
async fn insert(
    ctx: &AppContext,
    author: Uuid,
    organization: Option<Uuid>,
    organization_kind: Option<OrganizationKind>,
    input: PostInput,
    external_key: Option<&str>,
) -> AppResult<post::Model> {
    let now = ctx.clock.now();
    let mut row = post::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(organization),
        organization_kind: Set(organization_kind),
        author_id: Set(author),
        state: Set(PostState::Draft),
        // A talent profile starts private (SHR-3); a demand is meant to be found.
        visibility: Set(if organization.is_none() { Visibility::Private } else { Visibility::Public }),
        search_text: Set(String::new()),
        external_key: Set(external_key.map(str::to_owned)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        published_at: Set(None),
        ..Default::default()
    };
    apply(&mut row, input);
    if external_key.is_some() {
        row = crate::sync::published(row, now);
    }
    let text = search_text_of(&row.clone().try_into_model().map_err(xqt_kernel::AppError::internal)?);
    row.search_text = Set(text);
    match row.insert(&ctx.db).await {
        Ok(p) => Ok(p),
        Err(e) if crate::sync::taken(&e) => Err(CooperationError::Changed("talent entry").into()),
        Err(e) => Err(e.into()),
    }
}

/// A synced talent entry, new: published at once under the linking manager's name, who must
/// still be allowed to post for the school.
pub async fn create_synced(
    ctx: &AppContext,
    author: Uuid,
    organization: Uuid,
    input: &PostInput,
    external_key: &str,
) -> AppResult<post::Model> {
    let kind = require_poster(ctx, author, Some(organization)).await?;
    insert(ctx, author, Some(organization), kind, input.clone(), Some(external_key)).await
}

/// A synced talent entry, replaced: its previous version goes to the history. The same fields
/// again change nothing (a retried sync).
pub async fn replace_synced(ctx: &AppContext, p: post::Model, input: PostInput) -> AppResult<post::Model> {
    let mut candidate = p.clone().into_active_model();
    apply(&mut candidate, input.clone());
    if snapshot(&candidate.try_into_model().map_err(xqt_kernel::AppError::internal)?) == snapshot(&p) {
        return Ok(p);
    }
    revise(ctx, p, input, None).await
}

/// The person's own talent profile (not withdrawn), if any.
pub async fn own_profile(ctx: &AppContext, user: Uuid) -> AppResult<Option<post::Model>> {
    Ok(post::Entity::find()
        .filter(post::Column::AuthorId.eq(user))
        .filter(post::Column::OrganizationId.is_null())
        .filter(post::Column::State.ne(PostState::Withdrawn))
        .one(&ctx.db)
        .await?)
}

/// Replaces the post's fields with `input` (fields left out are cleared: a post holds only what
/// was submitted), keeping the previous version in its history.
pub async fn update(ctx: &AppContext, user: Uuid, id: Uuid, input: &PostInput) -> AppResult<post::Model> {
    let input = input.validated(today(ctx))?;
    let p = require_editor(ctx, user, id).await?;
    if !matches!(p.state, PostState::Draft | PostState::Published) {
        return Err(state("post", p.state, "a draft or published").into());
    }
    if input.kind != p.kind && (p.kind == PostKind::Talent || input.kind == PostKind::Talent) {
        return Err(invalid("kind", "a talent entry stays a talent entry, and a demand a demand").into());
    }
    if p.organization_id.is_none()
        && p.state == PostState::Published
        && input.visibility.is_some_and(|v| v != Visibility::Private)
    {
        ctx.modules.privacy().consent.require(ctx, p.author_id, PUBLIC_PROFILE, None).await?;
    }
    revise(ctx, p, input, Some(user)).await
}

/// Keeps the post as it is in its history, then replaces its fields with `input`: both commit
/// together, guarded on the version read (two editors at once: the second is told to reload).
async fn revise(ctx: &AppContext, p: post::Model, input: PostInput, editor: Option<Uuid>) -> AppResult<post::Model> {
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    revision::ActiveModel {
        id: Set(ids::new_id()),
        post_id: Set(p.id),
        version: Set(p.version),
        editor_id: Set(editor),
        snapshot: Set(snapshot(&p)),
        created_at: Set(ctx.clock.now()),
    }
    .insert(&txn)
    .await?;
    let (id, version) = (p.id, p.version);
    let mut row = p.into_active_model();
    apply(&mut row, input);
    row.version = Set(version + 1);
    row.updated_at = Set(ctx.clock.now());
    let text = search_text_of(&row.clone().try_into_model().map_err(xqt_kernel::AppError::internal)?);
    row.search_text = Set(text);
    let updated = post::Entity::update_many()
        .set(row)
        .filter(post::Column::Id.eq(id))
        .filter(post::Column::Version.eq(version))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(CooperationError::Changed("post").into());
    }
    txn.commit().await?;
    find(ctx, id).await?.ok_or_else(|| CooperationError::NotFound("post").into())
}

/// Moves the post to `to`: publish (from a draft), close (a published one), withdraw (either).
pub async fn transition(ctx: &AppContext, user: Uuid, id: Uuid, to: PostState) -> AppResult<post::Model> {
    let p = require_editor(ctx, user, id).await?;
    let allowed = match to {
        PostState::Published => p.state == PostState::Draft,
        PostState::Closed => p.state == PostState::Published,
        PostState::Withdrawn => matches!(p.state, PostState::Draft | PostState::Published),
        PostState::Draft => false,
    };
    if !allowed {
        let wants = match to {
            PostState::Published => "a draft",
            PostState::Closed => "published",
            _ => "a draft or published",
        };
        return Err(state("post", p.state, wants).into());
    }
    if to == PostState::Published {
        // The author must still be allowed to post, and the organisation still approved.
        require_poster(ctx, p.author_id, p.organization_id).await?;
        if p.organization_id.is_none() && p.visibility != Visibility::Private {
            ctx.modules.privacy().consent.require(ctx, p.author_id, PUBLIC_PROFILE, None).await?;
        }
    }
    let was_public = p.state == PostState::Published;
    let now = ctx.clock.now();
    let mut row = p.into_active_model();
    row.state = Set(to);
    row.updated_at = Set(now);
    if to == PostState::Published {
        row.published_at = Set(Some(now));
    }
    let p = row.update(&ctx.db).await?;
    tracing::info!(post = %p.id, state = %p.state, "post moved");
    let event = Event::PostChanged { post: p.id, organization: p.organization_id, state: p.state.to_string() };
    crate::events::emit(ctx, event).await;
    crate::events::tell_partners(ctx, &p, was_public).await;
    Ok(p)
}

/// Sets who may see the person's talent profile or the organisation's post. Making a talent
/// profile visible needs the `public_profile` consent (SHR-3).
pub async fn set_visibility(ctx: &AppContext, user: Uuid, id: Uuid, visibility: Visibility) -> AppResult<post::Model> {
    let p = require_editor(ctx, user, id).await?;
    if p.organization_id.is_none() && visibility != Visibility::Private {
        ctx.modules.privacy().consent.require(ctx, p.author_id, PUBLIC_PROFILE, None).await?;
    }
    let mut row = p.into_active_model();
    row.visibility = Set(visibility);
    row.updated_at = Set(ctx.clock.now());
    Ok(row.update(&ctx.db).await?)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<post::Model>> {
    Ok(post::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// Whether a viewer (a person, or `None` for anyone else) may see the post: its organisation's
/// members and its author always; others a published or closed one by its visibility, and a
/// person's talent profile only while its person's `public_profile` consent stands.
pub async fn may_see(
    ctx: &AppContext,
    viewer: Option<Uuid>,
    p: &post::Model,
    verified_viewer: bool,
) -> AppResult<bool> {
    if viewer == Some(p.author_id) {
        return Ok(true);
    }
    if let (Some(user), Some(org)) = (viewer, p.organization_id)
        && xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some()
    {
        return Ok(true);
    }
    if !matches!(p.state, PostState::Published | PostState::Closed) {
        return Ok(false);
    }
    let by_visibility = match p.visibility {
        Visibility::Public => true,
        Visibility::Verified => verified_viewer,
        Visibility::Private => false,
    };
    if !by_visibility {
        return Ok(false);
    }
    if p.organization_id.is_none() {
        return match ctx.modules.privacy().consent.require(ctx, p.author_id, PUBLIC_PROFILE, None).await {
            Ok(()) => Ok(true),
            Err(e) if e.code() == ErrorCode::ConsentRequired => Ok(false),
            Err(e) => Err(e),
        };
    }
    Ok(true)
}

/// The post, if the viewer may see it; NOT_FOUND otherwise.
pub async fn visible(ctx: &AppContext, viewer: Option<Uuid>, id: Uuid) -> AppResult<post::Model> {
    let p = find(ctx, id).await?.ok_or(CooperationError::NotFound("post"))?;
    let verified = match viewer {
        Some(u) if p.visibility == Visibility::Verified => {
            xqt_accounts::organizations::in_approved_organization(ctx, u).await?
        }
        _ => false,
    };
    if may_see(ctx, viewer, &p, verified).await? { Ok(p) } else { Err(CooperationError::NotFound("post").into()) }
}

/// Drops person talent profiles whose person has withdrawn (or never gave) `public_profile`,
/// in one consent query for the whole page.
pub async fn without_hidden_profiles(ctx: &AppContext, rows: Vec<post::Model>) -> AppResult<Vec<post::Model>> {
    let people: Vec<Uuid> = rows.iter().filter(|p| p.organization_id.is_none()).map(|p| p.author_id).collect();
    if people.is_empty() {
        return Ok(rows);
    }
    let shown = ctx.modules.privacy().consent.permitted_among(ctx, &people, PUBLIC_PROFILE).await?;
    Ok(rows.into_iter().filter(|p| p.organization_id.is_some() || shown.contains(&p.author_id)).collect())
}

/// The edit history, newest first (editors only).
pub async fn history(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<Vec<revision::Model>> {
    require_editor(ctx, user, id).await?;
    Ok(revision::Entity::find()
        .filter(revision::Column::PostId.eq(id))
        .order_by_desc(revision::Column::Version)
        .all(&ctx.db)
        .await?)
}

/// An organisation's posts its members see: every state, newest first.
pub async fn of_organization(ctx: &AppContext, organization: Uuid, limit: u64) -> AppResult<Vec<post::Model>> {
    use sea_orm::QuerySelect;
    Ok(post::Entity::find()
        .filter(post::Column::OrganizationId.eq(organization))
        .order_by_desc(post::Column::Id)
        .limit(limit)
        .all(&ctx.db)
        .await?)
}

/// These posts, in no particular order (for a ranked list of ids).
pub async fn find_many(ctx: &AppContext, ids: &[Uuid]) -> AppResult<Vec<post::Model>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(post::Entity::find().filter(post::Column::Id.is_in(ids.iter().copied())).all(&ctx.db).await?)
}
