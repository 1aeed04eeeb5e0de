use sea_orm::entity::prelude::*;

/// One append-only entry of the consent ledger, linked to the previous one by its hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "privacy_consent_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub seq: i64,
    pub user_id: Uuid,
    pub action: crate::consent::Action,
    pub purpose: Option<String>,
    pub partner_id: Option<Uuid>,
    pub policy_version_id: Option<Uuid>,
    pub method: String,
    pub device: Option<String>,
    pub ip_prefix: Option<String>,
    pub guardian: Option<String>,
    pub guardian_phone_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
