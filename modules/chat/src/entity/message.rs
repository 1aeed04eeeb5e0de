use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "chat_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// Dense per conversation, assigned in the transaction that stores the message.
    pub seq: i64,
    /// The conversation's change position this message took when it was stored.
    pub position: i64,
    /// `None`: a system message, or an author whose account was erased.
    pub sender_id: Option<Uuid>,
    pub client_message_id: Option<String>,
    pub kind: MessageKind,
    /// Text, or a caption; `None` once recalled or erased.
    pub body: Option<String>,
    /// Kind-specific JSON (attachment, duration, location, call outcome); `None` once recalled.
    pub payload: Option<String>,
    pub reply_to_seq: Option<i64>,
    /// JSON array of mentioned people's ids.
    pub mentions: Option<String>,
    pub created_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
    pub recalled_at: Option<DateTimeUtc>,
    pub recalled_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// What a message is; clients send the first six, the server writes `SYSTEM` and `CALL` records.
    pub enum MessageKind {
        Text = "text",
        Image = "image",
        Video = "video",
        Voice = "voice",
        File = "file",
        /// A place card: coordinates, name, address.
        Location = "location",
        /// A line the server writes (someone joined, a group was created).
        System = "system",
        /// A call's outcome.
        Call = "call",
    }
}
