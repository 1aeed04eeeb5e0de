use sea_orm::entity::prelude::*;

/// A stored change other than a new message (a message records its own position).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "chat_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: Uuid,
    /// The conversation's change position it took (shared with its messages' positions).
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i64,
    pub kind: ChangeKind,
    /// The message edited or recalled.
    pub message_id: Option<Uuid>,
    /// JSON array of the people who joined, left or were removed.
    pub user_ids: Option<String>,
    pub created_at: DateTimeUtc,
}

xqt_kernel::closed_set! {
    pub enum ChangeKind {
        /// A message was edited or recalled.
        Updated = "updated",
        Joined = "joined",
        Left = "left",
        Removed = "removed",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
