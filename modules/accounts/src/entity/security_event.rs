use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One entry of a person's security log: sign-ins, failures, new devices, session ends.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub session_id: Option<Uuid>,
    pub device_id: Option<String>,
    pub device_model: Option<String>,
    pub os: Option<String>,
    pub app_version: Option<String>,
    pub network: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
