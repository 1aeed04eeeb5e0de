use sea_orm::entity::prelude::*;

/// A person's real-name submission and its review (实名认证).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_verifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub real_name_sealed: Vec<u8>,
    pub id_number_sealed: Vec<u8>,
    /// Keyed hash of the ID number: one identity cannot verify two accounts.
    pub id_number_hash: Vec<u8>,
    /// `submitted`, `under_review`, `approved`, `rejected`.
    pub state: crate::review::ReviewState,
    pub reason: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub submitted_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
    /// The ID card's photos (uploads of purpose `id_photo`), for the reviewer; cleared, and the
    /// files deleted, when the review ends.
    pub id_front_file_id: Option<Uuid>,
    pub id_back_file_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
