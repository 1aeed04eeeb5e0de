use async_graphql::connection::{Connection, ConnectionNameType, Edge, EdgeNameType, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, OutputType, Result};
use chrono::NaiveDate;
use uuid::Uuid;
use xqt_accounts::entity::organization::OrganizationKind;
use xqt_accounts::graphql::organizations::Organization;
use xqt_accounts::organizations::{DirectoryFilter, Visibility as OrgVisibility};
use xqt_kernel::ids::parse_id;
use xqt_kernel::pagination::{self, PageArgs, encode_cursor};
use xqt_kernel::{AppContext, AppResult, Viewer};

use super::types::{Agreement, Application, DirectoryTotal, Favourite, Post, PostRevision, PostsTotal, Programme};
use crate::config::CooperationConfig;
use crate::entity::post::PostKind;
use crate::error::invalid;
use crate::personal_data::{Precision, SCOPE_READ};
use crate::search::{self, Audience, Filter, Sort};
use crate::{agreements, applications, favourites, posts, programmes};

const POSTS: &str = "posts";
const DIRECTORY: &str = "directory";
const NEARBY: &str = "nearby";

/// Narrows a post search.
#[derive(InputObject, Default)]
#[graphql(name = "PostFilter")]
pub struct PostFilterInput {
    /// Words to find in title, body and tags (Chinese is segmented: 实习, 数控, 护理 …).
    pub keyword: Option<String>,
    #[graphql(default)]
    pub kinds: Vec<PostKind>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub organization_kind: Option<OrganizationKind>,
    pub organization_id: Option<ID>,
    /// Posts whose period overlaps `periodFrom`…`periodTo`.
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
}

impl PostFilterInput {
    fn filter(self) -> AppResult<Filter> {
        if let Some(k) = &self.keyword
            && k.chars().count() > 100
        {
            return Err(invalid("filter.keyword", "at most 100 characters").into());
        }
        if self.kinds.len() > 10 {
            return Err(invalid("filter.kinds", "at most 10").into());
        }
        Ok(Filter {
            keyword: self.keyword.filter(|k| !k.trim().is_empty()),
            kinds: self.kinds,
            industry: self.industry,
            region: self.region,
            organization_kind: self.organization_kind,
            organization: self.organization_id.as_ref().map(|o| parse_id("filter.organizationId", o)).transpose()?,
            period_from: self.period_from,
            period_to: self.period_to,
            within: None,
        })
    }
}

#[derive(InputObject, Default)]
#[graphql(name = "DirectoryFilter")]
pub struct DirectoryFilterInput {
    /// Part of the organisation's name.
    pub name: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub region: Option<String>,
    pub industry: Option<String>,
}

/// Which posts this viewer may be shown in lists, and whether person talent profiles are out.
async fn audience(app: &AppContext, viewer: &Viewer) -> AppResult<(Audience, bool)> {
    Ok(match viewer {
        Viewer::Admin { .. } => (Audience::Verified, false),
        Viewer::User { user_id, .. } => {
            let verified = xqt_accounts::organizations::in_approved_organization(app, *user_id).await?;
            (if verified { Audience::Verified } else { Audience::Public }, false)
        }
        Viewer::Partner { .. } => {
            viewer.require_scope(SCOPE_READ)?;
            // Partners see organisations' posts only: never a person's talent profile.
            (Audience::Public, true)
        }
        Viewer::Anonymous => (Audience::Public, false),
    })
}

/// Offset paging for ranked lists: `(offset, limit)` from `first`/`after`.
fn offset_page(app: &AppContext, list: &str, first: Option<i32>, after: Option<String>) -> AppResult<(u64, u64)> {
    let page = PageArgs { first, after, last: None, before: None }.validate(list, &app.config.limits)?;
    let offset = match page.after {
        Some(k) => k.parse::<u64>().map_err(|_| invalid("after", "not a cursor of this list"))? + 1,
        None => 0,
    };
    let max = app.config.section::<CooperationConfig>().search_max_offset;
    if offset > max {
        return Err(invalid("after", format!("results page at most {max} deep; narrow the search")).into());
    }
    Ok((offset, page.limit))
}

/// The directory's connection types, named apart from accounts' plain organisation lists.
pub struct DirectoryName;

impl ConnectionNameType for DirectoryName {
    fn type_name<T: OutputType>() -> String {
        "DirectoryConnection".into()
    }
}

impl EdgeNameType for DirectoryName {
    fn type_name<T: OutputType>() -> String {
        "DirectoryEdge".into()
    }
}

/// A post search's connection types (with `totalCount`), named apart from nearby's.
pub struct PostSearchName;

impl ConnectionNameType for PostSearchName {
    fn type_name<T: OutputType>() -> String {
        "PostSearchConnection".into()
    }
}

impl EdgeNameType for PostSearchName {
    fn type_name<T: OutputType>() -> String {
        "PostSearchEdge".into()
    }
}

/// Nearby's connection types.
pub struct NearbyName;

impl ConnectionNameType for NearbyName {
    fn type_name<T: OutputType>() -> String {
        "NearbyPostConnection".into()
    }
}

impl EdgeNameType for NearbyName {
    fn type_name<T: OutputType>() -> String {
        "NearbyPostEdge".into()
    }
}

type Ranked<T, E, N> = Connection<String, T, E, EmptyFields, N, N>;

fn connection<T: OutputType, E: async_graphql::ObjectType, N: ConnectionNameType + EdgeNameType>(
    list: &str,
    offset: u64,
    limit: u64,
    mut rows: Vec<T>,
    extra: E,
) -> Ranked<T, E, N> {
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut c = Connection::with_additional_fields(offset > 0, more, extra);
    c.edges.extend(
        rows.into_iter().enumerate().map(|(i, r)| Edge::new(encode_cursor(list, &(offset + i as u64).to_string()), r)),
    );
    c
}

/// The viewer's point for nearby, by their location consent: precise, or rounded to ~1 km
/// (then distances are shown as bands). Neither: CONSENT_REQUIRED naming `location` (COL-4).
async fn located(app: &AppContext, viewer: &Viewer, latitude: f64, longitude: f64) -> AppResult<((f64, f64), bool)> {
    let me = viewer.require_person()?;
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(invalid("latitude", "WGS-84 latitude −90…90 and longitude −180…180").into());
    }
    match crate::personal_data::location_precision(app, me).await? {
        Precision::Precise => Ok(((latitude, longitude), false)),
        Precision::Coarse => Ok((search::coarsen((latitude, longitude)), true)),
    }
}

fn radius(app: &AppContext, radius_km: Option<f64>) -> AppResult<f64> {
    let max = app.config.section::<CooperationConfig>().nearby_max_km;
    let r = radius_km.unwrap_or(10.0);
    if !(0.1..=max).contains(&r) {
        return Err(invalid("radiusKm", format!("0.1 to {max}")).into());
    }
    Ok(r)
}

#[derive(Default)]
pub struct CooperationQuery;

#[Object]
impl CooperationQuery {
    /// Approved schools and enterprises, newest first, public fields only.
    #[graphql(complexity = "pagination::complexity(first, None, child_complexity)")]
    async fn directory(
        &self,
        ctx: &Context<'_>,
        filter: Option<DirectoryFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Ranked<Organization, DirectoryTotal, DirectoryName>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        audience(app, viewer).await?;
        let f = filter.unwrap_or_default();
        let name = xqt_kernel::text::Text::line(1, 50)
            .check_optional(f.name.as_deref())
            .map_err(|m| invalid("filter.name", m))?;
        let filter = DirectoryFilter { name, kind: f.kind, region: f.region, industry: f.industry };
        let (offset, limit) = offset_page(app, DIRECTORY, first, after)?;
        let rows = xqt_accounts::organizations::directory(app, &filter, offset, limit + 1).await?;
        let rows = rows.into_iter().map(|row| Organization { row, visibility: OrgVisibility::Public, reviewer: false });
        Ok(connection(DIRECTORY, offset, limit, rows.collect(), DirectoryTotal { filter }))
    }

    /// Published posts the viewer may see, by keyword relevance or recency. `totalCount` is
    /// counted only when asked for.
    #[graphql(complexity = "pagination::complexity(first, None, child_complexity)")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        filter: Option<PostFilterInput>,
        #[graphql(desc = "RELEVANCE (the default; recency without a keyword) or RECENT")] sort: Option<Sort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Ranked<Post, PostsTotal, PostSearchName>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let (audience, organizations_only) = audience(app, viewer).await?;
        let filter = filter.unwrap_or_default().filter()?;
        let (offset, limit) = offset_page(app, POSTS, first, after)?;
        let sort = sort.unwrap_or(Sort::Relevance);
        let rows = search::search(app, audience, &filter, sort, offset, limit + 1).await?;
        let rows = if organizations_only {
            rows.into_iter().filter(|p| p.organization_id.is_some()).collect()
        } else {
            posts::without_hidden_profiles(app, rows).await?
        };
        let page = super::types::page_data(ctx, &rows, &["edges", "node"]).await?;
        let rows = rows.into_iter().map(|r| Post::on_page(r, &page)).collect();
        Ok(connection(POSTS, offset, limit, rows, PostsTotal { audience, filter }))
    }

    /// Published posts near a point (WGS-84), nearest first, within `radiusKm` (10 by default).
    /// Needs the location consent; under coarse consent the point is rounded to ~1 km and only
    /// distance bands are shown.
    #[graphql(complexity = "pagination::complexity(first, None, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn nearby_posts(
        &self,
        ctx: &Context<'_>,
        latitude: f64,
        longitude: f64,
        radius_km: Option<f64>,
        filter: Option<PostFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Ranked<Post, EmptyFields, NearbyName>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let (at, coarse) = located(app, viewer, latitude, longitude).await?;
        let km = radius(app, radius_km)?;
        let (audience, _) = audience(app, viewer).await?;
        let filter = filter.unwrap_or_default().filter()?;
        let (offset, limit) = offset_page(app, NEARBY, first, after)?;
        let cap = app.config.section::<CooperationConfig>().nearby_max_candidates;
        let ranked = search::nearby_posts(app, audience, &filter, at, km, cap).await?;
        let page: Vec<(Uuid, f64)> = ranked.into_iter().skip(offset as usize).take(limit as usize + 1).collect();
        let ids: Vec<Uuid> = page.iter().map(|p| p.0).collect();
        let found = posts::find_many(app, &ids).await?;
        let data = super::types::page_data(ctx, &found, &["edges", "node"]).await?;
        let mut found: std::collections::HashMap<Uuid, _> = found.into_iter().map(|p| (p.id, p)).collect();
        let rows: Vec<Post> = page
            .into_iter()
            .filter_map(|(id, d)| {
                found.remove(&id).map(|row| Post { row, distance_km: Some(d), coarse, page: Some(data.clone()) })
            })
            .collect();
        let c: Ranked<Post, EmptyFields, NearbyName> = connection(NEARBY, offset, limit, rows, EmptyFields);
        Ok(c)
    }

    /// Approved organisations near a point, nearest first (same consent rules as `nearbyPosts`).
    async fn nearby_organizations(
        &self,
        ctx: &Context<'_>,
        latitude: f64,
        longitude: f64,
        radius_km: Option<f64>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<NearbyOrganization>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let (at, coarse) = located(app, viewer, latitude, longitude).await?;
        let km = radius(app, radius_km)?;
        if !(1..=100).contains(&first) {
            return Err(invalid("first", "1 to 100").into());
        }
        let cap = app.config.section::<CooperationConfig>().nearby_max_candidates;
        let points = xqt_accounts::organizations::approved_within(app, search::bounding_box(at, km), cap).await?;
        let ranked: Vec<(Uuid, f64)> =
            search::rank_by_distance(points.into_iter(), at, km).into_iter().take(first as usize).collect();
        let ids: Vec<Uuid> = ranked.iter().map(|r| r.0).collect();
        let mut found: std::collections::HashMap<Uuid, _> =
            xqt_accounts::organizations::find_many(app, &ids).await?.into_iter().map(|o| (o.id, o)).collect();
        Ok(ranked
            .into_iter()
            .filter_map(|(id, d)| {
                found.remove(&id).map(|row| NearbyOrganization {
                    organization: Organization { row, visibility: OrgVisibility::Public, reviewer: false },
                    distance_km: (!coarse).then_some((d * 100.0).round() / 100.0),
                    distance_band: search::distance_band(d),
                })
            })
            .collect())
    }

    /// One post the viewer may see (NOT_FOUND otherwise).
    pub async fn post(&self, ctx: &Context<'_>, id: ID) -> Result<Post> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        if matches!(viewer, Viewer::Partner { .. }) {
            viewer.require_scope(SCOPE_READ)?;
            let p = posts::visible(app, None, parse_id("id", &id)?).await?;
            if p.organization_id.is_none() {
                return Err(crate::CooperationError::NotFound("post").into());
            }
            return Ok(Post::new(p));
        }
        Ok(Post::new(posts::visible(app, viewer.person_id(), parse_id("id", &id)?).await?))
    }

    /// A post's earlier versions, newest first (its author and organisation's managers).
    async fn post_history(&self, ctx: &Context<'_>, id: ID) -> Result<Vec<PostRevision>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(posts::history(app, me, parse_id("id", &id)?).await?.into_iter().map(PostRevision).collect())
    }

    /// The signed-in person's own talent profile, if they made one.
    async fn my_talent_profile(&self, ctx: &Context<'_>) -> Result<Option<Post>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(posts::own_profile(app, me).await?.map(Post::new))
    }

    /// Every post of an organisation the person belongs to, in any state, newest first.
    async fn organization_posts(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        #[graphql(default = 50)] first: i32,
    ) -> Result<Vec<Post>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let org = parse_id("organizationId", &organization_id)?;
        if xqt_accounts::organizations::role_of(app, org, me).await?.is_none() {
            return Err(crate::CooperationError::NotFound("organization").into());
        }
        let first = u64::try_from(first.clamp(1, 100)).unwrap_or(50);
        let rows = posts::of_organization(app, org, first).await?;
        let page = super::types::page_data(ctx, &rows, &[]).await?;
        Ok(rows.into_iter().map(|r| Post::on_page(r, &page)).collect())
    }

    /// Applications the person sent (`received: false`) or received on their and their
    /// organisations' posts, newest first.
    async fn applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] received: bool,
        #[graphql(default = 50)] first: i32,
    ) -> Result<Vec<Application>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let first = u64::try_from(first.clamp(1, 100)).unwrap_or(50);
        let side = if received { applications::Side::Owner } else { applications::Side::Applicant };
        Ok(applications::list(app, me, received, first)
            .await?
            .into_iter()
            .map(|row| Application { row, side })
            .collect())
    }

    /// One application the person is a side of; opening it marks it viewed for the deciding side.
    pub async fn application(&self, ctx: &Context<'_>, id: ID) -> Result<Application> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let id = parse_id("id", &id)?;
        let (row, side) = applications::visible(app, me, id).await?;
        let row = if row.state == crate::entity::application::ApplicationState::Applied
            && applications::decides(&row, side)
        {
            applications::step(app, me, id, applications::Step::View, None).await?
        } else {
            row
        };
        Ok(Application { row, side })
    }

    /// The person's favourites, newest first.
    async fn favourites(&self, ctx: &Context<'_>) -> Result<Vec<Favourite>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(favourites::list(app, me)
            .await?
            .into_iter()
            .map(|f| Favourite { kind: f.subject_kind, id: ID(f.subject_id.to_string()), created_at: f.created_at })
            .collect())
    }

    /// A programme the person is in or manages.
    pub async fn programme(&self, ctx: &Context<'_>, id: ID) -> Result<Programme> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Programme::new(programmes::visible(app, me, parse_id("id", &id)?).await?))
    }

    /// Programmes the person is in (invited, joined or supervising).
    async fn my_programmes(&self, ctx: &Context<'_>) -> Result<Vec<Programme>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let ids: Vec<Uuid> = programmes::of_member(app, me).await?.into_iter().map(|m| m.programme_id).collect();
        Ok(programmes::find_many(app, &ids).await?.into_iter().map(Programme::new).collect())
    }

    /// An agreement of a programme the person is in or manages.
    pub async fn agreement(&self, ctx: &Context<'_>, id: ID) -> Result<Agreement> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Agreement(agreements::visible(app, me, parse_id("id", &id)?).await?))
    }
}

/// An organisation near the point asked about.
#[derive(async_graphql::SimpleObject)]
pub struct NearbyOrganization {
    pub organization: Organization,
    /// Kilometres (precise location consent only).
    pub distance_km: Option<f64>,
    pub distance_band: &'static str,
}
