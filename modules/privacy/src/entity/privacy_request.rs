use sea_orm::entity::prelude::*;

/// A data-subject request: what the person asked, where it stands, by when it is due.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "privacy_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: crate::requests::Kind,
    pub state: crate::requests::RequestState,
    pub description: Option<String>,
    /// Deletion: the data categories to erase, comma-separated.
    pub categories: String,
    /// Withdrawal: the purpose.
    pub purpose: Option<String>,
    /// Why it was denied or put on hold, shown to the person.
    pub reason: Option<String>,
    /// The answer to a correction, explanation or complaint.
    pub response: Option<String>,
    pub reviewer_id: Option<Uuid>,
    /// Set when identity is verified: the deadline in Chinese working days.
    pub due_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub verified_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    /// Access requests: until when the export's links work.
    pub export_expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
