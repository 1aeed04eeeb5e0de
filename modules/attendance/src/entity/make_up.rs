use sea_orm::entity::prelude::*;

use super::record::PunchKind;

/// A make-up request (补卡) for a missing or abnormal check, decided by the group's admins.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attendance_make_ups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub group_id: Uuid,
    pub user_id: Uuid,
    pub day: Date,
    pub kind: PunchKind,
    pub reason: String,
    pub state: MakeUpState,
    pub decided_by: Option<Uuid>,
    /// Why it was rejected (required then).
    pub decision_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    pub enum MakeUpState {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}
