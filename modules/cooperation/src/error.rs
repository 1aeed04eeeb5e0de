//! What can go wrong in cooperation, with the code and the field or reason a client can act on.

use xqt_kernel::AppError;

#[derive(Debug, PartialEq, Eq)]
pub enum CooperationError {
    /// Bad input, naming the field.
    Invalid { field: &'static str, message: String },
    /// No such thing, or not visible to the viewer: NOT_FOUND either way, so ids cannot be probed.
    NotFound(&'static str),
    /// Visible, but the viewer may not do this to it.
    NotAllowed(&'static str),
    /// Posting needs a verified person in an approved organisation (or their own talent profile).
    NotVerified(&'static str),
    /// The thing is in a state that does not allow this step.
    State { what: &'static str, state: String, wants: &'static str },
    /// An open application by this applicant for this post exists already.
    AlreadyApplied,
    /// Someone else changed it between the read and the write: reload and try again.
    Changed(&'static str),
    /// Contact details before both sides of the application accepted.
    ContactsHidden,
    /// The server is set up in a way this module refuses to run with.
    Misconfigured(&'static str),
    /// The e-signature provider answered with an error (its own code and message).
    Provider { code: String, message: String },
}

impl From<CooperationError> for AppError {
    fn from(e: CooperationError) -> Self {
        match e {
            CooperationError::Invalid { field, message } => AppError::bad_input(field, message),
            CooperationError::NotFound(what) => AppError::not_found(what),
            CooperationError::NotAllowed(why) => AppError::forbidden(why),
            CooperationError::NotVerified(why) => AppError::forbidden(why).with("reason", "NOT_VERIFIED"),
            CooperationError::State { what, state, wants } => {
                AppError::conflict(format!("the {what} is {state}; this needs it {wants}"))
                    .with("state", state.to_uppercase())
            }
            CooperationError::AlreadyApplied => {
                AppError::conflict("an open application for this post exists already").with("reason", "ALREADY_APPLIED")
            }
            CooperationError::Changed(what) => {
                AppError::conflict(format!("the {what} changed meanwhile; reload it")).with("reason", "STALE")
            }
            CooperationError::ContactsHidden => {
                AppError::forbidden("contact details are shown once both sides accepted").with("reason", "NOT_ACCEPTED")
            }
            CooperationError::Misconfigured(what) => AppError::new(xqt_kernel::ErrorCode::Internal, what),
            CooperationError::Provider { code, message } => {
                tracing::warn!(provider_code = %code, provider_message = %message, "e-signature provider refused");
                AppError::new(xqt_kernel::ErrorCode::Conflict, "the e-signature provider refused the request")
                    .with("reason", "PROVIDER_REFUSED")
                    .with("providerCode", code)
            }
        }
    }
}

impl From<CooperationError> for async_graphql::Error {
    fn from(e: CooperationError) -> Self {
        AppError::from(e).into()
    }
}

pub fn invalid(field: &'static str, message: impl Into<String>) -> CooperationError {
    CooperationError::Invalid { field, message: message.into() }
}

pub fn state(what: &'static str, state: impl std::fmt::Display, wants: &'static str) -> CooperationError {
    CooperationError::State { what, state: state.to_string(), wants }
}
