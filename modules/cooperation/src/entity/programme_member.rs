use sea_orm::entity::prelude::*;

/// A student (invited, then joined) or a supervisor of a programme.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cooperation_programme_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub programme_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub role: ProgrammeRole,
    pub state: MemberState,
    pub invited_by: Option<Uuid>,
    pub invited_at: DateTimeUtc,
    pub joined_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    #[graphql(name = "ProgrammeRole")]
    pub enum ProgrammeRole {
        Student = "student",
        SchoolSupervisor = "school_supervisor",
        EnterpriseSupervisor = "enterprise_supervisor",
    }
}

xqt_kernel::closed_set! {
    #[graphql(name = "ProgrammeMemberState")]
    pub enum MemberState {
        Invited = "invited",
        Joined = "joined",
        Declined = "declined",
        Left = "left",
    }
}
