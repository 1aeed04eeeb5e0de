use xqt_kernel::{AppError, ErrorCode};

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 2000;

/// What can go wrong with a notification, before it becomes a client-facing `AppError`.
#[derive(Debug, PartialEq, Eq)]
pub enum NotificationError {
    /// A field that breaks the text rules (`xqt_kernel::text`), and why.
    Invalid(&'static str, String),
    /// A push token that is empty, too long or not printable ASCII.
    PushTokenInvalid,
    /// Only the platform itself sends this kind.
    KindNotSendable(crate::NotificationKind),
    /// A notification sent by hand to an id that is no one's (or an erased account's).
    NoSuchPerson,
    /// A setting the server cannot run with (refused at start-up).
    Misconfigured(&'static str),
}

impl From<NotificationError> for AppError {
    fn from(e: NotificationError) -> Self {
        let bad = |field: &str, message: String| AppError::new(ErrorCode::BadUserInput, message).with("field", field);
        match e {
            NotificationError::Invalid(field, message) => bad(field, message),
            NotificationError::PushTokenInvalid => {
                bad("token", format!("1 to {} printable ASCII characters", crate::push::TOKEN_MAX))
            }
            NotificationError::KindNotSendable(kind) => {
                bad("kind", format!("only the platform sends {kind} notifications"))
            }
            NotificationError::Misconfigured(what) => AppError::new(ErrorCode::Internal, what),
            NotificationError::NoSuchPerson => {
                AppError::new(ErrorCode::NotFound, "no such person").with("field", "userId")
            }
        }
    }
}

impl From<NotificationError> for async_graphql::Error {
    fn from(e: NotificationError) -> Self {
        AppError::from(e).into()
    }
}
