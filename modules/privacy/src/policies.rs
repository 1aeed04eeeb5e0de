//! Policy documents, versioned (POL-1 … POL-3). Every version stays readable; a major version
//! says which of the six kinds of major change (M 六 1–6) it is and which modules' features wait
//! for each person's acceptance; publishing one notifies everyone.

use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::crypto::sha256_hex;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppError, AppResult, ids};

use crate::consent::{self, Action, Entry, Provenance};
use crate::entity::{consent_record, policy_version};
use crate::error::PrivacyError;

xqt_kernel::closed_set! {
    /// The documents the platform publishes.
    #[graphql(name = "PolicyDocument")]
    pub enum Document {
        /// 校企通隐私政策 (X).
        PrivacyPolicy = "privacy_policy",
        /// 移动办公平台隐私政策 (M).
        MobileOfficePrivacyPolicy = "mobile_office_privacy_policy",
        UserAgreement = "user_agreement",
        /// 用户注销协议 (M 附件一).
        CancellationAgreement = "cancellation_agreement",
        /// 儿童个人信息保护规则.
        ChildrenRules = "children_rules",
        /// 权限与第三方 SDK 清单.
        PermissionsList = "permissions_list",
    }
}

xqt_kernel::closed_set! {
    /// The six kinds of major change a policy version can be (M 六 1–6).
    #[graphql(name = "MajorChangeKind")]
    pub enum MajorKind {
        /// 1. 服务模式发生重大变化（处理目的、个人信息类型、使用方式）.
        ServiceModel = "service_model",
        /// 2. 控制权等方面发生重大变化（并购重组引起的所有者变更）.
        Control = "control",
        /// 3. 个人信息共享、转让或公开披露的主要对象发生变化.
        SharingRecipients = "sharing_recipients",
        /// 4. 您参与个人信息处理方面的权利及其行使方式发生重大变化.
        UserRights = "user_rights",
        /// 5. 负责个人信息安全的责任部门、联络方式及投诉渠道发生变化.
        ResponsibleContact = "responsible_contact",
        /// 6. 个人信息安全影响评估报告表明存在高风险.
        HighRiskAssessment = "high_risk_assessment",
    }
}

impl MajorKind {
    pub fn label(self) -> &'static str {
        match self {
            MajorKind::ServiceModel => "服务模式发生重大变化",
            MajorKind::Control => "控制权发生重大变化",
            MajorKind::SharingRecipients => "共享、转让或公开披露的主要对象发生变化",
            MajorKind::UserRights => "您的权利及其行使方式发生重大变化",
            MajorKind::ResponsibleContact => "责任部门、联络方式及投诉渠道发生变化",
            MajorKind::HighRiskAssessment => "安全影响评估报告表明存在高风险",
        }
    }
}

pub struct NewVersion {
    pub document: Document,
    pub version: String,
    pub title: String,
    pub body: String,
    pub summary: String,
    pub effective_at: DateTime<Utc>,
    pub major_kinds: Vec<MajorKind>,
    /// Modules whose features wait for acceptance (major versions only).
    pub affects: Vec<String>,
}

const BODY_MAX: usize = 200_000;
const SUMMARY_MAX: usize = 2_000;
/// Major versions, cached for the guard: shared for 30 s (publishing deletes it), and on each
/// instance for 5 s, so a new version holds features back everywhere within seconds while the
/// hot path costs no round trip.
const MAJORS_KEY: &str = "privacy:majors";
const MAJORS_TTL: StdDuration = StdDuration::from_secs(30);
const MAJORS_LOCAL_TTL: StdDuration = StdDuration::from_secs(5);

fn split(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

/// The kinds of major change a version declares (kept comma-separated in one column).
pub fn kinds_of(v: &policy_version::Model) -> AppResult<Vec<MajorKind>> {
    v.major_kinds
        .split(',')
        .filter(|k| !k.is_empty())
        .map(|k| MajorKind::parse(k).ok_or_else(|| AppError::internal(format!("unknown major change kind {k:?}"))))
        .collect()
}

pub fn affects_of(v: &policy_version::Model) -> Vec<String> {
    split(&v.affects)
}

fn validate(ctx: &AppContext, v: &NewVersion) -> Result<Document, PrivacyError> {
    let invalid = |field, message: &str| PrivacyError::Invalid { field, message: message.to_owned() };
    let doc = v.document;
    let version_ok = (1..=32).contains(&v.version.len())
        && v.version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !version_ok {
        return Err(invalid("version", "1 to 32 of A-Z, a-z, 0-9, `.` and `-`"));
    }
    let checked = |field, rule: Text, value: &str| {
        rule.check(value).map(|_| ()).map_err(|message| PrivacyError::Invalid { field, message })
    };
    checked("title", Text::line(1, 200), &v.title)?;
    checked("body", Text::block(1, BODY_MAX), &v.body)?;
    checked("summary", Text::block(1, SUMMARY_MAX), &v.summary)?;
    let now = ctx.clock.now();
    if v.effective_at < now - Duration::days(1) || v.effective_at > now + Duration::days(366) {
        return Err(invalid("effectiveAt", "from today to a year ahead"));
    }
    let major = !v.major_kinds.is_empty();
    if !major && !v.affects.is_empty() {
        return Err(invalid("affects", "only a major version holds features back"));
    }
    if major && v.affects.is_empty() {
        return Err(invalid("affects", "a major version names the modules whose features need acceptance"));
    }
    let modules = ctx.modules.names();
    for m in &v.affects {
        if m == "privacy" {
            return Err(invalid("affects", "privacy rights never wait for acceptance"));
        }
        if !modules.contains(&m.as_str()) {
            return Err(invalid("affects", &format!("`{m}` is not a module")));
        }
    }
    Ok(doc)
}

/// How two version numbers order: segment by segment (split at `.` and `-`), numerically where
/// both are numbers ("1.10" after "1.9"), as text otherwise; a longer one after its prefix.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| v.split(['.', '-']).map(str::to_owned).collect::<Vec<_>>();
    let (a, b) = (parts(a), parts(b));
    for (x, y) in a.iter().zip(&b) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// A document's versions publish in order: a new one's number comes after every earlier one's,
/// and it takes effect no earlier than any of them (no backdating past a published version).
async fn check_order(ctx: &AppContext, doc: Document, v: &NewVersion) -> AppResult<()> {
    let invalid = |field, message: String| AppError::from(PrivacyError::Invalid { field, message });
    let earlier = policy_version::Entity::find().filter(policy_version::Column::Document.eq(doc)).all(&ctx.db).await?;
    if earlier.iter().any(|e| e.version == v.version) {
        return Err(PrivacyError::VersionExists.into());
    }
    if let Some(newest) = earlier.iter().max_by(|a, b| version_order(&a.version, &b.version))
        && version_order(&v.version, &newest.version).is_lt()
    {
        return Err(invalid("version", format!("must come after {}, this document's newest version", newest.version)));
    }
    if let Some(last) = earlier.iter().max_by_key(|e| e.effective_at)
        && v.effective_at < last.effective_at
    {
        return Err(invalid(
            "effectiveAt",
            format!("no earlier than {} (version {} takes effect then)", last.effective_at.to_rfc3339(), last.version),
        ));
    }
    Ok(())
}

/// Publishes a version. A major one is gated and announced to every account.
pub async fn publish(ctx: &AppContext, publisher: Option<Uuid>, v: NewVersion) -> AppResult<policy_version::Model> {
    let doc = validate(ctx, &v)?;
    check_order(ctx, doc, &v).await?;
    let mut kinds: Vec<&str> = v.major_kinds.iter().map(|k| k.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    let mut affects = v.affects.clone();
    affects.sort();
    affects.dedup();
    let row = policy_version::ActiveModel {
        id: Set(ids::new_id()),
        document: Set(doc),
        version: Set(v.version.clone()),
        title: Set(v.title.trim().to_owned()),
        body_sha256: Set(sha256_hex(v.body.as_bytes())),
        body: Set(v.body),
        summary: Set(v.summary.trim().to_owned()),
        effective_at: Set(v.effective_at),
        published_at: Set(ctx.clock.now()),
        published_by: Set(publisher),
        major: Set(!kinds.is_empty()),
        major_kinds: Set(kinds.join(",")),
        affects: Set(affects.join(",")),
    };
    let row = match row.insert(&ctx.db).await {
        Ok(r) => r,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(PrivacyError::VersionExists.into());
        }
        Err(e) => return Err(e.into()),
    };
    ctx.cache.delete(MAJORS_KEY).await?;
    ctx.local.delete(MAJORS_KEY).await?;
    tracing::info!(document = %row.document, version = %row.version, major = row.major, "policy version published");
    if row.major {
        let (ctx, version) = (ctx.clone(), row.clone());
        // Stored first: anyone the notice misses still finds the version in `pendingPolicies`.
        xqt_kernel::spawn(async move {
            if let Err(e) = announce(&ctx, &version).await {
                tracing::error!(error = ?e, version = %version.id, "major policy notice interrupted");
            }
        });
    }
    Ok(row)
}

async fn announce(ctx: &AppContext, v: &policy_version::Model) -> AppResult<u64> {
    let kinds: Vec<&str> = kinds_of(v)?.into_iter().map(MajorKind::label).collect();
    let body = format!(
        "《{}》{} 版将于 {} 生效。重大变更：{}。{}\n请在「隐私与协议」中查阅并确认，确认前相关功能将暂停使用。",
        v.title,
        v.version,
        v.effective_at.format("%Y-%m-%d"),
        kinds.join("；"),
        v.summary
    );
    let title = format!("《{}》重大变更，请查阅并确认", v.title);
    crate::ceasing::notify_everyone(ctx, xqt_notifications::NotificationKind::PolicyMajor, &title, &body).await
}

pub async fn version(ctx: &AppContext, id: Uuid) -> AppResult<Option<policy_version::Model>> {
    Ok(policy_version::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// Every version of a document, newest first.
pub async fn versions(ctx: &AppContext, document: Document) -> AppResult<Vec<policy_version::Model>> {
    Ok(policy_version::Entity::find()
        .filter(policy_version::Column::Document.eq(document))
        .order_by_desc(policy_version::Column::PublishedAt)
        .order_by_desc(policy_version::Column::Id)
        .all(&ctx.db)
        .await?)
}

/// The version of a document in force now: the latest published whose effective date has come.
pub async fn current(ctx: &AppContext, document: Document) -> AppResult<Option<policy_version::Model>> {
    Ok(policy_version::Entity::find()
        .filter(policy_version::Column::Document.eq(document))
        .filter(policy_version::Column::EffectiveAt.lte(ctx.clock.now()))
        .order_by_desc(policy_version::Column::EffectiveAt)
        .order_by_desc(policy_version::Column::Id)
        .one(&ctx.db)
        .await?)
}

/// The privacy policy version a consent is given under.
pub async fn current_privacy_policy(ctx: &AppContext) -> AppResult<Option<Uuid>> {
    Ok(current(ctx, Document::PrivacyPolicy).await?.map(|v| v.id))
}

/// A major version as the guard needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Major {
    pub id: Uuid,
    pub published_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub affects: Vec<String>,
}

pub async fn majors(ctx: &AppContext) -> AppResult<Vec<Major>> {
    if let Some(raw) = ctx.local.get(MAJORS_KEY).await?
        && let Ok(list) = serde_json::from_slice(&raw)
    {
        return Ok(list);
    }
    if let Some(raw) = ctx.cache.get_or_miss(MAJORS_KEY).await
        && let Ok(list) = serde_json::from_slice(&raw)
    {
        ctx.local.set(MAJORS_KEY, raw, MAJORS_LOCAL_TTL).await?;
        return Ok(list);
    }
    let rows = policy_version::Entity::find()
        .filter(policy_version::Column::Major.eq(true))
        .order_by_asc(policy_version::Column::PublishedAt)
        .all(&ctx.db)
        .await?;
    let list: Vec<Major> = rows
        .iter()
        .map(|v| Major { id: v.id, published_at: v.published_at, effective_at: v.effective_at, affects: affects_of(v) })
        .collect();
    let raw = Bytes::from(serde_json::to_vec(&list).map_err(AppError::internal)?);
    ctx.cache.set_or_skip(MAJORS_KEY, raw.clone(), MAJORS_TTL).await;
    ctx.local.set(MAJORS_KEY, raw, MAJORS_LOCAL_TTL).await?;
    Ok(list)
}

/// Ids of the versions the person has accepted.
pub async fn accepted(ctx: &AppContext, user: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(consent_record::Entity::find()
        .filter(consent_record::Column::UserId.eq(user))
        .filter(consent_record::Column::Action.eq(Action::AcceptPolicy))
        .all(&ctx.db)
        .await?
        .into_iter()
        .filter_map(|r| r.policy_version_id)
        .collect())
}

/// Major versions published after the person signed up (they accepted what was current then)
/// that they have not accepted yet.
pub fn pending_among(majors: &[Major], accepted: &[Uuid], signed_up: DateTime<Utc>) -> Vec<Uuid> {
    majors.iter().filter(|m| m.published_at > signed_up && !accepted.contains(&m.id)).map(|m| m.id).collect()
}

pub async fn pending(ctx: &AppContext, user: Uuid) -> AppResult<Vec<policy_version::Model>> {
    let account = xqt_accounts::users::find(ctx, user).await?.ok_or(PrivacyError::NotFound("user"))?;
    let ids = pending_among(&majors(ctx).await?, &accepted(ctx, user).await?, account.created_at);
    let mut out = Vec::new();
    for id in ids {
        if let Some(v) = version(ctx, id).await? {
            out.push(v);
        }
    }
    Ok(out)
}

/// The person accepts a version; accepting one already accepted returns the earlier record.
pub async fn accept(
    ctx: &AppContext,
    user: Uuid,
    version_id: Uuid,
    how: &Provenance,
) -> AppResult<consent_record::Model> {
    version(ctx, version_id).await?.ok_or(PrivacyError::PolicyVersionNotFound)?;
    let earlier = consent_record::Entity::find()
        .filter(consent_record::Column::UserId.eq(user))
        .filter(consent_record::Column::Action.eq(Action::AcceptPolicy))
        .filter(consent_record::Column::PolicyVersionId.eq(version_id))
        .one(&ctx.db)
        .await?;
    if let Some(r) = earlier {
        return Ok(r);
    }
    let entry = Entry { user, policy_version: Some(version_id), ..Entry::default() };
    let row = consent::append(ctx, Action::AcceptPolicy, entry, how).await?;
    xqt_kernel::privacy::guard_state_changed(ctx, user).await?;
    Ok(row)
}

/// The documents a person accepts by signing up, recorded in the consent ledger with the
/// version in force then, so the first consent can be proven.
pub const ACCEPTED_AT_SIGN_UP: [Document; 2] = [Document::PrivacyPolicy, Document::UserAgreement];

pub struct SignUpAcceptance;

#[async_trait::async_trait]
impl xqt_kernel::module::SignUpFollower for SignUpAcceptance {
    async fn signed_up(
        &self,
        ctx: &AppContext,
        user: Uuid,
        meta: &xqt_kernel::auth::RequestMeta,
        device: Option<String>,
    ) -> AppResult<()> {
        let how = Provenance::from_request(meta, "sign_up", device);
        for doc in ACCEPTED_AT_SIGN_UP {
            if let Some(v) = current(ctx, doc).await? {
                accept(ctx, user, v.id, &how).await?;
            }
        }
        Ok(())
    }
}

const X_TEXT: &str = include_str!("../policies/xiaoqitong-privacy-policy.zh.txt");
const M_TEXT: &str = include_str!("../policies/mobile-office-privacy-policy.zh.txt");

/// `2024年4月30日生效` in a text, as the start of that day in China.
fn stated_effective_date(text: &str) -> Option<DateTime<Utc>> {
    let end = text.find("生效")?;
    let head = &text[..end];
    let start = head
        .rfind(|c: char| !(c.is_ascii_digit() || c == '年' || c == '月' || c == '日'))
        .map_or(0, |i| i + head[i..].chars().next().map_or(1, char::len_utf8));
    let date = NaiveDate::parse_from_str(&head[start..], "%Y年%m月%d日").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    chrono::FixedOffset::east_opt(8 * 3600)?.from_local_datetime(&midnight).single().map(|d| d.with_timezone(&Utc))
}

/// The first versions: the two published policies and the cancellation agreement (M 附件一).
fn seeds(modules: &xqt_kernel::Modules) -> Vec<(Document, &'static str, String)> {
    let mut out = vec![
        (Document::PrivacyPolicy, "校企通数字化校企合作平台隐私政策", X_TEXT.to_owned()),
        (Document::MobileOfficePrivacyPolicy, "移动办公平台隐私政策", M_TEXT.to_owned()),
        (Document::UserAgreement, "校企通数字化校企合作平台用户服务协议", USER_AGREEMENT_TEXT.to_owned()),
        (Document::ChildrenRules, "校企通儿童个人信息保护规则", CHILDREN_RULES_TEXT.to_owned()),
        (Document::PermissionsList, "校企通设备权限清单", permissions_list(modules)),
    ];
    if let Some(i) = M_TEXT.find("附件一") {
        out.push((Document::CancellationAgreement, "用户注销协议", M_TEXT[i..].to_owned()));
    }
    out
}

const USER_AGREEMENT_TEXT: &str = include_str!("../policies/user-agreement.zh.txt");
const CHILDREN_RULES_TEXT: &str = include_str!("../policies/children-rules.zh.txt");

/// The permissions list as the modules register it (the same as `clientPermissions`): each
/// device permission, what it is for, the purpose it serves and whether it needs consent.
fn permissions_list(modules: &xqt_kernel::Modules) -> String {
    let mut text = String::from(
        "校企通设备权限清单\n\n本清单列出校企通应用可能申请的每一项设备权限、使用目的及对应的个人信息处理目的。\
         权限只在您使用相应功能时申请，您可以随时在设备设置中关闭；关闭后仅相应功能不可用。\n\n",
    );
    for (i, (_, p)) in modules.client_permissions().iter().enumerate() {
        let purpose = modules.purpose(p.purpose);
        let basis = match purpose.map(|p| p.legal_basis) {
            Some(xqt_kernel::module::LegalBasis::Consent) => "需要您的同意",
            _ => "为提供服务所必需",
        };
        let about = purpose.map_or("", |p| p.description);
        text.push_str(&format!("{}、{}（{}）\n   处理目的：{}；{}。\n", i + 1, p.description, p.id, about, basis));
    }
    text
}

/// Loads the first versions of documents that have none yet; returns how many it loaded.
/// Runs at every start (`xqt seed-policies` runs it alone); loading twice changes nothing.
pub async fn seed(ctx: &AppContext) -> AppResult<u64> {
    let mut loaded = 0;
    for (doc, title, body) in seeds(&ctx.modules) {
        let existing =
            policy_version::Entity::find().filter(policy_version::Column::Document.eq(doc)).count(&ctx.db).await?;
        if existing > 0 {
            continue;
        }
        let now = ctx.clock.now();
        let effective_at = stated_effective_date(&body).filter(|d| *d <= now).unwrap_or(now);
        let row = policy_version::ActiveModel {
            id: Set(ids::new_id()),
            document: Set(doc),
            version: Set("1.0".into()),
            title: Set(title.to_owned()),
            body_sha256: Set(sha256_hex(body.as_bytes())),
            body: Set(body),
            summary: Set("首次发布 (first published version)".into()),
            effective_at: Set(effective_at),
            published_at: Set(now),
            published_by: Set(None),
            major: Set(false),
            major_kinds: Set(String::new()),
            affects: Set(String::new()),
        };
        match row.insert(&ctx.db).await {
            Ok(_) => loaded += 1,
            // Another instance seeded it at the same moment.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if loaded > 0 {
        tracing::info!(loaded, "policy documents seeded");
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_number_segment_by_segment() {
        use std::cmp::Ordering::*;
        for (a, b, o) in [
            ("1.10", "1.9", Greater),
            ("2.0", "1.10", Greater),
            ("1.0.9", "1.1", Less),
            ("1.1", "1.1", Equal),
            ("1.1.1", "1.1", Greater),
            ("2024-05", "2024-04", Greater),
            ("1.0-rc", "1.0-beta", Greater),
        ] {
            assert_eq!(version_order(a, b), o, "{a} vs {b}");
        }
    }

    #[test]
    fn the_stated_effective_date_is_read_from_the_text() {
        let d = stated_effective_date("……\n2024年4月30日生效\n附件一").unwrap();
        assert_eq!(d.to_rfc3339(), "2024-04-29T16:00:00+00:00");
        assert_eq!(stated_effective_date("没有日期"), None);
        assert!(stated_effective_date(M_TEXT).is_some(), "M states its date");
    }

    #[test]
    fn the_cancellation_agreement_is_cut_from_m() {
        let modules = xqt_kernel::Modules::new(vec![]).unwrap();
        let seeds = seeds(&modules);
        let agreement = seeds.iter().find(|(d, _, _)| *d == Document::CancellationAgreement).unwrap();
        assert!(agreement.2.starts_with("附件一"));
    }

    #[test]
    fn pending_means_published_after_sign_up_and_not_accepted() {
        let t = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap();
        let m =
            |id: u128, h| Major { id: Uuid::from_u128(id), published_at: t(h), effective_at: t(h), affects: vec![] };
        let majors = vec![m(1, 1), m(2, 5), m(3, 6)];
        assert_eq!(pending_among(&majors, &[Uuid::from_u128(3)], t(3)), vec![Uuid::from_u128(2)]);
    }
}
