use sea_orm::entity::prelude::*;

/// The sharing ledger: one disclosure of a person's data to a partner (SHR-1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "privacy_sharing_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partner_id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub legal_basis: xqt_kernel::module::LegalBasis,
    pub categories: String,
    pub resource: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
