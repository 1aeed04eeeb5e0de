use sea_orm::entity::prelude::*;

/// An internship programme a school and an enterprise agreed from an accepted application.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cooperation_programmes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub school_id: Uuid,
    pub enterprise_id: Uuid,
    pub title: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub school_supervisor_id: Uuid,
    pub enterprise_supervisor_id: Uuid,
    pub state: ProgrammeState,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    #[graphql(name = "ProgrammeState")]
    pub enum ProgrammeState {
        Active = "active",
        Ended = "ended",
        Cancelled = "cancelled",
    }
}
