use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attendance_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub role: AttendanceRole,
    /// The first day the person is due (the day they were added, China time).
    pub since: Date,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// A member checks in; an admin (a school teacher, an enterprise supervisor) runs the group:
    /// sees its records, decides make-up requests, reads its statistics.
    pub enum AttendanceRole {
        Member = "member",
        Admin = "admin",
    }
}
