//! The review every submission goes through (a person's real name, an organisation's licence):
//! `submitted → approved | rejected(reason)` in one step, or through `under_review` when a
//! reviewer takes it up first (so two reviewers do not work on the same one); resubmitting after
//! a rejection starts a new submission.

use crate::error::AccountsError;

xqt_kernel::closed_set! {
    pub enum ReviewState {
        Submitted = "submitted",
        UnderReview = "under_review",
        Approved = "approved",
        Rejected = "rejected",
    }
}

xqt_kernel::closed_set! {
    pub enum ReviewAction {
        /// Take it up (optional): it shows as under review, so another reviewer leaves it.
        Start = "start",
        /// Approve it, submitted or under review: a decision in one step.
        Approve = "approve",
        /// Reject it with a reason the person is shown, submitted or under review.
        Reject = "reject",
    }
}

pub const REASON_MAX: usize = 500;

impl ReviewState {
    /// Still waiting for a decision: a second submission is refused meanwhile.
    pub fn is_open(self) -> bool {
        matches!(self, ReviewState::Submitted | ReviewState::UnderReview)
    }

    pub fn after(self, action: ReviewAction) -> Result<ReviewState, AccountsError> {
        match (self, action) {
            (ReviewState::Submitted, ReviewAction::Start) => Ok(ReviewState::UnderReview),
            (ReviewState::Submitted | ReviewState::UnderReview, ReviewAction::Approve) => Ok(ReviewState::Approved),
            (ReviewState::Submitted | ReviewState::UnderReview, ReviewAction::Reject) => Ok(ReviewState::Rejected),
            (from, action) => Err(AccountsError::ReviewTransition { from, action }),
        }
    }
}

impl ReviewAction {
    /// The verb, for messages: "cannot approve a submission that is rejected".
    pub fn verb(self) -> &'static str {
        match self {
            ReviewAction::Start => "start reviewing",
            ReviewAction::Approve => "approve",
            ReviewAction::Reject => "reject",
        }
    }
}

/// A rejection must say why, so the person can fix it (shown to them as written).
pub fn check_reason(action: ReviewAction, reason: Option<&str>) -> Result<Option<String>, AccountsError> {
    let reason = xqt_kernel::text::Text::block(1, REASON_MAX)
        .check_optional(reason)
        .map_err(|message| AccountsError::Invalid { field: "reason", message })?;
    match (action, reason) {
        (ReviewAction::Reject, None) => {
            Err(AccountsError::Invalid { field: "reason", message: "a rejection needs a reason".into() })
        }
        (_, r) => Ok(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_exist() {
        use ReviewAction::*;
        use ReviewState::*;
        assert_eq!(Submitted.after(Start), Ok(UnderReview));
        assert_eq!(UnderReview.after(Approve), Ok(Approved));
        assert_eq!(UnderReview.after(Reject), Ok(Rejected));
        assert_eq!(Submitted.after(Approve), Ok(Approved), "a decision in one step");
        assert_eq!(Submitted.after(Reject), Ok(Rejected));
        for (from, action) in [(UnderReview, Start), (Approved, Reject), (Rejected, Approve), (Approved, Start)] {
            assert!(from.after(action).is_err(), "{from:?} {action:?}");
        }
    }

    #[test]
    fn rejections_need_a_reason() {
        assert!(check_reason(ReviewAction::Reject, None).is_err());
        assert!(check_reason(ReviewAction::Reject, Some("  ")).is_err());
        assert_eq!(check_reason(ReviewAction::Reject, Some(" 照片模糊 ")).unwrap().as_deref(), Some("照片模糊"));
        assert_eq!(check_reason(ReviewAction::Approve, None).unwrap(), None);
        assert!(check_reason(ReviewAction::Reject, Some(&"x".repeat(501))).is_err());
    }
}
