use sea_orm::entity::prelude::*;

/// A push the built-in provider "delivered": kept in an outbox instead of reaching a device.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "push_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: crate::NotificationKind,
    pub title: String,
    pub body: String,
    pub created_at: DateTimeUtc,
    /// A later push with the same key replaces this one on the person's devices.
    pub collapse_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
