//! Files sent in conversations. The type is read from the content, not the name; images are
//! re-encoded so their metadata (EXIF position, device) is gone before storage (COL-5); each
//! kind has a size limit; only the conversation's members can download.

use bytes::Bytes;
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use xqt_kernel::files::clean_image;
use xqt_kernel::{AppContext, AppError, AppResult, ErrorCode, ids};

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

/// The content type of audio, video and documents, by their first bytes.
pub fn sniff(kind: MessageKind, raw: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| raw.starts_with(m);
    let ftyp = raw.len() > 12 && &raw[4..8] == b"ftyp";
    match kind {
        MessageKind::Voice if starts(b"#!AMR") => Some("audio/amr"),
        MessageKind::Voice if starts(b"OggS") => Some("audio/ogg"),
        MessageKind::Voice if starts(b"ID3") || starts(&[0xFF, 0xFB]) || starts(&[0xFF, 0xF3]) => Some("audio/mpeg"),
        MessageKind::Voice if starts(&[0xFF, 0xF1]) || starts(&[0xFF, 0xF9]) => Some("audio/aac"),
        MessageKind::Voice if ftyp && (raw[8..12] == *b"M4A " || raw[8..12] == *b"mp42" || raw[8..12] == *b"isom") => {
            Some("audio/mp4")
        }
        MessageKind::Voice if starts(b"RIFF") && raw.len() > 12 && &raw[8..12] == b"WAVE" => Some("audio/wav"),
        MessageKind::Video if ftyp && raw[8..12] == *b"qt  " => Some("video/quicktime"),
        MessageKind::Video if ftyp => Some("video/mp4"),
        MessageKind::File if starts(b"%PDF-") => Some("application/pdf"),
        MessageKind::File if starts(b"PK\x03\x04") => Some("application/zip"),
        MessageKind::File if starts(&[0xD0, 0xCF, 0x11, 0xE0]) => Some("application/x-ole-storage"),
        MessageKind::File if !raw.contains(&0) && std::str::from_utf8(raw).is_ok() => Some("text/plain; charset=utf-8"),
        _ => None,
    }
}

fn check_file_name(name: Option<&str>) -> Result<Option<String>, ChatError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    if name.chars().count() > FILE_NAME_MAX || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err(invalid("name", format!("a file name of at most {FILE_NAME_MAX} characters, no path")));
    }
    Ok(Some(name.to_owned()))
}

/// Stores an attachment for a conversation the uploader is in.
pub async fn upload(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    kind: MessageKind,
    file_name: Option<&str>,
    raw: &[u8],
) -> AppResult<attachment::Model> {
    if !kind.attached() {
        return Err(invalid("kind", "image, video, voice or file").into());
    }
    if raw.len() > max_bytes(kind) {
        return Err(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("a {} may be at most {} bytes", kind.to_value(), max_bytes(kind)),
        ));
    }
    if raw.is_empty() {
        return Err(invalid("file", "the upload is empty").into());
    }
    let file_name = check_file_name(file_name)?;
    conversations::require_member(ctx, conversation, me).await?;
    xqt_accounts::verification::require_verified(ctx, me).await?;
    let (bytes, content_type) = match kind {
        MessageKind::Image => {
            let clean = clean_image(raw)?;
            (clean.bytes, clean.content_type)
        }
        _ => {
            let t = sniff(kind, raw)
                .ok_or_else(|| invalid("file", format!("not a supported {} format", kind.to_value())))?;
            (Bytes::copy_from_slice(raw), t)
        }
    };
    let id = ids::new_id();
    let key = format!("chat/{conversation}/{id}");
    let row = attachment::ActiveModel {
        id: Set(id),
        conversation_id: Set(conversation),
        message_id: Set(None),
        uploader_id: Set(me),
        kind: Set(kind),
        content_type: Set(content_type.into()),
        file_name: Set(file_name),
        size: Set(bytes.len() as i64),
        sha256: Set(hex::encode(Sha256::digest(&bytes))),
        storage_key: Set(key.clone()),
        created_at: Set(ctx.clock.now()),
    };
    ctx.files.put_recorded(&key, bytes, async { Ok(row.insert(&ctx.db).await?) }).await
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
pub async fn read(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<(attachment::Model, Bytes)> {
    let a = attachment::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(ChatError::NotFound("attachment"))?;
    conversations::require_member(ctx, a.conversation_id, me).await.map_err(|_| ChatError::NotFound("attachment"))?;
    let bytes = ctx.files.get(&a.storage_key).await?;
    Ok((a, bytes))
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
    fn types_come_from_the_content() {
        assert_eq!(sniff(MessageKind::Voice, b"#!AMR\n\x3c"), Some("audio/amr"));
        assert_eq!(sniff(MessageKind::Video, b"\0\0\0\x18ftypmp42\0\0\0\0"), Some("video/mp4"));
        assert_eq!(sniff(MessageKind::File, b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(MessageKind::File, "实习协议".as_bytes()), Some("text/plain; charset=utf-8"));
        assert_eq!(sniff(MessageKind::File, b"MZ\x90\0\x03\0"), None, "executables are refused");
        assert_eq!(sniff(MessageKind::Voice, b"%PDF-1.7"), None, "a document is not a voice message");
    }

    #[test]
    fn file_names_carry_no_path() {
        assert_eq!(check_file_name(Some(" 简历.pdf ")), Ok(Some("简历.pdf".into())));
        assert_eq!(check_file_name(Some("")), Ok(None));
        assert!(check_file_name(Some("../etc/passwd")).is_err());
        assert!(check_file_name(Some(&"a".repeat(256))).is_err());
    }
}
