//! Photos for field check-ins (外勤): uploaded through the one upload path
//! (`POST /files?purpose=attendance_photo`), cleaned of metadata (EXIF GPS, device) before they
//! are stored, then named by the check-in. Readable by the person and by the admins of a group
//! whose check-in shows it.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::uploads::{Content, Download, Downloads, Params, Upload, UploadHandler, UploadPurpose};
use xqt_kernel::{AppContext, AppResult, Viewer, ids};

use crate::entity::member::AttendanceRole;
use crate::entity::{photo, record};
use crate::error::AttendanceError;
use crate::groups;

pub const PURPOSE: &str = "attendance_photo";
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

pub fn upload_purposes() -> Vec<UploadPurpose> {
    vec![UploadPurpose {
        id: PURPOSE,
        description: "a photo for a field check-in (外勤)",
        max_bytes: MAX_BYTES,
        content: Content::Image,
        handler: Arc::new(PhotoUpload),
    }]
}

fn key(id: Uuid) -> String {
    format!("attendance/photos/{id}")
}

struct PhotoUpload;

#[async_trait]
impl UploadHandler for PhotoUpload {
    /// A member of some attendance group.
    async fn allow(&self, ctx: &AppContext, viewer: &Viewer, _params: &Params) -> AppResult<()> {
        let me = viewer.require_person()?;
        if !groups::memberships(ctx, me).await?.iter().any(|m| m.role == AttendanceRole::Member) {
            return Err(AttendanceError::NotAllowed("field photos are for members of an attendance group").into());
        }
        Ok(())
    }

    async fn store(&self, ctx: &AppContext, viewer: &Viewer, params: &Params, upload: Upload) -> AppResult<Value> {
        self.allow(ctx, viewer, params).await?;
        let me = viewer.require_person()?;
        let id = ids::new_id();
        let row = photo::ActiveModel {
            id: Set(id),
            user_id: Set(me),
            content_type: Set(upload.content_type.into()),
            created_at: Set(ctx.clock.now()),
        };
        let size = upload.bytes.len();
        let p = ctx.files.put_recorded(&key(id), upload.bytes, async { Ok(row.insert(&ctx.db).await?) }).await?;
        Ok(json!({ "id": p.id, "contentType": p.content_type, "size": size, "url": format!("/files/{}", p.id) }))
    }
}

pub async fn owned_by(ctx: &AppContext, id: Uuid, user: Uuid) -> AppResult<bool> {
    Ok(photo::Entity::find_by_id(id).one(&ctx.db).await?.is_some_and(|p| p.user_id == user))
}

pub struct Photos;

#[async_trait]
impl Downloads for Photos {
    async fn open(&self, ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<Option<Download>> {
        let Some(p) = photo::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(None) };
        let me = viewer.require_person()?;
        let mut allowed = p.user_id == me;
        if !allowed {
            let groups: Vec<Uuid> = record::Entity::find()
                .filter(record::Column::PhotoId.eq(id))
                .all(&ctx.db)
                .await?
                .into_iter()
                .map(|r| r.group_id)
                .collect();
            for g in groups {
                if groups::role(ctx, g, me).await? == Some(AttendanceRole::Admin) {
                    allowed = true;
                    break;
                }
            }
            if allowed {
                xqt_kernel::privacy::record_reads(ctx, viewer, "attendance_photo", &["field_photo"], [p.user_id])
                    .await?;
            }
        }
        if !allowed {
            return Err(AttendanceError::NotFound("file").into());
        }
        let bytes = ctx.files.get(&key(id)).await?;
        Ok(Some(Download { content_type: p.content_type, bytes, as_attachment: false }))
    }
}

/// On erasure: the person's photos, bytes and rows.
pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    let rows = photo::Entity::find().filter(photo::Column::UserId.eq(user)).all(&ctx.db).await?;
    for p in &rows {
        ctx.files.delete(&key(p.id)).await?;
    }
    Ok(photo::Entity::delete_many().filter(photo::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected)
}

pub async fn of_user(ctx: &AppContext, user: Uuid) -> AppResult<Vec<photo::Model>> {
    Ok(photo::Entity::find().filter(photo::Column::UserId.eq(user)).all(&ctx.db).await?)
}
