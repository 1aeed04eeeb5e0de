//! Organisations: schools and enterprises, their members and roles, invites, and their
//! verification (licence and unified social credit code, reviewed like a person's real name).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, SqlErr,
};
use uuid::Uuid;
use xqt_kernel::crypto::token_hash;
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::{AppContext, AppError, AppResult, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::organization::{OrganizationKind, OrganizationVerification};
use crate::entity::organization_member::MemberRole;
use crate::entity::{organization as org, organization_invite as invite, organization_member as member};
use crate::error::AccountsError;
use crate::review::{ReviewAction, ReviewState, check_reason};

pub const INVITE_PREFIX: &str = "xqt_inv_";
const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

impl MemberRole {
    /// Owners and admins run the organisation: edit it, invite, change roles, verify it.
    pub fn manages(self) -> bool {
        matches!(self, MemberRole::Owner | MemberRole::Admin)
    }
    /// Teacher and student exist only in schools.
    fn fits(self, kind: OrganizationKind) -> bool {
        kind == OrganizationKind::School || !matches!(self, MemberRole::Teacher | MemberRole::Student)
    }
}

/// The check character (GB 32100-2015) of a credit code's first 17 characters; `None` when one
/// of them is outside the code's alphabet.
fn credit_check(body: &[u8]) -> Option<u8> {
    let value = |c: u8| CREDIT_CHARSET.iter().position(|&x| x == c).map(|p| p as u32);
    let mut sum = 0;
    for (c, w) in body.iter().zip(CREDIT_WEIGHTS) {
        sum += value(*c)? * w;
    }
    Some(CREDIT_CHARSET[((31 - sum % 31) % 31) as usize])
}

/// A credit code from its first 17 characters and their check character: for demo data and
/// tests. Panics on a character outside the code's alphabet.
pub fn with_credit_check(body: &str) -> String {
    assert_eq!(body.len(), 17, "17 characters");
    format!("{body}{}", credit_check(body.as_bytes()).expect("the credit code alphabet") as char)
}

/// The 18-character unified social credit code (GB 32100-2015) with its check character.
pub fn check_credit_code(code: &str) -> Result<String, AccountsError> {
    let invalid = || AccountsError::Invalid {
        field: "creditCode",
        message: "not a valid 18-character unified social credit code".into(),
    };
    let code = code.trim().to_ascii_uppercase();
    let b = code.as_bytes();
    if b.len() != 18 {
        return Err(invalid());
    }
    if credit_check(&b[..17]) != Some(b[17]) {
        return Err(invalid());
    }
    Ok(code)
}

/// What a creator or manager may set on an organisation.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub name: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub industry: Option<String>,
    pub location: Option<(f64, f64)>,
}

fn text(field: &'static str, value: &Option<String>, min: usize, max: usize) -> Result<Option<String>, AccountsError> {
    xqt_kernel::text::Text::line(min, max)
        .check_optional(value.as_deref())
        .map_err(|message| AccountsError::Invalid { field, message })
}

impl Details {
    fn validated(&self) -> Result<Details, AccountsError> {
        if let Some((lat, lng)) = self.location
            && (!(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng))
        {
            return Err(AccountsError::Invalid {
                field: "location",
                message: "latitude −90…90, longitude −180…180".into(),
            });
        }
        Ok(Details {
            name: text("name", &self.name, 2, 100)?,
            region: text("region", &self.region, 1, 64)?,
            address: text("address", &self.address, 1, 200)?,
            industry: text("industry", &self.industry, 1, 64)?,
            location: self.location,
        })
    }
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<org::Model>> {
    Ok(org::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// The person's role in the organisation, if a member.
pub async fn role_of(ctx: &AppContext, org_id: Uuid, user: Uuid) -> AppResult<Option<MemberRole>> {
    Ok(member::Entity::find_by_id((org_id, user)).one(&ctx.db).await?.map(|m| m.role))
}

/// Whether `a` and `b` are members of one organisation (each sees the other among its members).
pub async fn share_an_organization(ctx: &AppContext, a: Uuid, b: Uuid) -> AppResult<bool> {
    let of_a = sea_orm::sea_query::Query::select()
        .column(member::Column::OrganizationId)
        .from(member::Entity)
        .and_where(sea_orm::sea_query::Expr::col(member::Column::UserId).eq(a))
        .to_owned();
    let shared = member::Entity::find()
        .filter(member::Column::UserId.eq(b))
        .filter(member::Column::OrganizationId.in_subquery(of_a))
        .one(&ctx.db)
        .await?;
    Ok(shared.is_some())
}

/// Accounts' acquaintances: members of one organisation.
pub struct CoMembers;

#[async_trait::async_trait]
impl xqt_kernel::module::Acquaintance for CoMembers {
    async fn acquainted(&self, ctx: &AppContext, a: Uuid, b: Uuid) -> AppResult<bool> {
        share_an_organization(ctx, a, b).await
    }
}

/// A member who manages the organisation; anyone else gets NOT_FOUND or FORBIDDEN.
async fn require_manager(ctx: &AppContext, org_id: Uuid, user: Uuid) -> AppResult<org::Model> {
    let organization = find(ctx, org_id).await?.ok_or(AccountsError::NotFound("organization"))?;
    match role_of(ctx, org_id, user).await? {
        Some(role) if role.manages() => Ok(organization),
        Some(_) => Err(AccountsError::NotManager.into()),
        // Not a member: do not even confirm it exists unless it is public.
        None if organization.verification_state == OrganizationVerification::Approved => {
            Err(AccountsError::NotManager.into())
        }
        None => Err(AccountsError::NotFound("organization").into()),
    }
}

pub async fn create(
    ctx: &AppContext,
    creator: Uuid,
    kind: OrganizationKind,
    details: Details,
) -> AppResult<org::Model> {
    crate::reports::require_unrestricted(ctx, creator, crate::reports::RestrictedAction::CreateOrganization).await?;
    let d = details.validated()?;
    let name =
        d.name.ok_or(AccountsError::Invalid { field: "name", message: "an organisation needs a name".into() })?;
    let now = ctx.clock.now();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let row = org::ActiveModel {
        id: Set(ids::new_id()),
        kind: Set(kind),
        name: Set(name),
        region: Set(d.region),
        address: Set(d.address),
        industry: Set(d.industry),
        latitude: Set(d.location.map(|l| l.0)),
        longitude: Set(d.location.map(|l| l.1)),
        credit_code_hash: Set(None),
        credit_code_sealed: Set(None),
        verification_state: Set(OrganizationVerification::Unverified),
        verification_reason: Set(None),
        reviewer_id: Set(None),
        submitted_at: Set(None),
        reviewed_at: Set(None),
        created_by: Set(creator),
        created_at: Set(now),
        updated_at: Set(now),
        licence_file_id: Set(None),
    }
    .insert(&txn)
    .await?;
    member::ActiveModel {
        organization_id: Set(row.id),
        user_id: Set(creator),
        role: Set(MemberRole::Owner),
        joined_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn update(ctx: &AppContext, user: Uuid, org_id: Uuid, details: Details) -> AppResult<org::Model> {
    let current = require_manager(ctx, org_id, user).await?;
    let d = details.validated()?;
    let mut row = current.into_active_model();
    if let Some(v) = d.name {
        row.name = Set(v);
    }
    if let Some(v) = d.region {
        row.region = Set(Some(v));
    }
    if let Some(v) = d.address {
        row.address = Set(Some(v));
    }
    if let Some(v) = d.industry {
        row.industry = Set(Some(v));
    }
    if let Some((lat, lng)) = d.location {
        row.latitude = Set(Some(lat));
        row.longitude = Set(Some(lng));
    }
    row.updated_at = Set(ctx.clock.now());
    Ok(row.update(&ctx.db).await?)
}

/// Owners and admins submit the credit code for review (again after a rejection).
pub async fn submit_verification(
    ctx: &AppContext,
    user: Uuid,
    org_id: Uuid,
    credit_code: &str,
    licence_file: Option<Uuid>,
) -> AppResult<org::Model> {
    let current = require_manager(ctx, org_id, user).await?;
    crate::verification::require_verified(ctx, user).await?;
    let code = check_credit_code(credit_code)?;
    let licence = match licence_file {
        Some(id) => Some(crate::uploads::owned(ctx, user, id, crate::uploads::Purpose::Licence).await?.id),
        None => None,
    };
    if let Some(state) = current.verification_state.review()
        && (state.is_open() || state == ReviewState::Approved)
    {
        return Err(AccountsError::AlreadyIs { what: "organisation's verification", state: state.to_string() }.into());
    }
    let now = ctx.clock.now();
    let result = org::Entity::update_many()
        .col_expr(org::Column::CreditCodeHash, Expr::value(ctx.keys.lookup_hash("credit_code", &code)))
        .col_expr(org::Column::CreditCodeSealed, Expr::value(ctx.keys.seal(&code)))
        .col_expr(org::Column::LicenceFileId, Expr::value(licence))
        .col_expr(org::Column::VerificationState, Expr::value(OrganizationVerification::Submitted))
        .col_expr(org::Column::VerificationReason, Expr::value(Option::<String>::None))
        .col_expr(org::Column::SubmittedAt, Expr::value(now))
        .col_expr(org::Column::ReviewedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
        .col_expr(org::Column::UpdatedAt, Expr::value(now))
        .filter(org::Column::Id.eq(org_id))
        .exec(&ctx.db)
        .await;
    match result {
        Ok(_) => find(ctx, org_id).await?.ok_or_else(|| AccountsError::NotFound("organization").into()),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AccountsError::CreditCodeTaken.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A platform reviewer moves the organisation's verification on; its managers are told.
pub async fn review(
    ctx: &AppContext,
    reviewer: Uuid,
    org_id: Uuid,
    action: ReviewAction,
    reason: Option<&str>,
) -> AppResult<org::Model> {
    let reason = check_reason(action, reason)?;
    let current = find(ctx, org_id).await?.ok_or(AccountsError::NotFound("organization"))?;
    let from = current.verification_state.review().ok_or(AccountsError::NothingSubmitted)?;
    let to = from.after(action)?;
    let mut update = org::Entity::update_many()
        .col_expr(org::Column::VerificationState, Expr::value(OrganizationVerification::from(to)))
        .col_expr(org::Column::ReviewerId, Expr::value(reviewer))
        .filter(org::Column::Id.eq(org_id))
        .filter(org::Column::VerificationState.eq(OrganizationVerification::from(from)));
    if action != ReviewAction::Start {
        update = update
            .col_expr(org::Column::ReviewedAt, Expr::value(ctx.clock.now()))
            .col_expr(org::Column::VerificationReason, Expr::value(reason.clone()));
    }
    if update.exec(&ctx.db).await?.rows_affected == 0 {
        return Err(AccountsError::Changed("verification").into());
    }
    let outcome = match to {
        ReviewState::Approved => Some((
            NotificationKind::OrganizationApproved,
            "机构认证已通过",
            format!("「{}」的机构认证已通过。", current.name),
        )),
        ReviewState::Rejected => Some((
            NotificationKind::OrganizationRejected,
            "机构认证未通过",
            format!("「{}」的机构认证未通过：{}。可修改后重新提交。", current.name, reason.unwrap_or_default()),
        )),
        _ => None,
    };
    if let Some((kind, title, body)) = outcome {
        for manager in managers(ctx, org_id).await? {
            notify(ctx, NewNotification { user_id: manager, kind, title: title.into(), body: body.clone() }).await?;
        }
    }
    if to == ReviewState::Approved {
        let data = serde_json::json!({ "organizationId": org_id, "kind": current.kind.as_str(), "name": current.name });
        if let Err(e) = crate::webhooks::emit(ctx, crate::webhooks::ORGANIZATION_VERIFIED, data).await {
            tracing::warn!(error = ?e, organization = %org_id, "partners not told of the verification");
        }
    }
    find(ctx, org_id).await?.ok_or_else(|| AccountsError::NotFound("organization").into())
}

async fn managers(ctx: &AppContext, org_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org_id))
        .filter(member::Column::Role.is_in([MemberRole::Owner, MemberRole::Admin]))
        .select_only()
        .column(member::Column::UserId)
        .into_tuple()
        .all(&ctx.db)
        .await?)
}

pub async fn is_approved(ctx: &AppContext, org_id: Uuid) -> AppResult<bool> {
    Ok(find(ctx, org_id).await?.is_some_and(|o| o.verification_state == OrganizationVerification::Approved))
}

/// What a viewer may see of an organisation: members everything, others an approved one's
/// public profile, and an unapproved one not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Member(MemberRole),
    Public,
}

pub async fn visible(
    ctx: &AppContext,
    viewer: Option<Uuid>,
    org_id: Uuid,
) -> AppResult<Option<(org::Model, Visibility)>> {
    let Some(o) = find(ctx, org_id).await? else { return Ok(None) };
    if let Some(user) = viewer
        && let Some(role) = role_of(ctx, org_id, user).await?
    {
        return Ok(Some((o, Visibility::Member(role))));
    }
    Ok((o.verification_state == OrganizationVerification::Approved).then_some((o, Visibility::Public)))
}

/// Organisations the person belongs to, with their role.
pub async fn memberships(ctx: &AppContext, user: Uuid) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::UserId.eq(user))
        .order_by_asc(member::Column::JoinedAt)
        .all(&ctx.db)
        .await?)
}

pub async fn members(ctx: &AppContext, org_id: Uuid) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::OrganizationId.eq(org_id))
        .order_by_asc(member::Column::JoinedAt)
        .all(&ctx.db)
        .await?)
}

/// A new invite code (shown once): joins with `role`, at most `max_uses` times, until it expires.
pub async fn create_invite(
    ctx: &AppContext,
    user: Uuid,
    org_id: Uuid,
    role: MemberRole,
    max_uses: i32,
    valid_hours: i64,
) -> AppResult<(String, invite::Model)> {
    let organization = require_manager(ctx, org_id, user).await?;
    if role == MemberRole::Owner || !role.fits(organization.kind) {
        return Err(AccountsError::Invalid {
            field: "role",
            message: "that role cannot be given by invite here".into(),
        }
        .into());
    }
    if !(1..=1000).contains(&max_uses) {
        return Err(AccountsError::Invalid { field: "maxUses", message: "1 to 1000".into() }.into());
    }
    if !(1..=24 * 30).contains(&valid_hours) {
        return Err(AccountsError::Invalid { field: "validHours", message: "1 to 720 hours".into() }.into());
    }
    let code = format!("{INVITE_PREFIX}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>()));
    let now = ctx.clock.now();
    let row = invite::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(org_id),
        code_hash: Set(token_hash(&code)),
        role: Set(role),
        max_uses: Set(max_uses),
        uses: Set(0),
        expires_at: Set(now + Duration::hours(valid_hours)),
        revoked_at: Set(None),
        created_by: Set(user),
        created_at: Set(now),
    }
    .insert(&ctx.db)
    .await?;
    Ok((code, row))
}

/// Joins the organisation an invite code belongs to.
pub async fn join(ctx: &AppContext, user: Uuid, code: &str) -> AppResult<org::Model> {
    let now = ctx.clock.now();
    let refused = || AppError::from(AccountsError::InviteInvalid);
    let inv = invite::Entity::find()
        .filter(invite::Column::CodeHash.eq(token_hash(code.trim())))
        .one(&ctx.db)
        .await?
        .ok_or_else(refused)?;
    if inv.revoked_at.is_some() || inv.expires_at <= now || inv.uses >= inv.max_uses {
        return Err(refused());
    }
    if role_of(ctx, inv.organization_id, user).await?.is_some() {
        return Err(AccountsError::AlreadyMember.into());
    }
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    // Counts the use only while uses remain, so parallel joins cannot exceed the limit.
    let counted = invite::Entity::update_many()
        .col_expr(invite::Column::Uses, sea_orm::sea_query::ExprTrait::add(Expr::col(invite::Column::Uses), 1))
        .filter(invite::Column::Id.eq(inv.id))
        .filter(invite::Column::Uses.lt(inv.max_uses))
        .exec(&txn)
        .await?
        .rows_affected;
    if counted == 0 {
        return Err(refused());
    }
    member::ActiveModel {
        organization_id: Set(inv.organization_id),
        user_id: Set(user),
        role: Set(inv.role),
        joined_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    ctx.modules.organization_joined(ctx, inv.organization_id, user).await;
    find(ctx, inv.organization_id).await?.ok_or_else(|| AccountsError::NotFound("organization").into())
}

pub async fn change_role(ctx: &AppContext, user: Uuid, org_id: Uuid, target: Uuid, role: MemberRole) -> AppResult<()> {
    let organization = require_manager(ctx, org_id, user).await?;
    let current = role_of(ctx, org_id, target).await?.ok_or(AccountsError::NotFound("member"))?;
    if current == MemberRole::Owner || role == MemberRole::Owner {
        return Err(AccountsError::OwnerRoleFixed.into());
    }
    if !role.fits(organization.kind) {
        return Err(AccountsError::Invalid {
            field: "role",
            message: "teacher and student exist only in schools".into(),
        }
        .into());
    }
    member::Entity::update_many()
        .col_expr(member::Column::Role, Expr::value(role))
        .filter(member::Column::OrganizationId.eq(org_id))
        .filter(member::Column::UserId.eq(target))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

/// Removes a member (managers), or leaves (anyone but the owner).
pub async fn remove_member(ctx: &AppContext, user: Uuid, org_id: Uuid, target: Uuid) -> AppResult<()> {
    if user != target {
        require_manager(ctx, org_id, user).await?;
    }
    match role_of(ctx, org_id, target).await? {
        None => return Err(AccountsError::NotFound("member").into()),
        Some(MemberRole::Owner) => return Err(AccountsError::OwnerStays.into()),
        Some(_) => {}
    }
    member::Entity::delete_by_id((org_id, target)).exec(&ctx.db).await?;
    ctx.modules.organization_left(ctx, org_id, target).await;
    Ok(())
}

/// `limit + 1` organisations in a review state, oldest first.
/// Before a person's memberships are erased: each organisation they are the only owner of passes
/// to its longest-standing admin, else member or teacher, else student, so none is left without
/// an owner. Returns how many were handed over.
pub async fn hand_over_owned(ctx: &AppContext, leaving: Uuid) -> AppResult<u64> {
    let owned = member::Entity::find()
        .filter(member::Column::UserId.eq(leaving))
        .filter(member::Column::Role.eq(MemberRole::Owner))
        .all(&ctx.db)
        .await?;
    let mut handed = 0;
    for o in owned {
        let others = member::Entity::find()
            .filter(member::Column::OrganizationId.eq(o.organization_id))
            .filter(member::Column::UserId.ne(leaving))
            .order_by_asc(member::Column::JoinedAt)
            .all(&ctx.db)
            .await?;
        if others.iter().any(|m| m.role == MemberRole::Owner) {
            continue;
        }
        // Admins first, students last; the longest-standing within each (`others` is by join date).
        let rank = |m: &member::Model| match m.role {
            MemberRole::Admin => 0,
            MemberRole::Student => 2,
            _ => 1,
        };
        let heir = others.iter().min_by_key(|m| rank(m));
        if let Some(heir) = heir {
            member::Entity::update_many()
                .col_expr(member::Column::Role, Expr::value(MemberRole::Owner))
                .filter(member::Column::OrganizationId.eq(o.organization_id))
                .filter(member::Column::UserId.eq(heir.user_id))
                .exec(&ctx.db)
                .await?;
            tracing::info!(organization = %o.organization_id, "ownership handed over on erasure");
            handed += 1;
        } else {
            tracing::warn!(organization = %o.organization_id, "organisation left without members on erasure");
        }
    }
    Ok(handed)
}

pub async fn queue(ctx: &AppContext, state: ReviewState, page: &PageRequest) -> AppResult<Vec<org::Model>> {
    let q = org::Entity::find().filter(org::Column::VerificationState.eq(OrganizationVerification::from(state)));
    Ok(page.apply(q, org::Column::Id, ListOrder::OldestFirst)?.all(&ctx.db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_carry_a_check_character() {
        // 91350100M000100Y43 is the standard's worked example.
        assert_eq!(check_credit_code("91350100M000100Y43").unwrap(), "91350100M000100Y43");
        assert_eq!(check_credit_code("91350100m000100y43").unwrap(), "91350100M000100Y43");
        assert!(check_credit_code("91350100M000100Y44").is_err(), "wrong check character");
        assert!(check_credit_code("91350100I000100Y43").is_err(), "I is not in the alphabet");
        assert!(check_credit_code("91350100M000100Y4").is_err(), "too short");
    }

    #[test]
    fn roles() {
        assert!(MemberRole::Owner.manages() && MemberRole::Admin.manages() && !MemberRole::Teacher.manages());
        assert!(
            MemberRole::Student.fits(OrganizationKind::School)
                && !MemberRole::Student.fits(OrganizationKind::Enterprise)
                && MemberRole::Member.fits(OrganizationKind::Enterprise)
        );
    }
}

/// What the public directory can be narrowed by: approved organisations only, public fields only.
#[derive(Debug, Clone, Default)]
pub struct DirectoryFilter {
    /// Part of the name.
    pub name: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub region: Option<String>,
    pub industry: Option<String>,
}

fn directory_query(filter: &DirectoryFilter) -> sea_orm::Select<org::Entity> {
    let mut q = org::Entity::find().filter(org::Column::VerificationState.eq(OrganizationVerification::Approved));
    if let Some(name) = filter.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let escaped = name.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        q = q.filter(
            Expr::col(org::Column::Name).like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(kind) = filter.kind {
        q = q.filter(org::Column::Kind.eq(kind));
    }
    if let Some(region) = &filter.region {
        q = q.filter(org::Column::Region.eq(region.clone()));
    }
    if let Some(industry) = &filter.industry {
        q = q.filter(org::Column::Industry.eq(industry.clone()));
    }
    q
}

/// A page of the public directory, newest first.
pub async fn directory(
    ctx: &AppContext,
    filter: &DirectoryFilter,
    offset: u64,
    limit: u64,
) -> AppResult<Vec<org::Model>> {
    Ok(directory_query(filter).order_by_desc(org::Column::Id).offset(offset).limit(limit).all(&ctx.db).await?)
}

pub async fn directory_count(ctx: &AppContext, filter: &DirectoryFilter) -> AppResult<u64> {
    Ok(directory_query(filter).count(&ctx.db).await?)
}

/// Approved organisations whose location lies in the box (south, west, north, east), as
/// (id, latitude, longitude): the pre-filter of a nearby search.
pub async fn approved_within(
    ctx: &AppContext,
    bbox: (f64, f64, f64, f64),
    cap: u64,
) -> AppResult<Vec<(Uuid, f64, f64)>> {
    let (south, west, north, east) = bbox;
    let rows: Vec<(Uuid, Option<f64>, Option<f64>)> = org::Entity::find()
        .select_only()
        .column(org::Column::Id)
        .column(org::Column::Latitude)
        .column(org::Column::Longitude)
        .filter(org::Column::VerificationState.eq(OrganizationVerification::Approved))
        .filter(org::Column::Latitude.between(south, north))
        .filter(org::Column::Longitude.between(west, east))
        .limit(cap)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    Ok(rows.into_iter().filter_map(|(id, lat, lng)| Some((id, lat?, lng?))).collect())
}

/// These organisations, in no particular order (missing ids are left out).
pub async fn find_many(ctx: &AppContext, ids: &[Uuid]) -> AppResult<Vec<org::Model>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(org::Entity::find().filter(org::Column::Id.is_in(ids.iter().copied())).all(&ctx.db).await?)
}

/// Whether the person belongs to at least one approved organisation (what "verified
/// organisations only" posts ask of a viewer).
pub async fn in_approved_organization(ctx: &AppContext, user: Uuid) -> AppResult<bool> {
    let orgs: Vec<Uuid> = memberships(ctx, user).await?.into_iter().map(|m| m.organization_id).collect();
    Ok(find_many(ctx, &orgs).await?.iter().any(|o| o.verification_state == OrganizationVerification::Approved))
}
