//! What can go wrong in chat, with the code and the field or reason a client can act on.

use xqt_kernel::{AppError, ErrorCode};

#[derive(Debug, PartialEq, Eq)]
pub enum ChatError {
    /// Bad input, naming the field.
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Not a member (or no such conversation/message): NOT_FOUND, so ids cannot be probed.
    NotFound(&'static str),
    /// A member, but the role does not allow it.
    NotAllowed(&'static str),
    /// The edit or recall window has passed.
    WindowPassed {
        action: &'static str,
        seconds: i64,
    },
    /// A recalled message stays a tombstone: it cannot be edited, deleted or recalled again.
    Recalled,
    GroupFull(usize),
    /// The `clientMessageId` was used for a message in another conversation.
    ClientIdReused,
    /// The call is no longer in a state that allows this (or one is under way already).
    CallState(crate::entity::call::CallState),
}

impl From<ChatError> for AppError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid { field, message } => AppError::bad_input(field, message),
            ChatError::NotFound(what) => AppError::not_found(what),
            ChatError::NotAllowed(why) => AppError::forbidden(why),
            ChatError::WindowPassed { action, seconds } => {
                AppError::forbidden(format!("a message can be {action} only within {seconds} seconds of sending"))
                    .with("reason", "WINDOW_PASSED")
            }
            ChatError::Recalled => AppError::conflict("the message was recalled"),
            ChatError::GroupFull(max) => {
                AppError::new(ErrorCode::Conflict, format!("a group holds at most {max} people"))
            }
            ChatError::ClientIdReused => {
                AppError::conflict("this clientMessageId was already used in another conversation")
                    .with("field", "clientMessageId")
            }
            ChatError::CallState(state) => {
                let name = sea_orm::ActiveEnum::to_value(&state);
                AppError::conflict(format!("the call is {name}")).with("state", name.to_uppercase())
            }
        }
    }
}

impl From<ChatError> for async_graphql::Error {
    fn from(e: ChatError) -> Self {
        AppError::from(e).into()
    }
}

pub fn invalid(field: &'static str, message: impl Into<String>) -> ChatError {
    ChatError::Invalid { field, message: message.into() }
}
