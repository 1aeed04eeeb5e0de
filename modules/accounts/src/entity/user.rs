use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Keyed hash of the normalised phone: finds the account without decrypting anything.
    pub phone_hash: Option<Vec<u8>>,
    /// The phone, sealed with the data key.
    pub phone_sealed: Option<Vec<u8>>,
    pub role: xqt_kernel::auth::Role,
    pub status: crate::users::AccountStatus,
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub gender: Option<crate::profile::Gender>,
    pub birth_date: Option<Date>,
    pub password_hash: Option<String>,
    pub failed_sign_ins: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub avatar_file_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
