use sea_orm::entity::prelude::*;

/// An attendance group (考勤组): its people, its sites and one fixed shift. Times are minutes
/// after midnight, China time (UTC+8).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attendance_groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The organisation whose staff check in here (mobile office), or …
    pub organization_id: Option<Uuid>,
    /// … the internship programme whose students check in at its sites.
    pub programme_id: Option<Uuid>,
    pub work_start: i32,
    pub work_end: i32,
    /// Minutes after the start still on time.
    pub late_grace: i32,
    /// Minutes before the end still not an early leave.
    pub early_grace: i32,
    /// Minutes late from which it is serious lateness.
    pub serious_late: i32,
    /// Minutes late from which the day counts as absent.
    pub absent_late: i32,
    /// How long before the start check-in opens.
    pub opens_before: i32,
    /// How long after the end check-out stays open.
    pub closes_after: i32,
    /// ISO weekdays off (`6,7`).
    pub rest_days: String,
    /// Statutory holidays off and make-up workdays (调休) on, from the kernel's calendar.
    pub follows_holidays: bool,
    pub allow_field: bool,
    pub allow_coarse: bool,
    /// Remind members who have not checked in this many minutes before the start.
    pub remind_before: Option<i32>,
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
