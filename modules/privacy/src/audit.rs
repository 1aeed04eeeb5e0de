//! The audit log: every admin or partner read of personal data, every refusal of one, and every
//! unmasking, appended to a hash chain (`xqt audit verify` checks it).

use async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr};
use uuid::Uuid;
use xqt_kernel::privacy::{Audit, AuditEntry};
use xqt_kernel::{AppContext, AppResult, Viewer, ids};

use crate::chain::{self, Chain, ChainReport, Chained, Link, timestamp};
use crate::entity::{audit_record, consent_record, grant};
use crate::error::PrivacyError;

pub const PERMISSION_UNMASK: &str = xqt_kernel::privacy::UNMASK;
pub const PERMISSIONS: [&str; 1] = [PERMISSION_UNMASK];
const REASON_MIN: usize = 4;
const REASON_MAX: usize = 500;
const LIST_MAX: u64 = 200;

crate::chained!(audit_record::Model);

xqt_kernel::closed_set! {
    /// Who made an audited access.
    pub enum ActorKind {
        Anonymous = "anonymous",
        User = "user",
        Admin = "admin",
        Partner = "partner",
    }
}

fn actor(viewer: &Viewer) -> (ActorKind, Option<Uuid>) {
    match viewer {
        Viewer::Anonymous => (ActorKind::Anonymous, None),
        Viewer::User { user_id, .. } => (ActorKind::User, Some(*user_id)),
        Viewer::Admin { user_id, .. } => (ActorKind::Admin, Some(*user_id)),
        Viewer::Partner { partner_id, .. } => (ActorKind::Partner, Some(*partner_id)),
    }
}

pub async fn append(ctx: &AppContext, viewer: &Viewer, entry: AuditEntry) -> AppResult<audit_record::Model> {
    let (actor_kind, actor_id) = actor(viewer);
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let link = Link::next(&txn, Chain::Audit).await?;
    let mut row = audit_record::Model {
        id: ids::new_id(),
        seq: link.seq,
        actor_kind,
        actor_id,
        subject_user_id: entry.subject,
        action: entry.action,
        resource: entry.resource.chars().take(100).collect(),
        fields: entry.fields.join(","),
        reason: entry.reason,
        allowed: entry.allowed,
        request_id: None,
        created_at: timestamp(ctx.clock.now()),
        prev_hash: link.prev_hash.clone(),
        hash: String::new(),
    };
    row.hash = row.computed_hash()?;
    audit_record::ActiveModel::from(row.clone()).insert(&txn).await?;
    link.close(&txn, &row.hash).await?;
    txn.commit().await?;
    Ok(row)
}

/// The kernel hook other modules call.
pub struct AuditLog;

#[async_trait]
impl Audit for AuditLog {
    async fn record(&self, ctx: &AppContext, viewer: &Viewer, entry: AuditEntry) -> AppResult<()> {
        append(ctx, viewer, entry).await.map(|_| ())
    }

    async fn permitted(&self, ctx: &AppContext, admin: Uuid, permission: &str) -> AppResult<bool> {
        has_permission(ctx, admin, permission).await
    }
}

/// Audit entries, newest first; about one person when `subject` is given.
pub async fn list(ctx: &AppContext, subject: Option<Uuid>, limit: u64) -> AppResult<Vec<audit_record::Model>> {
    let mut q = audit_record::Entity::find();
    if let Some(s) = subject {
        q = q.filter(audit_record::Column::SubjectUserId.eq(s));
    }
    Ok(q.order_by_desc(audit_record::Column::Seq).limit(limit.min(LIST_MAX)).all(&ctx.db).await?)
}

/// Recomputes both chains (`xqt audit verify`).
pub async fn verify(ctx: &AppContext) -> AppResult<Vec<ChainReport>> {
    Ok(vec![
        chain::verify::<consent_record::Entity>(ctx, Chain::Consent, consent_record::Column::Seq).await?,
        chain::verify::<audit_record::Entity>(ctx, Chain::Audit, audit_record::Column::Seq).await?,
    ])
}

pub async fn has_permission(ctx: &AppContext, user: Uuid, permission: &str) -> AppResult<bool> {
    Ok(grant::Entity::find()
        .filter(grant::Column::UserId.eq(user))
        .filter(grant::Column::Permission.eq(permission))
        .one(&ctx.db)
        .await?
        .is_some())
}

/// Gives an operator a privacy permission (`xqt admin grant`); granting twice is harmless.
pub async fn grant_permission(ctx: &AppContext, user: Uuid, permission: &str, by: Option<Uuid>) -> AppResult<()> {
    if !PERMISSIONS.contains(&permission) {
        return Err(PrivacyError::Invalid { field: "permission", message: format!("one of {PERMISSIONS:?}") }.into());
    }
    let row = grant::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        permission: Set(permission.to_owned()),
        granted_by: Set(by),
        granted_at: Set(ctx.clock.now()),
    };
    match row.insert(&ctx.db).await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A person's identifiers in full, for an operator with the `unmask` permission and a reason.
#[derive(Debug, Clone, Default)]
pub struct Unmasked {
    pub phone: Option<String>,
    pub real_name: Option<String>,
    pub id_number: Option<String>,
}

pub async fn unmask(ctx: &AppContext, viewer: &Viewer, user: Uuid, reason: &str) -> AppResult<Unmasked> {
    let admin = viewer.require_admin()?;
    let reason = reason.trim();
    let entry = |allowed| AuditEntry {
        subject: Some(user),
        action: xqt_kernel::privacy::AuditAction::Unmask,
        resource: format!("user:{user}"),
        fields: vec!["phone", "real_name", "id_number"],
        reason: Some(reason.to_owned()),
        allowed,
    };
    if !has_permission(ctx, admin, PERMISSION_UNMASK).await? {
        append(ctx, viewer, entry(false)).await?;
        return Err(PrivacyError::UnmaskNotPermitted.into());
    }
    xqt_kernel::text::Text::block(REASON_MIN, REASON_MAX)
        .check(reason)
        .map_err(|m| PrivacyError::Invalid { field: "reason", message: format!("why, in {m}") })?;
    let account = xqt_accounts::users::find(ctx, user).await?.ok_or(PrivacyError::NotFound("user"))?;
    let phone = xqt_accounts::users::phone_of(ctx, &account)?.map(|p| p.as_str().to_owned());
    let identity = xqt_accounts::verification::latest(ctx, user).await?;
    let (real_name, id_number) = match identity {
        Some(iv) => (Some(ctx.keys.open(&iv.real_name_sealed)?), Some(ctx.keys.open(&iv.id_number_sealed)?)),
        None => (None, None),
    };
    // Recorded before anything is shown: no audit, no data.
    append(ctx, viewer, entry(true)).await?;
    Ok(Unmasked { phone, real_name, id_number })
}
