use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub role: MemberRole,
    pub joined_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// A person's role in an organisation, lowest first (the order compares roles); teachers and
    /// students exist only in schools.
    #[derive(PartialOrd, Ord)]
    pub enum MemberRole {
        Student = "student",
        Member = "member",
        Teacher = "teacher",
        Admin = "admin",
        Owner = "owner",
    }
}
