use sea_orm::entity::prelude::*;

/// A device's push token, registered under the push consent (PRM-2).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "push_devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `apns`, `fcm`, `huawei`, `xiaomi`, `oppo`, `vivo`, `honor`.
    pub platform: crate::push::PushPlatform,
    pub token: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
