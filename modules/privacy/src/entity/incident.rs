use sea_orm::entity::prelude::*;

/// A personal-information security incident with the PIPL Art. 57 fields (SEC-7).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "privacy_incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub title: String,
    pub what_happened: String,
    pub data_types: String,
    pub cause: String,
    pub impact: String,
    pub measures: String,
    /// What affected people can do themselves.
    pub advice: String,
    pub remedies: String,
    /// Who to contact (department, phone, email).
    pub contact: String,
    pub occurred_at: DateTimeUtc,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: Uuid,
    /// The announcement for people who cannot be reached one by one.
    pub public_notice: Option<String>,
    pub public_notice_at: Option<DateTimeUtc>,
    pub regulator_authority: Option<String>,
    pub regulator_reference: Option<String>,
    pub regulator_reported_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
