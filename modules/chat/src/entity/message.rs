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

/// What a message is; clients send the first six, the server writes `SYSTEM` and `CALL` records.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[sea_orm(string_value = "text")]
    Text,
    #[sea_orm(string_value = "image")]
    Image,
    #[sea_orm(string_value = "video")]
    Video,
    #[sea_orm(string_value = "voice")]
    Voice,
    #[sea_orm(string_value = "file")]
    File,
    /// A place card: coordinates, name, address.
    #[sea_orm(string_value = "location")]
    Location,
    /// A line the server writes (someone joined, a group was created).
    #[sea_orm(string_value = "system")]
    System,
    /// A call's outcome.
    #[sea_orm(string_value = "call")]
    Call,
}
