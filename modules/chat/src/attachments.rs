//! Files sent in conversations. The type is read from the content, not the name; images are
//! re-encoded so their metadata (EXIF position, device) is gone before storage (COL-5); each
//! kind has a size limit; only the conversation's members can download.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::text::Text;
use xqt_kernel::uploads::{Content, Download, Downloads, Params, Upload, UploadHandler, UploadPurpose};
use xqt_kernel::{AppContext, AppResult, Viewer, ids};

use crate::conversations;
use crate::entity::attachment;
use crate::entity::message::MessageKind;
use crate::error::{ChatError, invalid};

pub const IMAGE_MAX: usize = 10 * 1024 * 1024;
pub const VOICE_MAX: usize = 2 * 1024 * 1024;
pub const VIDEO_MAX: usize = 50 * 1024 * 1024;
pub const FILE_MAX: usize = 20 * 1024 * 1024;
const FILE_NAME_MAX: usize = 255;

/// The largest upload of a kind.
pub fn max_bytes(kind: MessageKind) -> usize {
    match kind {
        MessageKind::Image => IMAGE_MAX,
        MessageKind::Voice => VOICE_MAX,
        MessageKind::Video => VIDEO_MAX,
        _ => FILE_MAX,
    }
}

const VOICE_TYPES: &[&str] = &["audio/amr", "audio/ogg", "audio/mpeg", "audio/aac", "audio/mp4", "audio/wav"];
const VIDEO_TYPES: &[&str] = &["video/quicktime", "video/mp4"];
const FILE_TYPES: &[&str] =
    &["application/pdf", "application/zip", "application/x-ole-storage", "text/plain; charset=utf-8"];

/// The upload purpose of each attached kind: `chat_image`, `chat_video`, `chat_voice`,
/// `chat_file`, each with `conversation=<id>` (and for a file `name=<its name>`).
pub fn purpose_id(kind: MessageKind) -> Option<&'static str> {
    match kind {
        MessageKind::Image => Some("chat_image"),
        MessageKind::Video => Some("chat_video"),
        MessageKind::Voice => Some("chat_voice"),
        MessageKind::File => Some("chat_file"),
        _ => None,
    }
}

/// Chat's upload purposes: an attachment for a conversation the uploader is in.
pub fn purposes() -> Vec<UploadPurpose> {
    [
        (MessageKind::Image, Content::Image, "a picture sent in a conversation"),
        (MessageKind::Video, Content::Sniffed(VIDEO_TYPES), "a video sent in a conversation"),
        (MessageKind::Voice, Content::Sniffed(VOICE_TYPES), "a voice message"),
        (MessageKind::File, Content::Sniffed(FILE_TYPES), "a document sent in a conversation"),
    ]
    .into_iter()
    .filter_map(|(kind, content, description)| {
        Some(UploadPurpose {
            id: purpose_id(kind)?,
            description,
            max_bytes: max_bytes(kind),
            content,
            handler: Arc::new(Attachment(kind)),
        })
    })
    .collect()
}

/// A member's attachment of one kind.
struct Attachment(MessageKind);

#[async_trait]
impl UploadHandler for Attachment {
    async fn allow(&self, ctx: &AppContext, viewer: &Viewer, params: &Params) -> AppResult<()> {
        let me = viewer.require_person()?;
        check_file_name(params.get("name"))?;
        let conversation = params.id("conversation", "conversation")?;
        conversations::require_member(ctx, conversation, me).await?;
        xqt_accounts::verification::require_verified(ctx, me).await
    }

    async fn store(&self, ctx: &AppContext, viewer: &Viewer, params: &Params, upload: Upload) -> AppResult<Value> {
        let me = viewer.require_person()?;
        let conversation = params.id("conversation", "conversation")?;
        let a = store(ctx, me, conversation, self.0, params.get("name"), upload).await?;
        Ok(json!({
            "id": a.id, "kind": a.kind, "contentType": a.content_type, "size": a.size, "fileName": a.file_name,
            "url": url(a.id),
        }))
    }
}

pub fn url(id: impl std::fmt::Display) -> String {
    format!("/files/{id}")
}

/// Attachments behind signed links (`GET /links/attachment/<attachment>_<member>?…`) for an
/// `<img>` or `<video>` that cannot send a bearer token: issued to a member, checked again when
/// fetched (still a member, not recalled).
pub struct AttachmentLinks;

pub const ATTACHMENT_LINKS: &str = "attachment";

/// A signed link to attachment `id` for `member`.
pub fn signed_url(ctx: &AppContext, id: Uuid, member: Uuid) -> String {
    let expires = xqt_kernel::links::media_expiry(ctx.clock.now());
    xqt_kernel::links::link(ctx, ATTACHMENT_LINKS, &xqt_kernel::links::for_person(id, member), expires)
}

#[async_trait]
impl xqt_kernel::links::LinkedFiles for AttachmentLinks {
    fn name(&self) -> &'static str {
        ATTACHMENT_LINKS
    }

    async fn open(&self, ctx: &AppContext, segment: &str) -> AppResult<Download> {
        let not_found = || xqt_kernel::AppError::from(ChatError::NotFound("attachment"));
        let (id, member) = xqt_kernel::links::parse_for_person(segment).ok_or_else(not_found)?;
        let a = attachment::Entity::find_by_id(id).one(&ctx.db).await?.ok_or_else(not_found)?;
        let bytes = read(ctx, member, &a).await?;
        let as_attachment = a.kind == MessageKind::File;
        Ok(Download { content_type: a.content_type, bytes, as_attachment })
    }
}

/// Downloads of attachments: for members of the attachment's conversation only.
pub struct AttachmentFiles;

#[async_trait]
impl Downloads for AttachmentFiles {
    async fn open(&self, ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<Option<Download>> {
        let Some(a) = attachment::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(None) };
        let bytes = read(ctx, viewer.require_person()?, &a).await?;
        let as_attachment = a.kind == MessageKind::File;
        Ok(Some(Download { content_type: a.content_type, bytes, as_attachment }))
    }
}

fn check_file_name(name: Option<&str>) -> Result<Option<String>, ChatError> {
    let name = Text::line(1, FILE_NAME_MAX).check_optional(name).map_err(|m| invalid("name", m))?;
    if name.as_ref().is_some_and(|n| n.contains(['/', '\\'])) {
        return Err(invalid("name", "a file name, no path"));
    }
    Ok(name)
}

/// Stores a checked attachment for a conversation the uploader is in.
pub async fn store(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    kind: MessageKind,
    file_name: Option<&str>,
    upload: Upload,
) -> AppResult<attachment::Model> {
    if !kind.attached() {
        return Err(invalid("kind", "image, video, voice or file").into());
    }
    let file_name = check_file_name(file_name)?;
    conversations::require_member(ctx, conversation, me).await?;
    xqt_accounts::verification::require_verified(ctx, me).await?;
    let id = ids::new_id();
    let key = format!("chat/{conversation}/{id}");
    let row = attachment::ActiveModel {
        id: Set(id),
        conversation_id: Set(conversation),
        message_id: Set(None),
        uploader_id: Set(me),
        kind: Set(kind),
        content_type: Set(upload.content_type.into()),
        file_name: Set(file_name),
        size: Set(upload.bytes.len() as i64),
        sha256: Set(xqt_kernel::crypto::sha256_hex(&upload.bytes)),
        storage_key: Set(key.clone()),
        created_at: Set(ctx.clock.now()),
    };
    ctx.files.put_recorded(&key, upload.bytes, async { Ok(row.insert(&ctx.db).await?) }).await
}

/// Unsent attachments are deleted after this long.
pub const UNSENT_KEEP_HOURS: i64 = 24;

/// The uploader's attachment of `kind` in `conversation`, not yet sent, to go with a message
/// (one message each: a recall deletes it with its message).
pub async fn for_message(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    id: Uuid,
    kind: MessageKind,
) -> AppResult<attachment::Model> {
    attachment::Entity::find_by_id(id)
        .filter(attachment::Column::UploaderId.eq(me))
        .filter(attachment::Column::ConversationId.eq(conversation))
        .filter(attachment::Column::Kind.eq(kind))
        .filter(attachment::Column::MessageId.is_null())
        .one(&ctx.db)
        .await?
        .ok_or_else(|| {
            let what = kind.to_value();
            invalid("attachmentId", format!("upload the {what} to this conversation first; each is sent once")).into()
        })
}

/// Ties an attachment to the message it is sent with, inside that message's transaction; false
/// when another message took it first.
pub(crate) async fn attach(txn: &impl sea_orm::ConnectionTrait, id: Uuid, message: Uuid) -> AppResult<bool> {
    let tied = attachment::Entity::update_many()
        .col_expr(attachment::Column::MessageId, sea_orm::sea_query::Expr::value(message))
        .filter(attachment::Column::Id.eq(id))
        .filter(attachment::Column::MessageId.is_null())
        .exec(txn)
        .await?;
    Ok(tied.rows_affected == 1)
}

/// Deletes attachments uploaded before `cutoff` and never sent, bytes and rows.
pub async fn delete_unsent_before(ctx: &AppContext, cutoff: chrono::DateTime<chrono::Utc>) -> AppResult<u64> {
    let stale = attachment::Entity::find()
        .filter(attachment::Column::MessageId.is_null())
        .filter(attachment::Column::CreatedAt.lt(cutoff))
        .all(&ctx.db)
        .await?;
    for a in &stale {
        delete(ctx, a.id).await?;
    }
    Ok(stale.len() as u64)
}

/// An attachment's bytes, for a member of its conversation; NOT_FOUND for anyone else.
pub async fn read(ctx: &AppContext, me: Uuid, a: &attachment::Model) -> AppResult<Bytes> {
    conversations::require_member(ctx, a.conversation_id, me).await.map_err(|_| ChatError::NotFound("attachment"))?;
    ctx.files.get(&a.storage_key).await
}

/// Deletes an attachment's bytes and row (a recall, an erasure).
pub async fn delete(ctx: &AppContext, id: Uuid) -> AppResult<()> {
    if let Some(a) = attachment::Entity::find_by_id(id).one(&ctx.db).await? {
        ctx.files.delete(&a.storage_key).await?;
        attachment::Entity::delete_by_id(a.id).exec(&ctx.db).await?;
    }
    Ok(())
}

pub async fn uploaded_by(ctx: &AppContext, me: Uuid) -> AppResult<Vec<attachment::Model>> {
    Ok(attachment::Entity::find().filter(attachment::Column::UploaderId.eq(me)).all(&ctx.db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_no_path() {
        assert_eq!(check_file_name(Some(" 简历.pdf ")), Ok(Some("简历.pdf".into())));
        assert_eq!(check_file_name(Some("")), Ok(None));
        assert!(check_file_name(Some("../etc/passwd")).is_err());
        assert!(check_file_name(Some(&"a".repeat(256))).is_err());
    }
}
