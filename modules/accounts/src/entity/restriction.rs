use sea_orm::entity::prelude::*;
use serde::Serialize;

/// What an account may no longer do, why, and until when (none: until lifted).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "restrictions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub report_id: Option<Uuid>,
    /// Space-separated actions: `post`, `chat`, `create_organization`.
    pub actions: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub ends_at: Option<DateTimeUtc>,
    pub lifted_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
