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
        }
    }
}

impl From<AccountsError> for async_graphql::Error {
    fn from(e: AccountsError) -> Self {
        AppError::from(e).into()
    }
}
