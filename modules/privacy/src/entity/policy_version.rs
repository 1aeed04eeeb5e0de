use sea_orm::entity::prelude::*;

/// A published version of a policy document; every version stays readable (POL-1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "privacy_policy_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub document: crate::policies::Document,
    pub version: String,
    pub title: String,
    pub body: String,
    pub body_sha256: String,
    pub summary: String,
    pub effective_at: DateTimeUtc,
    pub published_at: DateTimeUtc,
    pub published_by: Option<Uuid>,
    pub major: bool,
    pub major_kinds: String,
    pub affects: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
