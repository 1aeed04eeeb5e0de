use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "chat_conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub avatar_file_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// `<smaller id>:<larger id>` for a direct conversation: one per pair.
    pub direct_key: Option<String>,
    pub created_by: Option<Uuid>,
    /// The sequence number of the newest message; the next one gets `last_seq + 1`.
    pub last_seq: i64,
    /// The newest change's position: every stored change (a message, an edit or recall, people
    /// joining or leaving) takes `last_position + 1`; live streams resume from a position.
    pub last_position: i64,
    /// The newest message's id, or the conversation's own before any (UUIDv7: lists of
    /// conversations page by it, most recently active first).
    pub last_activity: Uuid,
    pub created_at: DateTimeUtc,
    /// When the newest message arrived (conversation lists sort by it).
    pub updated_at: DateTimeUtc,
    /// When the newest change took its position (a message, an edit, someone joining).
    pub last_changed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// A conversation between two people, a group, or an organisation's channel.
    pub enum ConversationKind {
        /// One per pair of people.
        Direct = "direct",
        /// An owner, admins and members.
        Group = "group",
        /// One per organisation, every member of it in it.
        Channel = "channel",
    }
}
