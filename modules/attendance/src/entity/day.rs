use sea_orm::entity::prelude::*;

use super::record::PunchResult;

/// One person's day in one group: which checks count and what they came to. Written as checks
/// arrive; settled by the job runner once the day's window closed (missing checks and absences
/// are decided there).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attendance_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    /// A working day for this group (rest days and holidays are not).
    pub due: bool,
    pub check_in_id: Option<Uuid>,
    pub check_out_id: Option<Uuid>,
    pub in_result: Option<PunchResult>,
    pub out_result: Option<PunchResult>,
    pub late_minutes: i32,
    pub early_minutes: i32,
    /// A field check-in or check-out counted.
    pub field: bool,
    pub suspicious: bool,
    /// Approved make-up requests for this day.
    pub make_ups: i32,
    pub settled_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
