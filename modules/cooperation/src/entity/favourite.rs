use sea_orm::entity::prelude::*;

/// A post or organisation a person marked (erased with the account, CAN-4).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cooperation_favourites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject_kind: FavouriteKind,
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    #[graphql(name = "FavouriteKind")]
    pub enum FavouriteKind {
        Post = "post",
        Organization = "organization",
    }
}
