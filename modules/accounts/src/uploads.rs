//! Uploads by people. Every upload names its purpose (avatar, business licence, report
//! evidence), which sets its size limit; images are cleaned of metadata before storage (COL-5).

use bytes::Bytes;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use xqt_kernel::crypto::sha256_hex;
use xqt_kernel::files::clean_image;
use xqt_kernel::{AppContext, AppError, AppResult, ErrorCode, Viewer, ids};

use crate::entity::{file, organization, user};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Avatar,
    Licence,
    ReportEvidence,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Avatar => "avatar",
            Purpose::Licence => "licence",
            Purpose::ReportEvidence => "report_evidence",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Purpose::Avatar, Purpose::Licence, Purpose::ReportEvidence].into_iter().find(|p| p.as_str() == s)
    }

    /// The largest upload accepted for this purpose.
    pub fn max_bytes(self) -> usize {
        match self {
            Purpose::Avatar => 2 * 1024 * 1024,
            Purpose::Licence | Purpose::ReportEvidence => 10 * 1024 * 1024,
        }
    }
}

/// The largest upload of any purpose (what the server reads at most).
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

pub async fn upload(ctx: &AppContext, owner: Uuid, purpose: Purpose, raw: &[u8]) -> AppResult<file::Model> {
    if raw.len() > purpose.max_bytes() {
        return Err(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("a {} may be at most {} bytes", purpose.as_str(), purpose.max_bytes()),
        ));
    }
    let clean = clean_image(raw)?;
    let id = ids::new_id();
    let key = format!("{}/{id}", purpose.as_str());
    let row = file::ActiveModel {
        id: Set(id),
        owner_id: Set(owner),
        purpose: Set(purpose.as_str().into()),
        content_type: Set(clean.content_type.into()),
        size: Set(clean.bytes.len() as i64),
        sha256: Set(sha256_hex(&clean.bytes)),
        storage_key: Set(key.clone()),
        created_at: Set(ctx.clock.now()),
    };
    ctx.files.put_recorded(&key, clean.bytes, async { Ok(row.insert(&ctx.db).await?) }).await
}

/// The person's own upload for `purpose`; anything else is NOT_FOUND (no probing others' ids).
pub async fn owned(ctx: &AppContext, owner: Uuid, id: Uuid, purpose: Purpose) -> AppResult<file::Model> {
    file::Entity::find_by_id(id)
        .filter(file::Column::OwnerId.eq(owner))
        .filter(file::Column::Purpose.eq(purpose.as_str()))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AppError::not_found("file"))
}

/// A file's bytes for a viewer allowed to see it: its owner, platform admins (reviewing a
/// licence or evidence), and for a licence the managers of the organisation it belongs to.
pub async fn read(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<(file::Model, Bytes)> {
    let row = file::Entity::find_by_id(id).one(&ctx.db).await?.ok_or_else(|| AppError::not_found("file"))?;
    let allowed = match viewer {
        Viewer::Admin { .. } => true,
        Viewer::User { user_id, .. } if *user_id == row.owner_id => true,
        Viewer::User { user_id, .. } if row.purpose == Purpose::Licence.as_str() => {
            let org =
                organization::Entity::find().filter(organization::Column::LicenceFileId.eq(id)).one(&ctx.db).await?;
            match org {
                Some(o) => crate::organizations::role_of(ctx, o.id, *user_id).await?.is_some_and(|r| r.manages()),
                None => false,
            }
        }
        Viewer::Anonymous => return Err(AppError::unauthenticated()),
        _ => false,
    };
    if !allowed {
        return Err(AppError::not_found("file"));
    }
    let bytes = ctx.files.get(&row.storage_key).await?;
    Ok((row, bytes))
}

pub async fn all_for(ctx: &AppContext, owner: Uuid) -> AppResult<Vec<file::Model>> {
    Ok(file::Entity::find().filter(file::Column::OwnerId.eq(owner)).all(&ctx.db).await?)
}

/// Deletes the person's uploads, bytes and rows.
pub async fn delete_for(ctx: &AppContext, owner: Uuid) -> AppResult<u64> {
    let rows = all_for(ctx, owner).await?;
    for r in &rows {
        ctx.files.delete(&r.storage_key).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::AvatarFileId, sea_orm::sea_query::Expr::value(Option::<Uuid>::None))
        .filter(user::Column::Id.eq(owner))
        .exec(&ctx.db)
        .await?;
    Ok(file::Entity::delete_many().filter(file::Column::OwnerId.eq(owner)).exec(&ctx.db).await?.rows_affected)
}
