//! What can go wrong in attendance, with the code and the field or reason a client can act on.

use xqt_kernel::{AppError, ErrorCode};

#[derive(Debug, PartialEq)]
pub enum AttendanceError {
    /// Bad input, naming the field.
    Invalid { field: &'static str, message: String },
    /// No such thing, or not visible to the viewer.
    NotFound(&'static str),
    /// Visible, but the viewer may not do this.
    NotAllowed(&'static str),
    /// Outside every site's fence, and not sent as a field check-in.
    OutsideFence { site: String, distance_m: f64, radius_m: i32, explanation: String },
    /// Field check-ins are off for this group.
    FieldNotAllowed,
    /// The group asks for precise location and the person consented to coarse only.
    PreciseLocationRequired,
    /// Not inside the shift's window for this check (too early, too late).
    OutsideWindow(String),
    /// The person checked in today already (check-out may be repeated; the last one counts).
    AlreadyCheckedIn,
    /// The thing is in a state that does not allow this step.
    State { what: &'static str, state: String, wants: &'static str },
    /// The month's make-up requests are used up.
    MakeUpLimit { limit: u32 },
    /// The make-up deadline passed.
    MakeUpTooLate { deadline: chrono::NaiveDate },
    /// Someone else changed the group between the read and the write.
    Changed,
}

impl From<AttendanceError> for AppError {
    fn from(e: AttendanceError) -> Self {
        use AttendanceError::*;
        match e {
            Invalid { field, message } => AppError::bad_input(field, message),
            NotFound(what) => AppError::not_found(what),
            NotAllowed(why) => AppError::forbidden(why),
            OutsideFence { site, distance_m, radius_m, explanation } => AppError::forbidden(format!(
                "{explanation}; outside the fence a check-in is a field check-in: send field: true with a note"
            ))
            .with("reason", "OUTSIDE_FENCE")
            .with("site", site)
            .with("distanceM", distance_m.round() as i64)
            .with("radiusM", radius_m),
            FieldNotAllowed => AppError::forbidden("this group does not take field check-ins (外勤)")
                .with("reason", "FIELD_NOT_ALLOWED"),
            PreciseLocationRequired => AppError::new(
                ErrorCode::ConsentRequired,
                "this group checks in with precise location: grant the `location` purpose",
            )
            .with("purpose", "location"),
            OutsideWindow(why) => AppError::new(ErrorCode::Conflict, why).with("reason", "OUTSIDE_WINDOW"),
            AlreadyCheckedIn => AppError::new(ErrorCode::Conflict, "checked in today already; check out instead")
                .with("reason", "ALREADY_CHECKED_IN"),
            State { what, state, wants } => AppError::conflict(format!("the {what} is {state}; this needs it {wants}"))
                .with("state", state.to_uppercase()),
            MakeUpLimit { limit } => {
                AppError::new(ErrorCode::Conflict, format!("{limit} make-up requests a month are used up"))
                    .with("reason", "MAKE_UP_LIMIT")
                    .with("limit", limit)
            }
            MakeUpTooLate { deadline } => {
                AppError::new(ErrorCode::Conflict, format!("make-up requests for that day closed on {deadline}"))
                    .with("reason", "MAKE_UP_TOO_LATE")
                    .with("deadline", deadline.to_string())
            }
            Changed => AppError::conflict("the group changed meanwhile; reload it").with("reason", "STALE"),
        }
    }
}

impl From<AttendanceError> for async_graphql::Error {
    fn from(e: AttendanceError) -> Self {
        AppError::from(e).into()
    }
}

pub fn invalid(field: &'static str, message: impl Into<String>) -> AttendanceError {
    AttendanceError::Invalid { field, message: message.into() }
}
