use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "chat_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub role: ChatRole,
    /// Everything up to this sequence number has been read.
    pub last_read_seq: i64,
    pub muted: bool,
    pub joined_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::conversation::Entity",
        from = "Column::ConversationId",
        to = "super::conversation::Column::Id"
    )]
    Conversation,
}

impl Related<super::conversation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Conversation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// A member's place in a conversation, lowest first (the order compares roles).
    #[derive(PartialOrd, Ord)]
    pub enum ChatRole {
        Member = "member",
        /// Manages members; recalls anyone's message at any time.
        Admin = "admin",
        Owner = "owner",
    }
}
