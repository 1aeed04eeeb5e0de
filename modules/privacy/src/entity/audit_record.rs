use sea_orm::entity::prelude::*;

/// One append-only audit entry of a privileged read, hash-chained like the ledger.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "privacy_audit_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub seq: i64,
    pub actor_kind: crate::audit::ActorKind,
    pub actor_id: Option<Uuid>,
    pub subject_user_id: Option<Uuid>,
    pub action: xqt_kernel::privacy::AuditAction,
    pub resource: String,
    pub fields: String,
    pub reason: Option<String>,
    pub allowed: bool,
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
