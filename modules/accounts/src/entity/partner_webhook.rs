use sea_orm::entity::prelude::*;

/// A partner's HTTPS endpoint and the events it takes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partner_id: Uuid,
    pub url: String,
    /// Space-separated event ids, each declared by some module.
    #[sea_orm(column_type = "Text")]
    pub events: String,
    /// The signing secret, sealed with the data key (it must be read back to sign).
    pub secret_sealed: Vec<u8>,
    /// The token that registered it.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
