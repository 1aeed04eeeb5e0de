use sea_orm::entity::prelude::*;

/// One check-in or check-out as it happened, with the server's judgement and its explanation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attendance_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub group_id: Uuid,
    pub user_id: Uuid,
    /// The day it counts for (China time).
    pub day: Date,
    pub kind: PunchKind,
    pub at: DateTimeUtc,
    pub source: PunchSource,
    /// WGS-84, as stored: precise, rounded (coarse consent), or gone after the retention period.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub precision: Precision,
    pub site_id: Option<Uuid>,
    /// Distance to that site when decided, metres (gone with the position after retention).
    pub distance_m: Option<f64>,
    pub inside: bool,
    pub bssid: Option<String>,
    pub wifi_matched: bool,
    /// 外勤: outside every fence, with the person's note (and photo).
    pub field: bool,
    pub note: Option<String>,
    pub photo_id: Option<Uuid>,
    pub result: PunchResult,
    /// Minutes late or early, 0 otherwise.
    pub minutes: i32,
    pub explanation: String,
    pub mocked: bool,
    pub suspicious_reason: Option<String>,
    pub client_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    #[graphql(name = "PunchKind")]
    pub enum PunchKind {
        /// 上班打卡.
        In = "in",
        /// 下班打卡.
        Out = "out",
    }
}

xqt_kernel::closed_set! {
    pub enum PunchSource {
        /// Checked in from the app.
        Punch = "punch",
        /// Written by an approved make-up request (补卡).
        MakeUp = "make_up",
    }
}

xqt_kernel::closed_set! {
    #[graphql(name = "LocationPrecision")]
    pub enum Precision {
        Precise = "precise",
        /// Rounded to ~1 km on arrival: the person consented to coarse location only.
        Coarse = "coarse",
        /// The retention period ended: only the site and the in/out result remain.
        Coarsened = "coarsened",
        /// No position (a make-up record).
        None = "none",
    }
}

xqt_kernel::closed_set! {
    /// What a check (or a day's missing one) came to.
    #[graphql(name = "PunchResult")]
    pub enum PunchResult {
        Normal = "normal",
        /// Within the serious-lateness threshold.
        Late = "late",
        SeriousLate = "serious_late",
        /// Checked out before the end, beyond the grace.
        EarlyLeave = "early_leave",
        /// Late beyond the absence threshold, or no check at all on a due day (旷工).
        Absent = "absent",
        /// One of the day's two checks never happened (缺卡).
        Missing = "missing",
        /// On a rest day or holiday: recorded, not judged.
        OffDay = "off_day",
    }
}

impl PunchResult {
    /// Whether a make-up request may be filed for it.
    pub fn abnormal(self) -> bool {
        !matches!(self, PunchResult::Normal | PunchResult::OffDay)
    }
}
