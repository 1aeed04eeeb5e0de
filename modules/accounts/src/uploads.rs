//! Uploads by people. Every upload names its purpose (avatar, business licence, report
//! evidence), which sets its size limit; images are cleaned of metadata before storage (COL-5).

use crate::error::AccountsError;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::crypto::sha256_hex;
use xqt_kernel::uploads::{Content, Download, Downloads, Params, Upload, UploadHandler, UploadPurpose};
use xqt_kernel::{AppContext, AppError, AppResult, Viewer, ids};

use crate::entity::{file, organization, user};

xqt_kernel::closed_set! {
    /// What a person's upload is for; each is an upload purpose (`POST /files?purpose=…`).
    pub enum Purpose {
        Avatar = "avatar",
        /// An organisation's business licence (营业执照), for its verification.
        Licence = "licence",
        ReportEvidence = "report_evidence",
        /// A photo of the resident ID card (front or back), evidence for real-name review; kept
        /// only until the review ends.
        IdPhoto = "id_photo",
    }
}

impl Purpose {
    /// The largest upload accepted for this purpose.
    pub fn max_bytes(self) -> usize {
        match self {
            Purpose::Avatar => 2 * 1024 * 1024,
            Purpose::Licence | Purpose::ReportEvidence | Purpose::IdPhoto => 10 * 1024 * 1024,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Purpose::Avatar => "the person's profile picture",
            Purpose::Licence => "an organisation's business licence, for its verification",
            Purpose::ReportEvidence => "a picture backing a report",
            Purpose::IdPhoto => "the ID card's front or back, for real-name review (deleted when the review ends)",
        }
    }
}

/// Accounts' upload purposes: images only, cleaned of metadata, owned by the person.
pub fn purposes() -> Vec<UploadPurpose> {
    <Purpose as sea_orm::Iterable>::iter()
        .map(|p| UploadPurpose {
            id: p.as_str(),
            description: p.description(),
            max_bytes: p.max_bytes(),
            content: Content::Image,
            handler: Arc::new(PersonUpload(p)),
        })
        .collect()
}

/// A signed-in person uploads for themselves.
struct PersonUpload(Purpose);

#[async_trait]
impl UploadHandler for PersonUpload {
    async fn allow(&self, _ctx: &AppContext, viewer: &Viewer, _params: &Params) -> AppResult<()> {
        viewer.require_person().map(|_| ())
    }

    async fn store(&self, ctx: &AppContext, viewer: &Viewer, _: &Params, upload: Upload) -> AppResult<Value> {
        let f = store(ctx, viewer.require_person()?, self.0, upload).await?;
        Ok(json!({ "id": f.id, "purpose": f.purpose, "contentType": f.content_type, "size": f.size, "url": url(f.id) }))
    }
}

pub fn url(id: impl std::fmt::Display) -> String {
    format!("/files/{id}")
}

/// Stores a person's cleaned upload: bytes first, then the row that points at them.
pub async fn store(ctx: &AppContext, owner: Uuid, purpose: Purpose, upload: Upload) -> AppResult<file::Model> {
    let id = ids::new_id();
    let key = format!("{purpose}/{id}");
    let row = file::ActiveModel {
        id: Set(id),
        owner_id: Set(owner),
        purpose: Set(purpose),
        content_type: Set(upload.content_type.into()),
        size: Set(upload.bytes.len() as i64),
        sha256: Set(sha256_hex(&upload.bytes)),
        storage_key: Set(key.clone()),
        created_at: Set(ctx.clock.now()),
    };
    ctx.files.put_recorded(&key, upload.bytes, async { Ok(row.insert(&ctx.db).await?) }).await
}

/// Downloads of people's uploads.
pub struct PersonFiles;

#[async_trait]
impl Downloads for PersonFiles {
    async fn open(&self, ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<Option<Download>> {
        let Some(row) = file::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(None) };
        let bytes = read(ctx, viewer, &row).await?;
        Ok(Some(Download { content_type: row.content_type, bytes, as_attachment: false }))
    }
}

/// Avatars behind signed links (`GET /links/avatar/<file>_<viewer>?expires=…&sig=…`), for an
/// `<img src>` that cannot send a bearer token. Issued only to someone who may see the avatar,
/// and checked again when fetched: still its owner's current avatar, still acquainted.
pub struct AvatarLinks;

pub const AVATAR_LINKS: &str = "avatar";

/// A signed link to `file` (an avatar) for `viewer`, who may see it now.
pub fn avatar_link(ctx: &AppContext, file: Uuid, viewer: Uuid) -> String {
    let expires = xqt_kernel::links::media_expiry(ctx.clock.now());
    xqt_kernel::links::link(ctx, AVATAR_LINKS, &xqt_kernel::links::for_person(file, viewer), expires)
}

#[async_trait]
impl xqt_kernel::links::LinkedFiles for AvatarLinks {
    fn name(&self) -> &'static str {
        AVATAR_LINKS
    }

    async fn open(&self, ctx: &AppContext, segment: &str) -> AppResult<Download> {
        let not_found = || AppError::from(AccountsError::NotFound("file"));
        let (id, viewer) = xqt_kernel::links::parse_for_person(segment).ok_or_else(not_found)?;
        let row = file::Entity::find_by_id(id).one(&ctx.db).await?.ok_or_else(not_found)?;
        let viewer = Viewer::User { user_id: viewer, session_id: Uuid::nil() };
        let bytes = read(ctx, &viewer, &row).await.map_err(|_| not_found())?;
        Ok(Download { content_type: row.content_type, bytes, as_attachment: false })
    }
}

/// The person's own upload for `purpose`; anything else is NOT_FOUND (no probing others' ids).
pub async fn owned(ctx: &AppContext, owner: Uuid, id: Uuid, purpose: Purpose) -> AppResult<file::Model> {
    file::Entity::find_by_id(id)
        .filter(file::Column::OwnerId.eq(owner))
        .filter(file::Column::Purpose.eq(purpose))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AccountsError::NotFound("file").into())
}

/// A file's bytes for a viewer allowed to see it: its owner, platform admins (reviewing a
/// licence or evidence), for a licence the managers of the organisation it belongs to, and for
/// a current avatar the people acquainted with its owner.
pub async fn read(ctx: &AppContext, viewer: &Viewer, row: &file::Model) -> AppResult<Bytes> {
    let allowed = match viewer {
        // An ID card photo is identity evidence: only a reviewer holding the `unmask`
        // permission sees it, and every look (or refused attempt) is in the audit log first.
        Viewer::Admin { user_id, .. } if row.purpose == Purpose::IdPhoto => {
            let audit = &ctx.modules.privacy().audit;
            let allowed = audit.permitted(ctx, *user_id, xqt_kernel::privacy::UNMASK).await?;
            let entry = xqt_kernel::privacy::AuditEntry {
                subject: Some(row.owner_id),
                action: xqt_kernel::privacy::AuditAction::Read,
                resource: "identity_evidence".into(),
                fields: vec!["id_photo"],
                reason: None,
                allowed,
            };
            audit.record(ctx, viewer, entry).await?;
            allowed
        }
        Viewer::Admin { .. } => true,
        Viewer::User { user_id, .. } if *user_id == row.owner_id => true,
        Viewer::User { user_id, .. } if row.purpose == Purpose::Licence => {
            let org = organization::Entity::find()
                .filter(organization::Column::LicenceFileId.eq(row.id))
                .one(&ctx.db)
                .await?;
            match org {
                Some(o) => crate::organizations::role_of(ctx, o.id, *user_id).await?.is_some_and(|r| r.manages()),
                None => false,
            }
        }
        // A current avatar is seen by whoever sees its owner: people sharing an organisation or
        // a conversation with them.
        Viewer::User { user_id, .. } if row.purpose == Purpose::Avatar => {
            let owner = user::Entity::find_by_id(row.owner_id).one(&ctx.db).await?;
            owner.is_some_and(|o| o.avatar_file_id == Some(row.id))
                && ctx.modules.acquainted(ctx, *user_id, row.owner_id).await?
        }
        Viewer::Anonymous => return Err(AccountsError::SignInFirst.into()),
        _ => false,
    };
    if !allowed {
        return Err(AccountsError::NotFound("file").into());
    }
    ctx.files.get(&row.storage_key).await
}

/// Deletes these files, bytes and rows (the evidence of a review that has ended).
pub async fn delete_files(ctx: &AppContext, ids: &[Uuid]) -> AppResult<()> {
    let rows = file::Entity::find().filter(file::Column::Id.is_in(ids.iter().copied())).all(&ctx.db).await?;
    for r in &rows {
        ctx.files.delete(&r.storage_key).await?;
    }
    file::Entity::delete_many().filter(file::Column::Id.is_in(ids.iter().copied())).exec(&ctx.db).await?;
    Ok(())
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
