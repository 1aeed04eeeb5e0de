use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One entry of a person's security log: sign-ins, failures, new devices, session ends.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: SecurityEventKind,
    pub session_id: Option<Uuid>,
    pub device_id: Option<String>,
    pub device_model: Option<String>,
    pub os: Option<String>,
    pub app_version: Option<String>,
    pub network: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// What happened to the account's security: sign-ins and their failures, credential
    /// changes, and each way a session ends (the same word is the session's end reason).
    pub enum SecurityEventKind {
        SignIn = "sign_in",
        SignInFailed = "sign_in_failed",
        /// Too many failed sign-ins: password sign-in is locked for a while.
        Locked = "locked",
        NewDevice = "new_device",
        PasswordSet = "password_set",
        PhoneChanged = "phone_changed",
        /// A refresh token was used twice: the session is ended as possibly stolen.
        RefreshReuse = "refresh_reuse",
        SignedOut = "signed_out",
        EndedByUser = "ended_by_user",
        SignedOutEverywhere = "signed_out_everywhere",
        Erased = "erased",
        GuardianNotConfirmed = "guardian_not_confirmed",
        AccountCancelled = "account_cancelled",
        GuardianWithdrew = "guardian_withdrew",
    }
}
