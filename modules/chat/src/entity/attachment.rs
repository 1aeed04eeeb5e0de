use sea_orm::entity::prelude::*;

/// A file sent in a conversation: its bytes live in the file store, readable only by members.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "chat_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// The message it was sent with; `None` until sent (unsent ones are deleted after a day).
    pub message_id: Option<Uuid>,
    pub uploader_id: Uuid,
    /// `image`, `video`, `voice` or `file`.
    /// Image, video, voice or file.
    pub kind: super::message::MessageKind,
    pub content_type: String,
    pub file_name: Option<String>,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
