use xqt_kernel::{AppError, ErrorCode};

/// What can go wrong in accounts, before it becomes a client-facing `AppError`.
#[derive(Debug, PartialEq, Eq)]
pub enum AccountsError {
    InvalidPhone,
    CodeWrong,
    CodeExpired,
    /// No code was requested for this phone, or it was already used.
    CodeMissing,
    CodeAttemptsExhausted,
    ResendTooSoon {
        retry_after_secs: i64,
    },
    DailyCapReached,
    /// A setting the server cannot run with (refused at start-up).
    Misconfigured(&'static str),
    /// A daily cap on codes other than the phone's own (SMS pumping): `reason` says which.
    SmsCapReached {
        reason: &'static str,
        retry_after_secs: i64,
    },
    SignInRateLimited {
        retry_after_secs: i64,
    },
    BadCredentials,
    Locked {
        retry_after_secs: i64,
    },
    WeakPassword(&'static str),
    CurrentPasswordWrong,
    RefreshInvalid,
    RefreshReused,
    SessionNotFound,
    Invalid {
        field: &'static str,
        message: String,
    },
    UsernameTaken,
    ReviewTransition {
        from: crate::review::ReviewState,
        action: crate::review::ReviewAction,
    },
    /// No such thing, or not one this viewer may know of (ids cannot be probed).
    NotFound(&'static str),
    /// No signed-in person: anonymous, a partner where a person is needed, or an account erased
    /// since its token was issued.
    SignInFirst,
    /// Someone else changed it between reading and writing; the client reloads and retries.
    Changed(&'static str),
    /// It is past the state the request needs: `the report is already upheld`.
    AlreadyIs {
        what: &'static str,
        state: String,
    },
    /// Only an organisation's owner and admins may do this.
    NotManager,
    /// Only an organisation's members see its members.
    MembersOnly,
    VerificationRequired,
    IdNumberTaken,
    CreditCodeTaken,
    PhoneTaken {
        field: &'static str,
    },
    PartnerNameTaken,
    PartnerDisabled,
    /// A partner token that is malformed, unknown, revoked or expired.
    PartnerTokenRefused(&'static str),
    /// Webhooks are a partner's: a person or an admin calling.
    PartnersOnly,
    InviteInvalid,
    AlreadyMember,
    /// The owner's role is handed over, not edited; the owner cannot leave.
    OwnerRoleFixed,
    OwnerStays,
    NothingSubmitted,
    OpenReportExists,
    CannotReportSelf,
    Restricted {
        action: crate::reports::RestrictedAction,
        until: String,
        reason: String,
    },
}

impl From<AccountsError> for AppError {
    fn from(e: AccountsError) -> Self {
        use AccountsError::*;
        match e {
            InvalidPhone => {
                AppError::bad_input("phone", "not a mainland China mobile number (11 digits starting with 1)")
            }
            CodeWrong => AppError::bad_input("code", "the code is wrong").with("reason", "CODE_WRONG"),
            CodeExpired => {
                AppError::bad_input("code", "the code has expired; request a new one").with("reason", "CODE_EXPIRED")
            }
            CodeMissing => AppError::bad_input("code", "no code is waiting for this phone; request one")
                .with("reason", "CODE_MISSING"),
            CodeAttemptsExhausted => AppError::new(ErrorCode::RateLimited, "too many wrong codes; request a new one")
                .with("reason", "CODE_ATTEMPTS_EXHAUSTED"),
            ResendTooSoon { retry_after_secs } => AppError::new(
                ErrorCode::RateLimited,
                format!("wait {retry_after_secs} s before asking for another code"),
            )
            .with("reason", "RESEND_TOO_SOON")
            .with("retryAfter", retry_after_secs),
            DailyCapReached => {
                AppError::new(ErrorCode::RateLimited, "the daily number of codes for this phone is used up")
                    .with("reason", "DAILY_CAP")
            }
            Misconfigured(what) => AppError::new(ErrorCode::Internal, what),
            SmsCapReached { reason, retry_after_secs } => {
                AppError::new(ErrorCode::RateLimited, "no more codes can be sent today from here; try again tomorrow")
                    .with("reason", reason)
                    .with("retryAfter", retry_after_secs)
            }
            SignInRateLimited { retry_after_secs } => {
                AppError::new(ErrorCode::RateLimited, "too many sign-in attempts; slow down")
                    .with("reason", "SIGN_IN_RATE")
                    .with("retryAfter", retry_after_secs)
            }
            BadCredentials => AppError::new(ErrorCode::Unauthenticated, "wrong phone, username or password"),
            Locked { retry_after_secs } => {
                AppError::new(ErrorCode::RateLimited, "the account is locked after repeated failures; try later")
                    .with("reason", "LOCKED")
                    .with("retryAfter", retry_after_secs)
            }
            WeakPassword(why) => AppError::bad_input("newPassword", why).with("reason", "WEAK_PASSWORD"),
            CurrentPasswordWrong => AppError::bad_input("currentPassword", "the current password is wrong"),
            RefreshInvalid => {
                AppError::new(ErrorCode::Unauthenticated, "the refresh token is not valid; sign in again")
            }
            RefreshReused => AppError::new(
                ErrorCode::Unauthenticated,
                "the refresh token was already used; the session has been ended for safety",
            )
            .with("reason", "REFRESH_REUSED"),
            SessionNotFound => AppError::not_found("session"),
            Invalid { field, message } => AppError::bad_input(field, message),
            UsernameTaken => AppError::conflict("that username is taken").with("field", "username"),
            ReviewTransition { from, action } => {
                AppError::conflict(format!("cannot {} a submission that is {from}", action.verb()))
            }
            NotFound(what) => AppError::not_found(what),
            SignInFirst => AppError::unauthenticated(),
            PartnersOnly => AppError::forbidden("webhooks belong to partners: call with a partner token"),
            Changed(what) => AppError::conflict(format!("the {what} changed meanwhile; reload it")),
            AlreadyIs { what, state } => AppError::conflict(format!("the {what} is already {state}")),
            NotManager => AppError::forbidden("only the organisation's owner and admins may do this"),
            MembersOnly => AppError::forbidden("only members see who else is a member"),
            VerificationRequired => {
                AppError::forbidden("verify your real name first").with("reason", "VERIFICATION_REQUIRED")
            }
            IdNumberTaken => {
                AppError::conflict("this ID number is already verified on another account").with("field", "idNumber")
            }
            CreditCodeTaken => {
                AppError::conflict("another organisation already uses this credit code").with("field", "creditCode")
            }
            PhoneTaken { field } => AppError::conflict("that phone number belongs to an account").with("field", field),
            PartnerNameTaken => AppError::conflict("a partner with that name exists").with("field", "name"),
            PartnerDisabled => AppError::conflict("the partner is disabled"),
            PartnerTokenRefused(why) => AppError::new(ErrorCode::Unauthenticated, format!("partner token {why}")),
            InviteInvalid => AppError::bad_input("code", "the invite code is not valid, has expired or is used up"),
            AlreadyMember => AppError::conflict("already a member"),
            OwnerRoleFixed => AppError::forbidden("the owner's role is not changed here"),
            OwnerStays => AppError::conflict("the owner cannot leave or be removed"),
            NothingSubmitted => AppError::conflict("the organisation has not submitted anything to review"),
            OpenReportExists => AppError::conflict("you already have an open report about this"),
            CannotReportSelf => AppError::bad_input("userId", "you cannot report yourself"),
            Restricted { action, until, reason } => {
                AppError::forbidden(format!("the account may not {action} {until}: {reason}"))
                    .with("reason", "RESTRICTED")
            }
        }
    }
}

impl From<AccountsError> for async_graphql::Error {
    fn from(e: AccountsError) -> Self {
        AppError::from(e).into()
    }
}

/// Bad input, naming the field.
pub fn invalid(field: &'static str, message: impl Into<String>) -> AccountsError {
    AccountsError::Invalid { field, message: message.into() }
}
