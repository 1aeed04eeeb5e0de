use sea_orm::entity::prelude::*;

/// One audio or video call's signalling; the media flows outside this API.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "chat_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub caller_id: Option<Uuid>,
    pub media: CallMedia,
    pub state: CallState,
    pub created_at: DateTimeUtc,
    /// Unanswered by then, the call is missed.
    pub ring_until: DateTimeUtc,
    pub answered_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<CallEndReason>,
    pub ended_by: Option<Uuid>,
    /// Who answered: with the caller, the call's participants (the only ones who hang up).
    pub answered_by: Option<Uuid>,
    /// Members of a group who declined while it rang, space-separated.
    #[sea_orm(column_type = "Text")]
    pub declined_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// What a call carries.
    pub enum CallMedia {
        Audio = "audio",
        Video = "video",
    }
}

xqt_kernel::closed_set! {
    /// Where a call stands; every state but `RINGING` and `ACCEPTED` is final.
    pub enum CallState {
        Ringing = "ringing",
        Accepted = "accepted",
        Rejected = "rejected",
        Cancelled = "cancelled",
        /// Nobody answered within the ring timeout.
        Missed = "missed",
        /// Answered, then hung up.
        Ended = "ended",
    }
}

xqt_kernel::closed_set! {
    /// Why a call ended: what a caller says on hanging up, or the ring timing out.
    pub enum CallEndReason {
        Normal = "normal",
        /// The connection dropped.
        Network = "network",
        /// The device failed (camera or microphone lost, app killed).
        DeviceError = "device_error",
        /// Nobody answered in time; only the platform ends a call this way.
        Timeout = "timeout",
    }
}
