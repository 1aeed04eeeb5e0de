use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A complaint or report (投诉/举报) about an account, an organisation, or something a module
/// holds (a post, a message), naming the account responsible.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reporter_id: Option<Uuid>,
    pub target_user_id: Option<Uuid>,
    pub target_organization_id: Option<Uuid>,
    /// The module that holds the subject (`accounts`, later `cooperation`, `chat`).
    pub subject_module: String,
    pub subject_kind: crate::reports::ReportSubject,
    pub subject_id: Option<Uuid>,
    pub category: crate::reports::ReportCategory,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub evidence_file_id: Option<Uuid>,
    pub state: crate::reports::ReportState,
    #[sea_orm(column_type = "Text", nullable)]
    pub resolution: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// Handled by this date: 15 working days from filing.
    pub due_on: Date,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
