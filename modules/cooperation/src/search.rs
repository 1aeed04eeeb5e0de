//! Search that works for Chinese, and nearby.
//!
//! Text is segmented with jieba in search mode (`数控机床` → `数控 机床 数控机床`), lower-cased,
//! and stored space-separated in `search_text`; both backends index those words as they are
//! (SQLite FTS5 `unicode61`, PostgreSQL `simple`), so a two-character word like 实习 or 护理 is a
//! term of its own and a query is segmented the same way. Chosen over character n-grams: the
//! index stays a third of the size, ranking (bm25 / ts_rank) counts real words, and the dictionary
//! can be grown without a schema change (`xqt cooperation reindex`).
//!
//! Nearby: a bounding box on indexed latitude/longitude narrows the candidates, then the
//! great-circle distance (haversine, WGS-84 coordinates on a 6371 km sphere) ranks them.

use std::sync::OnceLock;

use jieba_rs::Jieba;
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, Statement, Value};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult};

use crate::entity::post::{self, PostKind};
use xqt_accounts::entity::organization::OrganizationKind;

/// Most terms one query is split into; the rest are ignored.
pub const MAX_TERMS: usize = 12;

fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Loads the dictionary now (about 100 ms), so the first post or search does not pay for it.
pub fn warm_up() {
    let _ = jieba();
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    jieba()
        .cut_for_search(text, true)
        .into_iter()
        .map(|t| t.word.trim().to_lowercase())
        .filter(|w| !w.is_empty() && w.chars().any(char::is_alphanumeric))
}

/// The words of a post's searchable text, space-separated (repeats kept: they weigh in ranking).
pub fn segment(parts: &[&str]) -> String {
    parts.iter().flat_map(|p| words(p)).collect::<Vec<_>>().join(" ")
}

/// The equality filters a post can be found by, as index terms: `zz` + a letter for the filter +
/// the value's bytes in hex (never a word jieba makes). With them in the words column, a keyword
/// search narrows by kind, region, industry and organisation kind inside the full-text index,
/// instead of reading every post that has the word and filtering after.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facets<'a> {
    pub kind: Option<&'a str>,
    pub region: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub organization_kind: Option<&'a str>,
}

fn facet(letter: char, value: &str) -> String {
    format!("zz{letter}{}", hex::encode(value.as_bytes()))
}

impl Facets<'_> {
    pub fn terms(&self) -> Vec<String> {
        [('k', self.kind), ('r', self.region), ('i', self.industry), ('o', self.organization_kind)]
            .into_iter()
            .filter_map(|(l, v)| v.map(|v| facet(l, v)))
            .collect()
    }
}

/// A post's words column: its segmented text, then its facet terms.
pub fn document(parts: &[&str], facets: Facets<'_>) -> String {
    let mut text = segment(parts);
    for t in facets.terms() {
        text.push(' ');
        text.push_str(&t);
    }
    text
}

/// A keyword query's distinct words, at most `MAX_TERMS`.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(q) {
        // Only what the index can hold: letters and digits (quotes and operators would be syntax).
        let w: String = w.chars().filter(|c| c.is_alphanumeric()).collect();
        if !w.is_empty() && !out.contains(&w) {
            out.push(w);
        }
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

pub use xqt_kernel::geo::{bounding_box, coarsen, distance_km};

/// What a coarse-consent viewer is told instead of a distance.
pub fn distance_band(km: f64) -> &'static str {
    match km {
        k if k < 1.0 => "< 1 km",
        k if k < 3.0 => "< 3 km",
        k if k < 5.0 => "< 5 km",
        k if k < 10.0 => "< 10 km",
        k if k < 20.0 => "< 20 km",
        k if k < 50.0 => "< 50 km",
        _ => "50 km +",
    }
}

/// Which published posts a viewer may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone (signed out, a partner): public posts.
    Public,
    /// A member of an approved organisation: public and verified-only posts.
    Verified,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub keyword: Option<String>,
    pub kinds: Vec<PostKind>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub organization_kind: Option<OrganizationKind>,
    pub organization: Option<Uuid>,
    /// Posts whose period overlaps [from, to].
    pub period_from: Option<chrono::NaiveDate>,
    pub period_to: Option<chrono::NaiveDate>,
    /// Only posts located in this box (nearby's pre-filter).
    pub within: Option<(f64, f64, f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "PostSort")]
pub enum Sort {
    /// Best match first (recency without a keyword).
    Relevance,
    Recent,
}

/// A statement under construction: placeholders in the backend's syntax.
struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DatabaseBackend) -> Self {
        Self { backend, text: String::new(), values: Vec::new() }
    }
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        if self.backend == DatabaseBackend::Postgres {
            self.text.push_str(&format!("${}", self.values.len()));
        } else {
            self.text.push('?');
        }
        self
    }
    fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

const COLUMNS: &str = "p.id, p.organization_id, p.organization_kind, p.author_id, p.kind, p.state, p.visibility, \
    p.title, p.body, p.industry, p.region, p.address, p.latitude, p.longitude, p.headcount, p.starts_on, p.ends_on, \
    p.tags, p.talent, p.search_text, p.external_key, p.version, p.created_at, p.updated_at, p.published_at";

/// A statement for these terms: on SQLite with terms, it starts with the full-text matches,
/// materialised, so the planner cannot walk the posts by recency and probe the index per row (a
/// rare word would visit every post).
fn statement(backend: DatabaseBackend, terms: &[String], filter: &Filter) -> Sql {
    let mut sql = Sql::new(backend);
    if backend != DatabaseBackend::Postgres && !terms.is_empty() {
        sql.push("WITH f AS MATERIALIZED (SELECT rowid AS rid, bm25(cooperation_posts_fts) AS score ");
        sql.push("FROM cooperation_posts_fts WHERE cooperation_posts_fts MATCH ")
            .bind(fts_query(terms, filter))
            .push(") ");
    }
    sql
}

/// The words (all of them) and the filters' facet terms: alternatives within one filter (several
/// kinds) are OR-ed. Terms are letters and digits only, so quoting is all the escaping needed.
fn facet_groups(filter: &Filter) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    if !filter.kinds.is_empty() {
        groups.push(filter.kinds.iter().map(|k| facet('k', k.as_str())).collect());
    }
    let single = Facets {
        kind: None,
        region: filter.region.as_deref(),
        industry: filter.industry.as_deref(),
        organization_kind: filter.organization_kind.map(|k| k.as_str()),
    };
    groups.extend(single.terms().into_iter().map(|t| vec![t]));
    groups
}

fn fts_query(terms: &[String], filter: &Filter) -> String {
    let mut parts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    for group in facet_groups(filter) {
        let any: Vec<String> = group.iter().map(|t| format!("\"{t}\"")).collect();
        parts.push(format!("({})", any.join(" OR ")));
    }
    parts.join(" AND ")
}

/// The tsquery as a constant in the statement, not a bound parameter: PostgreSQL then plans each
/// search with the words' real frequencies (a rare word through the GIN index, a word in every
/// post by walking the recency index), where a parameter would get one generic plan for all.
/// Terms and facets are letters and digits only; the quotes are doubled all the same.
fn pg_tsquery(terms: &[String], filter: &Filter) -> String {
    let query = ts_query(terms, filter);
    debug_assert!(query.chars().all(|c| c.is_alphanumeric() || " '&|()".contains(c)));
    format!("to_tsquery('simple', '{}')", query.replace('\'', "''"))
}

fn ts_query(terms: &[String], filter: &Filter) -> String {
    let mut parts: Vec<String> = terms.iter().map(|t| format!("'{t}'")).collect();
    for group in facet_groups(filter) {
        let any: Vec<String> = group.iter().map(|t| format!("'{t}'")).collect();
        parts.push(format!("({})", any.join(" | ")));
    }
    parts.join(" & ")
}

/// FROM and WHERE of a search: published, visible to the audience, matching every filter.
fn from_where(sql: &mut Sql, audience: Audience, filter: &Filter, terms: &[String]) {
    let pg = sql.backend == DatabaseBackend::Postgres;
    if terms.is_empty() {
        sql.push(" FROM cooperation_posts p WHERE 1 = 1");
    } else if pg {
        sql.push(" FROM cooperation_posts p WHERE p.search_vector @@ ").push(&pg_tsquery(terms, filter));
    } else {
        // CROSS JOIN keeps the matches the outer loop (SQLite's planner does not reorder it).
        sql.push(" FROM f CROSS JOIN cooperation_posts p ON p.rowid = f.rid WHERE 1 = 1");
    }
    // On SQLite, nearby must range over the location index, not walk every published post by
    // the listing index that the state equality would otherwise pick (`+` keeps a column's
    // index out of the plan).
    let plus = if !pg && filter.within.is_some() { "+" } else { "" };
    sql.push(&format!(" AND {plus}p.state = ")).bind(post::PostState::Published.as_str());
    match audience {
        Audience::Public => {
            sql.push(&format!(" AND {plus}p.visibility = ")).bind(post::Visibility::Public.as_str());
        }
        Audience::Verified => {
            sql.push(&format!(" AND {plus}p.visibility IN ("))
                .bind(post::Visibility::Public.as_str())
                .push(", ")
                .bind(post::Visibility::Verified.as_str())
                .push(")");
        }
    }
    if !filter.kinds.is_empty() {
        sql.push(" AND p.kind IN (");
        for (i, k) in filter.kinds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(k.as_str());
        }
        sql.push(")");
    }
    if let Some(v) = &filter.industry {
        sql.push(" AND p.industry = ").bind(v.clone());
    }
    if let Some(v) = &filter.region {
        sql.push(" AND p.region = ").bind(v.clone());
    }
    if let Some(v) = filter.organization_kind {
        sql.push(" AND p.organization_kind = ").bind(v.as_str());
    }
    if let Some(v) = filter.organization {
        sql.push(" AND p.organization_id = ").bind(v);
    }
    if let Some(from) = filter.period_from {
        sql.push(" AND (p.ends_on IS NULL OR p.ends_on >= ").bind(from).push(")");
    }
    if let Some(to) = filter.period_to {
        sql.push(" AND (p.starts_on IS NULL OR p.starts_on <= ").bind(to).push(")");
    }
    if let Some((south, west, north, east)) = filter.within {
        sql.push(" AND p.latitude BETWEEN ").bind(south).push(" AND ").bind(north);
        sql.push(" AND p.longitude BETWEEN ").bind(west).push(" AND ").bind(east);
    }
}

/// One page of matching posts in `sort` order.
pub async fn search(
    ctx: &AppContext,
    audience: Audience,
    filter: &Filter,
    sort: Sort,
    offset: u64,
    limit: u64,
) -> AppResult<Vec<post::Model>> {
    let terms = filter.keyword.as_deref().map(query_terms).unwrap_or_default();
    if filter.keyword.is_some() && terms.is_empty() {
        return Ok(vec![]);
    }
    let backend = ctx.db.get_database_backend();
    let mut sql = statement(backend, &terms, filter);
    sql.push("SELECT ").push(COLUMNS);
    from_where(&mut sql, audience, filter, &terms);
    match (sort, terms.is_empty(), backend) {
        (Sort::Relevance, false, DatabaseBackend::Postgres) => {
            let q = pg_tsquery(&terms, filter);
            sql.push(&format!(" ORDER BY ts_rank(p.search_vector, {q}) DESC, p.published_at DESC, p.id DESC"));
        }
        (Sort::Relevance, false, _) => {
            sql.push(" ORDER BY f.score ASC, p.published_at DESC, p.id DESC");
        }
        _ => {
            sql.push(" ORDER BY p.published_at DESC, p.id DESC");
        }
    }
    sql.push(" LIMIT ").bind(limit as i64).push(" OFFSET ").bind(offset as i64);
    Ok(post::Model::find_by_statement(sql.statement()).all(&ctx.db).await?)
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// How many posts match (asked for only when a client selects `totalCount`).
pub async fn count(ctx: &AppContext, audience: Audience, filter: &Filter) -> AppResult<u64> {
    let terms = filter.keyword.as_deref().map(query_terms).unwrap_or_default();
    if filter.keyword.is_some() && terms.is_empty() {
        return Ok(0);
    }
    let mut sql = statement(ctx.db.get_database_backend(), &terms, filter);
    sql.push("SELECT COUNT(*) AS n");
    from_where(&mut sql, audience, filter, &terms);
    let n = Count::find_by_statement(sql.statement()).one(&ctx.db).await?.map_or(0, |c| c.n);
    Ok(u64::try_from(n).unwrap_or(0))
}

#[derive(FromQueryResult)]
struct Located {
    id: Uuid,
    latitude: f64,
    longitude: f64,
}

/// Posts within `km` of `at`, nearest first, as (id, distance): the box narrows on the index,
/// the great-circle distance decides. At most `cap` candidates are ranked.
pub async fn nearby_posts(
    ctx: &AppContext,
    audience: Audience,
    filter: &Filter,
    at: (f64, f64),
    km: f64,
    cap: u64,
) -> AppResult<Vec<(Uuid, f64)>> {
    let filter = Filter { within: Some(bounding_box(at, km)), keyword: None, ..filter.clone() };
    let mut sql = Sql::new(ctx.db.get_database_backend());
    sql.push("SELECT p.id, p.latitude, p.longitude");
    from_where(&mut sql, audience, &filter, &[]);
    sql.push(" LIMIT ").bind(cap as i64);
    let rows = Located::find_by_statement(sql.statement()).all(&ctx.db).await?;
    if rows.len() as u64 == cap {
        tracing::warn!(cap, "nearby search cut at its candidate cap");
    }
    Ok(rank_by_distance(rows.into_iter().map(|r| (r.id, r.latitude, r.longitude)), at, km))
}

/// Keeps the points within `km` of `at`, nearest first (ties by id, so pages are stable).
pub fn rank_by_distance(points: impl Iterator<Item = (Uuid, f64, f64)>, at: (f64, f64), km: f64) -> Vec<(Uuid, f64)> {
    let mut out: Vec<(Uuid, f64)> =
        points.map(|(id, lat, lng)| (id, distance_km(at, (lat, lng)))).filter(|(_, d)| *d <= km).collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    out
}

/// Re-segments every post with the current dictionary (after a dictionary change), and on
/// SQLite rebuilds the full-text index from the posts (after a VACUUM, which may renumber rows).
pub async fn reindex(ctx: &AppContext) -> AppResult<u64> {
    use sea_orm::{ActiveModelTrait, QueryOrder, QuerySelect, Set};
    let mut done = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = post::Entity::find();
        if let Some(a) = after {
            q = sea_orm::QueryFilter::filter(q, sea_orm::ColumnTrait::gt(&post::Column::Id, a));
        }
        let batch = q.order_by_asc(post::Column::Id).limit(500).all(&ctx.db).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for p in batch {
            let text = crate::posts::search_text_of(&p);
            if text != p.search_text {
                let mut row: post::ActiveModel = p.into();
                row.search_text = Set(text);
                row.update(&ctx.db).await?;
            }
            done += 1;
        }
    }
    if ctx.db.get_database_backend() == DatabaseBackend::Sqlite {
        ctx.db
            .execute_unprepared("INSERT INTO cooperation_posts_fts(cooperation_posts_fts) VALUES ('rebuild')")
            .await?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_character_words_are_terms_of_their_own() {
        let text = segment(&["招聘数控机床实习生", "护理专业优先"]);
        let doc = document(&["数控"], Facets { region: Some("浙江省杭州市"), ..Facets::default() });
        assert_eq!(doc, format!("数控 zzr{}", hex::encode("浙江省杭州市")));
        let filter = Filter {
            kinds: vec![PostKind::Internship, PostKind::Recruitment],
            region: Some("北京".into()),
            ..Filter::default()
        };
        assert_eq!(
            fts_query(&["数控".into()], &filter),
            format!(
                "\"数控\" AND (\"zzk{}\" OR \"zzk{}\") AND (\"zzr{}\")",
                hex::encode("internship"),
                hex::encode("recruitment"),
                hex::encode("北京")
            )
        );
        assert!(ts_query(&["数控".into()], &filter).starts_with("'数控' & ('zzk"));
        for w in ["数控", "机床", "实习", "护理"] {
            assert!(text.split(' ').any(|t| t == w), "{w} in {text}");
        }
        assert_eq!(query_terms("数控 实习"), ["数控", "实习"]);
        assert_eq!(query_terms("\"数控\" OR *"), ["数控", "or"]);
        assert!(query_terms("  ，。!").is_empty());
    }

    #[test]
    fn distances_are_great_circle_and_boxes_hold_them() {
        // Tiananmen to Beijing West railway station: about 6.4 km.
        let (a, b) = ((39.9087, 116.3975), (39.8949, 116.3220));
        let d = distance_km(a, b);
        assert!((6.2..6.8).contains(&d), "{d}");
        let (s, w, n, e) = bounding_box(a, 7.0);
        assert!(s < b.0 && b.0 < n && w < b.1 && b.1 < e);
        assert_eq!(coarsen((39.90873, 116.39751)), (39.91, 116.4));
        assert_eq!(distance_band(2.2), "< 3 km");
        let ranked = rank_by_distance(
            [(Uuid::from_u128(1), b.0, b.1), (Uuid::from_u128(2), a.0, a.1), (Uuid::from_u128(3), 31.23, 121.47)]
                .into_iter(),
            a,
            10.0,
        );
        assert_eq!(ranked.iter().map(|r| r.0.as_u128()).collect::<Vec<_>>(), [2, 1]);
    }
}
