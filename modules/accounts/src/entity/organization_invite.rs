use sea_orm::entity::prelude::*;

/// A code that lets people join an organisation with a given role, a limited number of times.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_invites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// SHA-256 of the code; the code is shown once to whoever created it.
    pub code_hash: String,
    pub role: super::organization_member::MemberRole,
    pub max_uses: i32,
    pub uses: i32,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
